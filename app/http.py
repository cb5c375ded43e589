"""The request class: multipart file parts stream into hashing spools instead of memory."""

from flask import Request, current_app

from app.domain.files import UploadSpool


class SpoolingRequest(Request):
    # A view may lower the spool's limit before it reads the form (a one-time upload URL's own maxBytes).
    upload_limit: int | None = None

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        limit = self.upload_limit or current_app.config["MAX_UPLOAD_BYTES"]
        spool = UploadSpool(current_app.config["UPLOAD_TMP_DIR"], limit)
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
