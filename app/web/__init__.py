"""HTML blueprints and the routes browsers reach."""


def init_app(app) -> None:
    from app.web import blobs, home

    app.register_blueprint(home.bp)
    app.register_blueprint(blobs.bp)
    app.extensions["csrf"].exempt(blobs.bp)
