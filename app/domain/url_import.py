"""Import from a URL: the web app fetches the file through the address guard (app.adapters.url_fetch) into an upload
spool, so it is then an upload like any other (the same limits, early refusal, sniffing, `file.ready`)."""

from __future__ import annotations

from flask import current_app

from app.adapters import url_fetch
from app.domain import files
from app.domain.errors import DomainError
from app.netguard import AddressAllow


def fetch(url) -> tuple[files.UploadSpool, str | None]:
    """The fetched bytes in a spool and the name the URL's path ends in; a failure says why, and leaves no spool."""
    if not isinstance(url, str) or not url.strip() or len(url) > 2048:
        raise DomainError("invalid_url", "url must be an http:// or https:// address (at most 2,048 characters).")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    spool = files.UploadSpool(current_app.config["UPLOAD_TMP_DIR"], limit)
    try:
        name = url_fetch.fetch_into(
            url,
            spool,
            max_bytes=limit,
            timeout=current_app.config["URL_IMPORT_TIMEOUT"],
            allow=AddressAllow.parse(current_app.config["URL_IMPORT_ALLOW"], "URL_IMPORT_ALLOW"),
        )
    except url_fetch.FetchFailed as failed:
        spool.discard()
        raise DomainError(failed.code, failed.message, status=failed.status, parameter="url") from None
    except BaseException:
        spool.discard()
        raise
    return spool, name
