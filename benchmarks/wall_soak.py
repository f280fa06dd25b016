"""Wall-screen soak: does the server's memory stay flat over many refresh cycles?

Serves a snapshot with ``carbon.dashboard.serve`` (waitress) on 127.0.0.1 and runs
``--cycles`` refresh cycles from ``--clients`` threads. One cycle is what a wall page does
between two carousel steps: the snapshot poll (with the page's current status, as the browser
sends it), a new random selection (node, scope-2 view, map metric, trend split, language) that
re-runs the panels callback and the provenance callback, and every 50th cycle a page load
(``/``, ``/_dash-layout``). The server's RSS is sampled every ``--every`` cycles.

Target (issue 15): after 20,000 cycles the RSS is within 20 MB of the RSS after the first
1,000 (caches may fill during the first thousand; after that nothing may grow).

    python benchmarks/wall_soak.py                          # demo-sized synthetic, 20,000
    python benchmarks/wall_soak.py --sites 1000 --years 3   # the latency benchmark's snapshot
    python benchmarks/wall_soak.py --snapshots demo/snapshots --cycles 5000
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from wall_latency import DATA_CALLBACKS, dependencies, payload, server
from wall_load import rss_mib

from carbon.dashboard.data import load_snapshot
from carbon.dashboard.testing import write_synthetic_snapshot


def _layout_values(url: str) -> dict[str, Any]:
    """The page's status line and screen class as the browser holds them after loading."""
    with urllib.request.urlopen(url + "_dash-layout", timeout=60) as r:
        lay = json.load(r)
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if props.get("id") == "status":
                found["status.children"] = props.get("children")
            if props.get("id") == "screen":
                found["screen.className"] = props.get("className")
            for v in props.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(lay)
    return found


def soak(url: str, deps: dict[str, Any], snapshot_id: str, nodes: list[str], cycles: int,
         clients: int, every: int, pid: int, seed: int) -> list[tuple[int, float, float]]:
    """Run the cycles; (cycles done, RSS [MiB], seconds) at every ``every`` cycles."""
    lock = threading.Lock()
    done = [0]
    samples: list[tuple[int, float, float]] = [(0, rss_mib(pid), 0.0)]
    t0 = time.monotonic()
    errors: list[str] = []
    page = _layout_values(url)

    def post(out_id: str, values: dict[str, Any]) -> None:
        body = payload(deps[out_id], values, "sel.data")
        req = urllib.request.Request(url + "_dash-update-component", body,
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()

    def client(k: int) -> None:
        rng = random.Random(seed + k)
        values = {"snap.data": snapshot_id, "sel.data": nodes[0], "method.value": "location",
                  "metric.value": "emissions", "breakdown.value": "sector", "lang.data": "zh",
                  "prov.data": None, "poll.n_intervals": 0, "url.search": "", **page}
        while True:
            with lock:
                if done[0] >= cycles:
                    return
                done[0] += 1
                n = done[0]
            try:
                values["poll.n_intervals"] = n
                post("snap", values)
                values.update({"sel.data": rng.choice(nodes),
                               "method.value": rng.choice(["location", "market"]),
                               "metric.value": rng.choice(["emissions", "intensity"]),
                               "breakdown.value": rng.choice(["sector", "scope"]),
                               "lang.data": rng.choice(["zh", "en"])})
                for out_id in DATA_CALLBACKS:
                    if out_id not in ("snap", "title"):
                        post(out_id, values)
                if n % 50 == 0:
                    for path in ("", "_dash-layout"):
                        with urllib.request.urlopen(url + path, timeout=60) as r:
                            r.read()
            except OSError as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
            if n % every == 0:
                with lock:
                    samples.append((n, rss_mib(pid), time.monotonic() - t0))
                    print(f"  {n:>6} cycles  RSS {samples[-1][1]:7.1f} MiB  "
                          f"{samples[-1][2]:7.0f} s", flush=True)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        print(f"errors: {len(errors)}; first: {errors[:3]}")
    return sorted(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=20_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--snapshots", type=Path, help="use this snapshots folder instead")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.snapshots
        if folder is None:
            folder = Path(tmp)
            write_synthetic_snapshot(folder, sites=args.sites, years=args.years,
                                     interventions=True,
                                     target={"base_year": 2024, "reduction": 0.2,
                                             "target_year": 2030})
        snap = load_snapshot(folder)
        nodes = sorted(snap.node_ids)
        print(f"soak: {args.cycles:,} cycles, {args.clients} clients, snapshot {snap.id} "
              f"({snap.n_entries:,} entries, {len(nodes):,} nodes)")
        with server(folder, threads=8) as (url, proc):
            deps = dependencies(url)
            samples = soak(url, deps, snap.id, nodes, args.cycles, args.clients, args.every,
                           proc.pid, args.seed)
    base = next((rss for n, rss, _ in samples if n >= min(1000, args.cycles)), samples[0][1])
    end = samples[-1][1]
    peak = max(rss for _, rss, _ in samples)
    print(f"RSS after the first {min(1000, args.cycles):,} cycles {base:.1f} MiB; after "
          f"{samples[-1][0]:,} {end:.1f} MiB ({end - base:+.1f}); peak {peak:.1f} MiB; "
          f"{samples[-1][2]:.0f} s")
    grew = end - base
    print(f"target: within 20 MB (19.1 MiB) of the RSS after 1,000 cycles: "
          f"{'meets' if grew * 1.048576 <= 20 else 'MISSES'} ({grew * 1.048576:+.1f} MB)")


if __name__ == "__main__":
    main()
