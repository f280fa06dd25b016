"""The wall's 今日 / Today view (carbon.dashboard.today): its pure parts, then the real server
(waitress, as ``carbon wall`` runs it) on 127.0.0.1 and a real headless Chromium at 1920 x 1080.

The figures come from the small store of tests/test_today.py (hand-computed there): at 10:00 on
2024-06-04 the community has emitted 84 kg CO2e against a usual 130.2 kg, meter E5 is silent.
The browser tests share one server and one browser and run in order: no today.json (a calm
line), the figures, the language switch, a newer today.json appearing without a reload, and
stale live data shown loudly.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_today import NOW, _readings, _twin
from test_wall_browser import HAVE_BROWSER, wait_for, wall_server

from carbon.dashboard import today as view
from carbon.dashboard.testing import CHROMIUM, chrome, write_synthetic_snapshot
from carbon.factors import load_factor_set
from carbon.store import Store
from carbon.today import FILE_NAME, Today, compute_today
from carbon.twin import load_twin

try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the test extra installs selenium
    webdriver = None  # type: ignore[assignment]

NOON = NOW.replace(hour=12)


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Today]:
    """Today at 10:00 and at 12:00 (two newer readings of E1) from the hand-made store."""
    tmp = tmp_path_factory.mktemp("wall_today")
    twin = load_twin(_twin(tmp / "mini"))
    factors = load_factor_set("shanghai-2022")
    with Store(tmp / "mini.duckdb") as store:
        store.sync_twin(twin)
        store.ingest(_readings(tmp / "readings.csv"), twin=twin)
        return {
            "ten": compute_today(store, twin, factors, NOW),
            "noon": compute_today(store, twin, factors, NOON),
        }


# ------------------------------------------------------------------------------ pure parts
def test_tiles_and_lists(figures: dict[str, Today]) -> None:
    ten = figures["ten"]
    tiles = view.tiles(ten, "zh")
    assert tiles["emissions"][:2] == ("今日排放 · 截至 10:00", "84.0 千克CO₂e")
    assert tiles["emissions"][3] == "为常态的 65%"  # 84 / 130.2
    assert tiles["energy"][1] == "200 千瓦时" and "5/5" in tiles["energy"][3]
    assert tiles["silent"][1] == "1"
    assert view.tiles(ten, "en")["emissions"][2] == "usual 130 kg CO₂e (range 101–160 kg CO₂e)"
    rows = view.block_rows(ten, "b1", "zh")
    assert [r.id["id"] for r in rows] == ["mini", "b1", "b2"]
    assert "selected" in rows[1].className and "td-root" in rows[0].className
    silent = view.silent_rows(ten, "zh")
    assert silent[0].children[0].children == "E5"
    # a stand-in name is shown muted, as in the monthly panels
    name = rows[2].children[0].children[0]
    assert name.className == "td-name"
    nodes = ten.nodes.assign(name_zh=["小社区", "一号街区", "二号街区(名称未知)"])
    muted = view.block_rows(dataclasses.replace(ten, nodes=nodes), "b1", "zh")
    assert muted[2].children[0].children[0].className == "td-name placeholder"
    assert muted[1].children[0].children[0].className == "td-name"
    assert silent[0].children[1].children == "二号楼 · 最后读数 08:00 · 已缺 8 个时段"


def test_curve_spec(figures: dict[str, Today]) -> None:
    spec = view.curve_spec(figures["ten"], "mini", "en")
    names = [tr.get("name") for tr in spec["data"]]
    assert names[1:4] == ["usual range (min–max)", "usual (mean)", "today"]
    today = spec["data"][3]
    assert max(y for y in today["y"] if y is not None) == pytest.approx(84)  # kg: below 1 t
    assert today["x"][-1] == 24 and today["y"][-1] is None  # after now: no line
    assert spec["layout"]["yaxis"]["title"]["text"] == "kg CO₂e"


def test_freshness_rules(figures: dict[str, Today]) -> None:
    ten = figures["ten"]
    f = view.freshness(ten, "zh")
    assert f["status_class"] == "historical" and "历史数据 · 2024-06-04" in f["status"]
    live = dataclasses.replace(ten, historical=False)
    at = NOW.timestamp()
    assert view.freshness(live, "en", now=at + 29 * 60)["status_class"] == "live"
    stale = view.freshness(live, "en", now=at + 31 * 60)
    assert stale["status_class"] == "stale"
    assert stale["status"] == "LIVE DATA STOPPED: newest reading 10:00 (31 min ago)"
    calm = view.freshness(None, "zh")
    assert calm["status_class"] == "calm" and calm["status"].startswith("未连接实时采集")


def test_today_path(tmp_path: Path) -> None:
    assert view.today_path(tmp_path) == tmp_path / FILE_NAME
    (tmp_path / "snap1").mkdir()
    (tmp_path / "snap1" / "manifest.json").write_text("{}", encoding="utf-8")
    assert view.today_path(tmp_path / "snap1") == tmp_path / FILE_NAME  # pinned: its parent


# ------------------------------------------------------------------------------ browser
needs_browser = pytest.mark.skipif(
    not HAVE_BROWSER,
    reason=f"needs {CHROMIUM} and chromedriver (Debian packages chromium "
    "and chromium-driver; `make test` installs them)",
)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wall_today_snaps")
    write_synthetic_snapshot(out, sites=6, years=1, snapshot_id="today_wall")
    return out


@pytest.fixture(scope="module")
def url(snapshots: Path) -> Iterator[str]:
    if not HAVE_BROWSER:
        pytest.skip("no browser")
    with wall_server(snapshots) as u:
        yield u


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if not HAVE_BROWSER:
        pytest.skip("no browser")
    d = chrome(console_log=True)
    yield d
    d.quit()


def _text(d: Any, element_id: str) -> str:
    return str(d.find_element(By.ID, element_id).text)


def _severe(d: Any) -> list[dict[str, Any]]:
    return [e for e in d.get_log("browser") if e["level"] == "SEVERE"]


@needs_browser
def test_without_today_json_the_view_is_calm(driver: Any, url: str, snapshots: Path) -> None:
    assert not (snapshots / FILE_NAME).exists()
    driver.get(url)
    wait_for(lambda: _text(driver, "today-btn") == "今日", 20, "the 今日 button")
    driver.find_element(By.ID, "today-btn").click()
    wait_for(
        lambda: "hidden" not in driver.find_element(By.ID, "today-view").get_attribute("class"),
        10,
        "the Today view shown",
    )
    wait_for(lambda: "未连接实时采集" in _text(driver, "today-status"), 15, "calm line")
    assert _text(driver, "today-btn") == "月度"
    assert "Traceback" not in driver.page_source
    driver.find_element(By.ID, "today-btn").click()  # and back to the monthly view
    wait_for(
        lambda: "hidden" in driver.find_element(By.ID, "today-view").get_attribute("class"),
        10,
        "the Today view hidden",
    )
    assert _severe(driver) == []


@needs_browser
def test_the_view_shows_today_json(
    driver: Any, url: str, snapshots: Path, figures: dict[str, Today]
) -> None:
    figures["ten"].write(snapshots)
    driver.get(url + "?view=today")
    wait_for(lambda: _text(driver, "td-emissions-value") == "84.0 千克CO₂e", 20, "emissions")
    assert _text(driver, "td-emissions-foot") == "为常态的 65%"
    assert _text(driver, "td-energy-value") == "200 千瓦时"
    assert _text(driver, "td-newest-value") == "10:00"
    assert "历史数据 · 2024-06-04" in _text(driver, "today-status")
    blocks = _text(driver, "today-blocks")
    assert "一街区" in blocks and "二街区" in blocks and "65%" in blocks
    # the silent meter: an alert, red
    assert "E5" in _text(driver, "today-silent")
    assert "alert" in driver.find_element(By.ID, "today-silent-panel").get_attribute("class")
    colour = driver.execute_script(
        "return getComputedStyle(document.querySelector('#today-silent .td-meter')).color"
    )
    assert colour == "rgb(255, 91, 91)"
    # the curve: today's line ends at 84 kg at 10:00
    top = driver.execute_script(
        "const g = document.querySelector('#today-curve .js-plotly-plot');"
        "const t = g.data.find(d => d.name === '今日');"
        "return Math.max(...t.y.filter(v => v !== null));"
    )
    assert top == pytest.approx(84)
    # a click on a block draws its curve
    driver.find_element(
        By.XPATH, "//button[contains(@class, 'td-row')][.//span[text()='二街区']]"
    ).click()
    wait_for(lambda: _text(driver, "today-curve-title").startswith("二街区"), 10, "b2 curve")
    # English and back
    driver.find_element(By.ID, "lang-btn").click()
    wait_for(
        lambda: _text(driver, "td-emissions-label") == "Emissions today · up to 10:00",
        10,
        "English tiles",
    )
    wait_for(
        lambda: "Block 2 · emissions so far vs usual" == _text(driver, "today-curve-title"),
        10,
        "English curve title",
    )
    assert "historical data · 2024-06-04" in _text(driver, "today-status")
    assert _text(driver, "today-btn") == "Monthly"
    driver.find_element(By.ID, "lang-btn").click()
    wait_for(lambda: _text(driver, "td-energy-label") == "今日用电 · 截至 10:00", 10, "Chinese")
    assert _severe(driver) == []


@needs_browser
@pytest.mark.parametrize(("width", "height"), [(3840, 2160), (1366, 768)])
def test_readable_at_4k_and_whole_at_1366(driver: Any, url: str, width: int, height: int) -> None:
    """The typography probe of tests/test_wall_typography.py on the Today view: chart text at
    least 22 px on a 4K wall; no text of the view cut, spilling or overlapping at 1366 x 768."""
    from test_wall_typography import MIN_CHART_PX_4K, PROBE

    probe_js = PROBE.replace(
        "'.header, .kpi, .panel, .prov-overlay:not(.hidden) .prov-card'",
        "'.header, #today-view .panel, .td-tile, .today-status'",
    )
    assert probe_js != PROBE
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        wait_for(
            lambda: (
                driver.execute_script("return window.carbonWallScale")
                == pytest.approx(min(width / 1920, height / 1080))
            ),
            10,
            "the canvas scaled",
        )
        time.sleep(1.0)  # plotly redraws for the new size
        probe = driver.execute_script(probe_js)
        fonts = [f for f in probe["fonts"] if f["graph"] == "today-curve"]
        assert len(fonts) > 10  # ticks, legend, axis title
        if width == 3840:
            assert min(f["px"] for f in fonts) >= MIN_CHART_PX_4K
        else:
            assert [o for o in probe["overlaps"] if o["graph"] == "today-curve"] == []
            # the monthly figures lie under the view: tests/test_wall_typography.py's own
            mine = [
                o
                for o in probe["overflows"]
                if not str(o["where"]).endswith("-graph") or o["where"] == "today-curve"
            ]
            assert mine == []
    finally:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False},
        )


@needs_browser
def test_a_newer_today_json_appears_without_reload(
    driver: Any, url: str, snapshots: Path, figures: dict[str, Today]
) -> None:
    wait_for(lambda: _text(driver, "td-newest-value") == "10:00", 20, "the 10:00 figures")
    driver.execute_script("window.__noReload = 'still here';")
    figures["noon"].write(snapshots)
    start = time.monotonic()
    wait_for(lambda: _text(driver, "td-newest-value") == "12:00", 60, "the 12:00 reading")
    seconds = time.monotonic() - start
    print(
        f"\nnewer today.json on the page after {seconds:.1f} s "
        f"(poll every {view.POLL_SECONDS:.0f} s)"
    )
    assert driver.execute_script("return window.__noReload") == "still here"
    wait_for(lambda: _text(driver, "td-emissions-label") == "今日排放 · 截至 12:00", 10, "tiles")
    assert "E1" not in _text(driver, "today-silent")  # E1 read at 12:00; E2, E3, E5, H1 silent
    assert "H1" in _text(driver, "today-silent")


@needs_browser
def test_stale_live_data_are_loud(
    driver: Any, url: str, snapshots: Path, figures: dict[str, Today]
) -> None:
    dataclasses.replace(figures["noon"], historical=False).write(snapshots)
    wait_for(
        lambda: "stale" in driver.find_element(By.ID, "today-status").get_attribute("class"),
        30,
        "the stale banner",
    )
    status = driver.find_element(By.ID, "today-status")
    assert "实时数据中断" in status.text and "12:00" in status.text
    size = driver.execute_script(
        "return parseFloat(getComputedStyle(arguments[0]).fontSize)", status
    )
    assert size >= 32  # design px at 1920 x 1080: read from across the room
    (snapshots / FILE_NAME).unlink()
    wait_for(lambda: "未连接实时采集" in _text(driver, "today-status"), 30, "calm again")
    assert _severe(driver) == []


def test_every_key_used_exists() -> None:
    from test_dashboard_data import _literal_keys

    from carbon.dashboard import i18n

    used = _literal_keys(Path(view.__file__))
    used |= {f"td_wd{d}" for d in range(7)}
    assert len(used) > 30
    assert used <= set(i18n.TEXT), sorted(used - set(i18n.TEXT))
