"""The request class (multipart file parts stream into hashing spools) and the deadline every request body gets."""

import socket
import sys
import time

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge, RequestTimeout
from werkzeug.formparser import FormDataParser

from app.domain.files import UploadSpool


class FormTooLarge(RequestEntityTooLarge):
    """A 413 that knows which limit the form hit (`limit` names it, `value` is its setting)."""

    def __init__(self, limit: str, value: int):
        super().__init__()
        self.limit, self.value = limit, value


class _CountingStream:
    """Counts the multipart boundaries that went past, to tell "too many parts" from "a field too large"."""

    def __init__(self, stream, boundary: bytes):
        self.stream, self.marker, self.count, self._tail = stream, b"--" + boundary, 0, b""

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        window = self._tail + data
        self.count += window.count(self.marker) - self._tail.count(self.marker)
        self._tail = window[-(len(self.marker) - 1) :] if len(self.marker) > 1 else b""
        return data


class _FormParser(FormDataParser):
    def _parse_multipart(self, stream, mimetype, content_length, options):
        counting = _CountingStream(stream, options.get("boundary", "").encode("ascii", "replace"))
        try:
            return super()._parse_multipart(counting, mimetype, content_length, options)
        except FormTooLarge:
            raise
        except RequestEntityTooLarge:
            if self.max_form_parts is not None and counting.count > self.max_form_parts:
                raise FormTooLarge("max_form_parts", self.max_form_parts) from None
            raise FormTooLarge("max_form_memory_size", self.max_form_memory_size) from None


class SpoolingRequest(Request):
    # A view may lower the spool's limit before it reads the form (a one-time upload URL's own maxBytes).
    upload_limit: int | None = None
    form_data_parser_class = _FormParser

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        limit = self.upload_limit or current_app.config["MAX_UPLOAD_BYTES"]
        spool = UploadSpool(current_app.config["UPLOAD_TMP_DIR"], limit)
        self.spools.append(spool)
        return spool

    def _load_form_data(self) -> None:
        """Hands the database connection back before a body that may trickle in, so slow clients hold none."""
        if "form" not in self.__dict__:
            release_idle_connection()
        super()._load_form_data()

    @property
    def spools(self) -> list[UploadSpool]:
        if "_spools" not in self.__dict__:
            self.__dict__["_spools"] = []
        return self.__dict__["_spools"]


def release_idle_connection() -> None:
    """Ends a read-only transaction (authentication's look-ups) so its pooled connection is free while we wait."""
    from app.extensions import db

    session = db.session()
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()


def discard_spools(request: Request) -> None:
    """Deletes whatever an upload left in the spool folder (a stored spool was already moved away)."""
    for spool in getattr(request, "spools", ()):
        spool.discard()


def _green_timeout(seconds: float):
    """Under gevent (the Procfile's worker class) a Timeout bounds a whole read; a socket timeout bounds one recv."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("socket"):
        return None
    from gevent import Timeout

    return Timeout(seconds)


class BodyTimedOut(RequestTimeout):
    description = (
        "The request body did not arrive in time; the connection is closed. Please retry the upload on a faster or "
        "steadier connection."
    )


class DeadlineInput:
    """`wsgi.input` with a deadline measured as a rate: the body must keep arriving at BODY_MIN_RATE bytes a second
    on average (after a first BODY_READ_TIMEOUT of grace), and never stall for longer than BODY_READ_TIMEOUT.

    Like Apache's mod_reqtimeout (`body=…,MinRate=…`) a slow but honest upload keeps earning time, but bytes sent in a
    burst earn no time to stall in: 70 kB at once then silence is closed BODY_READ_TIMEOUT after the burst, not 140 s
    later. Reads are cut into pieces that take at most half BODY_READ_TIMEOUT at the minimum rate, so a stall is seen
    within a large read too. Each piece waits at most until the deadline (a gevent Timeout around the read; elsewhere
    a socket timeout, which bounds each recv), so a stalled or trickling client never holds the server beyond it.
    """

    def __init__(self, stream, sock, timeout: float, min_rate: float):
        self.stream, self.sock = stream, sock
        self.timeout, self.min_rate = timeout, max(min_rate, 1.0)
        self.piece = max(1, int(self.min_rate * self.timeout / 2))
        self.started = self.progressed = time.monotonic()
        self.received = 0

    def deadline(self) -> float:
        """The earlier of: BODY_READ_TIMEOUT after the last bytes arrived, and when the average rate falls short."""
        return min(self.progressed + self.timeout, self.started + self.timeout + self.received / self.min_rate)

    def _call(self, read, *args) -> bytes:
        left = self.deadline() - time.monotonic()
        if left <= 0:
            self._give_up()
        if self.sock is not None:
            try:
                self.sock.settimeout(left)
            except OSError:
                pass
        green = _green_timeout(left)
        try:
            if green is None:
                data = read(*args)
            else:
                with green:  # the whole read, however many one-byte recv() calls it takes
                    data = read(*args)
        except TimeoutError:
            self._give_up()
        except BaseException as exc:
            if green is not None and exc is green:
                self._give_up()
            raise
        if data:
            self.received += len(data)
            self.progressed = time.monotonic()
        return data

    def _give_up(self):
        """Stops reading from the client for good, so the server closes the connection after the 408 answer."""
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        raise BodyTimedOut()

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all when negative), read a piece at a time; fewer only at the end of the body."""
        wanted = -1 if size is None else size
        pieces: list[bytes] = []
        while wanted != 0:
            data = self._call(self.stream.read, self.piece if wanted < 0 else min(wanted, self.piece))
            if not data:
                break
            pieces.append(data)
            wanted = wanted if wanted < 0 else wanted - len(data)
        return b"".join(pieces)

    def readline(self, size: int = -1) -> bytes:
        return self._call(self.stream.readline, size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")


class BodyDeadline:
    """WSGI middleware: every request body gets a deadline (see DeadlineInput); one cut off by it answers 408."""

    def __init__(self, wsgi_app, timeout: float, min_rate: float):
        self.wsgi_app, self.timeout, self.min_rate = wsgi_app, timeout, min_rate

    def __call__(self, environ, start_response):
        if self.timeout <= 0 or not (environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING")):
            return self.wsgi_app(environ, start_response)
        sock = environ.get("gunicorn.socket")
        before = sock.gettimeout() if sock is not None else None
        environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], sock, self.timeout, self.min_rate)
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            if sock is not None:
                try:
                    sock.settimeout(before)  # the answer and the next request on this connection wait as before
                except OSError:
                    pass
