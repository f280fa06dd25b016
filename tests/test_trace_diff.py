"""Trace and diff as an auditor follows them (issue 12, part 6), on real data.

Two module fixtures. ``demo``: the two-month demo (January and February 2024, SYNTHETIC
inputs) built once, then its ledger script re-run over the same store with the cn-mee-2023
profile and with one more input. ``office``: a one-office store written here for the steps
a demo entry lacks (a superseded reading, a gap-filled hour, a closed period and its
adjustment, a store that is gone).

Hand values: shanghai-2022 electricity 0.42 kgCO2e/kWh location-based; cn-mee-2023 for
Shanghai in 2024: the East China grid factor of 2023, 0.5500 kgCO2e/kWh, carried forward by the
vintage rule (the newest vintage along CN-SH -> CN-EAST-GRID -> CN; docs/factors.md); residual MSW
incinerated 715.3696 kg fossil CO2 + 0.0002 kg CH4 + 0.05 kg N2O per t = 728.6252 kgCO2e/t (AR5;
factors/ipcc-2006-waste.toml); green-power certificates in MWh, 1 MWh = 1000 kWh.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_office_twin
from typer.testing import CliRunner

from carbon import cli
from carbon.audit import AuditError, diff, trace
from carbon.cli import app
from carbon.demo import build_demo
from carbon.factors import load_factor_set
from carbon.ingest import fill_gaps
from carbon.interventions import load_register
from carbon.ledger import build_ledger
from carbon.pipeline import InputSpec, load_script, run
from carbon.snapshot import Snapshot, sha256_file
from carbon.store import Store
from carbon.twin import load_twin

JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
TZ = "Asia/Shanghai"
GEC = "electricity.green_certificate"
EXTRA = (  # 10 t more residual waste incinerated in February: 10 x 728.6252 = 7286.252 kg
    "node_id,activity,period_start,period_end,amount,unit\n"
    "shimen_erlu,waste.msw.incineration,2024-02-10,2024-02-20,10,t\n"
)


@dataclass
class Demo:
    folder: Path
    snapshot: Snapshot  # shanghai-2022
    mee: Snapshot  # the same inputs, cn-mee-2023
    extra: Snapshot  # shanghai-2022, one more input
    entries: pd.DataFrame


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("trace") / "demo"
    built = build_demo(out, start="2024-01-01", end="2024-03-01")
    built.ledger.store.close()
    script = load_script(out / "ledger.toml")
    script.ledger.profile = "cn-mee-2023"
    mee = run(script, out / "mee")
    mee.ledger.store.close()
    (out / "extra_waste.csv").write_text(EXTRA, encoding="utf-8")
    script = load_script(out / "ledger.toml")
    script.input.append(InputSpec(file=Path("extra_waste.csv")))
    extra = run(script, out / "extra")
    extra.ledger.store.close()
    return Demo(out, built.snapshot, mee.snapshot, extra.snapshot, built.snapshot.entries())


def pick(entries: pd.DataFrame, **where: Any) -> str:
    mask = pd.Series(True, index=entries.index)
    for col, value in where.items():
        mask &= entries[col] == value
    (hit,) = entries[mask].entry_id
    return str(hit)


def bohua(demo: Demo, method: str, activity: str = "electricity.grid") -> str:
    return pick(
        demo.entries,
        kind="emission",
        node_id="bohua_plaza",
        period_start=JAN,
        activity=activity,
        method=method,
    )


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Rich wraps at 80 columns off a terminal; 200 keeps cells and error lines whole."""
    monkeypatch.setattr(cli.console, "width", 200)
    monkeypatch.setattr(cli.err_console, "width", 200)
    return CliRunner()


# --- trace: readings -------------------------------------------------------------------------


def test_trace_lists_every_reading_with_local_times_and_file_lines(demo: Demo) -> None:
    t = trace(demo.snapshot.path, bohua(demo, "location"))
    r = t.readings
    # One row per hourly reading of January (31 x 24), none estimated, in local time.
    assert len(r) == t.totals["rows"] == 744
    assert t.totals["estimated_rows"] == 0 and set(r.quality) == {"measured"}
    assert set(r.meter_id) == {"E-BOHUAPLAZA"}
    assert str(r.start.dt.tz) == TZ and str(r.end.dt.tz) == TZ
    assert r.start.iloc[0] == pd.Timestamp("2024-01-01 00:00", tz=TZ)
    assert r.end.iloc[-1] == pd.Timestamp("2024-02-01 00:00", tz=TZ)
    assert sum(r.amount, Decimal(0)) == t.entry["amount"] == t.totals["amount"]
    # Each line number is the file's line (header on line 1): it holds the meter, the local
    # start and the value. Adding the file's own values up gives the entry's amount.
    csv = lines(demo.folder / "synthetic" / "synthetic_electricity_hourly.csv")
    assert csv[0].startswith("meter_id,")
    by_hand = Decimal(0)
    for row in r.itertuples():
        assert row.line == row.row_number + 1
        meter, stamp, value = csv[row.line - 1].split(",")[:3]
        assert (meter, stamp) == (row.meter_id, f"{row.start:%Y-%m-%d %H:%M}")
        assert Decimal(value) == row.amount
        by_hand += Decimal(value)
    assert by_hand == t.entry["amount"]
    assert t.entry["co2e_kg"] == (by_hand * Decimal("0.42")).quantize(Decimal("0.001"))
    # Read = booked: no step between them.
    assert t.totals["read"] == t.entry["amount"] and t.deductions.empty and t.balance == 0
    # The factor with its citation, the input with its SHA-256 and row counts.
    assert t.factor["factor_id"] == "sh-eeb-2022.electricity"
    assert "沪环气〔2022〕34号" in t.factor["citation"]
    (batch,) = t.batches
    path = demo.folder / "synthetic" / "synthetic_electricity_hourly.csv"
    assert (batch["file_name"], batch["sha256"]) == (path.name, sha256_file(path))
    assert batch["rows"]["read"] == batch["rows"]["accepted"] + batch["rows"]["rejected"]
    assert t.source == "store"


def test_trace_limit_bounds_the_rows_not_the_totals(demo: Demo) -> None:
    full = trace(demo.snapshot.path, bohua(demo, "location"))
    t = trace(demo.snapshot.path, bohua(demo, "location"), limit=5)
    assert len(t.readings) == t.totals["shown"] == 5
    assert t.readings.equals(full.readings.head(5))
    assert (t.totals["rows"], t.totals["amount"]) == (744, full.totals["amount"])
    with pytest.raises(AuditError, match="limit must be 0 or more"):
        trace(demo.snapshot.path, bohua(demo, "location"), limit=-1)


# --- trace: deductions -----------------------------------------------------------------------


def test_trace_names_the_green_certificates_between_read_and_booked(demo: Demo) -> None:
    location = trace(demo.snapshot.path, bohua(demo, "location"))
    t = trace(demo.snapshot.path, bohua(demo, "market"))
    assert "gec_covered" in t.entry["notes"]
    # The same readings are read; the month's certificates are deducted in the market view.
    assert t.totals["read"] == location.totals["read"]
    (step,) = t.deductions.itertuples()
    assert (step.step, step.unit, step.rows) == ("green_certificates", "kWh", 1)
    assert t.totals["read"] + step.amount == t.entry["amount"] and t.balance == 0
    assert t.entry["amount"] == location.entry["amount"] + step.amount
    # The certificate row: its volume and the line of the activities file it came from.
    (cert,) = t.certificates.itertuples()
    assert cert.amount == -step.amount < location.entry["amount"]  # all of it claimed
    text = lines(demo.folder / "synthetic" / "synthetic_activities_monthly.csv")[cert.line - 1]
    node, activity, start, end, mwh, unit = text.split(",")
    assert (node, activity, start, end, unit) == ("bohua_plaza", GEC, "2024-01-01",
                                                  "2024-02-01", "MWh")
    assert Decimal(mwh) * 1000 == cert.amount
    # The covered kWh are booked in the certificate entry, at the certificate factor.
    gec = bohua(demo, "market", GEC)
    assert gec in step.explanation and "cn-gec.zero" in step.explanation
    assert f"synthetic_activities_monthly.csv:{cert.line}" in step.explanation
    certificates = trace(demo.snapshot.path, gec)
    assert certificates.entry["amount"] == cert.amount and certificates.balance == 0
    assert certificates.readings.line.tolist() == [cert.line]


# --- trace: avoided and removal entries ------------------------------------------------------


def test_trace_of_a_verified_saving_shows_the_intervention_parameters_and_fit(
    demo: Demo,
) -> None:
    e = demo.entries
    iid = "hengfeng_mailbox_led"
    post = pick(e, kind="avoided", period_start=JAN, method="location",
                notes=f"ex_post intervention={iid}")
    t = trace(demo.snapshot.path, post)
    assert t.readings.empty and t.source == "manifest" and t.balance is None
    iv = t.intervention
    assert (iv["id"], iv["basis"], iv["status"], iv["kind"]) == (
        iid, "ex_post", "in_place", "led_lighting"
    )
    assert iv["commissioned"] == "2023-07-01"
    register = load_register(load_twin("shimen_erlu"))
    assert iv["register"].startswith(f"interventions.toml (sha256 {register.sha256[:12]}")
    pd.testing.assert_frame_equal(t.parameters, register[iid].parameter_table())
    assert t.parameters.source.str.len().gt(0).all()
    (fit,) = [v for v in demo.snapshot.manifest["verifications"] if v["intervention"] == iid]
    assert t.verification == fit
    assert t.verification["meter"] == "E-HENGFENG-MAILBOX"
    assert 0 < t.verification["cvrmse"] < 0.25  # ASHRAE Guideline 14: below 25 % (monthly)
    assert t.verification["baseline"][1] == t.verification["reporting"][0] == "2023-07-01"
    # The register's estimate of the same month: the same intervention, no fit.
    ante = e[(e.kind == "avoided") & (e.period_start == JAN) & (e.method == "location")
             & e.notes.str.startswith(f"ex_ante intervention={iid} ")]
    est = trace(demo.snapshot.path, ante.entry_id.iloc[0])
    assert est.intervention["basis"] == "ex_ante" and est.verification is None
    assert len(est.parameters) == len(t.parameters)


def test_trace_of_a_removal_shows_its_cited_parameters(demo: Demo) -> None:
    e = demo.entries
    eid = e[(e.kind == "removal") & e.notes.str.contains("intervention=xinfukangli_garden")]
    t = trace(demo.snapshot.path, eid.entry_id.iloc[0])
    assert t.intervention["kind"] == "green_space" and t.verification is None
    params = t.parameters.set_index("parameter")
    assert params.loc["sequestration_rate", "unit"] == "kgC/m2/yr"
    assert "Nowak" in params.loc["sequestration_rate", "source"]


def test_trace_of_a_biogenic_memo_reads_its_incineration_rows(demo: Demo) -> None:
    # The memo entry books the incinerated tonnes of its parent activity (GPC v1.1 Ch. 8):
    # the trace finds those activity rows and reads exactly the booked amount.
    eid = pick(
        demo.entries,
        kind="memo",
        period_start=JAN,
        activity="waste.msw.incineration.biogenic_co2",
    )
    t = trace(demo.snapshot.path, eid)
    booked = Decimal(t.entry["amount"])
    assert len(t.readings) >= 1 and t.totals["read"] == booked == t.totals["booked"]
    assert t.deductions.empty and not t.notes


# --- trace: superseded, estimated, closed, replayed (a store written here) -------------------


@dataclass
class Office:
    folder: Path
    first: Snapshot  # January closed
    second: Snapshot  # after a late reading: adjustments
    location: str
    market: str


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    folder = tmp_path_factory.mktemp("office")
    twin = load_twin(write_office_twin(folder / "twin"))
    factors = load_factor_set("shanghai-2022")
    rows = [f"M1,2024-01-01 {h:02d}:00,{10 + h}" for h in range(6)]  # 10 .. 15, lines 2-7
    rows += [f"M1,2024-01-02 {h:02d}:00,{20 + h}" for h in range(5)]  # 20 .. 24, lines 8-12
    (folder / "elec.csv").write_text("meter_id,timestamp,value\n" + "\n".join(rows) + "\n")
    (folder / "fix.csv").write_text("meter_id,timestamp,value\nM1,2024-01-01 02:00,12.5\n")
    (folder / "late.csv").write_text("meter_id,timestamp,value\nM1,2024-01-03 00:00,30\n")
    store = Store(folder / "store.duckdb")
    try:
        store.sync_twin(twin)
        store.ingest(folder / "elec.csv", now=NOW)
        store.ingest(folder / "fix.csv", supersede=True, now=NOW)  # 12 -> 12.5 kWh
        fill_gaps(store, "2024-01-02", "2024-01-03")  # 2 Jan 05:00 <- 1 Jan 05:00: 15 kWh
        ledger = build_ledger(store, twin, factors, JAN, FEB)
        first = ledger.publish(folder / "first", close_through=FEB)
        store.ingest(folder / "late.csv", now=NOW)
        second = build_ledger(store, twin, factors, JAN, FEB).publish(folder / "second")
    finally:
        store.close()
    e = ledger.entries
    return Office(
        folder,
        first,
        second,
        pick(e, method="location"),
        pick(e, method="market"),
    )


def test_trace_names_superseded_and_estimated_readings(office: Office) -> None:
    t = trace(office.first.path, office.location)
    assert t.source == "store"
    # 10+11+12.5+13+14+15 + 20+21+22+23+24 measured + 15 estimated = 200.5 kWh x 0.42.
    assert t.entry["amount"] == Decimal("200.5") and t.entry["co2e_kg"] == Decimal("84.210")
    assert t.totals["read"] == Decimal("197.5")  # what the files say, 12 and 12.5 both read
    steps = t.deductions.set_index("step")
    assert steps.loc["superseded", "amount"] == Decimal("-12")
    assert "elec.csv" in steps.loc["superseded", "explanation"]
    assert steps.loc["gap_fill", "amount"] == Decimal("15")
    assert t.balance == 0
    r = t.readings
    assert len(r) == 12
    fixed = r[r.start == pd.Timestamp("2024-01-01 02:00", tz=TZ)].iloc[0]
    assert (fixed.file_name, fixed.line, fixed.amount) == ("fix.csv", 2, Decimal("12.5"))
    second_day = r[r.start == pd.Timestamp("2024-01-02 00:00", tz=TZ)].iloc[0]
    assert (second_day.file_name, second_day.line) == ("elec.csv", 8)
    estimate = r[r.quality == "estimated"].iloc[0]
    assert estimate.start == pd.Timestamp("2024-01-02 05:00", tz=TZ) and pd.isna(estimate.line)


def test_trace_of_an_adjustment_deducts_the_closed_entry(office: Office) -> None:
    e = office.second.entries()
    adjustment = pick(e, kind="adjustment", adjusts=office.location)
    t = trace(office.second.path, adjustment)
    # The late 30 kWh: 200.5 + 30 read now, 200.5 booked when January was closed.
    assert t.entry["amount"] == Decimal("30")
    assert t.deductions.step.tolist() == ["superseded", "gap_fill", "closed_entry"]
    assert t.deductions.amount.iloc[-1] == Decimal("-200.5")
    assert office.location in t.deductions.explanation.iloc[-1]
    assert t.balance == 0
    d = diff(office.first.path, office.second.path)
    assert d.counts["restatement"] == 2 and d.summary().startswith("2 restatement;")
    assert d["explanations"][0] == "input added: late.csv"
    loc = d.entries.set_index("method").loc["location"]
    assert loc.delta_t == pytest.approx(30 * 0.42 / 1000)


def test_trace_replays_the_inputs_when_the_store_is_gone(office: Office) -> None:
    store = office.folder / "store.duckdb"
    away = office.folder / "elsewhere.duckdb"
    before = trace(office.first.path, office.market)
    store.rename(away)
    try:
        t = trace(office.first.path, office.market)
    finally:
        away.rename(store)
    assert (before.source, t.source) == ("store", "replay")
    pd.testing.assert_frame_equal(t.readings, before.readings)
    pd.testing.assert_frame_equal(t.deductions, before.deductions)
    assert t.totals == before.totals and t.balance == 0


# --- diff ------------------------------------------------------------------------------------


def test_diff_of_two_profiles_matches_entries_and_names_the_factor(demo: Demo) -> None:
    d = diff(demo.snapshot.path, demo.mee.path)
    e = demo.entries
    location = e[(e.kind == "emission") & (e.activity == "electricity.grid")
                 & (e.method == "location")]
    counts = d.counts
    # Changed entries, not "N added, N removed": matched by their natural key.
    assert counts["added"] == counts["removed"] == 0
    assert counts["input"] == counts["model"] == counts["restatement"] == 0
    assert counts["factor"] == len(d["changed"]) == len(d.entries) >= len(location)
    assert set(location.entry_id) <= set(d.entries.entry_id_old)
    assert d.summary() == f"{counts['factor']} factor; {d.unchanged} unchanged"
    assert d.unchanged + counts["factor"] == len(e)
    # By hand, Bohua Plaza in January: amount x (0.5500 - 0.42) kgCO2e/kWh.
    row = d.entries.set_index("entry_id_old").loc[bohua(demo, "location")]
    assert (row.factor_id_old, row.factor_id_new) == ("sh-eeb-2022.electricity",
                                                      "mee-nbs.2023.cn-east-grid")
    assert row.entry_id_new != bohua(demo, "location")  # a new factor, a new entry id
    assert row.amount_old == row.amount_new
    assert row.delta_t == pytest.approx(float(row.amount_old) * (0.55 - 0.42) / 1000, abs=2e-6)
    assert row.delta_pct == pytest.approx((0.55 / 0.42 - 1) * 100, abs=1e-4)
    assert row.t_new - row.t_old == pytest.approx(row.delta_t)
    assert "sh-eeb-2022.electricity 0.420000000 -> mee-nbs.2023.cn-east-grid 0.550000000" in (
        row.detail
    )
    # The largest change first; the explanations name the profile in the recipe.
    assert d.entries.delta_t.abs().is_monotonic_decreasing
    assert 'recipe ledger.profile: "shanghai-2022" -> "cn-mee-2023"' in d.explanations
    assert any(x.startswith("factor set changed (shanghai-2022 -> cn-mee-2023")
               for x in d.explanations)
    assert not any(x.startswith("input") for x in d.explanations)
    old, new = d["totals"]["2024.BASIC_location"]
    assert new - old == pytest.approx(d.entries[d.entries.kind == "emission"].delta_t.sum())


def test_diff_after_adding_an_input_names_the_input(demo: Demo) -> None:
    d = diff(demo.snapshot.path, demo.extra.path)
    assert d.counts["factor"] == d.counts["added"] == d.counts["removed"] == 0
    row = d.entries.set_index(["node_id", "activity", "period_start"]).loc[
        ("shimen_erlu", "waste.msw.incineration", FEB)
    ]
    assert row.cause == "input"
    assert row.amount_new - row.amount_old == Decimal(10)
    assert row.delta_t == pytest.approx(10 * 728.6252 / 1000, abs=2e-6)  # 7.286252 t
    new_batch = next(i["batch_id"] for i in demo.extra.manifest["inputs"]
                     if i["file_name"] == "extra_waste.csv")
    assert f"+{new_batch}" in row.detail
    assert "input added: extra_waste.csv" in d.explanations
    assert "recipe input added: extra_waste.csv" in d.explanations
    assert set(d.entries.cause) == {"input"}
    # the waste's energy-recovery credit follows its input (carbon.credits)
    credit = d.entries[d.entries.kind == "avoided"]
    assert len(credit) == 1 and credit.cause.iloc[0] == "input"


# --- command line ----------------------------------------------------------------------------


def test_cli_trace_prints_readings_steps_factor_and_inputs(demo: Demo, wide: CliRunner) -> None:
    result = wide.invoke(app, ["ledger", "trace", str(demo.snapshot.path),
                               bohua(demo, "market"), "--limit", "3"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Readings (Asia/Shanghai): 3 of 744 shown" in out
    assert "2024-01-01 00:00" in out and "synthetic_electricity_hourly.csv:" in out
    assert "From the amount read to the amount booked" in out
    assert "green_certificates" in out and "covered by green-power certificates" in out
    assert "synthetic_activities_monthly.csv:" in out
    assert "mee-nbs-excl-market.2023.cn" in out and "SHA-256" in out
    post = pick(demo.entries, kind="avoided", period_start=JAN, method="location",
                notes="ex_post intervention=hengfeng_mailbox_led")
    result = wide.invoke(app, ["ledger", "trace", str(demo.snapshot.path), post])
    assert result.exit_code == 0, result.output
    assert "CV(RMSE)" in result.output and "Parameters" in result.output
    assert "baseline 2022-07-01 .. 2023-07-01" in result.output


def test_cli_trace_of_an_unknown_entry_is_one_error_line(demo: Demo, wide: CliRunner) -> None:
    result = wide.invoke(app, ["ledger", "trace", str(demo.snapshot.path), "E0000nope"])
    assert result.exit_code == 2
    (line,) = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: no entry 'E0000nope' in snapshot ")
    assert "Traceback" not in result.output


def test_cli_diff_prints_causes_changes_and_explanations(demo: Demo, wide: CliRunner) -> None:
    result = wide.invoke(app, ["ledger", "diff", str(demo.snapshot.path), str(demo.mee.path)])
    assert result.exit_code == 0, result.output
    out = result.output
    d = diff(demo.snapshot.path, demo.mee.path)
    assert f"{d.counts['factor']} factor; {d.unchanged} unchanged" in out
    assert "Entries by cause" in out and "Largest changes" in out
    assert 'recipe ledger.profile: "shanghai-2022" -> "cn-mee-2023"' in out
    assert "mee-nbs.2023.cn-east-grid" in out
    missing = wide.invoke(app, ["ledger", "diff", str(demo.snapshot.path),
                                str(demo.folder / "nope")])
    assert missing.exit_code == 2
    (line,) = [ln for ln in missing.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: ") and "no manifest.json" in line


def test_an_unchanged_snapshot_diffs_empty(office: Office, tmp_path: Path) -> None:
    copy = tmp_path / office.first.id
    shutil.copytree(office.first.path, copy)
    d = diff(office.first.path, copy)
    assert d.entries.empty and d["added"].empty and d["changed"].empty
    assert d.summary() == f"no entry differs; {len(office.first.entries())} unchanged"
    assert d.explanations == []
