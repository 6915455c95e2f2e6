"""Tests of where evidence is kept (incidents/evidence/storage.py): a folder, and S3.

The S3 store is tested against a real S3 server on loopback, moto's (`moto_server`, from
moto[server]), started once for this module: every test that takes `storage` runs on both
stores. Without moto_server these skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from incidents.evidence import storage as storage_module
from incidents.evidence.storage import (
    FolderStorage,
    S3Storage,
    Storage,
    StorageError,
    new_key,
    storage_for,
)
from tests.conftest import missing
from tests.postgres_server import free_port

BUCKET = "evidence-test"
REGION = "eu-west-1"


def wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> str | None:
    """None once the server answers; else why it does not."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"it exited with {process.returncode}: {log.read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return None
        except OSError:
            time.sleep(0.1)
    return "it did not answer within 30 seconds"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running moto S3 server holding an empty bucket `BUCKET`, with test
    credentials in the environment (the way boto3 finds them) for as long as it runs."""
    binary = Path(sys.executable).parent / "moto_server"
    if not binary.exists():
        missing(f"moto_server (moto[server]) next to {sys.executable}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=output, stderr=output
        )
    try:
        if (problem := wait_until_answering(process, url, log)) is not None:
            missing(f"moto_server (it did not start: {problem})")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
            patch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
            for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION"):
                patch.delenv(name, raising=False)  # the region comes from the storage URL
            patch.setenv("AWS_CONFIG_FILE", str(log.parent / "no-config"))
            patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(log.parent / "no-credentials"))
            s3_client(url).create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def s3_client(endpoint: str):
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=REGION)


def s3_url(endpoint: str, prefix: str, bucket: str = BUCKET) -> str:
    return f"s3://{bucket}/{prefix}?endpoint_url={endpoint}&region={REGION}"


@pytest.fixture(params=["folder", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each store, empty: a new folder, or a prefix of its own in the bucket."""
    if request.param == "folder":
        return FolderStorage(tmp_path / "evidence")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(s3_url(endpoint, f"evidence/{new_key()}"))


def test_new_keys_are_32_random_hexadecimal_characters() -> None:
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(key) == 32 and set(key) <= set("0123456789abcdef") for key in keys)


# --- both stores -----------------------------------------------------------------------------


def test_what_is_put_is_got_back(storage: Storage) -> None:
    key = new_key()
    data = os.urandom(256 * 1024)
    assert not storage.exists(key)

    storage.put(key, data)

    assert storage.exists(key)
    assert storage.get(key) == data
    assert not storage.exists(key + ".orig")  # the original is another key


def test_put_replaces_and_the_original_is_kept_apart(storage: Storage) -> None:
    key = new_key()
    storage.put(key, b"first")
    storage.put(key, b"second")
    storage.put(key + ".orig", b"as uploaded")

    assert storage.get(key) == b"second"
    assert storage.get(key + ".orig") == b"as uploaded"


def test_getting_a_missing_key_is_a_storage_error(storage: Storage) -> None:
    with pytest.raises(StorageError, match="no evidence stored"):
        storage.get(new_key())


def test_deleting_twice_or_what_was_never_there_is_fine(storage: Storage) -> None:
    key = new_key()
    storage.put(key, b"x")

    storage.delete(key)
    storage.delete(key)
    storage.delete(new_key() + ".orig")

    assert not storage.exists(key)
    with pytest.raises(StorageError):
        storage.get(key)


BAD_KEYS = [
    "../x",
    "ABC",
    "",
    "a" * 31,
    "a" * 33,
    "A" * 32,
    "g" * 32,
    "a" * 32 + "\n",
    "a" * 32 + ".ORIG",
    "a" * 32 + ".orig.orig",
    "a" * 32 + ".txt",
    "../" + "a" * 29,
    "aa/" + "a" * 29,
    "/" + "a" * 31,
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_key_new_key_could_not_have_made_is_refused(storage: Storage, key: str) -> None:
    for use in (
        lambda: storage.put(key, b"x"),
        lambda: storage.get(key),
        lambda: storage.delete(key),
        lambda: storage.exists(key),
    ):
        with pytest.raises(ValueError, match="not an evidence key"):
            use()


# --- the folder ------------------------------------------------------------------------------


def test_files_are_spread_over_folders_that_only_the_server_may_read(tmp_path: Path) -> None:
    store = FolderStorage(tmp_path / "evidence")
    key = new_key()

    store.put(key, b"evidence")

    path = tmp_path / "evidence" / key[:2] / key
    assert store.path(key) == path and path.read_bytes() == b"evidence"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "evidence").stat().st_mode) == 0o700


def all_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_a_write_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    store = FolderStorage(tmp_path)
    key = new_key()

    store.put(key, b"one")
    store.put(key, b"two")

    assert all_files(tmp_path) == [f"{key[:2]}/{key}"]


def test_a_failed_write_keeps_the_old_file_whole_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FolderStorage(tmp_path)
    key = new_key()
    store.put(key, b"the old evidence")

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module.os, "fsync", disk_full)
    with pytest.raises(StorageError, match="No space left"):
        store.put(key, b"the new evidence, half written")

    assert store.get(key) == b"the old evidence"
    assert all_files(tmp_path) == [f"{key[:2]}/{key}"]


def test_a_link_planted_in_the_store_is_not_followed(tmp_path: Path) -> None:
    store = FolderStorage(tmp_path / "evidence")
    outside = tmp_path / "secret"
    outside.write_bytes(b"not evidence")
    key = new_key()
    store.path(key).parent.mkdir(parents=True)
    store.path(key).symlink_to(outside)

    with pytest.raises(StorageError):
        store.get(key)
    store.put(key, b"evidence")  # replaces the link itself

    assert outside.read_bytes() == b"not evidence"
    assert not store.path(key).is_symlink()
    assert store.get(key) == b"evidence"


def test_a_store_that_cannot_write_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_bytes(b"")
    with pytest.raises(StorageError, match="could not store"):
        FolderStorage(blocked).put(new_key(), b"x")


# --- S3 --------------------------------------------------------------------------------------


def test_objects_are_kept_under_the_prefix(s3_endpoint: str) -> None:
    prefix = f"tenant/{new_key()}"
    key = new_key()

    S3Storage(s3_url(s3_endpoint, prefix + "/")).put(key, b"evidence")

    listed = s3_client(s3_endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    assert [item["Key"] for item in listed["Contents"]] == [f"{prefix}/{key}"]


def test_an_s3_failure_is_a_storage_error(s3_endpoint: str) -> None:
    no_bucket = S3Storage(s3_url(s3_endpoint, "x", bucket="no-such-bucket"))
    # (`exists` cannot tell: S3 answers a HEAD for a missing bucket as for a missing key.)
    for use, said in (
        (lambda: no_bucket.put(new_key(), b"x"), "could not store .*NoSuchBucket"),
        (lambda: no_bucket.get(new_key()), "could not read .*NoSuchBucket"),
        (lambda: no_bucket.delete(new_key()), "could not delete .*NoSuchBucket"),
    ):
        with pytest.raises(StorageError, match=said):
            use()


def test_an_s3_server_that_does_not_answer_is_a_storage_error(s3_endpoint: str) -> None:
    gone = S3Storage(s3_url(f"http://127.0.0.1:{free_port()}", "x"))
    with pytest.raises(StorageError, match="could not store"):
        gone.put(new_key(), b"x")


@pytest.mark.parametrize(
    "url",
    ["s3://", "s3:///prefix", "s3://bucket/p?endpoint=http://x", "s3://bucket/?acl=public"],
)
def test_a_wrong_s3_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="S3 storage"):
        S3Storage(url)


# --- choosing the store ----------------------------------------------------------------------


def test_no_url_is_the_evidence_folder_in_the_instance_folder(tmp_path: Path) -> None:
    store = storage_for("", str(tmp_path))
    assert isinstance(store, FolderStorage)
    assert store.root == tmp_path / "evidence"


def test_a_file_url_names_the_folder(tmp_path: Path) -> None:
    for url in (tmp_path.as_uri(), f"file://localhost{tmp_path}"):
        store = storage_for(url, "/unused")
        assert isinstance(store, FolderStorage) and store.root == tmp_path
    spaced = storage_for("file:///srv/my%20evidence", "/unused")
    assert isinstance(spaced, FolderStorage) and spaced.root == Path("/srv/my evidence")


def test_an_s3_url_names_the_bucket_and_prefix() -> None:
    store = storage_for("s3://bucket/some/prefix/?region=eu-central-1", "/unused")
    assert isinstance(store, S3Storage)
    assert (store.bucket, store.prefix) == ("bucket", "some/prefix")


@pytest.mark.parametrize(
    "url",
    ["/srv/evidence", "file:relative/path", "file://server/share", "ftp://host/x", "s4://b"],
)
def test_any_other_url_is_refused_clearly(url: str) -> None:
    with pytest.raises(ValueError, match=r"must be empty .* file:///an/absolute/path or s3://"):
        storage_for(url, "/unused")
