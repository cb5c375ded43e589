"""Idempotency keys: the first answer to a request is kept with its key, so a client's retry gets that answer back
instead of doing the work twice (an upload stored although its answer never arrived)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

from sqlalchemy import JSON, ForeignKey, Integer, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.common import UTCDateTime, utcnow
from app.domain.errors import DomainError
from app.extensions import db

# How long a key's answer is kept: longer than any client's retries, short enough that the table stays small.
KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces, like the IETF draft's examples


class IdempotentAnswer(db.Model):
    """The answer first given to a request with this key, by this caller (a token or a user) in this workspace."""

    __tablename__ = "idempotent_answer"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True)
    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise DomainError(
            "idempotency_key_invalid",
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters without spaces (a UUID, say).",
        )
    return key


def fingerprint(*parts: str) -> str:
    """What makes a repeat the same request: the parts, so that one key reused for another body is told apart."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def replay(workspace_id: str, caller: str, key: str, print_: str) -> IdempotentAnswer | None:
    """The first answer to this key, or None; a key reused for a different request is refused (422)."""
    found = db.session.get(IdempotentAnswer, (workspace_id, caller, key))
    if found is None or found.created_at < utcnow() - KEY_LIFETIME:
        return None
    if found.fingerprint != print_:
        raise DomainError(
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request; use a new key for a new request.",
            status=422,
        )
    return found


def record(workspace_id: str, caller: str, key: str, print_: str, status: int, body: dict) -> None:
    """Adds the answer to the session, to commit with the work it answers (one transaction: both or neither)."""
    db.session.execute(
        delete(IdempotentAnswer).where(
            IdempotentAnswer.workspace_id == workspace_id,
            IdempotentAnswer.caller == caller,
            IdempotentAnswer.key == key,
            IdempotentAnswer.created_at < utcnow() - KEY_LIFETIME,
        )
    )
    db.session.add(
        IdempotentAnswer(
            workspace_id=workspace_id, caller=caller, key=key, fingerprint=print_, status=status, body=body
        )
    )


def purge_expired() -> int:
    """Deletes answers older than KEY_LIFETIME (the worker's maintenance pass)."""
    result = db.session.execute(delete(IdempotentAnswer).where(IdempotentAnswer.created_at < utcnow() - KEY_LIFETIME))
    db.session.commit()
    return result.rowcount or 0


def remember(workspace_id: str, caller: str, key: str, print_: str, status: int, body: dict) -> dict:
    """Records an answer that changed nothing (an upload answered with the file it already is) and commits it; when
    the same key's request recorded one first, that one is the answer."""
    record(workspace_id, caller, key, print_, status, body)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        first = replay(workspace_id, caller, key, print_)
        if first is not None:
            return first.body
    return body
