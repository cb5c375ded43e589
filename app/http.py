"""The request class: multipart file parts stream into hashing spools instead of memory."""

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge
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
        self._tail = window[-(len(self.marker) - 1):] if len(self.marker) > 1 else b""
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
    form_data_parser_class = _FormParser

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        spool = UploadSpool(current_app.config["UPLOAD_TMP_DIR"], current_app.config["MAX_UPLOAD_BYTES"])
        self.spools.append(spool)
        return spool

    @property
    def spools(self) -> list[UploadSpool]:
        if "_spools" not in self.__dict__:
            self.__dict__["_spools"] = []
        return self.__dict__["_spools"]


def discard_spools(request: Request) -> None:
    """Deletes whatever an upload left in the spool folder (a stored spool was already moved away)."""
    for spool in getattr(request, "spools", ()):
        spool.discard()
