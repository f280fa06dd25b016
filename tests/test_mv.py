"""Tests of carbon.mv: CalTRACK daily baselines, G14 metrics and uncertainty, sufficiency,
and the recovery of savings injected into synthetic meter data."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import write_office_twin

from carbon import mv
from carbon.climate import synthetic_daily_temperature
from carbon.errors import CarbonError
from carbon.factors import load_factor_set
from carbon.gpc import classify
from carbon.ledger import build_ledger
from carbon.store import Store
from carbon.synth import SynthResult, generate
from carbon.twin import Twin, load_twin
from carbon.warnings import QualityError

BASELINE = ("2023-01-01", "2024-01-01")  # 365 days


def days(start: str, end: str) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="D", inclusive="left", name="date")


def codes(warnings: list) -> set[str]:
    return {w.code for w in warnings}


@pytest.fixture(scope="module")
def weather() -> pd.Series:
    """A seeded synthetic Shanghai daily-mean series, 2023-2024 [degC]."""
    return synthetic_daily_temperature("2023-01-01", "2025-01-01", seed=11)


def truth_usage(
    temps: pd.Series, mu: float, beta_h: float, beta_c: float, bp_h: float, bp_c: float
) -> pd.Series:
    """usage = mu + beta_H * HDD(bp_h) + beta_C * CDD(bp_c), the CalTRACK model (§3.3.2)."""
    t = temps.to_numpy()
    values = mu + beta_h * np.maximum(bp_h - t, 0) + beta_c * np.maximum(t - bp_c, 0)
    return pd.Series(values, index=temps.index, name="usage_kwh")


# --- design matrix and metrics: hand examples --------------------------------------------------


def test_design_matrix_hand_example() -> None:
    # CalTRACK 2.0 §3.3.4-3.3.5 by hand: HDD = max(18 - T, 0), CDD = max(T - 26, 0).
    temps = pd.Series([10.0, 18.0, 26.0, 30.0, np.nan], index=days("2024-01-01", "2024-01-06"))
    x = mv.design_matrix(temps, 18.0, 26.0)
    assert list(x.columns) == ["intercept", "hdd", "cdd"]
    assert x["intercept"].tolist() == [1.0] * 5
    assert x["hdd"].tolist()[:4] == [8.0, 0.0, 0.0, 0.0]
    assert x["cdd"].tolist()[:4] == [0.0, 0.0, 0.0, 4.0]
    assert np.isnan(x["hdd"].iloc[4]) and np.isnan(x["cdd"].iloc[4])
    assert list(mv.design_matrix(temps, heating_balance_point=15.0).columns) == ["intercept", "hdd"]


def test_design_matrix_refuses_crossed_balance_points() -> None:
    with pytest.raises(mv.MvError, match=r"cooling balance point 15.0 degC is below .*§3\.2\.2\.1"):
        mv.design_matrix(pd.Series([20.0]), 18.0, 15.0)


def test_cvrmse_and_nmbe_hand_example() -> None:
    # G14 Annex B definitions with n - p. y = 10, 12, 14, 16 (mean 13), p = 2.
    # Unbiased: yhat = 11, 11, 15, 15 -> residuals -1, 1, -1, 1: SS = 4, RMSE = sqrt(4/2),
    # CV = 1.41421 / 13 = 0.108786; NMBE = 0 / (2 * 13) = 0.
    y = [10.0, 12.0, 14.0, 16.0]
    assert mv.cvrmse(y, [11, 11, 15, 15], 2) == pytest.approx(0.108786, abs=1e-6)
    assert mv.nmbe(y, [11, 11, 15, 15], 2) == pytest.approx(0.0, abs=1e-15)
    # Biased low: yhat = 9, 11, 13, 15 -> residuals all +1: CV the same, NMBE = 4 / 26.
    assert mv.cvrmse(y, [9, 11, 13, 15], 2) == pytest.approx(0.108786, abs=1e-6)
    assert mv.nmbe(y, [9, 11, 13, 15], 2) == pytest.approx(0.153846, abs=1e-6)
    # NaN pairs are skipped: with p = 1 the same three pairs give SS = 3, sqrt(3/2)/12.
    assert mv.cvrmse([10, 12, np.nan, 14], [11, 11, 5, 15], 1) == pytest.approx(
        math.sqrt(1.5) / 12.0
    )


def test_metrics_refuse_too_few_points() -> None:
    with pytest.raises(mv.MvError, match=r"2 points cannot support 2 parameters"):
        mv.cvrmse([1.0, 2.0], [1.0, 2.0], 2)
    with pytest.raises(mv.MvError, match=r"differ in length"):
        mv.nmbe([1.0, 2.0, 3.0], [1.0, 2.0], 1)


def test_savings_uncertainty_hand_example() -> None:
    # G14 Annex B form with the Sun & Baltazar daily correction (eemeter _compute_fsu_error):
    # n = 365, p = 3, m = 366, CV = 0.10, E_pred = 100,000 kWh, rho = 0, 90 %:
    # t(0.95, 362) = 1.649074; M = 366/30 = 12.2 months;
    # Y = -0.00024 * 12.2^2 + 0.03535 * 12.2 + 1.00286 = 1.398408;
    # sqrt((365/365) * (1 + 2/365) / 366) = 0.0524138;
    # U = 1.649074 * 1.398408 * 0.10 * 100,000 * 0.0524138 = 1,208.70 kWh.
    args = {
        "cvrmse": 0.10,
        "predicted_total": 100_000.0,
        "n_baseline": 365,
        "n_parameters": 3,
        "n_reporting": 366,
    }
    assert mv.savings_uncertainty(**args, confidence=0.90) == pytest.approx(1208.70, abs=0.01)
    # rho = 0.5 -> n' = 365/3: sqrt(3 * (1 + 2/121.667) / 366) = 0.0912768 -> 2,104.92 kWh.
    assert mv.savings_uncertainty(**args, autocorrelation=0.5) == pytest.approx(2104.92, abs=0.01)
    # 68 %: t(0.84, 362) = 0.995826 -> 729.90 kWh.
    assert mv.savings_uncertainty(**args, confidence=0.68) == pytest.approx(729.90, abs=0.01)
    # Negative autocorrelation is taken as 0 (n' never exceeds n).
    assert mv.savings_uncertainty(**args, autocorrelation=-0.4) == pytest.approx(1208.70, abs=0.01)
    with pytest.raises(mv.MvError, match=r"confidence must be in \(0, 1\)"):
        mv.savings_uncertainty(**args, confidence=90)
    with pytest.raises(mv.MvError, match=r"need m > 0 reporting days"):
        mv.savings_uncertainty(**{**args, "n_reporting": 0})


# --- fitting: recovery on noiseless data ---------------------------------------------------------


def test_fit_recovers_known_parameters_on_noiseless_data(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    usage = truth_usage(temps, mu=1000.0, beta_h=40.0, beta_c=120.0, bp_h=15.0, bp_c=24.0)
    model = mv.fit_baseline(usage, weather, baseline_start=BASELINE[0], baseline_end=BASELINE[1])
    (segment,) = model.segments.values()
    assert segment.model_type == "hdd_cdd"
    assert (segment.heating_balance_point, segment.cooling_balance_point) == (15.0, 24.0)
    assert segment.intercept == pytest.approx(1000.0, rel=1e-9)
    assert segment.beta_heating == pytest.approx(40.0, rel=1e-9)
    assert segment.beta_cooling == pytest.approx(120.0, rel=1e-9)
    assert model.r2 == pytest.approx(1.0, abs=1e-12)
    assert model.cvrmse == pytest.approx(0.0, abs=1e-9)
    assert (model.n_days, model.n_parameters) == (365, 3)
    # The prediction is the model itself, for any weather.
    later = weather["2024-01-01":"2024-12-31"]
    expected = truth_usage(later, 1000.0, 40.0, 120.0, 15.0, 24.0)
    np.testing.assert_allclose(model.predict(later), expected, rtol=1e-9)


def test_fit_recovers_weekday_and_weekend_models(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    weekday = truth_usage(temps, 3000.0, 50.0, 400.0, 18.0, 26.0)
    weekend = truth_usage(temps, 1200.0, 10.0, 80.0, 16.0, 27.0)
    usage = weekday.where(temps.index.day_of_week < 5, weekend)
    model = mv.fit_baseline(usage, temps, day_types="weekday_weekend")
    wd, we = model.segments["weekday"], model.segments["weekend"]
    assert (wd.heating_balance_point, wd.cooling_balance_point) == (18.0, 26.0)
    assert (we.heating_balance_point, we.cooling_balance_point) == (16.0, 27.0)
    assert (wd.intercept, wd.beta_heating, wd.beta_cooling) == pytest.approx((3000, 50, 400))
    assert (we.intercept, we.beta_heating, we.beta_cooling) == pytest.approx((1200, 10, 80))
    assert model.n_parameters == 6
    # A single CalTRACK 2.0 model misses the weekly pattern and says so.
    single = mv.fit_baseline(usage, temps)
    assert "mv.model.day_type_pattern" in codes(single.warnings)
    assert single.cvrmse > 0.2


def test_heating_only_data_select_hdd_only(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    model = mv.fit_baseline(truth_usage(temps, 500.0, 25.0, 0.0, 12.0, 30.0), temps)
    (segment,) = model.segments.values()
    assert segment.model_type == "hdd_only"
    assert segment.heating_balance_point == 12.0 and segment.cooling_balance_point is None


def test_negative_slopes_never_qualify(weather: pd.Series) -> None:
    # Usage falling as it gets hot (beta_C < 0) cannot qualify (CalTRACK 2.0 §3.4.3.2).
    temps = weather["2023-01-01":"2023-12-31"]
    usage = 2000.0 - 30.0 * np.maximum(temps - 20.0, 0.0)
    model = mv.fit_baseline(usage, temps)
    table = model.candidates
    fitted = table[table.reason != "too_few_degree_days"]
    assert (fitted.loc[fitted.qualified, "beta_cooling"].fillna(1) >= 0).all()
    assert (fitted[~fitted.qualified].reason == "non_positive_estimate").any()
    assert model.segments["all"].model_type in ("intercept_only", "hdd_only")
    assert all(
        table.loc[table.model_type == "hdd_cdd", "cooling_balance_point"]
        >= table.loc[table.model_type == "hdd_cdd", "heating_balance_point"]
    )


def test_usage_falling_both_ways_falls_back_to_intercept_only(weather: pd.Series) -> None:
    # Use falls below 12 degC and above 22 degC: on grids of 8-14 and 20-26 degC every
    # degree-day slope comes out negative, so only the mean qualifies (CalTRACK 2.0 §3.4.3.2),
    # and the model says so.
    temps = weather["2023-01-01":"2023-12-31"]
    usage = 1000.0 - 10.0 * np.maximum(12.0 - temps, 0) - 10.0 * np.maximum(temps - 22.0, 0)
    model = mv.fit_baseline(
        usage,
        temps,
        heating_balance_points=np.arange(8.0, 15.0),
        cooling_balance_points=np.arange(20.0, 27.0),
    )
    assert model.segments["all"].model_type == "intercept_only"
    assert model.segments["all"].intercept == pytest.approx(usage.mean())
    assert {"mv.model.intercept_only", "mv.model.low_r2"} <= codes(model.warnings)


def test_optional_p_value_screen_removes_candidates(weather: pd.Series) -> None:
    # CalTRACK 2.0 dropped the 1.0 p-value screen; as an option it only ever removes candidates.
    temps = weather["2023-01-01":"2023-12-31"]
    rng = np.random.default_rng(3)
    usage = pd.Series(800.0 + rng.normal(0, 5, len(temps)), index=temps.index)
    free = mv.fit_baseline(usage, temps).candidates
    screened = mv.fit_baseline(usage, temps, max_p_value=0.10).candidates
    assert screened.qualified.sum() < free.qualified.sum()
    assert (screened.reason == "p_value").any()


def test_grid_too_coarse_is_refused(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    with pytest.raises(mv.MvError, match=r"step of 2\.00 K; CalTRACK 2\.0 §3\.2\.3"):
        mv.fit_baseline(usage, temps, heating_balance_points=[10.0, 12.0, 14.0])
    with pytest.raises(mv.MvError, match=r"day_types must be 'all' or 'weekday_weekend'"):
        mv.fit_baseline(usage, temps, day_types="weekly")  # type: ignore[arg-type]


def test_temperature_in_fahrenheit_is_refused(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    with pytest.raises(mv.MvError, match=r"daily means in degC.*degF"):
        mv.fit_baseline(usage, temps * 1.8 + 32.0 + 20.0)


def test_predict_masks_days_without_temperature(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    model = mv.fit_baseline(truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0), temps)
    later = weather["2024-01-01":"2024-01-10"].copy()
    later.iloc[3] = np.nan
    predicted = model.predict(later)
    assert predicted.isna().tolist() == [False] * 3 + [True] + [False] * 6


# --- sufficiency (CalTRACK 2.0 §2.2) and the refusal ---------------------------------------------


def test_short_baseline_warns_too_short(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-10-27"]  # 300 days
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    found = mv.check_sufficiency(usage, temps, "2023-01-01", "2023-10-28")
    (short,) = [w for w in found if w.code == "mv.sufficiency.too_short"]
    assert short.data["days"] == 300 and short.data["clause"] == "CalTRACK 2.0 §2.2.1.1"


def test_fifteen_percent_missing_warns_too_many_missing(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    usage.iloc[::7] = np.nan  # 53 of 365 days = 14.5 %
    usage.iloc[1:4] = np.nan  # + 3 -> 56 days = 15.3 %
    found = {w.code: w for w in mv.check_sufficiency(usage, temps, *BASELINE)}
    assert "mv.sufficiency.too_many_missing" in found
    assert found["mv.sufficiency.too_many_missing"].data["missing_days"] == 56
    assert found["mv.sufficiency.too_many_missing"].data["allowed"] == 37


def test_thirty_seven_missing_days_are_allowed_thirty_eight_are_not(weather: pd.Series) -> None:
    # CalTRACK 2.0 §2.2.1.2: "should not exceed 37 days (10%)" of a 365-day baseline.
    temps = weather["2023-01-01":"2023-12-31"]
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    usage.iloc[100:137] = np.nan
    assert mv.check_sufficiency(usage, temps, *BASELINE) == []
    usage.iloc[137] = np.nan
    assert codes(mv.check_sufficiency(usage, temps, *BASELINE)) == {
        "mv.sufficiency.too_many_missing"
    }


def test_missing_temperature_is_reported_and_counted(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"].copy()
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    temps.iloc[200:240] = np.nan  # 40 days
    found = {w.code: w for w in mv.check_sufficiency(usage, temps, *BASELINE)}
    assert found["mv.temperature.missing"].data["days"] == 40
    assert found["mv.sufficiency.too_many_missing"].data["missing_temperature_days"] == 40


def test_negative_and_extreme_usage_are_flagged(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    usage.iloc[5] = -10.0
    usage.iloc[6] = 50_000.0
    found = codes(mv.check_sufficiency(usage, temps, *BASELINE))
    assert {"mv.usage.negative", "mv.usage.extreme"} <= found


def test_fit_refuses_insufficient_data_unless_told(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-10-27"]
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    with pytest.raises(
        mv.InsufficientDataError,
        match=r"Baseline 2023-01-01\.\.2023-10-28 is not sufficient .*mv\.sufficiency\.too_short"
        r".*300 days.*strict=False",
    ) as info:
        mv.fit_baseline(usage, temps)
    assert isinstance(info.value, CarbonError) and isinstance(info.value, ValueError)
    assert isinstance(info.value, QualityError)
    assert codes(info.value.warnings) == {"mv.sufficiency.too_short"}
    model = mv.fit_baseline(usage, temps, strict=False)
    assert "mv.sufficiency.too_short" in codes(model.warnings)
    assert model.segments["all"].heating_balance_point == 12.0


# --- daily usage from interval readings ----------------------------------------------------------


def hourly(meter: str, start: str, hours: int, kwh: float = 1.0) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=hours, freq="h", tz="Asia/Shanghai")
    return pd.DataFrame(
        {
            "meter_id": meter,
            "ts_start": stamps.tz_convert("UTC"),
            "ts_end": (stamps + pd.Timedelta("1h")).tz_convert("UTC"),
            "amount": kwh,
            "quality": "measured",
        }
    )


def test_daily_usage_hand_example() -> None:
    full = hourly("E-1", "2024-01-01", 24, 2.0)  # day 1: 24 x 2 kWh = 48
    half = hourly("E-1", "2024-01-02", 12, 3.0)  # day 2: 12 of 24 h -> 24 x 3 = 72 (§2.2.2.1)
    few = hourly("E-1", "2024-01-03", 11, 3.0)  # day 3: 11 of 24 h -> missing
    zero = hourly("E-1", "2024-01-04", 24, 0.0)  # day 4: zero electricity -> missing (§2.2.1.4)
    est = hourly("E-1", "2024-01-05", 24, 1.0).assign(quality="estimated")  # gap-filled
    other = hourly("E-2", "2024-01-01", 24 * 5, 0.5)  # a second meter, 12 kWh a day
    frame = pd.concat([full, half, few, zero, est, other])
    usage = mv.daily_usage(frame, ["E-1", "E-2"], start="2024-01-01", end="2024-01-07")
    assert usage.index[0] == pd.Timestamp("2024-01-01") and usage.name == "usage_kwh"
    assert usage.iloc[:2].tolist() == [60.0, 84.0]
    assert usage.iloc[2:].isna().all()  # day 6 has no readings at all
    assert usage.attrs["filled_days"] == 1
    assert mv.daily_usage(frame, "E-2").tolist() == [12.0] * 5
    assert mv.daily_usage(frame, "E-1", include_estimated=True).iloc[4] == 24.0
    assert np.isnan(mv.daily_usage(frame, "E-1", min_interval_fraction=1.0).iloc[1])
    assert mv.daily_usage(frame, "E-1", zero_is_missing=False).iloc[3] == 0.0


def test_daily_usage_splits_days_at_local_midnight() -> None:
    # 2024-01-01 16:00 UTC is midnight of 2024-01-02 in Shanghai (UTC+8).
    stamps = pd.date_range("2024-01-01 16:00", periods=24, freq="h", tz="UTC")
    frame = pd.DataFrame({"meter_id": "E-1", "ts_start": stamps, "amount": 1.0})
    usage = mv.daily_usage(frame, "E-1")
    assert usage.index.tolist() == [pd.Timestamp("2024-01-02")]
    assert usage.iloc[0] == 24.0


def test_daily_usage_counts_true_dst_days() -> None:
    # America/Chicago: 2024-03-10 has 23 hours (clocks forward), 2024-11-03 has 25 (back).
    # One kWh an hour, read as UTC instants: the days sum 23 and 25 kWh, complete, not filled
    # up to 24 hours or cut to 24.
    for day, hours in (("2024-03-10", 23), ("2024-11-03", 25)):
        start = pd.Timestamp(day, tz="America/Chicago")
        stamps = pd.date_range(start, periods=hours, freq="h").tz_convert("UTC")
        frame = pd.DataFrame({"meter_id": "E-1", "ts_start": stamps, "amount": 1.0})
        usage = mv.daily_usage(frame, "E-1", tz="America/Chicago")
        assert usage.index.tolist() == [pd.Timestamp(day)]
        assert usage.iloc[0] == float(hours) and usage.attrs["filled_days"] == 0
    # Naive local stamps are ambiguous in the repeated hour: refused, with the way out.
    naive = pd.DataFrame(
        {
            "meter_id": "E-1",
            "ts_start": pd.to_datetime(
                ["2024-11-03 00:00", "2024-11-03 01:00", "2024-11-03 01:00"]
            ),
            "amount": 1.0,
        }
    )
    with pytest.raises(mv.MvError, match=r"ts_start holds naive local times .* America/Chicago"):
        mv.daily_usage(naive, "E-1", tz="America/Chicago")


def test_daily_temperature_dst_days_have_23_and_25_hours() -> None:
    # Hourly temperatures rising 1 degC per hour from 0 at local midnight (UTC-indexed). Over
    # a 25-hour day (2024-11-03, America/Chicago) the hours are 0..24: mean 12.0. Splitting
    # on wall-clock hours instead drops the repeated 01:00 (mean of 0, 1, 3..24 = 12.42).
    # Over a 23-hour day (2024-03-10) the hours are 0..22: mean 11.0 (a wall-clock split
    # invents a 02:00 hour by interpolation).
    for day, hours, mean in (("2024-11-03", 25, 12.0), ("2024-03-10", 23, 11.0)):
        start = pd.Timestamp(day, tz="America/Chicago")
        stamps = pd.date_range(start, periods=hours, freq="h").tz_convert("UTC")
        hourly_t = pd.Series(np.arange(float(hours)), index=stamps)
        daily = mv.daily_temperature(hourly_t, tz="America/Chicago")
        assert daily.index.tolist() == [pd.Timestamp(day)]
        assert daily.iloc[0] == pytest.approx(mean)
        assert mv.attached_warnings(daily) == []


def test_utc_index_warns_and_the_meter_zone_splits_at_local_midnight() -> None:
    # Each UTC day has one value: 2024-01-01 (UTC) = 0 degC, 2024-01-02 = 24, 2024-01-03 = 48
    # (a hand pattern, not weather). Split at UTC midnight the means are 0, 24, 48, with the
    # warning. Shanghai's 2024-01-02 runs from 16:00 UTC on 1 January: 8 hours at 0 and 16 at
    # 24 -> mean 16; its 2024-01-03: 8 h at 24, 16 h at 48 -> 40 (CalTRACK 2.0 §3.3.3.5).
    stamps = pd.date_range("2024-01-01", periods=72, freq="h", tz="UTC")
    values = pd.Series(np.repeat([0.0, 24.0, 48.0], 24), index=stamps)
    split_utc = mv.daily_temperature(values)
    assert split_utc.tolist() == [0.0, 24.0, 48.0]
    (warning,) = mv.attached_warnings(split_utc)
    assert warning.code == "mv.temperature.utc_day_boundary"
    assert warning.data["clause"] == "CalTRACK 2.0 §3.3.3.5, §2.3.3"
    local = mv.daily_temperature(values, tz="Asia/Shanghai")
    assert local.loc["2024-01-02"] == pytest.approx(16.0)
    assert local.loc["2024-01-03"] == pytest.approx(40.0)
    assert mv.attached_warnings(local) == []
    # Shanghai's first and last local days are partial: 2024-01-01 has its last 16 hours
    # (from 08:00, i.e. 00:00 UTC) at 0 -> 0; 2024-01-04 only its first 8 -> below the 50 %
    # rule, missing (CalTRACK 2.0 §2.2.2.3).
    assert local.loc["2024-01-01"] == 0.0 and np.isnan(local.loc["2024-01-04"])
    # Europe/London is at UTC+0 in winter but is a place, not UTC: no warning.
    assert mv.attached_warnings(mv.daily_temperature(values.tz_convert("Europe/London"))) == []


def test_fit_and_savings_carry_the_utc_warning(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2024-12-31"]
    hourly_utc = pd.Series(
        np.repeat(temps.to_numpy(), 24),
        index=pd.date_range("2023-01-01", periods=24 * len(temps), freq="h", tz="UTC"),
    )
    daily = mv.load_temperature(mv.daily_temperature(hourly_utc))
    usage = truth_usage(daily["2023-01-01":"2023-12-31"], 500.0, 25.0, 50.0, 12.0, 26.0)
    model = mv.fit_baseline(usage, daily)
    assert "mv.temperature.utc_day_boundary" in codes(model.warnings)
    result = mv.savings(model, usage.set_axis(usage.index + pd.DateOffset(years=1)), daily)
    assert [w.code for w in result.warnings].count("mv.temperature.utc_day_boundary") == 1


def test_load_temperature_reads_changing_offsets_as_instants(tmp_path: Path) -> None:
    # An hourly CSV across the Chicago fall-back with ISO 8601 offsets (-05:00, then -06:00):
    # read as instants and split on true local days with tz: 2024-11-03 has 25 hours.
    start = pd.Timestamp("2024-11-03", tz="America/Chicago")
    stamps = pd.date_range(start, periods=25, freq="h")
    path = tmp_path / "chicago.csv"
    pd.DataFrame(
        {"timestamp": [t.isoformat() for t in stamps], "temperature_degC": np.arange(25.0)}
    ).to_csv(path, index=False)
    assert mv.load_temperature(path, tz="America/Chicago").tolist() == [12.0]
    assert "mv.temperature.utc_day_boundary" in codes(
        mv.attached_warnings(mv.load_temperature(path))
    )


def test_calendar_months() -> None:
    assert mv.calendar_months("2023-01-01", "2024-01-01") == 12.0  # 365 days
    assert mv.calendar_months("2024-01-01", "2025-01-01") == 12.0  # 366 days
    assert mv.calendar_months("2023-03-01", "2024-02-29") == pytest.approx(11 + 28 / 29)
    assert mv.calendar_months("2024-01-31", "2024-02-29") == 1.0  # month-end step
    assert mv.calendar_months("2024-01-16", "2024-02-01") == pytest.approx(16 / 31)
    assert mv.calendar_months("2024-02-01", "2024-01-01") == 0.0


def test_a_365_day_reporting_year_is_twelve_months_for_g14() -> None:
    # ASHRAE G14: CV(RMSE) <= 20 % with under 12 months of reporting data, 25 % for 12-60.
    # 2023 (365 days) is 12 calendar months, not 365 / 30.44 = 11.99: the limit is 25 %.
    temps = synthetic_daily_temperature("2022-01-01", "2024-01-01", seed=4)
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    result = mv.verify(usage, temps, "2023-01-01")
    assert result.reporting_days == 365
    assert result.g14["reporting_months"] == 12.0 and result.g14["cvrmse_limit"] == 0.25
    short = mv.savings(
        result.model, usage, temps, reporting_start="2023-01-01", reporting_end="2023-12-31"
    )
    assert short.g14["cvrmse_limit"] == 0.20  # 11 months and 30 days


def test_daily_usage_errors() -> None:
    frame = hourly("E-1", "2024-01-01", 24)
    with pytest.raises(mv.MvError, match=r"lacks columns \['amount'\]"):
        mv.daily_usage(frame.drop(columns="amount"), "E-1")
    with pytest.raises(mv.MvError, match=r"duplicate reading for meter 'E-1'"):
        mv.daily_usage(pd.concat([frame, frame.iloc[:1]]), "E-1")
    with pytest.raises(mv.MvError, match=r"no readings for meters \['E-9'\]"):
        mv.daily_usage(frame, "E-9")
    with pytest.raises(mv.MvError, match=r"at least one meter id"):
        mv.daily_usage(frame, [])
    with pytest.raises(mv.MvError, match=r"interval 0 days 07:00:00 does not divide a day"):
        mv.daily_usage(frame, "E-1", interval="7h")


# --- temperature files -----------------------------------------------------------------------


def test_load_temperature_daily_csv_round_trip(tmp_path: Path, weather: pd.Series) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "date": weather.index.strftime("%Y-%m-%d"),
            "temperature_degC": weather.round(2).to_numpy(),
        }
    ).to_csv(path, index=False)
    loaded = mv.load_temperature(path)
    assert loaded.name == "temperature_degC" and len(loaded) == len(weather)
    np.testing.assert_allclose(loaded, weather.round(2))
    assert mv.load_temperature(weather).equals(weather.rename("temperature_degC"))


def test_load_temperature_hourly_csv_interpolates_short_gaps(tmp_path: Path) -> None:
    # Day 1: 0..23 degC with a 6-hour gap (h 5-10) -> interpolated, mean 11.5 (CalTRACK
    # 2.0 §2.2.4.1). Day 2: 10 degC with a 7-hour gap -> not interpolated, mean of the other 17
    # hours = 10. Day 3: only 11 hours present -> missing (more than 50 %, §2.2.2.3).
    stamps = pd.date_range("2024-01-01", periods=72, freq="h")
    values = np.r_[np.arange(24.0), np.full(24, 10.0), np.full(24, 5.0)]
    values[5:11] = np.nan
    values[24 + 3 : 24 + 10] = np.nan
    values[48 + 11 :] = np.nan
    path = tmp_path / "hourly.csv"
    pd.DataFrame(
        {"timestamp": stamps.strftime("%Y-%m-%d %H:%M"), "temperature_degC": values}
    ).to_csv(path, index=False)
    daily = mv.load_temperature(path)
    assert daily.iloc[0] == pytest.approx(11.5)
    assert daily.iloc[1] == pytest.approx(10.0)
    assert np.isnan(daily.iloc[2])


def test_load_temperature_epw(tmp_path: Path) -> None:
    # A two-day EnergyPlus weather file: hour-ending 1..24; day 1 at 4 degC, day 2 rising
    # 0..23 degC with one missing hour (99.9) interpolated -> means 4.0 and 11.5.
    header = [
        "LOCATION,Shanghai,SH,CHN,TEST,583670,31.17,121.43,8.0,7.0",
        "DESIGN CONDITIONS,0",
        "TYPICAL/EXTREME PERIODS,0",
        "GROUND TEMPERATURES,0",
        "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0",
        "COMMENTS 1,test",
        "COMMENTS 2,test",
        "DATA PERIODS,1,1,Data,Monday, 1/ 1,12/31",
    ]
    rows = []
    for day, temps in ((1, [4.0] * 24), (2, [float(h) for h in range(24)])):
        for hour, temp in enumerate(temps, start=1):
            value = 99.9 if (day == 2 and hour == 13) else temp
            fields = [2023, 1, day, hour, 0, "?", value] + [0] * 28
            rows.append(",".join(str(f) for f in fields))
    path = tmp_path / "shanghai.epw"
    path.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    daily = mv.load_temperature(path)
    assert daily.index.tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-01-02")]
    assert daily.tolist() == pytest.approx([4.0, 11.5])


def test_load_temperature_errors(tmp_path: Path) -> None:
    with pytest.raises(mv.TemperatureFileError, match=r"no such file"):
        mv.load_temperature(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("day,temp\n2024-01-01,5\n", encoding="utf-8")
    with pytest.raises(
        mv.TemperatureFileError,
        match=r"bad\.csv, field 'header': columns \['day', 'temp'\]; expected",
    ):
        mv.load_temperature(bad)
    fahrenheit = tmp_path / "f.csv"
    fahrenheit.write_text("date,temperature_degC\n2024-07-01,86.0\n", encoding="utf-8")
    with pytest.raises(mv.MvError, match=r"outside -60\.\.50 degC \(degF or K\?\)"):
        mv.load_temperature(fahrenheit)


# --- the uncertainty is honest: recovery over many seeded draws ----------------------------------


def test_savings_uncertainty_covers_the_truth_over_many_draws() -> None:
    # 40 draws of a CalTRACK-shaped building with 6 % daily noise and no intervention: the
    # measured "savings" are pure error; their z-scores against the G14 band should be ~N(0, 1).
    grid = np.arange(8.0, 29.0, 1.5)
    z = []
    for seed in range(40):
        temps = synthetic_daily_temperature("2023-01-01", "2025-01-01", seed=1000 + seed)
        rng = np.random.default_rng(seed)
        clean = truth_usage(temps, 1000.0, 30.0, 150.0, 15.5, 24.5)
        usage = clean * (1.0 + 0.06 * rng.standard_normal(len(clean)))
        result = mv.verify(
            usage,
            temps,
            "2024-01-01",
            heating_balance_points=grid,
            cooling_balance_points=grid,
            confidence=0.68,
        )
        z.append(result.avoided_kwh / result.uncertainty_kwh)  # 68 % band ~ one sigma
    z = np.array(z)
    assert 0.7 < z.std() < 1.3
    assert 0.5 <= np.mean(np.abs(z) <= 1.0) <= 0.9
    assert np.mean(np.abs(z) <= 1.645) >= 0.8


# --- end to end: synthetic meter with a true 15 % saving, through the store ---------------------

SAVING = {"E-KAIDIKE": [("2024-01-01", 0.85)]}  # a true 15 % saving from 2024
PERIOD = {"start": "2023-01-01", "end": "2025-01-01", "seed": 42}


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> Twin:
    """One office meter, sized like E-KAIDIKE of shimen_erlu (its synthetic values depend only
    on the seed, the meter id and the floor area, so they are the same as in the full twin)."""
    folder = write_office_twin(
        tmp_path_factory.mktemp("mini"),
        office="kaidike",
        meter="E-KAIDIKE",
        attributes='attributes = { floor_area = "30000 m2", floors = 22 }',
    )
    return load_twin(folder)


@pytest.fixture(scope="module")
def saved(mini: Twin, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return generate(mini, tmp_path_factory.mktemp("saved"), adjustments=SAVING, **PERIOD)


@pytest.fixture(scope="module")
def untouched(mini: Twin, tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return generate(mini, tmp_path_factory.mktemp("untouched"), **PERIOD)


@pytest.fixture(scope="module")
def store(mini: Twin, saved: SynthResult, tmp_path_factory: pytest.TempPathFactory):
    with Store(tmp_path_factory.mktemp("store") / "mv.duckdb") as s:
        s.sync_twin(mini)
        batch = s.ingest(saved.files["electricity"])
        assert batch.rejected == 0
        yield s


@pytest.fixture(scope="module")
def measured(store: Store, saved: SynthResult) -> mv.SavingsResult:
    usage = mv.daily_usage(store, ["E-KAIDIKE"], start="2023-01-01", end="2025-01-01")
    return mv.verify(usage, saved.temperature, "2024-01-01", day_types="weekday_weekend")


def test_end_to_end_recovers_the_injected_saving(
    measured: mv.SavingsResult, saved: SynthResult, untouched: SynthResult
) -> None:
    # Truth: the same seed without the adjustment has the same clean values (carbon.synth), so
    # the true saving is the difference of the two runs' totals (2023 is identical).
    true_kwh = untouched.totals.consumption.item() - saved.totals.consumption.item()
    assert true_kwh > 0
    low, high = measured.interval_kwh
    assert low <= true_kwh <= high, (measured.avoided_kwh, true_kwh, measured.uncertainty_kwh)
    # The share of the counterfactual saved is 15 % by construction (x 0.85 on every 2024
    # value); the recovered share lies within the same band.
    band = measured.uncertainty_kwh / measured.predicted_kwh
    assert abs(measured.savings_fraction - 0.15) <= band
    assert measured.confidence == 0.90 and measured.reporting_days == 366
    assert measured.model.n_days == 365 and measured.model.cvrmse < 0.10
    assert measured.g14_ok and measured.fsu < 0.10
    assert measured.monthly.shape[0] == 12 and measured.monthly.days.sum() == 366
    assert measured.monthly.avoided_kwh.sum() == pytest.approx(measured.avoided_kwh)
    summary = measured.model.summary()
    assert summary["ipmvp_option"] == "C" and summary["model_type"] == "hdd_cdd/hdd_cdd"
    assert list(measured.model.segments) == ["weekday", "weekend"]
    # Synthetic offices respond to HDD18 and CDD26 (carbon.synth): the weekday cooling balance
    # point is found at 26 degC.
    assert summary["cooling_balance_point_degC"]["weekday"] == 26.0


def test_end_to_end_finds_no_saving_when_none_was_injected(untouched: SynthResult) -> None:
    usage = mv.daily_usage(pd.read_csv(untouched.files["electricity"]), "E-KAIDIKE")
    result = mv.verify(usage, untouched.temperature, "2024-01-01", day_types="weekday_weekend")
    assert abs(result.avoided_kwh) <= result.uncertainty_kwh
    assert not result.g14["fsu_ok"]  # nothing to distinguish from noise
    assert "mv.g14.fsu_exceeded" in codes(result.warnings)


def test_single_caltrack_model_on_an_office_fails_g14_and_says_why(
    store: Store, saved: SynthResult
) -> None:
    usage = mv.daily_usage(store, "E-KAIDIKE")
    result = mv.verify(usage, mv.load_temperature(saved.files["temperature"]), "2024-01-01")
    assert result.model.cvrmse > 0.25 and not result.g14_ok
    assert {"mv.model.day_type_pattern", "mv.g14.cvrmse_exceeded"} <= codes(result.warnings)


def test_intervention_period_is_left_out(store: Store, saved: SynthResult) -> None:
    usage = mv.daily_usage(store, "E-KAIDIKE")
    result = mv.verify(
        usage,
        saved.temperature,
        "2024-01-01",
        intervention_end="2024-03-01",
        day_types="weekday_weekend",
    )
    assert result.reporting_start.isoformat() == "2024-03-01"
    assert result.reporting_days == 306
    assert result.monthly.period_start.iloc[0].isoformat() == "2024-03-01"


def test_verified_entries_enter_the_ledger_beside_emissions(
    measured: mv.SavingsResult, store: Store, mini: Twin
) -> None:
    factors = load_factor_set("shanghai-2022")
    gpc_ref = classify("electricity.grid", "office")
    entries = mv.verified_entries(
        "INT-KAIDIKE-01", "kaidike", "electricity.grid", gpc_ref, measured, factors, "CN-SH"
    )
    assert len(entries) == 12 and set(entries.kind) == {"avoided"}
    assert set(entries.notes) == {"ex_post intervention=INT-KAIDIKE-01"}
    assert set(entries.method) == {"location"}  # scope 2, as the ex-ante entries
    assert set(entries.factor_id) == {"sh-eeb-2022.electricity"}
    first = entries.iloc[0]
    # 0.42 kgCO2/kWh (Shanghai 2022 factor) x avoided kWh, rounded to the gram.
    assert first.co2e_kg == (first.amount * Decimal("0.42")).quantize(Decimal("0.001"))
    assert float(sum(entries.amount, Decimal(0))) == pytest.approx(measured.avoided_kwh, abs=1e-3)
    assert all(isinstance(v, Decimal) for v in entries.co2e_kg)

    ledger = build_ledger(store, mini, factors, "2024-01-01", "2025-01-01", extra_entries=entries)
    avoided = ledger.entries[ledger.entries.kind == "avoided"]
    emitted = ledger.entries[ledger.entries.kind == "emission"]
    assert len(avoided) == 12 and len(emitted) == 24  # 12 months x location and market
    assert sum(avoided.co2e_kg, Decimal(0)) == sum(entries.co2e_kg, Decimal(0))
    assert ledger.total("location") == pytest.approx(
        float(sum(emitted[emitted.method == "location"].co2e_kg, Decimal(0))) / 1000
    )

    verified_t = float(sum(entries.co2e_kg, Decimal(0))) / 1000.0
    assert mv.realisation_rate(verified_t / 0.8, verified_t) == pytest.approx(0.8)


def test_realisation_rate_refuses_a_non_positive_estimate() -> None:
    assert mv.realisation_rate(100.0, 85.0) == pytest.approx(0.85)
    with pytest.raises(mv.MvError, match=r"ex-ante estimate must be a positive number.*got 0"):
        mv.realisation_rate(0, 10.0)
    with pytest.raises(mv.MvError, match=r"verified value must be finite; got nan"):
        mv.realisation_rate(10.0, float("nan"))


def test_argument_errors_say_what_was_wrong(weather: pd.Series) -> None:
    temps = weather["2023-01-01":"2023-12-31"]
    usage = truth_usage(temps, 500.0, 25.0, 50.0, 12.0, 26.0)
    model = mv.fit_baseline(usage, temps)
    with pytest.raises(mv.MvError, match=r"no reporting day in 2024-01-01\.\.2024-02-01 has both"):
        mv.savings(model, usage, temps, reporting_start="2024-01-01", reporting_end="2024-02-01")
    with pytest.raises(mv.MvError, match=r"intervention_end 2023-12-01 is before"):
        mv.verify(usage, temps, "2024-01-01", intervention_end="2023-12-01")
    with pytest.raises(mv.MvError, match=r"usage must be indexed by local dates without a time"):
        mv.fit_baseline(usage.tz_localize("Asia/Shanghai"), temps)
    hourly_index = pd.date_range("2023-01-01", periods=len(usage), freq="h")
    with pytest.raises(mv.MvError, match=r"usage must be daily: its index has times"):
        mv.fit_baseline(pd.Series(usage.to_numpy(), index=hourly_index), temps)
    with pytest.raises(mv.MvError, match=r"baseline_start must be a local date without time"):
        mv.check_sufficiency(usage, temps, "2023-01-01 08:00", "2024-01-01")
    with pytest.raises(mv.MvError, match=r"no CalTRACK candidate qualifies for 'all' days"):
        mv.fit_baseline(-usage, temps)
