"""The incremental ledger: re-value only the months that changed, publish the open month as a
provisional snapshot, and close months as final.

A live store (:mod:`carbon.collect` writes to it as meter gateways push) changes a little at a
time: a new day of readings in the open month, now and then a late reading for an earlier one.
A full rebuild re-values every month of the period; :func:`update` re-values only the months
whose readings or activity rows changed since the previous snapshot and takes every other
month's entries and coverage from that snapshot as published.

Why this gives the entries of a full rebuild, byte for byte
----------------------------------------------------------
Every entry of the ledger belongs to one node and one calendar month (``period_start``), and
the ledger's SQL values each month from that month's readings (and the readings either side of
its boundaries, which belong to the months they fall in). So the entries of a month depend only
on the store's rows that fall in it, plus the closed entries of that month
(:meth:`carbon.ledger.Ledger.close`), and a build of a month range gives, for those months, the
entries a build of the whole period gives. A month is *changed* when a batch that the previous
snapshot did not use, or a batch it used that has since been voided, holds a row in it
(:func:`changed_months`). ``tests/test_incremental.py`` checks the identity after random
sequences of pushes, late readings and voids.

What is not carried: entries of models (interventions, M&V, credits), which a ledger script
adds (:mod:`carbon.pipeline`); a live ledger is the store's inventory alone. Warnings are those
of the months re-valued.

Provisional and final
---------------------
A snapshot whose period reaches into a month not yet closed is ``provisional`` (未结账): its
manifest says so (``status``, ``open_from``) and the wall marks it. :func:`close_month`
publishes a ``final`` snapshot and records the month's entries as closed in the store; later
readings for a closed month become ``adjustment`` entries, never edits. :func:`prune` removes
provisional snapshots beyond a retention (the newest ``keep`` and any younger than
``max_age``); final snapshots are never removed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carbon.errors import CarbonError

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.ledger import Ledger
    from carbon.snapshot import Snapshot
    from carbon.store import Store
    from carbon.twin import Twin

__all__ = [
    "IncrementalError",
    "Update",
    "changed_months",
    "close_month",
    "prune",
    "update",
]

log = logging.getLogger(__name__)

PROVISIONAL = "provisional"
FINAL = "final"


class IncrementalError(CarbonError, ValueError):
    """An incremental update that cannot be made (a previous snapshot of another period, twin
    or factor set)."""


def _month(d: dt.date) -> dt.date:
    return dt.date(d.year, d.month, 1)


def _next(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _as_date(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass
class Update:
    """What :func:`update` did.

    Attributes
    ----------
    snapshot : the snapshot published.
    months : the months re-valued (first days), ascending.
    reused : entries taken from the previous snapshot as published.
    status : ``provisional`` or ``final``.
    ledger : the ledger published: the re-valued months and the reused ones.
    """

    snapshot: Snapshot
    months: list[dt.date]
    reused: int
    status: str
    ledger: Ledger = field(repr=False)


def changed_months(
    store: Store,
    previous: Snapshot | None,
    start: dt.date | str,
    end: dt.date | str,
    timezone: str,
) -> list[dt.date]:
    """The months of ``[start, end)`` whose rows changed since ``previous`` was built.

    A month changed when a current batch the previous snapshot did not use, or a batch it used
    that has been voided since, or the rows a collector's push batch gained since (its SHA-256
    changed: rows numbered past those the snapshot read), holds a reading (by the local month
    of the interval's start and of its last instant) or an activity row in it. Months outside
    the previous snapshot's period are changed by definition; with no previous snapshot every
    month is.

    Parameters
    ----------
    store : the store.
    previous : the previous snapshot of the same store, twin and factor set.
    start, end : the period [local dates, first days of months].
    timezone : the twin's time zone (months are local).

    Returns
    -------
    list of first days of months, ascending.
    """
    start_d, end_d = _as_date(start), _as_date(end)
    months: list[dt.date] = []
    m = start_d
    while m < end_d:
        months.append(m)
        m = _next(m)
    if previous is None:
        return months
    period = previous.manifest["period"]
    p_start, p_end = _as_date(period["start"]), _as_date(period["end"])
    used = [str(i["batch_id"]) for i in previous.manifest.get("inputs", [])]
    con = store.con
    fresh = [
        str(b)
        for (b,) in con.execute(
            "SELECT batch_id FROM batches WHERE voided_at IS NULL "
            "AND NOT list_contains(?, batch_id)",
            [used],
        ).fetchall()
    ]
    voided = [
        str(b)
        for (b,) in con.execute(
            "SELECT batch_id FROM batches WHERE voided_at IS NOT NULL "
            "AND list_contains(?, batch_id)",
            [used],
        ).fetchall()
    ]
    # a push batch of the collector grows: its rows past those the snapshot read are new
    recorded = {
        str(i["batch_id"]): (i.get("sha256"), int((i.get("rows") or {}).get("read") or 0))
        for i in previous.manifest.get("inputs", [])
    }
    grown = [
        (str(b), recorded[str(b)][1])
        for b, sha in con.execute(
            "SELECT batch_id, sha256 FROM batches WHERE voided_at IS NULL "
            "AND list_contains(?, batch_id)",
            [used],
        ).fetchall()
        if str(b) in recorded and recorded[str(b)][0] not in (None, sha)
    ]
    touched: set[dt.date] = set()
    for batch_id, read in grown:
        rows = con.execute(
            "SELECT DISTINCT CAST(date_trunc('month', timezone(?, ts_start)) AS DATE) "
            "FROM readings WHERE batch_id = ? AND row_number > ?",
            [timezone.replace("'", ""), batch_id, read],
        ).fetchall()
        touched |= {r[0] for r in rows if r[0] is not None}
    batches = fresh + voided
    if batches:
        tz = timezone.replace("'", "")
        rows = con.execute(
            "SELECT DISTINCT CAST(date_trunc('month', timezone(?, t)) AS DATE) FROM ("
            "  SELECT ts_start AS t FROM readings WHERE list_contains(?, batch_id)"
            "  UNION ALL SELECT ts_end - INTERVAL 1 MICROSECOND FROM readings"
            "  WHERE list_contains(?, batch_id))",
            [tz, batches, batches],
        ).fetchall()
        touched |= {r[0] for r in rows if r[0] is not None}
        acts = con.execute(
            "SELECT DISTINCT period_start, period_end FROM activities "
            "WHERE list_contains(?, batch_id)",
            [batches],
        ).fetchall()
        for a, b in acts:
            m = _month(a)
            while m < b:
                touched.add(m)
                m = _next(m)
    return [m for m in months if m in touched or m < p_start or m >= p_end]


def _runs(months: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive months as ``[start, end)`` ranges."""
    out: list[tuple[dt.date, dt.date]] = []
    for m in sorted(months):
        if out and out[-1][1] == m:
            out[-1] = (out[-1][0], _next(m))
        else:
            out.append((m, _next(m)))
    return out


def update(
    store: Store,
    twin: Twin,
    factors: FactorSet,
    start: dt.date | str,
    end: dt.date | str,
    out: str | Path,
    *,
    previous: Snapshot | None = None,
    status: str | None = None,
    ne_threshold: float = 0.5,
) -> Update:
    """Re-value the changed months and publish a snapshot of ``[start, end)``.

    Parameters
    ----------
    store, twin, factors : as for :func:`carbon.ledger.build_ledger`.
    start, end : the period [local dates, first days of months].
    out : the snapshots folder (``out/LATEST`` names the new snapshot).
    previous : the snapshot to take unchanged months from (default: none, a full build).
    status : ``provisional`` or ``final``; default ``provisional`` while a month of the
        period is not closed in the store, else ``final``.
    ne_threshold : as for :func:`carbon.ledger.build_ledger`.

    Returns
    -------
    Update

    Raises
    ------
    IncrementalError
        When ``previous`` was built from another twin or factor set.
    """
    from carbon.ledger import Ledger, arrow_to_pandas, build_ledger
    from carbon.snapshot import ENTRY_SCHEMA, entries_table

    start_d, end_d = _as_date(start), _as_date(end)
    if previous is not None:
        m = previous.manifest
        if m.get("twin", {}).get("content_hash") != twin.content_hash:
            raise IncrementalError(f"{previous.id} was built from another twin than {twin.name}")
        if m.get("factor_set", {}).get("content_hash") != factors.content_hash:
            raise IncrementalError(f"{previous.id} was built with another factor set")
    months = changed_months(store, previous, start_d, end_d, twin.site.timezone)
    parts: list[pa.Table] = []
    coverage, warnings = [], []
    for a, b in _runs(months):
        built = build_ledger(store, twin, factors, a, b, ne_threshold=ne_threshold)
        parts.append(entries_table(built.entries))
        coverage.append(built.coverage)
        warnings.extend(built.warnings)
    reused = 0
    if previous is not None:
        # the other months' entries as published, kept in Arrow (no Decimal per value)
        old = previous.entries_arrow()
        month = pc.floor_temporal(old["period_start"], unit="month")
        keep = old.filter(
            pc.and_(
                pc.invert(pc.is_in(month, pa.array(months, pa.date32()))),
                pc.and_(
                    pc.greater_equal(month, pa.scalar(start_d, pa.date32())),
                    pc.less(month, pa.scalar(end_d, pa.date32())),
                ),
            )
        )
        reused = keep.num_rows
        parts.insert(0, keep)
        cov = previous.table("coverage")
        cov_month = pd.to_datetime(cov.month).dt.date
        coverage.insert(
            0, cov[~cov_month.isin(months) & (cov_month >= start_d) & (cov_month < end_d)]
        )
    table = pa.concat_tables(parts) if parts else ENTRY_SCHEMA.empty_table()
    table = table.take(pc.sort_indices(table, [("entry_id", "ascending")]))
    entries = arrow_to_pandas(table)
    cov_all = _concat(coverage)
    if len(cov_all):
        cov_all["month"] = pd.to_datetime(cov_all["month"]).astype("datetime64[us]")
        cov_all = cov_all.sort_values(["meter_id", "month"], kind="stable").reset_index(drop=True)
    used = store.frame("SELECT * FROM batches ORDER BY started_at, batch_id")
    ledger = Ledger(
        entries=entries,
        coverage=cov_all,
        twin=twin,
        factors=factors,
        start=start_d,
        end=end_d,
        batches=used,
        store=store,
        warnings=warnings,
        ne_threshold=ne_threshold,
    )
    closed_end = _closed_end(store)
    if status is None:
        status = FINAL if closed_end is not None and closed_end >= end_d else PROVISIONAL
    if status not in (PROVISIONAL, FINAL):
        raise IncrementalError(f"status must be {PROVISIONAL!r} or {FINAL!r}, not {status!r}")
    meta: dict[str, Any] = {"status": status, "incremental": {"revalued": [str(m) for m in months]}}
    if status == PROVISIONAL:
        meta["open_from"] = str(closed_end if closed_end and closed_end > start_d else start_d)
    snapshot = ledger.publish(out, meta=meta, arrow=table)
    log.info(
        "incremental update %s: %d month(s) re-valued, %d entries reused",
        snapshot.id,
        len(months),
        reused,
    )
    return Update(snapshot, months, reused, status, ledger)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()


def _closed_end(store: Store) -> dt.date | None:
    ((value,),) = store.con.execute("SELECT max(period_end) FROM ledger_entries").fetchall()
    return value


def close_month(
    store: Store,
    twin: Twin,
    factors: FactorSet,
    start: dt.date | str,
    month: dt.date | str,
    out: str | Path,
    *,
    previous: Snapshot | None = None,
    ne_threshold: float = 0.5,
) -> Update:
    """Close ``month`` (and every month before it): publish a ``final`` snapshot of
    ``[start, month's end)`` and record its entries as closed in the store.

    Later readings for a closed month become ``adjustment`` entries (DESIGN decision 5).
    """
    month_d = _month(_as_date(month))
    result = update(
        store,
        twin,
        factors,
        start,
        _next(month_d),
        out,
        previous=previous,
        status=FINAL,
        ne_threshold=ne_threshold,
    )
    result.ledger.close(result.snapshot.id, _next(month_d))
    return result


def prune(
    out: str | Path,
    *,
    keep: int = 24,
    max_age: dt.timedelta = dt.timedelta(days=2),
    now: dt.datetime | None = None,
) -> list[Path]:
    """Remove old provisional snapshots; final ones are never removed.

    Retention rule: a provisional snapshot is kept while it is among the newest ``keep``
    provisional ones, or younger than ``max_age``, or named by ``out/LATEST``.

    Returns
    -------
    list of the removed folders.
    """
    folder = Path(out)
    latest_file = folder / "LATEST"
    latest = latest_file.read_text(encoding="utf-8").strip() if latest_file.exists() else None
    now = now or dt.datetime.now(dt.UTC)
    provisional: list[tuple[float, Path]] = []
    for path in folder.iterdir():
        manifest = path / "manifest.json"
        if not path.is_dir() or not manifest.exists():
            continue
        try:
            status = json.loads(manifest.read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError):
            continue
        if status == PROVISIONAL and path.name != latest:
            provisional.append((manifest.stat().st_mtime, path))
    provisional.sort(reverse=True)
    removed = []
    for rank, (mtime, path) in enumerate(provisional):
        young = now - dt.datetime.fromtimestamp(mtime, dt.UTC) < max_age
        if rank < keep or young:
            continue
        shutil.rmtree(path)
        removed.append(path)
    return removed
