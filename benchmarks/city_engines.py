"""Benchmark: one synthetic city's ledger on DuckDB and on Spark local[2], in the same run.

A city of N copies of Shimen Erlu (carbon.synth.generate_city: 66 hourly electricity meters
and 70 monthly registers per copy; one year), ingested into one DuckDB store and exported as
Parquet (carbon.engines.export_inputs). Each engine then builds the same ledger from the same
Parquet files in a fresh process: DuckDB with 2 threads, Spark ``local[2]`` (2 cores). Each
engine builds the whole year once cold (what one CLI run pays), then the first month and the
whole year again warm, so the per-build overhead and the marginal cost per reading can be told
apart. The entries of both engines must be byte-identical (exit status 1 otherwise).

Peak memory is VmHWM from /proc: the Python process, plus the JVM for Spark.

Where the crossover would be (an ESTIMATE; the reasoning is in docs/spark.md): measured here
(40 subdistricts, 23.2 M readings, 2 cores each, 2026-12-04), DuckDB costs about 0.75 s per
build plus 24.5 M readings/s per core, Spark local[2] about 8 s per build (plus 5 s JVM start
and JIT warm-up on the first build) plus 1.6 M readings/s per core, with 5-6x the memory.
A Spark cluster of C cores beats DuckDB on one machine of c cores only when C > 15 c, and then
only above R* = F / (1/(24.5 M c) - 1/(1.6 M C)) readings per build: about 23-45 G readings
for c = 16, C = 512 and a cluster overhead F of 30-60 s. A subdistrict-level Shanghai (about
0.13 G hourly readings a year) is far below it; household smart meters (about 88 G a year)
are above it.

Run: python benchmarks/city_engines.py [--subdistricts 40] [--months 12] [--work DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PEAK = r"""
import os
def _hwm(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
def _children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            out += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        except OSError:
            pass
    return out
def peaks():
    kids = _children(os.getpid())
    return {"python_mb": _hwm(os.getpid()), "children_mb": sum(_hwm(k) for k in kids)}
"""

INGEST = r"""
import sys, time, json
from carbon.engines import export_inputs
from carbon.pipeline import load_config
from carbon.store import Store
from carbon.twin import load_twin
cfg = load_config(sys.argv[1])
store = Store(cfg.resolve(cfg.ledger.store), threads=2)
store.sync_twin(load_twin(cfg.twin_source()))
t = time.perf_counter()
for spec in cfg.input:
    store.ingest(cfg.resolve(spec.file))
ingest = time.perf_counter() - t
t = time.perf_counter()
files = export_inputs(store, sys.argv[2], start=cfg.ledger.start, end=cfg.ledger.end)
export = time.perf_counter() - t
rows = store.con.execute("SELECT count(*) FROM readings").fetchall()[0][0]
store.close()
print(json.dumps({"ingest_s": ingest, "export_s": export, "readings": rows,
                  "parquet_mb": sum(p.stat().st_size for p in files.values()) / 1e6}))
"""

BUILD = (
    PEAK
    + r"""
import sys, time, json, datetime as dt
from pathlib import Path
t0 = time.perf_counter()
from carbon.audit import write_entries
from carbon.factors import load_factor_set
from carbon.ledger import build_ledger
from carbon.pipeline import load_config
from carbon.store import Store
from carbon.twin import load_twin
config, inputs, engine, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
cfg = load_config(config)
twin, factors = load_twin(cfg.twin_source()), load_factor_set(cfg.ledger.profile)
store = Store(cfg.resolve(cfg.ledger.store), threads=2)
given = {"readings": str(inputs / "readings.parquet"),
         "activities": str(inputs / "activities.parquet")}
result = {"engine": engine, "import_s": time.perf_counter() - t0}
if engine == "spark":
    from carbon.engines import spark_session
    t = time.perf_counter()
    spark_session("local[2]")
    result["startup_s"] = time.perf_counter() - t
start, end = cfg.ledger.start, cfg.ledger.end
month = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
# Cold: what one CLI run pays (JIT, first plans); then warm runs for the cost model.
for name, stop in (("cold", end), ("first_month", month), ("whole", end)):
    t = time.perf_counter()
    ledger = build_ledger(store, twin, factors, start, stop, engine=engine, **given)
    result[f"{name}_s"] = time.perf_counter() - t
    result[f"{name}_readings"] = int(ledger.coverage.present.sum())
result["entries"] = len(ledger.entries)
result["total_t"] = sum(ledger.total(year=y) for y in ledger.years())
out.mkdir(parents=True, exist_ok=True)
write_entries(ledger.entries, out)
result.update(peaks())
print(json.dumps(result))
"""
)


def child(code: str, *args: str) -> dict:
    """Run code in a fresh Python; return the JSON on its last stdout line, plus wall time."""
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - t
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subdistricts", type=int, default=40, help="copies of Shimen Erlu")
    ap.add_argument("--months", type=int, default=12, help="months from 2024-01")
    ap.add_argument("--work", type=Path, help="keep the city here (default: a temp folder)")
    args = ap.parse_args()
    from carbon.synth import generate_city

    work = args.work or Path(tempfile.mkdtemp(prefix="carbon-city-"))
    end = dt.date(2024 + args.months // 12, args.months % 12 + 1, 1)
    try:
        t = time.perf_counter()
        city = generate_city(args.subdistricts, work, end=end, electricity="parquet")
        made = time.perf_counter() - t
        print(
            f"city: {args.subdistricts} subdistricts, {city.readings:,} hourly readings, "
            f"generated in {made:.1f} s",
            flush=True,
        )
        ingest = child(INGEST, str(city.config), str(work / "inputs"))
        print(
            f"ingest {ingest['ingest_s']:.1f} s, export {ingest['export_s']:.1f} s "
            f"({ingest['readings']:,} readings, {ingest['parquet_mb']:.0f} MB Parquet)",
            flush=True,
        )
        runs = {}
        for engine in ("duckdb", "spark"):
            runs[engine] = child(
                BUILD,
                str(city.config),
                str(work / "inputs"),
                engine,
                str(work / f"entries-{engine}"),
            )
            print(json.dumps(runs[engine]), flush=True)
        same = all(
            sha256(work / "entries-duckdb" / n) == sha256(work / "entries-spark" / n)
            for n in ("entries.parquet", "entries.csv")
        )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    d, s = runs["duckdb"], runs["spark"]
    rows = d["whole_readings"]
    marginal = {
        e: (r["whole_s"] - r["first_month_s"]) / max(rows - r["first_month_readings"], 1)
        for e, r in runs.items()
    }
    per_core = {e: 1 / (2 * m) if m > 0 else float("inf") for e, m in marginal.items()}
    fixed = {
        e: r["first_month_s"] - marginal[e] * r["first_month_readings"] for e, r in runs.items()
    }
    print(
        f"\nledger build, {rows:,} readings ({args.subdistricts} subdistricts x "
        f"{args.months} months), 2 cores each, same Parquet inputs:"
    )
    for e, r in runs.items():
        mem = r["python_mb"] + r["children_mb"]
        start = f" after a {r['startup_s']:.1f} s JVM start" if "startup_s" in r else ""
        print(
            f"  {e:7s} one-shot {r['cold_s']:7.2f} s{start}; warm {r['whole_s']:.2f} s "
            f"(first month {r['first_month_s']:.2f} s); peak RSS {mem:,.0f} MB (python "
            f"{r['python_mb']:,.0f} + JVM {r['children_mb']:,.0f})"
        )
        rate = f"{per_core[e] / 1e6:.2f}" if marginal[e] > 0 else "n/a (overhead-bound)"
        print(f"          cost model: {fixed[e]:.2f} s per build + {rate} M readings/s per core")
    one_shot = (s["startup_s"] + s["cold_s"]) / d["cold_s"]
    print(
        f"  ratio Spark/DuckDB: {s['whole_s'] / d['whole_s']:.1f} x warm build, {one_shot:.1f} x "
        f"one-shot (with JVM start), {(s['python_mb'] + s['children_mb']) / d['python_mb']:.1f} x "
        "peak memory"
        + (
            f"; per-core marginal rate DuckDB/Spark {per_core['duckdb'] / per_core['spark']:.1f} x"
            if min(marginal.values()) > 0
            else ""
        )
    )
    print(f"  entries identical (entries.parquet and .csv bytes): {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
