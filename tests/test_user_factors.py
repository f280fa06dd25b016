"""Factors and units from anywhere: a US city's ledger built and verified from a user folder.

Issue 14 part 4, done when "a US city's factors (lbCO2/MWh, therms) can be loaded from a user
folder and a ledger built and verified from the command line without touching the package".
The folder is ``examples/us_city`` copied into a temporary folder: a profile, factor files in
lbCO2/MWh and per mmBtu, a units file, a three-node twin in ``US-CA`` with an electricity meter
in MWh and a gas meter in therms, made-up readings and a ledger script.

Hand values (AR5 GWP-100: CH4 28, N2O 265; 1 lb = 0.45359237 kg; 1 therm = 100,000 Btu =
0.1055056 GJ; 1 mmBtu = 1.055056 GJ):

* electricity, eGRID2022 CAMX: 497.4 lbCO2/MWh = 0.225616844838 kgCO2/kWh -> 0.225616845 at nine
  decimals; 10,000 kWh -> 2,256.168 kg CO2. CH4 0.030 lb/MWh -> 0.000013608 kg/kWh, N2O
  0.004 lb/MWh -> 0.000001814 kg/kWh; CO2e 0.225616844838 + 28 x 0.0000136077711 + 265 x
  0.00000181436948 = 0.226478670 kg/kWh -> 2,264.787 kg for January, 1,811.829 kg for 8 MWh;
* natural gas, EPA Hub 2024 Table 1: 1,000 therm = 100 mmBtu = 105.5056 GJ; x 53.06 kgCO2/mmBtu =
  5,306.000 kg CO2; 100 g CH4 and 10 g N2O -> CO2e 5,306 + 2.8 + 2.65 = 5,311.450 kg.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carbon import audit
from carbon.cli import app
from carbon.errors import FactorFileError, TwinError, UnitFileError
from carbon.factors import load_factor_set
from carbon.snapshot import Snapshot, load_snapshot, sha256_file
from carbon.twin import load_twin
from carbon.units import Q_, load_unit_file

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "us_city"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def copy_city(where: Path) -> Path:
    """The example folder copied outside the package (without any store a run left)."""
    folder = where / "my_city"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("*.duckdb*"))
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Snapshot]:
    """The city copied to a temporary folder and built once with `carbon ledger build`."""
    root = tmp_path_factory.mktemp("user_factors")
    city = copy_city(root)
    code, out = invoke("ledger", "build", str(city / "ledger.toml"), "--out", str(root / "D"))
    assert code == 0, out
    return city, load_snapshot(root / "D")


# --- the "done when" -----------------------------------------------------------------


def test_a_us_city_builds_and_verifies_from_the_command_line(built):
    _, snap = built
    code, out = invoke("ledger", "verify", str(snap.path))
    assert code == 0, out
    assert "verified: the rebuild is byte-identical" in out
    e = pd.read_csv(snap.path / "entries.csv", dtype=str, keep_default_na=False)
    got = {
        (r.activity, r.period_start, r.method): (
            r.amount,
            r.unit,
            r.factor_id,
            r.co2_kg,
            r.ch4_kg,
            r.n2o_kg,
            r.co2e_kg,
            r.notes,
        )
        for r in e.itertuples()
    }
    grid = ("kWh", "egrid-2022.camx")
    gas = ("GJ", "epa-hub-2024.natural_gas")
    assert got[("electricity.grid", "2024-01-01", "location")] == (
        "10000.000000",
        *grid,
        "2256.168",
        "0.136",
        "0.018",
        "2264.787",
        "carried_forward",
    )
    assert got[("electricity.grid", "2024-02-01", "location")][6] == "1811.829"
    assert got[("natural_gas.combustion_energy", "2024-01-01", "n/a")] == (
        "105.505600",
        *gas,
        "5306.000",
        "0.100",
        "0.010",
        "5311.450",
        "",
    )
    assert got[("natural_gas.combustion_energy", "2024-02-01", "n/a")][6] == "4249.160"
    # Electricity is scope 2 of the office building, gas scope 1 (GPC I.2.2 / I.2.1).
    assert set(e[e.activity == "electricity.grid"].gpc_ref) == {"I.2.2"}
    assert set(e[e.activity == "natural_gas.combustion_energy"].gpc_ref) == {"I.2.1"}


def test_the_manifest_records_the_user_files(built):
    city, snap = built
    m = snap.manifest
    units_sha = sha256_file(city / "units.txt")
    assert m["units"] == {"file": "units.txt", "sha256": units_sha}
    assert m["recipe"]["ledger"]["units"] == "units.txt"
    assert m["factor_set"]["name"] == "us-ca-example"
    assert m["factor_set"]["files"] == {
        "units.txt": units_sha,
        "egrid-2022-camx.toml": sha256_file(city / "egrid-2022-camx.toml"),
        "epa-hub-2024-natural-gas.toml": sha256_file(city / "epa-hub-2024-natural-gas.toml"),
    }
    assert m["environment"]["profile_path"] == str((city / "profile.toml").resolve())
    assert m["twin"]["name"] == "us_example"
    carried = [w for w in m["warnings"] if w["code"] == "factor.carried_forward"]
    assert carried and all("egrid-2022.camx (US-EGRID-CAMX" in w["message"] for w in carried)


def test_verify_names_a_changed_units_file(built):
    # The replay loads the units file again (ledger script and profile): an edit, even a
    # comment, is named, not silently taken.
    city, snap = built
    original = (city / "units.txt").read_text(encoding="utf-8")
    try:
        (city / "units.txt").write_text(original + "# an edit\n", encoding="utf-8")
        result = audit.verify(snap.path)
        assert not result
        assert "units.sha256" in result.fields
        assert "factor_set.content_hash" in result.fields
    finally:
        (city / "units.txt").write_text(original, encoding="utf-8")
    assert audit.verify(snap.path)


def test_the_factors_list_command_takes_a_user_profile(built):
    city, _ = built
    code, out = invoke("factors", "list", "--profile", str(city / "profile.toml"))
    assert code == 0, out
    assert out.startswith("us-ca-example · 2 factors · GWP AR5 · sha256 ")


# --- units files -------------------------------------------------------------------------------


def test_a_units_file_adds_units_and_may_be_loaded_twice(tmp_path):
    path = tmp_path / "units.txt"
    path.write_text(
        "# test units\nzork_CO2 = 2 * kilogram_CO2 = zorkCO2  # two kilograms\n\n"
        "pound_mass_zork = 0.45359237 * kilogram = lb_zork = lb\n",  # lb: the same unit, kept
        encoding="utf-8",
    )
    first = load_unit_file(path)
    assert load_unit_file(path) == first == sha256_file(path)
    assert Q_(3, "zorkCO2/MWh").to("kgCO2/kWh").magnitude == pytest.approx(0.006)
    assert Q_(1, "lb_zork").to("kg").magnitude == pytest.approx(0.45359237)


@pytest.mark.parametrize(
    ("text", "entry", "field", "message"),
    [
        (
            "kWh = 2 * joule\n",
            "kWh",
            "line 1",
            r"'kWh' is already a unit \(1 kWh = 3600000\.0 .*\); a units file adds units, it never "
            r"redefines one",
        ),
        (
            "# ok\n@group USCS\n",
            None,
            "line 2",
            r"directive '@group': a units file holds one definition per line",
        ),
        ("just words\n", None, "line 1", r"expected 'name = definition \[= symbol\]"),
        (
            "quux_energy = 3 * no_such_unit\n",
            "quux_energy",
            "line 1",
            r"cannot define 'quux_energy': 'no_such_unit' is not defined",
        ),
    ],
    ids=["redefinition", "directive", "not a definition", "undefined inside"],
)
def test_bad_units_files(tmp_path, text, entry, field, message):
    path = tmp_path / "units.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnitFileError, match=message) as info:
        load_unit_file(path)
    assert (info.value.path, info.value.entry, info.value.field) == (path, entry, field)
    assert isinstance(info.value, ValueError)


def test_a_missing_units_file(tmp_path):
    with pytest.raises(UnitFileError, match=r"units file not found"):
        load_unit_file(tmp_path / "nope.txt")


def test_a_profile_loads_its_units_file_before_its_factors(tmp_path):
    (tmp_path / "f.toml").write_text(
        'series = "t"\n[source]\npublisher = "P"\ntitle = "T"\nyear = 2024\n\n[[factor]]\n'
        'id = "t.blorb"\nactivity = "electricity.grid"\nregion = "US"\n'
        'valid_from = 2024-01-01\ngases = { CO2 = "500 blorbCO2/MWh" }\n'
        'confidence = "assumption"\n',
        encoding="utf-8",
    )
    head = 'name = "u"\ntitle_zh = "u"\ntitle_en = "u"\ndescription = "u"\ngwp = "AR5"\n'
    include = '[[include]]\nfile = "f.toml"\n'
    (tmp_path / "p.toml").write_text(head + include, encoding="utf-8")
    with pytest.raises(FactorFileError, match=r"Unknown unit 'blorbCO2/MWh'") as info:
        load_factor_set(tmp_path / "p.toml")
    assert info.value.field == "gases.CO2"
    (tmp_path / "units.txt").write_text(
        "blorb_CO2 = 0.5 * kilogram_CO2 = blorbCO2\n", encoding="utf-8"
    )
    (tmp_path / "p.toml").write_text(head + 'units = "units.txt"\n' + include, encoding="utf-8")
    factors = load_factor_set(tmp_path / "p.toml")
    # 500 blorbCO2/MWh x 0.5 kg/blorb / 1000 kWh/MWh = 0.25 kgCO2/kWh
    assert str(factors.get("t.blorb").per_canonical("CO2")) == "0.25"
    assert factors.files["units.txt"] == sha256_file(tmp_path / "units.txt")
    before = factors.content_hash
    with open(tmp_path / "units.txt", "a", encoding="utf-8") as fh:
        fh.write("# edited\n")
    assert load_factor_set(tmp_path / "p.toml").content_hash != before


def test_the_ledger_script_loads_its_units_before_the_twin(tmp_path):
    # A meter in a unit only the units file defines: without [ledger] units the twin cannot
    # load (exit 2, one line); with it the ledger builds and verifies.
    city = copy_city(tmp_path)
    meters = city / "twin" / "meters.toml"
    meters.write_text(
        meters.read_text(encoding="utf-8").replace('unit = "MWh"', 'unit = "zapWh"'),
        encoding="utf-8",
    )
    script = city / "ledger.toml"
    text = script.read_text(encoding="utf-8").replace('units = "units.txt"\n', "")
    script.write_text(text, encoding="utf-8")
    code, out = invoke("ledger", "build", str(script), "--out", str(tmp_path / "D"))
    assert code == 2, out
    assert "Unknown unit 'zapWh'" in out and "meters.toml" in out and "Traceback" not in out
    (city / "more_units.txt").write_text(
        "zap_watt_hour = 1e6 * watt_hour = zapWh\n", encoding="utf-8"
    )
    script.write_text(
        text.replace(
            'profile = "profile.toml"\n', 'profile = "profile.toml"\nunits = "more_units.txt"\n'
        ),
        encoding="utf-8",
    )
    code, out = invoke("ledger", "build", str(script), "--out", str(tmp_path / "D"))
    assert code == 0, out
    snap = load_snapshot(tmp_path / "D")
    assert snap.manifest["units"]["file"] == "more_units.txt"
    e = snap.table("entries")
    jan = e[
        (e.activity == "electricity.grid")
        & (e.period_start.astype(str) == "2024-01-01")
        & (e.method == "location")
    ]
    assert [str(a) for a in jan.amount] == ["10000.000000"]  # 10 zapWh = 10 MWh
    code, out = invoke("ledger", "verify", str(snap.path))
    assert code == 0, out


def test_a_bad_units_file_stops_the_build_with_one_line(tmp_path):
    city = copy_city(tmp_path)
    (city / "units.txt").write_text("lb = 0.5 * kilogram\n", encoding="utf-8")
    code, out = invoke("ledger", "build", str(city / "ledger.toml"), "--out", str(tmp_path / "D"))
    assert code == 2, out
    assert "units.txt, entry 'lb', field 'line 1': 'lb' is already a unit" in out
    assert "Traceback" not in out


# --- regions of the twin --------------------------------------------------------------------


def test_a_twin_outside_china_keeps_its_iso_region():
    twin = load_twin(EXAMPLE / "twin")
    assert twin.site.region == "US-CA"
    assert twin.region_of("city_hall") == "US-CA"


def test_a_twin_region_must_be_a_region_code(tmp_path):
    folder = tmp_path / "twin"
    shutil.copytree(EXAMPLE / "twin", folder)
    site = folder / "site.toml"
    site.write_text(
        site.read_text(encoding="utf-8").replace('"US-CA"', '"California"'), encoding="utf-8"
    )
    with pytest.raises(TwinError, match=r"String should match pattern") as info:
        load_twin(folder)
    assert info.value.field == "region"


def test_an_unknown_twin_region_stops_the_build_with_one_line(tmp_path):
    # US-XX has the shape of an ISO 3166-2 code but is none: refused, never valued as GLOBAL.
    city = copy_city(tmp_path)
    site = city / "twin" / "site.toml"
    site.write_text(
        site.read_text(encoding="utf-8").replace('"US-CA"', '"US-XX"'), encoding="utf-8"
    )
    code, out = invoke("ledger", "build", str(city / "ledger.toml"), "--out", str(tmp_path / "D"))
    assert code == 2, out
    assert "Unknown region 'US-XX' (factor set 'us-ca-example')" in " ".join(out.split())
    assert "Traceback" not in out
