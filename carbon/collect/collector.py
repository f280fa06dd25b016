"""The collector's core: the queue, the writer thread and its group commits, files, voids."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import queue
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from carbon._version import __version__
from carbon.collect.api import start_server
from carbon.collect.drop import DropFolder
from carbon.collect.gateways import Gateway, token_sha256
from carbon.collect.lock import RUNNING, lock_path, running_collector, write_lock
from carbon.collect.messages import (
    CollectError,
    Commit,
    MessageError,
    Reply,
    check_scope,
    iso,
    parse_body,
    push_batch_id,
)
from carbon.collect.mqtt import MqttBridge
from carbon.ingest import (
    Batch,
    RowsMessage,
    RowsOutcome,
    canonical_options,
    ingest_messages,
)
from carbon.store import Store

if TYPE_CHECKING:
    from carbon.twin import Twin

__all__ = ["KEY_WINDOW", "MAX_BODY_BYTES", "MESSAGE_RETENTION", "Collector", "serve"]

log = logging.getLogger("carbon.collect")

KEY_WINDOW = dt.timedelta(hours=24)
"""How long an idempotency key is remembered (a retry later than this is a new message)."""
MESSAGE_RETENTION = dt.timedelta(days=2)
"""How long a row of ``messages`` is kept (ASSUMPTION, basis: replies are replayed from it for
:data:`KEY_WINDOW` plus an hour's margin, so it must be kept at least 25 h; the second day keeps
yesterday's whole trail of each gateway's messages for an operator who looks into a gateway's
complaint the next working day). Older rows are deleted hourly; the readings, their batch rows
(counts, chained SHA-256) and the rejected rows with their raw text stay."""
_PRUNE_EVERY = dt.timedelta(hours=1)
MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest push body taken by default [bytes] (a larger one gets HTTP 413)."""

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


# --------------------------------------------------------------------------- key window
class _KeyWindow:
    """Hashes of the idempotency keys committed in the last :data:`KEY_WINDOW`.

    8 bytes per key: one sorted ``uint64`` array per hour, plus a set for the current hour. A
    hit is confirmed against ``messages`` (a false hit costs one query; a miss none).
    """

    def __init__(self, window: dt.timedelta) -> None:
        self.window = window
        self.hours: dict[int, np.ndarray] = {}
        self.current: tuple[int, set[int]] = (-1, set())

    @staticmethod
    def digest(gateway_id: str, key: str) -> int:
        h = hashlib.blake2b(f"{gateway_id}\n{key}".encode(), digest_size=8).digest()
        return int.from_bytes(h, "little")

    def add(self, at: dt.datetime, digests: Sequence[int]) -> None:
        hour = int(at.timestamp() // 3600)
        if hour != self.current[0]:
            if self.current[1]:
                self._freeze()
            self.current = (hour, set())
            oldest = hour - int(self.window.total_seconds() // 3600) - 1
            for h in [h for h in self.hours if h < oldest]:
                del self.hours[h]
        self.current[1].update(digests)

    def _freeze(self) -> None:
        hour, keys = self.current
        old = self.hours.get(hour)
        merged = np.fromiter(keys, dtype=np.uint64, count=len(keys))
        if old is not None:
            merged = np.concatenate([old, merged])
        self.hours[hour] = np.unique(merged)

    def maybe(self, digest: int) -> bool:
        if digest in self.current[1]:
            return True
        d = np.uint64(digest)
        for keys in self.hours.values():
            i = int(np.searchsorted(keys, d))
            if i < len(keys) and keys[i] == d:
                return True
        return False

    def __len__(self) -> int:
        return len(self.current[1]) + sum(len(k) for k in self.hours.values())


@dataclass
class _Push:
    gateway_id: str
    key: str
    rows: pd.DataFrame
    unit: str | None
    body_sha256: str
    size: int
    channel: str
    received_at: dt.datetime
    future: Future[Reply] = field(default_factory=Future)


@dataclass
class _FileJob:
    action: str  # "ingest" or "void"
    args: dict[str, Any]
    future: Future[list[Batch]] = field(default_factory=Future)


@dataclass
class _Call:
    fn: Callable[[], Any]
    future: Future[Any] = field(default_factory=Future)


@dataclass
class _BatchState:
    batch_id: str
    gateway_id: str
    month: dt.date
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    size_bytes: int = 0
    sha256: str = ""
    started_at: dt.datetime | None = None
    stored: bool = False


# --------------------------------------------------------------------------- the collector
class Collector:
    """The store's single writer: HTTP pushes, MQTT messages and a drop folder.

    Parameters
    ----------
    store : the DuckDB store file (created when missing).
    twin : the community's twin (synced into the store at start).
    gateways : the gateways allowed to push (:func:`load_gateways`); none: pushes are refused.
    host, port : where the HTTP API listens (port 0: any free port; see :attr:`url`).
    drop : the drop folder (created when missing); None: no drop folder.
    mqtt : ``(host, port)`` of an MQTT broker to subscribe to; None: no MQTT.
    mqtt_prefix : the first topic level (``PREFIX/GATEWAY/readings``).
    max_body_bytes : the largest push body taken [bytes].
    max_group : the most messages committed in one transaction.
    max_queue : the most messages waiting; beyond, pushes get HTTP 503 with ``Retry-After``.
    poll_seconds : how often the drop folder is looked at [s].
    reply_timeout : how long a push waits for its commit before HTTP 503 [s].
    key_window : how long idempotency keys are remembered.
    message_retention : how long rows of ``messages`` are kept (at least ``key_window`` + 1 h;
        default :data:`MESSAGE_RETENTION`).
    tls : ``(certfile, keyfile)`` to serve HTTPS.
    memory_limit : DuckDB's memory limit, e.g. ``"1GB"``.
    clock : the present [timezone-aware] (for tests); default: the system clock.

    Examples
    --------
    >>> with Collector("shimen.duckdb", twin, gateways, port=8765) as c:   # doctest: +SKIP
    ...     c.on_commit(lambda commit: print(commit.seq, len(commit.changed)))
    ...     c.wait()
    """

    def __init__(
        self,
        store: str | Path,
        twin: Twin,
        gateways: dict[str, Gateway] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        drop: str | Path | None = None,
        mqtt: tuple[str, int] | None = None,
        mqtt_prefix: str = "carbon",
        max_body_bytes: int = MAX_BODY_BYTES,
        max_group: int = 500,
        max_queue: int = 20_000,
        poll_seconds: float = 1.0,
        reply_timeout: float = 30.0,
        key_window: dt.timedelta = KEY_WINDOW,
        message_retention: dt.timedelta = MESSAGE_RETENTION,
        tls: tuple[str | Path, str | Path] | None = None,
        memory_limit: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if message_retention < key_window + dt.timedelta(hours=1):
            raise CollectError(
                f"message_retention {message_retention} is shorter than the key window "
                f"{key_window} + 1 h: a retry could not get its stored reply"
            )
        self.message_retention = message_retention
        self._pruned_at: dt.datetime | None = None
        self.store_path = Path(store).resolve()
        self.twin = twin
        self.gateways = dict(gateways or {})
        self._by_token = {g.token_sha256: g for g in self.gateways.values()}
        self.host, self.port = host, port
        self.drop = Path(drop).resolve() if drop is not None else None
        self.mqtt = mqtt
        self.mqtt_prefix = mqtt_prefix
        self.max_body_bytes = max_body_bytes
        self.max_group = max_group
        self.poll_seconds = poll_seconds
        self.reply_timeout = reply_timeout
        self.tls = tls
        self.memory_limit = memory_limit
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.admin_token = secrets.token_hex(32)
        self._queue: queue.Queue[_Push | _FileJob | _Call | None] = queue.Queue(maxsize=max_queue)
        self._keys = _KeyWindow(key_window)
        self._batches: dict[tuple[str, dt.date], _BatchState] = {}
        self._callbacks: list[Callable[[Commit], None]] = []
        self._stop_callbacks: list[Callable[[], None]] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._mqtt: MqttBridge | None = None
        self.store: Store | None = None
        self._tz = twin.site.timezone
        self._memory_checked = 0.0
        self.seq = 0
        self.stats: dict[str, Any] = {
            "messages": 0,
            "readings_accepted": 0,
            "rows_rejected": 0,
            "replayed": 0,
            "messages_pruned": 0,
            "files": 0,
            "commits": 0,
            "last_commit_at": None,
            "newest_reading": None,
            "duckdb_memory_mb": None,
        }

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Collector:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The HTTP API's base URL (with the port actually bound)."""
        scheme = "https" if self.tls else "http"
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"{scheme}://{host}:{self.port}"

    def on_commit(self, callback: Callable[[Commit], None]) -> None:
        """Call ``callback(commit)`` after every commit that lands readings.

        Callbacks run in the writer thread, right after the commit and before the next one, so
        they may use :attr:`store` (e.g. to re-value the open month); an exception in one is
        logged and does not stop the collector.
        """
        self._callbacks.append(callback)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` in :meth:`stop`, once the writer has committed what was queued
        and before the store is closed (e.g. to finish a publisher's run that reads it)."""
        self._stop_callbacks.append(callback)

    def start(self) -> None:
        """Open the store, sync the twin and start the writer, HTTP, MQTT and drop folder.

        Raises
        ------
        CollectError
            When another collector holds the store, the store cannot be opened, or the port
            cannot be bound.
        """
        other = running_collector(self.store_path)
        if other is not None:
            raise CollectError(
                f"a collector (pid {other.pid}, {other.url}) already runs on {self.store_path}"
            )
        self.store = Store(self.store_path, memory_limit=self.memory_limit)
        RUNNING.add(self.store_path)
        try:
            self.store.sync_twin(self.twin)
            self._tz = self.store.timezone
            self._load_state()
            self.prune_messages()
            self._record_unrecorded_batches()
            self._server = start_server(self)
        except BaseException:
            self.store.close()
            self.store = None
            RUNNING.discard(self.store_path)
            raise
        self.port = self._server.server_address[1]
        self._spawn(self._server.serve_forever, "collector-http")
        write_lock(
            self.store_path,
            {
                "pid": os.getpid(),
                "store": str(self.store_path),
                "url": self.url,
                "drop": str(self.drop) if self.drop else None,
                "admin_token": self.admin_token,
                "started_at": self.clock().isoformat(),
                "version": __version__,
            },
        )
        self._spawn(self._writer, "collector-writer")
        if self.drop is not None:
            self._spawn(DropFolder(self, self.drop).run, "collector-drop")
        if self.mqtt is not None:
            self._mqtt = MqttBridge(self, *self.mqtt, self.mqtt_prefix)
            self._mqtt.start()
        log.info("collector on %s: %s, drop %s", self.store_path, self.url, self.drop)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` is called (from a signal handler or another thread), or
        ``timeout`` seconds pass; return whether it was called."""
        return self._stopping.wait(timeout)

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping.is_set()

    def stop(self) -> None:
        """Stop taking messages, commit what is queued, close the store and remove the lock."""
        if self._stopped.is_set():
            return
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._mqtt is not None:
            self._mqtt.stop()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=60)
        for callback in self._stop_callbacks:
            try:
                callback()
            except Exception:
                log.exception("on_stop callback %r failed", callback)
        if self.store is not None:
            self.store.close()
        with contextlib.suppress(FileNotFoundError):
            lock_path(self.store_path).unlink()
        RUNNING.discard(self.store_path)
        self._stopped.set()
        log.info("collector on %s stopped", self.store_path)

    # ------------------------------------------------------------------ state at start
    def _load_state(self) -> None:
        assert self.store is not None
        con = self.store.con
        self.seq = int(con.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchall()[0][0])
        since = self.clock() - self._keys.window
        rows = con.execute(
            "SELECT gateway_id, message_key, committed_at FROM messages WHERE committed_at >= ? "
            "ORDER BY committed_at",
            [since],
        ).fetchall()
        for gateway_id, key, at in rows:
            self._keys.add(at, [_KeyWindow.digest(gateway_id, key)])
        newest = con.execute(
            "SELECT max(ts_start) FROM readings WHERE batch_id LIKE 'p\\_%' ESCAPE '\\'"
        ).fetchall()[0][0]
        self.stats["newest_reading"] = newest
        log.info("collector state: commit %d, %d keys in the window", self.seq, len(self._keys))

    def _record_unrecorded_batches(self) -> None:
        """Record in ``changes`` the batches with readings that have no record yet."""
        assert self.store is not None
        con = self.store.con
        missing = [
            r[0]
            for r in con.execute(
                """SELECT batch_id FROM batches WHERE kind <> 'activity'
                   AND batch_id NOT IN (SELECT DISTINCT batch_id FROM changes) ORDER BY 1"""
            ).fetchall()
        ]
        if missing:
            self._record_file_changes(missing)

    # ------------------------------------------------------------------ entry points
    def authenticate(self, token: str | None) -> Gateway:
        """The gateway a token belongs to.

        Raises
        ------
        MessageError
            (401) for a missing or unknown token.
        """
        if not token:
            raise MessageError(401, "no token: send Authorization: Bearer TOKEN")
        gateway = self._by_token.get(token_sha256(token))
        if gateway is None:
            raise MessageError(401, "unknown token")
        return gateway

    def submit(
        self,
        gateway: Gateway,
        key: str | None,
        body: bytes,
        content_type: str,
        *,
        channel: str = "http",
    ) -> Future[Reply]:
        """Queue a pushed message; the future holds its :class:`Reply` once committed.

        Raises
        ------
        MessageError
            When the message is refused whole: a bad key (400), body (400, 415) or scope
            (403), or a full queue (503).
        """
        if not key or not _KEY_PATTERN.match(key):
            raise MessageError(
                400,
                f"bad or missing Idempotency-Key {key!r}: 1 to 128 of A-Z a-z 0-9 . _ : -",
            )
        if len(body) > self.max_body_bytes:
            raise MessageError(413, f"body of {len(body)} bytes over {self.max_body_bytes}")
        rows, unit = parse_body(body, content_type)
        check_scope(gateway, rows)
        job = _Push(
            gateway_id=gateway.id,
            key=key,
            rows=rows,
            unit=unit,
            body_sha256=hashlib.sha256(body).hexdigest(),
            size=len(body),
            channel=channel,
            received_at=self.clock(),
        )
        self._put(job)
        return job.future

    def submit_files(
        self,
        files: Sequence[str | Path],
        mapping: str | Path | None = None,
        *,
        sheet: str | None = None,
        supersede: bool = False,
        supersedes: str | None = None,
        reason: str | None = None,
    ) -> Future[list[Batch]]:
        """Queue files to ingest in the writer thread (as :meth:`carbon.store.Store.ingest`)."""
        job = _FileJob(
            "ingest",
            {
                "files": [str(Path(f).resolve()) for f in files],
                "mapping": str(Path(mapping).resolve()) if mapping else None,
                "sheet": sheet,
                "supersede": supersede,
                "supersedes": supersedes,
                "reason": reason,
            },
        )
        self._put(job, block=True)
        return job.future

    def submit_void(self, batch_id: str, reason: str) -> Future[list[Batch]]:
        """Queue the void of a batch (as :meth:`carbon.store.Store.void`)."""
        job = _FileJob("void", {"batch_id": batch_id, "reason": reason})
        self._put(job, block=True)
        return job.future

    def in_writer(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn()`` in the writer thread, between two commits; the future holds its result.

        For what must use :attr:`store`'s connection, which belongs to the writer thread: e.g.
        making a read connection with ``store.con.cursor()`` for another thread. The collector
        must be started.
        """
        job = _Call(fn)
        self._put(job, block=True)
        return job.future

    def _put(self, job: _Push | _FileJob | _Call, block: bool = False) -> None:
        if self._stopping.is_set():
            raise MessageError(503, "the collector is stopping; send it again later")
        try:
            self._queue.put(job, block=block, timeout=self.reply_timeout if block else None)
        except queue.Full:
            raise MessageError(
                503, f"{self._queue.qsize()} messages wait to be written; send it again later"
            ) from None

    # ------------------------------------------------------------------ the writer thread
    def _writer(self) -> None:
        pending: _Push | _FileJob | _Call | None = None
        closing = False
        while True:
            if pending is not None:
                job: _Push | _FileJob | _Call | None = pending
            elif closing:  # stop() was called: write what is still queued, then end
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    return
            else:
                job = self._queue.get()
            pending = None
            if job is None:
                closing = True
                continue
            if isinstance(job, _FileJob):
                self._run_file_job(job)
                continue
            if isinstance(job, _Call):
                try:
                    job.future.set_result(job.fn())
                except Exception as exc:
                    job.future.set_exception(exc)
                continue
            group = [job]
            while len(group) < self.max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    closing = True
                    continue
                if isinstance(nxt, (_FileJob, _Call)):
                    pending = nxt
                    break
                group.append(nxt)
            self._write_group(group)

    def _write_group(self, jobs: list[_Push]) -> None:
        try:
            replies = self._commit_group(jobs)
        except Exception as exc:
            if len(jobs) > 1:  # find the culprit: each alone
                log.warning(
                    "group of %d messages failed (%s); committing one by one", len(jobs), exc
                )
                for job in jobs:
                    self._write_group([job])
                return
            log.exception("message %s of %s failed", jobs[0].key, jobs[0].gateway_id)
            jobs[0].future.set_exception(
                MessageError(500, f"the collector could not store the message: {exc}")
            )
            return
        for job, reply in zip(jobs, replies, strict=True):
            if isinstance(reply, Exception):
                job.future.set_exception(reply)
            else:
                job.future.set_result(reply)
        now = self.clock()
        if self._pruned_at is None or now - self._pruned_at >= _PRUNE_EVERY:
            try:  # after the replies: housekeeping never delays nor fails a push
                self.prune_messages(now)
            except Exception:
                log.exception("pruning messages failed")

    def _commit_group(self, jobs: list[_Push]) -> list[Reply | Exception]:
        assert self.store is not None
        con = self.store.con
        now = self.clock()
        out: list[Reply | Exception | None] = [None] * len(jobs)
        first_of: dict[tuple[str, str], int] = {}
        fresh: list[int] = []
        for i, job in enumerate(jobs):
            k = (job.gateway_id, job.key)
            if k in first_of:
                continue  # the same message twice in one group: answered after the first
            first_of[k] = i
            if self._keys.maybe(_KeyWindow.digest(*k)):
                stored = self._stored_reply(job.gateway_id, job.key, now)
                if stored is not None:
                    out[i] = _replay(*stored, job)
                    continue
            fresh.append(i)
        commit: Commit | None = None
        if fresh:
            commit, replies = self._land(con, [jobs[i] for i in fresh], now)
            for i, reply in zip(fresh, replies, strict=True):
                out[i] = reply
        for i, job in enumerate(jobs):
            if out[i] is None:
                j = first_of[(job.gateway_id, job.key)]
                first = out[j]
                assert first is not None
                out[i] = (
                    first
                    if isinstance(first, Exception)
                    else _replay(first, jobs[j].body_sha256, job)
                )
        self.stats["replayed"] += sum(1 for r in out if isinstance(r, Reply) and r.replayed)
        if commit is not None:
            self._notify(commit)
        return [r for r in out if r is not None]

    def _stored_reply(
        self, gateway_id: str, key: str, now: dt.datetime
    ) -> tuple[Reply, str] | None:
        """The reply of a committed message and its body's SHA-256, from ``messages`` and
        ``rejects``; None when no message of this gateway and key is in the window."""
        assert self.store is not None
        con = self.store.con
        rows = con.execute(
            """SELECT batch_id, first_row, rows_read, rows_accepted, rows_rejected, reasons,
                      committed_at, body_sha256
               FROM messages WHERE committed_at >= ? AND gateway_id = ? AND message_key = ?""",
            [now - self._keys.window - dt.timedelta(hours=1), gateway_id, key],
        ).fetchall()
        if not rows:
            return None
        batch_id, first, read, accepted, rejected, reasons, at, sha = rows[0]
        rejects = con.execute(
            """SELECT row_number - ? + 1, reason, message FROM rejects
               WHERE batch_id = ? AND row_number BETWEEN ? AND ? ORDER BY row_number""",
            [first, batch_id, first, first + read - 1],
        ).fetchall()
        reply = Reply(
            gateway_id,
            key,
            batch_id,
            int(first),
            int(read),
            int(accepted),
            int(rejected),
            tuple(sorted(json.loads(reasons).items())),
            tuple((int(r), str(c), str(m)) for r, c, m in rejects),
            at,
        )
        return reply, str(sha)

    def _batch(self, gateway_id: str, month: dt.date) -> _BatchState:
        """The open push batch of a gateway and month (read from the store once)."""
        cached = self._batches.get((gateway_id, month))
        if cached is not None:
            return cached
        # A new month: the batches of earlier months are closed to pushes.
        self._batches = {k: v for k, v in self._batches.items() if k[1] >= month}
        assert self.store is not None
        batch_id = push_batch_id(gateway_id, month)
        while True:
            rows = self.store.con.execute(
                "SELECT rows_read, rows_accepted, rows_rejected, size_bytes, sha256, started_at, "
                "voided_at FROM batches WHERE batch_id = ?",
                [batch_id],
            ).fetchall()
            if not rows:
                state = _BatchState(batch_id, gateway_id, month)
                break
            read, accepted, rejected, size, sha, started, voided = rows[0]
            if voided is None:
                state = _BatchState(
                    batch_id,
                    gateway_id,
                    month,
                    int(read),
                    int(accepted),
                    int(rejected),
                    int(size),
                    sha,
                    started,
                    stored=True,
                )
                break
            batch_id = push_batch_id(gateway_id, month, after=batch_id)
        self._batches[(gateway_id, month)] = state
        return state

    def _land(
        self, con: Any, jobs: list[_Push], now: dt.datetime
    ) -> tuple[Commit | None, list[Reply]]:
        """Land new messages in one transaction; return the commit and their replies."""
        store = self.store
        assert store is not None
        tz = ZoneInfo(self._tz)
        month = now.astimezone(tz).date().replace(day=1)
        states: dict[str, _BatchState] = {}
        messages = []
        for job in jobs:
            base = self._batch(job.gateway_id, month)
            state = states.setdefault(base.batch_id, dataclasses.replace(base))
            first = state.rows_read + 1
            state.rows_read += len(job.rows)
            messages.append(RowsMessage(job.rows, state.batch_id, first, job.unit))
        con.execute("BEGIN TRANSACTION")
        try:
            outcomes = ingest_messages(store, messages, now=now)
            committed_at = self.clock()
            for job, msg, outcome in zip(jobs, messages, outcomes, strict=True):
                state = states[msg.batch_id]
                state.rows_accepted += outcome.accepted
                state.rows_rejected += outcome.rejected
                state.size_bytes += job.size
                state.sha256 = hashlib.sha256(
                    f"{state.sha256}\n{job.gateway_id}\n{job.key}\n{job.body_sha256}".encode()
                ).hexdigest()
                if state.started_at is None:
                    state.started_at = job.received_at
            _insert(
                con,
                "messages",
                [
                    (
                        job.gateway_id,
                        job.key,
                        job.body_sha256,
                        job.channel,
                        msg.batch_id,
                        msg.first_row,
                        o.read,
                        o.accepted,
                        o.rejected,
                        json.dumps(dict(o.reasons), sort_keys=True),
                        job.received_at,
                        committed_at,
                    )
                    for job, msg, o in zip(jobs, messages, outcomes, strict=True)
                ],
                _MESSAGE_COLUMNS,
            )
            self._save_batches(con, list(states.values()), committed_at)
            changed = _merge_changes(messages, outcomes)
            seq = self.seq + 1 if changed else self.seq
            _insert(
                con,
                "changes",
                [(seq, b, m, mo, n, committed_at) for b, m, mo, n in changed],
                _CHANGE_COLUMNS,
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        # Committed: only now does the in-memory state move on (nothing below may raise and
        # send the messages to be written again).
        self.seq = seq
        for state in states.values():
            state.stored = True
            self._batches[(state.gateway_id, state.month)] = state
        self._keys.add(committed_at, [_KeyWindow.digest(j.gateway_id, j.key) for j in jobs])
        newest = max((o.newest for o in outcomes if o.newest is not None), default=None)
        self._count(len(jobs), outcomes, committed_at, newest)
        replies = [
            Reply(
                job.gateway_id,
                job.key,
                msg.batch_id,
                msg.first_row,
                o.read,
                o.accepted,
                o.rejected,
                o.reasons,
                o.rejects,
                committed_at,
            )
            for job, msg, o in zip(jobs, messages, outcomes, strict=True)
        ]
        if not changed:
            return None, replies
        commit = Commit(seq, committed_at, tuple(sorted(states)), tuple(changed), len(jobs), newest)
        return commit, replies

    def _save_batches(self, con: Any, states: list[_BatchState], at: dt.datetime) -> None:
        """Write the push batches' rows: one UPDATE for those stored, an INSERT for new ones."""
        stored = [s for s in states if s.stored]
        if stored:
            con.execute(
                "UPDATE batches b SET sha256 = u.sha, size_bytes = u.size, rows_read = u.r, "
                "rows_accepted = u.a, rows_rejected = u.j, finished_at = ? "
                "FROM (VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(stored)) + ") "
                "u(id, sha, size, r, a, j) WHERE b.batch_id = u.id",
                [at]
                + [
                    v
                    for s in stored
                    for v in (
                        s.batch_id,
                        s.sha256,
                        s.size_bytes,
                        s.rows_read,
                        s.rows_accepted,
                        s.rows_rejected,
                    )
                ],
            )
        tz = self._tz
        rows = []
        for s in states:
            if s.stored:
                continue
            record = {
                "source": "push",
                "gateway": s.gateway_id,
                "month": s.month.isoformat(),
                "kind": "interval",
                "timezone": tz,
                "rules": "carbon.ingest.ingest_messages",
            }
            options, options_sha = canonical_options(record, False)
            rows.append(
                (
                    s.batch_id,
                    "interval",
                    f"push {s.gateway_id} {s.month:%Y-%m}",
                    f"collect://{s.gateway_id}/{s.month:%Y-%m}",
                    s.sha256,
                    s.size_bytes,
                    s.rows_read,
                    s.rows_accepted,
                    s.rows_rejected,
                    s.started_at or at,
                    at,
                    json.dumps(record, sort_keys=True, ensure_ascii=False),
                    False,
                    __version__,
                    options,
                    options_sha,
                )
            )
        _insert(con, "batches", rows, _PUSH_BATCH_COLUMNS)

    def _count(
        self,
        messages: int,
        outcomes: Sequence[RowsOutcome],
        at: dt.datetime,
        newest: dt.datetime | None,
    ) -> None:
        s = self.stats
        s["messages"] += messages
        s["readings_accepted"] += sum(o.accepted for o in outcomes)
        s["rows_rejected"] += sum(o.rejected for o in outcomes)
        s["commits"] += 1
        s["last_commit_at"] = at
        if newest is not None and (s["newest_reading"] is None or newest > s["newest_reading"]):
            s["newest_reading"] = newest
        tick = time.monotonic()
        if tick - self._memory_checked >= 10 and self.store is not None:
            # DuckDB's own account of its memory (buffer pool, temp tables), every 10 s.
            self._memory_checked = tick
            with contextlib.suppress(Exception):  # after a commit: a figure, never a failure
                used = self.store.con.execute(
                    "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"
                ).fetchall()[0][0]
                s["duckdb_memory_mb"] = round(int(used) / 2**20, 1)

    def prune_messages(self, now: dt.datetime | None = None) -> int:
        """Delete the rows of ``messages`` committed before ``now - message_retention``.

        Runs at start and then at most hourly after a commit, in the writer thread (call it
        there, e.g. through :meth:`in_writer`). Returns the number of rows deleted.
        """
        assert self.store is not None
        now = now or self.clock()
        cutoff = now - self.message_retention
        ((n,),) = self.store.con.execute(
            "DELETE FROM messages WHERE committed_at < ?", [cutoff]
        ).fetchall()
        self._pruned_at = now
        self.stats["messages_pruned"] += int(n)
        if n:
            log.info("pruned %d messages committed before %s", n, iso(cutoff))
        return int(n)

    def _notify(self, commit: Commit) -> None:
        for callback in self._callbacks:
            try:
                callback(commit)
            except Exception:
                log.exception("on_commit callback %r failed for commit %d", callback, commit.seq)

    # ------------------------------------------------------------------ files and voids
    def _run_file_job(self, job: _FileJob) -> None:
        assert self.store is not None
        try:
            if job.action == "void":
                batch = self.store.void(job.args["batch_id"], job.args["reason"])
                self._forget_batches([batch.batch_id])
                self._record_file_changes([batch.batch_id])
                job.future.set_result([batch])
                return
            a = job.args
            batches: list[Batch] = []
            for f in a["files"]:
                kwargs: dict[str, Any] = {
                    "supersede": a["supersede"],
                    "supersedes": a["supersedes"],
                    "reason": a["reason"],
                    "now": self.clock(),
                }
                if a["sheet"] is not None:
                    kwargs["sheet"] = a["sheet"]
                got = self.store.ingest(f, a["mapping"], **kwargs)
                batches.extend(got if isinstance(got, list) else [got])
            landed = [b.batch_id for b in batches if not b.skipped]
            voided = [b.supersedes for b in batches if b.supersedes and not b.skipped]
            self._forget_batches([v for v in voided if v])
            landed += [v for v in voided if v]
            self._record_file_changes(landed)
            self.stats["files"] += len(a["files"])
            job.future.set_result(batches)
        except Exception as exc:
            job.future.set_exception(exc)

    def _forget_batches(self, batch_ids: Sequence[str]) -> None:
        """Drop voided push batches from the cache: the next push opens a new batch."""
        gone = set(batch_ids)
        self._batches = {k: v for k, v in self._batches.items() if v.batch_id not in gone}

    def _record_file_changes(self, batch_ids: Sequence[str]) -> None:
        """Record a commit of file batches (or voids) in ``changes`` and tell the callbacks.

        The readings of a voided batch count too: its months need re-valuing.
        """
        assert self.store is not None
        if not batch_ids:
            return
        con = self.store.con
        tzq = self._tz.replace("'", "")
        changed = [
            (str(b), str(m), d, int(n))
            for b, m, d, n in con.execute(
                f"""SELECT batch_id, meter_id,
                           CAST(date_trunc('month', timezone('{tzq}', ts_start)) AS DATE),
                           count(*)
                    FROM readings WHERE batch_id IN (SELECT unnest(?)) GROUP BY ALL
                    ORDER BY 1, 2, 3""",
                [list(batch_ids)],
            ).fetchall()
        ]
        if not changed:
            return
        at = self.clock()
        seq = self.seq + 1
        con.execute("BEGIN TRANSACTION")
        try:
            _insert(
                con, "changes", [(seq, b, m, d, n, at) for b, m, d, n in changed], _CHANGE_COLUMNS
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.seq = seq
        newest = con.execute(
            "SELECT max(ts_start) FROM readings WHERE batch_id IN (SELECT unnest(?))",
            [list(batch_ids)],
        ).fetchall()[0][0]
        self._notify(Commit(seq, at, tuple(sorted(set(batch_ids))), tuple(changed), 0, newest))

    def health(self) -> dict[str, Any]:
        """What ``GET /v1/health`` answers: counts, the newest reading, the queue."""
        s = self.stats
        return {
            "status": "stopping" if self._stopping.is_set() else "ok",
            "store": str(self.store_path),
            "twin": self.twin.name,
            "pid": os.getpid(),
            "version": __version__,
            "seq": self.seq,
            "queue": self._queue.qsize(),
            "messages": s["messages"],
            "readings_accepted": s["readings_accepted"],
            "rows_rejected": s["rows_rejected"],
            "replayed": s["replayed"],
            "files": s["files"],
            "commits": s["commits"],
            "keys_remembered": len(self._keys),
            "last_commit_at": iso(s["last_commit_at"]),
            "newest_reading": iso(s["newest_reading"]),
            "mqtt_connected": self._mqtt.is_connected() if self._mqtt else None,
            "duckdb_memory_mb": s["duckdb_memory_mb"],
        }


def _replay(stored: Reply, body_sha256: str, job: _Push) -> Reply | Exception:
    """The reply to a message sent again: the stored one, or 409 when the body differs."""
    if body_sha256 != job.body_sha256:
        return MessageError(
            409,
            f"Idempotency-Key {job.key!r} was used for another message of gateway "
            f"{job.gateway_id} (committed {iso(stored.committed_at)}); use a new key",
        )
    return dataclasses.replace(stored, replayed=True)


_PUSH_BATCH_COLUMNS = (
    "batch_id, kind, file_name, source_path, sha256, size_bytes, rows_read, rows_accepted, "
    "rows_rejected, started_at, finished_at, mapping, supersede, carbon_version, options, "
    "options_sha256"
)
"""The columns of ``batches`` a push batch fills (no request, supersede or void fields)."""


_MESSAGE_COLUMNS = (
    "gateway_id, message_key, body_sha256, channel, batch_id, first_row, rows_read, "
    "rows_accepted, rows_rejected, reasons, received_at, committed_at"
)
_CHANGE_COLUMNS = "seq, batch_id, meter_id, month, readings, committed_at"


def _insert(con: Any, table: str, rows: Sequence[tuple[Any, ...]], columns: str) -> None:
    """Insert rows through an Arrow table: one statement (DuckDB's executemany runs one INSERT
    per row, 0.2 to 2 ms each; a VALUES list binds every value, 13 ms for 100 rows of changes
    against 4 ms this way)."""
    if not rows:
        return
    names = [c.strip() for c in columns.split(",")]
    table_in = pa.table({n: list(v) for n, v in zip(names, zip(*rows, strict=True), strict=True)})
    con.register("_collect_in", table_in)
    try:
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _collect_in")
    finally:
        con.unregister("_collect_in")


def _merge_changes(
    messages: Sequence[RowsMessage], outcomes: Sequence[RowsOutcome]
) -> list[tuple[str, str, dt.date, int]]:
    total: dict[tuple[str, str, dt.date], int] = {}
    for msg, outcome in zip(messages, outcomes, strict=True):
        for meter, month, n in outcome.changed:
            k = (msg.batch_id, meter, month)
            total[k] = total.get(k, 0) + n
    return [(b, m, d, n) for (b, m, d), n in sorted(total.items())]


@contextlib.contextmanager
def _signals(collector: Collector) -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        threading.Thread(target=collector.stop, daemon=True).start()

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def serve(collector: Collector, started: Callable[[Collector], None] | None = None) -> None:
    """Run a collector until SIGTERM or SIGINT, then stop it cleanly (the CLI's loop).

    Parameters
    ----------
    collector : the collector, not started.
    started : called once it listens (its :attr:`Collector.url` then has the bound port).
    """
    with _signals(collector):
        collector.start()
        try:
            if started is not None:
                started(collector)
            collector.wait()
        finally:
            collector.stop()
