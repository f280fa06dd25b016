"""Measured savings from utility bills: the CalTRACK 2.0 billing method (IPMVP Option C).

Most Chinese homes and small shops are read once a month, some every two months: a bill gives
the use between two reads, not per day. The daily method of :mod:`carbon.mv` cannot use such
data (a month-long read is not a day, and twelve values are not 365). The billing method of
CalTRACK 2.0 models the *average use per day of a billing period* against the period's
*average heating and cooling degree days per day*, and fits by weighted least squares with
the period's days as weights. Savings follow per bill, ``AEU_p = n_p * (prediction - UPD_p)``.

Layers, as in :mod:`carbon.mv`:

* pure functions: :func:`billing_periods` (the CalTRACK rules that keep, combine or drop
  bills), :func:`billing_design_matrix` (degree days per period),
  :func:`check_billing_sufficiency`, :func:`bills_from_readings`;
* a container: :class:`BillingModel` (with per-day and per-period predictions), built once by
  :func:`fit_billing_baseline`;
* orchestrators: :func:`billing_savings` and :func:`verify_billing`, which return the
  :class:`carbon.mv.SavingsResult` of the daily method, so :func:`carbon.mv.verified_entries`
  turns bills into ledger entries the same way.

A bill runs over local dates ``[start, end)``: ``start`` is its first day and ``end`` the day
after its last, i.e. the date of the next read (a bill "1-31 January" has ``end`` 1 February).
Reads at some hour of the day are dated by the day they fall on (:func:`bills_from_readings`).

Clauses implemented
-------------------
CalTRACK Methods 2.0 (``openeemeter/caltrack``, ``docs/methods.rst``; docs/mv.md lists them
with the text they implement):

* §2.2.1.1 a 365-day baseline; §2.2.1.2 at most 37 days (10 %) missing, "for billing and daily
  methods": days of the baseline not covered by a kept bill are missing; §2.2.1.3 missing =
  NaN; §2.2.1.4 a zero electricity bill is missing (not for gas);
* §2.2.3.1 estimated reads are combined with the next read up to a 70-day period, and their
  days count as missing for sufficiency; §2.2.3.2 a period needs temperatures on 90 % of its
  days (daily means here; §2.2.3.3 for the hours behind each mean is
  :func:`carbon.mv.daily_temperature`); §2.2.3.4 off-cycle reads (< 25 days) are dropped;
  §2.2.3.5 periods over 35 days (monthly cycle) or 70 days (bimonthly) are dropped. The length
  rules apply to each read as read, before estimated reads are combined (as eemeter does);
* §2.2.5 bills that run over the edge of the baseline or reporting period are left out;
* §2.3.5 negative and §2.3.6 extreme use per day (median + 3 IQR) flagged;
* §3.2.1-3.2.3 the balance-point grid of :mod:`carbon.mv`; §3.2.2.2.1 the 10-day rule "does not
  apply when using billing data"; §3.2.2.2.2 at least 20 degF-days (11.1 K-days) per year,
  summed over the periods' days;
* §3.3.1.1 ``UPD_p`` = use / days; §3.3.4-3.3.5 ``HDD_p``, ``CDD_p`` = the mean over the
  period's days of the *daily* degree days (not the degree days of the period's mean
  temperature). Days without a temperature (at most 10 %, §2.2.3.2) are left out of the mean,
  as in eemeter; the clause's divisor is all days of the period, which is the same when none
  is missing;
* §3.4.2 weighted least squares with the days ``n_p`` as weights; §3.4.3 the four candidates,
  every estimate positive, the highest adjusted R^2 with P = billing periods (weighted sums, as
  statsmodels' WLS reports them);
* §3.5.5.1 estimated reads combined with the next in the reporting period; §3.5.5.2 the 90 %
  temperature rule; §3.5.5.3 off-cycle reads combined with the next up to 70 days; §3.5.5.4
  periods over 35 / 70 days flagged for review (kept);
* §3.6.1 ``AEU_p = n_p * (mu + beta_H*HDD_p + beta_C*CDD_p - UPD_p)``.

ASHRAE Guideline 14 (as in :mod:`carbon.mv`): CV(RMSE) and NMBE of the period *totals*
[kWh per bill] with n - p (n = baseline periods, p = parameters including the intercept);
the savings uncertainty of :func:`carbon.mv.savings_uncertainty` with n = baseline periods,
m = counted reporting periods and, in place of G14's empirical 1.26 for monthly data, the
monthly polynomial of Sun & Baltazar (2013) in the calendar months the counted bills span
(eemeter's billing branch; 1.306 at 12 months). The G14 CV(RMSE) limit is chosen by the
reporting period's calendar months (:func:`carbon.mv.calendar_months`).

Not done: the choice between a monthly and a bimonthly cycle when ``cycle="auto"`` is by the
median length of the reads (over 45 days = bimonthly; an ASSUMPTION, midway between 30 and 61
days); bills of several meters must be summed by the caller on common read dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from carbon.mv import (
    BASELINE_DAYS,
    DEFAULT_BALANCE_POINTS,
    MAX_MISSING_FRACTION,
    MIN_DEGREE_DAYS_PER_YEAR,
    SERIOUS_CODES,
    InsufficientDataError,
    MvError,
    SavingsResult,
    SegmentFit,
    _as_date,
    _check_temperature,
    _day_range,
    _in_zone,
    _model_warnings,
    attached_warnings,
    balance_point_grid,
    calendar_months,
    cvrmse,
    grid_search,
    nmbe,
    savings_result,
    usage_outliers,
)
from carbon.warnings import QualityWarning

if TYPE_CHECKING:
    from carbon.store import Store

__all__ = [
    "BILLING_CYCLES",
    "BIMONTHLY_MEDIAN_DAYS",
    "MAX_COMBINED_DAYS",
    "MIN_TEMPERATURE_COVERAGE",
    "SUN_BALTAZAR_MONTHLY",
    "BillingModel",
    "billing_design_matrix",
    "billing_periods",
    "billing_savings",
    "bills_from_readings",
    "check_billing_sufficiency",
    "fit_billing_baseline",
    "verify_billing",
]

Cycle = Literal["auto", "monthly", "bimonthly"]
Fuel = Literal["electricity", "gas"]
Role = Literal["baseline", "reporting"]

BILLING_CYCLES: dict[str, tuple[int, int]] = {"monthly": (25, 35), "bimonthly": (25, 70)}
"""Shortest and longest billing period kept in a baseline, by cycle [day]: off-cycle reads
under 25 days are dropped (CalTRACK 2.0 §2.2.3.4); periods over 35 days (pseudo-monthly
cycles) or 70 days (bimonthly cycles) are dropped (§2.2.3.5). eemeter's
``clean_caltrack_billing_data`` keeps 25-35 and 25-70 days, inclusive."""

MAX_COMBINED_DAYS = 70
"""Longest period an estimated (or, in the reporting period, off-cycle) read may be combined
into with the next read [day]: CalTRACK 2.0 §2.2.3.1, §3.5.5.1, §3.5.5.3."""

MIN_TEMPERATURE_COVERAGE = 0.90
"""Share of a billing period's days that need a daily mean temperature [dimensionless]:
CalTRACK 2.0 §2.2.3.2 and §3.5.5.2 ("must cover 90 % of each averaged billing period")."""

BIMONTHLY_MEDIAN_DAYS = 45
"""``cycle="auto"`` takes reads with a median length above this as bimonthly [day].
ASSUMPTION: midway between a month (30 days) and two (61); not a CalTRACK number."""

SUN_BALTAZAR_MONTHLY = (-0.00022, 0.03306, 0.94054)
"""Coefficients (a, b, c) of ``a*M^2 + b*M + c`` (M = reporting months) that replace G14's
1.26 for monthly data: Sun & Baltazar (2013), ASHRAE Trans. 119(1); values as in eemeter
``eemeter/derivatives.py`` ``_compute_fsu_error`` (billing branch; eemeter 2.x-3.x)."""

_MIN_PERIODS_TO_FIT = 4  # every candidate keeps at least one residual degree of freedom

_STATUS_TEXT = {
    "outside": "run over the period's edge and are left out (CalTRACK 2.0 §2.2.5)",
    "off_cycle": "are off-cycle reads under 25 days",
    "too_long": "are longer than the cycle allows",
    "estimated": "are estimated reads that could not be combined with a next read",
    "missing_usage": "have no usage (NaN, or zero electricity: CalTRACK 2.0 §2.2.1.3-4)",
    "no_temperature": "have temperatures on fewer than 90 % of their days",
}


# --- bills ------------------------------------------------------------------------------------


def _dates(column: pd.Series, what: str) -> pd.Series:
    try:
        stamps = pd.to_datetime(column)
    except (TypeError, ValueError) as exc:
        raise MvError(f"{what} must hold dates; {exc}") from None
    if stamps.dt.tz is not None or (stamps.notna() & (stamps != stamps.dt.normalize())).any():
        raise MvError(
            f"{what} must hold local dates without time or time zone; got e.g. "
            f"{column.iloc[0]!r} (see bills_from_readings for timestamped reads)"
        )
    if stamps.isna().any():
        raise MvError(f"{what} has an empty date in row {int(np.flatnonzero(stamps.isna())[0])}")
    return stamps


def _bills_frame(bills: Any, what: str = "bills") -> pd.DataFrame:
    """Validated bills: sorted, no duplicates or overlaps, with their days."""
    if not isinstance(bills, pd.DataFrame):
        raise MvError(f"{what} must be a DataFrame with start, end, usage_kwh; got {type(bills)!r}")
    missing = {"start", "end", "usage_kwh"} - set(bills.columns)
    if missing:
        raise MvError(
            f"{what} lack columns {sorted(missing)}; a bill has start (its first day), end (the "
            "day after its last, i.e. the next read's date) and usage_kwh [kWh], optionally "
            "estimated (bool)"
        )
    frame = pd.DataFrame(
        {
            "start": _dates(bills["start"], f"{what}.start").to_numpy(),
            "end": _dates(bills["end"], f"{what}.end").to_numpy(),
            "usage_kwh": pd.to_numeric(bills["usage_kwh"], errors="coerce").astype(float),
            "estimated": (
                bills["estimated"].astype("boolean").fillna(False).astype(bool).to_numpy()
                if "estimated" in bills.columns
                else False
            ),
        }
    )
    frame = frame.sort_values("start", kind="stable").reset_index(drop=True)
    bad = frame[frame["end"] <= frame["start"]]
    if len(bad):
        row = bad.iloc[0]
        raise MvError(
            f"{what}: the bill {row['start'].date()}..{row['end'].date()} does not end after it "
            "starts; end is the day after the bill's last day"
        )
    if frame["start"].duplicated().any():
        day = frame.loc[frame["start"].duplicated(), "start"].iloc[0]
        raise MvError(f"{what}: two bills start on {day.date()}")
    overlap = frame["start"].iloc[1:].to_numpy() < frame["end"].iloc[:-1].to_numpy()
    if overlap.any():
        i = int(np.flatnonzero(overlap)[0])
        a, b = frame.iloc[i], frame.iloc[i + 1]
        raise MvError(
            f"{what}: the bills {a['start'].date()}..{a['end'].date()} and "
            f"{b['start'].date()}..{b['end'].date()} overlap"
        )
    frame["days"] = (frame["end"] - frame["start"]).dt.days.astype(int)
    return frame


def bills_from_readings(
    store_or_frame: Store | pd.DataFrame,
    meter_id: str,
    *,
    tz: str = "Asia/Shanghai",
) -> pd.DataFrame:
    """Bills from one meter's stored reads (e.g. monthly register reads turned into deltas).

    Parameters
    ----------
    store_or_frame : a :class:`carbon.store.Store` or a DataFrame with ``meter_id``,
        ``ts_start``, ``ts_end`` (tz-aware, or naive local time), ``amount`` [kWh] and
        optionally ``quality`` (``estimated`` marks an estimated read).
    meter_id : the meter.
    tz : the meter's time zone; a read is dated by the local day it falls on, so a read at
        10:00 on 15 March ends one bill and starts the next on that day.

    Returns
    -------
    pandas.DataFrame
        ``start``, ``end`` [local date], ``usage_kwh`` [kWh], ``estimated`` [bool], one row per
        read, as :func:`fit_billing_baseline` and :func:`billing_savings` take them.

    Raises
    ------
    MvError
        When the meter has no reads or the frame lacks the columns.
    """
    if isinstance(store_or_frame, pd.DataFrame):
        frame = store_or_frame
        missing = {"meter_id", "ts_start", "ts_end", "amount"} - set(frame.columns)
        if missing:
            raise MvError(
                f"readings frame lacks columns {sorted(missing)}; bills need meter_id, "
                "ts_start, ts_end and amount"
            )
        frame = frame[frame["meter_id"] == meter_id]
    else:
        frame = store_or_frame.readings(meter_id)
    if frame.empty:
        raise MvError(f"no reads for meter {meter_id!r}")
    start = _in_zone(pd.to_datetime(frame["ts_start"]), tz, "ts_start")
    end = _in_zone(pd.to_datetime(frame["ts_end"]), tz, "ts_end")
    quality = frame["quality"] if "quality" in frame.columns else pd.Series("", index=frame.index)
    bills = pd.DataFrame(
        {
            "start": start.dt.tz_localize(None).dt.normalize().to_numpy(),
            "end": end.dt.tz_localize(None).dt.normalize().to_numpy(),
            "usage_kwh": pd.to_numeric(frame["amount"], errors="coerce").astype(float).to_numpy(),
            "estimated": (quality == "estimated").to_numpy(),
        }
    )
    bills = bills.sort_values("start", kind="stable").reset_index(drop=True)
    bills.attrs = {"meter_ids": [meter_id]}
    return bills


def _resolve_cycle(frame: pd.DataFrame, cycle: str) -> str:
    if cycle not in ("auto", "monthly", "bimonthly"):
        raise MvError(f"cycle must be 'auto', 'monthly' or 'bimonthly'; got {cycle!r}")
    if cycle != "auto":
        return cycle
    median = float(frame["days"].median()) if len(frame) else 30.0
    return "bimonthly" if median > BIMONTHLY_MEDIAN_DAYS else "monthly"


def _listing(frame: pd.DataFrame) -> list[str]:
    return [f"{s.date()}..{e.date()}" for s, e in zip(frame["start"], frame["end"], strict=True)][
        :10
    ]


def billing_periods(
    bills: pd.DataFrame,
    temperature: pd.Series | None = None,
    *,
    start: Any = None,
    end: Any = None,
    cycle: Cycle = "auto",
    role: Role = "baseline",
    fuel: Fuel = "electricity",
) -> tuple[pd.DataFrame, list[QualityWarning]]:
    """The billing periods CalTRACK counts, and what happened to every other bill.

    Parameters
    ----------
    bills : ``start``, ``end`` [local date], ``usage_kwh`` [kWh], optionally ``estimated``.
    temperature : daily mean temperature [degC]; None skips the 90 % coverage rule.
    start, end : the baseline or reporting period ``[start, end)`` [local date]; default the
        span of the bills. Bills that run over either edge are left out (CalTRACK 2.0 §2.2.5).
    cycle : ``monthly`` (25-35 days), ``bimonthly`` (25-70) or ``auto`` (by the median read
        length, :data:`BIMONTHLY_MEDIAN_DAYS`).
    role : ``baseline`` (CalTRACK 2.0 §2.2.3: off-cycle and overlong reads dropped) or
        ``reporting`` (§3.5.5: off-cycle reads combined with the next, overlong ones flagged).
    fuel : ``electricity`` (a zero bill is missing, §2.2.1.4) or ``gas`` (zero is data).

    Returns
    -------
    (pandas.DataFrame, list of QualityWarning)
        One row per period after combining reads: ``start``, ``end`` [local date], ``days``
        [day], ``usage_kwh`` [kWh], ``usage_per_day_kwh`` [kWh / day], ``reads`` (reads
        combined), ``estimated_days`` (days of estimated reads in it) [day],
        ``temperature_days`` [day], ``review`` (a reporting period over the cycle's length,
        §3.5.5.4) and ``status``: ``used``, or why it is not: ``outside``, ``off_cycle``,
        ``too_long``, ``estimated``, ``missing_usage``, ``no_temperature``. The warnings name
        the rule behind each status (codes ``mv.billing.*``). ``attrs`` hold ``cycle``.

    Raises
    ------
    MvError
        For malformed bills (missing columns, overlaps, dates with a time or zone).
    """
    if role not in ("baseline", "reporting"):
        raise MvError(f"role must be 'baseline' or 'reporting'; got {role!r}")
    frame = _bills_frame(bills)
    first = pd.Timestamp(_as_date(start, "start")) if start is not None else frame["start"].min()
    last = pd.Timestamp(_as_date(end, "end")) if end is not None else frame["end"].max()
    if last <= first:
        raise MvError(f"empty period: end {last.date()} is not after start {first.date()}")
    frame = frame[(frame["end"] > first) & (frame["start"] < last)].reset_index(drop=True)
    inside = (frame["start"] >= first) & (frame["end"] <= last)
    cycle_name = _resolve_cycle(frame[inside], cycle)
    shortest, longest = BILLING_CYCLES[cycle_name]
    warnings: list[QualityWarning] = []

    status = np.where(inside, "", "outside").astype(object)
    if role == "baseline":
        status[(status == "") & (frame["days"] < shortest).to_numpy()] = "off_cycle"
        status[(status == "") & (frame["days"] > longest).to_numpy()] = "too_long"

    rows: list[dict[str, Any]] = []
    pending: list[int] = []  # reads waiting to be combined with the next one

    def emit(indices: list[int], why: str) -> None:
        part = frame.iloc[indices]
        rows.append(
            {
                "start": part["start"].iloc[0],
                "end": part["end"].iloc[-1],
                "usage_kwh": float(part["usage_kwh"].sum(min_count=len(part))),
                "reads": len(indices),
                "estimated_days": int(part.loc[part["estimated"], "days"].sum()),
                "status": why,
            }
        )

    def drop_pending() -> None:
        for j in pending:
            emit([j], "estimated" if frame["estimated"].iloc[j] else "off_cycle")
        pending.clear()

    for i in range(len(frame)):
        if status[i]:
            drop_pending()
            emit([i], str(status[i]))
            continue
        if pending:
            joined = frame["start"].iloc[i] == frame["end"].iloc[pending[-1]]
            span = (frame["end"].iloc[i] - frame["start"].iloc[pending[0]]).days
            if not joined or span > MAX_COMBINED_DAYS:
                drop_pending()
        group_start = frame["start"].iloc[pending[0]] if pending else frame["start"].iloc[i]
        span = (frame["end"].iloc[i] - group_start).days
        # An estimated read waits for the next one; in the reporting period so does a read
        # that (with the reads before it) is still off-cycle, under 25 days (§3.5.5.3).
        if frame["estimated"].iloc[i] or (role == "reporting" and span < shortest):
            pending.append(i)
            continue
        emit([*pending, i], "")
        pending.clear()
    drop_pending()

    periods = pd.DataFrame(
        rows, columns=["start", "end", "usage_kwh", "reads", "estimated_days", "status"]
    )
    periods = periods.astype(
        {
            "start": "datetime64[ns]",
            "end": "datetime64[ns]",
            "usage_kwh": float,
            "reads": int,
            "estimated_days": int,
            "status": object,
        }
    )
    periods["days"] = (periods["end"] - periods["start"]).dt.days.astype(int)
    periods["usage_per_day_kwh"] = periods["usage_kwh"] / periods["days"]
    open_ = periods["status"] == ""
    no_use = periods["usage_kwh"].isna() | ((periods["usage_kwh"] == 0) & (fuel == "electricity"))
    periods.loc[open_ & no_use, "status"] = "missing_usage"
    if temperature is not None and len(periods):
        temps = _check_temperature(temperature)
        present = _period_sums(temps.notna().astype(float), periods)
        periods["temperature_days"] = present.astype(int)
        short = periods["temperature_days"] < MIN_TEMPERATURE_COVERAGE * periods["days"] - 1e-9
        periods.loc[(periods["status"] == "") & short, "status"] = "no_temperature"
    else:
        periods["temperature_days"] = periods["days"]
    periods["review"] = (periods["days"] > longest) & (role == "reporting")
    periods.loc[periods["status"] == "", "status"] = "used"
    periods = periods[
        [
            "start",
            "end",
            "days",
            "usage_kwh",
            "usage_per_day_kwh",
            "reads",
            "estimated_days",
            "temperature_days",
            "review",
            "status",
        ]
    ]

    clauses = {
        ("outside", "baseline"): "CalTRACK 2.0 §2.2.5",
        ("outside", "reporting"): "CalTRACK 2.0 §2.2.5",
        ("off_cycle", "baseline"): "CalTRACK 2.0 §2.2.3.4",
        ("off_cycle", "reporting"): "CalTRACK 2.0 §3.5.5.3",
        ("too_long", "baseline"): "CalTRACK 2.0 §2.2.3.5",
        ("estimated", "baseline"): "CalTRACK 2.0 §2.2.3.1",
        ("estimated", "reporting"): "CalTRACK 2.0 §3.5.5.1",
        ("missing_usage", "baseline"): "CalTRACK 2.0 §2.2.1.3-2.2.1.4",
        ("missing_usage", "reporting"): "CalTRACK 2.0 §3.5.2",
        ("no_temperature", "baseline"): "CalTRACK 2.0 §2.2.3.2",
        ("no_temperature", "reporting"): "CalTRACK 2.0 §3.5.5.2",
    }
    for why, text in _STATUS_TEXT.items():
        part = periods[periods["status"] == why]
        if len(part):
            detail = f" ({shortest}-{longest} days, {cycle_name})" if why == "too_long" else ""
            warnings.append(
                QualityWarning(
                    f"mv.billing.{why}",
                    f"{len(part)} {role} bill(s) {text}{detail}; they are not counted",
                    {
                        "periods": _listing(part),
                        "days": int(part["days"].sum()),
                        "clause": clauses[(why, role)],
                    },
                )
            )
    combined = periods[(periods["reads"] > 1) & (periods["status"] == "used")]
    if len(combined):
        warnings.append(
            QualityWarning(
                "mv.billing.combined",
                f"{len(combined)} {role} period(s) combine estimated"
                + (" or off-cycle" if role == "reporting" else "")
                + " reads with the next read",
                {
                    "periods": _listing(combined),
                    "clause": "CalTRACK 2.0 §2.2.3.1"
                    if role == "baseline"
                    else "CalTRACK 2.0 §3.5.5.1, §3.5.5.3",
                },
            )
        )
    review = periods[periods["review"] & (periods["status"] == "used")]
    if len(review):
        warnings.append(
            QualityWarning(
                "mv.billing.long_period",
                f"{len(review)} reporting period(s) run over {longest} days ({cycle_name} "
                "cycle); they are counted but should be reviewed",
                {"periods": _listing(review), "clause": "CalTRACK 2.0 §3.5.5.4"},
            )
        )
    periods.attrs = {"cycle": cycle_name}
    return periods.reset_index(drop=True), warnings


# --- degree days per period ---------------------------------------------------------------------


def _day_positions(periods: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Every day of every period in order, the offsets where periods begin, their lengths."""
    lengths = periods["days"].to_numpy(dtype=int)
    starts = pd.DatetimeIndex(periods["start"])
    offsets = np.r_[0, np.cumsum(lengths)[:-1]].astype(int)
    day_in_period = np.arange(int(lengths.sum())) - np.repeat(offsets, lengths)
    days = pd.DatetimeIndex(
        np.repeat(starts.to_numpy(), lengths) + day_in_period.astype("timedelta64[D]"),
        name="date",
    )
    return days, offsets, lengths


def _period_sums(values: pd.Series, periods: pd.DataFrame) -> np.ndarray:
    days, offsets, _ = _day_positions(periods)
    filled = np.nan_to_num(values.reindex(days).to_numpy(dtype=float), nan=0.0)
    return np.add.reduceat(filled, offsets) if len(filled) else np.zeros(len(periods))


def _period_degree_days(
    temperature: pd.Series,
    periods: pd.DataFrame,
    heating_points: np.ndarray,
    cooling_points: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean daily HDD and CDD of each period at each balance point, shape (periods, points)."""
    days, offsets, _ = _day_positions(periods)
    t = temperature.reindex(days).to_numpy(dtype=float)
    present = ~np.isnan(t)
    count = np.add.reduceat(present.astype(float), offsets)
    t0 = np.where(present, t, 0.0)[:, None]
    hdd = np.where(present[:, None], np.maximum(heating_points[None, :] - t0, 0.0), 0.0)
    cdd = np.where(present[:, None], np.maximum(t0 - cooling_points[None, :], 0.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            np.add.reduceat(hdd, offsets, axis=0) / count[:, None],
            np.add.reduceat(cdd, offsets, axis=0) / count[:, None],
        )


def billing_design_matrix(
    periods: pd.DataFrame,
    temperature: pd.Series,
    heating_balance_point: float | None = None,
    cooling_balance_point: float | None = None,
) -> pd.DataFrame:
    """The CalTRACK billing design matrix: degree days *per day* of each billing period.

    Parameters
    ----------
    periods : ``start``, ``end`` [local date] of each period (bills, or the ``used`` rows of
        :func:`billing_periods`); periods must not overlap.
    temperature : daily mean temperature [degC].
    heating_balance_point, cooling_balance_point : the bases [degC]; None leaves the column
        out.

    Returns
    -------
    pandas.DataFrame
        One row per period (index = ``start``): ``intercept`` (1), ``hdd`` =
        ``mean_d max(bp_H - T_d, 0)`` and ``cdd`` = ``mean_d max(T_d - bp_C, 0)`` over the
        period's days with a temperature [delta_degC * day / day], ``temperature_days`` [day];
        NaN degree days for a period without any temperature.

    References
    ----------
    CalTRACK 2.0 §3.3.1.2, §3.3.4-3.3.5.
    """
    frame = _bills_frame(
        periods.assign(usage_kwh=0.0) if "usage_kwh" not in periods else periods, "periods"
    )
    temps = _check_temperature(temperature)
    heating = np.asarray([] if heating_balance_point is None else [heating_balance_point], float)
    cooling = np.asarray([] if cooling_balance_point is None else [cooling_balance_point], float)
    hdd, cdd = _period_degree_days(temps, frame, heating, cooling)
    out = pd.DataFrame({"intercept": 1.0}, index=pd.DatetimeIndex(frame["start"], name="start"))
    if heating_balance_point is not None:
        out["hdd"] = hdd[:, 0]
    if cooling_balance_point is not None:
        out["cdd"] = cdd[:, 0]
    out["temperature_days"] = _period_sums(temps.notna().astype(float), frame).astype(int)
    return out


# --- sufficiency ----------------------------------------------------------------------------------


def _sufficiency(periods: pd.DataFrame, first: dt.date, last: dt.date) -> list[QualityWarning]:
    """CalTRACK 2.0 §2.2.1 and §2.3.5-2.3.6 on cleaned baseline periods."""
    n_days = (last - first).days
    used = periods[periods["status"] == "used"]
    warnings: list[QualityWarning] = []
    if n_days < BASELINE_DAYS:
        warnings.append(
            QualityWarning(
                "mv.sufficiency.too_short",
                f"baseline {first}..{last} has {n_days} days; CalTRACK needs {BASELINE_DAYS}",
                {"days": n_days, "required": BASELINE_DAYS, "clause": "CalTRACK 2.0 §2.2.1.1"},
            )
        )
    covered = int(used["days"].sum())
    estimated = int(used["estimated_days"].sum())
    missing = n_days - covered + estimated
    allowed = math.ceil(MAX_MISSING_FRACTION * n_days - 1e-9)
    if missing > allowed:
        warnings.append(
            QualityWarning(
                "mv.sufficiency.too_many_missing",
                f"{missing} of {n_days} baseline days are not covered by a usable bill "
                f"({estimated} of them in estimated reads); at most {allowed} (10 %) may be "
                "missing",
                {
                    "missing_days": missing,
                    "estimated_days": estimated,
                    "days": n_days,
                    "allowed": allowed,
                    "periods_used": len(used),
                    "clause": "CalTRACK 2.0 §2.2.1.2, §2.2.3.1",
                },
            )
        )
    upd = used["usage_per_day_kwh"]
    low, high, limit = usage_outliers(upd)
    negative, extreme = used.loc[low.index], used.loc[high.index]
    if len(negative):
        warnings.append(
            QualityWarning(
                "mv.usage.negative",
                f"{len(negative)} baseline bills have negative usage: possible unreported net "
                "metering (on-site generation); review before trusting the baseline",
                {"periods": _listing(negative), "clause": "CalTRACK 2.0 §2.3.5"},
            )
        )
    if len(extreme) and limit is not None:
        warnings.append(
            QualityWarning(
                "mv.usage.extreme",
                f"{len(extreme)} baseline bills use more per day than median + 3 IQR "
                f"({limit:,.2f} kWh/day); review them as possible outliers",
                {
                    "periods": _listing(extreme),
                    "limit": float(limit),
                    "clause": "CalTRACK 2.0 §2.3.6",
                },
            )
        )
    return warnings


def check_billing_sufficiency(
    bills: pd.DataFrame,
    temperature: pd.Series,
    baseline_start: Any,
    baseline_end: Any,
    *,
    cycle: Cycle = "auto",
    fuel: Fuel = "electricity",
) -> list[QualityWarning]:
    """CalTRACK data-sufficiency checks of a billing baseline.

    Parameters
    ----------
    bills : ``start``, ``end`` [local date], ``usage_kwh`` [kWh], optionally ``estimated``.
    temperature : daily mean temperature [degC].
    baseline_start, baseline_end : the baseline ``[start, end)`` [local date].
    cycle, fuel : as for :func:`billing_periods`.

    Returns
    -------
    list of QualityWarning
        The ``mv.billing.*`` warnings of :func:`billing_periods`, and

        ``mv.sufficiency.too_short`` (serious)
            fewer than 365 days between start and end (CalTRACK 2.0 §2.2.1.1).
        ``mv.sufficiency.too_many_missing`` (serious)
            more than ``ceil(10 % of days)`` (37 of 365) baseline days not covered by a
            usable bill, counting the days of estimated reads as missing (CalTRACK 2.0
            §2.2.1.2, §2.2.3.1). With monthly bills a baseline window that cuts two bills
            loses about one bill's days at its edges; a second missing bill is too many.
        ``mv.usage.negative``, ``mv.usage.extreme``
            as for daily data, on use per day of the bills (CalTRACK 2.0 §2.3.5-2.3.6).
    """
    first = _as_date(baseline_start, "baseline_start")
    last = _as_date(baseline_end, "baseline_end")
    periods, warnings = billing_periods(
        bills, temperature, start=first, end=last, cycle=cycle, role="baseline", fuel=fuel
    )
    return warnings + _sufficiency(periods, first, last)


# --- the model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingModel:
    """A fitted CalTRACK 2.0 billing baseline.

    Attributes
    ----------
    segment : the selected candidate (``day_type`` ``billing``; ``n_days`` = days fitted).
    cycle : ``monthly`` or ``bimonthly``.
    fuel : ``electricity`` or ``gas`` (no cooling candidates, CalTRACK 2.0 §3.2.1.1).
    baseline_start, baseline_end : the baseline period ``[start, end)`` [local date].
    n_periods : n, billing periods fitted [dimensionless].
    n_days : days in the fitted periods [day].
    n_parameters : p, parameters including the intercept [dimensionless].
    r2, r2_adj : weighted R^2 and adjusted R^2 of the fit, P = periods (CalTRACK 2.0
        §3.4.3.3) [dimensionless].
    rmse : ``sqrt(SS_res / (n - p))`` of the period totals [kWh].
    cvrmse, nmbe : ASHRAE G14 definitions on the period totals with n - p [dimensionless].
    mean_usage : mean observed total per baseline period [kWh].
    autocorrelation : lag-1 autocorrelation of the period residuals, adjacent periods only
        [dimensionless].
    residuals : observed - predicted total per fitted period [kWh], index ``start``.
    periods : every baseline bill or combined period with its ``status``
        (:func:`billing_periods`), and for fitted ones ``hdd``, ``cdd`` at the selected
        balance points [delta_degC * day / day] and ``predicted_kwh`` [kWh].
    candidates : every candidate tried (as :attr:`carbon.mv.BaselineModel.candidates`).
    warnings : data-quality and model warnings.
    meter_ids : meters behind the bills, if known (``bills.attrs["meter_ids"]``).
    method : the method's name.
    """

    segment: SegmentFit
    cycle: Literal["monthly", "bimonthly"]
    fuel: Fuel
    baseline_start: dt.date
    baseline_end: dt.date
    n_periods: int
    n_days: int
    n_parameters: int
    r2: float
    r2_adj: float
    rmse: float
    cvrmse: float
    nmbe: float
    mean_usage: float
    autocorrelation: float
    residuals: pd.Series = field(repr=False)
    periods: pd.DataFrame = field(repr=False)
    candidates: pd.DataFrame = field(repr=False)
    warnings: list[QualityWarning] = field(default_factory=list)
    meter_ids: tuple[str, ...] = ()
    method: str = "CalTRACK 2.0 billing (§3.2-3.4), WLS weighted by days, balance-point grid search"

    @property
    def model_type(self) -> str:
        """``intercept_only``, ``hdd_only``, ``cdd_only`` or ``hdd_cdd``."""
        return self.segment.model_type

    @property
    def segments(self) -> dict[str, SegmentFit]:
        """The one segment, keyed ``billing`` (the shape of ``BaselineModel.segments``)."""
        return {"billing": self.segment}

    def predict(self, temperature: pd.Series) -> pd.Series:
        """Predicted baseline use per day for daily temperatures.

        The billing model is linear in the daily degree days, so a period's prediction is
        the sum of its days' predictions: ``n_p * (mu + beta_H HDD_p + beta_C CDD_p)`` with
        the period means of CalTRACK 2.0 §3.3.4-3.3.5.

        Parameters
        ----------
        temperature : daily mean temperature [degC] on a date index.

        Returns
        -------
        pandas.Series
            Predicted use [kWh / day], name ``predicted_usage_kwh``; NaN where the
            temperature is missing.
        """
        temps = _check_temperature(temperature)
        values = temps.to_numpy()
        out = self.segment.predict(values)
        out[np.isnan(values)] = np.nan
        return pd.Series(out, index=temps.index, name="predicted_usage_kwh")

    def predict_periods(self, periods: pd.DataFrame, temperature: pd.Series) -> pd.Series:
        """Predicted baseline use of whole billing periods (CalTRACK 2.0 §3.6.1).

        Parameters
        ----------
        periods : ``start``, ``end`` [local date] of each period.
        temperature : daily mean temperature [degC].

        Returns
        -------
        pandas.Series
            ``n_p * (mu + beta_H HDD_p + beta_C CDD_p)`` [kWh] per period, index ``start``,
            with the degree days averaged over the days that have a temperature; NaN for a
            period with none.
        """
        s = self.segment
        x = billing_design_matrix(
            periods, temperature, s.heating_balance_point, s.cooling_balance_point
        )
        upd = pd.Series(s.intercept, index=x.index)
        if "hdd" in x:
            upd = upd + s.beta_heating * x["hdd"]
        if "cdd" in x:
            upd = upd + s.beta_cooling * x["cdd"]
        days = (pd.to_datetime(periods["end"]) - pd.to_datetime(periods["start"])).dt.days
        upd = upd.where(x["temperature_days"] > 0)
        return (upd * days.to_numpy()).rename("predicted_kwh")

    def summary(self) -> dict[str, Any]:
        """The fields a savings claim should carry (docs/research/climate.md §6)."""
        s = self.segment
        return {
            "ipmvp_option": "C",
            "method": self.method,
            "cycle": self.cycle,
            "fuel": self.fuel,
            "baseline_period": f"{self.baseline_start}..{self.baseline_end}",
            "model_type": self.model_type,
            "heating_balance_point_degC": s.heating_balance_point,
            "cooling_balance_point_degC": s.cooling_balance_point,
            "intercept_kwh_per_day": s.intercept,
            "beta_heating_kwh_per_kelvin_day": s.beta_heating,
            "beta_cooling_kwh_per_kelvin_day": s.beta_cooling,
            "n_periods": self.n_periods,
            "n_days": self.n_days,
            "n_parameters": self.n_parameters,
            "r2": self.r2,
            "r2_adj": self.r2_adj,
            "cvrmse": self.cvrmse,
            "nmbe": self.nmbe,
            "autocorrelation": self.autocorrelation,
            "warnings": [w.code for w in self.warnings],
        }


def _window(frame: pd.DataFrame, start: Any, end: Any, what: str) -> tuple[dt.date, dt.date]:
    first = _as_date(start, f"{what}_start") if start is not None else frame["start"].min().date()
    last = _as_date(end, f"{what}_end") if end is not None else frame["end"].max().date()
    if last <= first:
        raise MvError(f"empty {what} period: end {last} is not after start {first}")
    return first, last


def fit_billing_baseline(
    bills: pd.DataFrame,
    temperature: pd.Series,
    *,
    baseline_start: Any = None,
    baseline_end: Any = None,
    cycle: Cycle = "auto",
    fuel: Fuel = "electricity",
    heating_balance_points: Iterable[float] = DEFAULT_BALANCE_POINTS,
    cooling_balance_points: Iterable[float] = DEFAULT_BALANCE_POINTS,
    max_p_value: float | None = None,
    strict: bool = True,
) -> BillingModel:
    """Fit a CalTRACK 2.0 billing baseline: use per day of each bill against its degree days.

    Parameters
    ----------
    bills : one row per bill: ``start`` (first day), ``end`` (the day after the last, i.e. the
        next read's date) [local date], ``usage_kwh`` [kWh], optionally ``estimated`` [bool].
    temperature : daily mean temperature [degC] (e.g. :func:`carbon.mv.load_temperature`,
        with ``tz`` set to the meter's zone for hourly files).
    baseline_start, baseline_end : baseline ``[start, end)`` [local date]; default: the span
        of the bills.
    cycle : ``monthly``, ``bimonthly`` or ``auto`` (see :func:`billing_periods`).
    fuel : ``electricity`` or ``gas``: gas has no cooling candidates (CalTRACK 2.0
        §3.2.1.1) and counts zero bills as data (§2.2.1.4).
    heating_balance_points, cooling_balance_points : grids [degC], as for
        :func:`carbon.mv.fit_baseline` (CalTRACK 2.0 §3.2.1, §3.2.3).
    max_p_value : optional p-value screen of the slopes (off in CalTRACK 2.0).
    strict : refuse to fit when the baseline fails a serious sufficiency rule
        (:data:`carbon.mv.SERIOUS_CODES`); with False the warnings are attached instead.

    Returns
    -------
    BillingModel

    Raises
    ------
    InsufficientDataError
        When ``strict`` and the baseline is too short or misses more than 10 % of its days.
    MvError
        For malformed bills, a bad grid, fewer than four usable periods, or when no
        candidate qualifies.

    References
    ----------
    CalTRACK Methods 2.0, §2.2.1, §2.2.3, §3.2-3.4 (billing: §3.2.2.2.1, §3.4.2); ASHRAE
    Guideline 14-2014 Annex B (CV(RMSE), NMBE).
    """
    if fuel not in ("electricity", "gas"):
        raise MvError(f"fuel must be 'electricity' or 'gas'; got {fuel!r}")
    frame = _bills_frame(bills)
    temps = _check_temperature(temperature)
    first, last = _window(frame, baseline_start, baseline_end, "baseline")
    heating = balance_point_grid(heating_balance_points, "heating")
    cooling = (
        balance_point_grid(cooling_balance_points, "cooling")
        if fuel == "electricity"
        else np.empty(0)
    )
    periods, clean_warnings = billing_periods(
        frame, temps, start=first, end=last, cycle=cycle, role="baseline", fuel=fuel
    )
    warnings = attached_warnings(temperature) + clean_warnings + _sufficiency(periods, first, last)
    if strict and any(w.code in SERIOUS_CODES for w in warnings):
        raise InsufficientDataError(warnings, first, last, method="billing")

    used = periods[periods["status"] == "used"].reset_index(drop=True)
    if len(used) < _MIN_PERIODS_TO_FIT:
        raise MvError(
            f"only {len(used)} usable billing periods in {first}..{last}; a billing baseline "
            f"needs at least {_MIN_PERIODS_TO_FIT} (CalTRACK asks for a year: 12 monthly bills)"
        )
    hdd, cdd = _period_degree_days(temps, used, heating, cooling)
    weights = used["days"].to_numpy(dtype=float)
    y = used["usage_per_day_kwh"].to_numpy(dtype=float)
    years = (last - first).days / BASELINE_DAYS
    min_dd = MIN_DEGREE_DAYS_PER_YEAR * years  # §3.2.2.2.2; §3.2.2.2.1 does not apply to bills
    h_ok = (hdd * weights[:, None]).sum(axis=0) >= min_dd
    c_ok = (cdd * weights[:, None]).sum(axis=0) >= min_dd
    segment, table = grid_search(
        "billing", y, hdd, cdd, heating, cooling, h_ok, c_ok, max_p_value, weights=weights
    )
    segment = dataclasses.replace(segment, n_days=int(weights.sum()))

    x = billing_design_matrix(
        used, temps, segment.heating_balance_point, segment.cooling_balance_point
    )
    upd = np.full(len(used), segment.intercept)
    if "hdd" in x:
        upd = upd + segment.beta_heating * x["hdd"].to_numpy()
    if "cdd" in x:
        upd = upd + segment.beta_cooling * x["cdd"].to_numpy()
    observed = used["usage_kwh"].to_numpy(dtype=float)
    predicted = upd * weights
    n, p = len(used), segment.n_parameters
    resid = observed - predicted
    residuals = pd.Series(
        resid, index=pd.DatetimeIndex(used["start"], name="start"), name="residual_kwh"
    )
    # Lag-1 over adjacent periods: a dropped bill in between breaks the pair.
    position = periods.index[periods["status"] == "used"]
    autocorr = (
        pd.Series(resid, index=position).reindex(periods.index).autocorr(lag=1)
        if n > 2
        else math.nan
    )
    fitted = periods.copy()
    fitted.loc[position, "hdd"] = x["hdd"].to_numpy() if "hdd" in x else 0.0
    fitted.loc[position, "cdd"] = x["cdd"].to_numpy() if "cdd" in x else 0.0
    fitted.loc[position, "predicted_kwh"] = predicted
    model_warnings = warnings + _model_warnings(
        {"billing": segment}, heating, cooling, residuals, "billing", segment.r2
    )
    return BillingModel(
        segment=segment,
        cycle="bimonthly" if periods.attrs.get("cycle") == "bimonthly" else "monthly",
        fuel=fuel,
        baseline_start=first,
        baseline_end=last,
        n_periods=n,
        n_days=int(weights.sum()),
        n_parameters=p,
        r2=segment.r2,
        r2_adj=segment.r2_adj,
        rmse=math.sqrt(float(resid @ resid) / (n - p)),
        cvrmse=cvrmse(observed, predicted, p),
        nmbe=nmbe(observed, predicted, p),
        mean_usage=float(observed.mean()),
        autocorrelation=float(autocorr) if autocorr == autocorr else 0.0,
        residuals=residuals,
        periods=fitted,
        candidates=table,
        warnings=model_warnings,
        meter_ids=tuple(getattr(bills, "attrs", {}).get("meter_ids", ())),
    )


# --- savings --------------------------------------------------------------------------------


def billing_savings(
    model: BillingModel,
    bills_reporting: pd.DataFrame,
    temperature_reporting: pd.Series,
    *,
    reporting_start: Any = None,
    reporting_end: Any = None,
    confidence: float = 0.90,
) -> SavingsResult:
    """Avoided energy over reporting bills: the billing baseline's prediction minus the bills.

    Each counted bill gives ``AEU_p = n_p * (mu + beta_H HDD_p + beta_C CDD_p - UPD_p)``
    (CalTRACK 2.0 §3.6.1); the total carries the ASHRAE G14 uncertainty with n = baseline
    periods and m = counted reporting periods (:func:`carbon.mv.savings_uncertainty` with
    :data:`SUN_BALTAZAR_MONTHLY`).

    Parameters
    ----------
    model : the fitted billing baseline.
    bills_reporting : reporting bills (``start``, ``end``, ``usage_kwh``, optionally
        ``estimated``).
    temperature_reporting : daily mean temperature [degC] over them.
    reporting_start, reporting_end : ``[start, end)`` [local date]; default: the span of the
        bills. Bills over its edges are left out (CalTRACK 2.0 §2.2.5).
    confidence : two-sided confidence level of the uncertainty [dimensionless].

    Returns
    -------
    carbon.mv.SavingsResult
        ``periods`` has one row per reporting period with ``predicted_kwh`` and
        ``avoided_kwh``. ``daily`` spreads each counted bill over its days for calendar-month
        ledger entries: the prediction per day is the model's, the observed use per day is
        the bill's average (ASSUMPTION: even use within a bill; bill totals are exact).
        A day without temperature takes its bill's mean prediction, as the period mean of
        CalTRACK 2.0 §3.3.4 does. ``reporting_days`` counts the days of counted bills.

    Raises
    ------
    MvError
        When no reporting bill can be counted.

    References
    ----------
    CalTRACK 2.0 §3.5.5, §3.6.1; ASHRAE Guideline 14-2014 Annex B; Sun & Baltazar (2013).
    """
    frame = _bills_frame(bills_reporting, "bills_reporting")
    temps = _check_temperature(temperature_reporting, "temperature_reporting")
    first, last = _window(frame, reporting_start, reporting_end, "reporting")
    periods, clean_warnings = billing_periods(
        frame, temps, start=first, end=last, cycle=model.cycle, role="reporting", fuel=model.fuel
    )
    used = periods[periods["status"] == "used"]
    if used.empty:
        statuses = periods["status"].value_counts().to_dict()
        raise MvError(
            f"no reporting bill in {first}..{last} can be counted (statuses {statuses}); see "
            "carbon.mv_billing.billing_periods"
        )
    days_index, offsets, lengths = _day_positions(used)
    owner = np.repeat(np.arange(len(used)), lengths)
    per_day = model.predict(temps.reindex(days_index)).to_numpy()
    period_mean = pd.Series(per_day).groupby(owner).transform("mean").to_numpy()
    per_day = np.where(np.isnan(per_day), period_mean, per_day)
    observed_day = np.repeat(used["usage_per_day_kwh"].to_numpy(dtype=float), lengths)
    days = _day_range(first, last)
    predicted = pd.Series(per_day, index=days_index).reindex(days)
    observed = pd.Series(observed_day, index=days_index).reindex(days)
    avoided = (predicted - observed).rename("avoided_kwh")
    valid = avoided.notna()
    daily = pd.DataFrame(
        {
            "observed_kwh": observed.where(valid),
            "predicted_kwh": predicted.where(valid),
            "avoided_kwh": avoided,
        }
    )
    predicted_p = np.add.reduceat(np.nan_to_num(per_day), offsets)
    predicted_p = np.where(np.isnan(period_mean[offsets]), np.nan, predicted_p)
    periods = periods.copy()
    position = periods.index[periods["status"] == "used"]
    periods["observed_kwh"] = periods["usage_kwh"].where(periods["status"] == "used")
    periods.loc[position, "predicted_kwh"] = predicted_p
    periods["avoided_kwh"] = periods["predicted_kwh"] - periods["observed_kwh"]
    counted = periods[periods["avoided_kwh"].notna()]
    if counted.empty:
        raise MvError(f"no reporting bill in {first}..{last} has a prediction")

    m = len(counted)
    warnings = list(model.warnings)
    warnings += [w for w in attached_warnings(temperature_reporting) if w not in warnings]
    warnings += clean_warnings
    uncovered = len(days) - int(counted["days"].sum())
    missing = None
    if uncovered:
        missing = QualityWarning(
            "mv.reporting.missing",
            f"{uncovered} of {len(days)} reporting days are not in a counted bill and are "
            "left out of the savings",
            {"days": uncovered, "clause": "CalTRACK 2.0 §3.5.2-3.5.5"},
        )
    return savings_result(
        model, daily, first, last,
        observed_kwh=float(counted["observed_kwh"].sum()),
        predicted_kwh=float(counted["predicted_kwh"].sum()),
        n_baseline=model.n_periods, n_reporting=m, reporting_days=int(counted["days"].sum()),
        confidence=confidence, warnings=warnings, missing=missing,
        uncertainty={
            "reporting_months": calendar_months(counted["start"].min(), counted["end"].max()),
            "coefficients": SUN_BALTAZAR_MONTHLY,
        },
        g14_extra={"n_baseline_periods": model.n_periods, "n_reporting_periods": m},
        periods=periods.reset_index(drop=True),
    )


def verify_billing(
    bills: pd.DataFrame,
    temperature: pd.Series,
    intervention_start: Any,
    *,
    intervention_end: Any = None,
    reporting_end: Any = None,
    baseline_days: int = BASELINE_DAYS,
    cycle: Cycle = "auto",
    fuel: Fuel = "electricity",
    confidence: float = 0.90,
    strict: bool = True,
    **fit_options: Any,
) -> SavingsResult:
    """Fit the billing baseline before an intervention and measure the savings after it.

    Parameters
    ----------
    bills : every bill, before and after (``start``, ``end``, ``usage_kwh``, ``estimated``).
    temperature : daily mean temperature [degC] over both periods.
    intervention_start : the project start; the baseline is the ``baseline_days`` before it
        (CalTRACK 2.0 §3.1.3) [local date]. Bills running over it belong to neither period.
    intervention_end : where the reporting period begins (CalTRACK 2.0 §1.4.4); default
        ``intervention_start``.
    reporting_end : the day after the last reporting day; default: the end of the last bill.
    baseline_days : baseline length [day]; CalTRACK needs 365.
    cycle, fuel, strict, **fit_options : passed to :func:`fit_billing_baseline`.
    confidence : passed to :func:`billing_savings`.

    Returns
    -------
    carbon.mv.SavingsResult
        With the fitted :class:`BillingModel` in ``.model``.
    """
    start = _as_date(intervention_start, "intervention_start")
    end = _as_date(intervention_end, "intervention_end") if intervention_end is not None else start
    if end < start:
        raise MvError(f"intervention_end {end} is before intervention_start {start}")
    frame = _bills_frame(bills)
    model = fit_billing_baseline(
        bills,
        temperature,
        baseline_start=start - dt.timedelta(days=baseline_days),
        baseline_end=start,
        cycle=cycle,
        fuel=fuel,
        strict=strict,
        **fit_options,
    )
    last = _as_date(reporting_end, "reporting_end") if reporting_end is not None else None
    return billing_savings(
        model,
        frame,
        temperature,
        reporting_start=end,
        reporting_end=last or frame["end"].max().date(),
        confidence=confidence,
    )
