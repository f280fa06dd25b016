"""Tests of carbon.incremental: after any sequence of pushes, late readings, voids and closes,
re-valuing only the changed months gives the entries (and coverage) of a full rebuild of the
same store, byte for byte; provisional and final snapshots; the retention rule.

A one-office twin with an hourly meter (tests/helpers.py) in a real DuckDB store; readings
pushed as CSV batches (the collector commits batches the same way).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
from pathlib import Path

import pytest
from helpers import write_office_twin

from carbon.factors import load_factor_set
from carbon.incremental import changed_months, close_month, prune, update
from carbon.ledger import build_ledger
from carbon.store import Store
from carbon.twin import load_twin

START, END = dt.date(2024, 1, 1), dt.date(2024, 4, 1)
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _push(folder: Path, store: Store, name: str, hours: list[dt.datetime], seed: int) -> str:
    rng = random.Random(seed)
    lines = ["meter_id,timestamp,value,unit"]
    lines += [f"M1,{h:%Y-%m-%d %H:%M},{rng.randint(1, 400) / 10},kWh" for h in hours]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return store.ingest(path, now=NOW).batch_id


def _day(day: dt.date) -> list[dt.datetime]:
    return [dt.datetime(day.year, day.month, day.day, h) for h in range(24)]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _full(store: Store, folder: Path, twin, factors) -> Path:  # type: ignore[no-untyped-def]
    snap = build_ledger(store, twin, factors, START, END).publish(folder, latest=False)
    return snap.path


def _same_as_full(snapshot_path: Path, full_path: Path) -> None:
    for name in ("entries.parquet", "coverage.parquet", "gpc_table.csv"):
        assert _sha(snapshot_path / name) == _sha(full_path / name), name


def test_incremental_updates_equal_a_full_rebuild(tmp_path: Path) -> None:
    twin = load_twin(write_office_twin(tmp_path / "mini"))
    factors = load_factor_set("shanghai-2022")
    store = Store(tmp_path / "store.duckdb")
    store.sync_twin(twin)
    out, full_dir = tmp_path / "snapshots", tmp_path / "full"
    rng = random.Random(7)
    days = [START + dt.timedelta(days=i) for i in range((END - START).days)]

    # 1. the first pushes: January and a few February days; no previous snapshot
    gap = dt.datetime(2024, 1, 15, 3)  # arrives late, after January is closed
    _push(tmp_path, store, "p0.csv", [h for d in days[:31] for h in _day(d) if h != gap], 0)
    first = update(store, twin, factors, START, END, out)
    assert first.status == "provisional" and first.reused == 0
    assert first.snapshot.manifest["status"] == "provisional"
    _same_as_full(first.snapshot.path, _full(store, full_dir, twin, factors))

    # 2. random pushes of whole and partial days; only the months pushed into are re-valued
    previous = first.snapshot
    for k in range(1, 5):
        chosen = rng.sample(days[31:], 3)
        hours = [h for d in chosen for h in _day(d) if rng.random() < 0.8]
        _push(tmp_path, store, f"p{k}.csv", hours, k)
        step = update(store, twin, factors, START, END, out, previous=previous)
        assert step.months == sorted({dt.date(d.year, d.month, 1) for d in chosen})
        assert step.reused > 0
        _same_as_full(step.snapshot.path, _full(store, full_dir, twin, factors))
        previous = step.snapshot

    # 3. close January: a final snapshot; the entries are recorded as closed in the store
    closed = close_month(store, twin, factors, START, dt.date(2024, 1, 1), out, previous=None)
    assert closed.status == "final" and closed.snapshot.manifest["status"] == "final"
    reopened = update(store, twin, factors, START, END, out, previous=previous)
    _same_as_full(reopened.snapshot.path, _full(store, full_dir, twin, factors))

    # 4. a late reading for closed January: an adjustment, never an edit; only January redone
    late = _push(tmp_path, store, "late.csv", [gap], 99)
    step = update(store, twin, factors, START, END, out, previous=reopened.snapshot)
    assert step.months == [dt.date(2024, 1, 1)]
    assert (step.ledger.entries.kind == "adjustment").any()
    _same_as_full(step.snapshot.path, _full(store, full_dir, twin, factors))

    # 5. a void: the months of the voided batch are redone
    store.void(late, "pushed twice by mistake", now=NOW)
    again = update(store, twin, factors, START, END, out, previous=step.snapshot)
    assert again.months == [dt.date(2024, 1, 1)]
    _same_as_full(again.snapshot.path, _full(store, full_dir, twin, factors))
    store.close()


def test_changed_months_without_changes_is_empty(tmp_path: Path) -> None:
    twin = load_twin(write_office_twin(tmp_path / "mini"))
    factors = load_factor_set("shanghai-2022")
    store = Store(tmp_path / "store.duckdb")
    store.sync_twin(twin)
    _push(tmp_path, store, "p.csv", _day(dt.date(2024, 2, 10)), 1)
    first = update(store, twin, factors, START, END, tmp_path / "out")
    assert changed_months(store, first.snapshot, START, END, twin.site.timezone) == []
    # a longer period: the new months are changed by definition
    assert changed_months(
        store, first.snapshot, START, dt.date(2024, 6, 1), twin.site.timezone
    ) == [dt.date(2024, 4, 1), dt.date(2024, 5, 1)]
    store.close()


def _fake(folder: Path, name: str, status: str, age_h: float, now: dt.datetime) -> Path:
    path = folder / name
    path.mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"status": status}), encoding="utf-8")
    t = (now - dt.timedelta(hours=age_h)).timestamp()
    os.utime(path / "manifest.json", (t, t))
    return path


def test_prune_keeps_final_latest_recent_and_the_newest(tmp_path: Path) -> None:
    now = dt.datetime(2025, 1, 10, tzinfo=dt.UTC)
    finals = [_fake(tmp_path, f"f{i}", "final", 1000 + i, now) for i in range(3)]
    old = [_fake(tmp_path, f"p{i}", "provisional", 100 + i, now) for i in range(5)]
    young = _fake(tmp_path, "young", "provisional", 1, now)
    (tmp_path / "LATEST").write_text("p4\n", encoding="utf-8")
    removed = prune(tmp_path, keep=2, max_age=dt.timedelta(days=2), now=now)
    # kept: the finals, LATEST (p4) and the newest two provisional ones (young, p0)
    assert sorted(p.name for p in removed) == ["p1", "p2", "p3"]
    assert all(p.exists() for p in finals) and young.exists() and old[0].exists()
    assert old[4].exists()
    # within max_age nothing goes, whatever keep says
    assert prune(tmp_path, keep=0, max_age=dt.timedelta(days=30), now=now) == []
    with pytest.raises(FileNotFoundError):
        (old[2] / "manifest.json").read_text()
