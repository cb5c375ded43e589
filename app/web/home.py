"""The site root sends people where they work: sign-in, or the Content of their last project."""

from flask import Blueprint, g, redirect, url_for

from app.web.auth import landing_project
from app.web.render import render

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if g.user is None:
        return redirect(url_for("auth.login"))
    landing = landing_project()
    if landing is None:
        return render("home/no_projects.html")
    return redirect(url_for("gallery.index", workspace_id=landing[0], project_id=landing[1]))


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}
