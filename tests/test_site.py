"""Tests of carbon.site (a twin from an office's spreadsheet, and its check), the ``carbon site``
and ``carbon twin show`` commands, ``carbon demo --twin``, and the onboarding walk of
docs/onboarding.md, run command by command as the page writes them."""

from __future__ import annotations

import contextlib
import json
import math
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import run_cli

from carbon.site import SiteSourceError, check_site, init_site, read_sheets
from carbon.twin import Twin, load_twin

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "onboarding"
WALK = ROOT / "docs" / "onboarding.md"


pytestmark = pytest.mark.usefixtures("wide_console")
run = run_cli


# ------------------------------------------------------------------------------ a small sheet
SITE = """项目,数值,单位,来源,估算依据
名称,测试街道,,,
英文名,Test Subdistrict,,,
时区,Asia/Shanghai,,,
面积,1.2,平方公里,src,
常住人口,5000,,src,
居委会数,2,,src,
"""
SOURCES = """编号,出处,可信度
src,"Test publisher, Test document (2024), table 1",中
"""
AREAS = (
    "编号,名称,英文名,常住人口,户数,建筑面积(平方米),估算依据\n"
    'east,东居民区,East Area,3000,1300,78000,"户数: 常住人口÷2.3 (assumption; rounded); '
    '建筑面积: 户数×60 m2 (assumption)"\n'
    "west,西居民区,West Area,2000,870,52200,\n"
)
COMPOUNDS = """编号,名称,英文名,居民区,户数
east.garden,花园小区,Garden Estate,东,600
"""
FACILITIES = """编号,名称,英文名,所属,建筑面积
east.shed,东充电棚,East charging shed,east,120 m2
"""
METERS = """表号,所属,类型,单位,读数方式,周期,用途
E-EAST,东居民区,电,kWh,区间,小时,
W-WEST,west,水,m3,累计,月,
E-SHED,east.shed,电,,,,
"""
FILES = {"site": SITE, "sources": SOURCES, "residential_areas": AREAS,
         "compounds": COMPOUNDS, "facilities": FACILITIES, "meters": METERS}


def sheets(folder: Path, encoding: str = "utf-8", **changes: str | None) -> Path:
    """Write the small spreadsheet as CSV files (``None`` leaves a sheet out)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, text in {**FILES, **changes}.items():
        if text is not None:
            (folder / f"{stem}.csv").write_text(text, encoding=encoding)
    return folder


def test_a_small_spreadsheet_becomes_a_validated_twin(tmp_path: Path) -> None:
    folder = init_site(tmp_path / "sites" / "test_site", sheets(tmp_path / "in"))
    assert folder == tmp_path / "sites" / "test_site"
    twin = load_twin(folder)
    assert twin.name == "test_site" and twin.site.name_zh == "测试街道"
    assert twin.site.facts == {"area": "1.2 km2", "residents": 5000, "residential_areas": 2}
    assert twin.site.fact_sources == dict.fromkeys(twin.site.facts, "src")
    assert twin.root.magnitude("area", "m2") == pytest.approx(1_200_000)
    # no 片区 sheet: one generated block holds every residential area
    assert twin.node_ids("block") == ["whole_subdistrict"]
    assert twin.node_ids("residential_area") == ["east", "west"]
    east, west = twin.node("east"), twin.node("west")
    assert east.attributes["households"] == 1300 and east.is_estimated("households")
    assert east.estimated["households"] == "常住人口÷2.3 (assumption; rounded)"
    assert west.magnitude("floor_area") == 52200 and not west.is_estimated("floor_area")
    assert east.use_type == "residential"
    # parents and meter nodes found by Chinese name, short name (东 -> 东居民区) or id
    assert twin.node("east.garden").parent == "east"
    assert twin.node("east.shed").kind == "facility" and twin.use_type_of("east.shed") == "public"
    assert twin.node("east.shed").magnitude("floor_area") == 120
    assert twin.meters["E-EAST"].node == "east"
    water = twin.meters["W-WEST"]
    assert (water.measure, water.unit, water.reading, water.interval) == (
        "water", "m3", "register", "1mo")
    shed = twin.meters["E-SHED"]  # defaults: hourly interval readings in kWh
    assert (shed.unit, shed.reading, shed.interval) == ("kWh", "interval", "1h")
    assert (folder / "interventions.toml").read_text(encoding="utf-8").startswith("#")
    assert twin.boundary is not None and "1.2 km2" in twin.boundary.statement
    assert [i.gpc for i in twin.boundary.included] == [["I.1"], ["I.2"], ["VI.1"]]


def test_the_schematic_map_is_a_square_of_the_area(tmp_path: Path) -> None:
    twin = load_twin(init_site(tmp_path / "test_site", sheets(tmp_path / "in")))
    assert twin.geometry is not None and "schematic" in twin.geometry["name"]
    features = {f["properties"]["id"]: f for f in twin.geometry["features"]}
    assert set(features) == set(twin.nodes)
    assert all(f["properties"]["schematic"] for f in features.values())
    assert features["east.shed"]["geometry"]["type"] == "Point"
    ring = features["test_site"]["geometry"]["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    # no centre given: central Shanghai; a square of 1.2 km2 has sides of sqrt(1.2e6) = 1095.4 m
    assert (min(lons) + max(lons)) / 2 == pytest.approx(121.4737, abs=1e-6)
    assert (min(lats) + max(lats)) / 2 == pytest.approx(31.2304, abs=1e-6)
    width_m = (max(lons) - min(lons)) * 111_320 * math.cos(math.radians(31.2304))
    height_m = (max(lats) - min(lats)) * 110_540
    assert width_m == pytest.approx(1095.4, abs=0.5)
    assert height_m == pytest.approx(1095.4, abs=0.5)


def test_units_in_headers_and_cells(tmp_path: Path) -> None:
    facilities = ("编号,名称,英文名,所属,建筑面积,绿地面积(公顷),沿街长度\n"
                  'east.shed,东充电棚,East charging shed,east,"1,040.5 平方米",0.5,120 米\n')
    site = SITE.replace("面积,1.2,平方公里,src,", "面积,120,公顷,src,")
    twin = load_twin(init_site(tmp_path / "test_site",
                               sheets(tmp_path / "in", facilities=facilities, site=site)))
    shed = twin.node("east.shed")
    assert shed.attributes == {"floor_area": "1040.5 m2", "green_area": "5000 m2",
                               "frontage_length": "120 m"}
    assert twin.root.attributes["area"] == "1.2 km2" == twin.site.facts["area"]


def test_gbk_csv_files_read_like_utf8(tmp_path: Path) -> None:
    utf8 = load_twin(init_site(tmp_path / "a" / "s", sheets(tmp_path / "u")))
    gbk = load_twin(init_site(tmp_path / "b" / "s", sheets(tmp_path / "g", encoding="gb18030")))
    assert gbk.to_frame().equals(utf8.to_frame())
    assert gbk.meters == utf8.meters


def test_an_existing_twin_needs_force_and_keeps_its_register(tmp_path: Path) -> None:
    source = sheets(tmp_path / "in")
    folder = init_site(tmp_path / "s", source)
    (folder / "interventions.toml").write_text("# my register\n", encoding="utf-8")
    with pytest.raises(SiteSourceError, match=r"site\.toml: a twin is already here"):
        init_site(folder, source)
    init_site(folder, source, force=True)
    assert (folder / "interventions.toml").read_text(encoding="utf-8") == "# my register\n"


BAD = {
    "misspelt_time_zone": (
        {"site": SITE.replace("Asia/Shanghai", "Asia/Shangai")},
        r"site\.csv, entry 'sheet site row 4', field '数值': 时区 \(timezone\) 'Asia/Shangai': "
        r"not an IANA time zone \(such as 'Asia/Shanghai'\); did you mean 'Asia/Shanghai'\?$",
    ),
    "bad_region_code": (
        {"site": SITE.replace("时区,Asia/Shanghai,,,", "时区,Asia/Shanghai,,,\n区域代码,cn sh,,,")},
        r"entry 'sheet site row 5', field '数值': region: String should match pattern",
    ),
    "fact_without_source": (
        {"site": SITE + "户数,2100,,,\n"},
        r"entry 'sheet site row 8', field '数值': 户数 = 2100: a fact needs its 来源",
    ),
    "unknown_source": (
        {"site": SITE.replace("常住人口,5000,,src", "常住人口,5000,,nbs")},
        r"entry 'sheet site row 6', field '来源': unknown source 'nbs'; the 来源 sheet has: src",
    ),
    "no_site_sheet": ({"site": None}, r"no site sheet \(街道"),
    "count_with_words": (
        {"residential_areas": AREAS.replace("3000,1300", "约3000,1300")},
        r"residential_areas\.csv, entry 'sheet residential_areas row 2', field '常住人口': "
        r"expected a whole number, got '约3000'",
    ),
    "area_in_wrong_unit": (
        {"residential_areas": AREAS.replace(",78000,", ",78000 kWh,")},
        r"row 2', field '建筑面积\(平方米\)': floor_area: expected a quantity in m2",
    ),
    "estimate_of_a_missing_value": (
        {"residential_areas": AREAS.replace("建筑面积: 户数", "层数: 户数")},
        r"row 2', field '估算依据': estimate of '层数', which is not a value of this row",
    ),
    "estimate_without_its_field": (
        {"residential_areas": AREAS.replace('"户数: 常住人口÷2.3 (assumption; rounded); ', '"')
         .replace("建筑面积: 户数×60", "户数×60")},
        r"row 2', field '估算依据': write each estimate as '字段: 依据'",
    ),
    "unknown_parent": (
        {"compounds": COMPOUNDS.replace(",东,", ",北,")},
        r"compounds\.csv, entry 'sheet compounds row 2', field '居民区': unknown place '北'",
    ),
    "duplicate_node_id": (
        {"residential_areas": AREAS.replace("west,西居民区", "east,西居民区")},
        r"entry 'sheet residential_areas row 3': duplicate id 'east' "
        r"\(sheet residential_areas row 2\)",
    ),
    "bad_id": (
        {"residential_areas": AREAS.replace("west,西", "West Side,西")},
        r"row 3', field '编号': String should match pattern",
    ),
    "unknown_meter_type": (
        {"meters": METERS.replace("W-WEST,west,水", "W-WEST,west,蒸汽")},
        r"meters\.csv, entry 'sheet meters row 3', field '类型': type '蒸汽': one of 电/气/水/热",
    ),
    "duplicate_meter": (
        {"meters": METERS.replace("W-WEST", "E-EAST")},
        r"entry 'sheet meters row 3', field '表号': duplicate meter id 'E-EAST'",
    ),
    "meter_unit_of_another_dimension": (
        {"meters": METERS.replace("E-EAST,东居民区,电,kWh", "E-EAST,东居民区,电,m3")},
        r"entry 'sheet meters row 2', field 'unit': unit 'm3' does not convert to 'kWh'",
    ),
    "parent_of_the_wrong_kind": (  # a tree error of the twin, traced back to its row
        {"facilities": FACILITIES.replace(",east,", ",test_site,")},
        r"facilities\.csv, entry 'sheet facilities row 2', field 'parent': a facility cannot "
        r"sit under a subdistrict",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_spreadsheet_errors_name_file_sheet_row_and_column(tmp_path: Path, case: str) -> None:
    changes, pattern = BAD[case]
    source = sheets(tmp_path / "in", **changes)
    with pytest.raises(SiteSourceError, match=pattern) as info:
        init_site(tmp_path / "out" / "test_site", source)
    assert isinstance(info.value, ValueError)
    assert not (tmp_path / "out" / "test_site").exists()  # nothing written from a bad sheet


def test_missing_files_and_other_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SiteSourceError, match=r"nothing\.xlsx: file not found"):
        read_sheets(tmp_path / "nothing.xlsx")
    (tmp_path / "sheet.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SiteSourceError, match=r"expected a \.xlsx workbook or \.csv files"):
        read_sheets(tmp_path / "sheet.txt")
    (tmp_path / "fake.xlsx").write_text("not a zip", encoding="utf-8")
    with pytest.raises(SiteSourceError, match=r"fake\.xlsx: not a readable \.xlsx workbook"):
        read_sheets(tmp_path / "fake.xlsx")


# ------------------------------------------------------------------------------ the check
def test_check_reports_what_is_missing(tmp_path: Path) -> None:
    # The west area loses its residents, households and floor area; a gas meter is put on it.
    areas = AREAS.replace("west,西居民区,West Area,2000,870,52200,", "west,西居民区,West Area,,,,")
    meters = METERS + "G-WEST,west,气,m3,累计,月,\n"
    folder = init_site(tmp_path / "s", sheets(tmp_path / "in", residential_areas=areas,
                                              meters=meters))
    report = check_site(folder)
    assert not report.ok
    assert report.codes() == [
        "site.fact_mismatch",  # residents: 3,000 in the areas, 5,000 published
        "site.boundary_incomplete",
        "node.no_floor_area",  # west
        "meter.no_synthetic_size",  # G-WEST needs households on west or above
    ]  # W-WEST is sized from residents, which the subdistrict above it has
    mismatch = report.missing[0]
    assert mismatch.data == {"item": "residents", "twin": 3000, "published": 5000}
    assert report.totals["residential_areas"] == (2, 2)
    assert report.missing[3].data == {"meter": "G-WEST"}


def test_check_lists_every_estimate_with_its_basis(tmp_path: Path) -> None:
    report = check_site(init_site(tmp_path / "s", sheets(tmp_path / "in")))
    est = report.estimated
    assert list(est.columns) == ["entry", "kind", "attribute", "value", "basis"]
    rows = est[est.entry == "east"].set_index("attribute")
    assert rows.loc["households", "value"] == 1300
    assert rows.loc["floor_area", "basis"] == "户数×60 m2 (assumption)"
    assert est.attribute.tolist() == ["households", "floor_area", "geometry"]


def test_check_of_the_packaged_twin() -> None:
    report = check_site("shimen_erlu")
    assert report.totals["residential_areas"] == (11, 11)
    assert report.totals["office_buildings"] == (31, 31)
    assert report.totals["residents"] == (22000, 22000)
    assert "site.fact_mismatch" not in report.codes()
    assert "meter.no_synthetic_size" not in report.codes()  # the demo synthesises every meter
    assert len(report.estimated) > 100


# ------------------------------------------------------------------------------ Changfeng Xincun
@pytest.fixture(scope="module")
def changfeng(tmp_path_factory: pytest.TempPathFactory) -> Twin:
    folder = tmp_path_factory.mktemp("cf") / "changfeng_xincun"
    return load_twin(init_site(folder, EXAMPLE / "changfeng_xincun"))


def test_changfeng_twin_holds_the_published_figures(changfeng: Twin) -> None:
    # docs/research/site.md §3: 5.8 km2, 27 committees, 107,100 residents, 32,400 over 60,
    # 209 elevators signed, under construction or completed.
    facts = changfeng.site.facts
    assert facts == {"area": "5.8 km2", "residents": 107100, "residents_over_60": 32400,
                     "residential_areas": 27, "elevators_added": 209}
    assert changfeng.root.magnitude("area", "m2") == pytest.approx(5_800_000)
    assert len(changfeng.node_ids("residential_area")) == 27
    assert changfeng.total("residents", "residential_area") == 107100  # 18 x 3,967 + 9 x 3,966
    assert changfeng.total("residents_over_60", "residential_area") == 32400  # 27 x 1,200
    assert changfeng.assets["added_elevators"].attributes["count"] == 209
    named = {changfeng.node(i).name_zh for i in ("zhongshanqiao", "changfeng_yicun",
                                                  "caojiacun", "zhongjiang")}
    assert named == {"中山桥居民区", "长风一村居民区", "曹家村居民区", "中江居民区"}
    # 1 root + 1 block + 27 areas + 2 compounds + 2 offices + 1 frontage + 1 facility
    assert len(changfeng.nodes) == 35
    # 27 areas x 3 + 2 offices x 3 + shops 2 + the elderly centre 1
    assert len(changfeng.meters) == 90
    assert len(changfeng.meter_ids(measure="electricity")) == 31
    centre = changfeng.node("west_elderly_centre")
    assert centre.magnitude("floor_area") == 1040.5 and not centre.estimated  # published


def test_changfeng_estimates_all_say_so(changfeng: Twin) -> None:
    for nid in changfeng.node_ids("residential_area"):
        node = changfeng.node(nid)
        assert set(node.estimated) == set(node.attributes), nid
    unknown = [n for n in changfeng.nodes.values() if "名称未知" in n.name_zh]
    assert len(unknown) == 23 + 2 + 1  # 23 committees, 2 office buildings, 1 shop frontage
    assert all("name unknown" in n.name_en for n in unknown)
    report = check_site(changfeng.folder)
    assert report.codes() == ["site.boundary_incomplete"]
    # 27 areas x 4 + 2 offices x 2 + the frontage x 2 + the schematic map
    assert len(report.estimated) == 115


def test_the_workbook_says_what_the_csv_files_say(tmp_path: Path, changfeng: Twin) -> None:
    from_xlsx = init_site(tmp_path / "changfeng_xincun", EXAMPLE / "changfeng_xincun.xlsx")
    for name in ("site.toml", "nodes.toml", "meters.toml", "assets.toml", "geometry.geojson"):
        def body(folder: Path, name: str = name) -> list[str]:
            text = (folder / name).read_text(encoding="utf-8")
            return [ln for ln in text.splitlines() if not ln.startswith("#")]

        assert body(from_xlsx) == body(changfeng.folder), name
    assert "说明" not in {s.name for s in read_sheets(EXAMPLE / "changfeng_xincun.xlsx").values()}


# ------------------------------------------------------------------------------ the CLI
def test_cli_site_init_and_check(tmp_path: Path) -> None:
    source = sheets(tmp_path / "in")
    out = run("site", "init", "test_site", "--from", source, "--out", tmp_path / "s").stdout
    assert f"Wrote {tmp_path / 's'}: 6 nodes, 3 meters, 0 assets" in out
    assert "site.boundary_incomplete" in out and "households" in out
    check = run("site", "check", tmp_path / "s").stdout
    assert "residents" in check and "5,000" in check and "Estimated (3 values" in check
    run("site", "check", tmp_path / "s", "--strict", code=1)
    again = run("site", "init", "test_site", "--from", source, "--out", tmp_path / "s", code=2)
    assert again.stderr.startswith("error: ") and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_cli_site_init_default_folder_and_csv_files(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    source = sheets(tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    files = [a for f in sorted(source.iterdir()) for a in ("--from", f)]
    run("site", "init", "test_site", *files)
    assert load_twin(tmp_path / "sites" / "test_site").name == "test_site"


def test_cli_site_errors_are_one_line(tmp_path: Path) -> None:
    source = sheets(tmp_path / "in", site=SITE.replace("Asia/Shanghai", "Asia/Shangai"))
    result = run("site", "init", "x", "--from", source, "--out", tmp_path / "x", code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "did you mean 'Asia/Shanghai'?" in lines[0]
    result = run("site", "init", "Bad Name", "--from", sheets(tmp_path / "in"), "--out",
                 tmp_path / "y", code=2)
    assert "site id 'Bad Name'" in result.stderr
    result = run("site", "check", tmp_path / "nowhere", code=2)
    assert "no community folder" in result.stderr


def test_cli_twin_show_lists_node_and_meter_ids(tmp_path: Path) -> None:
    folder = init_site(tmp_path / "s", sheets(tmp_path / "in"))
    out = run("twin", "show", folder).stdout
    assert "东居民区 East Area · residential_area (east)" in out
    assert "(whole_subdistrict)" in out
    meters = out.split("3 meters")[1]
    for line in ("E-EAST ", "W-WEST ", "E-SHED "):
        assert line in meters
    assert "east.shed" in meters and "register, 1mo" in meters
    assert "3 meters" not in run("twin", "show", folder, "--no-meters").stdout
    packaged = run("twin", "show", "shimen_erlu", "--depth", "1").stdout
    assert "E-HENGFENG-MAILBOX" in packaged and "(suhewan)" in packaged


def test_cli_demo_takes_another_twin(tmp_path: Path, changfeng: Twin) -> None:
    folder = shutil.copytree(changfeng.folder, tmp_path / "sites" / "changfeng_xincun")
    out = tmp_path / "demo"
    result = run("demo", "--twin", folder, "--out", out, "--no-serve",
                 "--start", "2024-01-01", "--end", "2024-03-01")
    assert "长风新村街道 · Changfeng Xincun Subdistrict · demo (SYNTHETIC data)" in result.stdout
    script = tomllib.loads((out / "ledger.toml").read_text(encoding="utf-8"))
    assert script["ledger"]["twin"] == "../sites/changfeng_xincun"  # relative to the script
    assert script["ledger"]["store"] == "changfeng_xincun.duckdb"
    assert "verify" not in script  # the demo's metered savings are Shimen Erlu's
    latest = (out / "snapshots" / "LATEST").read_text(encoding="utf-8").strip()
    manifest = json.loads((out / "snapshots" / latest / "manifest.json").read_text("utf-8"))
    assert manifest["twin"]["name"] == "changfeng_xincun"


# ------------------------------------------------------------------------------ the walk
def _block(marker: str) -> str:
    """The fenced code block after ``<!-- walk:<marker>`` in docs/onboarding.md."""
    text = WALK.read_text(encoding="utf-8")
    m = re.search(rf"<!-- walk:{re.escape(marker)}.*?-->\s*```\w*\n(.*?)```", text, re.S)
    assert m, f"docs/onboarding.md has no walk:{marker} block"
    return m.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _serve(args: list[str], cwd: Path) -> Iterator[str]:
    """``carbon wall ...`` in a subprocess on a free port; yields its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from carbon.cli import main; main()", *args, "--port", str(port)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise AssertionError(f"wall did not start: {proc.communicate()}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_onboarding_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/onboarding.md §3, line by line, in a fresh folder holding only the example."""
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "onboarding")
    monkeypatch.chdir(tmp_path)
    commands = [shlex.split(ln) for ln in _block("commands").splitlines() if ln.strip()]
    assert [c[:2] for c in commands] == [
        ["carbon", "site"], ["carbon", "site"], ["carbon", "twin"], ["carbon", "synth"],
        ["carbon", "ingest"], ["carbon", "ledger"], ["carbon", "wall"]]
    out = {}
    for args in commands[:-1]:
        if args[1:3] == ["ledger", "build"]:
            (tmp_path / "tmp" / "changfeng" / "ledger.toml").write_text(
                _block("ledger.toml"), encoding="utf-8")
        out[" ".join(args[1:3])] = run(*args[1:]).stdout
    assert "35 nodes, 90 meters, 1 assets" in out["site init"]
    assert "107,100" in out["site check"] and "site.boundary_incomplete" in out["site check"]
    assert "(zhongshanqiao)" in out["twin show"] and "E-ZHONGSHANQIAO" in out["twin show"]
    assert "rollover" in out["synth tmp/sites/changfeng_xincun"]
    assert "synthetic_water_monthly_gbk.csv" in out["ingest tmp/changfeng/changfeng.duckdb"]
    assert "Snapshot: tmp/changfeng/snapshots/changfeng_xincun_202401-202501_" in " ".join(
        out["ledger build"].split())
    with _serve(commands[-1][1:], tmp_path) as url:
        with urllib.request.urlopen(url + "_dash-layout", timeout=30) as r:
            layout = r.read().decode("utf-8")
    assert "长风新村街道" in json.dumps(json.loads(layout), ensure_ascii=False)
    assert '"id":"sel","data":"changfeng_xincun"' in layout
