"""Where file bytes live: a folder on this machine, or any S3 API (R2 in production), behind one interface."""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import re
import shutil
import time
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlencode

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from boto3.s3.transfer import TransferConfig

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


class Storage(Protocol):
    def put_file(self, key: str, path: str) -> None: ...
    def open(self, key: str) -> IO[bytes]: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def signed_url(self, key: str, expires_in: int) -> str: ...


class LocalStorage:
    def __init__(self, root: str, secret_key: str, public_url: str):
        self.root = Path(root).resolve()
        self.secret = secret_key.encode()
        self.public_url = public_url.rstrip("/")

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

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

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


def bucket_name(prefix: str, workspace_id: str | None) -> str:
    """One bucket, or one per workspace (`<prefix>-<workspace id>`), within S3's naming rules."""
    name = prefix if workspace_id is None else f"{prefix}-{workspace_id.replace('_', '-')}"
    return name.lower()[:63]


class S3Storage:
    def __init__(
        self, endpoint_url: str, access_key_id: str, secret_access_key: str, region: str, bucket: str,
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
        self.transfer = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024,
                                       max_concurrency=2, use_threads=True)

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


def build_storage(config: dict) -> Storage:
    if config["STORAGE_BACKEND"] == "s3":
        return S3Storage(
            endpoint_url=config["S3_ENDPOINT_URL"], access_key_id=config["S3_ACCESS_KEY_ID"],
            secret_access_key=config["S3_SECRET_ACCESS_KEY"], region=config["S3_REGION"],
            bucket=config["S3_BUCKET"], bucket_per_workspace=config["S3_BUCKET_PER_WORKSPACE"],
        )
    return LocalStorage(config["STORAGE_ROOT"], config["SECRET_KEY"], config["PUBLIC_URL"])
