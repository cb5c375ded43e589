"""Which failures a retry can mend: the gallery offers Retry only for those, and Remove for the rest."""

from __future__ import annotations

# The images service (or storage) was unreachable or throttling: the system retries, and an editor may too.
TRANSIENT_CODES = frozenset({"images_unavailable", "images_throttled", "storage_unavailable"})


def retryable(code: str | None) -> bool:
    """A damaged file, something that is not an image, a pixel bomb or one that cannot be made to fit stays so."""
    return code in TRANSIENT_CODES
