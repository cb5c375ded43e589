"""Images, variants, keys and settings in one SQLite file, originals and derivatives as files, shared by every worker."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    filename TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    creator TEXT,
    require_signed INTEGER NOT NULL DEFAULT 0,
    custom_id INTEGER NOT NULL DEFAULT 0,
    uploaded TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    frames INTEGER NOT NULL DEFAULT 1,
    alpha INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL,
    blob TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS variants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    options TEXT NOT NULL,
    never_require_signed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS keys (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS config (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (seq INTEGER PRIMARY KEY, status INTEGER NOT NULL, remaining INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS drafts (
    id TEXT PRIMARY KEY,
    meta TEXT NOT NULL DEFAULT '{}',
    creator TEXT,
    require_signed INTEGER NOT NULL DEFAULT 0,
    custom_id INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rate_limit (
    credential TEXT PRIMARY KEY, window_start REAL NOT NULL, used INTEGER NOT NULL, blocked_until REAL NOT NULL
);
"""

# A new Cloudflare account has only `public` and flexible variants off; whatever else the product needs it creates
# itself (`aeontel images setup`). Cloudflare does not document public's options; these are the stand-in's choice.
DEFAULT_VARIANTS = {
    "public": {"fit": "scale-down", "width": 12000, "height": 12000, "metadata": "none"},
}
DEFAULT_CONFIG = {"flexible_variants": False, "browser_ttl": None}
DEFAULT_KEY_NAME = "default"


@dataclass(frozen=True)
class StoredImage:
    seq: int
    id: str
    filename: str | None
    meta: dict
    creator: str | None
    require_signed: bool
    custom_id: bool
    uploaded: str
    kind: str
    size: int
    width: int
    height: int
    frames: int
    alpha: bool
    sha256: str
    blob: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "StoredImage":
        values = dict(row)
        values["meta"] = json.loads(values["meta"])
        values["require_signed"] = bool(values["require_signed"])
        values["custom_id"] = bool(values["custom_id"])
        values["alpha"] = bool(values["alpha"])
        return cls(**values)


@dataclass(frozen=True)
class StoredVariant:
    id: str
    options: dict
    never_require_signed: bool


@dataclass(frozen=True)
class Draft:
    """A direct creator upload that was asked for and not yet made: its id is reserved until `expires` (epoch s)."""

    id: str
    meta: dict
    creator: str | None
    require_signed: bool
    custom_id: bool
    created: str
    expires: float


class IdTaken(Exception):
    """The custom id is already used by another image."""


def utc_now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    """One per process; connections are opened lazily per thread (and per pid, so forked workers never share one)."""

    def __init__(self, data_dir: str | os.PathLike):
        self.root = Path(data_dir)
        self.db_path = self.root / "imagesd.sqlite3"
        self.originals = self.root / "originals"
        self.cache = self.root / "cache"
        self._local = threading.local()

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def initialize(self, signing_key: str = "", faults: list[tuple[int, int]] | None = None) -> None:
        """Create the schema and defaults; reset the fault plan when one is given (the server does this once)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.originals.mkdir(exist_ok=True)
        self.cache.mkdir(exist_ok=True)
        conn = self.connect()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        with self.transaction() as tx:
            for name, options in DEFAULT_VARIANTS.items():
                tx.execute(
                    "INSERT OR IGNORE INTO variants (id, options, never_require_signed) VALUES (?, ?, 0)",
                    (name, json.dumps(options)),
                )
            for name, value in DEFAULT_CONFIG.items():
                tx.execute("INSERT OR IGNORE INTO config (name, value) VALUES (?, ?)", (name, json.dumps(value)))
            if signing_key:
                tx.execute(
                    "INSERT INTO keys (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (DEFAULT_KEY_NAME, signing_key),
                )
            elif tx.execute("SELECT COUNT(*) FROM keys").fetchone()[0] == 0:
                tx.execute("INSERT INTO keys (name, value) VALUES (?, ?)", (DEFAULT_KEY_NAME, new_key_value()))
            if faults is not None:
                tx.execute("DELETE FROM faults")
                tx.executemany(
                    "INSERT INTO faults (seq, status, remaining) VALUES (?, ?, ?)",
                    [(index, status, count) for index, (status, count) in enumerate(faults)],
                )

    def close(self) -> None:
        """Close this thread's connection, so a process about to fork hands none of it to its children."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def transaction(self):
        return _Transaction(self.connect())

    # Images

    def new_blob_path(self, kind: str) -> tuple[str, Path]:
        name = f"{uuid.uuid4().hex}.{kind}"
        return name, self.originals / name[:2] / name

    def blob_path(self, blob: str) -> Path:
        return self.originals / blob[:2] / blob

    def insert_image(self, image: StoredImage) -> StoredImage:
        try:
            with self.transaction() as tx:
                if tx.execute("SELECT 1 FROM drafts WHERE id = ? AND expires > ?", (image.id, time.time())).fetchone():
                    raise IdTaken(image.id)
                self._insert_image(tx, image)
        except sqlite3.IntegrityError:
            raise IdTaken(image.id) from None
        return self.get_image(image.id)

    @staticmethod
    def _insert_image(tx: sqlite3.Connection, image: StoredImage) -> None:
        tx.execute(
            "INSERT INTO images (id, filename, meta, creator, require_signed, custom_id, uploaded, kind, size,"
            " width, height, frames, alpha, sha256, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                image.id,
                image.filename,
                json.dumps(image.meta),
                image.creator,
                int(image.require_signed),
                int(image.custom_id),
                image.uploaded,
                image.kind,
                image.size,
                image.width,
                image.height,
                image.frames,
                int(image.alpha),
                image.sha256,
                image.blob,
            ),
        )

    def insert_draft(self, draft: Draft, now: float) -> None:
        """Reserve a draft's id (expired drafts are dropped first); IdTaken when an image or a live draft has it."""
        with self.transaction() as tx:
            tx.execute("DELETE FROM drafts WHERE expires <= ?", (now,))
            if tx.execute("SELECT 1 FROM images WHERE id = ?", (draft.id,)).fetchone():
                raise IdTaken(draft.id)
            try:
                tx.execute(
                    "INSERT INTO drafts (id, meta, creator, require_signed, custom_id, created, expires)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        draft.id,
                        json.dumps(draft.meta),
                        draft.creator,
                        int(draft.require_signed),
                        int(draft.custom_id),
                        draft.created,
                        draft.expires,
                    ),
                )
            except sqlite3.IntegrityError:
                raise IdTaken(draft.id) from None

    def get_draft(self, image_id: str, now: float) -> Draft | None:
        row = self.connect().execute("SELECT * FROM drafts WHERE id = ? AND expires > ?", (image_id, now)).fetchone()
        if row is None:
            return None
        values = dict(row)
        values.update(meta=json.loads(values["meta"]), require_signed=bool(values["require_signed"]))
        return Draft(**{**values, "custom_id": bool(values["custom_id"])})

    def complete_draft(self, image: StoredImage, now: float) -> StoredImage | None:
        """Turn a live draft into the uploaded image in one transaction; None when no live draft has its id (expired,
        already used, deleted), so one upload URL makes one image however many clients race for it."""
        with self.transaction() as tx:
            if tx.execute("DELETE FROM drafts WHERE id = ? AND expires > ?", (image.id, now)).rowcount == 0:
                return None
            self._insert_image(tx, image)
        return self.get_image(image.id)

    def delete_draft(self, image_id: str) -> bool:
        with self.transaction() as tx:
            return tx.execute("DELETE FROM drafts WHERE id = ?", (image_id,)).rowcount > 0

    def get_image(self, image_id: str) -> StoredImage | None:
        row = self.connect().execute("SELECT * FROM images WHERE id = ?", (image_id,)).fetchone()
        return StoredImage.from_row(row) if row else None

    def update_image(self, image_id: str, **changes) -> StoredImage | None:
        columns = {"meta": lambda v: json.dumps(v), "creator": str, "require_signed": int}
        assignments = [(name, columns[name](value)) for name, value in changes.items()]
        if assignments:
            with self.transaction() as tx:
                tx.execute(
                    f"UPDATE images SET {', '.join(f'{name} = ?' for name, _ in assignments)} WHERE id = ?",
                    [value for _, value in assignments] + [image_id],
                )
        return self.get_image(image_id)

    def delete_image(self, image_id: str) -> bool:
        with self.transaction() as tx:
            row = tx.execute("SELECT blob FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                return False
            tx.execute("DELETE FROM images WHERE id = ?", (image_id,))
        self.blob_path(row["blob"]).unlink(missing_ok=True)
        shutil.rmtree(self.cache_dir(row["blob"]), ignore_errors=True)
        return True

    def list_images(
        self,
        *,
        creator: str | None,
        after_seq: int | None = None,
        descending: bool = False,
        limit: int,
        offset: int = 0,
    ) -> list[StoredImage]:
        where, args = [], []
        if creator is not None:
            if creator == "":
                where.append("creator IS NULL")
            else:
                where.append("creator = ?")
                args.append(creator)
        if after_seq is not None:
            where.append("seq < ?" if descending else "seq > ?")
            args.append(after_seq)
        sql = "SELECT * FROM images"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY seq {'DESC' if descending else 'ASC'} LIMIT ? OFFSET ?"
        rows = self.connect().execute(sql, [*args, limit, offset]).fetchall()
        return [StoredImage.from_row(row) for row in rows]

    def count_images(self) -> int:
        return self.connect().execute("SELECT COUNT(*) FROM images").fetchone()[0]

    # Variants

    def variants(self) -> list[StoredVariant]:
        rows = self.connect().execute("SELECT * FROM variants ORDER BY seq").fetchall()
        return [StoredVariant(row["id"], json.loads(row["options"]), bool(row["never_require_signed"])) for row in rows]

    def get_variant(self, name: str) -> StoredVariant | None:
        row = self.connect().execute("SELECT * FROM variants WHERE id = ?", (name,)).fetchone()
        if row is None:
            return None
        return StoredVariant(row["id"], json.loads(row["options"]), bool(row["never_require_signed"]))

    def insert_variant(self, variant: StoredVariant) -> bool:
        try:
            with self.transaction() as tx:
                tx.execute(
                    "INSERT INTO variants (id, options, never_require_signed) VALUES (?, ?, ?)",
                    (variant.id, json.dumps(variant.options), int(variant.never_require_signed)),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def update_variant(self, variant: StoredVariant) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE variants SET options = ?, never_require_signed = ? WHERE id = ?",
                (json.dumps(variant.options), int(variant.never_require_signed), variant.id),
            )

    def delete_variant(self, name: str) -> bool:
        with self.transaction() as tx:
            return tx.execute("DELETE FROM variants WHERE id = ?", (name,)).rowcount > 0

    # Keys and config

    def keys(self) -> list[tuple[str, str]]:
        return [(row["name"], row["value"]) for row in self.connect().execute("SELECT * FROM keys ORDER BY name")]

    def put_key(self, name: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO keys (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, new_key_value()),
            )

    def delete_key(self, name: str) -> bool:
        with self.transaction() as tx:
            deleted = tx.execute("DELETE FROM keys WHERE name = ?", (name,)).rowcount > 0
            if tx.execute("SELECT COUNT(*) FROM keys").fetchone()[0] == 0:
                tx.execute("INSERT INTO keys (name, value) VALUES (?, ?)", (DEFAULT_KEY_NAME, new_key_value()))
        return deleted

    def config(self) -> dict:
        return {row["name"]: json.loads(row["value"]) for row in self.connect().execute("SELECT * FROM config")}

    def set_config(self, changes: dict) -> dict:
        with self.transaction() as tx:
            for name, value in changes.items():
                tx.execute(
                    "INSERT INTO config (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (name, json.dumps(value)),
                )
        return self.config()

    # Faults

    def take_fault(self) -> int | None:
        """Consume one injected failure, if any remain, and return its HTTP status."""
        conn = self.connect()
        if conn.execute("SELECT 1 FROM faults WHERE remaining > 0 LIMIT 1").fetchone() is None:
            return None
        with self.transaction() as tx:
            row = tx.execute("SELECT seq, status FROM faults WHERE remaining > 0 ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                return None
            tx.execute("UPDATE faults SET remaining = remaining - 1 WHERE seq = ?", (row["seq"],))
            return row["status"]

    # Rate limit

    def spend(self, credential: str, limit: int, window: float, block: float, now: float) -> tuple[bool, int, float]:
        """Count one request against a credential's window: (allowed, remaining, seconds until the window or block ends).

        Over the limit, the credential is blocked for `block` seconds, as Cloudflare blocks a token for 5 minutes; when
        the block ends, so does the window it ended."""
        with self.transaction() as tx:
            row = tx.execute("SELECT * FROM rate_limit WHERE credential = ?", (credential,)).fetchone()
            start, used, blocked_until = (
                (row["window_start"], row["used"], row["blocked_until"]) if row else (now, 0, 0)
            )
            if blocked_until > now:
                return False, 0, blocked_until - now
            # A block that has ended starts a fresh window: the Retry-After sent with the block must be the truth,
            # even when the block is shorter than the window (the old count would refuse the first retry again).
            if blocked_until or now - start >= window:
                start, used = now, 0
            used += 1
            allowed = used <= limit
            blocked_until = now + block if not allowed else 0
            tx.execute(
                "INSERT INTO rate_limit (credential, window_start, used, blocked_until) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(credential) DO UPDATE SET window_start = excluded.window_start, used = excluded.used,"
                " blocked_until = excluded.blocked_until",
                (credential, start, used, blocked_until),
            )
        return allowed, max(0, limit - used), (blocked_until - now) if not allowed else start + window - now

    # Derivatives

    def cache_dir(self, blob: str) -> Path:
        return self.cache / blob[:2] / blob


class _Transaction:
    """BEGIN IMMEDIATE so concurrent writers from several processes queue up instead of deadlocking."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


def new_key_value() -> str:
    return secrets.token_urlsafe(32)
