"""Benchmark: rooftop PV for 10,000 roofs, hourly for a year, vectorised vs a naive pvlib loop.

Issue target (issue 4 §5), measured in one run on this machine:
- ``carbon.interventions.simulate_roofs`` for 10,000 roofs of a realistic orientation mix,
  hourly over a typical year: <= 1 s;
- and >= 50 x faster than a naive loop of one pvlib ModelChain (PVWatts) per roof.

The naive loop runs over a subset of the roofs (default 100) and is **extrapolated linearly**
to all roofs (each roof costs the same: one ModelChain over 8,760 hours). The same subset is
compared with the vectorised result, which must agree to 1e-9 relative.

Both sides use the same offline Shanghai weather year (``shanghai_weather()``, built once
before timing). The vectorised time includes the grouping by orientation, the solar position,
transposition, cell temperature, PVWatts DC/AC and the monthly totals of every roof.

Run: python benchmarks/pv_roofs.py [--roofs 10000] [--naive 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

# A realistic mix for central Shanghai (an ASSUMPTION, for the benchmark only): flat office
# and residential roofs carry low-tilt racks facing south or slightly off south; pitched roofs
# of lane houses face the four street directions at 20-30 deg.
_RACKS = [(tilt, az) for tilt in (5, 10, 15, 20, 22, 25, 30) for az in (150, 165, 180, 195, 210)]
_PITCHED = [(tilt, az) for tilt in (20, 30) for az in (90, 180, 270, 0)]


def make_roofs(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` roofs: 80 % racks (35 orientations), 20 % pitched (8); capacities 3-500 kWp."""
    rng = np.random.default_rng(seed)
    racked = rng.random(n) < 0.8
    rack = np.array(_RACKS, dtype=float)[rng.integers(0, len(_RACKS), n)]
    pitch = np.array(_PITCHED, dtype=float)[rng.integers(0, len(_PITCHED), n)]
    orient = np.where(racked[:, None], rack, pitch)
    capacity = np.clip(rng.lognormal(np.log(30.0), 1.0, n), 3.0, 500.0).round(1)
    return pd.DataFrame(
        {
            "roof_id": [f"R{i:05d}" for i in range(n)],
            "capacity_kwp": capacity,
            "tilt_deg": orient[:, 0],
            "azimuth_deg": orient[:, 1],
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roofs", type=int, default=10_000)
    ap.add_argument("--naive", type=int, default=100, help="roofs in the naive loop")
    ap.add_argument("--repeat", type=int, default=3, help="vectorised runs (best is kept)")
    args = ap.parse_args()

    from carbon.interventions.pv import roof_modelchain, shanghai_weather, simulate_roofs

    t0 = time.perf_counter()
    weather = shanghai_weather()
    t_weather = time.perf_counter() - t0
    roofs = make_roofs(args.roofs)
    groups = roofs.groupby(["tilt_deg", "azimuth_deg"]).ngroups

    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        result = simulate_roofs(roofs, weather)
        times.append(time.perf_counter() - t)
    t_vec = min(times)

    subset = roofs.iloc[: args.naive]
    month = weather.data.index.month
    naive = np.empty((len(subset), 12))
    t = time.perf_counter()
    for k, row in enumerate(subset.itertuples(index=False)):
        mc = roof_modelchain(row.tilt_deg, row.azimuth_deg, row.capacity_kwp, weather.location)
        mc.run_model(weather.data)
        naive[k] = mc.results.ac.groupby(month).sum().to_numpy() / 1000.0
    t_naive_subset = time.perf_counter() - t
    t_naive = t_naive_subset / len(subset) * len(roofs)

    # A leaner per-roof loop for context: the same pvlib functions as the vectorised path,
    # called one roof at a time (solar position and transposition redone per roof).
    t = time.perf_counter()
    for k in range(len(subset)):
        simulate_roofs(subset.iloc[k : k + 1], weather)
    t_lean = (time.perf_counter() - t) / len(subset) * len(roofs)

    vec = result.iloc[: args.naive][[f"kwh_m{m:02d}" for m in range(1, 13)]].to_numpy()
    rel = float(np.max(np.abs(vec - naive) / np.maximum(np.abs(naive), 1e-300)))
    ratio = t_naive / t_vec
    print(
        f"weather year (offline climatology, built once): {t_weather:.2f} s; "
        f"{len(weather.data)} hours; annual GHI {weather.annual_ghi_kwh_m2:.0f} kWh/m2"
    )
    print(
        f"{len(roofs):,} roofs in {groups} orientations, "
        f"{roofs.capacity_kwp.sum() / 1000:.1f} MWp, "
        f"{result.annual_kwh.sum() / 1e6:.2f} GWh/yr"
    )
    print(
        f"vectorised simulate_roofs: best {t_vec:.3f} s of {args.repeat} "
        f"({', '.join(f'{x:.3f}' for x in times)}) -> target <= 1 s: "
        f"{'PASS' if t_vec <= 1.0 else 'FAIL'}"
    )
    print(
        f"naive per-roof ModelChain: {t_naive_subset:.2f} s for {len(subset)} roofs, "
        f"extrapolated linearly to {len(roofs):,} roofs = {t_naive:.1f} s"
    )
    print(
        f"ratio naive / vectorised = {ratio:.0f} x -> target >= 50 x: "
        f"{'PASS' if ratio >= 50 else 'FAIL'}"
    )
    print(
        f"context: per-roof pvlib function loop (no ModelChain), extrapolated = "
        f"{t_lean:.1f} s -> {t_lean / t_vec:.0f} x"
    )
    print(
        f"max relative difference on the {len(subset)} compared roofs (monthly kWh): "
        f"{rel:.1e} (must be <= 1e-9: {'PASS' if rel <= 1e-9 else 'FAIL'})"
    )


if __name__ == "__main__":
    main()
