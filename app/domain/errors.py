"""The errors every domain function raises: a code for machines, a message for people, the HTTP status the faces
answer with; kept apart so any module of the domain can raise them without importing accounts."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses; `code` is stable for machines, the message is for people."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra


class NotFound(DomainError):
    status = 404
