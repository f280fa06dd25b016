"""Today so far against the usual day, the Python way (carbon.today; docs/today.md).

Reads a store (the demo's, read-only), computes today's use and emissions by block against the
same weekday's usual profile, lists the silent meters and writes ``today.json`` where the wall
looks for it:

    carbon demo --out demo --no-serve                 # builds demo/shimen_erlu.duckdb
    python examples/today.py demo/shimen_erlu.duckdb  # the last day of the data
    python examples/today.py demo/shimen_erlu.duckdb --now 2024-06-04T10:30 --out demo/snapshots
"""

from __future__ import annotations

import argparse
from pathlib import Path

import carbon
from carbon.store import Store
from carbon.today import compute_today


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="a carbon store (DuckDB file)")
    parser.add_argument("--now", help="ISO time up to which today runs (default: newest reading)")
    parser.add_argument("--out", type=Path, help="write today.json into this folder")
    args = parser.parse_args()

    twin = carbon.load_twin("shimen_erlu")
    factors = carbon.load_factor_set("shanghai-2022")
    with Store(args.store, read_only=True) as store:  # a collector may be writing: read only
        today = compute_today(store, twin, factors, args.now)

    print(
        f"{today.twin}: today {today.day} up to {today.as_of:%H:%M}"
        f"{' (historical)' if today.historical else ''}"
        f"{' (SYNTHETIC data)' if today.synthetic else ''}"
    )
    columns = [
        "node_id",
        "energy_kwh",
        "usual_energy_kwh",
        "co2e_kg",
        "usual_co2e_kg",
        "usual_min_co2e_kg",
        "usual_max_co2e_kg",
        "share_of_usual",
    ]
    print(today.nodes[columns].to_string(index=False))
    curve = today.node_curve(today.root)  # cumulative, every 15 minutes of the day
    print(curve.iloc[::16][["minutes", "co2e_kg", "usual_co2e_kg"]].to_string(index=False))
    print(f"silent meters: {len(today.silent)}; newest reading: {today.newest_reading}")
    if args.out:
        print("wrote", today.write(args.out))  # atomically: the wall never sees half a file


if __name__ == "__main__":
    main()
