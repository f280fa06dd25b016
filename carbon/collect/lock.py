"""The lock file of a running collector, and the client other writers use to reach it."""

from __future__ import annotations

import http.client
import json
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbon.collect.messages import CollectError, batch_from_json
from carbon.ingest import Batch, IngestError

__all__ = ["CollectorInfo", "held_by", "lock_path", "running_collector", "write_lock"]

RUNNING: set[Path] = set()
"""Stores of the collectors running in this process."""


def write_lock(store: Path, info: dict[str, Any]) -> None:
    """Write the lock file of a store's collector atomically, readable by its user only."""
    path = lock_path(store)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    os.replace(tmp, path)


def lock_path(store: str | Path) -> Path:
    """The file a running collector keeps beside its store: ``STORE.collector.json``."""
    path = Path(store).resolve()
    return path.with_name(path.name + ".collector.json")


@dataclass(frozen=True)
class CollectorInfo:
    """A running collector, as its lock file describes it (:func:`running_collector`).

    Attributes
    ----------
    pid : its process id.
    store : its store file.
    url : its HTTP API.
    drop : its drop folder, if any.
    admin_token : the local token for ``/v1/ingest`` and ``/v1/void``.
    started_at : when it started.
    """

    pid: int
    store: str
    url: str
    drop: str | None
    admin_token: str
    started_at: str

    def ingest(
        self,
        files: Sequence[str | Path],
        mapping: str | Path | None = None,
        *,
        sheet: str | None = None,
        supersede: bool = False,
        supersedes: str | None = None,
        reason: str | None = None,
        timeout: float = 3600.0,
    ) -> list[Batch]:
        """Have the collector ingest files (as :meth:`carbon.store.Store.ingest`).

        Raises
        ------
        IngestError
            With the collector's message, when it cannot ingest a file.
        CollectError
            When the collector does not answer.
        """
        body = {
            "files": [str(Path(f).resolve()) for f in files],
            "mapping": str(Path(mapping).resolve()) if mapping else None,
            "sheet": sheet,
            "supersede": supersede,
            "supersedes": supersedes,
            "reason": reason,
        }
        return self._call("/v1/ingest", body, timeout)

    def void(self, batch_id: str, reason: str, *, timeout: float = 600.0) -> Batch:
        """Have the collector void a batch (as :meth:`carbon.store.Store.void`)."""
        return self._call("/v1/void", {"batch_id": batch_id, "reason": reason}, timeout)[0]

    def health(self, timeout: float = 5.0) -> dict[str, Any]:
        """The collector's ``GET /v1/health``."""
        return _request(self.url, "GET", "/v1/health", None, {}, timeout)[1]

    def _call(self, route: str, body: dict[str, Any], timeout: float) -> list[Batch]:
        headers = {
            "Authorization": f"Bearer {self.admin_token}",
            "Content-Type": "application/json",
        }
        status, payload = _request(self.url, "POST", route, body, headers, timeout)
        if status == 422:
            raise IngestError(f"{payload.get('error')} (through the collector, pid {self.pid})")
        if status != 200:
            raise CollectError(f"the collector at {self.url} answered {status}: {payload}")
        return [batch_from_json(b) for b in payload["batches"]]


def _request(
    url: str,
    method: str,
    route: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    timeout: float,
) -> tuple[int, dict[str, Any]]:
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(
            host, int(port), timeout=timeout, context=ssl._create_unverified_context()
        )
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, route, body=data, headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        return response.status, payload
    except (OSError, http.client.HTTPException, json.JSONDecodeError) as exc:
        raise CollectError(f"the collector at {url} does not answer: {exc}") from None
    finally:
        conn.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_collector(store: str | Path) -> CollectorInfo | None:
    """The collector running on a store, or None.

    A lock file whose process is gone (a collector killed with ``kill -9``) is stale: None.
    """
    path = lock_path(store)
    try:
        info = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    pid = int(info.get("pid", 0))
    if pid <= 0 or not _pid_alive(pid):
        return None
    if pid == os.getpid() and Path(store).resolve() not in RUNNING:
        return None  # left by a collector of this process that did not stop cleanly
    return CollectorInfo(
        pid=pid,
        store=str(info.get("store")),
        url=str(info.get("url")),
        drop=info.get("drop"),
        admin_token=str(info.get("admin_token", "")),
        started_at=str(info.get("started_at", "")),
    )


def held_by(store: str | Path) -> str | None:
    """Why a store cannot be opened for writing: the collector holding it, or None.

    Used in the message of a failed open (:class:`carbon.store.Store`).
    """
    info = running_collector(store)
    if info is None:
        return None
    drop = f", or drop them into {info.drop}" if info.drop else ""
    return (
        f"the collector (pid {info.pid}, {info.url}, since {info.started_at}) is its writer: "
        f"carbon ingest hands files to it{drop}; stop it (kill -TERM {info.pid}) to write "
        "otherwise"
    )
