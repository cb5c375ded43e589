"""HTML blueprints and the routes browsers reach."""


def init_app(app) -> None:
    from flask import redirect, url_for
    from flask_wtf.csrf import CSRFError

    from app.domain import services
    from app.web import (
        assets,
        auth,
        blobs,
        delivery,
        duplicates,
        gallery,
        gallery_versions,  # noqa: F401 - the Versions routes join the gallery blueprint
        home,
        organise,
        saved_views,
        trash,
        webhooks,
        workspace_settings,
    )
    from app.web.render import binary_size, render

    # Session cookies: never readable by scripts, not sent on cross-site posts, Secure whenever the site is https.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if str(app.config.get("PUBLIC_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    # The token is bound to the session; an hour-long limit would break a gallery left open over lunch.
    app.config["WTF_CSRF_TIME_LIMIT"] = None

    app.register_blueprint(home.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(gallery.bp)
    app.register_blueprint(organise.bp)
    app.register_blueprint(trash.bp)
    app.register_blueprint(saved_views.bp)
    app.register_blueprint(duplicates.bp)
    app.register_blueprint(workspace_settings.bp)
    app.register_blueprint(blobs.bp)
    app.register_blueprint(delivery.bp)
    app.extensions[services.STABLE_URL] = delivery.stable_url
    app.register_blueprint(webhooks.bp)
    app.extensions["csrf"].exempt(blobs.bp)
    app.jinja_env.globals["switcher"] = auth.switcher
    app.jinja_env.filters["size"] = binary_size  # sizes in binary units everywhere the pages show one
    assets.init_app(app)
    app.add_url_rule("/favicon.ico", "favicon", lambda: redirect(url_for("static", filename="favicon.svg"), 302))

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        # A missing token is a malformed request; a wrong or stale one is a forgery attempt.
        status = 400 if error.description == "The CSRF token is missing." else 403
        message = (
            "This form was missing its security token. Reload the page and try again."
            if status == 400
            else "This form's security token is not valid (it may be from an old page). Reload and try again."
        )
        return render("error.html", "gallery/_error.html", status=status, message=message, status_code=status)
