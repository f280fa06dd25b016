"""Wall-screen load test: 50 concurrent clients for 60 s against ``carbon.dashboard.serve`` on
127.0.0.1, counting errors and watching latency and the server's memory stay bounded.

Each client behaves like a busy wall page: it loads the page (``/``, ``/_dash-layout``,
``/_dash-dependencies``), then loops: the snapshot poll, and with probability
``--change`` a new selection (node, view, metric, language) that re-runs every data callback,
with a random think time in between. The snapshot is synthetic (``--sites`` x ``--years``).

    python benchmarks/wall_load.py                    # 50 clients, 60 s, 1,000 sites x 3 years
    python benchmarks/wall_load.py --clients 10 --seconds 10
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from wall_latency import DATA_CALLBACKS, dependencies, payload, pct, server

from carbon.dashboard.data import load_snapshot
from carbon.dashboard.testing import write_synthetic_snapshot


def rss_mib(pid: int) -> float:
    """Resident memory of a process [MiB] (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def client(url: str, deps: dict, snapshot_id: str, nodes: list[str], until: float,
           change: float, seed: int, lat: list[float], errors: list[str],
           lock: threading.Lock) -> None:
    rng = random.Random(seed)

    def call(req: urllib.request.Request | str) -> None:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
                ok = r.status == 200
        except (urllib.error.URLError, OSError) as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        else:
            why = "" if ok else "status"
        ms = (time.perf_counter() - t0) * 1000
        with lock:
            lat.append(ms)
            if not ok:
                errors.append(why)

    for path in ("", "_dash-layout", "_dash-dependencies"):
        call(url + path)
    values = {"snap.data": snapshot_id, "sel.data": nodes[0], "method.value": "location",
              "metric.value": "emissions", "breakdown.value": "sector", "lang.data": "zh",
              "prov.data": "emissions", "poll.n_intervals": 0, "url.search": ""}
    n = 0
    while time.monotonic() < until:
        n += 1
        values["poll.n_intervals"] = n
        outs = ["snap"]
        if rng.random() < change:
            values.update({"sel.data": rng.choice(nodes),
                           "method.value": rng.choice(["location", "market"]),
                           "metric.value": rng.choice(["emissions", "intensity"]),
                           "lang.data": rng.choice(["zh", "en"])})
            outs = list(DATA_CALLBACKS)
        for out_id in outs:
            body = payload(deps[out_id], values, "sel.data")
            call(urllib.request.Request(url + "_dash-update-component", body,
                                        {"Content-Type": "application/json"}))
        time.sleep(rng.uniform(0.2, 1.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--change", type=float, default=0.3,
                    help="probability that a loop changes the selection")
    ap.add_argument("--threads", type=int, default=16, help="server worker threads")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_synthetic_snapshot(folder, sites=args.sites, years=args.years,
                                 interventions=True)
        snap = load_snapshot(folder)
        nodes = sorted(snap.node_ids)
        with server(folder, threads=args.threads) as (url, proc):
            deps = dependencies(url)
            rss0 = rss_mib(proc.pid)
            lat: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            until = time.monotonic() + args.seconds
            rss_samples = []
            workers = [threading.Thread(target=client, args=(
                url, deps, snap.id, nodes, until, args.change, i, lat, errors, lock))
                for i in range(args.clients)]
            t0 = time.monotonic()
            for w in workers:
                w.start()
            while any(w.is_alive() for w in workers):
                rss_samples.append(rss_mib(proc.pid))
                time.sleep(1.0)
            elapsed = time.monotonic() - t0
            rss1 = rss_mib(proc.pid)
        print(f"{args.clients} clients x {args.seconds:.0f} s against {snap.id} "
              f"({snap.n_entries:,} entries), waitress {args.threads} threads, 127.0.0.1")
        print(f"requests {len(lat):,} ({len(lat) / elapsed:.0f}/s), errors {len(errors)}")
        print(f"latency ms: p50 {pct(lat, .5):.1f}  p95 {pct(lat, .95):.1f}  "
              f"p99 {pct(lat, .99):.1f}  max {max(lat):.1f}  mean {statistics.mean(lat):.1f}")
        print(f"server RSS MiB: start {rss0:.0f}, peak {max(rss_samples):.0f}, end {rss1:.0f}")
        if errors:
            print("first errors:", errors[:5])
        print("zero errors:", "yes" if not errors else "NO")


if __name__ == "__main__":
    main()
