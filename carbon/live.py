"""The live ledger: a running collector publishes provisional snapshots as readings arrive.

:class:`Publisher` watches a :class:`carbon.collect.Collector`'s commits and, at most once
every ``every`` seconds, re-values the changed months of the current year with
:func:`carbon.incremental.update` (a provisional snapshot; ``LATEST`` moves to it, and the wall
picks it up), removes old provisional snapshots with :func:`carbon.incremental.prune`, and
writes ``today.json`` with :func:`carbon.today.publish_today`.

Where it runs, and why
----------------------
DuckDB lets one process write a file; the collector's writer thread holds that connection. The
publisher reads through a second connection to the same database (``con.cursor()``, made in
the writer thread) from its own thread, inside one read transaction per run: DuckDB's MVCC
gives that transaction a consistent view of the store (the readings and the ``batches`` rows of
one moment, so a snapshot's manifest matches its entries) while the writer goes on committing.
Running the update in the writer thread between groups was not chosen: every push would wait
for it (seconds for a large twin), against the 200 ms acknowledgement target
(``benchmarks/RESULTS.md`` gives the measured effect of the publisher on acknowledgement).

Throttle
--------
At most one run at a time; commits that arrive during a run, or within ``every`` seconds of
the last run's start, are coalesced into the next run. ``every`` defaults to
:data:`PUBLISH_EVERY` (10 s). ASSUMPTION, basis: the wall re-reads ``LATEST`` every few
seconds and the issue asks for push-to-wall within 60 s; with an update of the open month
taking a few seconds for 10,000 meters (``benchmarks/RESULTS.md``, incremental), 10 s keeps the
push-to-wall time well under 60 s while spending at most a fraction of a core on publishing.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from carbon.errors import CarbonError

if TYPE_CHECKING:
    from carbon.collect import Collector, Commit
    from carbon.factors import FactorSet
    from carbon.snapshot import Snapshot
    from carbon.store import Store

__all__ = ["PUBLISH_EVERY", "PublishRun", "Publisher", "current_period"]

log = logging.getLogger("carbon.live")

PUBLISH_EVERY = 10.0
"""The least time between two runs of the publisher [s] (ASSUMPTION; see the module's text)."""


def current_period(now: dt.datetime, timezone: str) -> tuple[dt.date, dt.date]:
    """The period a live snapshot covers: the current local year up to the open month.

    Parameters
    ----------
    now : the present [timezone-aware].
    timezone : the community's time zone (IANA name).

    Returns
    -------
    ``(start, end)``: 1 January of the local year, and the first day of the month after the
    local month of ``now`` [local dates].

    Examples
    --------
    >>> import datetime as dt
    >>> current_period(dt.datetime(2024, 12, 31, 17, tzinfo=dt.UTC), "Asia/Shanghai")
    (datetime.date(2025, 1, 1), datetime.date(2025, 2, 1))
    """
    local = now.astimezone(ZoneInfo(timezone)).date()
    end = dt.date(local.year + (local.month == 12), local.month % 12 + 1, 1)
    return dt.date(local.year, 1, 1), end


@dataclass(frozen=True)
class PublishRun:
    """What one run of the publisher did.

    Attributes
    ----------
    seq : the collector's last commit the run saw (``changes.seq``).
    started_at, finished_at : when it ran [UTC].
    snapshot : the id of the snapshot published, None when no month had changed.
    months : the months re-valued.
    pruned : the provisional snapshots removed.
    today : the ``today.json`` written, None when writing it failed (logged).
    """

    seq: int
    started_at: dt.datetime
    finished_at: dt.datetime
    snapshot: str | None
    months: tuple[dt.date, ...]
    pruned: tuple[str, ...]
    today: Path | None


class Publisher:
    """Publish a collector's store as provisional snapshots and ``today.json``, throttled.

    Parameters
    ----------
    collector : the collector (started or not; the publisher starts with it).
    factors : the factor set to value readings with.
    folder : the snapshots folder (``folder/LATEST``, ``folder/today.json``).
    every : the least time between two runs [s] (default :data:`PUBLISH_EVERY`).
    keep, max_age : the retention of provisional snapshots (:func:`carbon.incremental.prune`).

    Examples
    --------
    >>> with Collector("shimen.duckdb", twin, gateways) as c:      # doctest: +SKIP
    ...     with Publisher(c, factors, "snapshots/"):
    ...         c.wait()
    """

    def __init__(
        self,
        collector: Collector,
        factors: FactorSet,
        folder: str | Path,
        *,
        every: float = PUBLISH_EVERY,
        keep: int = 24,
        max_age: dt.timedelta = dt.timedelta(days=2),
    ) -> None:
        if every < 0:
            raise CarbonError(f"--every {every}: the time between runs cannot be negative")
        self.collector = collector
        self.factors = factors
        self.folder = Path(folder).resolve()
        self.every = every
        self.keep = keep
        self.max_age = max_age
        self.runs: list[PublishRun] = []
        """The last 100 runs."""
        self.count = 0
        """Runs that finished."""
        self.errors = 0
        """Runs (or today.json writes) that failed."""
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: Store | None = None
        collector.on_commit(self._on_commit)
        collector.on_stop(self.stop)  # before the collector closes the store

    def __enter__(self) -> Publisher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def last(self) -> PublishRun | None:
        """The last run, None before the first."""
        return self.runs[-1] if self.runs else None

    def start(self) -> None:
        """Open the read connection (in the collector's writer thread) and start publishing.

        The first run comes at once: it catches up with whatever the store holds that the
        newest snapshot does not (readings pushed or dropped while no publisher ran).
        """
        if self.collector.store is None:
            raise CarbonError("start the collector before its publisher")
        self.folder.mkdir(parents=True, exist_ok=True)
        made: Future[Store] = self.collector.in_writer(self._open_reader)
        self._reader = made.result(timeout=60)
        self._dirty.set()
        self._thread = threading.Thread(target=self._loop, name="collector-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the run under way (if any), then stop; the read connection is closed."""
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join(timeout=300)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.con.close()
            self._reader = None

    def _open_reader(self) -> Store:
        store = self.collector.store
        assert store is not None
        reader = copy.copy(store)  # the same Store, with its own connection to the database
        reader.con = store.con.cursor()
        reader.con.execute("SET TimeZone = 'UTC'")
        return reader

    def _on_commit(self, commit: Commit) -> None:
        self._dirty.set()

    def _loop(self) -> None:
        last_start = -float("inf")
        while not self._stop.is_set():
            self._dirty.wait()
            if self._stop.is_set():
                return
            wait = last_start + self.every - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            self._dirty.clear()
            last_start = time.monotonic()
            try:
                self.runs.append(self.run())
                self.count += 1
            except Exception:
                self.errors += 1
                log.exception("publishing %s failed", self.folder)
            del self.runs[:-100]  # the recent runs only

    def run(self) -> PublishRun:
        """Publish once, now, in the calling thread (the loop calls it; tests may too).

        Returns
        -------
        PublishRun
        """
        from carbon.incremental import changed_months, prune, update

        reader = self._reader
        if reader is None:
            raise CarbonError("the publisher is not started")
        started = dt.datetime.now(dt.UTC)
        twin = self.collector.twin
        start, end = current_period(self.collector.clock(), twin.site.timezone)
        previous = self._previous()
        con = reader.con
        con.execute("BEGIN TRANSACTION")  # one consistent view of the store for the whole run
        try:
            ((seq,),) = con.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchall()
            ((batches,),) = con.execute(
                "SELECT count(*) FROM batches WHERE voided_at IS NULL"
            ).fetchall()
            months = changed_months(reader, previous, start, end, twin.site.timezone)
            snapshot_id = None
            if batches == 0:  # an empty store: nothing to publish yet
                months = []
            elif months or previous is None:
                result = update(
                    reader, twin, self.factors, start, end, self.folder, previous=previous
                )
                snapshot_id = result.snapshot.id
            today = self._today(reader)
        finally:
            con.execute("ROLLBACK")  # nothing was written: a read transaction
        pruned = prune(self.folder, keep=self.keep, max_age=self.max_age)
        run = PublishRun(
            int(seq),
            started,
            dt.datetime.now(dt.UTC),
            snapshot_id,
            tuple(months),
            tuple(p.name for p in pruned),
            today,
        )
        log.info(
            "published %s: commit %d, %d month(s) re-valued, %d pruned, %.1f s",
            snapshot_id or "nothing new",
            run.seq,
            len(months),
            len(pruned),
            (run.finished_at - run.started_at).total_seconds(),
        )
        return run

    def _previous(self) -> Snapshot | None:
        """The newest snapshot to build on: ``LATEST``, if it is a live (incremental) one of
        this twin and factor set; otherwise None (a full build of the period)."""
        from carbon.snapshot import SnapshotError, latest_snapshot

        try:
            snap = latest_snapshot(self.folder)
        except (SnapshotError, OSError):
            return None
        m = snap.manifest
        if (
            m.get("status") not in ("provisional", "final")
            or m.get("twin", {}).get("content_hash") != self.collector.twin.content_hash
            or m.get("factor_set", {}).get("content_hash") != self.factors.content_hash
        ):
            log.info("%s is not a live snapshot of this twin and factor set: full build", snap.id)
            return None
        return snap

    def _today(self, reader: Store) -> Path | None:
        """Write ``today.json``; a failure is logged and counted, and leaves the snapshot."""
        from carbon.today import publish_today

        try:
            return publish_today(
                reader, self.collector.twin, self.factors, self.folder, now=self.collector.clock()
            )
        except Exception:
            self.errors += 1
            log.exception("writing %s/today.json failed", self.folder)
            return None
