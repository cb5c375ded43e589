"""Helpers for the stand-in tests: the server in a subprocess, a loopback origin, generated images."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from PIL import Image

from app import devstack
from app.devstack import free_port

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "tests" / "corpus"

ACCOUNT_ID = "f00dfeedf00dfeedf00dfeedf00dfeed"
ACCOUNT_HASH = "test-hash"
TOKEN = "test-images-token"
SIGNING_KEY = "test-signing-key-value"
LOOPBACK_ALLOW = "127.0.0.0/8,::1"


@dataclass
class StandIn:
    """A running stand-in: where it listens, where it keeps its data, and its gunicorn master's process."""

    port: int
    data_dir: Path
    process: subprocess.Popen
    log: Path
    launched: devstack.Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/client/v4/accounts/{ACCOUNT_ID}/images"

    def delivery(self, image_id: str, variant: str) -> str:
        return f"{self.url}/{ACCOUNT_HASH}/{image_id}/{variant}"

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {TOKEN}"}

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def upload(self, data: bytes, filename: str = "image", **fields) -> requests.Response:
        return requests.post(
            f"{self.api}/v1", headers=self.auth, files={"file": (filename, data)}, data=fields, timeout=30
        )


def start_standin(setup: bool = True, **env: str) -> StandIn:
    """A stand-in of its own (the launcher's, as `make dev` starts it); `setup` applies the product's account setup."""
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="imagesd-test-"))
    log = data_dir / "server.log"
    child_env = dict(os.environ)
    child_env.update(
        {
            "IMAGESD_DATA_DIR": str(data_dir / "data"),
            "IMAGESD_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "IMAGES_ACCOUNT_ID": ACCOUNT_ID,
            "IMAGES_ACCOUNT_HASH": ACCOUNT_HASH,
            "IMAGES_API_TOKEN": TOKEN,
            "IMAGES_SIGNING_KEY": SIGNING_KEY,
            "IMAGESD_FETCH_READ_TIMEOUT": "1",
            "IMAGESD_FETCH_TOTAL_TIMEOUT": "5",
            "IMAGESD_FAULTS": "",
            # Upload-by-URL refuses non-public addresses; the tests' origins and the web app listen on loopback.
            "IMAGESD_FETCH_ALLOW": LOOPBACK_ALLOW,
        }
    )
    child_env.update(env)
    try:
        launched = devstack.start_standin(child_env, port, data_dir / "data", workers=2, threads=4, log=log, timeout=30)
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    standin = StandIn(port, data_dir / "data", launched.popen, log, launched)
    if setup:
        from app.domain.images_account import apply_account_setup

        apply_account_setup(f"{standin.url}/client/v4", ACCOUNT_ID, TOKEN)
    return standin


def stop_standin(standin: StandIn) -> None:
    standin.launched.stop()
    shutil.rmtree(standin.data_dir.parent, ignore_errors=True)


def corpus_bytes(name: str) -> bytes:
    assert CORPUS_DIR.is_dir(), f"the test corpus is missing at {CORPUS_DIR}"
    return (CORPUS_DIR / name).read_bytes()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    chunks: int = 0


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """The stand-in hangs up on purpose (size cap, timeouts); that is not worth a traceback."""


class Origin:
    """A loopback HTTP server that answers registered paths and records each request target exactly as received."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.seen: list[str] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_GET(self):
                origin.seen.append(self.path)
                route = (
                    origin.routes.get(self.path) or origin.routes.get(self.path.split("?")[0]) or Route(404, b"nope")
                )
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    if route.chunks:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        for _ in range(route.chunks):
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(route.body), route.body))
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        if "Content-Length" not in route.headers:
                            self.send_header("Content-Length", str(len(route.body)))
                        self.end_headers()
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def png_bytes(size=(64, 48), color=(200, 30, 30), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size=(64, 48), color=(30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=80)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width × height but carries almost no pixel data: a decompression-bomb header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def damaged_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A JPEG whose header says width × height (within every limit) but which ends after one 8×8 block: stored, then
    failed by the worker for good (`image_damaged`), where a pixel bomb is now refused as its header arrives."""
    data = bytearray(jpeg_bytes((8, 8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def decode(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image
