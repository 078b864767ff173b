"""Fenced plain files from Python: ``client.files`` against ``fenced serve --files-dir``."""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fenced_state import ClaimHeldError, Client, FencedError, InvalidInputError, VersionConflictError
from fenced_state.coordinator import LocalCoordinator

from .conftest import start_coordinator


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalCoordinator, Path]]:
    with tempfile.TemporaryDirectory(prefix="fenced-pytest-files-") as tmp:
        files_dir = Path(tmp) / "shared"
        server = start_coordinator(["--db", str(Path(tmp) / "state.db"), "--files-dir", str(files_dir)])
        try:
            yield server, files_dir
        finally:
            assert server.stop() == 0


@pytest.fixture()
def fc(served: tuple[LocalCoordinator, Path]) -> Iterator[tuple[Client, Path, str]]:
    server, files_dir = served
    with Client(server.url) as client:
        yield client, files_dir, f"py-{uuid.uuid4().hex[:10]}"


def test_write_read_and_a_stale_version_conflict(fc: tuple[Client, Path, str]) -> None:
    client, root, ns = fc
    path = f"{ns}/plan.md"
    first = client.files.write(path, "# plan\n", expect_version=0)
    assert (first.version, first.materialized, first.replayed) == (1, True, False)
    assert (root / path).read_text() == "# plan\n"
    rec = client.files.read(path)
    assert (rec.version, rec.text, rec.encoding, rec.outside_edit) == (1, "# plan\n", "utf8", False)
    with pytest.raises(VersionConflictError) as caught:
        client.files.write(path, "late\n", expect_version=0)
    assert not caught.value.outside_edit
    assert (root / path).read_text() == "# plan\n"


def test_binary_content_round_trips(fc: tuple[Client, Path, str]) -> None:
    client, root, ns = fc
    data = bytes([0, 1, 2, 255, 254])
    client.files.write(f"{ns}/blob.bin", data, expect_version=0)
    assert (root / ns / "blob.bin").read_bytes() == data
    rec = client.files.read(f"{ns}/blob.bin")
    assert rec.encoding == "base64" and rec.data == data


def test_claims_fence_a_zombie_and_refuse_a_second_owner(fc: tuple[Client, Path, str]) -> None:
    client, root, ns = fc
    path = f"{ns}/plan.md"
    client.files.write(path, "v1\n", expect_version=0)
    zombie = client.files.claim(path, "a", 60_000)
    with pytest.raises(ClaimHeldError):
        client.files.claim(path, "b", 60_000)
    taker = client.files.claim(path, "b", 60_000, steal=True)
    with pytest.raises(FencedError) as caught:
        client.files.write(path, "zombie\n", expect_version=1, epoch=zombie.epoch)
    assert caught.value.details["reason"] == "superseded"
    assert client.files.renew(taker).epoch == taker.epoch
    assert client.files.write(path, "by b\n", expect_version=1, epoch=taker.epoch, owner="b").version == 2
    assert client.files.release(taker) is True
    assert (root / path).read_text() == "by b\n"


def test_an_outside_edit_is_a_typed_conflict_and_can_be_adopted_or_discarded(fc: tuple[Client, Path, str]) -> None:
    client, root, ns = fc
    path = f"{ns}/decisions.md"
    client.files.write(path, "v1\n", expect_version=0)
    (root / path).write_text("edited by hand\n")
    with pytest.raises(VersionConflictError) as caught:
        client.files.write(path, "v2\n", expect_version=1)
    assert caught.value.outside_edit and caught.value.details["path"] == path
    assert (root / path).read_text() == "edited by hand\n"
    assert [(s.path, s.state) for s in client.files.status() if s.path == path] == [(path, "outside-edit")]
    assert client.files.adopt(path, expect_version=1).version == 2
    assert client.files.read(path).text == "edited by hand\n"
    (root / path).write_text("again\n")
    assert client.files.discard(path) == 2
    assert (root / path).read_text() == "edited by hand\n"


def test_publish_is_all_or_nothing(fc: tuple[Client, Path, str]) -> None:
    client, root, ns = fc
    client.files.write(f"{ns}/a.md", "a1\n", expect_version=0)
    with pytest.raises(VersionConflictError):
        client.files.publish(
            [
                {"path": f"{ns}/b.md", "content": "b1\n", "expect_version": 0},
                {"path": f"{ns}/a.md", "content": "a2\n", "expect_version": 0},
            ]
        )
    assert not (root / ns / "b.md").exists()
    results = client.files.publish(
        [
            {"path": f"{ns}/b.md", "content": "b1\n", "expect_version": 0},
            {"path": f"{ns}/a.md", "content": b"a2\n", "expect_version": 1},
        ]
    )
    assert [(r.path, r.version) for r in results] == [(f"{ns}/b.md", 1), (f"{ns}/a.md", 2)]
    assert (root / ns / "a.md").read_text() == "a2\n"


def test_a_retried_write_with_the_same_op_id_replays(fc: tuple[Client, Path, str]) -> None:
    client, _, ns = fc
    first = client.files.write(f"{ns}/p.md", "x\n", expect_version=0, op_id=f"{ns}-op")
    again = client.files.write(f"{ns}/p.md", "x\n", expect_version=0, op_id=f"{ns}-op")
    assert (again.version, again.seq, again.replayed) == (first.version, first.seq, True)


def test_bad_paths_are_invalid_input(fc: tuple[Client, Path, str]) -> None:
    client, _, _ = fc
    for bad in ["../escape", "/etc/passwd", "a\x00b", ""]:
        with pytest.raises(InvalidInputError):
            client.files.write(bad, "x", expect_version=0)


def test_concurrent_threads_appending_lose_no_line(fc: tuple[Client, Path, str]) -> None:
    client, root, ns = fc
    path = f"{ns}/log.md"

    def append(name: str) -> None:
        for i in range(5):
            while True:
                rec = client.files.read(path)
                try:
                    client.files.write(path, (rec.text or "") + f"{name}-{i}\n", expect_version=rec.version)
                    break
                except VersionConflictError as err:
                    assert not err.outside_edit

    threads = [threading.Thread(target=append, args=(n,)) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = client.files.read(path)
    assert final.version == 15
    assert sorted((final.text or "").split()) == sorted(f"{n}-{i}" for n in "abc" for i in range(5))
    assert (root / path).read_text() == final.text
