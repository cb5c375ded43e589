"""Where file bytes live: a folder on this machine, or any S3 API (R2 in production), behind one interface.

A backend is one subclass of Storage named in BACKENDS and chosen by STORAGE_BACKEND; code outside app.adapters only
calls the interface and never asks which backend it holds.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Keys are made by the product (`<workspace id>/<file id>`, and `<workspace id>/<file id>.master` for the master
# derived from an original that Images would not take), never from a user's file name.
KEY_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}/[a-z0-9_-]{1,64}(\.master)?$")
MASTER_SUFFIX = ".master"


def master_key(key: str) -> str:
    """Where the master of the original stored under `key` lives: beside it, so one prefix holds both."""
    return check_key(key) + MASTER_SUFFIX


class StorageError(Exception):
    """The store could not take or give the bytes; `full` tells a full disk from any other failure."""

    def __init__(self, message: str, full: bool = False):
        super().__init__(message)
        self.full = full


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key or ""):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage(ABC):
    """Everything the product asks of a store; a new backend implements these and adds itself to BACKENDS."""

    @classmethod
    @abstractmethod
    def from_config(cls, config) -> Storage: ...

    @abstractmethod
    def put_file(self, key: str, path: str) -> None:
        """Takes the spooled file at `path` (it may be moved, not copied); raises StorageError."""

    @abstractmethod
    def open(self, key: str) -> IO[bytes]:
        """A stream of the bytes, read from the start; it may not seek."""

    @abstractmethod
    def open_seekable(self, key: str) -> IO[bytes]:
        """A stream that can seek, so a header can be read without reading the rest where the store allows it."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Removes the object and any partial copy of it; deleting what is gone is fine (purges retry)."""

    @abstractmethod
    def signed_url(self, key: str, expires_in: int) -> str:
        """A URL anyone can GET the bytes from until it expires (the images service copies from it)."""

    @abstractmethod
    def keys(self, workspace_ids: Iterable[str]) -> list[str]:
        """Every stored object key, sorted, including `<key>.partial` leftovers; for the doctor's orphan check."""

    @abstractmethod
    def init(self) -> str:
        """Makes the store ready to take bytes (its folder or bucket) and says what is ready."""

    def add_workspace(self, workspace_id: str) -> None:  # noqa: B027 - a hook most stores need nothing from
        """Gives a new workspace whatever room it needs of its own (nothing, unless buckets are per workspace)."""

    def signed_file(self, key: str, expires: str, signature: str) -> Path | None:
        """The local file behind one of this store's own signed URLs, or None when its URLs are served elsewhere.

        Raises PermissionError for a tampered or expired link.
        """
        return None

    # A resumable upload's bytes as numbered parts of one object, sent as they arrive (S3 multipart upload). A store
    # whose `part_size()` is None takes a whole file at once instead (a rename on a local disk costs nothing).
    def part_size(self) -> int | None:
        """The size of each part but the last; None when the store takes no parts."""
        return None

    def start_parts(self, key: str) -> str:
        """Opens a multipart object at `key`; answers its upload id."""
        raise NotImplementedError

    def put_part(self, key: str, upload_id: str, number: int, path: str, size: int) -> str:
        """Sends the first `size` bytes of the file at `path` as part `number` (from 1), streamed; answers its ETag."""
        raise NotImplementedError

    def finish_parts(self, key: str, upload_id: str, etags: list[str]) -> None:
        """Joins the parts, in order, into the object at `key`."""
        raise NotImplementedError

    def abort_parts(self, key: str, upload_id: str) -> None:
        """Gives up the multipart object: the store drops its parts."""
        raise NotImplementedError


class LocalStorage(Storage):
    def __init__(self, root: str, secret_key: str, public_url: str):
        self.root = Path(root).resolve()
        self.secret = secret_key.encode()
        self.public_url = public_url.rstrip("/")

    @classmethod
    def from_config(cls, config) -> LocalStorage:
        os.makedirs(config["STORAGE_ROOT"], exist_ok=True)
        return cls(config["STORAGE_ROOT"], config["SECRET_KEY"], config["PUBLIC_URL"])

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"invalid storage key {key!r}")
        return path

    def put_file(self, key: str, path: str) -> None:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)  # the spool lives on the same disk: no second copy of the bytes
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                partial = target.with_name(target.name + ".partial")
                shutil.copyfile(path, partial)
                os.replace(partial, target)
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc.strerror or exc}", full=exc.errno == errno.ENOSPC) from exc

    def open(self, key: str) -> IO[bytes]:
        return open(self.path(key), "rb")

    def open_seekable(self, key: str) -> IO[bytes]:
        return self.open(key)  # a real file

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self, workspace_ids: Iterable[str] = ()) -> list[str]:
        keys = []
        for directory, _subdirs, names in os.walk(self.root):
            for name in names:
                relative = os.path.relpath(os.path.join(directory, name), self.root).replace(os.sep, "/")
                base = relative[: -len(".partial")] if relative.endswith(".partial") else relative
                if KEY_PATTERN.fullmatch(base):
                    keys.append(relative)
        return sorted(keys)

    def init(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        return f"local storage at {self.root} is ready"

    def delete(self, key: str) -> None:
        for candidate in (self.path(key), self.path(key).with_name(self.path(key).name + ".partial")):
            try:
                candidate.unlink()
            except FileNotFoundError:
                pass

    def signature(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"storage:{key}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, key: str, expires_in: int) -> str:
        expires = int(time.time()) + expires_in
        query = urlencode({"exp": expires, "sig": self.signature(check_key(key), expires)})
        return f"{self.public_url}/storage/{key}?{query}"

    def verify(self, key: str, expires: str, signature: str) -> bool:
        """True only for an untampered URL whose expiry is still ahead."""
        if not KEY_PATTERN.fullmatch(key or "") or not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self.signature(key, int(expires)), signature or "")

    def signed_file(self, key: str, expires: str, signature: str) -> Path | None:
        if not self.verify(key, expires, signature):
            raise PermissionError("This link is invalid or has expired.")
        return self.path(key)


def bucket_name(prefix: str, workspace_id: str | None) -> str:
    """One bucket, or one per workspace (`<prefix>-<workspace id>`), within S3's naming rules."""
    name = prefix if workspace_id is None else f"{prefix}-{workspace_id.replace('_', '-')}"
    return name.lower()[:63]


class S3Storage(Storage):
    def __init__(
        self,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        region: str,
        bucket: str,
        bucket_per_workspace: bool = False,
    ):
        self.bucket_prefix = bucket
        self.region = region
        self.bucket_per_workspace = bucket_per_workspace
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                # R2 rejects the CRC32 trailers botocore adds by default since 1.36.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 4, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        # 8 MiB parts, two at a time: a large upload costs about 16 MiB of memory, never its own size.
        self.transfer = TransferConfig(
            multipart_threshold=16 * 1024 * 1024,
            multipart_chunksize=8 * 1024 * 1024,
            max_concurrency=2,
            use_threads=True,
        )

    @classmethod
    def from_config(cls, config) -> S3Storage:
        return cls(
            endpoint_url=config["S3_ENDPOINT_URL"],
            access_key_id=config["S3_ACCESS_KEY_ID"],
            secret_access_key=config["S3_SECRET_ACCESS_KEY"],
            region=config["S3_REGION"],
            bucket=config["S3_BUCKET"],
            bucket_per_workspace=config["S3_BUCKET_PER_WORKSPACE"],
        )

    def locate(self, key: str) -> tuple[str, str]:
        workspace_id = check_key(key).split("/", 1)[0]
        return bucket_name(self.bucket_prefix, workspace_id if self.bucket_per_workspace else None), key

    def ensure_bucket(self, workspace_id: str | None = None) -> None:
        name = bucket_name(self.bucket_prefix, workspace_id if self.bucket_per_workspace else None)
        try:
            self.client.head_bucket(Bucket=name)
            return
        except ClientError:
            pass
        try:
            self.client.create_bucket(Bucket=name)
        except ClientError as exc:
            # Some S3 servers want the region spelt out when it is not us-east-1; R2 takes either form.
            if exc.response.get("Error", {}).get("Code") != "IllegalLocationConstraintException":
                raise
            self.client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})

    def put_file(self, key: str, path: str) -> None:
        bucket, key = self.locate(key)
        try:
            self.client.upload_file(path, bucket, key, Config=self.transfer)
        except (BotoCoreError, ClientError, Boto3Error, OSError) as exc:
            raise StorageError(f"could not write {key}: {exc}") from exc

    def open(self, key: str) -> IO[bytes]:
        bucket, key = self.locate(key)
        return self.client.get_object(Bucket=bucket, Key=key)["Body"]

    def part_size(self) -> int:
        return self.transfer.multipart_chunksize  # 8 MiB: over S3's 5 MiB least part

    def start_parts(self, key: str) -> str:
        bucket, key = self.locate(key)
        try:
            return self.client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not start {key}: {exc}") from exc

    def put_part(self, key: str, upload_id: str, number: int, path: str, size: int) -> str:
        bucket, key = self.locate(key)
        try:
            with open(path, "rb") as part:
                answer = self.client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=_Limited(part, size),
                    ContentLength=size,
                )
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageError(f"could not write part {number} of {key}: {exc}") from exc
        return answer["ETag"]

    def finish_parts(self, key: str, upload_id: str, etags: list[str]) -> None:
        bucket, key = self.locate(key)
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
        try:
            self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not finish {key}: {exc}") from exc

    def abort_parts(self, key: str, upload_id: str) -> None:
        bucket, key = self.locate(key)
        try:
            self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchUpload"}:
                raise

    def open_seekable(self, key: str) -> IO[bytes]:
        # S3 bodies cannot seek; an original can be as large as an upload, so past 16 MB it is spooled to disk.
        spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        with contextlib.closing(self.open(key)) as body:
            shutil.copyfileobj(body, spool, 1024 * 1024)
        spool.seek(0)
        return spool

    def keys(self, workspace_ids: Iterable[str] = ()) -> list[str]:
        if self.bucket_per_workspace:
            buckets = [bucket_name(self.bucket_prefix, workspace_id) for workspace_id in workspace_ids]
        else:
            buckets = [bucket_name(self.bucket_prefix, None)]
        keys = []
        for bucket in buckets:
            try:
                for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                    keys.extend(item["Key"] for item in page.get("Contents", []))
            except self.client.exceptions.NoSuchBucket:
                continue
        return sorted(keys)

    def init(self) -> str:
        self.ensure_bucket()
        return f"bucket {self.bucket_prefix!r} is ready"

    def add_workspace(self, workspace_id: str) -> None:
        if self.bucket_per_workspace:
            self.ensure_bucket(workspace_id)

    def exists(self, key: str) -> bool:
        bucket, key = self.locate(key)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise

    def delete(self, key: str) -> None:
        bucket, key = self.locate(key)
        self.client.delete_object(Bucket=bucket, Key=key)

    def signed_url(self, key: str, expires_in: int) -> str:
        bucket, key = self.locate(key)
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )


class _Limited:
    """The first `size` bytes of an open file, read in pieces by botocore (never the whole part in memory)."""

    def __init__(self, handle, size: int):
        self.handle, self.size = handle, size

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.handle.tell()
        return self.handle.read(left if n is None or n < 0 else min(n, left))

    def seek(self, offset: int, whence: int = 0) -> int:  # botocore rewinds a body to sign it or to retry
        if whence == 2:
            return self.handle.seek(self.size + offset)
        return self.handle.seek(offset, whence)

    def tell(self) -> int:
        return self.handle.tell()


BACKENDS: dict[str, type[Storage]] = {"local": LocalStorage, "s3": S3Storage}


def build_storage(config) -> Storage:
    """The backend STORAGE_BACKEND names, built from the rest of the settings."""
    backend = BACKENDS.get(config["STORAGE_BACKEND"])
    if backend is None:
        raise ValueError(f"STORAGE_BACKEND must be one of {', '.join(BACKENDS)}, not {config['STORAGE_BACKEND']!r}")
    return backend.from_config(config)
