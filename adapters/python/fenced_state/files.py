"""Fenced plain files over the coordinator (``fenced serve --files-dir DIR``): ``client.files``.

Each file's writes are versioned and fenced like a key's; the coordinator replaces the file on disk atomically after
each commit. An edit made on disk behind the library's back makes the next write raise ``VersionConflictError`` with
``err.outside_edit`` true (``details["path"]`` names the file); ``adopt`` commits the disk bytes, ``discard`` restores
the committed version. See docs/files.md.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Client


@dataclass(frozen=True)
class FileRecord:
    """A file's committed state. ``data`` is its bytes, ``text`` its UTF-8 text; both ``None`` when never written."""

    path: str
    exists: bool
    version: int
    epoch: int
    #: The disk holds bytes that are no committed version: adopt or discard them.
    outside_edit: bool
    content: str | None = None
    encoding: str | None = None
    sha256: str | None = None
    size: int | None = None
    updated_at: int | None = None

    @property
    def data(self) -> bytes | None:
        if self.content is None:
            return None
        return base64.b64decode(self.content) if self.encoding == "base64" else self.content.encode("utf-8")

    @property
    def text(self) -> str | None:
        data = self.data
        return None if data is None else data.decode("utf-8")

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> FileRecord:
        return cls(
            w["path"],
            w["exists"],
            w["version"],
            w["epoch"],
            w["outsideEdit"],
            w.get("content"),
            w.get("encoding"),
            w.get("sha256"),
            w.get("size"),
            w.get("updatedAt"),
        )


@dataclass(frozen=True)
class FileWriteResult:
    path: str
    version: int
    epoch: int
    sha256: str
    seq: int
    #: True when this is the stored result of an earlier write with the same op_id; nothing was applied again.
    replayed: bool
    #: False when the commit landed but the disk could not be updated; the next read or sync retries.
    materialized: bool
    materialize_error: str | None = None

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> FileWriteResult:
        return cls(
            w["path"],
            w["version"],
            w["epoch"],
            w["sha256"],
            w["seq"],
            w["replayed"],
            w["materialized"],
            w.get("materializeError"),
        )


@dataclass(frozen=True)
class FileClaim:
    """A claim on one file; ``epoch`` is the fencing token its writes present."""

    path: str
    owner: str
    epoch: int
    expires_at: int = 0

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> FileClaim:
        return cls(w["path"], w["owner"], w["epoch"], w["expiresAt"])


@dataclass(frozen=True)
class FileStatus:
    """A file's disk state: current, stale, missing, outside-edit or untracked."""

    path: str
    state: str
    version: int
    committed_sha256: str | None = None
    disk_sha256: str | None = None

    @classmethod
    def from_wire(cls, w: Mapping[str, Any]) -> FileStatus:
        return cls(w["path"], w["state"], w["version"], w.get("committedSha256"), w.get("diskSha256"))


def _content(content: str | bytes) -> dict[str, str]:
    if isinstance(content, str):
        return {"content": content, "encoding": "utf8"}
    return {"content": base64.b64encode(content).decode("ascii"), "encoding": "base64"}


def _preconditions(expect_version: int | None, epoch: int | None, owner: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if expect_version is not None:
        out["expectVersion"] = expect_version
    if epoch is not None:
        out["epoch"] = epoch
    if owner is not None:
        out["owner"] = owner
    return out


class Files:
    """The ``/v1/files/*`` routes of one coordinator; reach it as ``client.files``.

    >>> plan = client.files.read("plan.md")
    >>> client.files.write("plan.md", (plan.text or "") + "- step\\n", expect_version=plan.version)
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def read(self, path: str) -> FileRecord:
        """The file's committed content and version; ``outside_edit`` says the disk holds other bytes."""
        return FileRecord.from_wire(self._client.call("files/read", {"path": path}))

    def write(
        self,
        path: str,
        content: str | bytes,
        *,
        expect_version: int | None = None,
        epoch: int | None = None,
        op_id: str | None = None,
        owner: str | None = None,
    ) -> FileWriteResult:
        """Commits ``content`` (``str``: UTF-8 text, ``bytes``: any bytes) as the file's next version.
        ``VersionConflictError`` on a stale ``expect_version`` or an outside edit (``err.outside_edit``),
        ``FencedError`` when ``epoch`` is not the live claim's. With ``expect_version`` an ``op_id`` is made when none
        is given, so a resent request applies at most once."""
        body = {"path": path, **_content(content), **_preconditions(expect_version, epoch, owner)}
        if op_id is not None or expect_version is not None:
            body["opId"] = op_id or uuid.uuid4().hex
        return FileWriteResult.from_wire(self._client.call("files/write", body))

    def publish(
        self, files: Sequence[Mapping[str, Any]], *, op_id: str | None = None, owner: str | None = None
    ) -> list[FileWriteResult]:
        """Commits several files all-or-nothing: each ``{"path", "content", "expect_version"?, "epoch"?}``."""
        entries = [
            {
                "path": f["path"],
                **_content(f["content"]),
                **_preconditions(f.get("expect_version"), f.get("epoch"), None),
            }
            for f in files
        ]
        body: dict[str, Any] = {"files": entries, **_preconditions(None, None, owner)}
        if op_id is not None or all("expectVersion" in e for e in entries):
            body["opId"] = op_id or uuid.uuid4().hex
        return [FileWriteResult.from_wire(r) for r in self._client.call("files/publish", body)["results"]]

    def adopt(
        self, path: str, *, expect_version: int | None = None, epoch: int | None = None, owner: str | None = None
    ) -> FileWriteResult:
        """Commits the bytes now on disk (an outside edit) as the file's next version, fenced like a write."""
        return FileWriteResult.from_wire(
            self._client.call("files/adopt", {"path": path, **_preconditions(expect_version, epoch, owner)})
        )

    def discard(self, path: str) -> int:
        """Restores the committed version on disk (removes a file never committed); returns its version."""
        return int(self._client.call("files/discard", {"path": path})["version"])

    def status(self) -> list[FileStatus]:
        """Every file's disk state against its committed version."""
        return [FileStatus.from_wire(s) for s in self._client.call("files/status", {})["files"]]

    def claim(self, path: str, owner: str, ttl_ms: int = 10_000, *, steal: bool = False) -> FileClaim:
        """Claims the file; ``ClaimHeldError`` unless ``steal``."""
        body: dict[str, Any] = {"path": path, "owner": owner, "ttlMs": ttl_ms}
        if steal:
            body["steal"] = True
        return FileClaim.from_wire(self._client.call("files/claim", body))

    def renew(self, claim: FileClaim, ttl_ms: int = 10_000) -> FileClaim:
        """Extends a live claim; ``FencedError`` if it was superseded, expired or released."""
        return FileClaim.from_wire(
            self._client.call(
                "files/renew", {"path": claim.path, "owner": claim.owner, "epoch": claim.epoch, "ttlMs": ttl_ms}
            )
        )

    def release(self, claim: FileClaim) -> bool:
        """Releases a claim; ``False`` when it was no longer current."""
        return bool(
            self._client.call("files/release", {"path": claim.path, "owner": claim.owner, "epoch": claim.epoch})[
                "released"
            ]
        )
