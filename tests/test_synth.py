"""Tests of carbon.synth: determinism, calibration, seasonality, faults, manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon.errors import CarbonError, TwinError
from carbon.synth import (
    CALIBRATION_TARGETS,
    FAULT_KINDS,
    FILE_NAMES,
    ROLLOVER_DIGITS,
    SynthError,
    SynthResult,
    UnknownMeterError,
    calibration_table,
    expected_annual,
    generate,
)
from carbon.twin import Twin, load_twin, sites_dir
from carbon.units import conversion_factor

YEAR = {"start": "2024-01-01", "end": "2025-01-01"}
TWO_MONTHS = {"start": "2024-01-01", "end": "2024-03-01"}
FORTNIGHT = {"start": "2024-01-01", "end": "2024-01-15"}


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


@pytest.fixture(scope="module")
def clean(twin: Twin, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return generate(twin, tmp_path_factory.mktemp("clean"), seed=42, **YEAR)


@pytest.fixture(scope="module")
def faulty(twin: Twin, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return generate(twin, tmp_path_factory.mktemp("faulty"), seed=42, faults=True, **YEAR)


def read_text_csv(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """A CSV with every cell as the exact text written."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)


@pytest.fixture(scope="module")
def clean_electricity(clean: SynthResult) -> pd.DataFrame:
    frame = pd.read_csv(clean.files["electricity"])
    frame["time"] = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M")
    return frame


@pytest.fixture(scope="module")
def faulty_electricity(faulty: SynthResult) -> pd.DataFrame:
    return read_text_csv(faulty.files["electricity"])


def register_frame(result: SynthResult) -> pd.DataFrame:
    gas = pd.read_csv(result.files["gas"])
    water = pd.read_csv(result.files["water"])
    return pd.concat(
        [gas.assign(file=FILE_NAMES["gas"]), water.assign(file=FILE_NAMES["water"])],
        ignore_index=True,
    )


def fault(result: SynthResult, kind: str, conflicting: bool | None = None):
    found = [
        f
        for f in result.faults
        if f.kind == kind and (conflicting is None or f.data.get("conflicting") == conflicting)
    ]
    assert found, f"no {kind} fault recorded"
    return found[0]


def row(frame: pd.DataFrame, number: int) -> pd.Series:
    """The 1-based data row ``number`` of a file read into ``frame``."""
    return frame.iloc[number - 1]


# --- determinism ------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(twin: Twin, tmp_path: Path) -> None:
    a = generate(twin, tmp_path / "a", seed=7, faults=True, **TWO_MONTHS)
    b = generate(twin, tmp_path / "b", seed=7, faults=True, **TWO_MONTHS)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(names) == len(FILE_NAMES)  # every file, GBK included
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert a.manifest == b.manifest


def test_another_seed_gives_other_values(twin: Twin, tmp_path: Path) -> None:
    a = generate(twin, tmp_path / "a", seed=7, **TWO_MONTHS)
    b = generate(twin, tmp_path / "b", seed=8, **TWO_MONTHS)
    for key in ("electricity", "gas", "water", "temperature", "manifest"):
        assert a.files[key].read_bytes() != b.files[key].read_bytes(), key
    ea, eb = pd.read_csv(a.files["electricity"]), pd.read_csv(b.files["electricity"])
    assert (ea["kwh"] != eb["kwh"]).mean() > 0.95


def test_longer_period_starts_with_the_same_values(
    twin: Twin, clean: SynthResult, clean_electricity: pd.DataFrame, tmp_path: Path
) -> None:
    short = generate(twin, tmp_path, seed=42, **TWO_MONTHS)
    elec = pd.read_csv(short.files["electricity"])
    year = clean_electricity[clean_electricity["time"] < "2024-03-01"]
    np.testing.assert_array_equal(elec["kwh"].to_numpy(), year["kwh"].to_numpy())
    regs_short, regs_year = register_frame(short), register_frame(clean)
    merged = regs_short.merge(regs_year, on=["meter_id", "read_date"], suffixes=("", "_year"))
    assert len(merged) == len(regs_short)  # 01-01, 02-01 and 03-01 are reads of both runs
    assert (merged["reading"] == merged["reading_year"]).all()


def copy_site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    shutil.copytree(sites_dir() / "shimen_erlu", folder)
    return folder


def drop_block(path: Path, table: str, entry_id: str) -> None:
    """Remove the ``[[table]]`` entry with ``id = entry_id`` from a TOML file."""
    head, *blocks = path.read_text(encoding="utf-8").split(f"[[{table}]]")
    kept = [b for b in blocks if f'id = "{entry_id}"' not in b]
    assert len(kept) == len(blocks) - 1
    path.write_text(head + "".join(f"[[{table}]]" + b for b in kept), encoding="utf-8")


def test_other_meters_do_not_depend_on_the_meter_list(twin: Twin, tmp_path: Path) -> None:
    # per-meter substreams: removing a meter leaves every other meter's values unchanged
    folder = copy_site(tmp_path)
    drop_block(folder / "meters.toml", "meter", "E-HENGFENG-MAILBOX")
    smaller = load_twin(folder)
    a = generate(twin, tmp_path / "full", seed=5, **FORTNIGHT)
    b = generate(smaller, tmp_path / "smaller", seed=5, **FORTNIGHT)
    ea = pd.read_csv(a.files["electricity"])
    eb = pd.read_csv(b.files["electricity"])
    ea = ea[ea["meter_id"] != "E-HENGFENG-MAILBOX"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ea, eb)
    assert a.files["water"].read_bytes() == b.files["water"].read_bytes()


def test_faults_change_only_the_fault_rows(
    clean: SynthResult,
    faulty: SynthResult,
    clean_electricity: pd.DataFrame,
    faulty_electricity: pd.DataFrame,
) -> None:
    touched = {f.meter_id for f in faulty.faults if f.file == FILE_NAMES["electricity"]}
    assert len(touched) == 4  # mixed_units, spike, gap, duplicate: one meter each
    a = clean_electricity[~clean_electricity["meter_id"].isin(touched)]
    b = faulty_electricity[~faulty_electricity["meter_id"].isin(touched)]
    np.testing.assert_array_equal(a["kwh"].to_numpy(), b["kwh"].astype(float).to_numpy())
    assert (b["unit"] == "kWh").all()


# --- calibration (full year, cited bands) -------------------------------------------------


def annual_from_files(result: SynthResult, electricity: pd.DataFrame) -> pd.Series:
    """Annual totals per meter read back from the files of a clean run."""
    energy = electricity.groupby("meter_id")["kwh"].sum()
    regs = register_frame(result).sort_values(["meter_id", "read_date"])
    volume = regs.groupby("meter_id")["reading"].agg(lambda r: r.iloc[-1] - r.iloc[0])
    return pd.concat([energy, volume])


@pytest.fixture(scope="module")
def annual(clean: SynthResult, clean_electricity: pd.DataFrame) -> pd.Series:
    return annual_from_files(clean, clean_electricity)


def intensity(twin: Twin, annual: pd.Series, key: str) -> pd.Series:
    table = calibration_table(twin)
    rows = table[table["target"] == key].set_index("meter_id")
    assert len(rows) > 0
    return annual[rows.index] / rows["basis_value"]


def test_residential_electricity_per_household(twin: Twin, annual: pd.Series) -> None:
    per_household = intensity(twin, annual, "electricity.residential")
    assert len(per_household) == 11
    # benchmarks.md §1: best-known mean 2,000-3,000 kWh/household/yr (UNCONFIRMED) ...
    assert per_household.between(2000, 3000).all(), per_household
    # ... and below the 2011 tier-1 80th percentile, 3,120 kWh/yr (Shanghai Daily 2012, high)
    assert (per_household < 3120).all()


def test_office_electricity_per_floor_area(twin: Twin, annual: pd.Series) -> None:
    # benchmarks.md §3: offices 50-100 kWh/m2/yr (Xu et al., Energy Policy 53 (2013))
    per_m2 = intensity(twin, annual, "electricity.office")
    assert len(per_m2) == 31
    assert per_m2.between(50, 100).all(), per_m2


def test_shop_electricity_per_floor_area(twin: Twin, annual: pd.Series) -> None:
    # benchmarks.md §4: proxy 120-250 kWh/m2/yr (malls and hotels, Xu et al. 2013; UNCONFIRMED
    # for small street-front shops)
    assert intensity(twin, annual, "electricity.retail").between(120, 250).all()


def test_residential_gas_per_household(twin: Twin, annual: pd.Series) -> None:
    per_household = intensity(twin, annual, "gas.residential")
    # benchmarks.md §2: 24 m3/month = 288 m3/yr (2014, medium); tier-1 threshold 310 m3/yr
    # covers 80 % of households (Shanghai Daily 2014-08-06, high), so the mean stays below it
    assert per_household.between(230, 310).all(), per_household
    assert abs(per_household.mean() / 288 - 1) < 0.05


def test_residential_water_per_capita(twin: Twin, annual: pd.Series) -> None:
    per_person_day = intensity(twin, annual, "water.residential") / 366  # 2024 is a leap year
    # benchmarks.md §2: 0.165 m3/person/day (2006, medium); band 0.120 (best-known low,
    # UNCONFIRMED) to 0.1888 (MOHURD city series 2023, an upper bound, medium)
    assert per_person_day.between(0.120, 0.1888).all(), per_person_day


def test_every_meter_inside_its_calibration_band(
    twin: Twin, annual: pd.Series, clean: SynthResult
) -> None:
    # CALIBRATION_TARGETS: each band cites its source (ebike §7, lighting §5, toilet §8 ...)
    table = calibration_table(twin).set_index("meter_id")
    assert set(table.index) == set(annual.index) == set(twin.meters)
    values = annual[table.index]
    outside = table[(values < table["target_low"]) | (values > table["target_high"])]
    assert outside.empty, outside
    totals = clean.totals.set_index("meter_id")
    # the files carry the true totals (register readings are floored: within 1 m3)
    np.testing.assert_allclose(values, totals.loc[table.index, "consumption"], atol=1.0)


def test_calibration_table_and_expected_annual(twin: Twin) -> None:
    table = calibration_table(twin)
    assert len(table) == len(twin.meters) == 136
    assert table["source"].str.len().gt(20).all()
    value, unit, low, high, source = expected_annual(twin, "E-XINFUKANGLI-XINFUKANGLIESTATE")
    # the meter sits on a compound; households (1,504, seed 001) are on its residential area
    assert value == pytest.approx(2500 * 1504) and unit == "kWh"
    assert (low, high) == (pytest.approx(2000 * 1504), pytest.approx(3000 * 1504))
    assert "benchmarks.md §1" in source
    lights = expected_annual(twin, "E-HENGFENG-MAILBOX")
    assert lights.value == pytest.approx(8 * 36 * 8.76)  # 8 x 36 W for 8,760 h (assets.toml)
    ebike = expected_annual(twin, "E-XINFUKANGLI-EBIKE")
    assert ebike.value == pytest.approx(75 * 365)  # 75 ports x 365 kWh/port/yr
    # UNCONFIRMED best-known values are marked as such
    assert "UNCONFIRMED" in CALIBRATION_TARGETS["electricity.residential"].confidence
    assert "UNCONFIRMED" in CALIBRATION_TARGETS["electricity.retail"].confidence
    with pytest.raises(UnknownMeterError, match="No meter 'E-NOPE'"):
        expected_annual(twin, "E-NOPE")


def test_missing_sizing_asset_is_a_twin_error(tmp_path: Path) -> None:
    folder = copy_site(tmp_path)
    drop_block(folder / "assets.toml", "asset", "fengxian.ebike_chargers")
    broken = load_twin(folder)
    with pytest.raises(TwinError, match="needs a 'ebike_chargers' asset"):
        expected_annual(broken, "E-FENGXIAN-EBIKE")
    with pytest.raises(TwinError, match="E-FENGXIAN-EBIKE"):
        generate(broken, tmp_path / "out", **FORTNIGHT)


# --- seasonality and daily shapes ---------------------------------------------------------


def monthly(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby(frame["time"].dt.month)["kwh"].sum()


def by_use(twin: Twin, frame: pd.DataFrame, use: str) -> pd.DataFrame:
    table = calibration_table(twin)
    return frame[frame["meter_id"].isin(table.loc[table["use_type"] == use, "meter_id"])]


def test_residential_summer_and_winter_peaks(twin: Twin, clean_electricity: pd.DataFrame) -> None:
    month = monthly(by_use(twin, clean_electricity, "residential"))
    # benchmarks.md §1: July-August well above the April-May base (+30-40 % in hot years)
    assert (month[7] + month[8]) >= 1.20 * (month[4] + month[5])
    # and December-January raised by heating (no central heating in Shanghai)
    assert (month[12] + month[1]) > (month[4] + month[5])


def test_residential_evening_peak(twin: Twin, clean_electricity: pd.DataFrame) -> None:
    res = by_use(twin, clean_electricity, "residential")
    hour = res["time"].dt.hour
    # benchmarks.md §1 (best-known): evening peak 19-23 above the workday midday low
    assert (
        res.loc[hour.between(19, 22), "kwh"].mean()
        > 1.5 * res.loc[hour.between(10, 15), "kwh"].mean()
    )


def test_office_shape_and_summer_maximum(twin: Twin, clean_electricity: pd.DataFrame) -> None:
    office = by_use(twin, clean_electricity, "office")
    weekday = office["time"].dt.day_of_week < 5
    hour = office["time"].dt.hour
    peak = office[weekday & hour.isin([10, 11])].groupby("meter_id")["kwh"].mean()
    night = office[~weekday & (hour < 6)].groupby("meter_id")["kwh"].mean()
    # benchmarks.md §3: peak 10-11, night/weekend base <= 1/3 of peak (ratio > 3)
    assert ((peak / night) > 3).all()
    # benchmarks.md §3: July-August are the annual maximum
    assert monthly(office).idxmax() in (7, 8)


def test_ebike_charging_is_evening_and_night(twin: Twin, clean_electricity: pd.DataFrame) -> None:
    ebike = by_use(twin, clean_electricity, "ebike")
    hour = ebike["time"].dt.hour
    evening = ebike.loc[(hour >= 19) | (hour <= 1), "kwh"].mean()
    daytime = ebike.loc[hour.between(8, 16), "kwh"].mean()
    assert evening > 3 * daytime  # benchmarks.md §7 (assumed evening/night charging)


# --- register files -------------------------------------------------------------------------


def test_clean_registers_are_monotone_with_monthly_reads(clean: SynthResult) -> None:
    regs = register_frame(clean)
    assert (regs.groupby("meter_id")["reading"].diff().dropna() >= 0).all()
    dates = sorted(regs["read_date"].unique())
    assert dates == [f"2024-{m:02d}-01" for m in range(1, 13)] + ["2025-01-01"]
    assert regs.groupby("meter_id").size().eq(13).all()
    assert regs["reading"].max() < 10**7  # REGISTER_DIGITS = 7


def test_faulty_registers_drop_only_at_declared_rows(faulty: SynthResult) -> None:
    declared = {
        (f.file, r) for f in faulty.faults if f.kind in ("rollover", "replacement") for r in f.rows
    }
    drops = set()
    for key in ("gas", "water"):
        frame = pd.read_csv(faulty.files[key])
        same = frame["meter_id"].eq(frame["meter_id"].shift())
        for i in np.flatnonzero(same & (frame["reading"].diff() < 0)):
            drops.add((FILE_NAMES[key], int(i) + 1))
    assert drops == declared and len(declared) == 2


# --- faults ---------------------------------------------------------------------------------


def test_every_fault_kind_is_recorded(faulty: SynthResult) -> None:
    assert {f.kind for f in faulty.faults} == set(FAULT_KINDS)
    for f in faulty.faults:
        assert f.rows and all(r >= 1 for r in f.rows)
        assert f.expected_handling and f.description
        assert (faulty.out / f.file).exists()
    assert faulty.manifest["faults"] == [f.to_dict() for f in faulty.faults]


def test_no_faults_when_not_asked(
    clean: SynthResult, clean_electricity: pd.DataFrame, twin: Twin
) -> None:
    assert clean.faults == () and clean.manifest["faults"] == []
    assert list(pd.read_csv(clean.files["electricity"], nrows=1).columns) == [
        "meter_id",
        "timestamp",
        "kwh",
    ]
    assert "water_gbk" not in clean.files
    assert not (clean.out / FILE_NAMES["water_gbk"]).exists()
    assert len(pd.read_csv(clean.files["events"])) == 0
    n_electric = sum(m.measure == "electricity" for m in twin.meters.values())
    assert len(clean_electricity) == n_electric * 366 * 24  # no gap, no duplicate
    assert not clean_electricity.duplicated(["meter_id", "timestamp"]).any()
    per_meter = clean_electricity.groupby("meter_id")["kwh"]
    assert (per_meter.max() < 20 * per_meter.median()).all()  # no spike
    water = pd.read_csv(clean.files["water"])
    assert set(water["meter_id"]) == {m.id for m in twin.meters.values() if m.measure == "water"}


def test_spike_row(faulty: SynthResult, faulty_electricity: pd.DataFrame) -> None:
    f = fault(faulty, "spike")
    hit = row(faulty_electricity, f.rows[0])
    assert hit["meter_id"] == f.meter_id and hit["timestamp"] == f.data["timestamp"]
    assert float(hit["kwh"]) == pytest.approx(100 * f.data["true_kwh"], abs=0.001)
    meter = faulty_electricity.loc[faulty_electricity["meter_id"] == f.meter_id, "kwh"]
    assert float(hit["kwh"]) > 20 * meter.astype(float).median()


def test_gap_rows(faulty: SynthResult, faulty_electricity: pd.DataFrame) -> None:
    f = fault(faulty, "gap")
    before, after = (row(faulty_electricity, r) for r in f.rows)
    assert f.rows[1] == f.rows[0] + 1
    assert before["meter_id"] == after["meter_id"] == f.meter_id
    step = pd.Timestamp(after["timestamp"]) - pd.Timestamp(before["timestamp"])
    assert step == pd.Timedelta(hours=f.data["missing_hours"] + 1)
    assert 6 <= f.data["missing_hours"] <= 48
    assert pd.Timestamp(f.data["first_missing"]) == pd.Timestamp(
        before["timestamp"]
    ) + pd.Timedelta(hours=1)


def test_duplicate_rows(faulty: SynthResult, faulty_electricity: pd.DataFrame) -> None:
    exact = fault(faulty, "duplicate", conflicting=False)
    assert len(exact.rows) == 5
    for dup, orig in zip(exact.rows, exact.data["original_rows"], strict=True):
        assert dup == orig + 1
        assert row(faulty_electricity, dup).equals(row(faulty_electricity, orig))
    conflict = fault(faulty, "duplicate", conflicting=True)
    [orig] = conflict.data["original_rows"]
    a, b = row(faulty_electricity, orig), row(faulty_electricity, conflict.rows[0])
    assert (a["meter_id"], a["timestamp"]) == (b["meter_id"], b["timestamp"])
    assert a["kwh"] != b["kwh"]
    keys = faulty_electricity[["meter_id", "timestamp"]]
    assert keys.duplicated().sum() == 6  # five exact copies and one conflicting row


def test_mixed_unit_rows_convert_back_to_the_true_energy(
    faulty: SynthResult, faulty_electricity: pd.DataFrame, clean_electricity: pd.DataFrame
) -> None:
    f = fault(faulty, "mixed_units")
    rows = faulty_electricity.iloc[[r - 1 for r in f.rows]]
    assert len(rows) == 24 and (rows["unit"] == "MWh").all()
    assert (rows["meter_id"] == f.meter_id).all()
    assert (faulty_electricity["unit"] == "MWh").sum() == 24  # and nowhere else
    factor = conversion_factor("MWh", "kWh")
    converted = np.round(rows["kwh"].astype(float).to_numpy() * factor, 3)
    truth = clean_electricity.set_index(["meter_id", "timestamp"]).loc[
        list(zip(rows["meter_id"], rows["timestamp"], strict=True)), "kwh"
    ]
    np.testing.assert_array_equal(converted, truth.to_numpy())
    np.testing.assert_array_equal(converted, f.data["true_kwh"])


def test_rollover_row(faulty: SynthResult) -> None:
    f = fault(faulty, "rollover")
    frame = pd.read_csv(faulty.out / f.file)
    previous, current = row(frame, f.rows[0] - 1), row(frame, f.rows[0])
    assert previous["meter_id"] == current["meter_id"] == f.meter_id
    assert current["reading"] < previous["reading"]
    meter = frame.loc[frame["meter_id"] == f.meter_id, "reading"]
    assert meter.max() < 10**ROLLOVER_DIGITS
    consumption = current["reading"] + 10**ROLLOVER_DIGITS - previous["reading"]
    assert consumption == f.data["true_consumption"] > 0


def test_replacement_row_and_event(faulty: SynthResult, clean: SynthResult) -> None:
    f = fault(faulty, "replacement")
    frame = pd.read_csv(faulty.out / f.file)
    previous, current = row(frame, f.rows[0] - 1), row(frame, f.rows[0])
    assert previous["meter_id"] == current["meter_id"] == f.meter_id
    assert current["reading"] < previous["reading"]
    events = read_text_csv(faulty.files["events"])
    assert list(events.columns) == [
        "meter_id",
        "date",
        "event",
        "old_final_reading",
        "new_initial_reading",
    ]
    event = row(events, f.data["events_row"])
    assert (event["meter_id"], event["event"], event["date"]) == (
        f.meter_id,
        "replacement",
        f.data["date"],
    )
    assert previous["read_date"] < event["date"] < current["read_date"]
    consumption = (
        int(event["old_final_reading"])
        - previous["reading"]
        + current["reading"]
        - int(event["new_initial_reading"])
    )
    truth = pd.read_csv(clean.out / f.file).set_index(["meter_id", "read_date"])["reading"]
    true = truth[(f.meter_id, current["read_date"])] - truth[(f.meter_id, previous["read_date"])]
    assert abs(consumption - true) <= 2  # readings are floored on both meters


def test_gbk_file(faulty: SynthResult, twin: Twin) -> None:
    records = [f for f in faulty.faults if f.kind == "gbk"]
    path = faulty.files["water_gbk"]
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert text.splitlines()[0] == "表号,抄表日期,读数,单位"
    assert "\r\n" in text
    frame = read_text_csv(path, encoding="gb18030")
    assert set(frame["单位"]) == {"立方米", "方"}
    for unit in set(frame["单位"]):
        assert conversion_factor(unit, "m3") == 1.0
    dates = pd.to_datetime(frame["抄表日期"], format="%Y年%m月%d日")
    assert dates.min() == pd.Timestamp("2024-01-01") and dates.max() == pd.Timestamp("2025-01-01")
    for f in records:
        assert set(frame.iloc[[r - 1 for r in f.rows]]["表号"]) == {f.meter_id}
    # the GBK meters are only in the GBK file: the two water files cover each meter once
    water = pd.read_csv(faulty.files["water"])
    gbk_meters = set(frame["表号"])
    assert len(gbk_meters) == 3 and not gbk_meters & set(water["meter_id"])
    assert gbk_meters | set(water["meter_id"]) == {
        m.id for m in twin.meters.values() if m.measure == "water"
    }


def test_a_single_fault_kind_is_the_same_fault(twin: Twin, tmp_path: Path) -> None:
    every = generate(twin, tmp_path / "all", seed=3, faults=True, **FORTNIGHT)
    only = generate(twin, tmp_path / "gap", seed=3, faults=["gap"], **FORTNIGHT)
    assert [f.kind for f in only.faults] == ["gap"]
    gap_all = fault(every, "gap")
    gap_only = only.faults[0]
    assert (gap_only.meter_id, gap_only.data) == (gap_all.meter_id, gap_all.data)
    assert list(pd.read_csv(only.files["electricity"], nrows=1).columns) == [
        "meter_id",
        "timestamp",
        "kwh",
    ]
    # a later run without gbk into the same folder removes the stale GBK file
    generate(twin, tmp_path / "all", seed=3, faults=["gap"], **FORTNIGHT)
    assert not (tmp_path / "all" / FILE_NAMES["water_gbk"]).exists()


# --- manifest, progress, adjustments, errors ------------------------------------------------


def test_manifest_labels_and_describes_everything(faulty: SynthResult, twin: Twin) -> None:
    path = faulty.files["manifest"]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest == faulty.manifest
    assert manifest["synthetic"] is True and "SYNTHETIC" in manifest["label"]
    assert manifest["generator"] == "carbon.synth"
    assert (manifest["seed"], manifest["start"], manifest["end"]) == (
        42,
        "2024-01-01",
        "2025-01-01",
    )
    assert manifest["twin"] == {
        "name": "shimen_erlu",
        "content_hash": twin.content_hash,
        "meters": 136,
    }
    assert set(manifest["calibration_targets"]) == set(CALIBRATION_TARGETS)
    for target in manifest["calibration_targets"].values():
        assert target["source"] and target["confidence"]
    assert faulty.synthetic is True
    listed = {f["name"]: f for f in manifest["files"]}
    assert [f["name"] for f in manifest["files"]] == sorted(listed)
    assert set(listed) == {p.name for k, p in faulty.files.items() if k != "manifest"}
    for key, file in faulty.files.items():
        assert file.name.startswith("synthetic_"), key
        if key == "manifest":
            continue
        info = listed[file.name]
        data = file.read_bytes()
        assert info["sha256"] == hashlib.sha256(data).hexdigest()
        lines = data.decode(info["encoding"]).splitlines()
        assert info["rows"] == len(lines) - 1
    assert "generated_at" not in json.dumps(manifest)


def test_temperature_file_matches_the_result(clean: SynthResult) -> None:
    frame = pd.read_csv(clean.files["temperature"])
    assert len(frame) == 366 and list(frame.columns) == ["date", "temperature_degC"]
    np.testing.assert_allclose(frame["temperature_degC"], clean.temperature.to_numpy(), atol=0.005)
    assert clean.temperature.attrs["synthetic"] is True


def test_progress_is_reported(twin: Twin, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate(twin, tmp_path, faults=True, progress=lambda d, t: calls.append((d, t)), **FORTNIGHT)
    total = calls[0][1]
    assert total == len(twin.meters) + len(FILE_NAMES)
    assert [d for d, _ in calls] == list(range(1, total + 1))
    assert all(t == total for _, t in calls)


def test_adjustments_scale_consumption_from_their_date(twin: Twin, tmp_path: Path) -> None:
    meter = "E-KAIDIKE"
    base = generate(twin, tmp_path / "base", seed=9, **TWO_MONTHS)
    saved = generate(
        twin, tmp_path / "saved", seed=9, adjustments={meter: [("2024-02-01", 0.8)]}, **TWO_MONTHS
    )
    a, b = (pd.read_csv(r.files["electricity"]) for r in (base, saved))
    a, b = a[a["meter_id"] == meter], b[b["meter_id"] == meter]
    january = a["timestamp"] < "2024-02-01"
    np.testing.assert_array_equal(a.loc[january, "kwh"], b.loc[january, "kwh"])
    np.testing.assert_allclose(b.loc[~january, "kwh"], 0.8 * a.loc[~january, "kwh"], atol=0.0011)
    assert saved.manifest["adjustments"] == {meter: [["2024-02-01", 0.8]]}
    others = pd.read_csv(base.files["gas"]).equals(pd.read_csv(saved.files["gas"]))
    assert others


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"faults": ["gap", "flood"]}, SynthError, r"unknown fault kind\(s\) \['flood'\]"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, SynthError, "empty period"),
        (
            {"start": "2024-01-01", "end": "2024-01-03", "faults": True},
            SynthError,
            "at least 7 days",
        ),
        ({"start": "2024-01-01", "end": "2040-01-01"}, SynthError, "10-year maximum"),
        ({"start": "2024-01-01 08:00"}, SynthError, "midnight"),
        ({"seed": -1}, SynthError, "seed must be an integer >= 0"),
        ({"adjustments": {"E-NOPE": [("2024-01-01", 0.9)]}}, UnknownMeterError, "E-NOPE"),
        ({"adjustments": {"E-KAIDIKE": [("2024-01-01", -1)]}}, SynthError, "must be >= 0"),
    ],
)
def test_bad_arguments_raise(
    twin: Twin, tmp_path: Path, kwargs: dict, error: type, match: str
) -> None:
    args = {"start": "2024-01-01", "end": "2024-01-15", **kwargs}
    with pytest.raises(error, match=match) as info:
        generate(twin, tmp_path, **args)
    assert isinstance(info.value, CarbonError)
    assert not any(tmp_path.iterdir())  # nothing written


def test_activities_file_msw_and_gec(tmp_path):
    # docs/research/benchmarks.md §9: Shanghai Jan-May 2024 dry 17,060 and wet 9,111 t/day over
    # 24.7589 million residents (derived, medium); office workers on weekdays (ASSUMPTION).
    from carbon.synth import GEC_SHARE, MSW_KG_PER_RESIDENT_DAY, MSW_KG_PER_WORKER_DAY

    assert MSW_KG_PER_RESIDENT_DAY["waste.msw.incineration"] == pytest.approx(
        17060 / 24.7589e6 * 1000, abs=0.001
    )
    assert MSW_KG_PER_RESIDENT_DAY["waste.msw.biological"] == pytest.approx(
        9111 / 24.7589e6 * 1000, abs=0.001
    )
    twin = load_twin("shimen_erlu")
    result = generate(twin, tmp_path, start="2024-01-01", end="2024-03-01", seed=3)
    frame = pd.read_csv(result.files["activities"])
    for activity in ("waste.msw.incineration", "waste.msw.biological"):
        msw = frame[frame.activity == activity]
        assert list(msw.period_start) == ["2024-01-01", "2024-02-01"]
        assert set(msw.node_id) == {"shimen_erlu"} and set(msw.unit) == {"t"}
        # January 2024: 31 days, 23 weekdays; 22,000 residents and 100,000 workers.
        expected_jan = (
            22000 * MSW_KG_PER_RESIDENT_DAY[activity] * 31
            + 100000 * MSW_KG_PER_WORKER_DAY[activity] * 23
        ) / 1000  # dry 469.9 + 529.0 = 998.9 t; wet 251.0 + 276.0 = 527.0 t
        assert msw.amount.iloc[0] == pytest.approx(expected_jan, rel=0.2)
    assert not frame.activity.str.startswith("waste.msw.sorted").any()
    gec = frame[frame.activity == "electricity.green_certificate"]
    assert set(gec.node_id) == {"bohua_plaza"} and set(gec.unit) == {"MWh"}
    bohua = result.totals.set_index("meter_id").loc["E-BOHUAPLAZA", "consumption"] / 1000
    assert gec.amount.sum() == pytest.approx(bohua * GEC_SHARE, abs=2)
    assert (gec.amount == gec.amount.round()).all()  # whole certificates (1 GEC = 1 MWh)
