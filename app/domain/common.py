"""Small pieces every domain module shares: ids, time, and the UTC column type."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

# Crockford's base32, lower-cased: URL-safe, no ambiguous letters, sorts like the numbers it encodes.
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_RANDOM_BITS = 80
_last_millis = -1
_last_random = 0
_id_lock = threading.Lock()


def _next_ulid(millis: int) -> tuple[int, int]:
    """The ULID spec's monotonic mode: within one millisecond (or if the clock steps back) the random part counts
    up, so every id this process makes sorts after the one before, whatever thread asked."""
    global _last_millis, _last_random
    with _id_lock:
        if millis <= _last_millis:
            millis, randomness = _last_millis, _last_random + 1
            if randomness >> _RANDOM_BITS:  # 2^80 ids in one millisecond: borrow the next one
                millis, randomness = millis + 1, int.from_bytes(os.urandom(10), "big") >> 1
        else:
            # One bit less than the field, so counting up within the millisecond never overflows in practice.
            randomness = int.from_bytes(os.urandom(10), "big") >> 1
        _last_millis, _last_random = millis, randomness
        return millis, randomness


def encode_ulid(millis: int, randomness: int) -> str:
    """26 characters that sort as (millis, randomness) do."""
    return f"{_base32(millis, 10)}{_base32(randomness, 16)}"


def new_id(prefix: str) -> str:
    """A monotonic ULID (48-bit milliseconds + 80 bits counted up within a millisecond) so ids sort by creation."""
    return f"{prefix}_{encode_ulid(*_next_ulid(time.time_ns() // 1_000_000))}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class UTCDateTime(TypeDecorator):
    """Stores naive UTC everywhere and hands back aware UTC, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# Ids per statement when many rows change at once (`WHERE id IN (…)`): a bounded list for every database.
IN_CHUNK = 500


def chunks(items: list, size: int = IN_CHUNK) -> list[list]:
    """The list cut into consecutive pieces of at most `size` items, in order."""
    return [items[start : start + size] for start in range(0, len(items), size)]
