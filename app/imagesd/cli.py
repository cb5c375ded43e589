"""`aeontel images serve`: the stand-in under gunicorn, one app built in the master and forked into every worker."""

from __future__ import annotations

import os
from pathlib import Path

import click

from app.config import load_settings

images = click.Group("images", help="The local Cloudflare Images stand-in.")


def _gunicorn_application(app, options: dict):
    from gunicorn.app.base import BaseApplication

    class StandaloneApplication(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    return StandaloneApplication()


@images.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=None, help="Port (default: IMAGESD_PORT, 8787).")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Threads per worker.")
def serve(host: str, port: int | None, workers: int, threads: int) -> None:
    """Serve the Images API and delivery URLs."""
    from . import create_imagesd_app

    settings = load_settings()
    app = create_imagesd_app(settings)
    port = port or settings.imagesd_port
    control_socket = Path(settings.imagesd_data_dir).resolve() / "gunicorn.ctl"
    control_socket.parent.mkdir(parents=True, exist_ok=True)
    click.echo(
        f"imagesd: API http://{host}:{port}/client/v4/accounts/{settings.images_account_id}/images, "
        f"delivery {settings.imagesd_public_url}/{settings.images_account_hash}/<id>/<variant>, "
        f"data in {settings.imagesd_data_dir}",
        err=True,
    )
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "preload_app": True,
        "timeout": 60,
        "graceful_timeout": 5,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        # Gunicorn 27's control socket defaults to one path per machine (~/.gunicorn/gunicorn.ctl), so two
        # stand-ins would take each other's; each gets its own in its data folder.
        "control_socket": str(control_socket),
        # ... unless that path is too long for a Unix socket (107 bytes): then none.
        "control_socket_disable": len(os.fsencode(control_socket)) > 100,
    }
    _gunicorn_application(app, options).run()


if __name__ == "__main__":
    images()
