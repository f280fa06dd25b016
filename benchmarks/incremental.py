"""Benchmark: incremental re-valuation of the open month after one new day vs a full rebuild
of the year (issue 16, target: <= 5 % of the full rebuild, entries identical).

A synthetic city twin (one office per meter, 10 blocks) and a year of hourly readings written
straight into the store, one batch per month as the collector's monthly exports would give
(this measures the ledger, not ingestion), except the last day of the year. A snapshot of that
store is published (untimed); then the last day arrives as a new batch (24 readings per meter,
ingested from a CSV, untimed). Each timing runs in a fresh process and the full rebuild and
the incremental update alternate ``--repeat`` times (the machine is shared and noisy):

- ``full``: :func:`carbon.ledger.build_ledger` over the year, then publish;
- ``incremental``: :func:`carbon.incremental.update` from the previous snapshot (re-values
  December only, reuses the other eleven months' entries, publishes).

The entries of both snapshots are compared byte for byte (``entries.parquet``).

Run: python benchmarks/incremental.py [--meters 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import run_child, write_city_twin

HOURS = 8760  # 2024-01-01 .. 2024-12-30 inclusive (the year without its last day)

MAKE = r"""
import sys, json, datetime as dt
import carbon
from carbon.store import Store
from carbon.ledger import build_ledger
store_path, twin_dir, meters, hours, snaps, day_csv = sys.argv[1:7]
meters, hours = int(meters), int(hours)
twin = carbon.load_twin(twin_dir); factors = carbon.load_factor_set("shanghai-2022")
with Store(store_path, threads=2) as store:
    store.sync_twin(twin)
    store.con.execute(f'''INSERT INTO readings
        SELECT 'M' || (i // {hours}), timezone('Asia/Shanghai', TIMESTAMP '2024-01-01' + to_hours(i % {hours})),
               timezone('Asia/Shanghai', TIMESTAMP '2024-01-01' + to_hours(i % {hours} + 1)),
               CAST(round(random() * 5, 3) AS DECIMAL(18, 6)), 'measured', 0,
               'b_' || substr(sha256('bench-' || month(TIMESTAMP '2024-01-01' + to_hours(i % {hours}))), 1, 16), i
        FROM range({meters} * {hours}) t(i)''')
    store.con.execute('''INSERT INTO batches (batch_id, kind, file_name, source_path, sha256,
        size_bytes, rows_read, rows_accepted, rows_rejected, started_at, finished_at, mapping,
        supersede, carbon_version)
        SELECT batch_id, 'interval', batch_id || '.csv', '/bench/' || batch_id || '.csv',
               sha256(batch_id), 0, count(*), count(*), 0, TIMESTAMPTZ '2025-01-01 00:00:00+00',
               TIMESTAMPTZ '2025-01-01 00:00:00+00', '{}', false, 'bench'
        FROM readings GROUP BY batch_id''')
    snap = build_ledger(store, twin, factors, "2024-01-01", "2025-01-01").publish(snaps)
    with open(day_csv, "w", encoding="utf-8") as fh:
        fh.write("meter_id,timestamp,value,unit\n")
        for m in range(meters):
            for h in range(24):
                fh.write(f"M{m},2024-12-31 {h:02d}:00,{(m * 7 + h) % 50 / 10},kWh\n")
    batch = store.ingest(day_csv, now=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    n = store.con.execute("SELECT count(*) FROM readings").fetchall()[0][0]
print(json.dumps({"rows": n, "previous": str(snap.path), "day_rows": batch.accepted}))
"""

PHASES = r"""
import functools, os, time
# anything the work writes to stdout (a progress bar at this scale) goes to stderr: the last
# stdout line must be the JSON result (restored by RESULT below)
STDOUT = os.dup(1)
os.dup2(2, 1)
import carbon.ledger, carbon.snapshot
PHASE = {}
def timed(owner, name, label):
    f = getattr(owner, name)
    @functools.wraps(f)
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            PHASE[label] = PHASE.get(label, 0.0) + time.perf_counter() - t
    setattr(owner, name, wrapper)
# where the time goes: a few calls each, so the wrappers cost nothing measurable
timed(carbon.ledger, "build_ledger", "build")
timed(carbon.snapshot.Snapshot, "entries_arrow", "read previous entries")
timed(carbon.ledger, "arrow_to_pandas", "entries to pandas")
timed(carbon.ledger.Ledger, "publish", "publish")
timed(carbon.ledger.Ledger, "inventories", "publish: GPC tables and totals")
timed(carbon.snapshot, "write_entries", "publish: entries Parquet + CSV")
timed(carbon.snapshot, "entries_table", "entries to Arrow")
timed(carbon.snapshot, "factor_sensitivity", "publish: scope-2 views")
timed(carbon.snapshot, "shanghai_scope2", "publish: scope-2 views")
timed(carbon.snapshot, "_side_tables", "publish: other side tables")
"""

FULL = PHASES + r"""
import sys, time, json
import carbon
from carbon.ledger import build_ledger
from carbon.store import Store
twin = carbon.load_twin(sys.argv[2]); factors = carbon.load_factor_set("shanghai-2022")
store = Store(sys.argv[1], threads=2, memory_limit="1536MB", read_only=True)
t = time.perf_counter()
ledger = build_ledger(store, twin, factors, "2024-01-01", "2025-01-01")
built = time.perf_counter() - t
snap = ledger.publish(sys.argv[3], latest=False)
result = {"seconds": time.perf_counter() - t, "build_s": built,
          "entries": len(ledger.entries), "path": str(snap.path), "phases": PHASE}
sys.stdout.flush(); os.dup2(STDOUT, 1)
print(json.dumps(result))
"""

INCREMENTAL = PHASES + r"""
import sys, time, json
import carbon
from carbon.incremental import update
from carbon.snapshot import load_snapshot
from carbon.store import Store
twin = carbon.load_twin(sys.argv[2]); factors = carbon.load_factor_set("shanghai-2022")
store = Store(sys.argv[1], threads=2, memory_limit="1536MB", read_only=True)
previous = load_snapshot(sys.argv[4])
t = time.perf_counter()
u = update(store, twin, factors, "2024-01-01", "2025-01-01", sys.argv[3], previous=previous)
result = {"seconds": time.perf_counter() - t, "months": [str(m) for m in u.months],
          "reused": u.reused, "entries": len(u.ledger.entries),
          "path": str(u.snapshot.path), "phases": PHASE}
sys.stdout.flush(); os.dup2(STDOUT, 1)
print(json.dumps(result))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="carbon-bench-") as tmp:
        work = Path(tmp)
        twin = write_city_twin(work / "twin", args.meters)
        store = work / "store.duckdb"
        made = run_child(
            MAKE, str(store), str(twin), str(args.meters), str(HOURS), str(work / "prev"),
            str(work / "day.csv"),
        )
        runs = []
        for i in range(args.repeat):
            full = run_child(FULL, str(store), str(twin), str(work / f"full{i}"))
            inc = run_child(INCREMENTAL, str(store), str(twin), str(work / f"inc{i}"),
                            made["previous"])
            same = (Path(full["path"]) / "entries.parquet").read_bytes() == (
                Path(inc["path"]) / "entries.parquet"
            ).read_bytes()
            runs.append({"full": full, "incremental": inc, "identical": same,
                         "ratio": inc["seconds"] / full["seconds"]})
    runs.sort(key=lambda r: r["ratio"])
    mid = runs[len(runs) // 2]
    print(json.dumps({"made": made, "runs": runs}, indent=1, default=str))
    ratios = [r["ratio"] for r in runs]
    for kind in ("full", "incremental"):
        phases = {k: sorted(r[kind]["phases"].get(k, 0.0) for r in runs)
                  for k in runs[0][kind]["phases"]}
        print(f"{kind}, median seconds by phase: " + "; ".join(
            f"{k} {v[len(v) // 2]:.2f}" for k, v in phases.items()))
    print(
        f"{args.meters:,} meters, {made['rows']:,} hourly readings; one new day "
        f"({made['day_rows']:,} readings): incremental update {mid['incremental']['seconds']:.2f} s "
        f"(re-valued {', '.join(mid['incremental']['months'])}, reused "
        f"{mid['incremental']['reused']:,} entries) vs full rebuild + publish "
        f"{mid['full']['seconds']:.2f} s (build alone {mid['full']['build_s']:.2f} s) -> median "
        f"ratio {mid['ratio']:.3f} over {len(runs)} alternations (range {min(ratios):.3f}-"
        f"{max(ratios):.3f}; target <= 0.05); entries identical in every run: "
        f"{all(r['identical'] for r in runs)}"
    )


if __name__ == "__main__":
    main()
