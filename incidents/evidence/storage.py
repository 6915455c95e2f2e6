"""Where the bytes of evidence are kept: a folder on the server, or an S3-compatible store.

Both are reached through `Storage` by a key that `new_key` makes: random, so a key says
nothing about the incident or the file, and never chosen by a user. A kept original (a photo
as it was uploaded, metadata and all) has the key of its cleaned copy plus ".orig". The
database holds the key; this module holds nothing but bytes.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

_KEY = re.compile(r"[0-9a-f]{32}(\.orig)?")
_S3_OPTIONS = frozenset({"endpoint_url", "region"})
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class StorageError(Exception):
    """The store could not do what was asked: the key is missing, or the store failed."""


class Storage(Protocol):
    """Bytes by key. `put` replaces what a key held; `get` of a missing key raises
    `StorageError`; `delete` of a missing key does nothing."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...


def new_key() -> str:
    """A fresh key: 32 random hexadecimal characters."""
    return secrets.token_hex(16)


def _check_key(key: str) -> None:
    """`ValueError` unless the key is one `new_key` could have made (with ".orig" or not):
    keys become paths and object names, so nothing else may pass."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not an evidence key: {key!r}")


def storage_for(url: str, instance_path: str) -> Storage:
    """The store a configured URL names: "" for the folder `evidence` in the instance folder,
    "file:///absolute/path" for another folder, "s3://bucket/prefix?..." for S3."""
    if not url:
        return FolderStorage(Path(instance_path) / "evidence")
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.netloc in {"", "localhost"} and parts.path.startswith("/"):
        return FolderStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        return S3Storage(url)
    raise ValueError(
        "The evidence storage URL must be empty (the folder 'evidence' in the instance folder), "
        "file:///an/absolute/path or s3://bucket/prefix?endpoint_url=...&region=..."
    )


class FolderStorage:
    """Files under `root`, at root/<first two characters of the key>/<key>, so that no folder
    grows to hold every file. Only the server's own user may read them (mode 0o600)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """Where a key's file is. The key's pattern keeps every path inside `root`."""
        _check_key(key)
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        """Write all of `data` or nothing: into a temporary file beside the final one, flushed
        to disk, then renamed over it. A crash leaves the old file or the new one, never half
        of one."""
        path = self.path(key)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.mkdir(mode=0o700, exist_ok=True)
            _write_atomically(path, data)
        except OSError as error:
            raise StorageError(f"could not store {key}: {error}") from error

    def get(self, key: str) -> bytes:
        path = self.path(key)
        try:
            # O_NOFOLLOW: a symbolic link planted in the store is not followed out of it.
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(descriptor, "rb") as file:
                return file.read()
        except FileNotFoundError as error:
            raise StorageError(f"no evidence stored under {key}") from error
        except OSError as error:
            raise StorageError(f"could not read {key}: {error}") from error

    def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"could not delete {key}: {error}") from error

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def _write_atomically(path: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as file:  # mkstemp makes it 0o600
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Flush the folder itself, so that the rename survives a power cut too."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class S3Storage:
    """Objects in an S3 bucket (or MinIO, Ceph, ...), at <prefix>/<key>.

    The URL is s3://bucket/prefix, with `endpoint_url` and `region` as optional query
    parameters. Credentials are found the way boto3 finds them (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, an instance role), so none is ever in the URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = parse_qs(parts.query, keep_blank_values=True)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError("an S3 storage URL looks like s3://bucket/prefix")
        if unknown := set(options) - _S3_OPTIONS:
            raise ValueError(f"unknown S3 storage options: {', '.join(sorted(unknown))}")
        self.bucket = parts.netloc
        self.prefix = unquote(parts.path).strip("/")
        # Imported here: boto3 is some 25 MB in every worker, needed only with this store.
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        self._client_error, self._core_error = ClientError, BotoCoreError
        self._errors = (BotoCoreError, ClientError)
        # A session of its own: boto3's default session is not safe to share between threads
        # while clients are made; the client made here is.
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=_option(options, "endpoint_url"),
            region_name=_option(options, "region"),
            config=Config(
                connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}
            ),
        )

    def _object_name(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        name = self._object_name(key)
        try:
            self._client.put_object(Bucket=self.bucket, Key=name, Body=data)
        except self._errors as error:
            raise StorageError(f"could not store {key}: {error}") from error

    def get(self, key: str) -> bytes:
        name = self._object_name(key)
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=name)
            return bytes(answer["Body"].read())
        except self._client_error as error:
            if _is_missing(error):
                raise StorageError(f"no evidence stored under {key}") from error
            raise StorageError(f"could not read {key}: {error}") from error
        except self._core_error as error:
            raise StorageError(f"could not read {key}: {error}") from error

    def delete(self, key: str) -> None:
        name = self._object_name(key)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=name)
        except self._errors as error:
            raise StorageError(f"could not delete {key}: {error}") from error

    def exists(self, key: str) -> bool:
        name = self._object_name(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=name)
        except self._client_error as error:
            if _is_missing(error):
                return False
            raise StorageError(f"could not look up {key}: {error}") from error
        except self._core_error as error:
            raise StorageError(f"could not look up {key}: {error}") from error
        return True


def _option(options: dict[str, list[str]], name: str) -> str | None:
    values = options.get(name)
    return values[-1] if values and values[-1] else None


def _is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING_CODES
