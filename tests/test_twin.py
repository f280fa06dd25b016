"""Tests of carbon.twin: the packaged Shimen Erlu twin and every bad-file case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from carbon.errors import CarbonError, TwinError
from carbon.twin import Twin, list_sites, load_twin, sites_dir


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


def kinds(twin: Twin, kind: str) -> list:
    return [n for n in twin.nodes.values() if n.kind == kind]


# --- the reference community matches the articles (docs/research/site.md §1) -------------


def test_packaged_sites_listed() -> None:
    assert "shimen_erlu" in list_sites()


def test_totals_match_digest(twin: Twin) -> None:
    # DIGEST.md: 3 street blocks, 11 residential areas, 31 office buildings, ~22,000
    # residents, 550+ street-front shops, 12 street committees, 1.07 km2.
    assert len(kinds(twin, "block")) == 3
    assert len(kinds(twin, "residential_area")) == 11
    assert len(kinds(twin, "office_building")) == 31
    assert len(kinds(twin, "street")) == 12
    assert twin.total("residents", kind="residential_area") == 22000
    assert twin.root.attributes["residents"] == twin.site.facts["residents"] == 22000
    assert twin.total("shops") >= 550
    assert twin.root.magnitude("area") == pytest.approx(1.07)
    assert twin.root.magnitude("area", "m2") == pytest.approx(1_070_000)


def test_residential_area_names_are_the_eleven_committees(twin: Twin) -> None:
    # docs/research/gpc.md §3: the 11 residents' committees in statistical-code order.
    expected = {"奉贤", "东王", "新德", "郑家巷", "张家宅", "祥福", "达安城", "新福康里", "恒丰",
                "华沁", "斯文里"}
    names = {n.name_zh.removesuffix("居民区") for n in kinds(twin, "residential_area")}
    assert names == expected


def test_published_facts_are_not_marked_estimated(twin: Twin) -> None:
    # seed 001: Xinfukangli has 1,504 resident households; Hengfeng north building 260+.
    xfkl = twin.node("xinfukangli")
    assert xfkl.attributes["households"] == 1504
    assert not xfkl.is_estimated("households")
    assert xfkl.is_estimated("residents")
    hengfeng = twin.node("hengfeng.hengfeng_estate.north_building")
    assert hengfeng.attributes["households"] == 260


def test_named_places_and_assets(twin: Twin) -> None:
    offices = {n.name_zh for n in kinds(twin, "office_building")}
    assert {"博华广场", "凯迪克大厦", "嘉发大厦", "恒基668广场"} <= offices
    assert twin.node("bohua_plaza").attributes["floors"] == 60
    assert twin.assets["kaidike.elevators"].attributes["count"] == 6
    assert twin.assets["hengfeng.mailbox_room_lights"].kind == "light_fixtures"
    assert twin.assets["zhangjiazhai.toilets"].kind == "toilets"
    parks = {a.id: a.magnitude("green_area") for a in twin.assets.values()
             if a.kind == "green_space"}
    assert parks["xinfukangli.garden"] == 80
    assert parks["hengfeng_road.xiaoshiliu_park"] == 200
    assert twin.assets["old_estates.meter_box_monitors"].attributes["count"] == 617
    sheds = [a for a in twin.assets.values() if a.kind == "ebike_chargers"]
    assert len(sheds) == 11  # charging coverage 100 %: one shed per residential area


def test_every_estimate_names_an_attribute_and_has_a_basis(twin: Twin) -> None:
    for entity in [*twin.nodes.values(), *twin.assets.values()]:
        for name, basis in entity.estimated.items():
            assert name in entity.attributes, (entity.id, name)
            assert len(basis) > 10, (entity.id, name)


def test_unknown_compound_names_are_said_plainly(twin: Twin) -> None:
    unknown = [n for n in kinds(twin, "compound") if "名称未知" in n.name_zh]
    assert unknown, "compounds without a published name must be named as unknown"
    assert all("name unknown" in n.name_en for n in unknown)


# --- walking the tree -----------------------------------------------------------------------


def test_tree_walking(twin: Twin) -> None:
    node_id = "hengfeng.hengfeng_estate.north_building"
    assert [a.id for a in twin.ancestors(node_id)] == [
        "hengfeng.hengfeng_estate", "hengfeng", "suhewan", "shimen_erlu"]
    assert twin.path(node_id).startswith("shimen_erlu/suhewan/hengfeng/")
    assert twin.ancestor_of_kind(node_id, "residential_area").id == "hengfeng"
    assert {c.id for c in twin.children("shimen_erlu")} == {"suhewan", "central", "nanjing_west"}
    assert len(list(twin.descendants("shimen_erlu"))) == len(twin.nodes) - 1
    assert [d for d, n in twin.walk() if n.id == node_id] == [4]
    assert twin.region_of(node_id) == "CN-SH"
    assert twin.use_type_of(node_id) == "residential"
    assert twin.use_type_of("kaidike") == "office"


def test_meters_roll_up(twin: Twin) -> None:
    blocks = [twin.meters_of(b.id) for b in kinds(twin, "block")]
    assert sum(len(m) for m in blocks) == len(twin.meters)
    assert {m.id for m in twin.meters_of("kaidike", recursive=False)} == {
        "E-KAIDIKE", "W-KAIDIKE", "G-KAIDIKE"}


def test_frames(twin: Twin) -> None:
    frame = twin.to_frame()
    assert len(frame) == len(twin.nodes)
    assert frame.loc[frame.id == "xinfukangli", "name_zh"].item() == "新福康里居民区"
    assert frame.loc[frame.id == "kaidike", "floor_area_m2"].item() == 30000
    assert frame.depth.max() == 4
    meters = twin.meters_frame()
    assert set(meters.measure) == {"electricity", "gas", "water"}
    assert meters.meter_id.is_unique
    assets = twin.assets_frame()
    assert len(assets) == len(twin.assets)


def test_unknown_node_lookup_raises_with_close_ids(twin: Twin) -> None:
    with pytest.raises(KeyError, match="close"):
        twin.node("kaidik")


def test_geometry_covers_main_nodes_near_the_real_location(twin: Twin) -> None:
    features = {f["properties"]["id"]: f for f in twin.geometry["features"]}
    for kind in ("block", "residential_area", "office_building", "street"):
        for n in kinds(twin, kind):
            assert n.id in features, n.id
    context = [f for f in features.values() if "context" in f["properties"]]
    assert {f["properties"]["context"] for f in context} == {"street", "water"}

    def coords(geom: dict) -> list:
        c = geom["coordinates"]
        if geom["type"] == "Point":
            return [c]
        return c[0] if geom["type"] == "Polygon" else c

    for f in features.values():
        for lon, lat in coords(f["geometry"]):
            # Shimen Erlu spans about 121.448-121.463 E, 31.230-31.244 N (Jing'an, Shanghai;
            # docs/research/site_geometry.md §2); streets are drawn ~200 m past its edge.
            assert 121.446 < lon < 121.465 and 31.228 < lat < 31.247


def test_content_hash_is_stable(twin: Twin) -> None:
    assert load_twin(twin.folder).content_hash == twin.content_hash
    assert set(twin.files) >= {"site.toml", "nodes.toml", "meters.toml", "assets.toml"}


# --- bad twin files -------------------------------------------------------------------------

SITE = """[site]
id = "mini"
name_zh = "小社区"
name_en = "Mini"
region = "CN-SH"
root = "mini"
"""
NODES = """[[node]]
id = "mini"
kind = "subdistrict"
name_zh = "小社区"
name_en = "Mini"

[[node]]
id = "b1"
parent = "mini"
kind = "block"
name_zh = "一街区"
name_en = "Block 1"

[[node]]
id = "office"
parent = "b1"
kind = "office_building"
name_zh = "大楼"
name_en = "Tower"
attributes = { floor_area = "12000 m2", floors = 20 }
"""
METERS = """[[meter]]
id = "E-1"
node = "office"
measure = "electricity"
unit = "kWh"
"""


def write_twin(folder: Path, **overrides: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"site.toml": SITE, "nodes.toml": NODES, "meters.toml": METERS}
    files.update({k.replace("_", "."): v for k, v in overrides.items()})
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_minimal_twin_loads(tmp_path: Path) -> None:
    twin = load_twin(write_twin(tmp_path / "mini"))
    assert twin.name == "mini"
    assert twin.node("office").magnitude("floor_area") == 12000
    assert twin.meters["E-1"].activity_id == "electricity.grid"


def test_changed_file_is_reloaded(tmp_path: Path) -> None:
    folder = write_twin(tmp_path / "mini")
    assert len(load_twin(folder).nodes) == 3
    (folder / "nodes.toml").write_text(
        NODES + '\n[[node]]\nid = "b2"\nparent = "mini"\nkind = "block"\nname_zh = "二"\n'
        'name_en = "Block 2"\n', encoding="utf-8")
    import os
    os.utime(folder / "nodes.toml", (1, 2))  # a different mtime, whatever the clock does
    assert len(load_twin(folder).nodes) == 4


BAD_CASES = {
    "unknown_parent": (
        {"nodes_toml": NODES.replace('parent = "b1"', 'parent = "b9"')},
        r"nodes\.toml, entry 'office', field 'parent': unknown parent 'b9'",
    ),
    "duplicate_id": (
        {"nodes_toml": NODES + '\n[[node]]\nid = "b1"\nparent = "mini"\nkind = "block"\n'
                               'name_zh = "重复"\nname_en = "Dup"\n'},
        r"nodes\.toml, entry 'b1', field 'id': duplicate node id",
    ),
    "meter_on_no_node": (
        {"meters_toml": METERS.replace('node = "office"', 'node = "ghost"')},
        r"meters\.toml, entry 'E-1', field 'node': meter is on no node: unknown node 'ghost'",
    ),
    "attribute_wrong_unit": (
        {"nodes_toml": NODES.replace('"12000 m2"', '"12000 kWh"')},
        r"nodes\.toml, entry 'office', field 'attributes': .*floor_area.*wrong unit",
    ),
    "attribute_without_unit": (
        {"nodes_toml": NODES.replace('"12000 m2"', "12000")},
        r"entry 'office', field 'attributes': .*needs a unit",
    ),
    "count_not_integer": (
        {"nodes_toml": NODES.replace("floors = 20", "floors = 2.5")},
        r"entry 'office', field 'attributes': .*floors.*integer",
    ),
    "unknown_attribute": (
        {"nodes_toml": NODES.replace("floors = 20", "storeys = 20")},
        r"entry 'office', field 'attributes': unknown attribute 'storeys'",
    ),
    "parent_of_wrong_kind": (
        {"nodes_toml": NODES.replace('parent = "b1"\nkind = "office_building"',
                                     'parent = "mini"\nkind = "office_building"')},
        r"entry 'office', field 'parent': a office_building cannot sit under a subdistrict",
    ),
    "second_root": (
        {"nodes_toml": NODES.replace('id = "b1"\nparent = "mini"\nkind = "block"',
                                     'id = "b1"\nkind = "subdistrict"')},
        r"entry 'b1', field 'parent': a second root",
    ),
    "meter_unit_wrong_dimension": (
        {"meters_toml": METERS.replace('unit = "kWh"', 'unit = "m3"')},
        r"entry 'E-1', field 'unit': unit 'm3' does not convert to 'kWh'",
    ),
    "meter_unknown_unit": (
        {"meters_toml": METERS.replace('unit = "kWh"', 'unit = "furlongs_per_fortnight"')},
        r"entry 'E-1', field 'unit': Unknown unit",
    ),
    "bad_toml": (
        {"nodes_toml": NODES + "\n[[node]\n"},
        r"nodes\.toml: not valid TOML",
    ),
    "unknown_kind": (
        {"nodes_toml": NODES.replace('kind = "block"', 'kind = "district"')},
        r"entry 'b1', field 'kind'",
    ),
    "geometry_unknown_node": (
        {"geometry_geojson": json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": "nowhere"},
             "geometry": {"type": "Point", "coordinates": [121.46, 31.24]}}]})},
        r"geometry\.geojson, entry 'nowhere', field 'properties\.id': feature #0 names unknown",
    ),
    "geometry_context_kind": (
        {"geometry_geojson": json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": "rail", "context": "railway",
                                               "name_zh": "铁路", "name_en": "Railway"},
             "geometry": {"type": "LineString", "coordinates": [[121.46, 31.24],
                                                                [121.47, 31.24]]}}]})},
        r"entry 'rail', field 'properties': feature #0 has context 'railway'; expected one "
        r"of street, water",
    ),
    "geometry_context_unnamed": (
        {"geometry_geojson": json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": "creek", "context": "water",
                                               "name_zh": "苏州河"},
             "geometry": {"type": "LineString", "coordinates": [[121.46, 31.24],
                                                                [121.47, 31.24]]}}]})},
        r"entry 'creek', field 'properties': feature #0 is a context feature \(water\) "
        r"without name_en",
    ),
    "geometry_context_is_a_node": (
        {"geometry_geojson": json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": "b1", "context": "street",
                                               "name_zh": "路", "name_en": "Road"},
             "geometry": {"type": "LineString", "coordinates": [[121.46, 31.24],
                                                                [121.47, 31.24]]}}]})},
        r"entry 'b1', field 'properties': feature #0 is a context feature but names node 'b1'",
    ),
    "asset_on_no_node": (
        {"assets_toml": '[[asset]]\nid = "lamps"\nnode = "ghost"\nkind = "light_fixtures"\n'
                        'name_zh = "灯"\nname_en = "lamps"\n'},
        r"assets\.toml, entry 'lamps', field 'node': asset is on no node",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_twin_files(tmp_path: Path, case: str) -> None:
    overrides, pattern = BAD_CASES[case]
    folder = write_twin(tmp_path / case, **overrides)
    with pytest.raises(TwinError, match=pattern) as info:
        load_twin(folder)
    assert isinstance(info.value, CarbonError) and isinstance(info.value, ValueError)
    assert info.value.path.parent == folder


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(TwinError, match="no community folder"):
        load_twin(tmp_path / "nothing")


def test_packaged_twin_copied_elsewhere_loads_identically(tmp_path: Path) -> None:
    copy = shutil.copytree(sites_dir() / "shimen_erlu", tmp_path / "shimen_erlu")
    twin = load_twin(copy)
    assert len(twin.nodes) == len(load_twin("shimen_erlu").nodes)
    assert twin.content_hash == load_twin("shimen_erlu").content_hash


def test_the_boundary_statement_is_loaded_and_validated(tmp_path: Path) -> None:
    # docs/research/gpc.md §5: the boundary and the sources it leaves out, with their GPC rows.
    boundary = load_twin("shimen_erlu").boundary
    assert boundary is not None and "1.07 km2" in boundary.statement
    out = {item.what: item.gpc for item in boundary.excluded}
    assert out["Metro lines and stations under the subdistrict"] == ["II.2"]
    assert all(item.why for item in boundary.excluded)
    assert boundary.notation_keys["IV.1"].key == "NO"
    folder = tmp_path / "site"
    shutil.copytree(sites_dir() / "shimen_erlu", folder)
    site = folder / "site.toml"
    text = site.read_text(encoding="utf-8")
    site.write_text(text.replace('"IV.1" = { key = "NO"', '"IV.1" = { key = "ZZ"'), "utf-8")
    with pytest.raises(TwinError, match=r"site\.toml.*entry 'boundary', field 'notation_keys"):
        load_twin(folder)
    site.write_text(text.replace('"IV.1" = {', '"IV.9" = {'), "utf-8")
    with pytest.raises(TwinError, match=r"notation key for unknown GPC row 'IV\.9'"):
        load_twin(folder)
    site.write_text(text.replace('gpc = ["II.2"]', 'gpc = ["II.9"]'), "utf-8")
    with pytest.raises(TwinError, match=r"unknown GPC sector, sub-sector or row 'II\.9'"):
        load_twin(folder)


# --- validation at load: time zone, references, estimates (issue 14) ----------------------


def test_misspelt_time_zone_is_refused_at_load(tmp_path: Path) -> None:
    folder = write_twin(tmp_path / "tz", site_toml=SITE + 'timezone = "Asia/Shangai"\n')
    with pytest.raises(TwinError, match=r"site\.toml, entry 'mini', field 'timezone': not an "
                       r"IANA time zone \(such as 'Asia/Shanghai'\); did you mean "
                       r"'Asia/Shanghai'\? \(got 'Asia/Shangai'\)"):
        load_twin(folder)
    folder = write_twin(tmp_path / "utc", site_toml=SITE + 'timezone = "UTC"\n')
    assert load_twin(folder).site.timezone == "UTC"


def test_check_timezone_without_close_names() -> None:
    from carbon.twin import check_timezone

    assert check_timezone("Europe/Paris") == "Europe/Paris"
    with pytest.raises(ValueError, match=r"not an IANA time zone \(such as 'Asia/Shanghai'\)$"):
        check_timezone("../../etc/passwd")


FACTS = """
[site.facts]
residents = 100

[site.fact_sources]
residents = "s1"

[[site.sources]]
id = "s1"
citation = "Test publisher, Test document (2024)"
confidence = "medium"
"""


def test_fact_sources_name_a_fact_and_a_source(tmp_path: Path) -> None:
    assert load_twin(write_twin(tmp_path / "ok", site_toml=SITE + FACTS)).site.facts == {
        "residents": 100}
    bad_source = SITE + FACTS.replace('residents = "s1"', 'residents = "s9"')
    with pytest.raises(TwinError, match=r"site\.toml, entry 'mini', field "
                       r"'fact_sources\.residents': unknown source 's9'; the \[\[site\.sources\]\] "
                       r"ids are: s1"):
        load_twin(write_twin(tmp_path / "src", site_toml=bad_source))
    bad_fact = SITE + FACTS.replace('residents = "s1"', 'households = "s1"')
    with pytest.raises(TwinError, match=r"field 'fact_sources\.households': a source for "
                       r"'households', which is not in \[site\.facts\]"):
        load_twin(write_twin(tmp_path / "fact", site_toml=bad_fact))


def test_an_estimate_names_an_attribute_and_has_a_basis(tmp_path: Path) -> None:
    nodes = NODES.replace("floors = 20 }", 'floors = 20 }\nestimated = { floor_area = "20 x '
                          '600 m2 (assumption)" }')
    assert load_twin(write_twin(tmp_path / "ok", nodes_toml=nodes)).node(
        "office").is_estimated("floor_area")
    with pytest.raises(TwinError, match=r"nodes\.toml, entry 'office', field 'estimated': "
                       r"estimate basis for 'height', which is not an attribute here "
                       r"\(attributes: floor_area, floors\)"):
        load_twin(write_twin(tmp_path / "attr", nodes_toml=nodes.replace(
            "estimated = { floor_area", "estimated = { height")))
    with pytest.raises(TwinError, match=r"field 'estimated': the estimate of 'floor_area' needs "
                       r"its basis"):
        load_twin(write_twin(tmp_path / "basis", nodes_toml=nodes.replace(
            '"20 x 600 m2 (assumption)"', '" "')))


def test_meter_installation_date(tmp_path: Path) -> None:
    ok = METERS + 'installed = "2021-03-01"\n'
    assert load_twin(write_twin(tmp_path / "ok", meters_toml=ok)).meters["E-1"].installed == (
        "2021-03-01")
    with pytest.raises(TwinError, match=r"meters\.toml, entry 'E-1', field 'installed': "
                       r"expected a date YYYY-MM-DD \(got '2021-3-1'\)"):
        load_twin(write_twin(tmp_path / "bad", meters_toml=METERS + 'installed = "2021-3-1"\n'))


def test_node_and_meter_ids(twin: Twin) -> None:
    assert twin.node_ids()[0] == "shimen_erlu" and len(twin.node_ids()) == len(twin.nodes)
    assert twin.node_ids("block") == ["suhewan", "central", "nanjing_west"]
    assert twin.node_ids(under="hengfeng.hengfeng_estate")[0] == "hengfeng.hengfeng_estate"
    assert set(twin.node_ids("building", under="hengfeng")) >= {
        "hengfeng.hengfeng_estate.north_building"}
    assert twin.meter_ids("kaidike") == ["E-KAIDIKE", "W-KAIDIKE", "G-KAIDIKE"]
    assert twin.meter_ids("kaidike", measure="gas") == ["G-KAIDIKE"]
    assert twin.meter_ids() == list(twin.meters)
    assert len(twin.meter_ids(measure="electricity")) == 66
    with pytest.raises(ValueError, match="unknown node kind 'tower'"):
        twin.node_ids("tower")
    with pytest.raises(KeyError, match="No node 'nowhere'"):
        twin.meter_ids("nowhere")


def test_a_folder_or_its_site_toml_loads(tmp_path: Path) -> None:
    folder = write_twin(tmp_path / "mini")
    assert load_twin(folder / "site.toml").name == "mini"
    (tmp_path / "empty").mkdir()
    with pytest.raises(TwinError, match=r"empty/site\.toml: file not found: this folder is no "
                       r"community twin"):
        load_twin(tmp_path / "empty")
