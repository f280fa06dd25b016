"""The collector under load: push-to-acknowledge latency, lost or duplicated readings, RSS.

A real ``carbon.collect.Collector`` runs in its own process on a fresh store with a synthetic
twin of ``--meters`` 15-minute electricity meters (10,000), grouped into gateways of
``--per-gateway`` meters (10: 1,000 gateways, one token each). A load generator in this process
sends each gateway's message (one reading per meter for the next 15-minute interval) on an
open-loop schedule: ``--rate`` pushes per second (11.1: every gateway once per 90 s), then a
burst of ``--burst-factor`` times the rate (10 ×) for ``--burst`` seconds, then the rate again.
A push is timed from the moment it was due to its reply (so queueing in the client counts),
and also from the moment it was sent.

Time is compressed: 11.1 pushes/s of 10 readings is 111 readings/s, ten times what 10,000
meters read every 15 minutes (11.1/s); each gateway's next interval comes every 90 s.

Baselines measured in the same run:

* **HTTP floor**: ``GET /v1/health`` round trips to the same server (no store work);
* **writer floor**: one message of 10 readings checked and committed in-process
  (``carbon.ingest.ingest_messages`` + ``COMMIT`` on a store of the same twin), one at a time:
  what a push would cost with no HTTP and no queue;
* **no group commit**: the same load against a collector with ``max_group=1`` (one transaction
  per message), to show what committing the queued messages together buys.

* **publish** (``--modes group,publish``): the same load against a collector with the live
  publisher (``carbon.live.Publisher``, ``--every`` seconds), compared with ``group`` in the
  same run; and push-to-wall: per acknowledged push, the time from when it was due to the first
  poll (every 0.2 s, as the wall) of ``LATEST``'s manifest whose push batch has read the push's
  last row, and of ``today.json`` whose ``newest_reading`` reaches the end of its interval
  (target: p95 <= 60 s). The pushed intervals end before now (``BASE`` is set from the clock).

After the run the store is checked: every acknowledged reading is there once, nothing else;
the collector's RSS is sampled every second (psutil) for the soak figure. Targets (issue 16):
p95 push-to-acknowledge <= 200 ms; zero lost or duplicated readings; RSS flat (± 50 MB) over a
one-hour soak (``--soak 3600``; shorter runs extrapolate the measured slope, and say so).

    python benchmarks/collect.py                          # 60 s + 10 s burst + 30 s, both modes
    python benchmarks/collect.py --soak 600 --modes group # a 10-minute soak at 11.1 pushes/s
    python benchmarks/collect.py --modes group,publish    # the publisher's cost, push-to-wall
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import datetime as dt
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""The first interval pushed; main() moves it to a quarter-hour before now (readings must be in
the past, and in the current year and day for the live snapshot and today.json)."""

CHILD = """
import sys
from carbon.collect import Collector, load_gateways, serve
from carbon.twin import load_twin
store, twin, gateways, port, group, publish, every = sys.argv[1:8]
c = Collector(store, load_twin(twin), load_gateways(gateways), port=int(port),
              max_group=int(group))
publisher = None
if publish:
    from carbon.factors import load_factor_set
    from carbon.live import Publisher
    publisher = Publisher(c, load_factor_set("shanghai-2022"), publish, every=float(every))

def started(c):
    if publisher is not None:
        publisher.start()
    print("ready", flush=True)

serve(c, started)
if publisher is not None:
    runs = [(r.finished_at - r.started_at).total_seconds() for r in publisher.runs]
    print("publisher", publisher.count, publisher.errors, *runs, flush=True)
"""


def write_twin(folder: Path, meters: int) -> Path:
    """A synthetic twin: one subdistrict, 10 blocks, an office per 10 meters, 15-min meters."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.toml").write_text(
        '[site]\nid = "bench_collect"\nname_zh = "基准"\nname_en = "Collector benchmark"\n'
        'region = "CN-SH"\ntimezone = "Asia/Shanghai"\nroot = "city"\n',
        encoding="utf-8",
    )
    nodes = ['[[node]]\nid = "city"\nkind = "subdistrict"\nname_zh = "城区"\nname_en = "City"\n']
    nodes += [
        f'[[node]]\nid = "b{b}"\nparent = "city"\nkind = "block"\nname_zh = "街区{b}"\n'
        f'name_en = "Block {b}"\n'
        for b in range(10)
    ]
    lines = []
    for i in range(meters // 10):
        nodes.append(
            f'[[node]]\nid = "o{i}"\nparent = "b{i % 10}"\nkind = "office_building"\n'
            f'use_type = "office"\nname_zh = "楼{i}"\nname_en = "Office {i}"\n'
        )
        lines += [
            f'[[meter]]\nid = "M{i * 10 + j}"\nnode = "o{i}"\nmeasure = "electricity"\n'
            'unit = "kWh"\nreading = "interval"\ninterval = "15min"\n'
            for j in range(10)
        ]
    (folder / "nodes.toml").write_text("\n".join(nodes), encoding="utf-8")
    (folder / "meters.toml").write_text("\n".join(lines), encoding="utf-8")
    return folder


def write_gateways(path: Path, meters: int, per: int) -> dict[str, str]:
    """A gateways file: gateway g holds meters [g * per, (g + 1) * per); returns the tokens."""
    from carbon.collect import token_sha256

    tokens = {f"gw{g}": f"token-{g}-{os.urandom(8).hex()}" for g in range(meters // per)}
    path.write_text(
        "".join(
            f'[[gateway]]\nid = "{g}"\ntoken_sha256 = "{token_sha256(t)}"\n'
            f"meters = {json.dumps([f'M{int(g[2:]) * per + j}' for j in range(per)])}\n\n"
            for g, t in tokens.items()
        ),
        encoding="utf-8",
    )
    return tokens


def body(gateway: int, interval: int, per: int) -> bytes:
    ts = (BASE + dt.timedelta(minutes=15 * interval)).isoformat()
    readings = [
        {"meter_id": f"M{gateway * per + j}", "timestamp": ts, "value": f"{1 + j / 10:.2f}"}
        for j in range(per)
    ]
    return json.dumps({"unit": "kWh", "readings": readings}).encode()


class Client:
    """A keep-alive connection per thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def request(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=60
                )
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        raise AssertionError


def start_collector(tmp: Path, mode: str, port: int, every: float) -> subprocess.Popen[str]:
    group = "1" if mode == "single" else "500"
    store = tmp / f"{mode}.duckdb"
    publish = str(tmp / "snapshots") if mode == "publish" else ""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store), str(tmp / "twin"), str(tmp / "gateways.toml"),
         str(port), group, publish, str(every)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        raise RuntimeError(proc.stderr.read() if proc.stderr else "no ready line")
    return proc


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_mode(
    tmp: Path, mode: str, tokens: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """One collector process under the load schedule; latencies, RSS samples, store checks."""
    load_before = os.getloadavg()[0]
    port = free_port()
    proc = start_collector(tmp, mode, port, args.every)
    child = psutil.Process(proc.pid)
    client = Client(port)
    gateways = sorted(tokens, key=lambda g: int(g[2:]))
    per = args.per_gateway
    rss: list[tuple[float, float]] = []
    stop_sampling = threading.Event()
    t0 = time.perf_counter()

    def sample() -> None:
        log = open(args.rss_log, "w") if args.rss_log else None  # closed below
        while not stop_sampling.is_set():
            rss.append((time.perf_counter() - t0, child.memory_info().rss / 2**20))
            if log is not None:
                # DuckDB's own account (buffer pool, temp tables) beside the RSS, every 10 s
                duck = ""
                if int(rss[-1][0]) % 10 == 0:
                    with contextlib.suppress(Exception):
                        _, body = client.request("GET", "/v1/health", None, {})
                        duck = f",{json.loads(body).get('duckdb_memory_mb')}"
                log.write(f"{rss[-1][0]:.1f},{rss[-1][1]:.1f}{duck}\n")
                log.flush()
            stop_sampling.wait(1.0)
        if log is not None:
            log.close()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # HTTP floor: health round trips (sequential, before the load).
    floor = []
    for _ in range(200):
        a = time.perf_counter()
        client.request("GET", "/v1/health", None, {})
        floor.append(time.perf_counter() - a)
    # The schedule: (due time [s from start], phase).
    phases = [("sustained", args.rate, args.sustained), ("burst", args.rate * args.burst_factor,
              args.burst), ("after", args.rate, args.after)]
    if args.soak:
        phases = [("soak", args.rate, args.soak)]
    schedule: list[tuple[float, str]] = []
    t = 0.0
    for name, rate, seconds in phases:
        n = int(rate * seconds)
        schedule += [(t + k / rate, name) for k in range(n)]
        t += seconds
    sent: dict[str, list[tuple[str, int]]] = {}
    lat: dict[str, list[float]] = {}
    lat_sent: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5
    # push-to-wall: acknowledged pushes not yet seen in LATEST's manifest / today.json
    to_snapshot: dict[str, list[tuple[int, float]]] = {}  # batch -> (last row, due)
    to_today: list[tuple[dt.datetime, float]] = []  # (reading end, due)
    wall_snapshot: list[float] = []
    wall_today: list[float] = []
    stop_watching = threading.Event()

    def watch() -> None:
        """Poll LATEST's manifest and today.json every 0.2 s (the wall polls likewise)."""
        snaps = tmp / "snapshots"
        while not stop_watching.wait(0.2):
            now = time.perf_counter() - start
            try:
                name = (snaps / "LATEST").read_text("utf-8").strip()
                manifest = json.loads((snaps / name / "manifest.json").read_text("utf-8"))
                read = {i["batch_id"]: i["rows"]["read"] for i in manifest["inputs"]}
            except (OSError, ValueError, KeyError):
                read = {}
            try:
                today = json.loads((snaps / "today.json").read_text("utf-8"))
                newest = dt.datetime.fromisoformat(today["newest_reading"])
            except (OSError, ValueError, KeyError, TypeError):
                newest = None
            with lock:
                for batch, pending in to_snapshot.items():
                    n = read.get(batch, 0)
                    if pending and pending[0][0] <= n:
                        wall_snapshot.extend(now - due for last, due in pending if last <= n)
                        pending[:] = [(last, due) for last, due in pending if last > n]
                if newest is not None and to_today:
                    wall_today.extend(now - due for end, due in to_today if end <= newest)
                    to_today[:] = [(end, due) for end, due in to_today if end > newest]

    watcher = threading.Thread(target=watch, daemon=True)
    if mode == "publish":
        watcher.start()

    def fire(k: int, due: float, phase: str) -> None:
        gateway = k % len(gateways)
        interval = k // len(gateways)
        g = gateways[gateway]
        key = f"{mode}-{k}"
        data = body(gateway, interval, per)
        headers = {
            "Authorization": f"Bearer {tokens[g]}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        }
        delay = start + due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        a = time.perf_counter()
        try:
            status, answer = client.request("POST", "/v1/readings", data, headers)
        except Exception as exc:  # counted, never hidden
            with lock:
                errors.append(f"{key}: {exc}")
            return
        b = time.perf_counter()
        with lock:
            if status != 200:
                errors.append(f"{key}: HTTP {status}")
                return
            lat.setdefault(phase, []).append(b - (start + due))
            lat_sent.setdefault(phase, []).append(b - a)
            sent.setdefault(g, []).append((key, interval))
            if mode == "publish":
                reply = json.loads(answer)
                last = reply["first_row"] + reply["read"] - 1
                to_snapshot.setdefault(reply["batch_id"], []).append((last, due))
                end = BASE + dt.timedelta(minutes=15 * (interval + 1))
                to_today.append((end, due))

    cpu_before = sum(child.cpu_times()[:2])
    with cf.ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(fire, k, due, phase) for k, (due, phase) in enumerate(schedule)]
        for f in futures:
            f.result()
    elapsed = time.perf_counter() - start
    cpu = sum(child.cpu_times()[:2]) - cpu_before
    unseen = (0, 0)
    if mode == "publish":  # the last pushes: wait (at most 120 s) until the wall has them
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            with lock:
                left = sum(len(v) for v in to_snapshot.values()), len(to_today)
            if left == (0, 0):
                break
            time.sleep(0.2)
        stop_watching.set()
        watcher.join()
        with lock:
            unseen = sum(len(v) for v in to_snapshot.values()), len(to_today)
    stop_sampling.set()
    sampler.join()
    proc.terminate()
    out, _ = proc.communicate(timeout=300)
    runs = [line.split()[1:] for line in out.splitlines() if line.startswith("publisher")]
    publisher = (
        {"runs": int(runs[0][0]), "errors": int(runs[0][1]),
         "seconds": [float(x) for x in runs[0][2:]]}
        if runs else None
    )
    # The store: every acknowledged reading once, nothing else.
    from carbon.store import Store

    acked = sum(len(v) for v in sent.values())
    with Store(tmp / f"{mode}.duckdb", read_only=True) as s:
        def one(sql: str) -> Any:
            return s.con.execute(sql).fetchall()[0][0]

        readings = one("SELECT count(*) FROM readings")
        duplicates = one(
            "SELECT count(*) FROM (SELECT 1 FROM readings GROUP BY meter_id, ts_start "
            "HAVING count(*) > 1)"
        )
        messages = one("SELECT count(*) FROM messages")
        keys = {r[0] for r in s.con.execute("SELECT message_key FROM messages").fetchall()}
        rejected = one("SELECT count(*) FROM rejects")
        acked_keys = {k for v in sent.values() for k, _ in v}
        lost = len(acked_keys - keys)
        size_mb = (tmp / f"{mode}.duckdb").stat().st_size / 2**20
    return {
        "mode": mode,
        "pushes": len(schedule),
        "acked": acked,
        "errors": errors,
        "elapsed_s": elapsed,
        "latency": {p: v for p, v in lat.items()},
        "latency_sent": {p: v for p, v in lat_sent.items()},
        "http_floor": floor,
        "readings": readings,
        "expected_readings": acked * per,
        "duplicates": duplicates,
        "messages": messages,
        "lost_messages": lost,
        "rejected_rows": rejected,
        "rss": rss,
        "store_mb": size_mb,
        "load": (load_before, os.getloadavg()[0]),
        "cpu_s": cpu,
        "wall_snapshot": wall_snapshot,
        "wall_today": wall_today,
        "unseen": unseen,
        "publisher": publisher,
    }


def writer_floor(tmp: Path, per: int, n: int = 200) -> list[float]:
    """One message of ``per`` readings checked and committed in-process, one at a time [s]."""
    import pandas as pd

    from carbon.ingest import RowsMessage, ingest_messages
    from carbon.store import Store
    from carbon.twin import load_twin

    out = []
    with Store(tmp / "floor.duckdb") as s:
        s.sync_twin(load_twin(tmp / "twin"))
        row = 1
        for k in range(n):
            ts = (BASE + dt.timedelta(minutes=15 * k)).isoformat()
            rows = pd.DataFrame(
                {"meter_id": [f"M{j}" for j in range(per)], "timestamp": [ts] * per,
                 "value": [f"{1 + j / 10:.2f}" for j in range(per)]}
            )
            a = time.perf_counter()
            s.con.execute("BEGIN")
            ingest_messages(s, [RowsMessage(rows, "p_floor", row)])
            s.con.execute("COMMIT")
            out.append(time.perf_counter() - a)
            row += per
    return out[10:]  # warm


def ms(x: float) -> str:
    return f"{1000 * x:.0f} ms"


def report(result: dict[str, Any]) -> None:
    print(f"\n== {result['mode']}: {result['acked']:,}/{result['pushes']:,} pushes acknowledged "
          f"in {result['elapsed_s']:.0f} s, {len(result['errors'])} errors; load average "
          f"{result['load'][0]:.1f} before, {result['load'][1]:.1f} after (2 cores)")
    for phase, values in result["latency"].items():
        sent = result["latency_sent"][phase]
        print(f"  {phase:9s} n={len(values):5d}  due->ack p50 {ms(pct(values, .5))}  "
              f"p95 {ms(pct(values, .95))}  p99 {ms(pct(values, .99))}  max {ms(max(values))}"
              f"   (sent->ack p95 {ms(pct(sent, .95))})")
    print(f"  collector CPU (user + system) {result['cpu_s']:.1f} s for {result['acked']:,} "
          f"messages: {1000 * result['cpu_s'] / max(1, result['acked']):.1f} ms per message of "
          f"{result['expected_readings'] // max(1, result['acked'])} readings "
          f"({result['cpu_s'] / result['elapsed_s']:.0%} of one core over the run)")
    print(f"  HTTP floor (GET /v1/health) p50 {ms(pct(result['http_floor'], .5))} "
          f"p95 {ms(pct(result['http_floor'], .95))}")
    print(f"  store: {result['readings']:,} readings (expected {result['expected_readings']:,}), "
          f"{result['duplicates']} duplicated, {result['lost_messages']} acknowledged messages "
          f"missing, {result['rejected_rows']} rejected rows; {result['store_mb']:.0f} MB")
    rss = result["rss"]
    if rss:
        values = [r for _, r in rss]
        third = max(1, len(rss) // 3)
        settled = values[third:]
        slope = 0.0
        if len(settled) > 2:
            xs = [t for t, _ in rss[third:]]
            mx, my = statistics.fmean(xs), statistics.fmean(settled)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, settled, strict=True)) / sum(
                (x - mx) ** 2 for x in xs
            )
        print(f"  collector RSS: start {values[0]:.0f} MB, max {max(values):.0f} MB, "
              f"end {values[-1]:.0f} MB; after the first third {min(settled):.0f}–"
              f"{max(settled):.0f} MB, slope {slope * 60:.2f} MB/min "
              f"(→ {slope * 3600:.0f} MB/h)")
    if result["publisher"] is not None:
        p = result["publisher"]
        secs = p["seconds"] or [float("nan")]
        print(f"  publisher: {p['runs']} runs (the last 100 timed: p50 "
              f"{statistics.median(secs):.1f} s, max {max(secs):.1f} s), {p['errors']} errors")
        for name, values in (("provisional snapshot (LATEST)", result["wall_snapshot"]),
                             ("today.json newest_reading", result["wall_today"])):
            print(f"  push-to-wall, {name}: n={len(values)}  p50 "
                  f"{pct(values, .5):.1f} s  p95 {pct(values, .95):.1f} s  max "
                  f"{max(values, default=float('nan')):.1f} s")
        print(f"  pushes never seen: {result['unseen'][0]} in a snapshot, "
              f"{result['unseen'][1]} in today.json")
    if result["errors"]:
        print("  first errors:", result["errors"][:5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--per-gateway", type=int, default=10)
    parser.add_argument("--rate", type=float, default=11.1, help="pushes per second")
    parser.add_argument("--sustained", type=float, default=60.0, help="seconds at the rate")
    parser.add_argument("--burst", type=float, default=10.0, help="seconds of the burst")
    parser.add_argument("--burst-factor", type=float, default=10.0)
    parser.add_argument("--after", type=float, default=30.0, help="seconds at the rate after")
    parser.add_argument("--soak", type=float, default=0.0, help="one phase of this many seconds")
    parser.add_argument("--workers", type=int, default=256, help="client threads")
    parser.add_argument(
        "--modes",
        default="group,single",
        help="group (group commit), single (one transaction per message), publish (group "
        "commit with the live publisher, carbon.live.Publisher, and push-to-wall times)",
    )
    parser.add_argument("--every", type=float, default=10.0, help="publisher throttle [s]")
    parser.add_argument("--rss-log", default="", help="also write 't [s],RSS [MB][,DuckDB MB]' lines here")
    args = parser.parse_args()
    global BASE
    # the pushes' intervals end before now, in the current local day when the run is short
    intervals = int(args.rate * (args.soak or (args.sustained + args.after))
                    + args.rate * args.burst_factor * (0 if args.soak else args.burst))
    intervals = intervals // max(1, args.meters // args.per_gateway) + 2
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    BASE = now - dt.timedelta(minutes=now.minute % 15 + 15 * intervals)
    with tempfile.TemporaryDirectory(prefix="carbon-bench-collect-") as name:
        tmp = Path(name)
        write_twin(tmp / "twin", args.meters)
        tokens = write_gateways(tmp / "gateways.toml", args.meters, args.per_gateway)
        floor = writer_floor(tmp, args.per_gateway)
        print(f"{args.meters:,} meters, {len(tokens):,} gateways of {args.per_gateway}; "
              f"writer floor (one message, in-process) p50 {ms(pct(floor, .5))} "
              f"p95 {ms(pct(floor, .95))}")
        results = {}
        for mode in args.modes.split(","):
            results[mode] = run_mode(tmp, mode, tokens, args)
            report(results[mode])
        if "group" in results and "publish" in results:
            g, p = results["group"], results["publish"]
            for phase in g["latency"]:
                if phase in p["latency"]:
                    a, b = pct(g["latency"][phase], .95), pct(p["latency"][phase], .95)
                    print(f"  {phase}: p95 with the publisher {ms(b)} vs without {ms(a)}: "
                          f"{b / a:.2f} ×")
        if "group" in results and "single" in results:
            g, s = results["group"], results["single"]
            for phase in g["latency"]:
                if phase in s["latency"]:
                    a, b = pct(g["latency"][phase], .95), pct(s["latency"][phase], .95)
                    print(f"  {phase}: p95 with group commit {ms(a)} vs one transaction per "
                          f"message {ms(b)}: {b / a:.1f} ×")
        for mode, r in results.items():
            for phase, values in r["latency"].items():
                print(f"  {mode} {phase}: p95 / writer floor p95 = "
                      f"{pct(values, .95) / pct(floor, .95):.1f} ×, p95 / HTTP floor p95 = "
                      f"{pct(values, .95) / pct(r['http_floor'], .95):.1f} ×")


if __name__ == "__main__":
    main()
