"""Tests of carbon.instruments and carbon.scope2: the register of green-electricity
instruments, the Shanghai 沪环气候〔2023〕89号 view, the market-based view fed from the register,
the method note and the sensitivity of 0.42.

A one-office twin (tests/helpers.py) in a real DuckDB store; factors of the shanghai-2022
profile: location 0.42 kgCO2/kWh (沪环气〔2022〕34号), market-based the national factor
excluding market-traded non-fossil power, 0.6096 kgCO2/kWh (2023, carried forward into 2024).
The office uses 1,000 kWh in January 2024 and 500 kWh in February.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_office_twin

from carbon.audit import verify
from carbon.cli import summary_lines
from carbon.factors import FactorSet, load_factor_set
from carbon.instruments import (
    InstrumentFileError,
    activity_rows,
    load_instruments,
    monthly_volumes,
)
from carbon.ledger import Ledger, build_ledger
from carbon.pipeline import run
from carbon.scope2 import (
    factor_sensitivity,
    grid_electricity,
    market_method_note,
    shanghai_89_status,
    shanghai_scope2,
)
from carbon.store import Store
from carbon.twin import Twin, load_twin

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

QUALIFYING = """
[[instrument]]
id = "BJPX-2024-01"
type = "bundled_green_power"
buyer = "o"
seller = "内蒙古风电场"
seller_region = "CN-NM"
exchange = "beijing-px"
trade = "inter-provincial"
period_start = 2024-01-01
period_end = 2024-02-01
volume_kwh = 400
settlement_date = 2024-02-20
[instrument.evidence]
settlement_statement = "BJPX-JS-2024-01-0456"
contract = "HT-2023-088"
"""
UNBUNDLED = """
[[instrument]]
id = "GEC-2024-02"
type = "gec_unbundled"
buyer = "o"
seller = "青海光伏电站"
period_start = 2024-02-01
period_end = 2024-03-01
volume_kwh = 200
settlement_date = 2024-03-05
certificate_ids = ["G0001", "G0002"]
[instrument.evidence]
retirement_id = "GEC-RET-77"
"""
NO_EVIDENCE = """
[[instrument]]
id = "BJPX-2024-02-NOEV"
type = "bundled_green_power"
buyer = "o"
exchange = "beijing-px"
trade = "inter-provincial"
period_start = 2024-02-01
period_end = 2024-03-01
volume_kwh = 100
settlement_date = 2024-03-10
"""
BEFORE_89 = """
[[instrument]]
id = "BJPX-2023-05"
type = "bundled_green_power"
buyer = "o"
exchange = "beijing-px"
trade = "inter-provincial"
period_start = 2023-05-01
period_end = 2023-06-01
volume_kwh = 300
settlement_date = 2023-06-20
[instrument.evidence]
settlement_statement = "BJPX-JS-2023-05-0001"
"""
REGISTER = QUALIFYING + UNBUNDLED + NO_EVIDENCE + BEFORE_89


@pytest.fixture(scope="module")
def shanghai() -> FactorSet:
    return load_factor_set("shanghai-2022")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Twin:
    folder = write_office_twin(tmp_path_factory.mktemp("twin") / "mini")
    (folder / "instruments.toml").write_text(REGISTER, encoding="utf-8")
    return load_twin(folder)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory, site: Twin, shanghai: FactorSet) -> Ledger:
    """Electricity readings plus the register's evidenced instruments as activity rows."""
    folder = tmp_path_factory.mktemp("store")
    register = load_instruments(site)
    assert register is not None
    (folder / "elec.csv").write_text(
        "meter_id,timestamp,value,unit\n"
        "M1,2024-01-10 00:00,1000,kWh\n"
        "M1,2024-02-10 00:00,500,kWh\n",
        encoding="utf-8",
    )
    rows = activity_rows(register)
    rows.to_csv(folder / "gec.csv", index=False)
    store = Store(folder / "store.duckdb")
    store.sync_twin(site)
    for name in ("elec.csv", "gec.csv"):
        batch = store.ingest(folder / name, now=NOW)
        assert batch.rejected == 0, (name, batch.reasons)
    return build_ledger(store, site, shanghai, "2024-01-01", "2024-04-01", ne_threshold=0.0)


# --------------------------------------------------------------------------- the register
def test_register_loads_with_its_fields(site: Twin) -> None:
    register = load_instruments(site)
    assert register is not None and len(register) == 4
    first = next(iter(register))
    assert (first.id, first.type, first.buyer, first.volume_kwh) == (
        "BJPX-2024-01",
        "bundled_green_power",
        "o",
        Decimal(400),
    )
    assert first.evidence.settles and not first.evidence.retires
    assert register.source is not None and register.source.endswith("instruments.toml")
    assert list(register.to_frame().id) == [
        "BJPX-2024-01",
        "GEC-2024-02",
        "BJPX-2024-02-NOEV",
        "BJPX-2023-05",
    ]


def test_a_site_without_a_register_has_none(tmp_path: Path) -> None:
    assert load_instruments(write_office_twin(tmp_path / "plain")) is None


def test_activity_rows_keep_evidenced_instruments_only(site: Twin) -> None:
    register = load_instruments(site)
    assert register is not None
    rows = activity_rows(register)
    # the trade without evidence is left out; the 2023 trade and the two 2024 ones stay
    assert rows[["period_start", "amount"]].astype(str).values.tolist() == [
        ["2023-05-01", "300"],
        ["2024-01-01", "400"],
        ["2024-02-01", "200"],
    ]
    assert set(rows.activity) == {"electricity.green_certificate"} and set(rows.unit) == {"kWh"}


def test_monthly_volumes_share_by_days() -> None:
    from carbon.instruments import Instrument

    i = Instrument(
        id="x",
        type="gec_unbundled",
        buyer="o",
        period_start=dt.date(2024, 1, 16),
        period_end=dt.date(2024, 2, 15),
        volume_kwh=Decimal(3000),
    )
    m = monthly_volumes([i])
    # 16 of 30 days in January: 3000 x 16 / 30 = 1600; February takes the remaining 1400
    assert [str(v) for v in m.volume_kwh] == ["1600.000", "1400.000"]
    assert sum(m.volume_kwh) == Decimal(3000)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            QUALIFYING.replace("bundled_green_power", "green_vibes"),
            r"instruments\.toml, entry 'BJPX-2024-01', field 'type'",
        ),
        (
            QUALIFYING.replace("period_end = 2024-02-01", "period_end = 2023-12-01"),
            r"entry 'BJPX-2024-01'.*period_end 2023-12-01 is not after period_start",
        ),
        (
            QUALIFYING.replace("volume_kwh = 400", "volume_kwh = -5"),
            r"entry 'BJPX-2024-01', field 'volume_kwh'",
        ),
        (QUALIFYING + QUALIFYING, r"entry 'BJPX-2024-01', field 'id': duplicate id"),
        (
            UNBUNDLED + UNBUNDLED.replace('id = "GEC-2024-02"', 'id = "GEC-2024-03"'),
            r"entry 'GEC-2024-03', field 'certificate_ids': certificate 'G0001' is already",
        ),
        (
            QUALIFYING.replace('buyer = "o"', 'buyer = "nowhere"'),
            r"field 'buyer': buyer 'nowhere' is not a node of the twin 'mini'",
        ),
        ("[[instrument]]\nid = 'no-type'\n", r"entry 'no-type', field 'type'"),
        ("[[instrument]\n", r"not valid TOML"),
    ],
)
def test_register_errors_name_file_entry_and_field(tmp_path: Path, text: str, match: str) -> None:
    folder = write_office_twin(tmp_path / "bad")
    (folder / "instruments.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InstrumentFileError, match=match):
        load_instruments(load_twin(folder))


def test_csv_register_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "instruments.csv"
    path.write_text(
        "id,type,buyer,period_start,period_end,volume_kwh,evidence_retirement_id\n"
        "R1,i-rec,o,2024-01-01,2024-02-01,10,IREC-1\n"
        ",i-rec,o,2024-01-01,2024-02-01,lots,\n",
        encoding="utf-8",
    )
    with pytest.raises(InstrumentFileError, match=r"instruments\.csv, entry '#2', field"):
        load_instruments(path)
    path.write_text(
        "id,type,buyer,period_start,period_end,volume_kwh,evidence_retirement_id\n"
        "R1,i-rec,o,2024-01-01,2024-02-01,10,IREC-1\n",
        encoding="utf-8",
    )
    register = load_instruments(path)
    assert register is not None
    assert next(iter(register)).evidence.retirement_id == "IREC-1"


def test_missing_register_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InstrumentFileError, match=r"nope\.toml: file not found"):
        load_instruments(tmp_path / "nope.toml")


# --------------------------------------------------------------------------- 89号 rules
def test_89_status_of_each_instrument(site: Twin) -> None:
    register = load_instruments(site)
    assert register is not None
    status = {i.id: shanghai_89_status(i) for i in register}
    assert status["BJPX-2024-01"] == (True, "qualifies")
    assert status["GEC-2024-02"][0] is False and "not certificates" in status["GEC-2024-02"][1]
    assert status["BJPX-2024-02-NOEV"] == (
        False,
        "no settlement record or 绿色电力消费凭证 in evidence",
    )
    assert status["BJPX-2023-05"] == (False, "delivered from 2023-05-01, before 2023-06-07")


def test_89_needs_the_exchange_and_an_inter_provincial_settled_trade(site: Twin) -> None:
    register = load_instruments(site)
    assert register is not None
    trade = next(iter(register))
    assert shanghai_89_status(trade.model_copy(update={"exchange": "shanghai-px"}))[1] == (
        "not bought on the Beijing Power Exchange Center (shanghai-px)"
    )
    assert shanghai_89_status(trade.model_copy(update={"trade": "intra-provincial"}))[1] == (
        "not an inter-provincial trade (intra-provincial)"
    )
    assert shanghai_89_status(trade.model_copy(update={"settlement_date": None}))[1] == (
        "not settled (no settlement_date)"
    )


# --------------------------------------------------------------------------- the views
def test_location_view_is_the_meter_times_042(ledger: Ledger) -> None:
    loc = ledger.select("location")
    grid = loc[loc.activity == "electricity.grid"]
    # 1000 kWh x 0.42 = 420 kg; 500 kWh x 0.42 = 210 kg
    assert sorted(str(v) for v in grid.co2e_kg) == ["210.000", "420.000"]
    assert ledger.total("location", "scope2", 2024) == pytest.approx(0.630)


def test_shanghai_view_zero_rates_only_qualifying_bundled_green_power(ledger: Ledger) -> None:
    register = load_instruments(ledger.twin)
    view = shanghai_scope2(ledger.entries, register, 2024)
    # location 1500 kWh x 0.42 = 630 kg; the settled, evidenced Beijing-PX trade zero-rates
    # 400 kWh of January: 630 - 400 x 0.42 = 462 kg. The unbundled 200 kWh of February, the
    # trade without evidence and the trade before 2023-06-07 keep 0.42.
    assert view.location_t == pytest.approx(0.630)
    assert view.shanghai_t == pytest.approx(0.462)
    assert view.zero_rated_kwh == 400
    assert dict(zip(view.instruments.instrument_id, view.instruments.qualifies, strict=True)) == {
        "BJPX-2024-01": True,
        "GEC-2024-02": False,
        "BJPX-2024-02-NOEV": False,
        "BJPX-2023-05": False,
    }


def test_unbundled_certificate_gets_the_location_factor_in_the_shanghai_view(
    ledger: Ledger,
) -> None:
    register = load_instruments(ledger.twin)
    assert register is not None
    only = type(register)(instruments=tuple(i for i in register if i.id == "GEC-2024-02"))
    view = shanghai_scope2(ledger.entries, only, 2024)
    assert view.shanghai_t == pytest.approx(view.location_t) == pytest.approx(0.630)
    assert view.zero_rated_kwh == 0


def test_without_a_register_the_shanghai_view_is_location(ledger: Ledger) -> None:
    view = shanghai_scope2(ledger.entries, None, 2024)
    assert view.shanghai_t == view.location_t == pytest.approx(0.630)


def test_market_view_admits_the_evidenced_bundled_and_unbundled_instruments(
    ledger: Ledger,
) -> None:
    market = ledger.select("market")
    got = sorted(
        (str(r.period_start)[:10], r.activity, str(r.amount), str(r.co2e_kg))
        for r in market.itertuples()
    )
    assert got == [
        # January: 400 kWh of the trade at 0; (1000 - 400) x 0.6096 = 365.76 kg
        ("2024-01-01", "electricity.green_certificate", "400.000000", "0.000"),
        ("2024-01-01", "electricity.grid", "600.000000", "365.760"),
        # February: the unbundled 200 kWh at 0 (the trade without evidence is not ingested);
        # (500 - 200) x 0.6096 = 182.88 kg
        ("2024-02-01", "electricity.green_certificate", "200.000000", "0.000"),
        ("2024-02-01", "electricity.grid", "300.000000", "182.880"),
    ]


def test_market_method_note_states_residual_geography_vintage_and_risk(
    ledger: Ledger,
) -> None:
    note = market_method_note(ledger.factors, 2024, "CN-SH")
    assert note["residual_kg_per_kwh"] == pytest.approx(0.6096)
    assert note["residual_geography"] == "CN"
    assert note["residual_vintage"] == 2023
    assert note["carried_forward"] is True
    assert "counted a second time" in note["double_count_risk"]


def test_sensitivity_of_042_against_mee_shanghai(ledger: Ledger) -> None:
    s = factor_sensitivity(ledger.entries, 2024)
    # 1500 kWh x 0.42 = 630 kg; 1500 kWh x 0.5849 = 877.35 kg;
    # (0.5849 - 0.42) / 0.42 = +39.26 %; (0.42 - 0.5849) / 0.5849 = -28.19 %
    assert s.grid_kwh == 1500
    assert (s.headline_factor_id, s.alternative_factor_id) == (
        "sh-eeb-2022.electricity",
        "mee-nbs.2022.cn-sh",
    )
    assert (s.headline_kg_per_kwh, s.alternative_kg_per_kwh) == (0.42, 0.5849)
    assert s.headline_t == pytest.approx(0.630)
    assert s.alternative_t == pytest.approx(0.87735)
    assert s.change_pct == 39.26
    assert s.gap_pct == -28.19


def test_grid_electricity_sums_exactly_per_node_and_month(ledger: Ledger) -> None:
    # 1000 kWh x 0.42 = 420 kg in January, 500 kWh x 0.42 = 210 kg in February; an adjustment
    # of +0.1 kWh / +0.042 kg to January adds exactly (Decimal sums), also from float amounts.
    e = ledger.entries
    grid_rows = e[(e.method == "location") & (e.activity == "electricity.grid")]
    jan = grid_rows.sort_values("period_start").iloc[[0]]
    extra = jan.assign(
        entry_id="Eadj", kind="adjustment", amount=Decimal("0.100000"), co2e_kg=Decimal("0.042")
    )
    entries = pd.concat([ledger.entries, extra], ignore_index=True)
    grid = grid_electricity(entries, 2024)
    assert grid.to_dict("list") == {
        "node_id": ["o", "o"],
        "month": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
        "amount_kwh": [Decimal("1000.100000"), Decimal("500.000000")],
        "co2e_kg": [Decimal("420.042"), Decimal("210.000")],
    }
    assert [str(v) for v in grid.amount_kwh] == ["1000.100000", "500.000000"]
    floats = entries.astype({"amount": "float64", "co2e_kg": "float64"})
    assert grid_electricity(floats, 2024).amount_kwh.tolist() == [
        Decimal("1000.1"),
        Decimal("500.0"),
    ]
    assert grid_electricity(entries, 2023).empty
    assert factor_sensitivity(entries, 2024).grid_kwh == 1500.1


def test_manifest_carries_the_views(ledger: Ledger, tmp_path: Path) -> None:
    snapshot = ledger.publish(tmp_path / "snaps")
    m = snapshot.manifest
    assert m["totals_t"]["2024"]["scope2_location"] == pytest.approx(0.630)
    assert m["totals_t"]["2024"]["scope2_shanghai"] == pytest.approx(0.462)
    views = m["scope2"]
    assert views["headline"] == "location"
    assert views["register"]["file"] == "instruments.toml"
    assert views["register"]["instruments"] == 4
    year = views["2024"]
    assert year["shanghai_89"]["zero_rated_kwh"] == 400
    assert year["factor_sensitivity"]["alternative_t"] == pytest.approx(0.87735)
    assert year["market_method_note"]["residual_factor_id"] is not None


def test_cli_line_puts_location_first(ledger: Ledger, tmp_path: Path) -> None:
    from carbon.summary import summarize

    snapshot = ledger.publish(tmp_path / "snaps")
    (line,) = [x for x in summary_lines(summarize(snapshot, year=2024)) if "Scope 2" in x]
    assert line.startswith("Scope 2 2024: location-based 0.6 t (headline), market-based")
    assert "Shanghai 89号 view 0.5 t (400 kWh zero-rated)" in line and "+39.3 %" in line


def test_no_shanghai_views_outside_shanghai(tmp_path: Path) -> None:
    """Shanghai's 89号 view and its 0.42 sensitivity are Shanghai's rules: a community in
    Beijing gets neither in its manifest, its summary or the CLI's lines."""
    folder = write_office_twin(tmp_path / "mini")
    site_toml = folder / "site.toml"
    site_toml.write_text(site_toml.read_text(encoding="utf-8").replace("CN-SH", "CN-BJ"),
                         encoding="utf-8")
    (tmp_path / "elec.csv").write_text(ELEC, encoding="utf-8")
    twin = load_twin(folder)
    with Store(tmp_path / "s.duckdb") as store:
        store.sync_twin(twin)
        store.ingest(tmp_path / "elec.csv")
        built = build_ledger(store, twin, load_factor_set("cn-mee-2023"), "2024-01-01",
                             "2024-04-01", ne_threshold=0.0)
        snapshot = built.publish(tmp_path / "snaps")
    m = snapshot.manifest
    assert "scope2_shanghai" not in m["totals_t"]["2024"]
    assert set(m["scope2"]["2024"]) == {"market_method_note"}
    from carbon.summary import summarize

    lines = summary_lines(summarize(snapshot, year=2024))
    (line,) = [x for x in lines if "Scope 2" in x]
    assert line.startswith("Scope 2 2024: location-based") and "89号" not in line
    assert not any("0.42" in x or "89号" in x for x in lines)


# ------------------------------------------------- the register feeds the ledger script
ELEC = "meter_id,timestamp,value,unit\nM1,2024-01-10 00:00,1000,kWh\nM1,2024-02-10 00:00,500,kWh\n"


def _script(folder: Path, extra_inputs: str = "") -> Path:
    twin = write_office_twin(folder / "mini")
    (twin / "instruments.toml").write_text(REGISTER, encoding="utf-8")
    (folder / "elec.csv").write_text(ELEC, encoding="utf-8")
    script = folder / "ledger.toml"
    script.write_text(
        '[ledger]\nstore = "store.duckdb"\nstart = 2024-01-01\nend = 2024-04-01\n'
        'twin = "mini"\nprofile = "shanghai-2022"\nne_threshold = 0.0\n\n'
        '[[input]]\nfile = "elec.csv"\n' + extra_inputs,
        encoding="utf-8",
    )
    return script


def _market(entries: pd.DataFrame) -> list[tuple[str, str]]:
    e = entries[(entries.method == "market") & (entries.activity == "electricity.grid")]
    return sorted((str(r.period_start)[:7], str(r.co2e_kg)) for r in e.itertuples())


def test_the_site_register_feeds_the_market_view_of_a_ledger_script(
    tmp_path: Path, ledger: Ledger
) -> None:
    # No certificate rows among the script's inputs: the register alone (its evidenced
    # instruments) gives the same market-based entries as the hand-ingested activity rows.
    result = run(_script(tmp_path), tmp_path / "out")
    try:
        assert _market(result.ledger.entries) == _market(ledger.entries)
        assert result.snapshot.manifest["inputs"][-1]["file_name"].startswith("instruments-")
        codes = {w.code for w in result.ledger.warnings}
        assert "instruments.double_count" not in codes
        assert verify(result.snapshot.path)  # the replay writes and ingests the same rows
        # the same register gives the same batch, so a rebuild publishes the same id
        again = run(_script(tmp_path), tmp_path / "out2")
        assert again.snapshot.manifest["snapshot_id"] == result.snapshot.manifest["snapshot_id"]
        again.ledger.store.close()
    finally:
        result.ledger.store.close()


def test_certificate_rows_beside_the_register_are_a_double_count_warning(tmp_path: Path) -> None:
    (tmp_path / "gec.csv").write_text(
        "node_id,activity,period_start,period_end,amount,unit\n"
        "o,electricity.green_certificate,2024-01-01,2024-02-01,400,kWh\n",
        encoding="utf-8",
    )
    result = run(_script(tmp_path, '\n[[input]]\nfile = "gec.csv"\n'), tmp_path / "out")
    try:
        warning = next(w for w in result.ledger.warnings if w.code == "instruments.double_count")
        assert "gec.csv" in warning.message
    finally:
        result.ledger.store.close()
