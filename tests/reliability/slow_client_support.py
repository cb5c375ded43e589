"""A slow client for the reliability tests and bench/slow_clients.py: an upload that arrives a byte a second."""

from __future__ import annotations

import select
import socket
import uuid
from pathlib import Path


class SlowUpload:
    """One connection that sends an upload's headers and first part, then the file one byte at a time."""

    def __init__(self, port: int, token: str, project_id: str):
        boundary = uuid.uuid4().hex
        self.head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="project_id"\r\n\r\n{project_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        # 70 kB at once: the multipart parser reads 64 kB chunks, so the file part (and its spool) is open before the
        # trickle starts; the rest never comes in time.
        self.head += b"\xff" * 70_000
        length = len(self.head) + 200_000 + len(f"\r\n--{boundary}--\r\n")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(
            (
                f"POST /api/files HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n"
                "\r\n"
            ).encode()
            + self.head
        )
        self.sock.setblocking(False)
        self.answer = b""
        self.closed = False

    def read_answer(self) -> None:
        """Reads whatever the server said; `closed` once the server has closed the connection."""
        try:
            while select.select([self.sock], [], [], 0)[0]:
                data = self.sock.recv(65536)
                if not data:
                    self.closed = True
                    return
                self.answer += data
        except (ConnectionError, OSError):
            self.closed = True

    def trickle(self) -> None:
        """Reads whatever the server said, then sends one more byte unless the server closed the connection."""
        self.read_answer()
        if self.closed:
            return
        try:
            self.sock.send(b"\xff")
        except (ConnectionError, OSError):
            self.closed = True

    def close(self) -> None:
        self.sock.close()


def spools(directory: Path) -> list[Path]:
    return sorted(directory.glob("upload-*.part")) if directory.exists() else []
