"""Measured savings (IPMVP Option C): CalTRACK daily baselines, avoided energy, uncertainty.

Whole-facility measurement and verification for the meters behind an intervention. A baseline
model of daily usage against heating and cooling degree days is fitted on the 365 days before
the intervention, projected into the reporting period with that period's weather, and the
avoided energy is the prediction minus the metered use (IPMVP Option C; CalTRACK 2.0 §3.6.1).
Monthly or bimonthly bills use the CalTRACK billing method of :mod:`carbon.mv_billing`, which
shares this module's grid search, metrics, uncertainty and result; docs/mv.md describes both.

Layers, as in pvlib and eemeter:

* pure functions: :func:`daily_usage`, :func:`load_temperature`, :func:`daily_temperature`,
  :func:`design_matrix`, :func:`cvrmse`, :func:`nmbe`, :func:`savings_uncertainty`,
  :func:`check_sufficiency`, :func:`realisation_rate`;
* small containers: :class:`BaselineModel` (with :meth:`BaselineModel.predict`) and
  :class:`SavingsResult`, built once by :func:`fit_baseline` and :func:`savings`;
* one orchestrator, :func:`verify`, and :func:`verified_entries`, which turns a result into
  ledger entries of kind ``avoided`` (``ex_post``) for :func:`carbon.ledger.build_ledger`.

Problems become :class:`carbon.warnings.QualityWarning` with dotted codes (``mv.*``), each
naming the clause it implements. Insufficient baseline data stops the fit
(:class:`InsufficientDataError`) unless the caller passes ``strict=False``.

Clauses implemented
-------------------
CalTRACK Methods 2.0 (``openeemeter/caltrack``, ``docs/methods.rst``):

* §2.2.1.1 365-day baseline; §2.2.1.2 at most 37 days (10 %) missing;
  §2.2.1.3 missing = NaN/NULL; §2.2.1.4 zero electricity counts as missing;
* §2.2.2.1 daily usage from interval data: a day with at most 50 % of its intervals missing is
  filled with the mean of the present ones, otherwise it is missing;
* §2.2.3.3 / §2.2.4.1 daily temperature from hourly: at most 50 % missing, gaps of up to six
  hours interpolated linearly;
* §2.3.5 negative usage and §2.3.6 extreme values (more than 3 IQR above the median) flagged;
* §3.2.1 balance points searched over 30-90 degF (-1.1 to 32.2 degC); §3.2.3 grid step at most
  3 degF (1.67 K); §3.2.2.1 cooling balance point >= heating balance point; §3.2.2.2.1 at least
  10 days with non-zero degree days per year; §3.2.2.2.2 at least 20 degF-days (11.1 K-days)
  per year;
* §3.3 design matrix (daily mean temperature, daily degree days); §3.3.3.5 days split at local
  midnight of the meter's time zone, and §2.3.3 meter and weather on one zone: hourly
  temperatures are averaged over true local days (23 and 25 hours at DST changes), and a
  UTC-indexed series without a meter zone gets the warning ``mv.temperature.utc_day_boundary``;
* §3.4.1 OLS for daily data; §3.4.3.1 candidates HDD+CDD, HDD-only, CDD-only, intercept-only;
  §3.4.3.2 qualification: every estimate positive (beta_H > 0, beta_C > 0, mu > 0). CalTRACK
  2.0 *removed* the p-value screen of 1.0 (methodological appendix §3.4.3.2, issue #76); it is
  offered here as an option (``max_p_value``), off by default;
* §3.4.3.3 selection by the highest adjusted R^2, ``1 - (SS_res/(P-c-1)) / (SS_tot/(P-1))``;
  intercept-only has adjusted R^2 = 0 by definition (§3.4.3.1.4);
* §3.5.1.1, §3.5.2.1, §3.5.3.1, §3.5.4.1 reporting days missing temperature or usage are masked;
* §3.6.1 avoided energy use ``AEU = n_p * (mu + beta_H*HDD + beta_C*CDD - UPD)``.

ASHRAE Guideline 14-2014:

* CV(RMSE) and NMBE with ``n - p`` degrees of freedom (Annex B; G14-2002 eqs 5.4-5.5 in the
  common R helpers; docs/research/climate.md §6, medium-high);
* whole-building prescriptive path: baseline CV(RMSE) <= 20 % (energy) with less than 12 months
  of post-retrofit data, 25 % for 12-60 months, 30 % beyond, the months counted by the
  calendar (:func:`calendar_months`: a 365-day year from 1 January is 12 months); fractional
  savings uncertainty < 50 % of the reported savings at 68 % confidence (climate.md §6,
  medium-high and medium);
* fractional savings uncertainty, Annex B (Reddy & Claridge 2000 form), with the empirical 1.26
  replaced for daily data by the Sun & Baltazar (2013, ASHRAE Trans. 119(1)) polynomial in the
  reporting length, as implemented in eemeter ``_compute_fsu_error`` (see
  :func:`savings_uncertainty`).

IPMVP (EVO 2012, Vol. I Appendix B): R^2 >= 0.75 as an *advisory* indicator only.

Extension beyond CalTRACK 2.0 (off by default): ``day_types="weekday_weekend"`` fits separate
sub-models for Monday-Friday and Saturday-Sunday, like the weekday/weekend model splits of
eemeter 4 (anchors.md §1). Offices need it: their weekend load is a third of a weekday's. No
public holidays (or the working weekends of 调休) are modelled.

Temperatures are daily means in degC everywhere; balance points are in degC.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from carbon.errors import CarbonError, DataFileError
from carbon.valuation import ROUNDING
from carbon.warnings import QualityError, QualityWarning

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.mv_billing import BillingModel
    from carbon.store import Store

__all__ = [
    "BASELINE_DAYS",
    "CALTRACK_BALANCE_POINT_RANGE",
    "DEFAULT_BALANCE_POINTS",
    "G14_CVRMSE_LIMITS",
    "G14_FSU_LIMIT",
    "MAX_MISSING_FRACTION",
    "MIN_DEGREE_DAYS_PER_YEAR",
    "MIN_NONZERO_DAYS_PER_YEAR",
    "SERIOUS_CODES",
    "BaselineModel",
    "InsufficientDataError",
    "MvError",
    "SavingsResult",
    "SegmentFit",
    "TemperatureFileError",
    "attached_warnings",
    "balance_point_grid",
    "calendar_months",
    "check_sufficiency",
    "cvrmse",
    "daily_temperature",
    "daily_usage",
    "design_matrix",
    "fit_baseline",
    "g14_checks",
    "grid_search",
    "load_temperature",
    "monthly_sums",
    "nmbe",
    "realisation_rate",
    "savings",
    "savings_result",
    "savings_uncertainty",
    "usage_outliers",
    "verified_entries",
    "verify",
]

DayTypes = Literal["all", "weekday_weekend"]

BASELINE_DAYS = 365
"""Baseline length [day]: CalTRACK 2.0 §2.2.1.1 and §3.1.3."""

MAX_MISSING_FRACTION = 0.10
"""Largest share of baseline days missing [dimensionless]: CalTRACK 2.0 §2.2.1.2 ("37 days
(10 %)"); the allowance is ``ceil(0.10 * days)``, 37 for 365 days."""

CALTRACK_BALANCE_POINT_RANGE = ((30.0 - 32.0) / 1.8, (90.0 - 32.0) / 1.8)
"""CalTRACK 2.0 balance-point search range, 30-90 degF, in [degC] (-1.11, 32.22): §3.2.1.1-2."""

DEFAULT_BALANCE_POINTS = tuple(float(x) for x in np.arange(-1.0, 32.5, 1.0))
"""Balance-point grid [degC]: -1, 0, ..., 32 (34 points), inside the CalTRACK 2.0 range
(§3.2.1) with a 1 K step, finer than the 3 degF = 1.67 K maximum (§3.2.3). It contains the
Chinese zoning bases 18 and 26 degC (GB 50176-2016 commentary §4.1.2). Source:
docs/research/climate.md §6 ("np.arange(-1.0, 32.5, 1.0)")."""

MIN_NONZERO_DAYS_PER_YEAR = 10
"""Days with non-zero degree days a candidate needs per year [day]: CalTRACK 2.0 §3.2.2.2.1."""

MIN_DEGREE_DAYS_PER_YEAR = 20.0 / 1.8
"""Degree days a candidate needs per year [delta_degC * day]: CalTRACK 2.0 §3.2.2.2.2 says 20
in its own degF units (eemeter applies it to degF data); 20 degF-days = 11.1 K-days."""

G14_CVRMSE_LIMITS = ((12.0, 0.20), (60.0, 0.25), (math.inf, 0.30))
"""ASHRAE Guideline 14 whole-building prescriptive path, baseline CV(RMSE) for energy by months
of post-retrofit data: < 12 months 20 %, 12-60 months 25 %, > 60 months 30 % [dimensionless].
Source: G14 as quoted verbatim in AEE CMVP v2.0 course slides §3.1 (docs/research/climate.md
§6, medium-high). The calibrated-*simulation* limits of G14 clause 5.3.2.4(f) (NMBE 5 %,
CV(RMSE) 15 % monthly; 10 % / 30 % hourly) are for Option D models, not for these baselines."""

G14_FSU_LIMIT = 0.50
"""Fractional savings uncertainty allowed at 68 % confidence [dimensionless]: ASHRAE
Guideline 14 ("less than 50 % of the annual reported savings at a confidence level of 68 %";
climate.md §6, medium)."""

G14_FSU_CONFIDENCE = 0.68
"""Confidence level of the G14 uncertainty criterion [dimensionless]."""

IPMVP_R2_ADVISORY = 0.75
"""IPMVP Vol. I (EVO 2012) Appendix B: R^2 >= 0.75 "often considered a reasonable indicator"
[dimensionless]; advisory only (climate.md §6, medium-high)."""

SUN_BALTAZAR_DAILY = (-0.00024, 0.03535, 1.00286)
"""Coefficients (a, b, c) of the correction ``a*M^2 + b*M + c`` (M = reporting months) that
replaces G14's 1.26 for daily data: Sun & Baltazar (2013), "Analysis and improvement on the
estimation of building energy savings uncertainty", ASHRAE Trans. 119(1); values as in eemeter
``eemeter/metrics`` ``_compute_fsu_error`` (daily branch, ``M = days / 30``)."""

SERIOUS_CODES = frozenset({"mv.sufficiency.too_short", "mv.sufficiency.too_many_missing"})
"""Warning codes that stop :func:`fit_baseline` unless ``strict=False``."""

_MIN_DAYS_TO_FIT = 10


# --- errors --------------------------------------------------------------------------------


class MvError(CarbonError, ValueError):
    """Bad arguments to a measured-savings function (wrong index, empty period, no model)."""


class TemperatureFileError(DataFileError):
    """A temperature file (CSV or EPW) that cannot be read as daily means in degC."""


class InsufficientDataError(QualityError):
    """The baseline data fail the CalTRACK sufficiency rules; the fit is refused.

    Also a :class:`carbon.errors.CarbonError` and a :class:`ValueError` (through
    :class:`carbon.warnings.QualityError`). ``warnings`` holds every problem found.
    """

    def __init__(
        self,
        warnings: list[QualityWarning],
        baseline_start: dt.date,
        baseline_end: dt.date,
        method: Literal["daily", "billing"] = "daily",
    ) -> None:
        self.baseline_start = baseline_start
        self.baseline_end = baseline_end
        self.method = method
        super().__init__(warnings)

    def __str__(self) -> str:
        serious = [w for w in self.warnings if w.code in SERIOUS_CODES] or self.warnings
        lines = "; ".join(str(w) for w in serious)
        if self.method == "billing":
            where = "BillingModel.warnings). See CalTRACK 2.0 §2.2.1, §2.2.3 and " + (
                "carbon.mv_billing.check_billing_sufficiency."
            )
        else:
            where = "BaselineModel.warnings). See CalTRACK 2.0 §2.2.1 and " + (
                "carbon.mv.check_sufficiency."
            )
        return (
            f"Baseline {self.baseline_start}..{self.baseline_end} is not sufficient for a "
            f"CalTRACK 2.0 {self.method} model: {lines}. Fix the data, or pass strict=False to "
            f"fit anyway (the warnings are then attached to {where}"
        )


# --- validation helpers ----------------------------------------------------------------------


def _as_date(value: Any, what: str) -> dt.date:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise MvError(f"{what} must be a date; got {value!r} ({exc})") from None
    if stamp.tzinfo is not None or stamp != stamp.normalize():
        raise MvError(f"{what} must be a local date without time or time zone; got {value!r}")
    return stamp.date()


def _daily_series(values: Any, what: str) -> pd.Series:
    """A float Series on a naive, unique, sorted, daily-midnight DatetimeIndex."""
    if not isinstance(values, pd.Series):
        raise MvError(f"{what} must be a pandas Series indexed by date; got {type(values)!r}")
    index = values.index
    if not isinstance(index, pd.DatetimeIndex):
        raise MvError(f"{what} must be indexed by a DatetimeIndex of local dates")
    if index.tz is not None:
        raise MvError(
            f"{what} must be indexed by local dates without a time zone; got tz {index.tz}"
        )
    if len(index) and not (index == index.normalize()).all():
        raise MvError(f"{what} must be daily: its index has times other than midnight")
    if index.has_duplicates:
        dup = index[index.duplicated()][0]
        raise MvError(f"{what} has duplicate dates, e.g. {dup.date()}")
    out = pd.to_numeric(values, errors="coerce").astype(float).sort_index()
    out.index = pd.DatetimeIndex(out.index, name="date")
    return out


def _check_temperature(temperature: pd.Series, what: str = "temperature") -> pd.Series:
    temps = _daily_series(temperature, what)
    finite = temps.dropna()
    if len(finite) and (finite.max() > 50.0 or finite.min() < -60.0):
        raise MvError(
            f"{what} must be daily means in degC; values span {finite.min():.1f}.."
            f"{finite.max():.1f}, outside -60..50 degC (degF or K?). Convert first: "
            "degC = (degF - 32) / 1.8."
        )
    found = attached_warnings(temperature)
    if found:
        temps.attrs = {**temps.attrs, "warnings": found}
    return temps


def attached_warnings(series: Any) -> list[QualityWarning]:
    """The :class:`QualityWarning` list a Series carries in ``attrs["warnings"]``.

    :func:`daily_temperature` (and so :func:`load_temperature`) attach their warnings there,
    e.g. ``mv.temperature.utc_day_boundary``; :func:`fit_baseline`, :func:`savings` and the
    billing functions copy them into the model's or the result's warnings.
    """
    found = getattr(series, "attrs", {}).get("warnings", [])
    return [w for w in found if isinstance(w, QualityWarning)]


def _in_zone(stamps: pd.Series, tz: str, what: str) -> pd.Series:
    """Instants in zone ``tz``: aware stamps converted, naive ones read as local wall time."""
    if stamps.dt.tz is not None:
        return stamps.dt.tz_convert(tz)
    try:
        return stamps.dt.tz_localize(tz)
    except ValueError as exc:  # an ambiguous or nonexistent local time at a DST change
        raise MvError(
            f"{what} holds naive local times that are ambiguous or nonexistent in {tz} ({exc}); "
            "pass timezone-aware timestamps (e.g. UTC) so that DST days keep their 23 or 25 "
            "hours"
        ) from None


def _local_midnights(dates: pd.DatetimeIndex, tz: Any) -> pd.DatetimeIndex:
    """The instants at which local dates begin in zone ``tz`` (DST-safe)."""
    return dates.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")


def _is_utc(tz: Any) -> bool:
    """True when ``tz`` is UTC itself (an alias or a fixed +00:00), not a zone that is at
    UTC+0 only part of the year or by geography (Europe/London, Africa/Abidjan)."""
    if isinstance(tz, dt.timezone):
        return tz.utcoffset(None) == dt.timedelta(0)
    return str(tz).upper().removeprefix("ETC/") in _UTC_NAMES


_UTC_NAMES = frozenset(
    {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Z", "ZULU", "UNIVERSAL", "GREENWICH"}
)


def _day_range(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(
        pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left", name="date"
    )


# --- usage ---------------------------------------------------------------------------------


def daily_usage(
    store_or_frame: Store | pd.DataFrame,
    meter_ids: str | Sequence[str],
    *,
    tz: str = "Asia/Shanghai",
    start: Any = None,
    end: Any = None,
    interval: str | pd.Timedelta | None = None,
    min_interval_fraction: float = 0.5,
    zero_is_missing: bool = True,
    include_estimated: bool = False,
) -> pd.Series:
    """Daily usage of one or more interval meters, summed at local midnight.

    Parameters
    ----------
    store_or_frame : a :class:`carbon.store.Store` (its current readings are used) or a
        DataFrame with ``meter_id``, ``ts_start`` (tz-aware, or naive local time) and
        ``amount``; optionally ``ts_end`` and ``quality``. A synthetic export read with pandas
        (``meter_id, timestamp, kwh``) is accepted too.
    meter_ids : the meter(s) behind the intervention; their amounts must share one unit
        (the store's canonical unit, kWh for electricity).
    tz : the community's time zone; days run from local midnight (CalTRACK 2.0 §3.3.3.5).
    start, end : first day and the day after the last [local date]; default: the days with
        readings. Days without readings inside the range are missing (NaN).
    interval : the reading interval, e.g. ``"1h"``; default: the median ``ts_end - ts_start``,
        or one hour without ``ts_end``.
    min_interval_fraction : share of a day's intervals that must be present [dimensionless];
        a day above it is filled with the mean of its present intervals (CalTRACK 2.0
        §2.2.2.1: at most 50 % missing). Pass 1.0 to count every incomplete day as missing.
    zero_is_missing : count a meter-day whose usage is 0 as missing (CalTRACK 2.0 §2.2.1.4, for
        electricity; pass False for gas).
    include_estimated : count readings with ``quality == 'estimated'`` (gap-filled) as data;
        by default they count as missing, since M&V must rest on measurements.

    Returns
    -------
    pandas.Series
        Usage per local day [kWh / day], name ``usage_kwh``, daily ``DatetimeIndex`` named
        ``date`` (naive local dates); NaN where missing. ``attrs`` hold ``meter_ids``,
        ``filled_days`` (days completed from a partial count) and ``missing_days``.

    Raises
    ------
    MvError
        For no meter ids, unknown columns, duplicate readings or an interval that does not
        divide a day.
    """
    ids = [meter_ids] if isinstance(meter_ids, str) else list(meter_ids)
    if not ids:
        raise MvError("daily_usage needs at least one meter id")
    if isinstance(store_or_frame, pd.DataFrame):
        frame = store_or_frame.rename(columns={"timestamp": "ts_start", "kwh": "amount"})
        missing = {"meter_id", "ts_start", "amount"} - set(frame.columns)
        if missing:
            raise MvError(
                f"readings frame lacks columns {sorted(missing)}; it needs meter_id, ts_start, "
                "amount (as Store.readings() returns)"
            )
        frame = frame[frame["meter_id"].isin(ids)]
    else:
        parts = [store_or_frame.readings(m) for m in ids]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    frame = frame.copy()
    frame["ts_start"] = _in_zone(pd.to_datetime(frame["ts_start"]), tz, "ts_start")
    if frame.duplicated(["meter_id", "ts_start"]).any():
        row = frame[frame.duplicated(["meter_id", "ts_start"])].iloc[0]
        raise MvError(
            f"duplicate reading for meter {row['meter_id']!r} at {row['ts_start']}; pass current "
            "readings only (Store.readings() keeps the highest revision)"
        )
    if interval is not None:
        step = pd.Timedelta(interval)
    elif "ts_end" in frame and len(frame):
        ends = _in_zone(pd.to_datetime(frame["ts_end"]), tz, "ts_end")
        step = pd.Timedelta((ends - frame["ts_start"]).median())
    else:
        step = pd.Timedelta("1h")
    if step <= pd.Timedelta(0) or pd.Timedelta("1D") % step != pd.Timedelta(0):
        raise MvError(f"the reading interval {step} does not divide a day")
    if not include_estimated and "quality" in frame:
        frame = frame[frame["quality"] != "estimated"]

    frame["date"] = frame["ts_start"].dt.tz_localize(None).dt.normalize()
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype(float)
    frame = frame.dropna(subset=["amount"])
    first = _as_date(start, "start") if start is not None else None
    last = _as_date(end, "end") if end is not None else None
    if first is None or last is None:
        if frame.empty:
            raise MvError(f"no readings for meters {ids}; give start and end to see the gap")
        first = first or frame["date"].min().date()
        last = last or (frame["date"].max() + pd.Timedelta(days=1)).date()
    days = _day_range(first, last)
    if len(days) == 0:
        raise MvError(f"empty period: end {last} is not after start {first}")

    local_start = days.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    local_end = (days + pd.Timedelta(days=1)).tz_localize(
        tz, ambiguous=False, nonexistent="shift_forward"
    )
    expected = pd.Series(
        np.asarray((local_end - local_start) / step, dtype=float), index=days, name="expected"
    )
    grouped = frame.groupby(["meter_id", "date"])["amount"].agg(["sum", "count"])
    per_meter = []
    filled = 0
    for meter_id in ids:
        rows = (
            grouped.loc[meter_id]
            if meter_id in grouped.index.get_level_values(0)
            else pd.DataFrame(columns=["sum", "count"], dtype=float)
        )
        rows = rows.reindex(days)
        count = rows["count"].fillna(0.0)
        fraction = count / expected
        ok = fraction >= min_interval_fraction
        value = (rows["sum"] * expected / count.where(count > 0)).where(ok)
        if zero_is_missing:
            value = value.mask(value == 0.0)
        filled += int((ok & (count < expected)).sum())
        per_meter.append(value.rename(meter_id))
    usage = pd.concat(per_meter, axis=1).sum(axis=1, min_count=len(ids)).rename("usage_kwh")
    usage.index.name = "date"
    usage.attrs = {
        "unit": "kWh",
        "meter_ids": ids,
        "filled_days": filled,
        "missing_days": int(usage.isna().sum()),
        "rules": "CalTRACK 2.0 §2.2.2.1 (<= 50 % intervals missing, mean-filled), §2.2.1.4",
    }
    return usage


# --- temperature -----------------------------------------------------------------------------


def daily_temperature(
    hourly: pd.Series,
    *,
    max_gap_hours: int = 6,
    min_hour_fraction: float = 0.5,
    tz: str | None = None,
) -> pd.Series:
    """Daily mean temperature from hourly values, over the meter's local days.

    Days run from local midnight to local midnight of the meter's time zone (CalTRACK 2.0
    §3.3.3.5; meter and weather data on one zone, §2.3.3). With a timezone-aware index the
    days are true days: the day clocks go forward has 23 hours and the day they go back 25,
    each hour counted once. A naive index is read as the meter's local wall time, 24 hours a
    day (right for zones without summer time, like Asia/Shanghai since 1991).

    Parameters
    ----------
    hourly : hourly temperature [degC] on a DatetimeIndex (interval start; tz-aware or local
        wall time).
    max_gap_hours : longest run of missing hours filled by linear interpolation [h]
        (CalTRACK 2.0 §2.2.4.1: six).
    min_hour_fraction : share of a day's hours that must be present after interpolation
        [dimensionless] (CalTRACK 2.0 §2.2.2.3 / §3.5.1.2: at most 50 % missing).
    tz : the meter's IANA time zone, e.g. ``"Asia/Shanghai"``; a tz-aware index is converted
        to it, a naive one is read as its local time (an ambiguous or nonexistent DST hour
        is then an error: pass aware stamps). Default: the index's own zone, or wall time
        for a naive index.

    Returns
    -------
    pandas.Series
        Daily mean [degC], name ``temperature_degC``, naive daily index ``date`` (local
        dates); NaN where too many hours are missing. ``attrs["warnings"]`` holds
        ``mv.temperature.utc_day_boundary`` when the index is in UTC and no ``tz`` was given:
        the days then run from UTC midnight, which is not the meter's day anywhere but at
        UTC+0 (Shanghai's day starts at 16:00 UTC). Fitting and savings functions copy the
        warning into their results.

    Raises
    ------
    MvError
        For an empty or non-datetime series, or naive stamps that are ambiguous in ``tz``.
    """
    if not isinstance(hourly, pd.Series) or not isinstance(hourly.index, pd.DatetimeIndex):
        raise MvError("hourly temperature must be a Series on a DatetimeIndex")
    values = pd.to_numeric(hourly, errors="coerce").astype(float).sort_index()
    if len(values) == 0:
        raise MvError("hourly temperature is empty")
    warnings: list[QualityWarning] = []
    index = pd.DatetimeIndex(values.index)
    if index.tz is None and tz is not None:
        values.index = pd.DatetimeIndex(_in_zone(index.to_series(), tz, "hourly temperature"))
    elif index.tz is not None and tz is None and _is_utc(index.tz):
        warnings.append(
            QualityWarning(
                "mv.temperature.utc_day_boundary",
                f"hourly temperature is indexed in {index.tz} and no meter time zone was "
                "given: daily means run from UTC midnight, not from the meter's local "
                "midnight; pass tz (e.g. tz='Asia/Shanghai', whose day starts at 16:00 UTC)",
                {"index_tz": str(index.tz), "clause": "CalTRACK 2.0 §3.3.3.5, §2.3.3"},
            )
        )
    if values.index.tz is None:
        out = _wall_clock_daily_means(values, max_gap_hours, min_hour_fraction)
    else:
        out = _local_daily_means(values, tz or values.index.tz, max_gap_hours, min_hour_fraction)
    out = _check_temperature(out)
    if warnings:
        out.attrs = {**out.attrs, "warnings": warnings}
    return out


def _fill_short_gaps(values: pd.Series, max_gap_hours: int) -> pd.Series:
    """Linear interpolation of runs of at most ``max_gap_hours`` missing hours (§2.2.4.1)."""
    gaps = values.isna()
    run_id = (gaps != gaps.shift()).cumsum()
    run_length = gaps.groupby(run_id).transform("size")
    interpolated = values.interpolate(method="time", limit_area="inside")
    return values.where(~gaps, interpolated.where(run_length <= max_gap_hours))


def _mean_per_day(values: pd.Series, day: pd.DatetimeIndex, min_hour_fraction: float) -> pd.Series:
    grouped = values.groupby(day)
    mean = grouped.mean()
    share = grouped.count() / grouped.size()
    out = mean.where(share >= min_hour_fraction).rename("temperature_degC")
    out.index = pd.DatetimeIndex(out.index, name="date")
    return out


def _wall_clock_daily_means(
    values: pd.Series, max_gap_hours: int, min_hour_fraction: float
) -> pd.Series:
    """Naive (wall-clock) hours: every day has 24."""
    full = pd.date_range(
        values.index.min().floor("D"),
        values.index.max().floor("D") + pd.Timedelta(hours=23),
        freq="h",
    )
    values = _fill_short_gaps(values[~values.index.duplicated()].reindex(full), max_gap_hours)
    return _mean_per_day(values, values.index.normalize(), min_hour_fraction)


def _local_daily_means(
    values: pd.Series, tz: Any, max_gap_hours: int, min_hour_fraction: float
) -> pd.Series:
    """Aware hours on an absolute hourly grid, grouped by the local date of each instant: a
    DST day has 23 or 25 hours. The grid keeps the data's own minutes past the hour (zones
    at UTC+5:30 or +5:45) and runs from the first local midnight to the last."""
    values = values.tz_convert(tz)
    values = values[~values.index.duplicated()]
    step = pd.Timedelta(hours=1)
    first, last = values.index.min(), values.index.max()
    local_days = pd.DatetimeIndex([first, last]).tz_localize(None).normalize()
    bounds = _local_midnights(
        pd.DatetimeIndex([local_days[0], local_days[1] + pd.Timedelta(days=1)]), tz
    )
    grid_start = first - ((first - bounds[0]) // step) * step
    grid_end = last + (-((last - bounds[1]) // step) - 1) * step
    full = pd.date_range(grid_start, grid_end, freq=step)
    values = _fill_short_gaps(values.reindex(full), max_gap_hours)
    day = pd.DatetimeIndex(values.index.tz_localize(None)).normalize()
    return _mean_per_day(values, day, min_hour_fraction)


def load_temperature(
    source: str | Path | pd.Series,
    *,
    coerce_year: int | None = None,
    tz: str | None = None,
    column: str | None = None,
) -> pd.Series:
    """Daily mean outdoor temperature from a user file or a Series, validated.

    Parameters
    ----------
    source : one of

        * a Series of daily means [degC] on a date index, e.g.
          :func:`carbon.climate.synthetic_daily_temperature` (a seeded synthetic Shanghai year
          from the cited normals) or ``SynthResult.temperature``;
        * a CSV with columns ``date,temperature_degC`` (daily means; the format of
          ``synthetic_temperature_daily.csv``), or ``timestamp,temperature_degC`` (hourly,
          averaged with :func:`daily_temperature`; ISO 8601 stamps with offsets, e.g.
          ``2024-11-03T01:00-05:00``, are read as instants, also across a DST change);
        * an EnergyPlus weather file (``.epw``), read with :func:`pvlib.iotools.read_epw`; its
          hourly ``temp_air`` (99.9 = missing) is averaged per local day (the file's standard
          time, or ``tz``'s true days when given).
    coerce_year : for EPW typical-year files, the year to give every row (pvlib's argument).
    tz : the meter's IANA time zone for hourly files, passed to :func:`daily_temperature`:
        days then run from the meter's local midnight. Hourly stamps in UTC without ``tz``
        give the warning ``mv.temperature.utc_day_boundary``.
    column : the CSV's temperature column [degC]; default: ``temperature_degC``, else the
        first of :data:`carbon.climate.TEMPERATURE_COLUMNS` found (``temperature``,
        ``tavg``, ``日平均气温``, ``气温(℃)``...). The date column may also be named ``日期``
        (``时间`` for hourly stamps).

    Returns
    -------
    pandas.Series
        Daily mean temperature [degC], name ``temperature_degC``, daily index ``date``.

    Raises
    ------
    TemperatureFileError
        When the file is missing, unreadable or lacks the columns.
    MvError
        When the values are not plausible daily means in degC (e.g. degF).
    """
    if isinstance(source, pd.Series):
        return _check_temperature(source.rename("temperature_degC"))
    path = Path(source)
    if not path.is_file():
        raise TemperatureFileError(path, "no such file")
    if path.suffix.lower() == ".epw":
        from pvlib.iotools import read_epw

        try:
            data, _meta = read_epw(path, coerce_year=coerce_year)
        except Exception as exc:  # pvlib raises bare pandas/ValueErrors on bad files
            raise TemperatureFileError(path, f"not a readable EPW file: {exc}") from None
        temps = data["temp_air"].astype(float).mask(data["temp_air"] >= 99.9)
        # pvlib's index is the interval start in the file's own fixed offset (local time).
        return daily_temperature(temps.rename("temperature_degC"), tz=tz)
    try:
        frame = pd.read_csv(path, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise TemperatureFileError(path, f"not a readable UTF-8 CSV: {exc}") from None
    from carbon.climate import temperature_column

    # the date column under the names weather exports use (日期 in Chinese stations' files)
    frame = frame.rename(columns={c: "date" for c in ("日期", "Date", "DATE")})
    frame = frame.rename(columns={c: "timestamp" for c in ("时间", "Timestamp", "time")})
    temperature = temperature_column([str(c) for c in frame.columns], column)
    if temperature is None or not ({"date", "timestamp"} & set(frame)):
        wanted = repr(column) if column else "temperature_degC"
        raise TemperatureFileError(
            path,
            f"columns {list(frame.columns)}; expected date,{wanted} (daily means) or "
            f"timestamp,{wanted} (hourly), in degC",
            field="header",
        )
    key = "date" if "date" in frame.columns else "timestamp"
    try:
        stamps = _read_stamps(frame[key], mixed_offsets_as_utc=key == "timestamp")
    except (ValueError, TypeError) as exc:
        raise TemperatureFileError(path, f"unreadable {key}: {exc}", field=key) from None
    series = pd.Series(frame[temperature].to_numpy(dtype=float), index=stamps)
    if key == "timestamp":
        return daily_temperature(series, tz=tz)
    return _check_temperature(series.rename("temperature_degC"))


def _read_stamps(column: pd.Series, *, mixed_offsets_as_utc: bool) -> pd.DatetimeIndex:
    """ISO 8601 stamps; offsets that change within the file (summer time) are read as UTC
    instants, which :func:`daily_temperature` then splits on the meter's local days."""
    try:
        return pd.DatetimeIndex(pd.to_datetime(column, format="ISO8601"))
    except ValueError:
        if not mixed_offsets_as_utc:
            raise
        return pd.DatetimeIndex(pd.to_datetime(column, format="ISO8601", utc=True))


# --- design matrix and metrics -----------------------------------------------------------------


def design_matrix(
    temperature: pd.Series,
    heating_balance_point: float | None = None,
    cooling_balance_point: float | None = None,
) -> pd.DataFrame:
    """The CalTRACK daily design matrix: intercept, HDD and CDD at given balance points.

    Parameters
    ----------
    temperature : daily mean temperature [degC].
    heating_balance_point : HDD base [degC]; None leaves the HDD column out.
    cooling_balance_point : CDD base [degC]; None leaves the CDD column out.

    Returns
    -------
    pandas.DataFrame
        Columns ``intercept`` (1), ``hdd`` = max(bp_H - T, 0) and ``cdd`` = max(T - bp_C, 0)
        [delta_degC * day / day], same index; NaN temperature gives NaN degree days.

    References
    ----------
    CalTRACK 2.0 §3.3.4-3.3.5 (daily: n_d,p = 1).
    """
    from carbon.climate import cooling_degree_days, heating_degree_days

    if (
        heating_balance_point is not None
        and cooling_balance_point is not None
        and cooling_balance_point < heating_balance_point
    ):
        raise MvError(
            f"cooling balance point {cooling_balance_point} degC is below the heating balance "
            f"point {heating_balance_point} degC (CalTRACK 2.0 §3.2.2.1)"
        )
    temps = pd.Series(temperature, dtype=float)
    columns = {"intercept": pd.Series(1.0, index=temps.index)}
    if heating_balance_point is not None:
        columns["hdd"] = heating_degree_days(temps, heating_balance_point)
    if cooling_balance_point is not None:
        columns["cdd"] = cooling_degree_days(temps, cooling_balance_point)
    return pd.DataFrame(columns)


def _paired(observed: Any, predicted: Any, n_parameters: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(observed, dtype=float)
    yhat = np.asarray(predicted, dtype=float)
    if y.shape != yhat.shape:
        raise MvError(f"observed {y.shape} and predicted {yhat.shape} differ in length")
    keep = np.isfinite(y) & np.isfinite(yhat)
    if int(keep.sum()) <= n_parameters:
        raise MvError(
            f"{int(keep.sum())} points cannot support {n_parameters} parameters (n - p must be > 0)"
        )
    return y[keep], yhat[keep]


def cvrmse(observed: Any, predicted: Any, n_parameters: int = 1) -> float:
    """Coefficient of variation of the RMSE, ``sqrt(sum((y - yhat)^2) / (n - p)) / mean(y)``.

    Parameters
    ----------
    observed, predicted : paired values [any unit]; pairs with a NaN are skipped.
    n_parameters : p, the number of model parameters [dimensionless].

    Returns
    -------
    float
        CV(RMSE) [dimensionless] (0.15 = 15 %).

    References
    ----------
    ASHRAE Guideline 14-2014, Annex B (G14-2002 eq. 5.5); docs/research/climate.md §6.
    """
    y, yhat = _paired(observed, predicted, n_parameters)
    return float(np.sqrt(np.sum((y - yhat) ** 2) / (len(y) - n_parameters)) / np.mean(y))


def nmbe(observed: Any, predicted: Any, n_parameters: int = 1) -> float:
    """Normalised mean bias error, ``sum(y - yhat) / ((n - p) * mean(y))``.

    Positive when the model under-predicts (measured minus predicted, G14's order).

    Parameters
    ----------
    observed, predicted : paired values [any unit]; pairs with a NaN are skipped.
    n_parameters : p, the number of model parameters [dimensionless].

    Returns
    -------
    float
        NMBE [dimensionless]. An OLS fit with an intercept has NMBE = 0 on its own data.

    References
    ----------
    ASHRAE Guideline 14-2014, Annex B (G14-2002 eq. 5.4); docs/research/climate.md §6.
    """
    y, yhat = _paired(observed, predicted, n_parameters)
    return float(np.sum(y - yhat) / ((len(y) - n_parameters) * np.mean(y)))


def _t_statistic(confidence: float, degrees_of_freedom: float) -> float:
    from scipy.stats import t

    if not 0.0 < confidence < 1.0:
        raise MvError(f"confidence must be in (0, 1), e.g. 0.68 or 0.90; got {confidence!r}")
    return float(t.ppf(1.0 - (1.0 - confidence) / 2.0, degrees_of_freedom))


def savings_uncertainty(
    *,
    cvrmse: float,
    predicted_total: float,
    n_baseline: int,
    n_parameters: int,
    n_reporting: int,
    autocorrelation: float = 0.0,
    confidence: float = 0.90,
    reporting_months: float | None = None,
    coefficients: tuple[float, float, float] = SUN_BALTAZAR_DAILY,
) -> float:
    """Half-width of the confidence interval of metered savings over a reporting period.

    ``U = t * Y(M) * CV * E_pred * sqrt((n / n') * (1 + 2 / n') / m)``, with
    ``n' = n * (1 - rho) / (1 + rho)``. The fractional savings uncertainty is ``U / savings``.

    This is ASHRAE Guideline 14-2014 Annex B's fractional savings uncertainty
    ``dE/E = t * 1.26 * CV * sqrt((n/n') (1 + 2/n') / m) / F`` (Reddy & Claridge 2000;
    ``F`` = savings / ``E_pred``) multiplied out by the savings, with the empirical 1.26 (for
    monthly data) replaced by the daily-data polynomial of Sun & Baltazar (2013),
    ``Y(M) = -0.00024 M^2 + 0.03535 M + 1.00286`` with ``M = m / 30`` reporting months: the
    common form used by eemeter (``_compute_fsu_error``, daily branch). One difference from
    eemeter: ``E_pred`` here is the predicted (counterfactual) use over the reporting days, as
    in G14, where eemeter scales the baseline period's observed total.

    Parameters
    ----------
    cvrmse : CV(RMSE) of the baseline model, n - p form [dimensionless].
    predicted_total : predicted baseline use over the m reporting days [kWh] (or any unit;
        the result has the same unit).
    n_baseline : n, baseline days used in the fit [day].
    n_parameters : p, parameters of the baseline model [dimensionless].
    n_reporting : m, reporting observations with both prediction and metered use: days
        (daily method) or billing periods (billing method) [dimensionless].
    autocorrelation : rho, lag-1 autocorrelation of the baseline residuals [dimensionless].
        Negative values are taken as 0, so that n' <= n (conservative; G14's adjustment is
        for positive autocorrelation).
    confidence : two-sided confidence level [dimensionless], e.g. 0.68 or 0.90; t is
        Student's t at ``1 - (1 - confidence)/2`` with n - p degrees of freedom.
    reporting_months : M, the reporting length in the polynomial [month]; default
        ``n_reporting / 30`` (daily data, as eemeter). The billing method passes the calendar
        months its counted bills span.
    coefficients : (a, b, c) of ``Y(M) = a M^2 + b M + c``; default
        :data:`SUN_BALTAZAR_DAILY`, :data:`carbon.mv_billing.SUN_BALTAZAR_MONTHLY` for bills.

    Returns
    -------
    float
        U, the half-width [unit of ``predicted_total``].

    References
    ----------
    ASHRAE Guideline 14-2014, Annex B (savings uncertainty; the exact equation number was not
    checked against the standard here); Reddy, T.A. and Claridge, D.E. (2000), "Uncertainty of
    'measured' energy savings from statistical baseline models", HVAC&R Research 6(1) 3-20;
    Sun, Y. and Baltazar, J.C. (2013), ASHRAE Trans. 119(1); eemeter ``_compute_fsu_error``.
    LBNL (RMV2.0 issue #7) found the G14 formulas to *under*-estimate uncertainty for
    high-frequency data: read the band as a lower bound on the true uncertainty.
    """
    if n_reporting <= 0 or n_baseline <= n_parameters:
        raise MvError(
            f"need m > 0 reporting days and n > p baseline days; got m={n_reporting}, "
            f"n={n_baseline}, p={n_parameters}"
        )
    rho = min(max(float(autocorrelation), 0.0), 0.99)
    n_effective = n_baseline * (1.0 - rho) / (1.0 + rho)
    months = n_reporting / 30.0 if reporting_months is None else float(reporting_months)
    a, b, c = coefficients
    correction = a * months**2 + b * months + c
    t_stat = _t_statistic(confidence, n_baseline - n_parameters)
    return float(
        t_stat
        * correction
        * cvrmse
        * predicted_total
        * math.sqrt((n_baseline / n_effective) * (1.0 + 2.0 / n_effective) / n_reporting)
    )


# --- sufficiency -----------------------------------------------------------------------------


def check_sufficiency(
    usage: pd.Series,
    temperature: pd.Series,
    baseline_start: Any,
    baseline_end: Any,
) -> list[QualityWarning]:
    """CalTRACK data-sufficiency checks of a baseline period.

    Parameters
    ----------
    usage : daily usage [kWh / day] (e.g. from :func:`daily_usage`); NaN = missing.
    temperature : daily mean temperature [degC]; NaN or absent = missing.
    baseline_start, baseline_end : first day and the day after the last [local date].

    Returns
    -------
    list of QualityWarning
        Codes (``data`` always holds the ``clause``):

        ``mv.sufficiency.too_short`` (serious)
            fewer than 365 days between start and end (CalTRACK 2.0 §2.2.1.1).
        ``mv.sufficiency.too_many_missing`` (serious)
            more than ``ceil(10 % of days)`` days (37 of 365) lack usage or temperature
            (CalTRACK 2.0 §2.2.1.2; missing = NaN, §2.2.1.3).
        ``mv.temperature.missing``
            days without temperature; their usage is masked and they count as missing
            (CalTRACK 2.0 §2.2.1.2, §3.5.1.1).
        ``mv.usage.negative``
            negative daily usage: possible unreported net metering (CalTRACK 2.0 §2.3.5).
        ``mv.usage.extreme``
            days more than 3 IQR above the median, to review (CalTRACK 2.0 §2.3.6).
    """
    first = _as_date(baseline_start, "baseline_start")
    last = _as_date(baseline_end, "baseline_end")
    if last <= first:
        raise MvError(f"empty baseline: end {last} is not after start {first}")
    use = _daily_series(usage, "usage")
    temps = _check_temperature(temperature)
    days = _day_range(first, last)
    use_b = use.reindex(days)
    temp_b = temps.reindex(days)
    warnings: list[QualityWarning] = []
    n_days = len(days)
    if n_days < BASELINE_DAYS:
        warnings.append(
            QualityWarning(
                "mv.sufficiency.too_short",
                f"baseline {first}..{last} has {n_days} days; CalTRACK needs {BASELINE_DAYS}",
                {"days": n_days, "required": BASELINE_DAYS, "clause": "CalTRACK 2.0 §2.2.1.1"},
            )
        )
    no_temp = temp_b.isna()
    if no_temp.any():
        warnings.append(
            QualityWarning(
                "mv.temperature.missing",
                f"{int(no_temp.sum())} baseline days have no temperature; their usage is "
                "masked and counted as missing",
                {
                    "days": int(no_temp.sum()),
                    "first_dates": [d.date().isoformat() for d in days[no_temp.to_numpy()][:10]],
                    "clause": "CalTRACK 2.0 §2.2.1.2, §3.5.1.1",
                },
            )
        )
    missing = use_b.isna() | no_temp
    allowed = math.ceil(MAX_MISSING_FRACTION * n_days - 1e-9)
    if int(missing.sum()) > allowed:
        warnings.append(
            QualityWarning(
                "mv.sufficiency.too_many_missing",
                f"{int(missing.sum())} of {n_days} baseline days ({missing.mean():.0%}) lack "
                f"usage or temperature; at most {allowed} (10 %) may be missing",
                {
                    "missing_days": int(missing.sum()),
                    "missing_usage_days": int(use_b.isna().sum()),
                    "missing_temperature_days": int(no_temp.sum()),
                    "days": n_days,
                    "allowed": allowed,
                    "clause": "CalTRACK 2.0 §2.2.1.2",
                },
            )
        )
    present = use_b.dropna()
    negative, extreme, limit = usage_outliers(present)
    if len(negative):
        warnings.append(
            QualityWarning(
                "mv.usage.negative",
                f"{len(negative)} baseline days have negative usage: possible unreported net "
                "metering (on-site generation); review before trusting the baseline",
                {"days": len(negative), "clause": "CalTRACK 2.0 §2.3.5"},
            )
        )
    if len(extreme) and limit is not None:
        warnings.append(
            QualityWarning(
                "mv.usage.extreme",
                f"{len(extreme)} baseline days exceed median + 3 IQR ({limit:,.1f}); review "
                "them as possible outliers",
                {
                    "days": len(extreme),
                    "limit": float(limit),
                    "dates": [d.date().isoformat() for d in extreme.index[:10]],
                    "clause": "CalTRACK 2.0 §2.3.6",
                },
            )
        )
    return warnings


def usage_outliers(values: pd.Series) -> tuple[pd.Series, pd.Series, float | None]:
    """The baseline values CalTRACK 2.0 asks to review: negative ones (§2.3.5, possible
    unreported net metering) and those above median + 3 IQR (§2.3.6), the latter only with at
    least four values and a non-zero IQR.

    Parameters
    ----------
    values : daily usage [kWh / day] or usage per day of bills [kWh / day], NaN-free.

    Returns
    -------
    (negative, extreme, limit) : the two selections of ``values`` and the limit [kWh / day]
        (None when the IQR rule does not apply).
    """
    negative = values[values < 0]
    if len(values) < 4:
        return negative, values.iloc[:0], None
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    if not q3 > q1:
        return negative, values.iloc[:0], None
    limit = float(median + 3.0 * (q3 - q1))
    return negative, values[values > limit], limit


# --- fitting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentFit:
    """The selected CalTRACK candidate of one day type.

    Attributes
    ----------
    day_type : ``all``, ``weekday`` or ``weekend``.
    model_type : ``intercept_only``, ``hdd_only``, ``cdd_only`` or ``hdd_cdd``.
    intercept : mu, base load [kWh / day].
    beta_heating : beta_H [kWh / (delta_degC * day)]; 0 without an HDD term.
    beta_cooling : beta_C [kWh / (delta_degC * day)]; 0 without a CDD term.
    heating_balance_point, cooling_balance_point : [degC]; None without the term.
    n_days : days fitted [day].
    r2, r2_adj : R^2 and adjusted R^2 of this segment [dimensionless].
    """

    day_type: str
    model_type: str
    intercept: float
    beta_heating: float
    beta_cooling: float
    heating_balance_point: float | None
    cooling_balance_point: float | None
    n_days: int
    r2: float
    r2_adj: float

    @property
    def n_parameters(self) -> int:
        """Number of fitted parameters (1 + the degree-day slopes)."""
        return (
            1 + (self.heating_balance_point is not None) + (self.cooling_balance_point is not None)
        )

    def predict(self, temperature: np.ndarray) -> np.ndarray:
        """Usage [kWh / day] for daily mean temperatures [degC]."""
        temps = np.asarray(temperature, dtype=float)
        out = np.full(temps.shape, self.intercept)
        if self.heating_balance_point is not None:
            out = out + self.beta_heating * np.maximum(self.heating_balance_point - temps, 0.0)
        if self.cooling_balance_point is not None:
            out = out + self.beta_cooling * np.maximum(temps - self.cooling_balance_point, 0.0)
        return out


def _day_type_labels(index: pd.DatetimeIndex, day_types: str) -> np.ndarray:
    if day_types == "all":
        return np.full(len(index), "all", dtype=object)
    return np.where(index.day_of_week < 5, "weekday", "weekend").astype(object)


def _fit_segment(
    day_type: str,
    y: np.ndarray,
    temps: np.ndarray,
    heating_points: np.ndarray,
    cooling_points: np.ndarray,
    years: float,
    max_p_value: float | None,
) -> tuple[SegmentFit, pd.DataFrame]:
    """CalTRACK grid search of one segment of daily data: fit, qualify, select (§3.2-3.4)."""
    n = len(y)
    if n < _MIN_DAYS_TO_FIT:
        raise MvError(
            f"only {n} '{day_type}' days with usage and temperature; a baseline needs at least "
            f"{_MIN_DAYS_TO_FIT} per day type"
        )
    hdd = np.maximum(heating_points[None, :] - temps[:, None], 0.0)  # [day, bp]
    cdd = np.maximum(temps[:, None] - cooling_points[None, :], 0.0)
    min_days = MIN_NONZERO_DAYS_PER_YEAR * years
    min_dd = MIN_DEGREE_DAYS_PER_YEAR * years
    h_ok = ((hdd > 0).sum(axis=0) >= min_days) & (hdd.sum(axis=0) >= min_dd)
    c_ok = ((cdd > 0).sum(axis=0) >= min_days) & (cdd.sum(axis=0) >= min_dd)
    return grid_search(
        day_type, y, hdd, cdd, heating_points, cooling_points, h_ok, c_ok, max_p_value
    )


def grid_search(
    day_type: str,
    y: np.ndarray,
    hdd: np.ndarray,
    cdd: np.ndarray,
    heating_points: np.ndarray,
    cooling_points: np.ndarray,
    h_ok: np.ndarray,
    c_ok: np.ndarray,
    max_p_value: float | None,
    weights: np.ndarray | None = None,
) -> tuple[SegmentFit, pd.DataFrame]:
    """Fit every CalTRACK candidate, qualify it and select the best (§3.4.3).

    Shared by the daily method (OLS, §3.4.1) and the billing method
    (:mod:`carbon.mv_billing`: WLS weighted by the days of each period, §3.4.2).

    Parameters
    ----------
    day_type : the segment's label (``all``, ``weekday``, ``weekend`` or ``billing``).
    y : usage per day of each observation (day or billing period) [kWh / day].
    hdd, cdd : degree days per day of each observation at each balance point
        [delta_degC * day / day], shape (observations, balance points).
    heating_points, cooling_points : the balance-point grids [degC].
    h_ok, c_ok : which balance points pass the degree-day sufficiency rules (§3.2.2.2).
    max_p_value : optional p-value screen of the slopes (off in CalTRACK 2.0).
    weights : WLS weights, e.g. days per billing period [day]; None for OLS. R^2 and
        adjusted R^2 are then the weighted ones (as statsmodels' WLS reports them).

    Returns
    -------
    (SegmentFit, pandas.DataFrame)
        The selected candidate and the table of every candidate.
    """
    n = len(y)
    if weights is None:
        root_w = None
        sst = float(np.sum((y - y.mean()) ** 2))
    else:
        w = np.asarray(weights, dtype=float)
        root_w = np.sqrt(w)
        sst = float(w @ (y - float(w @ y) / float(w.sum())) ** 2)
    rows: list[dict[str, Any]] = []

    def fit(model_type: str, i_h: int | None, i_c: int | None) -> None:
        columns = [np.ones(n)]
        if i_h is not None:
            columns.append(hdd[:, i_h])
        if i_c is not None:
            columns.append(cdd[:, i_c])
        x = np.column_stack(columns)
        if root_w is None:
            xw = x
            beta, *_ = np.linalg.lstsq(x, y, rcond=None)
            resid = y - x @ beta
            ssr = float(resid @ resid)
        else:
            xw = x * root_w[:, None]
            beta, *_ = np.linalg.lstsq(xw, y * root_w, rcond=None)
            resid = (y - x @ beta) * root_w
            ssr = float(resid @ resid)
        slopes = x.shape[1] - 1
        r2 = 1.0 - ssr / sst if sst > 0 else 0.0
        r2_adj = 1.0 - (ssr / (n - slopes - 1)) / (sst / (n - 1)) if sst > 0 else 0.0
        if slopes == 0:
            r2_adj = 0.0  # §3.4.3.1.4: "adjusted R-squared is 0 by definition"
        beta_h = float(beta[1]) if i_h is not None else 0.0
        beta_c = float(beta[-1]) if i_c is not None else 0.0
        reason = ""
        if beta[0] <= 0 or (i_h is not None and beta_h <= 0) or (i_c is not None and beta_c <= 0):
            reason = "non_positive_estimate"
        elif max_p_value is not None and slopes:
            from scipy.stats import t

            sigma2 = ssr / (n - slopes - 1)
            cov = sigma2 * np.linalg.pinv(xw.T @ xw)
            se = np.sqrt(np.maximum(np.diag(cov)[1:], 1e-300))
            p_values = 2.0 * t.sf(np.abs(beta[1:]) / se, n - slopes - 1)
            if (p_values > max_p_value).any():
                reason = "p_value"
        rows.append(
            {
                "day_type": day_type,
                "model_type": model_type,
                "heating_balance_point": None if i_h is None else float(heating_points[i_h]),
                "cooling_balance_point": None if i_c is None else float(cooling_points[i_c]),
                "intercept": float(beta[0]),
                "beta_heating": beta_h,
                "beta_cooling": beta_c,
                "r2": r2,
                "r2_adj": r2_adj,
                "qualified": reason == "",
                "reason": reason,
            }
        )

    def skip(model_type: str, hp: float | None, cp: float | None, reason: str) -> None:
        rows.append(
            {
                "day_type": day_type,
                "model_type": model_type,
                "heating_balance_point": hp,
                "cooling_balance_point": cp,
                "intercept": math.nan,
                "beta_heating": math.nan,
                "beta_cooling": math.nan,
                "r2": math.nan,
                "r2_adj": math.nan,
                "qualified": False,
                "reason": reason,
            }
        )

    fit("intercept_only", None, None)
    for i, bp in enumerate(heating_points):
        if h_ok[i]:
            fit("hdd_only", i, None)
        else:
            skip("hdd_only", float(bp), None, "too_few_degree_days")
    for j, bp in enumerate(cooling_points):
        if c_ok[j]:
            fit("cdd_only", None, j)
        else:
            skip("cdd_only", None, float(bp), "too_few_degree_days")
    for i, hp in enumerate(heating_points):
        for j, cp in enumerate(cooling_points):
            if cp < hp:
                continue  # §3.2.2.1: cooling balance point >= heating balance point
            if h_ok[i] and c_ok[j]:
                fit("hdd_cdd", i, j)
            else:
                skip("hdd_cdd", float(hp), float(cp), "too_few_degree_days")
    table = pd.DataFrame(rows)
    qualified = table[table["qualified"]]
    if qualified.empty:
        what = "the billing periods" if day_type == "billing" else f"'{day_type}' days"
        raise MvError(
            f"no CalTRACK candidate qualifies for {what} (mean usage "
            f"{y.mean():,.3f}): every estimate must be positive (CalTRACK 2.0 §3.4.3.2). "
            "Negative or zero usage suggests net metering."
        )
    # Highest adjusted R^2 (§3.4.3.3); ties go to the first, i.e. the simpler model.
    best = table.loc[qualified["r2_adj"].idxmax()]
    segment = SegmentFit(
        day_type=day_type,
        model_type=str(best["model_type"]),
        intercept=float(best["intercept"]),
        beta_heating=float(best["beta_heating"]),
        beta_cooling=float(best["beta_cooling"]),
        heating_balance_point=None
        if pd.isna(best["heating_balance_point"])
        else float(best["heating_balance_point"]),
        cooling_balance_point=None
        if pd.isna(best["cooling_balance_point"])
        else float(best["cooling_balance_point"]),
        n_days=n,
        r2=float(best["r2"]),
        r2_adj=float(best["r2_adj"]),
    )
    return segment, table


@dataclass(frozen=True)
class BaselineModel:
    """A fitted CalTRACK daily baseline (one segment, or weekday and weekend segments).

    Attributes
    ----------
    segments : the selected model per day type (``all``, or ``weekday`` and ``weekend``).
    day_types : ``all`` (CalTRACK 2.0) or ``weekday_weekend`` (eemeter-4-style split).
    baseline_start, baseline_end : the baseline period ``[start, end)`` [local date].
    n_days : n, days fitted (usage and temperature present) [day].
    n_parameters : p, parameters over all segments [dimensionless].
    r2, r2_adj : over all fitted days [dimensionless].
    rmse : ``sqrt(SS_res / (n - p))`` [kWh / day].
    cvrmse, nmbe : ASHRAE G14 definitions with n - p [dimensionless].
    mean_usage : mean observed baseline usage [kWh / day].
    autocorrelation : lag-1 autocorrelation of the residuals, consecutive days only
        [dimensionless].
    residuals : observed - predicted on fitted days [kWh / day].
    candidates : every candidate tried, with its estimates, fit and why it failed.
    warnings : data-quality and model warnings.
    meter_ids : meters behind the usage (from ``usage.attrs``), if known.
    method : the method's name.
    """

    segments: dict[str, SegmentFit]
    day_types: str
    baseline_start: dt.date
    baseline_end: dt.date
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
    candidates: pd.DataFrame = field(repr=False)
    warnings: list[QualityWarning] = field(default_factory=list)
    meter_ids: tuple[str, ...] = ()
    method: str = "CalTRACK 2.0 daily (§3.2-3.4), OLS, balance-point grid search"

    @property
    def model_type(self) -> str:
        """The model type, joined over segments (e.g. ``hdd_cdd`` or ``hdd_cdd/cdd_only``)."""
        return "/".join(s.model_type for s in self.segments.values())

    def predict(self, temperature: pd.Series) -> pd.Series:
        """Predicted baseline usage for daily temperatures.

        Parameters
        ----------
        temperature : daily mean temperature [degC] on a date index.

        Returns
        -------
        pandas.Series
            Predicted usage [kWh / day], name ``predicted_usage_kwh``, same index; NaN where
            the temperature is missing (CalTRACK 2.0 §3.5.3.1).
        """
        temps = _check_temperature(temperature)
        labels = _day_type_labels(temps.index, self.day_types)
        out = np.full(len(temps), np.nan)
        values = temps.to_numpy()
        for label, segment in self.segments.items():
            mask = labels == label
            out[mask] = segment.predict(values[mask])
        out[np.isnan(values)] = np.nan
        return pd.Series(out, index=temps.index, name="predicted_usage_kwh")

    def summary(self) -> dict[str, Any]:
        """The fields a savings claim should carry (docs/research/climate.md §6)."""
        return {
            "ipmvp_option": "C",
            "method": self.method,
            "day_types": self.day_types,
            "baseline_period": f"{self.baseline_start}..{self.baseline_end}",
            "model_type": self.model_type,
            "heating_balance_point_degC": {
                k: s.heating_balance_point for k, s in self.segments.items()
            },
            "cooling_balance_point_degC": {
                k: s.cooling_balance_point for k, s in self.segments.items()
            },
            "n_days": self.n_days,
            "n_parameters": self.n_parameters,
            "r2": self.r2,
            "r2_adj": self.r2_adj,
            "cvrmse": self.cvrmse,
            "nmbe": self.nmbe,
            "autocorrelation": self.autocorrelation,
            "warnings": [w.code for w in self.warnings],
        }


def fit_baseline(
    usage: pd.Series,
    temperature: pd.Series,
    *,
    baseline_start: Any = None,
    baseline_end: Any = None,
    heating_balance_points: Iterable[float] = DEFAULT_BALANCE_POINTS,
    cooling_balance_points: Iterable[float] = DEFAULT_BALANCE_POINTS,
    day_types: DayTypes = "all",
    max_p_value: float | None = None,
    strict: bool = True,
) -> BaselineModel:
    """Fit a CalTRACK 2.0 daily baseline: usage per day against HDD and CDD.

    Parameters
    ----------
    usage : daily usage [kWh / day]; NaN = missing.
    temperature : daily mean temperature [degC].
    baseline_start, baseline_end : baseline ``[start, end)`` [local date]; default: the span
        of ``usage``.
    heating_balance_points, cooling_balance_points : the grids [degC]; default
        :data:`DEFAULT_BALANCE_POINTS` (-1..32 degC by 1 K; CalTRACK 2.0 §3.2.1, §3.2.3).
    day_types : ``"all"`` (CalTRACK 2.0) or ``"weekday_weekend"`` (separate sub-models,
        an extension; see the module docstring).
    max_p_value : if given, also disqualify candidates whose slopes have a two-sided p-value
        above it (CalTRACK 1.0 used 0.10; 2.0 removed the screen) [dimensionless].
    strict : refuse to fit when a serious sufficiency warning (:data:`SERIOUS_CODES`) is
        found; with False the model is fitted and the warnings are attached to it. Note the
        default is True here, unlike elsewhere in carbon-twin: insufficient data stop an
        M&V fit unless the caller explicitly overrides (the eemeter rule).

    Returns
    -------
    BaselineModel

    Raises
    ------
    InsufficientDataError
        When ``strict`` and the baseline fails CalTRACK 2.0 §2.2.1 (too short, too many
        missing days); ``.warnings`` lists every problem.
    MvError
        For a bad grid, no fitting days, or when no candidate qualifies.

    References
    ----------
    CalTRACK Methods 2.0, §2.2, §3.2-3.4; ASHRAE Guideline 14-2014 Annex B (CV(RMSE), NMBE);
    IPMVP Vol. I (2012) Appendix B (R^2 advisory).
    """
    if day_types not in ("all", "weekday_weekend"):
        raise MvError(f"day_types must be 'all' or 'weekday_weekend'; got {day_types!r}")
    use = _daily_series(usage, "usage")
    temps = _check_temperature(temperature)
    if baseline_start is None or baseline_end is None:
        if use.dropna().empty:
            raise MvError("usage has no data; give baseline_start and baseline_end")
    first = (
        _as_date(baseline_start, "baseline_start")
        if baseline_start is not None
        else use.index.min().date()
    )
    last = (
        _as_date(baseline_end, "baseline_end")
        if baseline_end is not None
        else (use.index.max() + pd.Timedelta(days=1)).date()
    )
    heating = balance_point_grid(heating_balance_points, "heating")
    cooling = balance_point_grid(cooling_balance_points, "cooling")

    warnings = attached_warnings(temperature) + check_sufficiency(use, temps, first, last)
    serious = [w for w in warnings if w.code in SERIOUS_CODES]
    if serious and strict:
        raise InsufficientDataError(warnings, first, last)

    days = _day_range(first, last)
    frame = pd.DataFrame({"y": use.reindex(days), "t": temps.reindex(days)}).dropna()
    if frame.empty:
        raise MvError(f"no baseline day in {first}..{last} has both usage and temperature")
    years = len(days) / BASELINE_DAYS
    labels = _day_type_labels(pd.DatetimeIndex(frame.index), day_types)
    segments: dict[str, SegmentFit] = {}
    tables = []
    predicted = np.empty(len(frame))
    for label in ("all",) if day_types == "all" else ("weekday", "weekend"):
        mask = labels == label
        segment, table = _fit_segment(
            label,
            frame["y"].to_numpy()[mask],
            frame["t"].to_numpy()[mask],
            heating,
            cooling,
            years,
            max_p_value,
        )
        segments[label] = segment
        tables.append(table)
        predicted[mask] = segment.predict(frame["t"].to_numpy()[mask])

    y = frame["y"].to_numpy()
    n = len(y)
    p = sum(s.n_parameters for s in segments.values())
    if n <= p:
        raise MvError(f"{n} baseline days cannot support {p} parameters")
    resid = y - predicted
    ssr = float(resid @ resid)
    sst = float(np.sum((y - y.mean()) ** 2))
    residuals = pd.Series(resid, index=frame.index, name="residual_kwh")
    autocorr = residuals.reindex(days).autocorr(lag=1) if n > 2 else math.nan
    model_warnings = list(warnings) + _model_warnings(
        segments, heating, cooling, residuals, day_types, 1.0 - ssr / sst if sst > 0 else 0.0
    )
    return BaselineModel(
        segments=segments,
        day_types=day_types,
        baseline_start=first,
        baseline_end=last,
        n_days=n,
        n_parameters=p,
        r2=1.0 - ssr / sst if sst > 0 else 0.0,
        r2_adj=1.0 - (ssr / (n - p)) / (sst / (n - 1)) if sst > 0 else 0.0,
        rmse=math.sqrt(ssr / (n - p)),
        cvrmse=cvrmse(y, predicted, p),
        nmbe=nmbe(y, predicted, p),
        mean_usage=float(y.mean()),
        autocorrelation=float(autocorr) if autocorr == autocorr else 0.0,
        residuals=residuals,
        candidates=pd.concat(tables, ignore_index=True),
        warnings=model_warnings,
        meter_ids=tuple(getattr(usage, "attrs", {}).get("meter_ids", ())),
    )


def balance_point_grid(points: Iterable[float], name: str) -> np.ndarray:
    """A sorted balance-point grid [degC], checked against CalTRACK 2.0 §3.2.3.

    Raises
    ------
    MvError
        When the grid is empty or has a step above 3 degF = 1.67 K.
    """
    grid = np.asarray(sorted(set(float(x) for x in points)), dtype=float)
    if len(grid) == 0:
        raise MvError(f"the {name} balance-point grid is empty")
    if len(grid) > 1 and np.diff(grid).max() > 3.0 / 1.8 + 1e-9:
        raise MvError(
            f"the {name} balance-point grid has a step of {np.diff(grid).max():.2f} K; "
            "CalTRACK 2.0 §3.2.3 allows at most 3 degF = 1.67 K"
        )
    return grid


def _model_warnings(
    segments: dict[str, SegmentFit],
    heating: np.ndarray,
    cooling: np.ndarray,
    residuals: pd.Series,
    day_types: str,
    r2: float,
) -> list[QualityWarning]:
    out = []
    for label, s in segments.items():
        what = "billing periods" if label == "billing" else f"'{label}' days"
        if s.model_type == "intercept_only":
            out.append(
                QualityWarning(
                    "mv.model.intercept_only",
                    f"{what}: no degree-day candidate qualified or beat the mean "
                    "(adjusted R^2 <= 0); the baseline is a constant. See "
                    "BaselineModel.candidates for why each candidate failed",
                    {"day_type": label, "clause": "CalTRACK 2.0 §3.4.3.2-3.4.3.3"},
                )
            )
        edges = []
        if len(heating) > 1 and s.heating_balance_point in (heating.min(), heating.max()):
            edges.append(("heating", s.heating_balance_point))
        if len(cooling) > 1 and s.cooling_balance_point in (cooling.min(), cooling.max()):
            edges.append(("cooling", s.cooling_balance_point))
        for kind, value in edges:
            out.append(
                QualityWarning(
                    "mv.model.balance_point_at_edge",
                    f"{what}: the {kind} balance point {value} degC is at the edge of "
                    "the search grid; widen the grid (constrained searches pile up at edges)",
                    {
                        "day_type": label,
                        "kind": kind,
                        "value": value,
                        "clause": "CalTRACK 2.0 §3.2.1; caltrack issue #72",
                    },
                )
            )
    if r2 < IPMVP_R2_ADVISORY:
        out.append(
            QualityWarning(
                "mv.model.low_r2",
                f"baseline R^2 {r2:.2f} is below the IPMVP advisory {IPMVP_R2_ADVISORY}; "
                "advisory only (CV(RMSE) and the savings uncertainty decide)",
                {"r2": r2, "clause": "IPMVP Vol. I (2012) Appendix B"},
            )
        )
    if day_types == "all" and len(residuals) > 20:
        from scipy.stats import ttest_ind

        weekend = pd.DatetimeIndex(residuals.index).day_of_week >= 5
        a, b = residuals[~weekend], residuals[weekend]
        if len(a) > 2 and len(b) > 2:
            p_value = float(ttest_ind(a, b, equal_var=False).pvalue)
            if p_value < 0.01:
                out.append(
                    QualityWarning(
                        "mv.model.day_type_pattern",
                        f"residuals differ between weekdays ({a.mean():+,.1f}) and weekends "
                        f"({b.mean():+,.1f}) (Welch p = {p_value:.1g}); consider "
                        "day_types='weekday_weekend'",
                        {
                            "weekday_mean": float(a.mean()),
                            "weekend_mean": float(b.mean()),
                            "p_value": p_value,
                            "clause": "eemeter 4 weekday/weekend splits",
                        },
                    )
                )
    return out


# --- savings ---------------------------------------------------------------------------------


def calendar_months(start: Any, end: Any) -> float:
    """Length of ``[start, end)`` in calendar months [month].

    Whole months are counted by the calendar (2023-01-01..2024-01-01 is 12, not
    365 / 30.44 = 11.99), and the rest as a fraction of the next month's days
    (2023-03-01..2024-02-29 is 11 + 28/29). A month step from the 31st lands on the month's
    last day (pandas ``DateOffset``).

    Parameters
    ----------
    start, end : first day and the day after the last [local date].

    Returns
    -------
    float
        Months [month]; 0 when ``end <= start``.
    """
    first = pd.Timestamp(_as_date(start, "start"))
    last = pd.Timestamp(_as_date(end, "end"))
    if last <= first:
        return 0.0
    whole = (last.year - first.year) * 12 + (last.month - first.month)
    while whole > 0 and first + pd.DateOffset(months=whole) > last:
        whole -= 1
    step_start = first + pd.DateOffset(months=whole)
    step_end = first + pd.DateOffset(months=whole + 1)
    return whole + (last - step_start) / (step_end - step_start)


def _g14_cvrmse_limit(months: float) -> float:
    """G14 prescriptive-path CV(RMSE) limit for a reporting length [month]."""
    (short, short_limit), (long, mid_limit), (_, long_limit) = G14_CVRMSE_LIMITS
    if months < short:
        return short_limit
    return mid_limit if months <= long else long_limit


def g14_checks(
    baseline_cvrmse: float, fsu_68: float, reporting_months: float
) -> tuple[dict[str, Any], list[QualityWarning]]:
    """The ASHRAE G14 whole-building checks of a savings claim, and their warnings.

    Parameters
    ----------
    baseline_cvrmse : CV(RMSE) of the baseline model [dimensionless].
    fsu_68 : fractional savings uncertainty at 68 % confidence [dimensionless].
    reporting_months : reporting length in calendar months (:func:`calendar_months`)
        [month]; it picks the CV(RMSE) limit of :data:`G14_CVRMSE_LIMITS`.

    Returns
    -------
    (dict, list of QualityWarning)
        ``cvrmse``, ``cvrmse_limit``, ``cvrmse_ok``, ``fsu_68``, ``fsu_limit``, ``fsu_ok``,
        ``reporting_months``, ``clause``; and ``mv.g14.cvrmse_exceeded`` /
        ``mv.g14.fsu_exceeded`` for the checks that fail.
    """
    limit = _g14_cvrmse_limit(reporting_months)
    g14: dict[str, Any] = {
        "cvrmse": baseline_cvrmse,
        "cvrmse_limit": limit,
        "cvrmse_ok": baseline_cvrmse <= limit,
        "fsu_68": fsu_68,
        "fsu_limit": G14_FSU_LIMIT,
        "fsu_ok": fsu_68 < G14_FSU_LIMIT,
        "reporting_months": reporting_months,
        "clause": "ASHRAE G14 whole-building prescriptive path (climate.md §6)",
    }
    warnings = []
    if not g14["cvrmse_ok"]:
        warnings.append(
            QualityWarning(
                "mv.g14.cvrmse_exceeded",
                f"baseline CV(RMSE) {baseline_cvrmse:.1%} exceeds the G14 limit {limit:.0%} for "
                f"{reporting_months:.0f} months of reporting data",
                {"cvrmse": baseline_cvrmse, "limit": limit, "clause": g14["clause"]},
            )
        )
    if not g14["fsu_ok"]:
        warnings.append(
            QualityWarning(
                "mv.g14.fsu_exceeded",
                f"fractional savings uncertainty {fsu_68:.0%} at 68 % confidence is not below "
                f"the G14 limit {G14_FSU_LIMIT:.0%}: the savings are not distinguishable from "
                "baseline noise",
                {"fsu_68": fsu_68, "limit": G14_FSU_LIMIT, "clause": g14["clause"]},
            )
        )
    return g14, warnings


def monthly_sums(daily: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month sums of a ``SavingsResult.daily`` frame.

    Returns
    -------
    pandas.DataFrame
        ``period_start`` [date], ``days`` (days counted), ``observed_kwh``,
        ``predicted_kwh``, ``avoided_kwh`` [kWh].
    """
    month = pd.DatetimeIndex(daily.index).to_period("M")
    monthly = daily.groupby(month).agg(
        days=("avoided_kwh", "count"),
        observed_kwh=("observed_kwh", "sum"),
        predicted_kwh=("predicted_kwh", "sum"),
        avoided_kwh=("avoided_kwh", "sum"),
    )
    monthly.insert(0, "period_start", [p.start_time.date() for p in monthly.index])
    return monthly.reset_index(drop=True)


@dataclass(frozen=True)
class SavingsResult:
    """Metered savings over a reporting period, with their uncertainty.

    Attributes
    ----------
    model : the baseline model used (a :class:`carbon.mv_billing.BillingModel` for bills).
    daily : per day: ``observed_kwh``, ``predicted_kwh``, ``avoided_kwh`` (predicted -
        observed; NaN where either is missing, CalTRACK 2.0 §3.5.4.1) [kWh / day]. For the
        billing method a bill's use is spread evenly over its days (see
        :func:`carbon.mv_billing.billing_savings`).
    monthly : per calendar month: ``period_start`` [date], ``days`` (counted) and the sums
        ``observed_kwh``, ``predicted_kwh``, ``avoided_kwh`` [kWh].
    reporting_start, reporting_end : ``[start, end)`` [local date].
    observed_kwh, predicted_kwh, avoided_kwh : totals over counted days [kWh].
    savings_fraction : avoided / predicted [dimensionless].
    reporting_days : days counted [day] (m of the uncertainty for the daily method).
    confidence : two-sided confidence level of ``uncertainty_kwh`` [dimensionless].
    uncertainty_kwh : half-width of the interval of ``avoided_kwh`` [kWh]
        (:func:`savings_uncertainty`).
    fsu : fractional savings uncertainty, uncertainty / |avoided| [dimensionless].
    fsu_68 : the same at 68 % confidence, for the G14 criterion [dimensionless].
    g14 : the ASHRAE G14 checks: ``cvrmse``, ``cvrmse_limit``, ``cvrmse_ok``, ``fsu_68``,
        ``fsu_limit``, ``fsu_ok``, ``reporting_months``.
    warnings : the model's warnings plus the reporting period's.
    periods : billing method only: one row per reporting bill, counted or not, with its
        ``status``, ``days``, ``observed_kwh``, ``predicted_kwh``, ``avoided_kwh`` (CalTRACK
        2.0 §3.6.1 per period) [kWh].
    """

    model: BaselineModel | BillingModel
    daily: pd.DataFrame = field(repr=False)
    monthly: pd.DataFrame = field(repr=False)
    reporting_start: dt.date
    reporting_end: dt.date
    observed_kwh: float
    predicted_kwh: float
    avoided_kwh: float
    savings_fraction: float
    reporting_days: int
    confidence: float
    uncertainty_kwh: float
    fsu: float
    fsu_68: float
    g14: dict[str, Any]
    warnings: list[QualityWarning] = field(default_factory=list)
    periods: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def g14_ok(self) -> bool:
        """True when the baseline CV(RMSE) and the 68 % FSU meet ASHRAE Guideline 14."""
        return bool(self.g14["cvrmse_ok"] and self.g14["fsu_ok"])

    @property
    def interval_kwh(self) -> tuple[float, float]:
        """(low, high) of the avoided energy at ``confidence`` [kWh]."""
        return (self.avoided_kwh - self.uncertainty_kwh, self.avoided_kwh + self.uncertainty_kwh)

    def __str__(self) -> str:
        return (
            f"avoided {self.avoided_kwh:,.0f} ± {self.uncertainty_kwh:,.0f} kWh "
            f"({self.confidence:.0%} confidence) = {self.savings_fraction:.1%} of "
            f"{self.predicted_kwh:,.0f} kWh predicted over {self.reporting_days} days; "
            f"FSU {self.fsu:.1%}; G14 {'met' if self.g14_ok else 'NOT met'}"
        )



def savings_result(
    model: Any,
    daily: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    *,
    observed_kwh: float,
    predicted_kwh: float,
    n_baseline: int,
    n_reporting: int,
    reporting_days: int,
    confidence: float,
    warnings: list[QualityWarning],
    missing: QualityWarning | None = None,
    uncertainty: dict[str, Any] | None = None,
    g14_extra: dict[str, Any] | None = None,
    **extra: Any,
) -> SavingsResult:
    """The savings of a reporting period from its totals: ASHRAE Guideline 14 uncertainty at
    ``confidence`` and at 68 % (the FSU test), the G14 checks, and the warnings in their
    order: ``warnings`` (the model's and the inputs'), a reporting period overlapping the
    baseline (CalTRACK 2.0 §1.4.2-1.4.4), ``missing``, then the G14 ones. The daily and the
    billing method (:mod:`carbon.mv_billing`) both end here.

    Parameters
    ----------
    model : the baseline model (``cvrmse``, ``n_parameters``, ``autocorrelation``,
        ``warnings``, ``baseline_start``, ``baseline_end``).
    daily : ``observed_kwh, predicted_kwh, avoided_kwh`` per reporting day [kWh].
    first, last : the reporting period [first, last) [local dates].
    observed_kwh, predicted_kwh : the counted totals [kWh].
    n_baseline, n_reporting : baseline and reporting observations (days or bills).
    reporting_days : days counted in the savings.
    confidence : two-sided confidence of ``uncertainty_kwh`` [dimensionless].
    warnings : the warnings so far (a new list is returned in the result).
    missing : the warning for reporting days left out, if any.
    uncertainty : further keywords of :func:`savings_uncertainty` (e.g. the monthly
        coefficients for bills).
    g14_extra : fields added to the result's ``g14`` record.
    extra : further fields of :class:`SavingsResult` (e.g. ``periods``).
    """
    avoided = predicted_kwh - observed_kwh
    common: dict[str, Any] = {
        "cvrmse": model.cvrmse,
        "predicted_total": predicted_kwh,
        "n_baseline": n_baseline,
        "n_parameters": model.n_parameters,
        "n_reporting": n_reporting,
        "autocorrelation": model.autocorrelation,
        **(uncertainty or {}),
    }
    half = savings_uncertainty(**common, confidence=confidence)
    half_68 = savings_uncertainty(**common, confidence=G14_FSU_CONFIDENCE)
    fsu = half / abs(avoided) if avoided else math.inf
    fsu_68 = half_68 / abs(avoided) if avoided else math.inf
    g14, g14_warnings = g14_checks(model.cvrmse, fsu_68, calendar_months(first, last))
    g14.update(g14_extra or {})
    warnings = list(warnings)
    if first < model.baseline_end and last > model.baseline_start:
        warnings.append(
            QualityWarning(
                "mv.reporting.overlaps_baseline",
                f"reporting period {first}..{last} overlaps the baseline "
                f"{model.baseline_start}..{model.baseline_end}",
                {"clause": "CalTRACK 2.0 §1.4.2-1.4.4"},
            )
        )
    if missing is not None:
        warnings.append(missing)
    warnings += g14_warnings
    return SavingsResult(
        model=model,
        daily=daily,
        monthly=monthly_sums(daily),
        reporting_start=first,
        reporting_end=last,
        observed_kwh=observed_kwh,
        predicted_kwh=predicted_kwh,
        avoided_kwh=avoided,
        savings_fraction=avoided / predicted_kwh if predicted_kwh else math.nan,
        reporting_days=reporting_days,
        confidence=confidence,
        uncertainty_kwh=half,
        fsu=fsu,
        fsu_68=fsu_68,
        g14=g14,
        warnings=warnings,
        **extra,
    )


def savings(
    model: BaselineModel,
    usage_reporting: pd.Series,
    temperature_reporting: pd.Series,
    *,
    reporting_start: Any = None,
    reporting_end: Any = None,
    confidence: float = 0.90,
) -> SavingsResult:
    """Avoided energy in a reporting period: baseline prediction minus metered use.

    Parameters
    ----------
    model : the fitted baseline.
    usage_reporting : daily usage [kWh / day] covering the reporting period.
    temperature_reporting : daily mean temperature [degC] covering it.
    reporting_start, reporting_end : ``[start, end)`` [local date]; default: the span of
        ``usage_reporting``.
    confidence : two-sided confidence level of the uncertainty [dimensionless]: 0.68 (G14's
        criterion) or 0.90 (eemeter's default).

    Returns
    -------
    SavingsResult

    Raises
    ------
    MvError
        For an empty period or no day with both usage and temperature.

    References
    ----------
    CalTRACK 2.0 §3.5 (masking), §3.6.1 (AEU); ASHRAE Guideline 14-2014 Annex B (uncertainty)
    and the whole-building prescriptive path (climate.md §6).
    """
    use = _daily_series(usage_reporting, "usage_reporting")
    temps = _check_temperature(temperature_reporting, "temperature_reporting")
    first = (
        _as_date(reporting_start, "reporting_start")
        if reporting_start is not None
        else use.index.min().date()
    )
    last = (
        _as_date(reporting_end, "reporting_end")
        if reporting_end is not None
        else (use.index.max() + pd.Timedelta(days=1)).date()
    )
    days = _day_range(first, last)
    if len(days) == 0:
        raise MvError(f"empty reporting period: end {last} is not after start {first}")
    observed = use.reindex(days)
    predicted = model.predict(temps.reindex(days))
    avoided = (predicted - observed).rename("avoided_kwh")
    valid = avoided.notna()
    daily = pd.DataFrame(
        {
            "observed_kwh": observed.where(valid),
            "predicted_kwh": predicted.where(valid),
            "avoided_kwh": avoided,
        }
    )
    m = int(valid.sum())
    if m == 0:
        raise MvError(f"no reporting day in {first}..{last} has both usage and temperature")
    warnings = list(model.warnings)
    warnings += [w for w in attached_warnings(temperature_reporting) if w not in warnings]
    missing = None
    if m < len(days):
        missing = QualityWarning(
            "mv.reporting.missing",
            f"{len(days) - m} of {len(days)} reporting days lack usage or temperature and "
            "are left out of the savings",
            {"days": len(days) - m, "clause": "CalTRACK 2.0 §3.5.3.1, §3.5.4.1"},
        )
    return savings_result(
        model, daily, first, last,
        observed_kwh=float(daily["observed_kwh"].sum()),
        predicted_kwh=float(daily["predicted_kwh"].sum()),
        n_baseline=model.n_days, n_reporting=m, reporting_days=m,
        confidence=confidence, warnings=warnings, missing=missing,
    )


def verify(
    usage: pd.Series,
    temperature: pd.Series,
    intervention_start: Any,
    *,
    intervention_end: Any = None,
    reporting_end: Any = None,
    baseline_days: int = BASELINE_DAYS,
    day_types: DayTypes = "all",
    confidence: float = 0.90,
    strict: bool = True,
    **fit_options: Any,
) -> SavingsResult:
    """Fit the baseline before an intervention and measure the savings after it.

    Parameters
    ----------
    usage : daily usage [kWh / day] spanning baseline and reporting periods.
    temperature : daily mean temperature [degC] spanning both.
    intervention_start : the project start date; the baseline is the ``baseline_days``
        before it (CalTRACK 2.0 §2.1.3.1.4, §3.1.3) [local date].
    intervention_end : the completion date, where the reporting period begins (the days in
        between are left out; CalTRACK 2.0 §1.4.4); default ``intervention_start``.
    reporting_end : the day after the last reporting day; default: the end of ``usage``.
    baseline_days : baseline length [day]; CalTRACK needs 365.
    day_types, strict, **fit_options : passed to :func:`fit_baseline`.
    confidence : passed to :func:`savings`.

    Returns
    -------
    SavingsResult
        With the fitted model in ``.model``.
    """
    start = _as_date(intervention_start, "intervention_start")
    end = _as_date(intervention_end, "intervention_end") if intervention_end is not None else start
    if end < start:
        raise MvError(f"intervention_end {end} is before intervention_start {start}")
    model = fit_baseline(
        usage,
        temperature,
        baseline_start=start - dt.timedelta(days=baseline_days),
        baseline_end=start,
        day_types=day_types,
        strict=strict,
        **fit_options,
    )
    use = _daily_series(usage, "usage")
    last = (
        _as_date(reporting_end, "reporting_end")
        if reporting_end is not None
        else (use.index.max() + pd.Timedelta(days=1)).date()
    )
    return savings(
        model, use, temperature, reporting_start=end, reporting_end=last, confidence=confidence
    )


# --- ledger entries and realisation rate ------------------------------------------------------


def _decimal(value: float, places: str) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(places), rounding=ROUNDING)


def verified_entries(
    intervention_id: str,
    node_id: str,
    activity: str,
    gpc_ref: str,
    savings_result: SavingsResult,
    factors: FactorSet,
    region: str,
) -> pd.DataFrame:
    """Monthly ledger entries of kind ``avoided`` for verified (ex-post) savings.

    Each reporting month (and factor segment within it) gives one amount: avoided energy
    [kWh], valued by :func:`carbon.valuation.value_amounts` (the location-based factor in
    force, the one rounding rule, grades and ids) — the same function the ledger applies when
    it stamps the amounts it is handed. Positive =
    avoided; a month in which the site used *more* than its baseline predicts is kept negative
    (clipping would bias the verified total). ``notes`` are ``ex_post intervention=<id>``
    (plus factor flags such as ``carried_forward``), the counterpart of the ``ex_ante
    intervention=<id>`` entries of :mod:`carbon.interventions`: the two sit side by side
    (their entry ids differ by the notes) and are never netted. Scope-2 rows carry
    ``method = 'location'``, like the ex-ante entries; others ``'n/a'``. Pass the frame to
    :func:`carbon.ledger.build_ledger` as ``extra_entries``; it values the amounts again
    (``factor_activity``, ``region``, ``valued_on`` say how) and adds node paths.

    Parameters
    ----------
    intervention_id : the intervention's id in the register.
    node_id : the twin node the savings belong to.
    activity : the activity saved, e.g. ``"electricity.grid"`` (canonical unit kWh).
    gpc_ref : its GPC row, e.g. ``carbon.gpc.classify(activity, use_type)``.
    savings_result : the verified savings.
    factors : the factor set.
    region : the node's region code, e.g. ``twin.region_of(node_id)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, period_start, node_id, gpc_ref, activity, method, amount, unit,
        factor_id, factor_co2e, co2_kg, ch4_kg, n2o_kg, co2e_kg, dq_activity, dq_factor,
        completeness, meters, readings, estimated, notes`` plus the amount columns
        ``factor_activity, region, valued_on``; Decimal amounts [kWh] and masses [kg].
        ``readings`` counts the days measured.

    Raises
    ------
    FactorNotFoundError
        When no factor is in force for the activity in the region.
    """
    from carbon.activities import get_activity
    from carbon.gpc import REFS
    from carbon.valuation import factor_segments, value_amounts

    unit = get_activity(activity).canonical_unit
    daily = savings_result.daily["avoided_kwh"]
    start = dt.date(savings_result.reporting_start.year, savings_result.reporting_start.month, 1)
    last = savings_result.reporting_end
    end = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1) if last.day != 1 else last
    segments, _ = factor_segments(factors, [(activity, region)], start, end)
    method = "location" if "location" in set(segments["method"]) else "n/a"
    segments = segments[segments["method"] == method].reset_index(drop=True)
    days = pd.DatetimeIndex(daily.index)
    segment_of = np.full(len(days), -1)
    for i, seg in segments.iterrows():
        inside = (days >= pd.Timestamp(seg["valid_from"])) & (days < pd.Timestamp(seg["valid_to"]))
        segment_of[inside] = i
    frame = pd.DataFrame(
        {"avoided": daily.to_numpy(), "segment": segment_of, "month": days.to_period("M")},
        index=days,
    )
    rows = []
    n_meters = len(savings_result.model.meter_ids)
    for (month, seg_i), group in frame.groupby(["month", "segment"], sort=True):
        counted = group["avoided"].notna()
        if not counted.any():
            continue
        seg = segments.loc[seg_i]
        amount = _decimal(group["avoided"].sum(), "0.000001")
        completeness = float(counted.sum()) / month.days_in_month
        notes = f"ex_post intervention={intervention_id}" + (
            f" {seg['notes']}" if seg["notes"] else ""
        )
        period = month.start_time.date()
        rows.append(
            {
                "kind": "avoided",
                "period_start": period,
                "node_id": node_id,
                "gpc_ref": gpc_ref,
                "activity": activity,
                "factor_activity": activity,
                "method": method if REFS[gpc_ref].scope == 2 else "n/a",
                "amount": amount,
                "unit": unit,
                "region": region,
                "valued_on": max(period, seg["valid_from"]),
                "completeness": _decimal(completeness, "0.000001"),
                "meters": n_meters,
                "readings": int(counted.sum()),
                "estimated": 0,
                "notes": notes,
            }
        )
    if not rows:
        return pd.DataFrame(rows)
    amounts = pd.DataFrame(rows)
    valued = value_amounts(amounts, factors)
    for col in ("factor_activity", "region", "valued_on"):
        valued[col] = amounts[col].to_numpy()
    return valued


def realisation_rate(estimated: float, verified: float) -> float:
    """Realisation rate of an intervention, verified (ex-post) / estimated (ex-ante).

    Parameters
    ----------
    estimated : the ex-ante avoided emissions or energy [t CO2e, or any unit].
    verified : the ex-post (measured) value in the same unit.

    Returns
    -------
    float
        The ratio [dimensionless]; 1.0 = the measure delivered what was estimated.

    Raises
    ------
    MvError
        When ``estimated`` is not a positive finite number.
    """
    est, ver = float(estimated), float(verified)
    if not math.isfinite(est) or est <= 0:
        raise MvError(
            f"the ex-ante estimate must be a positive number to form a realisation rate; got "
            f"{estimated!r}"
        )
    if not math.isfinite(ver):
        raise MvError(f"the verified value must be finite; got {verified!r}")
    return ver / est
