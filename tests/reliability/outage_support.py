"""An images stand-in that can be stopped and started again on the same port with the same data: an outage."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from imagesd_support import ACCOUNT_HASH, ACCOUNT_ID, LOOPBACK_ALLOW, ROOT, SIGNING_KEY, TOKEN, StandIn, free_port


class PausableStandin(StandIn):
    """`stop()` takes the service away (connections are refused) and keeps its images; `start()` brings it back."""

    def __init__(self, **env: str):
        root = Path(tempfile.mkdtemp(prefix="imagesd-outage-"))
        super().__init__(free_port(), root / "data", None, root / "server.log")
        self.env = dict(os.environ)
        self.env.update({
            "IMAGESD_DATA_DIR": str(self.data_dir), "IMAGESD_PORT": str(self.port),
            "IMAGESD_PUBLIC_URL": f"http://127.0.0.1:{self.port}", "IMAGES_ACCOUNT_ID": ACCOUNT_ID,
            "IMAGES_ACCOUNT_HASH": ACCOUNT_HASH, "IMAGES_API_TOKEN": TOKEN, "IMAGES_SIGNING_KEY": SIGNING_KEY,
            "IMAGESD_FETCH_READ_TIMEOUT": "2", "IMAGESD_FETCH_TOTAL_TIMEOUT": "10", "IMAGESD_FAULTS": "",
            "IMAGESD_FETCH_ALLOW": LOOPBACK_ALLOW,
        })
        self.env.update(env)

    def start(self) -> "PausableStandin":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.imagesd.cli", "serve", "--port", str(self.port), "--workers", "2"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stand-in exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise TimeoutError(f"the stand-in did not start: {self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        """Down, as an outage is: the port refuses connections until `start()`."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def is_up(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False
