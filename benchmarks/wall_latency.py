"""Wall-screen latency: callback round trips and first render, for 1,000 sites x 3 years.

Writes a synthetic snapshot of ``--sites`` metered sites and ``--years`` years of monthly
entries (the format of ``carbon.audit.publish``; no ingestion), serves it with
``carbon.dashboard.serve`` (waitress) on 127.0.0.1, then

1. replays random selections (node, scope-2 view, map metric, trend split, language) against
   every data callback over HTTP, as the browser would post them, and reports p50 / p95
   latency per callback, cold (first time a selection is asked) and warm (asked again);
2. loads the page in headless Chromium at 1920 x 1080 and reports the first meaningful render:
   from navigation start until the KPI tiles hold numbers and the map and trend are drawn.

Targets (issue "The carbon wall screen"): callback p95 <= 100 ms; first render <= 2 s.

    python benchmarks/wall_latency.py                       # synthetic 1,000 x 3
    python benchmarks/wall_latency.py --snapshots demo/snapshots --screenshot docs/wall_screen.png
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

SERVE = ("import sys; from carbon.dashboard.server import serve; "
         "serve(sys.argv[1], port=int(sys.argv[2]), threads=int(sys.argv[3]))")

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
def server(snapshots: Path, threads: int = 16) -> Iterator[tuple[str, subprocess.Popen]]:
    """``carbon.dashboard.serve`` in a subprocess; yields (URL, process)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(snapshots), str(port),
                             str(threads)], cwd=ROOT, stdout=subprocess.DEVNULL,
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
  const charts = ['map-graph', 'trend-graph', 'ranking-graph'].concat(
      ['quality-graph', 'interventions-graph', 'macc-graph'].filter(
          id => document.getElementById(id)));
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
const w = window.__wall;
const busy = document.querySelector('[data-dash-is-loading="true"]');
return {t0: w.t0, last: w.last, busy: !!busy, now: performance.now(),
        crumb: (document.querySelector('#crumbs .crumb.current') || {}).innerText || ''};
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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = driver.execute_script(SETTLED_JS)
        if (st["crumb"].strip() == expect and not st["busy"] and st["last"] > st["t0"] > 0
                and st["now"] - st["last"] > quiet_ms):
            responses = float(driver.execute_script(RESPONSES_JS))
            return float(st["last"] - st["t0"]), min(responses, float(st["last"] - st["t0"]))
        time.sleep(0.05)
    raise RuntimeError(f"no redraw after the click (expected {expect!r}): {st}")


def drill_latency(url: str, snapshot: Path, clicks: int) -> dict[str, list[float]]:
    """Click-to-every-panel-redrawn in headless Chromium at 1920 x 1080: a real mouse click on
    a block of the map (drill-down), then on the breadcrumb back to the root (up), ``clicks``
    times each, cycling through the blocks; ms from the click's pointer-up to the last change
    of any tile or panel (the header's clock and status excepted)."""
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
    out: dict[str, list[float]] = {"down": [], "up": [], "down_responses": [],
                                   "up_responses": []}
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1920, "height": 1080, "deviceScaleFactor": 1,
                                "mobile": False})
        driver.set_script_timeout(30)
        driver.get(url)
        driver.execute_async_script(FIRST_RENDER_JS)
        time.sleep(1.0)
        driver.execute_script(WATCH_JS)
        order = list(rings)
        for i in range(clicks):
            block = order[i % len(order)]
            px, py = _map_point(driver, rings[block])

            def down(px: int = px, py: int = py) -> None:
                ActionChains(driver).move_by_offset(0, 0).perform()
                driver.execute_cdp_cmd("Input.dispatchMouseEvent", {
                    "type": "mouseMoved", "x": px, "y": py})
                for kind in ("mousePressed", "mouseReleased"):
                    driver.execute_cdp_cmd("Input.dispatchMouseEvent", {
                        "type": kind, "x": px, "y": py, "button": "left", "clickCount": 1})

            total, responses = _click_and_wait(driver, down, names[block])
            out["down"].append(total)
            out["down_responses"].append(responses)

            def up() -> None:
                driver.find_element(By.CSS_SELECTOR, "#crumbs .crumb:not(.current)").click()

            total, responses = _click_and_wait(driver, up, names[snap.root])
            out["up"].append(total)
            out["up_responses"].append(responses)
    finally:
        driver.quit()
    return out


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
    args = ap.parse_args()

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
        with server(folder) as (url, _proc):
            if args.clicks:
                lat = drill_latency(url, folder, args.clicks)
                print(f"\nclick to every panel redrawn, headless Chromium 1920x1080 "
                      f"({args.clicks} clicks each way; ms)")
                for way, label in (("down", "drill-down (map click)"),
                                   ("up", "back up (breadcrumb)")):
                    v, r = lat[way], lat[f"{way}_responses"]
                    print(f"  {label:<24} p50 {pct(v, .5):6.0f}  p95 {pct(v, .95):6.0f}  "
                          f"max {max(v):6.0f}  first {v[0]:6.0f}   of which callbacks "
                          f"answered by p50 {pct(r, .5):5.0f} p95 {pct(r, .95):5.0f}; "
                          f"browser drawing p50 "
                          f"{statistics.median([a - b for a, b in zip(v, r, strict=True)]):5.0f}")
                worst = pct(lat["down"], .95)
                print(f"target drill-down p95 <= 300 ms: {'meets' if worst <= 300 else 'MISSES'}"
                      f" ({worst:.0f} ms)")
                if args.only_clicks:
                    return
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
            renders = first_render(url, args.loads, args.screenshot)
            print(f"\nfirst render in headless Chromium at 1920x1080 ({args.loads} loads; ms "
                  "from navigation start; median / max)")
            labels = {"text": "KPI numbers and panel texts", "map": "map drawn",
                      "all": "every chart drawn"}
            for key, label in labels.items():
                cold, warm = renders["cold"][key], renders["warm"][key]
                print(f"  {label:<28} cold {statistics.median(cold):6.0f} / {max(cold):6.0f}"
                      f"   warm {statistics.median(warm):6.0f} / {max(warm):6.0f}")
            for phase in ("cold", "warm"):
                worst = max(renders[phase]["all"])
                verdict = "meets" if worst <= 2000 else "misses"
                print(f"target <= 2 s for every chart, {phase}: {verdict} (max {worst:.0f} ms)")
            if args.screenshot:
                print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
