"""Benchmark: ingest throughput of a large CSV vs DuckDB's raw ``read_csv`` on the same file.

Issue target: ingest (all validation on: units, duplicates, spikes, stored rows, rejects)
>= 0.7 x the throughput of a bare ``CREATE TABLE AS SELECT * FROM read_csv(...)``, measured in
the same run. Both run in fresh processes, alternately, best of ``--repeat``.

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
import sys, time, json, duckdb
con = duckdb.connect(config={"threads": 2})
t = time.perf_counter()
con.execute(f"CREATE TABLE x AS SELECT * FROM read_csv('{sys.argv[1]}')")
n = con.execute("SELECT count(*) FROM x").fetchall()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t, "rows": n}))
"""

INGEST = r"""
import sys, time, json, os
import carbon
from carbon.store import Store
if os.path.exists(sys.argv[2]):
    os.remove(sys.argv[2])
store = Store(sys.argv[2], threads=2)
store.sync_twin(carbon.load_twin("shimen_erlu"))
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
        raw, ingest = [], []
        for _ in range(args.repeat):
            raw.append(run_child(RAW, str(csv)))
            ingest.append(run_child(INGEST, str(csv), str(Path(tmp) / "s.duckdb")))
    r = min(x["seconds"] for x in raw)
    i = min(x["seconds"] for x in ingest)
    rows = ingest[0]["rows"]
    print(f"{rows:,} rows ({size_mb:.1f} MB CSV): raw read_csv {r:.2f} s "
          f"({rows / r / 1e6:.2f} M rows/s), ingest with validation {i:.2f} s "
          f"({rows / i / 1e6:.2f} M rows/s) -> throughput ratio {r / i:.2f} x (target >= 0.7 x)")


if __name__ == "__main__":
    main()
