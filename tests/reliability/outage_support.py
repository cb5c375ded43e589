"""An images stand-in that can be stopped and started again on the same port with the same data: an outage."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import requests
from imagesd_support import (
    ACCOUNT_HASH,
    ACCOUNT_ID,
    LOOPBACK_ALLOW,
    SIGNING_KEY,
    TOKEN,
    StandIn,
    free_port,
)

from app import devstack


class PausableStandin(StandIn):
    """`stop()` takes the service away (connections are refused) and keeps its images; `start()` brings it back."""

    def __init__(self, **env: str):
        root = Path(tempfile.mkdtemp(prefix="imagesd-outage-"))
        super().__init__(free_port(), root / "data", None, root / "server.log", None)
        self.env = dict(os.environ)
        self.env.update(
            {
                "IMAGESD_DATA_DIR": str(self.data_dir),
                "IMAGESD_PORT": str(self.port),
                "IMAGESD_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
                "IMAGES_ACCOUNT_ID": ACCOUNT_ID,
                "IMAGES_ACCOUNT_HASH": ACCOUNT_HASH,
                "IMAGES_API_TOKEN": TOKEN,
                "IMAGES_SIGNING_KEY": SIGNING_KEY,
                "IMAGESD_FETCH_READ_TIMEOUT": "2",
                "IMAGESD_FETCH_TOTAL_TIMEOUT": "10",
                "IMAGESD_FAULTS": "",
                "IMAGESD_FETCH_ALLOW": LOOPBACK_ALLOW,
            }
        )
        self.env.update(env)

    def start(self) -> "PausableStandin":
        first = self.launched is None
        self.launched = devstack.start_standin(
            self.env, self.port, self.data_dir, workers=2, threads=4, log=self.log, timeout=30
        )
        self.process = self.launched.popen
        if first:  # a new account, set up once as `make dev` does; its data (and so the setup) outlives restarts
            from app.domain.images_account import apply_account_setup

            apply_account_setup(f"{self.url}/client/v4", ACCOUNT_ID, TOKEN)
        return self

    def stop(self) -> None:
        """Down, as an outage is: the port refuses connections until `start()`."""
        if self.launched is not None:
            self.launched.stop()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def is_up(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False
