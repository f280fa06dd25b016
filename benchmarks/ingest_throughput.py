"""Benchmark: ingest throughput of a large CSV vs DuckDB's raw ``read_csv`` on the same file.

Issue target: ingest (all validation on: units, duplicates, spikes, stored rows, rejects)
>= 0.7 x the throughput of a bare ``CREATE TABLE AS SELECT * FROM read_csv(...)``, measured in
the same run. All run in fresh processes, alternately, best of ``--repeat``.

Three more baselines show where the time goes: the same ``read_csv`` into a table of a DuckDB
*file* (the store is one); a bare load: the file read as text, cast and inserted into the
store's ``readings`` table in one transaction with no check at all; and the floor: the file
read by DuckDB's typed CSV reader straight into ``readings``, no check, no row numbers, the
time zone applied as an integer shift (the least any ingest that lands these rows in the store
can do). The floor over the in-memory ``read_csv`` bounds the ratio any ingest can reach.

Run: python benchmarks/ingest_throughput.py [--months 12] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import run_child

RAW = r"""
import sys, time, json, os, duckdb
target = sys.argv[2] if len(sys.argv) > 2 else ":memory:"
if target != ":memory:" and os.path.exists(target):
    os.remove(target)
con = duckdb.connect(target, config={"threads": 2})
t = time.perf_counter()
con.execute(f"CREATE TABLE x AS SELECT * FROM read_csv('{sys.argv[1]}')")
n = con.execute("SELECT count(*) FROM x").fetchall()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t, "rows": n}))
"""

# A fresh store holding the twin, at sys.argv[2]; each child then times its own load.
STORE = r"""
import sys, time, json, os
import carbon
from carbon.store import Store
if os.path.exists(sys.argv[2]):
    os.remove(sys.argv[2])
store = Store(sys.argv[2], threads=2)
store.sync_twin(carbon.load_twin("shimen_erlu"))
"""

# One INSERT into the store's readings (sys.argv[3]; '{csv}' stands for the file), in one
# transaction, with no check at all.
LOAD = STORE + r"""
t = time.perf_counter()
store.con.execute("BEGIN TRANSACTION")
store.con.execute(sys.argv[3].replace("{csv}", sys.argv[1]))
store.con.execute("COMMIT")
n = store.con.execute("SELECT count(*) FROM readings").fetchall()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t, "rows": n}))
"""

_LOCAL = "timezone('Asia/Shanghai', CAST(\"timestamp\" AS TIMESTAMP))"
BARE = (
    f"INSERT INTO readings SELECT meter_id, {_LOCAL}, {_LOCAL} + INTERVAL 1 HOUR, "
    "CAST(kwh AS DECIMAL(18, 6)), 'measured', 0, 'bare', 0 "
    "FROM read_csv('{csv}', all_varchar = true)"
)
"""The bare load: the file read as text, cast, local times through ICU."""

_TYPES = "{'meter_id': 'VARCHAR', 'timestamp': 'TIMESTAMP', 'kwh': 'DECIMAL(18, 6)'}"
_HOUR, _SHIFT = 3_600_000_000, 8 * 3_600_000_000  # Asia/Shanghai: UTC+8 throughout 2024
FLOOR = (
    f"INSERT INTO readings SELECT meter_id, make_timestamptz(epoch_us(timestamp) - {_SHIFT}), "
    f"make_timestamptz(epoch_us(timestamp) - {_SHIFT} + {_HOUR}), kwh, 'measured', 0, "
    f"'floor', 0 FROM read_csv('{{csv}}', header = true, columns = {_TYPES})"
)
"""The floor: DuckDB's typed CSV reader straight into readings, no row numbers."""

INGEST = STORE + r"""
t = time.perf_counter()
b = store.ingest(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "rows": b.read, "rejected": b.rejected}))
"""

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import carbon
    from carbon.synth import generate

    with tempfile.TemporaryDirectory(prefix="carbon-bench-") as tmp:
        end = f"{2024 + args.months // 12}-{args.months % 12 + 1:02d}-01"
        synth = generate(carbon.load_twin("shimen_erlu"), Path(tmp) / "x", start="2024-01-01",
                         end=end, seed=1, faults=["duplicate", "spike", "gap"])
        csv = synth.files["electricity"]
        size_mb = csv.stat().st_size / 1e6
        raw, raw_file, bare, floor, ingest = [], [], [], [], []
        db = str(Path(tmp) / "s.duckdb")
        for _ in range(args.repeat):
            raw.append(run_child(RAW, str(csv)))
            raw_file.append(run_child(RAW, str(csv), db))
            bare.append(run_child(LOAD, str(csv), db, BARE))
            floor.append(run_child(LOAD, str(csv), db, FLOOR))
            ingest.append(run_child(INGEST, str(csv), db))
    r, rf, b, f, i = (
        min(x["seconds"] for x in runs) for runs in (raw, raw_file, bare, floor, ingest)
    )
    assert floor[0]["rows"] == bare[0]["rows"], "the floor and the bare load land every row"
    rows = ingest[0]["rows"]
    print(f"{rows:,} rows ({size_mb:.1f} MB CSV), {ingest[0]['rejected']} rejected by ingest; "
          f"best of {args.repeat}:")
    for label, s in (("raw read_csv into memory", r), ("raw read_csv into a DB file", rf),
                     ("bare load into the store", b), ("floor: typed load, no check", f),
                     ("ingest with validation", i)):
        print(f"  {label:28s} {s:.2f} s  ({rows / s / 1e6:.2f} M rows/s)")
    print(f"throughput ratio vs raw read_csv {r / i:.2f} x (target >= 0.7 x); vs read_csv into "
          f"a file {rf / i:.2f} x; vs the bare load {b / i:.2f} x")
    print(f"the floor (no check at all) vs raw read_csv: {r / f:.2f} x: no ingest that stores "
          f"these rows can exceed it; ingest vs the floor {f / i:.2f} x")


if __name__ == "__main__":
    main()
