"""The wall screen's read-only data layer, i18n table and server guards, tested as functions.

Numbers are checked against sums computed independently from ``entries.parquet`` in DECIMAL
(the GPC BASIC total: kinds emission and adjustment, level-basic rows, one scope-2 view plus the
``n/a`` rows; GPC v1.1 §6.3 and carbon.ledger.Ledger.total).
"""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from carbon.audit import ENTRY_SCHEMA
from carbon.audit import load_snapshot as audit_load
from carbon.dashboard import data, i18n
from carbon.dashboard.data import SnapshotSource, WallDataError, load_snapshot
from carbon.dashboard.testing import write_synthetic_snapshot
from carbon.gpc import REFS

TARGET = {"base_year": 2024, "reduction": 0.2, "target_year": 2030}


@pytest.fixture(scope="module")
def snap_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("snapshots")
    write_synthetic_snapshot(out, sites=40, years=2, interventions=True, target=TARGET)
    return out


@pytest.fixture(scope="module")
def snap(snap_dir: Path) -> data.WallSnapshot:
    return load_snapshot(snap_dir)


def decimal_basic_t(
    folder: Path, node: str, method: str, year: int, months: set[int] | None = None
) -> float:
    """BASIC emissions [t CO2e] of a node, summed in DECIMAL straight from the parquet."""
    e = pq.read_table(folder / "entries.parquet").to_pandas()
    mask = (
        e.kind.isin(["emission", "adjustment"])
        & e.method.isin([method, "n/a"])
        & e.gpc_ref.map(lambda r: REFS[r].level == "basic")
        & e.node_path.map(lambda p: node in p.split("/"))
        & e.period_start.map(lambda d: d.year == year)
    )
    if months is not None:
        mask &= e.period_start.map(lambda d: d.month in months)
    return float(sum(e.loc[mask, "co2e_kg"], Decimal(0)) / 1000)


# ------------------------------------------------------------------------------ format
def test_synthetic_snapshot_is_a_carbon_snapshot(snap_dir: Path) -> None:
    s = audit_load(snap_dir)
    assert pq.read_schema(s.path / "entries.parquet").equals(ENTRY_SCHEMA, check_metadata=False)
    assert len(s.entries()) == s.manifest["counts"]["emission"]


# ------------------------------------------------------------------------------ KPIs
def test_kpi_emissions_match_decimal_sum(snap: data.WallSnapshot) -> None:
    for node in ("synth", "b01", "b00.ra00"):
        for method in ("location", "market"):
            k = snap.kpis(node, method)
            expected = decimal_basic_t(snap.path, node, method, 2025)
            assert k.emissions_t == pytest.approx(expected, rel=1e-9)
    assert snap.kpis("synth", "market").emissions_t > snap.kpis("synth", "location").emissions_t


def test_kpi_change_compares_the_same_months(snap: data.WallSnapshot) -> None:
    k = snap.kpis("synth")
    assert (k.year, k.last_year, k.months) == (2025, 2024, 12)
    assert k.last_year_t == pytest.approx(decimal_basic_t(snap.path, "synth", "location", 2024))
    assert k.change == pytest.approx(k.emissions_t / k.last_year_t - 1)


def test_per_capita_uses_the_highest_node_with_residents(snap: data.WallSnapshot) -> None:
    nodes = pd.read_csv(snap.path / "nodes.csv")
    areas = nodes[(nodes.kind == "residential_area") & nodes.id.str.startswith("b00.")]
    k = snap.kpis("b00")
    assert k.residents == pytest.approx(areas.residents.sum())
    assert k.residents_estimated  # the synthetic areas mark residents as estimated
    # Annual residential emissions (GPC I.1 rows of BASIC) per resident, summed in DECIMAL
    # from the parquet over the 12 months of 2025 (carbon.inventory.intensity's rule).
    e = pq.read_table(snap.path / "entries.parquet").to_pandas()
    homes = e[
        e.kind.isin(["emission", "adjustment"])
        & e.method.isin(["location", "n/a"])
        & e.gpc_ref.str.startswith("I.1.")
        & e.gpc_ref.map(lambda r: REFS[r].level == "basic")
        & e.node_path.map(lambda p: "b00" in p.split("/"))
        & e.period_start.map(lambda d: d.year == 2025)
    ]
    residential_t = float(sum(homes.co2e_kg, Decimal(0)) / 1000)
    assert residential_t > 0 and k.months == 12
    assert k.per_capita_t == pytest.approx(residential_t / k.residents, rel=1e-12)
    # a compound has no residents of its own nor below it
    assert snap.kpis("b00.ra00.c00").per_capita_t is None


def test_avoided_target_and_completeness(snap: data.WallSnapshot) -> None:
    iv = pd.read_csv(snap.path / "interventions.csv")
    placed = iv[iv.in_place]
    k = snap.kpis("synth")
    assert k.avoided_estimated_t == pytest.approx(placed.estimated_t.sum())
    assert k.avoided_verified_t == pytest.approx(placed.verified_t.sum())
    assert (k.avoided_low_t, k.avoided_high_t) == pytest.approx(
        (placed.low_t.sum(), placed.high_t.sum())
    )
    # realisation: verified / the estimate over the same months (verified / rate), not over
    # the whole period and not over records never verified
    v = placed.dropna(subset=["verified_t"])
    assert k.avoided_realisation == pytest.approx(
        v.verified_t.sum() / (v.verified_t / v.realisation_rate).sum()
    )
    assert k.avoided_realisation == pytest.approx(0.82 / 0.9)
    # progress = (base - now) / (base x reduction), same months of the base year
    base, now = k.last_year_t, k.emissions_t
    assert k.target_progress == pytest.approx((base - now) / (base * TARGET["reduction"]))
    cov = pd.read_parquet(snap.path / "coverage.parquet")
    cov = cov[cov.month.dt.year == 2025]
    assert k.completeness == pytest.approx(cov.present.sum() / cov.expected.sum())
    assert k.meters == cov.meter_id.nunique()
    assert k.removals_t is None and k.pv_kwh is None  # honest empty states, never 0


def test_no_interventions_no_target(tmp_path: Path) -> None:
    write_synthetic_snapshot(tmp_path, sites=8, years=1, blocks=2)
    s = load_snapshot(tmp_path)
    k = s.kpis(s.root)
    assert k.avoided_estimated_t is None and k.target is None and k.last_year is None
    assert s.interventions_frame(s.root).empty and s.macc_frame(s.root).empty
    assert s.suggestions(s.root).empty


# ------------------------------------------------------------------------------ frames
@pytest.mark.parametrize("by", ["sector", "scope"])
def test_monthly_sums_to_the_kpi(snap: data.WallSnapshot, by: str) -> None:
    m = snap.monthly("b01", "market", by)
    assert m.month.nunique() == 24
    last = m[m.month.dt.year == 2025].co2e_t.sum()
    assert last == pytest.approx(snap.kpis("b01", "market").emissions_t)
    groups = set(m.group)
    assert groups <= ({"I", "II", "III"} if by == "sector" else {"1", "2", "3"})
    assert "VI" not in groups  # other scope 3 is not in BASIC


def test_map_focus_and_items(snap: data.WallSnapshot) -> None:
    root = snap.map_data("synth")
    assert root.focus == "synth" and list(root.items.node_id) == ["b00", "b01"]
    assert root.items.co2e_t.sum() == pytest.approx(snap.kpis("synth").emissions_t)
    leaf = snap.map_data("b00.ra00.c03")  # a leaf: the map shows its siblings
    assert leaf.focus == "b00.ra00" and "b00.ra00.c03" in set(leaf.items.node_id)
    assert set(leaf.items.node_id) <= set(leaf.features)
    office = snap.map_data("b00").items.set_index("node_id").loc["b00.o00"]
    assert office.intensity_kg_m2 == pytest.approx(office.co2e_t * 1000 / office.floor_area_m2)


def test_map_skips_a_level_with_a_single_child(tmp_path: Path) -> None:
    """A subdistrict of one block (Changfeng Xincun's spreadsheet has no blocks sheet) shows
    the block's areas at the top, not one shape filling the map (issue 15)."""
    write_synthetic_snapshot(tmp_path, sites=12, years=1, blocks=1)
    one = load_snapshot(tmp_path)
    (block,) = one.children(one.root)
    top = one.map_data(one.root)
    assert top.focus == block and len(top.items) > 1
    assert set(top.items.node_id) == {c for c in one.children(block) if c in one.geometry}
    assert one.map_data(block).focus == block  # the block itself: the same map
    area = next(n for n in top.items.node_id if len([
        c for c in one.children(n) if c in one.geometry]) > 1)
    assert one.map_data(area).focus == area  # an area with places drills down as before
    street = f"{block}.street"  # a leaf is shown among its siblings
    assert one.map_data(street).focus == block


def test_changfeng_map_focus_is_never_one_shape(tmp_path: Path) -> None:
    from carbon.site import init_site
    from carbon.twin import load_twin

    example = Path(__file__).resolve().parents[1] / "examples" / "onboarding"
    twin = load_twin(init_site(tmp_path / "changfeng_xincun", example / "changfeng_xincun"))
    frame = twin.to_frame()
    parent = dict(zip(frame["id"], frame["parent"].fillna(""), strict=True))
    kids: dict[str, list[str]] = {}
    for node, up in parent.items():
        if up:
            kids.setdefault(up, []).append(node)
    drawn = {f["properties"]["id"] for f in twin.geometry["features"]}

    def focus(node: str) -> str:
        return data.map_focus_of(node, lambda n: kids.get(n, []), parent, drawn)

    root = twin.root.id
    assert [c for c in kids[root] if c in drawn] == ["whole_subdistrict"]  # one block
    assert focus(root) == "whole_subdistrict"
    kinds = dict(zip(frame["id"], frame["kind"], strict=True))
    shown = [c for c in kids["whole_subdistrict"] if c in drawn]
    assert sum(kinds[c] == "residential_area" for c in shown) == 27  # its areas, and more
    # 曹家村 holds one compound: selected, it is shown among the other 26 areas
    assert [c for c in kids["caojiacun"] if c in drawn] == ["caojiacun.caojiaxiang"]
    assert focus("caojiacun") == "whole_subdistrict"
    assert focus("caojiacun.caojiaxiang") == "whole_subdistrict"
    for node in parent:  # no selection draws a single shape
        assert len([c for c in kids.get(focus(node), []) if c in drawn]) > 1, node


def test_ranking(snap: data.WallSnapshot) -> None:
    r = snap.ranking("synth", limit=5)
    assert len(r) == 5 and r.co2e_t.is_monotonic_decreasing
    assert set(r.kind) <= set(data.RANK_KINDS)
    leaf = snap.ranking("b00.o01")  # no rankable children: ranked among its block
    assert leaf.selected.sum() <= 1 and set(leaf.node_id) <= set(snap.subtree("b00"))


def test_suggestions_are_cheapest_tonnes_not_in_place(snap: data.WallSnapshot) -> None:
    s = snap.suggestions("synth", limit=3)
    assert len(s) == 3 and s.cost_per_t_cny.is_monotonic_increasing
    assert not s.in_place.any()
    iv = pd.read_csv(snap.path / "interventions.csv")
    done = set(zip(iv[iv.in_place].node_id, iv[iv.in_place].name_en, strict=True))
    assert not done & set(zip(s.node_id, s.name_en, strict=True))
    # planned measures avoid nothing yet: they are ranked by their yearly potential
    assert (s.estimated_t == 0).all() and (s.abatement_t == s.annual_t).all()
    macc = snap.macc_frame("synth")
    assert macc.cost_per_t_cny.is_monotonic_increasing and (macc.abatement_t > 0).all()


def test_quality_and_alerts(snap: data.WallSnapshot) -> None:
    q = snap.quality("synth")
    assert q["gaps"].iloc[0].meter_id == "E-B00-STREET"  # silent for the last two months
    assert list(q["rejects"].reason) == ["duplicate_row", "spike"]
    assert set(q["notation"].notation_key) == {"NE", "IE"}
    assert snap.quality("b00.ra00")["notation_node"] == "b00"  # its block's GPC table
    a = snap.alerts("synth")
    stopped = a[a.kind == "stopped"]
    assert list(stopped.meter_id) == ["E-B00-STREET"]
    assert stopped.month.iloc[0] == pd.Timestamp("2025-11-01")
    high = a[a.kind == "high"]
    assert "W-B00-RA00-C00" in set(high.meter_id)  # the x1.8 spike of its last month
    assert snap.alerts("b01").empty or "b00" not in set(snap.alerts("b01").node_id.str[:3])


def test_provenance_adds_up(snap: data.WallSnapshot) -> None:
    p = snap.provenance("emissions", "b01", "location")
    assert p.factors.co2e_t.sum() == pytest.approx(snap.kpis("b01").emissions_t)
    assert p.factors.share.sum() == pytest.approx(1.0)
    assert set(p.factors.factor_id) == {"syn.grid.location", "syn.gas"}
    assert p.factors.citation.str.contains("SYNTHETIC").all()
    assert len(p.meters) and p.meters.node_id.str.startswith("b01").all()
    assert not p.meters.meter_id.str.startswith("W-").any()  # water is not in BASIC
    assert p.entries > 0 and len(p.inputs) == 1
    assert snap.provenance("per_capita", "b01").attributes[0]["name"] == "residents"
    assert snap.provenance("nonsense", "b01").key == "emissions"


def test_freshness_levels(snap: data.WallSnapshot) -> None:
    import datetime as dt

    end = snap.data_end
    assert snap.freshness(end + dt.timedelta(days=10))["level"] == "fresh"
    assert snap.freshness(end + dt.timedelta(days=50))["level"] == "ageing"
    assert snap.freshness(end + dt.timedelta(days=400))["level"] == "stale"


# ------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("bad", [None, 3, "../etc/passwd", "b00'; DROP TABLE x", ["b00"], ""])
def test_unknown_node_ids_fall_back_to_the_root(snap: data.WallSnapshot, bad: object) -> None:
    assert snap.valid_node(bad) == "synth"
    assert snap.kpis(bad).node_id == "synth"  # type: ignore[arg-type]


def test_bad_views_fall_back(snap: data.WallSnapshot) -> None:
    assert snap.kpis("synth", "hack").method == "location"
    assert snap.monthly("synth", "hack", "hack").equals(snap.monthly("synth"))


# ------------------------------------------------------------------------------ loading
def test_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    folder = write_synthetic_snapshot(tmp_path, sites=8, blocks=2)
    with open(folder / "nodes.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    with pytest.raises(WallDataError, match="SHA-256 differs"):
        load_snapshot(tmp_path)
    assert load_snapshot(tmp_path, verify=False).id == folder.name


def test_not_a_snapshot(tmp_path: Path) -> None:
    with pytest.raises(WallDataError, match=r"is not a snapshot: no manifest\.json"):
        load_snapshot(tmp_path)
    (tmp_path / "LATEST").write_text("../../etc\n")
    with pytest.raises(WallDataError, match="names no snapshot folder"):
        load_snapshot(tmp_path)
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(WallDataError, match=r"manifest\.json: not valid JSON"):
        load_snapshot(bad)


def test_source_follows_latest_and_keeps_the_old_one_on_failure(tmp_path: Path) -> None:
    first = write_synthetic_snapshot(tmp_path, sites=8, blocks=2, snapshot_id="first").name
    source = SnapshotSource(tmp_path)
    assert source.refresh() and source.current().id == first
    assert not source.refresh()  # nothing changed
    second = write_synthetic_snapshot(
        tmp_path, sites=8, blocks=2, seed=3, scale=2.0, snapshot_id="second"
    ).name
    assert source.refresh() and source.current().id == second
    assert source.get(first).id == first and source.get("../" + first) is None
    # a newer snapshot that fails its checksums is not shown
    third = write_synthetic_snapshot(tmp_path, sites=8, blocks=2, seed=5, snapshot_id="third")
    (third / "entries.parquet").write_bytes(b"half-written")
    assert not source.refresh()
    assert source.current().id == second
    assert "SHA-256" in (source.problem or "") and source.failed_name == third.name


def test_source_without_snapshot_explains(tmp_path: Path) -> None:
    source = SnapshotSource(tmp_path)
    with pytest.raises(WallDataError, match=r"has no published snapshot \(no LATEST file\)"):
        source.current()


def test_pinned_snapshot_does_not_move(tmp_path: Path) -> None:
    first = write_synthetic_snapshot(tmp_path, sites=8, blocks=2, snapshot_id="first")
    source = SnapshotSource(first)
    assert source.pinned and source.current().id == first.name
    write_synthetic_snapshot(tmp_path, sites=8, blocks=2, seed=4, snapshot_id="second")
    assert not source.refresh() and source.current().id == first.name


def test_meter_mapping_comes_from_the_snapshot_alone(tmp_path: Path) -> None:
    # The wall reads the twin as published (meters.csv), never a twin loaded beside it.
    folder = write_synthetic_snapshot(tmp_path, sites=8, blocks=2)
    s = load_snapshot(tmp_path)
    meters = pd.read_csv(folder / "meters.csv", dtype=str)
    assert set(s.meter_map.meter_id) == set(meters.meter_id)
    assert dict(zip(s.meter_map.meter_id, s.meter_map.node_id, strict=True)) == dict(
        zip(meters.meter_id, meters.node_id, strict=True)
    )


# ------------------------------------------------------------------------------ i18n
def test_every_label_has_both_languages() -> None:
    for key, (zh, en) in i18n.TEXT.items():
        assert zh and en, key
        assert zh.count("{") == en.count("{"), key


def _literal_keys(path: Path) -> set[str]:
    keys = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "t"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.add(node.args[0].value)
    return keys


def test_every_key_used_exists() -> None:
    root = Path(data.__file__).parent
    used = set()
    for name in ("app.py", "figures.py"):
        used |= _literal_keys(root / name)
    assert len(used) > 40
    assert used <= set(i18n.TEXT), sorted(used - set(i18n.TEXT))


def test_t_missing_key() -> None:
    with pytest.raises(KeyError, match="No wall-screen text 'nope'"):
        i18n.t("nope")
    assert i18n.t("p_map", "fr") == i18n.t("p_map", "zh")  # unknown language: Chinese


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (53719.46, "zh", "5.37 万吨CO₂e"),
        (53719.46, "en", "53.7 kt CO₂e"),
        (912.4, "zh", "912 吨CO₂e"),
        (912.4, "en", "912 t CO₂e"),
        (0.04321, "en", "0.0432 t CO₂e"),
    ],
)
def test_fmt_tonnes(value: float, lang: str, expected: str) -> None:
    assert str(i18n.fmt_tonnes(value, lang)) == expected


def test_number_formats() -> None:
    assert i18n.fmt_number(1234567, "en") == "1,230,000"
    assert i18n.fmt_number(2.4417, "zh") == "2.44"
    assert i18n.fmt_number(float("nan"), "zh") == "无数据"
    assert i18n.fmt_percent(-0.0297, "en", signed=True) == "-3.0%"
    assert i18n.fmt_percent(0.05, "en", signed=True) == "+5.0%"
    assert str(i18n.fmt_energy(123456, "zh")) == "12.3 万千瓦时"
    assert str(i18n.fmt_energy(123456, "en")) == "123 MWh"
    assert i18n.fmt_count(22000.0) == "22,000"
    assert i18n.name_of({"name_zh": "", "name_en": "X", "id": "x"}, "zh") == "X"


# ------------------------------------------------------------------------------ server
def test_loopback_detection() -> None:
    from carbon.dashboard.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.8.9.10")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    assert not is_loopback("wall.example")


def test_refuses_to_expose_without_auth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from carbon.dashboard.server import WallConfigError, serve

    monkeypatch.delenv("CARBON_WALL_USER", raising=False)
    monkeypatch.delenv("CARBON_WALL_PASSWORD", raising=False)
    with pytest.raises(WallConfigError, match=r"Refusing to serve .* '0\.0\.0\.0' without"):
        serve(tmp_path, host="0.0.0.0", port=0)
    monkeypatch.setenv("CARBON_WALL_USER", "duty")
    monkeypatch.setenv("CARBON_WALL_PASSWORD", "")  # half-configured is not configured
    with pytest.raises(WallConfigError):
        serve(tmp_path, host="10.0.0.5", port=0)


def test_basic_auth_and_security_headers(snap_dir: Path) -> None:
    from carbon.dashboard.server import create_app

    app = create_app(snap_dir, auth=("duty", "s3cret"), watch_seconds=3600)
    client = app.server.test_client()
    denied = client.get("/")
    assert denied.status_code == 401 and "Basic" in denied.headers["WWW-Authenticate"]
    assert client.get("/_dash-layout").status_code == 401
    import base64

    wrong = base64.b64encode(b"duty:nope").decode()
    assert client.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    good = base64.b64encode(b"duty:s3cret").decode()
    ok = client.get("/", headers={"Authorization": f"Basic {good}"})
    assert ok.status_code == 200
    csp = ok.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in csp and "default-src 'self'" in csp
    assert b"cdn" not in ok.data.lower()  # scripts are served locally (DESIGN decision 9)
    app.server.extensions["carbon_wall"].stop()


def test_open_app_serves_without_auth_on_loopback(snap_dir: Path) -> None:
    from carbon.dashboard.server import create_app

    app = create_app(snap_dir, watch_seconds=3600)
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    assert not app.server.debug
    app.server.extensions["carbon_wall"].stop()


def test_guarded_callbacks_render_a_calm_message() -> None:
    from carbon.dashboard.app import guarded

    @guarded(lambda lang, msg: f"{lang}:{msg}")
    def boom(_x: object, lang: str) -> str:
        raise RuntimeError("secret internals /home/x.py line 3")

    out = boom(1, "en")
    assert out.startswith("en:") and "secret" not in out and "Traceback" not in out

    @guarded(lambda lang, msg: msg)
    def missing(lang: str) -> str:
        raise WallDataError("no published snapshot yet")

    assert missing("zh") == "no published snapshot yet"


def test_env_auth() -> None:
    from carbon.dashboard.server import auth_from_env

    assert auth_from_env({"CARBON_WALL_USER": "a", "CARBON_WALL_PASSWORD": "b"}) == ("a", "b")
    assert auth_from_env({"CARBON_WALL_USER": "a"}) is None
    assert auth_from_env({}) is None


def test_avoided_kpis_read_ex_ante_and_ex_post_entries_apart(tmp_path) -> None:
    # A real published ledger with model entries (no interventions.csv): the KPI must sum the
    # ex-ante and the ex-post avoided entries of the year separately, never net them.
    import datetime as dt
    from decimal import Decimal

    import carbon
    from carbon.ledger import build_ledger
    from carbon.store import Store

    twin = carbon.load_twin("shimen_erlu")
    factors = carbon.load_factor_set("shanghai-2022")
    elec = tmp_path / "elec.csv"
    elec.write_text("meter_id,timestamp,kwh\nE-KAIDIKE,2024-01-01 00:00,1000\n", encoding="utf-8")
    extra = pd.DataFrame(
        {
            "kind": ["avoided", "avoided", "avoided"],
            "period_start": [dt.date(2024, 1, 1)] * 3,
            "node_id": ["kaidike"] * 3,
            "gpc_ref": ["I.2.2"] * 3,
            "activity": ["electricity.grid"] * 3,
            "method": ["location"] * 3,
            # amounts the ledger values at 0.42 kgCO2e/kWh: 100, 50 and 80 kg
            "amount": [Decimal(100) / Decimal("0.42"), Decimal(50) / Decimal("0.42"),
                       Decimal(80) / Decimal("0.42")],
            "notes": ["ex_ante intervention=a", "ex_ante intervention=b", "ex_post intervention=a"],
        }
    )
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(elec, twin=twin)
        ledger = build_ledger(store, twin, factors, "2024-01-01", "2024-02-01", extra_entries=extra)
        published = ledger.publish(tmp_path / "out")
    snap = load_snapshot(published.path)
    k = snap.kpis("shimen_erlu", "location")
    assert k.avoided_estimated_t == pytest.approx(0.150)  # 100 + 50 kg, ex ante
    assert k.avoided_verified_t == pytest.approx(0.080)  # 80 kg, ex post
    # emissions are untouched by avoided entries: 1000 kWh x 0.42 = 420 kg (one hour of the
    # month: below the coverage threshold, so GPC row I.2.2 is NE and BASIC leaves it out)
    assert float(sum(ledger.select("location").co2e_kg, Decimal(0))) == pytest.approx(420.0)
    assert ledger.gpc_table().set_index("gpc_ref").loc["I.2.2", "notation_key"] == "NE"
    assert ledger.total("location") == 0.0


def test_the_emissions_tile_says_when_basic_is_incomplete(snap: data.WallSnapshot) -> None:
    # The wall labels BASIC as the inventory does (carbon.inventory.inventory_totals).
    import dataclasses

    from carbon.dashboard.app import kpi_texts

    root = snap.tour()[0]
    k = snap.kpis(root, "location")
    for complete, zh, en in (
        (True, "年排放(BASIC)", "(BASIC)"),
        (False, "年排放(BASIC,不完整)", "(BASIC, incomplete)"),
    ):
        kk = dataclasses.replace(k, basic_complete=complete)
        assert kpi_texts(kk, snap, "zh")["emissions"][0].endswith(zh)
        assert kpi_texts(kk, snap, "en")["emissions"][0].endswith(en)
