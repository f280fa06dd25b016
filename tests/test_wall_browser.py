"""The wall screen end to end: the real server (waitress, as ``carbon wall`` runs it) on
127.0.0.1 and a real headless Chromium (Debian ``chromium`` + ``chromium-driver``).

One browser and one server are shared by the module to keep the run short; the test that
publishes a new snapshot runs last. Skipped only when Chromium or its driver is absent
(``make test`` installs them).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from carbon.dashboard.data import load_snapshot
from carbon.dashboard.testing import CHROMIUM, chrome, write_synthetic_snapshot

try:
    from selenium import webdriver
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the test extra installs selenium
    webdriver = None

HAVE_BROWSER = (webdriver is not None and Path(CHROMIUM).exists()
                and shutil.which("chromedriver") is not None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAVE_BROWSER, reason=f"needs {CHROMIUM} and chromedriver (Debian "
                       "packages chromium and chromium-driver; `make test` installs them)"),
]

SERVE = ("import sys; from carbon.dashboard.server import serve; "
         "serve(sys.argv[1], port=int(sys.argv[2]), carousel_seconds=5, poll_seconds=1, "
         "watch_seconds=0.5, threads=8)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def wall_server(snapshots: Path) -> Iterator[str]:
    """``carbon.dashboard.serve`` in a subprocess on a free loopback port; yields its URL."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(snapshots), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"wall server did not start:\n{err}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wall")
    write_synthetic_snapshot(out, sites=40, years=2, interventions=True,
                             target={"base_year": 2024, "reduction": 0.2, "target_year": 2030},
                             snapshot_id="synthetic_first")
    return out


@pytest.fixture(scope="module")
def url(snapshots: Path) -> Iterator[str]:
    with wall_server(snapshots) as u:
        yield u


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    d = chrome(console_log=True)
    yield d
    d.quit()


def wait_for(check: Callable[[], object], timeout: float = 10, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # element not there yet
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def text(d: webdriver.Chrome, element_id: str) -> str:
    return d.find_element(By.ID, element_id).text


def open_page(d: webdriver.Chrome, url: str) -> None:
    d.get(url)
    wait_for(lambda: text(d, "kpi-emissions-value").strip() not in ("", "—"), 20, "KPI value")
    wait_for(lambda: d.execute_script(
        "const g = document.querySelector('#map-graph .js-plotly-plot');"
        "return g && g.data && g.data.length > 2;"), 10, "map drawn")
    d.get_log("browser")  # start each test with an empty console


def severe(d: webdriver.Chrome) -> list[dict]:
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE"]


# ------------------------------------------------------------------------------ tests
def test_page_loads_without_console_errors(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url)
    open_page(driver, url)
    assert text(driver, "map-title") == "碳排放地图"  # Chinese by default
    assert "2025年排放" in text(driver, "kpi-emissions-label")
    assert "万吨CO₂e" in text(driver, "kpi-emissions-value")
    assert "synthetic_first" in text(driver, "status")
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(r.startswith(url) for r in resources)  # nothing off the box
    driver.find_element(By.ID, "fullscreen-btn").click()  # refused headless, but quietly
    time.sleep(0.5)
    assert severe(driver) == []
    assert "Traceback" not in driver.page_source


def test_language_switch(driver: webdriver.Chrome, url: str) -> None:
    open_page(driver, url)
    driver.find_element(By.ID, "lang-btn").click()
    wait_for(lambda: text(driver, "map-title") == "Emissions map", what="English title")
    wait_for(lambda: "Emissions 2025" in text(driver, "kpi-emissions-label"), what="KPI")
    wait_for(lambda: "kt CO₂e" in text(driver, "kpi-emissions-value"), what="English unit")
    wait_for(lambda: "Location-based" in text(driver, "trend-note"), what="English note")
    wait_for(lambda: "Meters with gaps" in text(driver, "quality-body"), what="quality panel")
    wait_for(lambda: "Meter alerts" in text(driver, "suggest-body"), what="alerts panel")
    assert "Marginal abatement cost curve" in driver.page_source
    driver.find_element(By.ID, "lang-btn").click()
    wait_for(lambda: text(driver, "map-title") == "碳排放地图", what="Chinese title")
    assert severe(driver) == []


def _trend_total(d: webdriver.Chrome) -> float:
    return float(d.execute_script(
        "const g = document.querySelector('#trend-graph .js-plotly-plot');"
        "return (g._fullData || []).reduce("
        "  (s, t) => s + Array.from(t.y || []).reduce((a, b) => a + b, 0), 0);"))


def test_map_click_drills_down_and_panels_follow(driver: webdriver.Chrome, url: str,
                                                 snapshots: Path) -> None:
    open_page(driver, url)
    snap = load_snapshot(snapshots)
    root_total = snap.monthly("synth").co2e_t.sum()
    wait_for(lambda: abs(_trend_total(driver) - root_total) < 1e-6 * root_total,
             what="trend of the subdistrict")
    # click inside block b01's polygon (its lower-left quarter, away from the label)
    ring = snap.geometry["b01"]["coordinates"][0]
    x = min(p[0] for p in ring) * 0.75 + max(p[0] for p in ring) * 0.25
    y = min(p[1] for p in ring) * 0.75 + max(p[1] for p in ring) * 0.25
    px, py = driver.execute_script(
        "const g = document.querySelector('#map-graph .js-plotly-plot');"
        "const L = g._fullLayout, r = g.getBoundingClientRect();"
        "return [r.left + L.xaxis._offset + L.xaxis.l2p(arguments[0]),"
        "        r.top + L.yaxis._offset + L.yaxis.l2p(arguments[1])];", x, y)
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(int(px), int(py))
    actions.pointer_action.pause(0.3)
    actions.pointer_action.click()
    actions.perform()
    wait_for(lambda: "第2街区" in text(driver, "crumbs"), what="breadcrumb of block 2")
    wait_for(lambda: text(driver, "trend-note").startswith("第2街区"), what="trend follows")
    block_total = snap.monthly("b01").co2e_t.sum()
    wait_for(lambda: abs(_trend_total(driver) - block_total) < 1e-6 * block_total,
             what="trend of block 2")
    expected = snap.kpis("b01")
    assert text(driver, "kpi-emissions-value").startswith(f"{expected.emissions_t / 1e4:.2f}")
    wait_for(lambda: "缺数表计" in text(driver, "quality-body"), what="quality follows")
    wait_for(lambda: "表计预警" in text(driver, "suggest-body"), what="alerts follow")
    # the ranking follows too: only block 2's units
    ids = driver.execute_script(
        "return Array.from(document.querySelector('#ranking-graph .js-plotly-plot')"
        "._fullData[0].customdata)")
    assert ids and all(i.startswith("b01.") for i in ids)
    # and the breadcrumb goes back up
    driver.find_element(By.CSS_SELECTOR, "#crumbs .crumb:not(.current)").click()
    wait_for(lambda: text(driver, "trend-note").startswith("合成街道"), what="back to root")
    assert severe(driver) == []


def test_provenance_opens_and_closes(driver: webdriver.Chrome, url: str) -> None:
    open_page(driver, url)
    overlay = driver.find_element(By.ID, "prov-overlay")
    assert "hidden" in overlay.get_attribute("class")
    driver.find_element(By.ID, "kpi-emissions").click()
    wait_for(lambda: "hidden" not in overlay.get_attribute("class"), what="overlay open")
    wait_for(lambda: "syn.grid.location" in text(driver, "prov-body"), what="factor listed")
    body = text(driver, "prov-body")
    assert "SYNTHETIC factor syn-grid" in body  # the factor's citation
    assert "E-B00-RA00-C00" in body  # a meter behind the number
    assert "2025年排放" in text(driver, "prov-title")
    driver.find_element(By.ID, "prov-close").click()
    wait_for(lambda: "hidden" in overlay.get_attribute("class"), what="overlay closed")
    assert severe(driver) == []


def test_carousel_cycles_views(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url + "?carousel=1")
    wait_for(lambda: "轮播中" in text(driver, "carousel-state"), what="carousel on")
    wait_for(lambda: "第1街区" in text(driver, "crumbs"), timeout=12, what="next view")
    assert "视图 2/3" in text(driver, "carousel-state")
    driver.find_element(By.ID, "carousel-btn").click()  # hold
    wait_for(lambda: "轮播已暂停" in text(driver, "carousel-state"), what="paused")


def test_full_screen_screenshot(driver: webdriver.Chrome, url: str, tmp_path: Path) -> None:
    open_page(driver, url)
    time.sleep(0.5)
    path = tmp_path / "wall.png"
    driver.save_screenshot(str(path))
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (1920, 1080)
    screen = driver.find_element(By.ID, "screen").rect
    assert (round(screen["width"]), round(screen["height"])) == (1920, 1080)


def test_bad_snapshots_show_a_calm_message(driver: webdriver.Chrome,
                                           tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    corrupt = tmp_path / "corrupt"
    folder = write_synthetic_snapshot(corrupt, sites=8, blocks=2)
    (folder / "entries.parquet").write_bytes(b"PAR1 half-written")
    with wall_server(empty) as u1, wall_server(corrupt) as u2:
        driver.get(u1)
        wait_for(lambda: "等待发布的账本快照" in text(driver, "status"), what="waiting message")
        wait_for(lambda: "数据暂不可用" in text(driver, "kpi-emissions-label"), what="tile")
        assert "Traceback" not in driver.page_source
        driver.get(u2)
        wait_for(lambda: "数据暂不可用" in text(driver, "status"), what="unavailable")
        assert "SHA-256" in text(driver, "status")
        assert "Traceback" not in driver.page_source and "File \"" not in driver.page_source


def test_newly_published_snapshot_appears(driver: webdriver.Chrome, url: str,
                                          snapshots: Path) -> None:
    open_page(driver, url)
    before = text(driver, "kpi-emissions-value")
    write_synthetic_snapshot(snapshots, sites=40, years=2, seed=9, scale=1.6,
                             snapshot_id="synthetic_second")
    wait_for(lambda: "synthetic_second" in text(driver, "status"), timeout=10,
             what="new snapshot id in the header")
    wait_for(lambda: text(driver, "kpi-emissions-value") != before, what="new numbers")
    assert severe(driver) == []
