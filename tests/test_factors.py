"""Tests of carbon.factors and the packaged factor files, profiles and schema.

Factor values are checked against docs/research/factors.md (the section is named at each test).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from carbon.errors import (
    AmbiguousFactorError,
    FactorFileError,
    FactorNotFoundError,
    UnknownActivityError,
    UnknownFactorError,
)
from carbon.factors import (
    factor_file_schema,
    factors_dir,
    list_profiles,
    load_catalogue,
    load_factor_file,
    load_factor_set,
    load_gwp_tables,
)
from carbon.regions import UnknownRegionError
from carbon.valuation import factor_segments, value_factor

try:  # optional: validate with jsonschema when it happens to be installed
    import jsonschema
except ImportError:  # pragma: no cover - depends on the environment
    jsonschema = None

FACTOR_FILES = sorted(
    p for p in factors_dir().glob("*.toml") if p.name not in ("gwp.toml", "regions.toml")
)
PROFILES = ["cn-ets-2023", "cn-mee-2023", "shanghai-2022"]


@pytest.fixture(scope="module")
def cn_mee():
    return load_factor_set("cn-mee-2023")


@pytest.fixture(scope="module")
def shanghai():
    return load_factor_set("shanghai-2022")


@pytest.fixture(scope="module")
def ets():
    return load_factor_set("cn-ets-2023")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


# --- the packaged files -----------------------------------------------------------------------


def test_expected_factor_files_are_packaged():
    names = {p.name for p in FACTOR_FILES}
    assert {
        "sh-eeb-2022.toml",
        "cn-mee-nbs-grid.toml",
        "cn-mee-ets-2022.toml",
        "cn-fuel-defaults.toml",
        "ipcc-2006-fuels.toml",
        "water.toml",
        "ipcc-2006-waste.toml",
    } <= names
    # The whole-chain LCA waste factors (net of an energy-recovery credit) are gone: a GPC
    # inventory reports the emissions that occur; a credit is an avoided entry.
    assert "msw-chen-2023.toml" not in names


@pytest.mark.parametrize("path", FACTOR_FILES, ids=lambda p: p.name)
def test_factor_file_loads(path):
    factors = load_factor_file(path)
    assert factors
    assert all(f.file == path.name for f in factors)


def test_factor_ids_are_unique_across_files(catalogue):
    ids = [f.id for f in catalogue]
    assert len(ids) == len(set(ids))


def test_every_factor_is_cited_with_confidence(catalogue):
    for f in catalogue:
        assert f.source.publisher.strip(), f.id
        assert f.source.title.strip(), f.id
        assert 1990 <= f.source.year <= 2030, f.id
        assert f.source.url or f.source.via, f"{f.id}: say where the number was read"
        assert f.confidence in ("high", "medium", "low", "assumption"), f.id
        if f.confidence != "high":  # below "high", the research note's reason must be kept
            assert f.confidence_detail and f.confidence_detail.strip(), f.id


def test_proxies_are_never_high_confidence(catalogue):
    proxies = [f for f in catalogue if f.proxy]
    assert proxies, "water.supply is a UK proxy"
    assert all(f.confidence != "high" for f in proxies)


def test_shanghai_2023_grid_factor_is_not_invented():
    # docs/research/factors.md §1: Shanghai 2023 provincial factor UNCONFIRMED.
    grid = load_factor_file(factors_dir() / "cn-mee-nbs-grid.toml")
    assert not [f for f in grid if f.region == "CN-SH" and f.valid_on(dt.date(2023, 6, 1))]


def test_mee_nbs_grid_covers_all_seven_grids_in_2022_and_2023():
    grid = load_factor_file(factors_dir() / "cn-mee-nbs-grid.toml")
    for year in (2022, 2023):
        regions = {
            f.region
            for f in grid
            if f.series == "mee-nbs-grid"
            and f.valid_from == dt.date(year, 1, 1)
            and f.region.endswith("-GRID")
        }
        assert len(regions) == 7, (year, sorted(regions))


# --- values per canonical unit ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("factor_id", "gas", "expected"),
    [
        ("sh-eeb-2022.electricity", "CO2", "0.42"),  # 4.2 tCO2/万kWh (§2)
        ("sh-eeb-2022.heat", "CO2", "60"),  # 0.06 tCO2/GJ = 60 kgCO2/GJ (§2)
        ("mee-ets.2022.cn", "CO2", "0.5703"),  # 0.5703 tCO2/MWh (§1)
        ("mee-nbs.2021.cn-south-grid", "CO2", "0.4326"),  # published in tCO2/MWh (§1)
        ("mee-nbs.2023.cn-east-grid", "CO2", "0.55"),
        ("ipcc-2006.diesel.stationary", "CO2", "74.1"),  # 74100 kgCO2/TJ (§3b)
        ("ipcc-2006.diesel.stationary", "CH4", "0.01"),  # 10 kgCH4/TJ (Vol. 2 Tables 2.4/2.5)
        ("ipcc-2006.diesel.stationary", "N2O", "0.0006"),  # 0.6 kgN2O/TJ
        ("ipcc-2006.natural_gas", "CH4", "0.005"),  # 5 kgCH4/TJ (Tables 2.4/2.5)
        ("ipcc-2006.natural_gas", "N2O", "0.0001"),  # 0.1 kgN2O/TJ
        ("ipcc-2006.lpg", "CO2", "63.1"),
        ("cn-fuel.natural_gas", "CO2", "2.1622"),  # kgCO2/m3 (§3a)
        ("cn-fuel.natural_gas", "CH4", "0.000194655"),  # 5 kg/TJ x 0.038931 GJ/m3
        ("ipcc-2006.msw.incineration", "CO2", "715.3696"),  # kgCO2/t (docs/research/waste.md §2)
        ("ipcc-2006.msw.biological", "CH4", "1"),  # 1 g/kg wet = 1 kg/t (Vol. 5 Table 4.1)
        ("defra-2025.water_supply", "CO2e", "0.1913"),  # kgCO2e/m3 (§5)
    ],
)
def test_per_canonical(catalogue, factor_id, gas, expected):
    assert catalogue.get(factor_id).per_canonical(gas) == Decimal(expected)


def test_ipcc_diesel_co2e_under_ar5(shanghai):
    # Hand-computed: 74100 + 10 x 28 + 0.6 x 265 = 74539 kgCO2e/TJ, i.e. 74.539 kgCO2e/GJ
    # (IPCC 2006 Vol. 2 Ch. 2 Tables 2.4/2.5, diesel burnt in buildings, docs/research/waste.md
    # §6; AR5 GWP-100, docs/research/factors.md §7g).
    diesel = shanghai.get("ipcc-2006.diesel.stationary")
    assert shanghai.gwp.name == "AR5"
    assert diesel.co2e_per_unit(shanghai.gwp) == Decimal("74.539")


def test_ipcc_diesel_co2e_under_ar4(shanghai):
    # Hand-computed: 74.1 + 0.01 x 25 + 0.0006 x 298 = 74.5288 kgCO2e/GJ (AR4, §7g).
    diesel = shanghai.get("ipcc-2006.diesel.stationary")
    assert diesel.co2e_per_unit(load_gwp_tables()["AR4"]) == Decimal("74.5288")


def test_single_gas_factor_co2e_ignores_gwp(shanghai):
    factor = shanghai.get("sh-eeb-2022.electricity")
    assert factor.co2e_per_unit(shanghai.gwp) == Decimal("0.42")


@pytest.mark.parametrize(
    ("factor_id", "ncv_kj", "carbon_t_per_tj", "oxidation"),
    [
        # docs/research/factors.md §3a: NCV [kJ per m3 or kg], carbon content [tC/TJ], oxidation.
        ("cn-fuel.natural_gas", 38931, 15.3, 0.99),
        ("cn-fuel.lpg", 50179, 17.2, 0.98),
        ("cn-fuel.gasoline", 43070, 18.9, 0.98),
        ("cn-fuel.diesel", 42652, 20.2, 0.98),
    ],
)
def test_chinese_fuel_defaults_recompute(catalogue, factor_id, ncv_kj, carbon_t_per_tj, oxidation):
    # CO2 factor = NCV x carbon content x oxidation x 44/12 (GB/T 32151-style).
    recomputed = ncv_kj * 1e-9 * carbon_t_per_tj * 1e3 * oxidation * 44 / 12  # tC/TJ = kgC/GJ
    published = catalogue.get(factor_id).per_canonical("CO2")
    assert round(recomputed, 4) == float(published)
    assert str(ncv_kj) in catalogue.get(factor_id).notes


def test_to_frame_has_one_row_per_gas(shanghai):
    frame = shanghai.to_frame()
    diesel = frame[frame.factor_id == "ipcc-2006.diesel.stationary"]
    assert sorted(diesel.gas) == ["CH4", "CO2", "N2O"]
    assert list(diesel.co2e_kg_per_unit) == [pytest.approx(74.539)] * 3


# --- lookups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "factor_id", "value"),
    [
        ("2021-01-01", "mee-nbs.2021.cn", "0.5568"),  # valid_from is inclusive
        ("2022-12-31", "mee-nbs.2022.cn", "0.5366"),
        ("2023-01-01", "mee-nbs.2023.cn", "0.5306"),  # 2022's valid_to is exclusive
        ("2023-12-31", "mee-nbs.2023.cn", "0.5306"),
    ],
)
def test_lookup_at_validity_boundaries(cn_mee, on, factor_id, value):
    factor = cn_mee.lookup("electricity.grid", "CN", on)
    assert factor.id == factor_id
    assert factor.per_canonical("CO2") == Decimal(value)


def test_lookup_accepts_date_objects_and_timestamps(cn_mee):
    import pandas as pd

    assert cn_mee.lookup("electricity.grid", "CN", dt.date(2023, 1, 1)).id == "mee-nbs.2023.cn"
    assert cn_mee.lookup("electricity.grid", "CN", pd.Timestamp("2022-12-31 23:00")).id == (
        "mee-nbs.2022.cn"
    )


@pytest.mark.parametrize(
    ("region", "on", "factor_id", "value"),
    [
        ("CN-SH", "2023-06-01", "mee-nbs.2023.cn-east-grid", "0.55"),  # SH 2023 UNCONFIRMED
        ("CN-SH", "2022-06-01", "mee-nbs.2022.cn-sh", "0.5849"),
        ("CN-SH", "2021-03-01", "mee-nbs.2021.cn-sh", "0.5834"),
        ("CN-JS", "2022-06-01", "mee-nbs.2022.cn-east-grid", "0.5617"),
        ("CN-ZJ", "2021-06-01", "mee-nbs.2021.cn-east-grid", "0.5992"),
        ("CN-NORTH-GRID", "2021-06-01", "mee-nbs.2021.cn", "0.5568"),  # no 2021 华北 value
        ("CN-NORTH-GRID", "2023-06-01", "mee-nbs.2023.cn-north-grid", "0.6361"),
    ],
)
def test_lookup_falls_back_along_region_chain(cn_mee, region, on, factor_id, value):
    factor = cn_mee.lookup("electricity.grid", region, on)
    assert factor.id == factor_id
    assert factor.per_canonical("CO2") == Decimal(value)


def test_water_supply_in_shanghai_falls_back_to_global_proxy(cn_mee):
    factor = cn_mee.lookup("water.supply", "CN-SH", "2023-06-01")
    assert factor.id == "defra-2025.water_supply"
    assert factor.region == "GLOBAL"
    assert factor.proxy is True
    assert factor.confidence == "low"


def test_shanghai_profile_uses_local_defaults(shanghai):
    electricity = shanghai.lookup("electricity.grid", "CN-SH", "2025-03-01")  # open-ended
    heat = shanghai.lookup("heat.purchased", "CN-SH", "2022-01-01")
    assert electricity.per_canonical("CO2") == Decimal("0.42")
    assert heat.per_canonical("CO2") == Decimal("60")


@pytest.mark.parametrize(("on", "value"), [("2022-06-01", "0.5856"), ("2023-06-01", "0.6096")])
def test_market_method_lookup(shanghai, on, value):
    factor = shanghai.lookup("electricity.grid", "CN-SH", on, method="market")
    assert factor.method == "market"
    assert factor.series == "mee-nbs-excl-market-nonfossil"
    assert factor.per_canonical("CO2") == Decimal(value)


def test_market_method_has_no_2021_factor(shanghai):
    with pytest.raises(FactorNotFoundError, match="on 2021-06-01"):
        shanghai.lookup("electricity.grid", "CN-SH", "2021-06-01", method="market")


def test_ets_profile(ets):
    assert ets.gwp.name == "AR4"
    factor = ets.lookup("electricity.grid", "CN-SH", "2025-12-31")
    assert factor.id == "mee-ets.2022.cn"
    assert factor.per_canonical("CO2") == Decimal("0.5703")
    with pytest.raises(FactorNotFoundError, match="on 2026-01-01"):
        ets.lookup("electricity.grid", "CN-SH", "2026-01-01")


def test_factor_not_found_lists_chain_and_candidates(cn_mee):
    with pytest.raises(
        FactorNotFoundError,
        match=re.escape(
            "No emission factor for electricity.grid in 'CN-SH' on 2030-01-01; factor set "
            "'cn-mee-2023' tried regions CN-SH -> CN-EAST-GRID -> CN -> GLOBAL."
        ),
    ) as info:
        cn_mee.lookup("electricity.grid", "CN-SH", "2030-01-01")
    message = str(info.value)
    assert "mee-nbs.2023.cn-east-grid (CN-EAST-GRID, location, [2023-01-01, 2024-01-01)" in message
    assert "mee-nbs.2021.cn-sh" in message
    assert isinstance(info.value, LookupError)


def test_factor_not_found_for_activity_without_factors(ets):
    with pytest.raises(FactorNotFoundError, match="no factor for this activity at all"):
        ets.lookup("water.supply", "CN-SH", "2024-01-01")


def test_lookup_unknown_activity(cn_mee):
    with pytest.raises(UnknownActivityError, match=r"'electricity\.nuclear'"):
        cn_mee.lookup("electricity.nuclear", "CN", "2023-01-01")


def test_get_unknown_id(cn_mee):
    with pytest.raises(
        UnknownFactorError,
        match=r"No factor with id 'mee-nbs\.2030\.cn' in factor set 'cn-mee-2023'",
    ) as info:
        cn_mee.get("mee-nbs.2030.cn")
    assert "mee-nbs.2023.cn" in info.value.close


def test_catalogue_lookup_is_ambiguous_between_series(catalogue):
    with pytest.raises(
        AmbiguousFactorError, match=r"emission factors match electricity\.grid"
    ) as info:
        catalogue.lookup("electricity.grid", "CN", "2023-06-01")
    message = str(info.value)
    assert "mee-nbs.2023.cn (CN, location" in message
    assert "mee-ets.2022.cn (CN, location" in message


def test_catalogue_lookup_with_series(catalogue):
    assert catalogue.lookup("electricity.grid", "CN", "2023-06-01", series="mee-ets").id == (
        "mee-ets.2022.cn"
    )
    fossil = catalogue.lookup("electricity.grid", "CN", "2023-06-01", series="mee-nbs-fossil")
    assert fossil.per_canonical("CO2") == Decimal("0.8273")


# --- the vintage rule (docs/factors.md, 'The vintage rule') ------------------------------------


@pytest.mark.parametrize(
    ("on", "factor_id", "value", "in_force"),
    [
        ("2021-06-01", "mee-nbs.2021.cn-sh", "0.5834", True),
        ("2022-06-01", "mee-nbs.2022.cn-sh", "0.5849", True),
        ("2023-06-01", "mee-nbs.2023.cn-east-grid", "0.5500", True),  # no Shanghai 2023 value
        # 2024 has no factor at any level: the newest vintage of the chain (East China 2023),
        # never the older Shanghai 2022 one of the nearer level (0.5849).
        ("2024-06-01", "mee-nbs.2023.cn-east-grid", "0.5500", False),
        ("2025-12-31", "mee-nbs.2023.cn-east-grid", "0.5500", False),
    ],
)
def test_vintage_rule_shanghai_series_never_steps_back(cn_mee, on, factor_id, value, in_force):
    factor = cn_mee.lookup("electricity.grid", "CN-SH", on)
    assert (factor.id, factor.per_canonical("CO2")) == (factor_id, Decimal(value))
    assert factor.valid_on(dt.date.fromisoformat(on)) is in_force


def test_vintage_rule_stops_at_carry_forward_until(cn_mee):
    assert cn_mee.profile.carry_forward_until == dt.date(2026, 1, 1)
    with pytest.raises(FactorNotFoundError, match="on 2026-01-01"):
        cn_mee.lookup("electricity.grid", "CN-SH", "2026-01-01")


def _vintage_profile(tmp_path: Path, carry: str = "carry_forward_until = 2030-01-01\n") -> Path:
    # CN-SH published 2022, the East China grid 2023, the nation 2021: three vintages, three
    # levels; and a tie in 2025 (CN-SH and CN both end 2026-01-01).
    _write(
        tmp_path,
        GOOD_SOURCE
        + _factor(
            "t.sh22",
            region="CN-SH",
            valid_from="2022-01-01",
            valid_to="2023-01-01",
            gases='{ CO2 = "0.6 kgCO2/kWh" }',
        )
        + _factor(
            "t.east23",
            region="CN-EAST-GRID",
            valid_from="2023-01-01",
            valid_to="2024-01-01",
            gases='{ CO2 = "0.5 kgCO2/kWh" }',
        )
        + _factor(
            "t.cn21",
            region="CN",
            valid_from="2021-01-01",
            valid_to="2022-01-01",
            gases='{ CO2 = "0.7 kgCO2/kWh" }',
        )
        + _factor(
            "t.sh25",
            region="CN-SH",
            valid_from="2025-01-01",
            valid_to="2026-01-01",
            gases='{ CO2 = "0.4 kgCO2/kWh" }',
        )
        + _factor(
            "t.cn25",
            region="CN",
            valid_from="2025-01-01",
            valid_to="2026-01-01",
            gases='{ CO2 = "0.45 kgCO2/kWh" }',
        ),
        name="vintages.toml",
    )
    return _write_profile(tmp_path, carry + '[[include]]\nfile = "vintages.toml"\n')


@pytest.mark.parametrize(
    ("on", "factor_id"),
    [
        ("2022-06-01", "t.sh22"),  # in force at the nearest level
        ("2023-06-01", "t.east23"),  # in force one level up
        ("2024-06-01", "t.east23"),  # carried: newest vintage (2023), not CN-SH's 2022
        ("2026-03-01", "t.sh25"),  # tie of vintages: what answered on the last day covered
    ],
)
def test_vintage_rule_takes_the_newest_vintage_along_the_chain(tmp_path, on, factor_id):
    factors = load_factor_set(_vintage_profile(tmp_path))
    assert factors.lookup("electricity.grid", "CN-SH", on).id == factor_id


def test_no_vintage_is_carried_without_carry_forward_until(tmp_path):
    factors = load_factor_set(_vintage_profile(tmp_path, carry=""))
    with pytest.raises(FactorNotFoundError, match="on 2024-06-01"):
        factors.lookup("electricity.grid", "CN-SH", "2024-06-01")


def test_vintage_rule_is_flagged_by_valuation(cn_mee):
    v = value_factor(cn_mee, "electricity.grid", "CN-SH", dt.date(2024, 6, 1))
    assert v.factor_id == "mee-nbs.2023.cn-east-grid" and "carried_forward" in v.notes
    segments, warnings = factor_segments(
        cn_mee, [("electricity.grid", "CN-SH")], dt.date(2023, 12, 1), dt.date(2024, 2, 1)
    )
    location = segments[segments.method == "location"]
    # One factor across the year boundary: December in force, January carried.
    assert list(location.factor_id) == ["mee-nbs.2023.cn-east-grid"] * 2
    assert list(location.notes) == ["", "carried_forward"]
    # One warning per method: the market view carries the national residual-like factor.
    carried = {w.data["factor_id"]: w for w in warnings if w.code == "factor.carried_forward"}
    assert sorted(carried) == ["mee-nbs-excl-market.2023.cn", "mee-nbs.2023.cn-east-grid"]
    grid = carried["mee-nbs.2023.cn-east-grid"]
    assert grid.data == {
        "factor_id": "mee-nbs.2023.cn-east-grid",
        "from": "2024-01-01",
        "to": "2024-02-01",
    }
    assert grid.message.startswith("mee-nbs.2023.cn-east-grid (CN-EAST-GRID, valid to 2024-01-01)")
    assert "newest vintage along the region chain" in grid.message


# --- profiles --------------------------------------------------------------------------------


def test_packaged_profiles():
    assert list_profiles() == PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_profile_loads(name):
    factor_set = load_factor_set(name)
    assert factor_set.name == name
    assert factor_set.profile.name == name
    assert len(factor_set) > 0


@pytest.mark.parametrize("name", PROFILES)
def test_profile_never_mixes_ets_and_mee_nbs_series(name):
    # docs/research/factors.md §1: 0.5703 (mee-ets) is a different series; do not mix the two.
    series = {f.series for f in load_factor_set(name)}
    assert not ("mee-ets" in series and any(s.startswith("mee-nbs") for s in series))


def test_unknown_profile_name():
    with pytest.raises(FactorFileError, match="no profile named 'atlantis-2099'; known: cn-ets"):
        load_factor_set("atlantis-2099")


# --- content hash ----------------------------------------------------------------------------


def _copy_profile(tmp_path: Path, name: str) -> Path:
    (tmp_path / "profiles").mkdir(exist_ok=True)
    target = tmp_path / "profiles" / f"{name}.toml"
    shutil.copyfile(factors_dir() / "profiles" / f"{name}.toml", target)
    return target


def test_content_hash_is_stable():
    first = load_factor_set("shanghai-2022").content_hash
    second = load_factor_set("shanghai-2022").content_hash
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{64}", first)


def test_content_hash_of_identical_copy_matches(tmp_path):
    copy = _copy_profile(tmp_path, "shanghai-2022")
    assert load_factor_set(copy).content_hash == load_factor_set("shanghai-2022").content_hash


def test_content_hash_changes_with_profile(tmp_path):
    copy = _copy_profile(tmp_path, "shanghai-2022")
    copy.write_text(copy.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert load_factor_set(copy).content_hash != load_factor_set("shanghai-2022").content_hash


def test_content_hash_changes_with_a_factor_file(tmp_path):
    copy = _copy_profile(tmp_path, "shanghai-2022")
    original = (factors_dir() / "sh-eeb-2022.toml").read_text(encoding="utf-8")
    (tmp_path / "sh-eeb-2022.toml").write_text(original + "\n# edited\n", encoding="utf-8")
    factor_set = load_factor_set(copy)
    assert (
        factor_set.files["sh-eeb-2022.toml"]
        != load_factor_set("shanghai-2022").files["sh-eeb-2022.toml"]
    )
    assert factor_set.content_hash != load_factor_set("shanghai-2022").content_hash


def test_expect_hash(tmp_path):
    pinned = load_factor_set("cn-mee-2023").content_hash
    assert load_factor_set("cn-mee-2023", expect_hash=pinned).content_hash == pinned
    with pytest.raises(FactorFileError, match=f"differs from the pinned {'0' * 64}"):
        load_factor_set("cn-mee-2023", expect_hash="0" * 64)


# --- bad files ---------------------------------------------------------------------------------

GOOD_SOURCE = '[source]\npublisher = "Test publisher"\ntitle = "Test document"\nyear = 2022\n'


def _factor(
    id: str = "t.a",
    *,
    activity: str = "electricity.grid",
    region: str = "CN",
    valid_from: str = "2022-01-01",
    valid_to: str | None = None,
    gases: str = '{ CO2 = "0.5 kgCO2/kWh" }',
) -> str:
    lines = [
        "[[factor]]",
        f'id = "{id}"',
        f'activity = "{activity}"',
        f'region = "{region}"',
        f"valid_from = {valid_from}",
        f"gases = {gases}",
        'confidence = "assumption"',
    ]
    if valid_to:
        lines.append(f"valid_to = {valid_to}")
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text('series = "test"\n' + text, encoding="utf-8")
    return path


BAD_FILES = {
    "unit of wrong dimension": (
        GOOD_SOURCE + _factor(gases='{ CO2 = "0.42 kgCO2/m3" }'),
        "t.a",
        "gases.CO2",
        r"unit 'kgCO2/m3' has dimension .* expected kgCO2 per kWh for activity 'electricity\.grid'",
    ),
    "unknown unit": (
        GOOD_SOURCE + _factor(gases='{ CO2 = "0.42 kgCO2/blorb" }'),
        "t.a",
        "gases.CO2",
        r"Unknown unit 'kgCO2/blorb'",
    ),
    "missing source": (_factor(), "t.a", "source", r"no source: add \[source\]"),
    "overlapping validity": (
        GOOD_SOURCE
        + _factor("t.a", valid_to="2023-01-01")
        + _factor("t.b", valid_from="2022-06-01"),
        "t.b",
        "valid_from",
        r"validity \[2022-06-01, open\) overlaps factor 't\.a' \[2022-01-01, 2023-01-01\)",
    ),
    "unknown activity": (
        GOOD_SOURCE + _factor(activity="electricity.nuclear"),
        "t.a",
        "activity",
        r"unknown activity 'electricity\.nuclear'",
    ),
    "unknown region": (
        GOOD_SOURCE + _factor(region="CN-ATLANTIS"),
        "t.a",
        "region",
        r"Unknown region 'CN-ATLANTIS': not an ISO 3166-1/-2 code",
    ),
    "valid_to before valid_from": (
        GOOD_SOURCE + _factor(valid_to="2021-01-01"),
        "t.a",
        "valid_to",
        r"valid_to 2021-01-01 is not after valid_from 2022-01-01",
    ),
    "unknown gas": (
        GOOD_SOURCE + _factor(gases='{ CH5 = "0.1 kgCH4/kWh" }'),
        "t.a",
        "gases.CH5.[key]",
        r"Input should be 'CO2e', 'CO2', 'CH4' or 'N2O' \(got 'CH5'\)",
    ),
    "source without year": (
        '[source]\npublisher = "P"\ntitle = "T"\n' + _factor(),
        "t.a",
        "source.year",
        r"Field required",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_factor_file(tmp_path, case):
    text, entry, field, message = BAD_FILES[case]
    path = _write(tmp_path, text)
    with pytest.raises(FactorFileError, match=message) as info:
        load_factor_file(path)
    shown = str(info.value)
    assert shown.startswith(f"{path}, entry {entry!r}, field {field!r}: ")
    assert (info.value.path, info.value.entry, info.value.field) == (path, entry, field)


def test_bad_toml(tmp_path):
    path = _write(tmp_path, GOOD_SOURCE + "[[factor]]\nid = 'unterminated\n")
    with pytest.raises(FactorFileError, match=re.escape(f"{path}: not valid TOML")):
        load_factor_file(path)


def test_file_without_factors(tmp_path):
    path = _write(tmp_path, GOOD_SOURCE)
    with pytest.raises(FactorFileError, match=r"no \[\[factor\]\] entries"):
        load_factor_file(path)


def test_factor_source_overrides_single_fields(tmp_path):
    text = GOOD_SOURCE + _factor() + 'source = { table = "Table 9", year = 2023 }\n'
    (factor,) = load_factor_file(_write(tmp_path, text))
    assert (factor.source.publisher, factor.source.table, factor.source.year) == (
        "Test publisher",
        "Table 9",
        2023,
    )


def _write_profile(tmp_path: Path, body: str, gwp: str = "AR5") -> Path:
    (tmp_path / "profiles").mkdir(exist_ok=True)
    path = tmp_path / "profiles" / "test-profile.toml"
    path.write_text(
        'name = "test-profile"\ntitle_zh = "测试"\ntitle_en = "Test"\ndescription = "test"\n'
        f'gwp = "{gwp}"\n' + body,
        encoding="utf-8",
    )
    return path


def test_profile_with_unknown_gwp_set(tmp_path):
    path = _write_profile(tmp_path, '[[include]]\nfile = "water.toml"\n', gwp="AR9")
    with pytest.raises(FactorFileError, match=r"unknown GWP set 'AR9'; known: AR4, AR5") as info:
        load_factor_set(path)
    assert str(info.value).startswith(f"{path}, field 'gwp': ")


def test_profile_mixing_overlapping_series(tmp_path):
    # Without a series filter the file brings mee-nbs-grid and mee-nbs-fossil for CN in one year.
    path = _write_profile(tmp_path, '[[include]]\nfile = "cn-mee-nbs-grid.toml"\n')
    with pytest.raises(
        FactorFileError,
        match=r"overlaps factor .* activity=electricity\.grid, "
        r"region=CN, method=location",
    ) as info:
        load_factor_set(path)
    assert info.value.path == path
    assert info.value.field == "valid_from"
    assert info.value.entry is not None and info.value.entry.startswith("mee-nbs")


def test_profile_overlap_across_files(tmp_path):
    # A local file in tmp_path (the profile folder's parent) is found before the packaged one.
    _write(tmp_path, GOOD_SOURCE + _factor("t.sh", region="CN-SH"), name="local.toml")
    path = _write_profile(
        tmp_path, '[[include]]\nfile = "sh-eeb-2022.toml"\n\n[[include]]\nfile = "local.toml"\n'
    )
    with pytest.raises(
        FactorFileError, match=r"overlaps factor 'sh-eeb-2022\.electricity'"
    ) as info:
        load_factor_set(path)
    assert str(info.value).startswith(f"{path}, entry 't.sh', field 'valid_from': ")


def test_profile_with_unknown_series(tmp_path):
    path = _write_profile(tmp_path, '[[include]]\nfile = "water.toml"\nseries = ["nope"]\n')
    with pytest.raises(FactorFileError, match=r"series \['nope'\] not in water\.toml"):
        load_factor_set(path)


def test_profile_including_a_bad_file(tmp_path):
    _write(tmp_path, _factor("t.nosource"), name="local.toml")
    path = _write_profile(tmp_path, '[[include]]\nfile = "local.toml"\n')
    with pytest.raises(FactorFileError, match=r"local\.toml, entry 't\.nosource', field 'source'"):
        load_factor_set(path)


def test_profile_missing_field(tmp_path):
    (tmp_path / "profiles").mkdir()
    path = tmp_path / "profiles" / "p.toml"
    path.write_text(
        'name = "p"\ntitle_zh = "p"\ntitle_en = "p"\ngwp = "AR5"\n'
        '[[include]]\nfile = "water.toml"\n',
        encoding="utf-8",
    )
    with pytest.raises(FactorFileError, match=r"entry 'p', field 'description': Field required"):
        load_factor_set(path)


# --- JSON schema ------------------------------------------------------------------------------

SCHEMA_PATH = factors_dir() / "schema.json"

# The JSON Schema keywords the fallback validator below understands; annotations are ignored.
_CHECKED = {
    "$ref",
    "anyOf",
    "enum",
    "type",
    "pattern",
    "minLength",
    "minimum",
    "maximum",
    "format",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "minProperties",
    "items",
    "minItems",
}
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "default"}
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _as_json(value: Any) -> Any:
    """TOML values as JSON would carry them (dates become ISO strings)."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _errors(
    value: Any, schema: dict[str, Any], root: dict[str, Any], where: str = "$"
) -> list[str]:
    """A small JSON Schema (2020-12 subset) validator, used when jsonschema is not installed."""
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    out: list[str] = []
    if "anyOf" in schema and all(_errors(value, s, root, where) for s in schema["anyOf"]):
        out.append(f"{where}: matches none of anyOf")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in {schema['enum']}")
    if "type" in schema:
        expected = _TYPES[schema["type"]]
        if not isinstance(value, expected) or (
            isinstance(value, bool) and schema["type"] != "boolean"
        ):
            return [*out, f"{where}: {value!r} is not of type {schema['type']}"]
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: too short")
        if schema.get("format") == "date":
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                out.append(f"{where}: {value!r} is not a date")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            out.append(f"{where}: {value} out of range")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{where}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        if len(value) < schema.get("minProperties", 0):
            out.append(f"{where}: too few properties")
        for key, item in value.items():
            if "propertyNames" in schema:
                out += _errors(key, schema["propertyNames"], root, f"{where}.{key}[key]")
            if key in props:
                out += _errors(item, props[key], root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{where}: unexpected {key!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                out += _errors(item, schema["additionalProperties"], root, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{where}: too few items")
        for i, item in enumerate(value):
            out += _errors(item, schema.get("items", {}), root, f"{where}[{i}]")
    return out


def _keywords(node: Any, parent: str = "") -> set[str]:
    """Every schema keyword used, skipping the names inside `properties` and `$defs`."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, sub in node.items():
            if parent not in ("properties", "$defs"):
                found.add(key)
            if key not in ("enum", "required", "default"):
                found |= _keywords(sub, key)
    elif isinstance(node, list):
        for sub in node:
            found |= _keywords(sub)
    return found


def _validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    if jsonschema is not None:  # pragma: no cover - depends on the environment
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        return [e.message for e in validator.iter_errors(instance)]
    return _errors(instance, schema, schema)


def test_schema_file_is_current():
    expected = json.dumps(factor_file_schema(), indent=2, ensure_ascii=False) + "\n"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == expected, (
        "factors/schema.json is stale: re-export factor_file_schema()"
    )


def test_fallback_validator_knows_every_keyword_in_the_schema():
    assert _keywords(factor_file_schema()) <= _CHECKED | _ANNOTATIONS


@pytest.mark.parametrize("path", FACTOR_FILES, ids=lambda p: p.name)
def test_factor_file_matches_schema(path):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    with open(path, "rb") as fh:
        data = _as_json(tomllib.load(fh))
    assert _validate(data, schema) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"confidence": "certain"}, "certain"),
        ({"gases": {"CO2": "0.42"}}, "0.42"),
        ({"gases": {"CH5": "1 kgCH4/kWh"}}, "CH5"),
        ({"valid_from": "2022-13-01"}, "2022-13-01"),
        ({"colour": "green"}, "colour"),
        ({"source": {"table": "T", "page": 3}}, "page"),
    ],
)
def test_schema_rejects_bad_factor(change, problem):
    schema = factor_file_schema()
    factor = {
        "id": "t.a",
        "activity": "electricity.grid",
        "region": "CN",
        "valid_from": "2022-01-01",
        "gases": {"CO2": "0.42 kgCO2/kWh"},
        "confidence": "high",
        **change,
    }
    document = {"source": {"publisher": "P", "title": "T", "year": 2022}, "factor": [factor]}
    errors = _validate(document, schema)
    if jsonschema is None:
        assert any(problem in e for e in errors), errors
    else:  # pragma: no cover
        assert errors


def test_schema_requires_full_file_source_but_partial_factor_source():
    schema = factor_file_schema()
    factor = {
        "id": "t.a",
        "activity": "electricity.grid",
        "region": "CN",
        "valid_from": "2022-01-01",
        "gases": {"CO2": "0.42 kgCO2/kWh"},
        "confidence": "high",
        "source": {"table": "T"},
    }
    assert (
        _validate(
            {"source": {"publisher": "P", "title": "T", "year": 2022}, "factor": [factor]}, schema
        )
        == []
    )
    assert _validate({"source": {"publisher": "P"}, "factor": [factor]}, schema) != []


# --- profiles and factor files in any folder (docs/factors.md) ----------------------------------


def _profile_at(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        'name = "user"\ntitle_zh = "用户"\ntitle_en = "User"\ndescription = "test"\n'
        'gwp = "AR5"\n' + body,
        encoding="utf-8",
    )
    return path


def test_a_profile_beside_edited_factor_files_takes_them(tmp_path):
    # The bug of issue 14: includes resolved to the profile's grandparent, so a profile placed
    # beside an edited copy of a packaged file silently used the packaged one.
    original = (factors_dir() / "sh-eeb-2022.toml").read_text(encoding="utf-8")
    assert 'CO2 = "4.2 tCO2/万kWh"' in original
    folder = tmp_path / "city"
    folder.mkdir()
    (folder / "sh-eeb-2022.toml").write_text(
        original.replace('CO2 = "4.2 tCO2/万kWh"', 'CO2 = "4.0 tCO2/万kWh"'), encoding="utf-8"
    )
    (tmp_path / "sh-eeb-2022.toml").write_text(original, encoding="utf-8")  # the grandparent
    profile = _profile_at(folder / "p.toml", '[[include]]\nfile = "sh-eeb-2022.toml"\n')
    factors = load_factor_set(profile)
    assert factors.lookup("electricity.grid", "CN-SH", "2024-01-01").per_canonical(
        "CO2"
    ) == Decimal("0.4")
    assert factors.paths["sh-eeb-2022.toml"] == str((folder / "sh-eeb-2022.toml").resolve())


def test_includes_are_relative_to_the_profile(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "city" / "grid").mkdir(parents=True)
    _write(tmp_path / "shared", GOOD_SOURCE + _factor("t.up", region="CN"), name="up.toml")
    _write(
        tmp_path / "city" / "grid", GOOD_SOURCE + _factor("t.sub", region="CN-SH"), name="sub.toml"
    )
    profile = _profile_at(
        tmp_path / "city" / "p.toml",
        '[[include]]\nfile = "grid/sub.toml"\n\n[[include]]\nfile = "../shared/up.toml"\n\n'
        '[[include]]\nfile = "water.toml"\n',  # a bare name not beside it: the packaged file
    )
    factors = load_factor_set(profile)
    assert {"t.up", "t.sub", "defra-2025.water_supply"} <= {f.id for f in factors}
    assert factors.paths["water.toml"] == str((factors_dir() / "water.toml").resolve())
    assert set(factors.files) == {"grid/sub.toml", "../shared/up.toml", "water.toml"}


def test_a_missing_include_names_every_place_looked_in(tmp_path):
    profile = _profile_at(tmp_path / "profiles" / "p.toml", '[[include]]\nfile = "nope.toml"\n')
    with pytest.raises(FactorFileError, match=r"file 'nope\.toml' not found; looked in") as info:
        load_factor_set(profile)
    message = str(info.value)
    assert str(tmp_path / "profiles") in message and str(factors_dir()) in message
    assert info.value.field == "include.file"


@pytest.mark.parametrize(
    ("region", "chain"),
    [
        ("US-CA", ["US-CA", "US", "GLOBAL"]),  # ISO 3166-2 -> its country
        ("US", ["US", "GLOBAL"]),  # ISO 3166-1
        ("FR-75C", ["FR-75C", "FR-IDF", "FR", "GLOBAL"]),  # ISO parent subdivision first
        ("CN-BJ", ["CN-BJ", "CN", "GLOBAL"]),  # ISO, not packaged: straight to the nation
        ("CN-SH", ["CN-SH", "CN-EAST-GRID", "CN", "GLOBAL"]),  # packaged chain wins
    ],
)
def test_iso_3166_regions_need_no_declaration(cn_mee, region, chain):
    assert cn_mee.region_chain(region) == chain


def test_a_factor_file_may_use_iso_codes_and_declare_regions(tmp_path):
    text = (
        GOOD_SOURCE
        + '[[region]]\nid = "US-EGRID-CAMX"\nname_en = "eGRID CAMX"\nparent = "US"\n\n'
        + _factor("t.camx", region="US-EGRID-CAMX", gases='{ CO2 = "0.2 kgCO2/kWh" }')
        + _factor("t.us", region="US", gases='{ CO2 = "0.3 kgCO2/kWh" }')
    )
    _write(tmp_path, text, name="us.toml")
    profile = _profile_at(
        tmp_path / "p.toml",
        '[[region]]\nid = "US-CA"\nname_en = "California"\nparent = "US-EGRID-CAMX"\n\n'
        '[[include]]\nfile = "us.toml"\n',
    )
    factors = load_factor_set(profile)
    assert factors.region_chain("US-CA") == ["US-CA", "US-EGRID-CAMX", "US", "GLOBAL"]
    assert factors.lookup("electricity.grid", "US-CA", "2024-01-01").id == "t.camx"
    assert factors.lookup("electricity.grid", "US-NY", "2024-01-01").id == "t.us"
    # Standalone, the file knows its own declaration and ISO codes.
    assert {f.region for f in load_factor_file(tmp_path / "us.toml")} == {"US-EGRID-CAMX", "US"}


@pytest.mark.parametrize(
    ("regions", "field", "message"),
    [
        (
            '[[region]]\nid = "CN-SH"\nname_en = "Shanghai"\nparent = "CN"\n',
            "parent",
            r"region 'CN-SH' is already declared with parent 'CN-EAST-GRID'; this declaration "
            r"gives 'CN'",
        ),
        (
            '[[region]]\nid = "US-X1"\nname_en = "x"\nparent = "US-NOWHERE"\n',
            "region.parent",
            r"Unknown region 'US-NOWHERE' \(parent in the chain of 'US-X1'\)",
        ),
        ('[[region]]\nid = "US-X1"\nparent = "US"\n', None, r"a region needs name_en or name_zh"),
        (
            '[[region]]\nid = "us-x1"\nname_en = "x"\n',
            "region.0.id",
            r"String should match pattern",
        ),
    ],
    ids=["changes a packaged region", "unknown parent", "no name", "lower case"],
)
def test_bad_region_declarations(tmp_path, regions, field, message):
    profile = _profile_at(tmp_path / "p.toml", regions + '\n[[include]]\nfile = "water.toml"\n')
    with pytest.raises(FactorFileError, match=message) as info:
        load_factor_set(profile)
    assert info.value.field == field


def test_two_declarations_of_a_region_must_agree(tmp_path):
    text = (
        GOOD_SOURCE
        + '[[region]]\nid = "US-ZONE1"\nname_en = "z"\nparent = "US"\n\n'
        + _factor("t.z", region="US-ZONE1")
    )
    _write(tmp_path, text, name="z.toml")
    profile = _profile_at(
        tmp_path / "p.toml",
        '[[region]]\nid = "US-ZONE1"\nname_en = "z"\nparent = "US-CA"\n\n'
        '[[include]]\nfile = "z.toml"\n',
    )
    with pytest.raises(
        FactorFileError,
        match=r"'US-ZONE1' is already declared with parent "
        r"'US-CA'; this declaration gives 'US'",
    ) as info:
        load_factor_set(profile)
    assert info.value.path == tmp_path / "z.toml"


@pytest.mark.parametrize("region", ["US-XX", "CN-SHH", "ATLANTIS"])
def test_lookup_in_an_unknown_region_is_an_error_never_global(cn_mee, region):
    with pytest.raises(
        UnknownRegionError,
        match=f"Unknown region '{region}' "
        r"\(factor set 'cn-mee-2023'\): not an ISO 3166-1/-2 code",
    ) as info:
        cn_mee.lookup("water.supply", region, "2023-06-01")
    assert isinstance(info.value, LookupError)


def test_a_profile_never_includes_itself(tmp_path):
    # profiles/x.toml including "x.toml" means the factor file x.toml of the folder above.
    _write(tmp_path, GOOD_SOURCE + _factor("t.x", region="CN"), name="x.toml")
    profile = _profile_at(tmp_path / "profiles" / "x.toml", '[[include]]\nfile = "x.toml"\n')
    factors = load_factor_set(profile)
    assert [f.id for f in factors] == ["t.x"]
    assert factors.paths["x.toml"] == str((tmp_path / "x.toml").resolve())
