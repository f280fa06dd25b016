"""Wall-screen latency: callback round trips and first render, for 1,000 sites x 3 years.

Writes a synthetic snapshot of ``--sites`` metered sites and ``--years`` years of monthly
entries (the format of ``carbon.audit.publish``; no ingestion), serves it with
``carbon.dashboard.serve`` (waitress) on 127.0.0.1, then

1. replays random selections (node, scope-2 view, map metric, trend split, language) against
   every data callback over HTTP, as the browser would post them, and reports p50 / p95
   latency per callback, cold (first time a selection is asked) and warm (asked again);
2. loads the page in headless Chromium at 1920 x 1080 and reports the first meaningful render:
   from navigation start until the KPI tiles hold numbers and the map and trend are drawn.

Targets (issue "The carbon wall screen"): callback p95 <= 100 ms; first render <= 2 s;
click to every panel redrawn p95 <= 300 ms.

With ``--baseline DIR`` (a copy of another version's ``dashboard/`` folder, e.g. made with
``git archive HEAD dashboard | tar -x -C /tmp/base``) the click and first-render measurements
alternate between a server of this tree (A) and one of that copy (B), ``--rounds`` times, so
both see the same machine load; the ratios A / B are printed.

    python benchmarks/wall_latency.py                       # synthetic 1,000 x 3
    python benchmarks/wall_latency.py --snapshots demo/snapshots --screenshot docs/wall_screen.png
    python benchmarks/wall_latency.py --snapshots demo/snapshots --only-clicks --clicks 30 \
        --baseline /tmp/base/dashboard
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from carbon.dashboard.data import load_snapshot
from carbon.dashboard.testing import CHROMIUM, CHROMIUM_FLAGS, write_synthetic_snapshot

ROOT = Path(__file__).resolve().parents[1]

SERVE = """
import importlib.util, sys
if len(sys.argv) > 4:  # serve another copy of the dashboard/ folder as carbon.dashboard
    import carbon
    spec = importlib.util.spec_from_file_location(
        "carbon.dashboard", sys.argv[4] + "/__init__.py", submodule_search_locations=[sys.argv[4]])
    module = importlib.util.module_from_spec(spec)
    sys.modules["carbon.dashboard"] = module
    spec.loader.exec_module(module)
from carbon.dashboard.server import serve
serve(sys.argv[1], port=int(sys.argv[2]), threads=int(sys.argv[3]))
"""

DATA_CALLBACKS = {
    # first output id -> short name
    "kpi-emissions-label": "all panels",  # one callback: tiles, map, trend, ranking, ...
    "prov-overlay": "provenance",
    "snap": "poll (header)",
    "title": "static text",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(snapshots: Path, threads: int = 16, code: Path | None = None
           ) -> Iterator[tuple[str, subprocess.Popen]]:
    """``carbon.dashboard.serve`` in a subprocess (of ``code``, a ``dashboard/`` folder, when
    given); yields (URL, process)."""
    port = free_port()
    extra = [str(code.resolve())] if code is not None else []
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(snapshots), str(port),
                             str(threads), *extra], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("server exited") from None
                time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def dependencies(url: str) -> dict[str, dict[str, Any]]:
    """The app's callbacks by the id of their first output."""
    with urllib.request.urlopen(url + "_dash-dependencies") as r:
        deps = json.load(r)
    out = {}
    for d in deps:
        first = d["output"].strip(".").split("...")[0].rsplit(".", 1)[0]
        out[first] = d
    return out


def _outputs(spec: str) -> list[dict[str, str]] | dict[str, str]:
    parts = [p for p in spec.strip(".").split("...")]
    items = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
    return items if spec.startswith("..") else items[0]


def payload(dep: dict[str, Any], values: dict[str, Any], changed: str) -> bytes:
    """The JSON body the Dash renderer posts for one callback."""
    def item(x: dict[str, str]) -> dict[str, Any] | list[Any]:
        if x["id"].startswith("{"):  # pattern-matching input: no such components here
            return []
        return {"id": x["id"], "property": x["property"],
                "value": values.get(f"{x['id']}.{x['property']}")}

    body = {"output": dep["output"], "outputs": _outputs(dep["output"]),
            "inputs": [item(i) for i in dep["inputs"]],
            "state": [item(s) for s in dep.get("state", [])],
            "changedPropIds": [changed]}
    return json.dumps(body).encode()


def post(url: str, body: bytes) -> float:
    req = urllib.request.Request(url + "_dash-update-component", body,
                                 {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}")
    return (time.perf_counter() - t0) * 1000


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def callback_latency(url: str, snapshot_id: str, nodes: list[str], selections: int,
                     seed: int) -> dict[str, dict[str, list[float]]]:
    deps = dependencies(url)
    rng = random.Random(seed)
    plan = []
    for i in range(selections):
        plan.append({
            "snap.data": snapshot_id, "sel.data": rng.choice(nodes),
            "method.value": rng.choice(["location", "market"]),
            "metric.value": rng.choice(["emissions", "intensity"]),
            "breakdown.value": rng.choice(["sector", "scope"]),
            "lang.data": rng.choice(["zh", "en"]),
            "prov.data": rng.choice(["emissions", "per_capita", "completeness"]),
            "poll.n_intervals": i, "url.search": "",
        })
    results: dict[str, dict[str, list[float]]] = {}
    for phase in ("cold", "warm"):
        for values in plan:
            for out_id, name in DATA_CALLBACKS.items():
                dep = deps[out_id]
                ms = post(url, payload(dep, values, "sel.data"))
                results.setdefault(name, {}).setdefault(phase, []).append(ms)
    return results


FIRST_RENDER_JS = """
const done = arguments[arguments.length - 1];
const seen = {};
function plotted(id) {
  const g = document.querySelector('#' + id + ' .js-plotly-plot');
  return g && g._fullData && g._fullData.length > 0 && g.querySelector('.main-svg');
}
(function poll() {
  const v = document.getElementById('kpi-emissions-value');
  const q = document.getElementById('quality-body');
  if (!seen.text && v && /[0-9]/.test(v.innerText) && q && q.innerText.length > 0) {
    seen.text = performance.now();
  }
  if (!seen.map && plotted('map-graph')) { seen.map = performance.now(); }
  // every figure shown (a hidden slot, class 'off', has nothing to draw)
  const charts = ['map-graph', 'trend-graph', 'ranking-graph'].concat(
      ['quality-graph', 'interventions-graph', 'macc-graph'].filter(function (id) {
        const el = document.getElementById(id);
        return el && el.offsetParent !== null;
      }));
  if (!seen.all && charts.every(plotted)) { seen.all = performance.now(); }
  if (seen.text && seen.map && seen.all) { done(seen); } else { requestAnimationFrame(poll); }
})();
"""


def first_render(url: str, loads: int, screenshot: Path | None
                 ) -> dict[str, dict[str, list[float]]]:
    """Milliseconds from navigation start until the KPI numbers and panel texts show
    (``text``), the map is drawn (``map``) and every chart is drawn (``all``); ``cold`` in a
    fresh browser profile, ``warm`` on a second load in the same browser (its HTTP and code
    caches filled, as for a wall that reloads itself)."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    out: dict[str, dict[str, list[float]]] = {"cold": {}, "warm": {}}
    for i in range(loads):
        driver = webdriver.Chrome(options=options)  # a fresh profile: nothing cached
        try:
            driver.set_script_timeout(30)
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 1920, "height": 1080, "deviceScaleFactor": 1,
                                    "mobile": False})
            for phase in ("cold", "warm"):
                driver.get(url)
                seen = driver.execute_async_script(FIRST_RENDER_JS)
                for key, ms in seen.items():
                    out[phase].setdefault(key, []).append(float(ms))
            if screenshot is not None and i == loads - 1:
                time.sleep(2.0)  # let the clock and the last panels settle
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(screenshot))
        finally:
            driver.quit()
    return out


WATCH_JS = """
// Marks the last change to any panel or tile (not the header's clock and status, nor Dash's
// loading marks) and the moment of each pointer-up, so a click's latency is
// 'last redraw - click'.
if (!window.__wall) {
  window.__wall = {t0: 0, last: 0};
  const header = document.querySelector('.header');
  new MutationObserver(function (records) {
    for (const r of records) {
      if (r.type === 'attributes' && r.attributeName === 'data-dash-is-loading') { continue; }
      if (!header || !header.contains(r.target)) { window.__wall.last = performance.now(); return; }
    }
  }).observe(document.getElementById('screen'),
             {subtree: true, childList: true, attributes: true, characterData: true});
  document.addEventListener('pointerup', function () {
    window.__wall.t0 = performance.now(); window.__wall.last = 0; }, true);
}
"""

SETTLED_JS = """
// Waits in the page (a check every 50 ms, cheaper than asking from outside) until the
// breadcrumb shows the expected node, nothing is loading and no panel changed for 'quiet' ms.
const [expect, quiet, timeout] = arguments;
const done = arguments[arguments.length - 1];
const start = performance.now();
(function check() {
  const w = window.__wall, now = performance.now();
  const busy = !!document.querySelector('[data-dash-is-loading="true"]');
  const crumb = ((document.querySelector('#crumbs .crumb.current') || {}).innerText || '').trim();
  if (crumb === expect && !busy && w.last > w.t0 && w.t0 > 0 && now - w.last > quiet) {
    done({t0: w.t0, last: w.last});
  } else if (now - start > timeout) {
    done({timeout: true, crumb: crumb, busy: busy, t0: w.t0, last: w.last});
  } else {
    setTimeout(check, 50);
  }
})();
"""


def _map_point(driver: Any, ring: list[list[float]]) -> tuple[int, int]:
    """Screen pixel of a point inside a polygon (a quarter of the way across its box)."""
    x = min(p[0] for p in ring) * 0.7 + max(p[0] for p in ring) * 0.3
    y = min(p[1] for p in ring) * 0.7 + max(p[1] for p in ring) * 0.3
    px, py = driver.execute_script(
        "const g = document.querySelector('#map-graph .js-plotly-plot');"
        "const L = g._fullLayout, r = g.getBoundingClientRect();"
        "return [r.left + L.xaxis._offset + L.xaxis.l2p(arguments[0]),"
        "        r.top + L.yaxis._offset + L.yaxis.l2p(arguments[1])];", x, y)
    return int(px), int(py)


RESPONSES_JS = """
const t0 = window.__wall.t0;
const ends = performance.getEntriesByType('resource')
  .filter(e => e.name.indexOf('_dash-update-component') >= 0 && e.startTime >= t0)
  .map(e => e.responseEnd - t0);
performance.clearResourceTimings();
return ends.length ? Math.max.apply(null, ends) : 0;
"""


def _click_and_wait(driver: Any, click: Any, expect: str, quiet_ms: float = 600,
                    timeout: float = 20) -> tuple[float, float]:
    """Click, then wait until the breadcrumb shows ``expect``, no component is loading and no
    panel changed for ``quiet_ms``; milliseconds from the click to the last panel change, and
    to the end of the last callback response (the server and network part; the rest is the
    browser drawing)."""
    driver.execute_script("performance.clearResourceTimings();")
    click()
    st = driver.execute_async_script(SETTLED_JS, expect, quiet_ms, timeout * 1000)
    if st.get("timeout"):
        raise RuntimeError(f"no redraw after the click (expected {expect!r}): {st}")
    responses = float(driver.execute_script(RESPONSES_JS))
    return float(st["last"] - st["t0"]), min(responses, float(st["last"] - st["t0"]))


PROFILE_JS = """
// Times every Plotly.react / Plotly.Plots.resize / Plotly.purge by graph: 'sync' is the time
// the call holds the page's one thread, 'done' the time until its promise resolves (its drawing
// finished, including the waits for other work queued before it).
if (!window.__plots) {
  window.__plots = [];
  const P = window.Plotly;
  function wrap(owner, name, label) {
    const orig = owner[name];
    owner[name] = function (gd) {
      const el = typeof gd === 'string' ? document.getElementById(gd) : gd;
      const id = (el && el.closest && (el.closest('[id]') || {}).id) || '?';
      const t0 = performance.now();
      const out = orig.apply(this, arguments);
      const rec = {call: label, id: id, sync: performance.now() - t0, done: null};
      window.__plots.push(rec);
      if (out && out.then) {
        out.then(function () { rec.done = performance.now() - t0; }, function () {});
      }
      return out;
    };
  }
  wrap(P, 'react', 'react');
  wrap(P, 'purge', 'purge');
  wrap(P.Plots, 'resize', 'resize');
}
"""


def _cpu_ms(procs: list[Any]) -> float:
    """User + system CPU time of some processes and their children [ms] (psutil)."""
    import psutil

    total = 0.0
    for proc in procs:
        try:
            family = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for p in family:
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            total += (t.user + t.system) * 1000
    return total


def drill_latency(url: str, snapshot: Path, clicks: int, server_pid: int | None = None
                  ) -> dict[str, Any]:
    """Click-to-every-panel-redrawn in headless Chromium at 1920 x 1080: a real mouse click on
    a block of the map (drill-down), then on the breadcrumb back to the root (up), ``clicks``
    times each, cycling through the blocks; ms from the click's pointer-up to the last change
    of any tile or panel (the header's clock and status excepted). One untimed pass over the
    blocks first, so the server has answered each view once (a wall in use, not a cold start).

    CPU time is less sensitive than latency to other jobs on the machine: ``browser_cpu`` is
    the CPU time of every Chromium process per drill-down, ``server_cpu`` the server's
    (``server_pid``), each less the idle rate measured over 3 s before the clicks (the clock,
    the heartbeat and this script's polling). ``plots`` holds the plotly calls of the
    drill-downs by ``call:graph``: (sync ms, done ms) per call."""
    import psutil
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    snap = load_snapshot(snapshot)
    blocks = [b for b in snap.children(snap.root) if b in snap.geometry]
    rings = {b: snap.geometry[b]["coordinates"][0] for b in blocks
             if snap.geometry[b].get("type") == "Polygon"}
    from carbon.dashboard.i18n import name_of

    names = {n: name_of(snap.node(n), "zh") for n in [snap.root, *rings]}
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    out: dict[str, Any] = {"down": [], "up": [], "down_responses": [], "up_responses": [],
                           "browser_cpu": [], "server_cpu": [], "plots": {}}
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1920, "height": 1080, "deviceScaleFactor": 1,
                                "mobile": False})
        driver.set_script_timeout(30)
        driver.get(url)
        driver.execute_async_script(FIRST_RENDER_JS)
        time.sleep(1.0)
        driver.execute_script(WATCH_JS)
        driver.execute_script(PROFILE_JS)
        browser = [psutil.Process(driver.service.process.pid)]  # chromedriver and Chromium
        served = [psutil.Process(server_pid)] if server_pid else []

        def cpu() -> tuple[float, float, float]:
            return time.perf_counter() * 1000, _cpu_ms(browser), _cpu_ms(served)

        order = list(rings)
        idle = [0.0, 0.0]
        for i in range(-len(order), clicks):  # the first pass is not timed
            if i == 0:  # the server's background warming done (60 s at most), idle CPU rates
                for _ in range(60):
                    t0 = cpu()
                    time.sleep(1.0)
                    t1 = cpu()
                    if t1[2] - t0[2] < 50:
                        break
                t0 = cpu()
                time.sleep(3.0)
                t1 = cpu()
                idle = [(t1[1] - t0[1]) / (t1[0] - t0[0]), (t1[2] - t0[2]) / (t1[0] - t0[0])]
            block = order[i % len(order)]
            px, py = _map_point(driver, rings[block])

            def down(px: int = px, py: int = py) -> None:
                ActionChains(driver).move_by_offset(0, 0).perform()
                driver.execute_cdp_cmd("Input.dispatchMouseEvent", {
                    "type": "mouseMoved", "x": px, "y": py})
                for kind in ("mousePressed", "mouseReleased"):
                    driver.execute_cdp_cmd("Input.dispatchMouseEvent", {
                        "type": kind, "x": px, "y": py, "button": "left", "clickCount": 1})

            driver.execute_script("window.__plots.length = 0;")
            before = cpu()
            total, responses = _click_and_wait(driver, down, names[block])
            if i >= 0:
                after = cpu()
                wall = after[0] - before[0]
                out["browser_cpu"].append(after[1] - before[1] - idle[0] * wall)
                out["server_cpu"].append(after[2] - before[2] - idle[1] * wall)
                out["down"].append(total)
                out["down_responses"].append(responses)
                for rec in driver.execute_script("return window.__plots;"):
                    out["plots"].setdefault(f"{rec['call']}:{rec['id']}", []).append(
                        (float(rec["sync"]), float(rec["done"] or 0.0)))

            def up() -> None:
                driver.find_element(By.CSS_SELECTOR, "#crumbs .crumb:not(.current)").click()

            total, responses = _click_and_wait(driver, up, names[snap.root])
            if i >= 0:
                out["up"].append(total)
                out["up_responses"].append(responses)
    finally:
        driver.quit()
    return out


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        else:
            into.setdefault(key, []).extend(value)


def _alternate(folder: Path, baseline: Path | None, rounds: int,
               measure: Any) -> dict[str, dict[str, Any]]:
    """``measure(url)`` against a server of this tree (A) and, with ``baseline``, one of that
    copy (B), ``rounds`` times in alternating order (A B, B A, ...); results merged per side."""
    sides: list[tuple[str, Path | None]] = [("A", None)]
    if baseline is not None:
        sides.append(("B", baseline))
    out: dict[str, dict[str, Any]] = {label: {} for label, _ in sides}
    for r in range(rounds):
        for label, code in (sides if r % 2 == 0 else sides[::-1]):
            with server(folder, code=code) as (url, proc):
                _merge(out[label], measure(url, proc.pid))
    return out


def report_clicks(lat: dict[str, Any], label: str) -> None:
    print(f"  {label}")
    for way, name in (("down", "drill-down (map click)"), ("up", "back up (breadcrumb)")):
        v, r = lat[way], lat[f"{way}_responses"]
        print(f"    {name:<24} p50 {pct(v, .5):6.0f}  p95 {pct(v, .95):6.0f}  "
              f"max {max(v):6.0f}   of which callbacks answered by p50 {pct(r, .5):5.0f} "
              f"p95 {pct(r, .95):5.0f}; browser drawing p50 "
              f"{statistics.median([a - b for a, b in zip(v, r, strict=True)]):5.0f}")
    clicks = len(lat["down"])
    print(f"    CPU per drill-down, less idle: browser p50 {pct(lat['browser_cpu'], .5):.0f} "
          f"p95 {pct(lat['browser_cpu'], .95):.0f} ms; server p50 "
          f"{pct(lat['server_cpu'], .5):.0f} p95 {pct(lat['server_cpu'], .95):.0f} ms")
    print("    plotly calls per drill-down (ms; calls per click, sync p50 / p95, promise "
          "resolved p50):")
    for key, calls in sorted(lat["plots"].items()):
        sync = [a for a, _ in calls]
        done = [b for _, b in calls]
        print(f"      {key:<28} {len(calls) / clicks:4.1f}  {pct(sync, .5):6.1f} / "
              f"{pct(sync, .95):6.1f}  {pct(done, .5):6.1f}")
    total = [sum(a for a, _ in calls) / clicks for calls in lat["plots"].values()]
    print(f"      {'all plotly calls (mean sum)':<28}       {sum(total):6.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--selections", type=int, default=60,
                    help="random selections replayed against every data callback")
    ap.add_argument("--loads", type=int, default=5, help="page loads for the first render")
    ap.add_argument("--snapshots", type=Path, help="use this snapshots folder instead")
    ap.add_argument("--screenshot", type=Path, help="save a 1920x1080 screenshot here")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clicks", type=int, default=30,
                    help="drill-down clicks (and as many back up) timed in Chromium")
    ap.add_argument("--only-clicks", action="store_true",
                    help="only the click-to-redrawn measurement")
    ap.add_argument("--only-first", action="store_true",
                    help="only the first-render measurement")
    ap.add_argument("--baseline", type=Path,
                    help="a dashboard/ folder of another version, measured alternately (B)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternations of A and B (clicks and loads are split over them)")
    args = ap.parse_args()
    rounds = max(1, args.rounds if args.baseline is not None else 1)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.snapshots
        if folder is None:
            folder = Path(tmp)
            t0 = time.perf_counter()
            write_synthetic_snapshot(folder, sites=args.sites, years=args.years,
                                     interventions=True,
                                     target={"base_year": 2024, "reduction": 0.2,
                                             "target_year": 2030})
            print(f"synthetic snapshot: {args.sites} sites x {args.years} years written in "
                  f"{time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        snap = load_snapshot(folder)
        print(f"snapshot {snap.id}: {snap.n_entries:,} entries, {len(snap.nodes):,} nodes; "
              f"load + pre-aggregation {time.perf_counter() - t0:.2f} s")
        nodes = sorted(snap.node_ids)
        if args.clicks and not args.only_first:
            per_round = max(1, args.clicks // rounds)
            lat = _alternate(folder, args.baseline, rounds,
                             lambda url, pid: drill_latency(url, folder, per_round, pid))
            print(f"\nclick to every panel redrawn, headless Chromium 1920x1080 "
                  f"({per_round * rounds} clicks each way per side; ms)")
            for label, side in lat.items():
                report_clicks(side, "A (this tree)" if label == "A" else
                              f"B ({args.baseline})")
            a = lat["A"]["down"]
            if "B" in lat:
                b = lat["B"]["down"]
                print(f"  A / B drill-down: p50 {pct(a, .5) / pct(b, .5):.2f} x, "
                      f"p95 {pct(a, .95) / pct(b, .95):.2f} x")
            worst = pct(a, .95)
            print(f"target drill-down p95 <= 300 ms: {'meets' if worst <= 300 else 'MISSES'}"
                  f" ({worst:.0f} ms)")
            if args.only_clicks:
                return
        if not args.only_first:
            with server(folder) as (url, _proc):
                res = callback_latency(url, snap.id, nodes, args.selections, args.seed)
            print(f"\ncallback round trips over HTTP on 127.0.0.1 ({args.selections} random "
                  "selections each; ms)")
            print(f"{'callback':<16}{'cold p50':>10}{'cold p95':>10}{'warm p50':>10}"
                  f"{'warm p95':>10}{'max':>9}")
            all_cold, all_warm = [], []
            for name, phases in res.items():
                cold, warm = phases["cold"], phases["warm"]
                all_cold += cold
                all_warm += warm
                print(f"{name:<16}{pct(cold, .5):>10.1f}{pct(cold, .95):>10.1f}"
                      f"{pct(warm, .5):>10.1f}{pct(warm, .95):>10.1f}"
                      f"{max(cold + warm):>9.1f}")
            print(f"{'all':<16}{pct(all_cold, .5):>10.1f}{pct(all_cold, .95):>10.1f}"
                  f"{pct(all_warm, .5):>10.1f}{pct(all_warm, .95):>10.1f}"
                  f"{max(all_cold + all_warm):>9.1f}")
            verdict = "meets" if pct(all_cold, .95) <= 100 else "MISSES"
            print(f"target p95 <= 100 ms: {verdict} (cold p95 {pct(all_cold, .95):.1f} ms)")
        per_round = max(1, args.loads // rounds)
        renders = _alternate(folder, args.baseline, rounds,
                             lambda url, pid: first_render(url, per_round, args.screenshot))
        print(f"\nfirst render in headless Chromium at 1920x1080 ({per_round * rounds} loads "
              "per side; ms from navigation start; median / max)")
        labels = {"text": "KPI numbers and panel texts", "map": "map drawn",
                  "all": "every chart drawn"}
        for which, result in renders.items():
            print(f"  {'A (this tree)' if which == 'A' else f'B ({args.baseline})'}")
            for key, what in labels.items():
                cold, warm = result["cold"][key], result["warm"][key]
                print(f"    {what:<28} cold {statistics.median(cold):6.0f} / "
                      f"{max(cold):6.0f}   warm {statistics.median(warm):6.0f} / "
                      f"{max(warm):6.0f}")
        if "B" in renders:
            a, b = renders["A"]["cold"]["all"], renders["B"]["cold"]["all"]
            print(f"  A / B every chart drawn, cold: median "
                  f"{statistics.median(a) / statistics.median(b):.2f} x")
        for phase in ("cold", "warm"):
            worst = max(renders["A"][phase]["all"])
            med = statistics.median(renders["A"][phase]["all"])
            verdict = "meets" if worst <= 2000 else "misses"
            print(f"target <= 2 s for every chart, {phase}: {verdict} (median {med:.0f} ms, "
                  f"max {worst:.0f} ms)")
        if args.screenshot:
            print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
