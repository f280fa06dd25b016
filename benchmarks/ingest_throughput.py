"""Benchmark: ingest throughput against the floor, and peak memory on a large export.

Targets (issue 14): ingest with every check (units, duplicates, spikes, stored rows, rejects
with their raw rows) >= 0.6 x the throughput of the *floor* on the 580 k- and 1.7 M-row
files, and a peak resident set <= 1 GB while ingesting a 5 M-row, ~215 MB CSV.

The floor is the least any ingest that lands these rows in the store can do: DuckDB's typed
CSV reader straight into the store's ``readings`` table in one transaction, no check, no row
numbers, the time zone applied as an integer shift. For context the script also times DuckDB's
raw ``read_csv`` into memory (the floor is about half of it: writing the rows costs about as
much as reading them).

Each measurement runs in a fresh process (a new store with the twin, then the timed load),
the kinds alternating, ``--repeat`` times; the script prints medians and ranges of the wall
time, the median CPU time of all threads of the timed section (less sensitive to other jobs
on a shared machine), and the peak RSS of each child (``wait4``). Files are seeded synthetic exports (``carbon.synth``) of
12, 36 and 113 months ending before today, so no row is rejected as in the future.

Run: python benchmarks/ingest_throughput.py [--repeat 5] [--no-large]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import run_child

RAW = r"""
import sys, time, json, duckdb
con = duckdb.connect(":memory:", config={"threads": 2})
t, c = time.perf_counter(), time.process_time()
con.execute(f"CREATE TABLE x AS SELECT * FROM read_csv('{sys.argv[1]}')")
n = con.execute("SELECT count(*) FROM x").fetchall()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "rows": n}))
"""

# A fresh store holding the twin, at sys.argv[2]; each child then times its own load.
STORE = r"""
import sys, time, json, os
import carbon
from carbon.store import Store
for f in (sys.argv[2], sys.argv[2] + ".wal"):
    if os.path.exists(f):
        os.remove(f)
store = Store(sys.argv[2], threads=2)
store.sync_twin(carbon.load_twin("shimen_erlu"))
"""

_TYPES = "{'meter_id': 'VARCHAR', 'timestamp': 'TIMESTAMP', 'kwh': 'DECIMAL(18, 6)'}"
_HOUR, _SHIFT = 3_600_000_000, 8 * 3_600_000_000  # Asia/Shanghai: UTC+8 throughout
FLOOR = STORE + (
    r"""
t, c = time.perf_counter(), time.process_time()
store.con.execute("BEGIN TRANSACTION")
store.con.execute(
    "INSERT INTO readings SELECT meter_id, make_timestamptz(epoch_us(timestamp) - SHIFT), "
    "make_timestamptz(epoch_us(timestamp) - SHIFT + HOUR), kwh, 'measured', 0, 'floor', 0 "
    "FROM read_csv('" + sys.argv[1] + "', header = true, columns = TYPES)"
)
store.con.execute("COMMIT")
n = store.con.execute("SELECT count(*) FROM readings").fetchall()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "rows": n}))
""".replace("SHIFT", str(_SHIFT))
    .replace("HOUR", str(_HOUR))
    .replace("TYPES", _TYPES)
)
"""The floor: DuckDB's typed CSV reader straight into readings, no check, no row numbers."""

INGEST = (
    STORE
    + r"""
t, c = time.perf_counter(), time.process_time()
b = store.ingest(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "rows": b.read, "rejected": b.rejected}))
"""
)

SIZES = {"580k": ("2024-01-01", "2025-01-01"), "1.7M": ("2022-01-01", "2025-01-01")}
LARGE = ("2015-12-01", "2025-05-01")  # 113 months: about 5.4 M rows, 215 MB


def _median(runs: list[dict], key: str = "seconds") -> tuple[float, float, float]:
    seconds = [r[key] for r in runs]
    return statistics.median(seconds), min(seconds), max(seconds)


SYNTH = r"""
import sys, json
import carbon
from carbon.synth import generate
made = generate(carbon.load_twin("shimen_erlu"), sys.argv[1], start=sys.argv[2], end=sys.argv[3],
                seed=1, faults=["duplicate", "spike", "gap"])
print(json.dumps({"path": str(made.files["electricity"])}))
"""


def _synth(folder: Path, start: str, end: str) -> Path:
    """Write the synthetic exports in a child process, so that this process stays small: a
    child's peak RSS counts its parent's at the fork (Linux keeps it across exec)."""
    return Path(run_child(SYNTH, str(folder), start, end)["path"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-large", action="store_true", help="skip the 5 M-row memory run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="carbon-bench-") as tmp:
        db = str(Path(tmp) / "s.duckdb")
        for label, (start, end) in SIZES.items():
            csv = _synth(Path(tmp) / label, start, end)
            raw, floor, ingest = [], [], []
            for _ in range(args.repeat):  # alternating, each in a fresh process
                raw.append(run_child(RAW, str(csv)))
                floor.append(run_child(FLOOR, str(csv), db))
                ingest.append(run_child(INGEST, str(csv), db))
            assert floor[0]["rows"] == ingest[0]["rows"], "the floor lands every row read"
            (r, _, _), (f, f_lo, f_hi), (i, i_lo, i_hi) = map(_median, (raw, floor, ingest))
            rows = ingest[0]["rows"]
            print(
                f"{label}: {rows:,} rows ({csv.stat().st_size / 1e6:.1f} MB), "
                f"{ingest[0]['rejected']} rejected; medians of {args.repeat} (range):"
            )
            print(f"  raw read_csv into memory   {r:.3f} s")
            print(
                f"  floor (typed, no check)    {f:.3f} s ({f_lo:.3f}-{f_hi:.3f}), "
                f"{r / f:.2f} x of read_csv"
            )
            print(
                f"  ingest with every check    {i:.3f} s ({i_lo:.3f}-{i_hi:.3f}), "
                f"{rows / i / 1e6:.2f} M rows/s, peak RSS "
                f"{max(x['peak_rss_mb'] for x in ingest):.0f} MB"
            )
            (fc, _, _), (ic, _, _) = _median(floor, "cpu"), _median(ingest, "cpu")
            print(
                f"  CPU time (all threads)     floor {fc:.3f} s, ingest {ic:.3f} s: "
                f"{fc / ic:.2f} x (less sensitive to other jobs on the machine)"
            )
            print(
                f"  ingest vs the floor        {f / i:.2f} x (target >= 0.6 x); per run "
                + ", ".join(
                    f"{a['seconds'] / b['seconds']:.2f}" for a, b in zip(floor, ingest, strict=True)
                )
            )
        if args.no_large:
            return
        csv = _synth(Path(tmp) / "large", *LARGE)
        big = [run_child(INGEST, str(csv), db) for _ in range(2)]
        floor_big = run_child(FLOOR, str(csv), db)
        print(
            f"large: {big[0]['rows']:,} rows ({csv.stat().st_size / 1e6:.0f} MB), "
            f"{big[0]['rejected']} rejected"
        )
        print(
            "  ingest peak RSS "
            + ", ".join(f"{b['peak_rss_mb']:.0f}" for b in big)
            + f" MB (target <= 1024 MB), {statistics.median(b['seconds'] for b in big):.2f} s; "
            f"the floor {floor_big['peak_rss_mb']:.0f} MB, {floor_big['seconds']:.2f} s"
        )


if __name__ == "__main__":
    main()
