"""Tests of carbon.mv_billing: the CalTRACK 2.0 billing method on monthly and bimonthly bills,
checked against hand-worked examples (every expected number is derived in the comments)."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from carbon import mv
from carbon import mv_billing as mb
from carbon.errors import CarbonError
from carbon.factors import load_factor_set

# Monthly mean temperatures [degC]: every day of a month has its month's value, so a month's
# degree days per day are those of that one temperature.
T_2023 = [4.0, 6.0, 10.0, 16.0, 20.0, 26.0, 30.0, 29.0, 25.0, 19.0, 12.0, 7.0]
T_2024 = [2.0, 5.0, 9.0, 15.0, 21.0, 27.0, 31.0, 30.0, 26.0, 18.0, 11.0, 6.0]


def codes(warnings: list) -> set[str]:
    return {w.code for w in warnings}


def monthly_temperature(year: int, means: list[float]) -> pd.Series:
    days = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="D", inclusive="left")
    return pd.Series([means[d.month - 1] for d in days], index=days, dtype=float)


def month_bills(year: int, upd: list[float]) -> pd.DataFrame:
    """Calendar-month bills of a year with the given use per day [kWh / day]."""
    starts = pd.date_range(f"{year}-01-01", periods=12, freq="MS")
    ends = starts + pd.offsets.MonthBegin(1)
    return pd.DataFrame(
        {"start": starts, "end": ends, "usage_kwh": np.array(upd) * (ends - starts).days}
    )


def truth(t: float) -> float:
    """The constructed baseline: UPD = 10 + 0.5 HDD18 + 1.0 CDD24 [kWh / day]."""
    return 10.0 + 0.5 * max(18.0 - t, 0.0) + 1.0 * max(t - 24.0, 0.0)


@pytest.fixture(scope="module")
def temperature() -> pd.Series:
    return pd.concat([monthly_temperature(2023, T_2023), monthly_temperature(2024, T_2024)])


@pytest.fixture(scope="module")
def bills() -> pd.DataFrame:
    """2023: the baseline, exactly the truth except May +0.5 and October -0.5 kWh/day; 2024:
    a retrofit on 1 January cuts every bill to 80 % of the truth."""
    base = [truth(t) for t in T_2023]
    base[4] += 0.5  # May, T = 20: HDD18 = CDD24 = 0
    base[9] -= 0.5  # October, T = 19: HDD18 = CDD24 = 0
    after = [0.8 * truth(t) for t in T_2024]
    return pd.concat([month_bills(2023, base), month_bills(2024, after)], ignore_index=True)


@pytest.fixture(scope="module")
def result(bills: pd.DataFrame, temperature: pd.Series) -> mv.SavingsResult:
    return mb.verify_billing(bills, temperature, "2024-01-01")


# --- the hand-worked year ----------------------------------------------------------------------


def test_hand_worked_baseline_fit(result: mv.SavingsResult) -> None:
    # Baseline UPD (kWh/day) = 10 + 0.5 HDD18 + 1.0 CDD24, from T_2023:
    #   HDD18 = 14, 12, 8, 2, 0, 0, 0, 0, 0, 0, 6, 11;  CDD24 = 0, 0, 0, 0, 0, 2, 6, 5, 1, 0, 0, 0
    #   UPD   = 17, 16, 14, 11, 10.5, 12, 16, 15, 11, 9.5, 13, 15.5  (May +0.5, Oct -0.5).
    # The two deviations e (+0.5 and -0.5 on 31 days each) are orthogonal to the columns under
    # the day weights: sum(n e) = 31(0.5) - 31(0.5) = 0, and HDD = CDD = 0 in both months, so the
    # WLS estimates are the constructed ones exactly (CalTRACK 2.0 §3.4.2). Any other balance
    # point misfits more months than these two, so (18, 24) wins the grid search (§3.4.3.3).
    model = result.model
    assert isinstance(model, mb.BillingModel)
    s = model.segment
    assert (s.model_type, s.heating_balance_point, s.cooling_balance_point) == ("hdd_cdd", 18, 24)
    assert (s.intercept, s.beta_heating, s.beta_cooling) == pytest.approx((10.0, 0.5, 1.0))
    assert (model.n_periods, model.n_days, model.n_parameters) == (12, 365, 3)
    fitted = model.periods[model.periods.status == "used"]
    assert fitted.hdd.tolist() == [14, 12, 8, 2, 0, 0, 0, 0, 0, 0, 6, 11]
    assert fitted.cdd.tolist() == [0, 0, 0, 0, 0, 2, 6, 5, 1, 0, 0, 0]
    assert fitted.days.tolist() == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert fitted.usage_per_day_kwh.tolist() == pytest.approx(
        [17, 16, 14, 11, 10.5, 12, 16, 15, 11, 9.5, 13, 15.5]
    )
    # Weighted R^2 with P = 12: SS_res = sum n e^2 = 2 * 31 * 0.25 = 15.5;
    # sum n y = 4,880.5 kWh, sum n y^2 = 67,427.25, sum n = 365 ->
    # SS_tot = 67,427.25 - 4,880.5^2 / 365 = 2,168.94795;
    # R^2 = 1 - 15.5 / 2,168.94795 = 0.992854; adj = 1 - (15.5/9) / (2,168.94795/11) = 0.991266.
    assert model.r2 == pytest.approx(0.992854, abs=1e-6)
    assert model.r2_adj == pytest.approx(0.991266, abs=1e-6)
    # G14 on bill totals: residuals +15.5 (May) and -15.5 (Oct) kWh, n - p = 9;
    # RMSE = sqrt(480.5 / 9) = 7.306770 kWh; mean bill = 4,880.5 / 12 = 406.708333 kWh;
    # CV(RMSE) = 0.017966; NMBE = 0. Lag-1 autocorrelation of (0,0,0,0,15.5,0,0,0,0,-15.5,0,0):
    # the products of neighbours are all zero and both means are 0 -> 0.
    assert model.rmse == pytest.approx(7.306770, abs=1e-6)
    assert model.cvrmse == pytest.approx(0.0179656, abs=1e-7)
    assert model.nmbe == pytest.approx(0.0, abs=1e-12)
    assert model.autocorrelation == pytest.approx(0.0, abs=1e-12)
    assert model.residuals.round(9).tolist() == [0, 0, 0, 0, 15.5, 0, 0, 0, 0, -15.5, 0, 0]


def test_hand_worked_savings_with_uncertainty(result: mv.SavingsResult) -> None:
    # Reporting 2024 (T_2024): HDD18 = 16, 13, 9, 3, 0, 0, 0, 0, 0, 0, 7, 12;
    # CDD24 = 0, 0, 0, 0, 0, 3, 7, 6, 2, 0, 0, 0; predicted UPD = 18, 16.5, 14.5, 11.5, 10, 13,
    # 17, 16, 12, 10, 13.5, 16; times the days (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    # = 558, 478.5, 449.5, 345, 310, 390, 527, 496, 360, 310, 405, 496 -> 5,125 kWh.
    # Metered: 80 % of that, 4,100 kWh. AEU = 1,025 kWh = 20 % (CalTRACK 2.0 §3.6.1).
    predicted = [558, 478.5, 449.5, 345, 310, 390, 527, 496, 360, 310, 405, 496]
    assert result.periods.predicted_kwh.tolist() == pytest.approx(predicted)
    assert result.periods.avoided_kwh.tolist() == pytest.approx([0.2 * p for p in predicted])
    assert result.predicted_kwh == pytest.approx(5125.0)
    assert result.observed_kwh == pytest.approx(4100.0)
    assert result.avoided_kwh == pytest.approx(1025.0)
    assert result.savings_fraction == pytest.approx(0.20)
    # ASHRAE G14 (Annex B form) with bills: n = 12 baseline bills, p = 3, m = 12 reporting
    # bills, rho = 0 -> n' = 12; t(0.95, 9) = 1.833113 (90 %); Sun & Baltazar monthly
    # Y(12) = -0.00022 * 144 + 0.03306 * 12 + 0.94054 = 1.30558;
    # sqrt((12/12)(1 + 2/12) / 12) = 0.311805;
    # U = 1.833113 * 1.30558 * 0.0179656 * 5,125 * 0.311805 = 68.709 kWh -> FSU 6.70 %.
    # At 68 %: t(0.84, 9) = 1.052515 -> 39.450 kWh, 3.849 %.
    assert result.uncertainty_kwh == pytest.approx(68.709, abs=0.01)
    assert result.fsu == pytest.approx(0.06703, abs=1e-5)
    assert result.fsu_68 == pytest.approx(39.450 / 1025, abs=1e-5)
    assert result.interval_kwh == pytest.approx((1025 - 68.709, 1025 + 68.709), abs=0.01)
    # 2024-01-01..2025-01-01 is 12 calendar months: the 12-60-month CV(RMSE) limit (25 %).
    assert result.g14["reporting_months"] == 12.0 and result.g14["cvrmse_limit"] == 0.25
    assert result.g14["n_baseline_periods"] == 12 and result.g14["n_reporting_periods"] == 12
    assert result.g14_ok and result.warnings == []
    assert result.reporting_days == 366 and result.confidence == 0.90


def test_bills_spread_over_days_add_up_to_the_bills(result: mv.SavingsResult) -> None:
    # The daily frame spreads each bill evenly over its days; with calendar-month bills the
    # monthly sums are the bills again, and the ledger entries sum to the avoided energy.
    assert result.daily.avoided_kwh.sum() == pytest.approx(1025.0)
    assert result.daily.loc["2024-02-10", "observed_kwh"] == pytest.approx(382.8 / 29)
    assert result.monthly.avoided_kwh.tolist() == pytest.approx(result.periods.avoided_kwh.tolist())
    factors = load_factor_set("shanghai-2022")
    entries = mv.verified_entries(
        "INT-BILL-1", "hengfeng", "electricity.grid", "II.1.2", result, factors, "CN-SH"
    )
    assert len(entries) == 12 and set(entries.kind) == {"avoided"}
    assert float(sum(entries.amount, Decimal(0))) == pytest.approx(1025.0, abs=1e-3)
    # January: 111.6 kWh avoided x 0.42 kg CO2e/kWh (Shanghai 2022) = 46.872 kg.
    assert entries.iloc[0].co2e_kg == Decimal("46.872")


def test_prediction_per_period_equals_the_sum_of_its_days(
    result: mv.SavingsResult, temperature: pd.Series
) -> None:
    # The billing model is linear in daily degree days: n_p (mu + b HDD_p + c CDD_p) equals
    # the sum of the daily predictions over the bill (CalTRACK 2.0 §3.3.4-3.3.5).
    model = result.model
    assert isinstance(model, mb.BillingModel)
    bill = pd.DataFrame({"start": ["2024-06-10"], "end": ["2024-07-10"]})
    per_day = model.predict(temperature["2024-06-10":"2024-07-09"]).sum()
    # 21 June days at 27 degC (13 kWh/d) + 9 July days at 31 degC (17 kWh/d) = 426 kWh.
    assert per_day == pytest.approx(21 * 13 + 9 * 17)
    assert model.predict_periods(bill, temperature).iloc[0] == pytest.approx(426.0)


# --- weights, degree days per period -------------------------------------------------------------


def test_wls_weighs_bills_by_their_days() -> None:
    # Four bills without temperature dependence (10 degC: no HDD below a 5 degC base, no CDD
    # above 30 degC): intercept-only, mu = sum(n UPD) / sum(n) = total use / total days
    # (CalTRACK 2.0 §3.4.2) = (336 + 310 + 330 + 403) / (28 + 31 + 30 + 31) = 1,379 / 120
    # = 11.491667, not the plain mean of the UPDs (12 + 10 + 11 + 13) / 4 = 11.5.
    bills = pd.DataFrame(
        {
            "start": ["2023-02-01", "2023-03-01", "2023-04-01", "2023-05-01"],
            "end": ["2023-03-01", "2023-04-01", "2023-05-01", "2023-06-01"],
            "usage_kwh": [336.0, 310.0, 330.0, 403.0],
        }
    )
    temps = pd.Series(10.0, index=pd.date_range("2023-02-01", "2023-05-31", freq="D"))
    model = mb.fit_billing_baseline(
        bills, temps, heating_balance_points=[5.0], cooling_balance_points=[30.0], strict=False
    )
    assert model.model_type == "intercept_only"
    assert model.segment.intercept == pytest.approx(1379.0 / 120.0)
    assert {"mv.sufficiency.too_short", "mv.model.intercept_only"} <= codes(model.warnings)


def test_design_matrix_averages_daily_degree_days() -> None:
    # CalTRACK 2.0 §3.3.4-3.3.5: the mean of the daily degree days, not the degree days of
    # the mean temperature. Bill 1 (4 days): T = 10, 26, 10, 26 -> mean T 18 would give HDD18 =
    # CDD24 = 0, but HDD18 = (8 + 0 + 8 + 0) / 4 = 4 and CDD24 = (0 + 2 + 0 + 2) / 4 = 1.
    # Bill 2 (4 days): T = 10, NaN, 26, 26 -> means over the 3 days with a temperature:
    # HDD18 = 8/3, CDD24 = 4/3.
    temps = pd.Series(
        [10.0, 26.0, 10.0, 26.0, 10.0, np.nan, 26.0, 26.0],
        index=pd.date_range("2024-01-01", periods=8, freq="D"),
    )
    periods = pd.DataFrame(
        {"start": ["2024-01-01", "2024-01-05"], "end": ["2024-01-05", "2024-01-09"]}
    )
    x = mb.billing_design_matrix(periods, temps, 18.0, 24.0)
    assert list(x.columns) == ["intercept", "hdd", "cdd", "temperature_days"]
    assert x.hdd.tolist() == pytest.approx([4.0, 8.0 / 3.0])
    assert x.cdd.tolist() == pytest.approx([1.0, 4.0 / 3.0])
    assert x.temperature_days.tolist() == [4, 3]
    assert list(mb.billing_design_matrix(periods, temps, 18.0).columns) == [
        "intercept",
        "hdd",
        "temperature_days",
    ]


# --- data rules (CalTRACK 2.0 §2.2.3, §3.5.5) ----------------------------------------------------


def test_baseline_rules_drop_combine_and_count_missing_days() -> None:
    # Reads 2023-01-01..2024-01-01 (365 days): an off-cycle read (10 days), a 40-day read,
    # an estimated read combined with the next, a zero electricity bill and a bill whose
    # temperatures cover 20 of 30 days (< 90 %).
    edges = [
        "2023-01-01", "2023-02-01", "2023-02-11", "2023-03-23", "2023-04-22", "2023-05-22",
        "2023-06-21", "2023-07-21", "2023-08-20", "2023-09-19", "2023-10-19", "2023-11-18",
        "2023-12-18", "2024-01-01",
    ]  # fmt: skip
    days = np.diff(pd.to_datetime(edges)).astype("timedelta64[D]").astype(int)
    assert days.tolist() == [31, 10, 40, 30, 30, 30, 30, 30, 30, 30, 30, 30, 14]
    bills = pd.DataFrame(
        {
            "start": edges[:-1],
            "end": edges[1:],
            "usage_kwh": 10.0 * days,
            "estimated": [False] * 4 + [True] + [False] * 8,
        }
    )
    bills.loc[6, "usage_kwh"] = 0.0  # 2023-06-21..07-21: zero electricity = missing
    temps = pd.Series(15.0, index=pd.date_range("2023-01-01", "2023-12-31", freq="D"))
    temps["2023-08-01":"2023-08-10"] = np.nan  # bill 2023-07-21..08-20: 20 of 30 days
    periods, warnings = mb.billing_periods(bills, temps, cycle="auto")
    assert periods.attrs["cycle"] == "monthly"
    assert periods.status.tolist() == [
        "used",  # 31 days
        "off_cycle",  # 10 days < 25 (§2.2.3.4)
        "too_long",  # 40 days > 35 (§2.2.3.5)
        "used",
        "used",  # estimated 04-22..05-22 combined with 05-22..06-21: 60 days (§2.2.3.1)
        "missing_usage",  # zero electricity (§2.2.1.4)
        "no_temperature",  # 20/30 < 90 % (§2.2.3.2)
        "used", "used", "used", "used",
        "off_cycle",  # the last 14 days
    ]  # fmt: skip
    combined = periods.iloc[4]
    assert (combined.days, combined.reads, combined.estimated_days) == (60, 2, 30)
    assert codes(warnings) == {
        "mv.billing.off_cycle",
        "mv.billing.too_long",
        "mv.billing.missing_usage",
        "mv.billing.no_temperature",
        "mv.billing.combined",
    }
    # Missing: 365 - used days (31 + 30 + 60 + 4 x 30 = 241) + 30 estimated = 154 > 37.
    found = {w.code: w for w in mb.check_billing_sufficiency(bills, temps, *edges[::13])}
    assert found["mv.sufficiency.too_many_missing"].data["missing_days"] == 154
    assert found["mv.sufficiency.too_many_missing"].data["estimated_days"] == 30
    # Gas: a zero bill is data (§2.2.1.4 is for electricity).
    gas, _ = mb.billing_periods(bills, temps, fuel="gas")
    assert gas.status.iloc[5] == "used"


def test_one_missing_bill_is_sufficient_two_are_not(
    bills: pd.DataFrame, temperature: pd.Series
) -> None:
    # CalTRACK 2.0 §2.2.1.2: at most 37 of 365 days missing, for billing data too.
    year = bills.iloc[:12]
    assert mb.check_billing_sufficiency(year, temperature, "2023-01-01", "2024-01-01") == []
    one = year.drop(index=[4])  # May: 31 days missing
    assert mb.check_billing_sufficiency(one, temperature, "2023-01-01", "2024-01-01") == []
    two = year.drop(index=[4, 9])  # + October: 62 days
    with pytest.raises(
        mv.InsufficientDataError,
        match=r"not sufficient for a CalTRACK 2\.0 billing model: .*62 of 365 baseline days.*"
        r"strict=False.*check_billing_sufficiency",
    ) as info:
        mb.fit_billing_baseline(two, temperature)
    assert isinstance(info.value, CarbonError) and isinstance(info.value, ValueError)
    model = mb.fit_billing_baseline(two, temperature, strict=False)
    assert "mv.sufficiency.too_many_missing" in codes(model.warnings)
    assert model.n_periods == 10


def test_reporting_rules_combine_off_cycle_and_flag_long_periods(
    bills: pd.DataFrame, temperature: pd.Series, result: mv.SavingsResult
) -> None:
    # Reporting 2024 with a 10-day off-cycle read (Jan 1-11) and January 11-February 1 as the
    # next read: they are combined into one 31-day period (CalTRACK 2.0 §3.5.5.3). A
    # 36-day period (Nov 1 - Dec 7) is kept but flagged for review (§3.5.5.4); the next one
    # (Dec 7 - Jan 1) has 25 days, not off-cycle.
    after = bills.iloc[12:].reset_index(drop=True)
    january = after.iloc[0]
    split = pd.DataFrame(
        {
            "start": [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-11")],
            "end": [pd.Timestamp("2024-01-11"), pd.Timestamp("2024-02-01")],
            "usage_kwh": [january.usage_kwh * 10 / 31, january.usage_kwh * 21 / 31],
        }
    )
    late = after.iloc[10:].copy()
    late.loc[late.index[0], "end"] = pd.Timestamp("2024-12-07")
    late.loc[late.index[1], "start"] = pd.Timestamp("2024-12-07")
    reporting = pd.concat([split, after.iloc[1:10], late], ignore_index=True)
    model = result.model
    assert isinstance(model, mb.BillingModel)
    again = mb.billing_savings(model, reporting, temperature)
    assert again.periods.days.tolist()[0] == 31 and again.periods.reads.tolist()[0] == 2
    assert again.periods.review.tolist()[-2:] == [True, False]
    assert {"mv.billing.combined", "mv.billing.long_period"} <= codes(again.warnings)
    # January as one 31-day period is the January bill again: the same AEU, 111.6 kWh.
    assert again.periods.avoided_kwh.iloc[0] == pytest.approx(111.6)
    # The whole year still adds up: the November/December split changes only how use is
    # spread; AEU = predicted - observed over the same days = 1,025 kWh.
    assert again.avoided_kwh == pytest.approx(1025.0)


def test_bills_over_the_edges_are_left_out(bills: pd.DataFrame, temperature: pd.Series) -> None:
    # A baseline window 2023-01-15..2024-01-15 cuts the January 2023 and January 2024 bills
    # (CalTRACK 2.0 §2.2.5): 11 bills (334 days) remain, 31 days missing <= 37.
    periods, warnings = mb.billing_periods(bills, temperature, start="2023-01-15", end="2024-01-15")
    assert periods.status.tolist() == ["outside"] + ["used"] * 11 + ["outside"]
    assert "mv.billing.outside" in codes(warnings)
    model = mb.fit_billing_baseline(
        bills, temperature, baseline_start="2023-01-15", baseline_end="2024-01-15"
    )
    assert model.n_periods == 11 and model.n_days == 334


def test_bimonthly_bills() -> None:
    # Six two-month bills of 2023 (59-61 days) are bimonthly (median > 45 days); a 75-day
    # period is over the 70-day limit and dropped (CalTRACK 2.0 §2.2.3.5).
    edges = ["2023-01-01", "2023-03-01", "2023-05-01", "2023-07-01", "2023-09-01", "2023-11-01"]
    bills = pd.DataFrame({"start": edges, "end": [*edges[1:], "2024-01-01"], "usage_kwh": 600.0})
    temps = pd.Series(15.0, index=pd.date_range("2023-01-01", "2023-12-31", freq="D"))
    periods, _ = mb.billing_periods(bills, temps)
    assert periods.attrs["cycle"] == "bimonthly" and set(periods.status) == {"used"}
    longer = bills.copy()
    longer.loc[4, "end"] = "2023-11-15"  # 75 days
    longer.loc[5, "start"] = "2023-11-15"
    periods, warnings = mb.billing_periods(longer, temps, cycle="bimonthly")
    assert periods.status.tolist()[4] == "too_long"
    assert "mv.billing.too_long" in codes(warnings)
    # As monthly bills every 61-day period is too long.
    periods, _ = mb.billing_periods(bills, temps, cycle="monthly")
    assert set(periods.status) == {"too_long"}


def test_gas_bills_have_no_cooling_candidates(bills: pd.DataFrame, temperature: pd.Series) -> None:
    # CalTRACK 2.0 §3.2.1.1: no CDD models for natural gas. The constructed bills depend on
    # CDD24 in summer, so the gas fit can only use HDD (and is worse).
    model = mb.fit_billing_baseline(bills.iloc[:12], temperature, fuel="gas")
    assert set(model.candidates.model_type) == {"intercept_only", "hdd_only"}
    assert model.segment.cooling_balance_point is None


# --- reads, errors --------------------------------------------------------------------------------


def test_bills_from_readings_dates_reads_in_the_meter_zone() -> None:
    # Register deltas read at 10:00 Shanghai time (02:00 UTC): the bill runs from the read's
    # local day to the next read's local day; an estimated read keeps its flag.
    stamps = pd.to_datetime(["2024-01-15 02:00", "2024-02-15 02:00", "2024-03-15 02:00"], utc=True)
    frame = pd.DataFrame(
        {
            "meter_id": "E-1",
            "ts_start": stamps[:-1],
            "ts_end": stamps[1:],
            "amount": [310.0, 290.0],
            "quality": ["measured", "estimated"],
        }
    )
    bills = mb.bills_from_readings(frame, "E-1")
    assert bills.start.dt.strftime("%Y-%m-%d").tolist() == ["2024-01-15", "2024-02-15"]
    assert bills.end.dt.strftime("%Y-%m-%d").tolist() == ["2024-02-15", "2024-03-15"]
    assert bills.estimated.tolist() == [False, True] and bills.attrs["meter_ids"] == ["E-1"]
    with pytest.raises(mv.MvError, match=r"no reads for meter 'E-2'"):
        mb.bills_from_readings(frame, "E-2")
    with pytest.raises(mv.MvError, match=r"lacks columns \['ts_end'\]"):
        mb.bills_from_readings(frame.drop(columns="ts_end"), "E-1")


def test_malformed_bills_are_refused_with_the_offending_bill(temperature: pd.Series) -> None:
    good = month_bills(2023, [10.0] * 12)
    with pytest.raises(mv.MvError, match=r"lack columns \['usage_kwh'\]; a bill has start"):
        mb.fit_billing_baseline(good.drop(columns="usage_kwh"), temperature)
    overlap = good.copy()
    overlap.loc[1, "start"] = pd.Timestamp("2023-01-20")
    with pytest.raises(
        mv.MvError, match=r"2023-01-01\.\.2023-02-01 and 2023-01-20\.\.2023-03-01 overlap"
    ):
        mb.billing_periods(overlap)
    backwards = good.copy()
    backwards.loc[0, "end"] = pd.Timestamp("2022-12-01")
    with pytest.raises(mv.MvError, match=r"2023-01-01\.\.2022-12-01 does not end after it starts"):
        mb.billing_periods(backwards)
    timed = good.assign(start=good.start + pd.Timedelta(hours=10))
    with pytest.raises(mv.MvError, match=r"bills\.start must hold local dates without time"):
        mb.billing_periods(timed)
    with pytest.raises(mv.MvError, match=r"cycle must be 'auto', 'monthly' or 'bimonthly'"):
        mb.billing_periods(good, cycle="weekly")  # type: ignore[arg-type]
    with pytest.raises(mv.MvError, match=r"fuel must be 'electricity' or 'gas'"):
        mb.fit_billing_baseline(good, temperature, fuel="steam")  # type: ignore[arg-type]
    with pytest.raises(mv.MvError, match=r"only 3 usable billing periods"):
        mb.fit_billing_baseline(good.iloc[:3], temperature, strict=False)


def test_no_countable_reporting_bill_is_an_error(
    result: mv.SavingsResult, temperature: pd.Series
) -> None:
    model = result.model
    assert isinstance(model, mb.BillingModel)
    zero = month_bills(2024, [0.0] * 12)
    with pytest.raises(
        mv.MvError, match=r"no reporting bill in 2024-01-01\.\.2025-01-01 can be counted"
    ):
        mb.billing_savings(model, zero, temperature)


def test_monthly_reads_are_refused_by_the_daily_method_and_fit_by_the_billing_one(
    bills: pd.DataFrame, temperature: pd.Series
) -> None:
    # The starting point: 12 monthly reads are "too many missing" for a daily model.
    as_days = pd.Series(
        bills.usage_kwh.iloc[:12].to_numpy(), index=pd.DatetimeIndex(bills.start.iloc[:12])
    )
    with pytest.raises(mv.InsufficientDataError, match=r"daily model.*too_many_missing"):
        mv.fit_baseline(
            as_days, temperature, baseline_start="2023-01-01", baseline_end="2024-01-01"
        )
    assert mb.fit_billing_baseline(bills.iloc[:12], temperature).model_type == "hdd_cdd"


def test_summary_names_the_method(result: mv.SavingsResult) -> None:
    summary = result.model.summary()
    assert summary["method"].startswith("CalTRACK 2.0 billing")
    assert summary["n_periods"] == 12 and summary["cycle"] == "monthly"
    assert math.isclose(summary["cvrmse"], 0.0179656, abs_tol=1e-7)
