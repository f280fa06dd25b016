"""Shanghai monthly climate normals, synthetic daily temperature and degree days.

Pure functions over a small packaged table (``carbon/data/shanghai_normals.csv``), read on first
use (nothing is read at import). The table keeps each normals period apart: the CMA 1971-2000
set and a second set that is *probably* CMA 1981-2010 (its source states no period).

Table columns: ``station, period, variable, month, value, unit, source_id, confidence``.

Variables
---------
========================== ========== ===================== =================================
variable                   unit       periods               sources
========================== ========== ===================== =================================
mean_daily_max_temperature degC       1971-2000, 1981-2010  wikipedia..., travelguide...
mean_daily_min_temperature degC       1971-2000, 1981-2010  wikipedia... (Jul-Dec 1971-2000
                                                            are chart integers, ``low``)
mean_temperature           degC       1981-2010             derived-max-min
precipitation              mm         1971-2000, 1981-2010  cool-world..., travelguide...
sunshine_duration          h          1971-2000             cool-world-shanghai
relative_humidity          percent    1971-2000             cool-world-shanghai
precipitation_days         day        1981-2010             travelguide-en-shanghai
========================== ========== ===================== =================================

Sources (``source_id`` -> citation; also :data:`SOURCES`)
-----------------------------------------------------------
wikipedia-shanghai-1971-2000
    Wikipedia, "Geography of Shanghai - Climate", table "Climate data for Shanghai
    (1971-2000)"; its chart credits the China Meteorological Administration (CMA).
    https://en.wikipedia.org/wiki/Geography_of_Shanghai , read at the mirror
    https://www.liquisearch.com/geography_of_shanghai/climate (repost). Confidence medium (max; min
    Jan-Jun); low for min Jul-Dec (integers read from the CMA chart).
cool-world-shanghai
    Cool-World, "Climate of Shanghai", https://en.cool-world.net/Shanghai/information/652/ .
    The same table as the CMA 1971-2000 precipitation (matches the CMA chart after rounding);
    the period is not printed next to the sunshine and humidity rows. Confidence medium.
travelguide-en-shanghai
    Travelguide-en, "Shanghai climate", https://www.travelguide-en.org/shanghai-climate/
    ("SHANGHAI (4 meters)"). No period stated; the values fit the CMA 1981-2010 normals
    (period UNCONFIRMED). Confidence medium.
derived-max-min
    (mean daily max + mean daily min) / 2 of the travelguide rows, rounded to 0.1 K. CMA daily
    means use 4 or 24 observations, so official values are usually a few tenths lower.

The station is not named by any source (probably Xujiahui, WMO 58367: UNCONFIRMED). All values
are summarised, with their primary sources, in ``docs/research/climate.md`` §1.

Degree days use the Chinese zoning bases HDD18 and CDD26 (GB 50176-2016 民用建筑热工设计规范,
commentary §4.1.2; the same as JGJ 26-2010) on daily mean temperatures.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from carbon.errors import CarbonError

__all__ = [
    "CDD_BASE",
    "DEFAULT_ANOMALY_STD",
    "DEFAULT_LAG1_CORRELATION",
    "HDD_BASE",
    "PERIODS",
    "SOURCES",
    "SYNTHETIC_LABEL",
    "TEMPERATURE_COLUMNS",
    "ClimateError",
    "NormalsNotFoundError",
    "climatological_daily_temperature",
    "cooling_degree_days",
    "degree_days",
    "heating_degree_days",
    "monthly_normals",
    "normals_table",
    "synthetic_daily_temperature",
    "temperature_column",
]

PERIODS = ("1971-2000", "1981-2010")
"""Normals periods shipped (kept apart, never mixed)."""

HDD_BASE = 18.0
"""Heating degree-day base [degC]: HDD18, GB 50176-2016 commentary §4.1.2."""

CDD_BASE = 26.0
"""Cooling degree-day base [degC]: CDD26, GB 50176-2016 commentary §4.1.2."""

DEFAULT_ANOMALY_STD = (3.0, 3.0, 3.0, 2.7, 2.3, 1.8, 1.5, 1.5, 1.8, 2.3, 2.7, 3.0)
"""Standard deviation of synthetic daily-mean anomalies, Jan..Dec [K]. ASSUMPTION (no Shanghai
source checked): about 3 K in winter (cold-air outbreaks) and 1.5 K in high summer (subtropical
high), mean 2.4 K. With a constant 2.5 K the 1-in-1000 July day would be a 36 degC daily mean,
hotter than Shanghai has recorded."""

DEFAULT_LAG1_CORRELATION = 0.7
"""Lag-1 autocorrelation of synthetic daily anomalies [dimensionless]. ASSUMPTION: synoptic
spells of a few days (e-folding time -1/ln(0.7) = 2.8 days)."""

SYNTHETIC_LABEL = "SYNTHETIC - not observed weather (carbon.climate.synthetic_daily_temperature)"

TEMPERATURE_COLUMNS = (
    "temperature_degC",
    "temperature",
    "mean_temperature",
    "temp_mean",
    "tavg",
    "temp",
    "temp_air",
    "日平均气温",
    "平均气温",
    "气温",
    "平均温度",
    "温度",
)
"""Column names of a daily mean outdoor temperature [degC] in weather files, most specific
first (matched without regard to case, spaces or a unit in brackets: ``气温(℃)``)."""

SOURCES: dict[str, dict[str, str]] = {
    "wikipedia-shanghai-1971-2000": {
        "citation": "Wikipedia, 'Geography of Shanghai - Climate', table 'Climate data for "
        "Shanghai (1971-2000)'; chart credits the China Meteorological Administration; read "
        "at the mirror www.liquisearch.com/geography_of_shanghai/climate (repost)",
        "url": "https://en.wikipedia.org/wiki/Geography_of_Shanghai",
        "confidence": "medium (min Jul-Dec: low, chart integers)",
    },
    "cool-world-shanghai": {
        "citation": "Cool-World, 'Climate of Shanghai' (CMA 1971-2000 table; period not "
        "printed next to the sunshine and humidity rows)",
        "url": "https://en.cool-world.net/Shanghai/information/652/",
        "confidence": "medium",
    },
    "travelguide-en-shanghai": {
        "citation": "Travelguide-en, 'Shanghai climate', 'SHANGHAI (4 meters)'; no period "
        "stated, fits CMA 1981-2010 (period UNCONFIRMED)",
        "url": "https://www.travelguide-en.org/shanghai-climate/",
        "confidence": "medium",
    },
    "derived-max-min": {
        "citation": "(mean daily max + mean daily min) / 2 of the travelguide-en rows, "
        "docs/research/climate.md §1",
        "url": "",
        "confidence": "derived",
    },
}
"""Citation of every ``source_id`` in the normals table."""


class ClimateError(CarbonError, ValueError):
    """Bad arguments to a climate function (an empty date range, a negative std...)."""


class NormalsNotFoundError(ClimateError, LookupError):
    """No normals row for a (variable, period) pair."""

    def __init__(self, variable: str, period: str, available: list[tuple[str, str]]) -> None:
        self.variable = variable
        self.period = period
        self.available = available
        super().__init__(variable, period)

    def __str__(self) -> str:
        shown = "; ".join(f"{v} ({p})" for v, p in self.available)
        return (
            f"No Shanghai normals for {self.variable!r} in period {self.period!r}. Available: "
            f"{shown}. See carbon/data/shanghai_normals.csv."
        )


@functools.cache
def _table() -> pd.DataFrame:
    path = resources.files("carbon") / "data" / "shanghai_normals.csv"
    with path.open("rb") as fh:
        frame = pd.read_csv(
            fh,
            dtype={
                "station": str,
                "period": str,
                "variable": str,
                "month": "int64",
                "value": "float64",
                "unit": str,
                "source_id": str,
                "confidence": str,
            },
            encoding="utf-8",
        )
    return frame


def normals_table() -> pd.DataFrame:
    """Return every shipped normals row (a copy).

    Returns
    -------
    pandas.DataFrame
        Columns ``station, period, variable, month, value, unit, source_id, confidence``.
    """
    return _table().copy()


def monthly_normals(variable: str, period: str = "1981-2010") -> pd.Series:
    """Return the 12 monthly normals of one variable for one period.

    Parameters
    ----------
    variable : e.g. ``"mean_temperature"``, ``"mean_daily_max_temperature"``,
        ``"sunshine_duration"`` (see the module docstring for the list).
    period : ``"1971-2000"`` or ``"1981-2010"`` (the latter's period is UNCONFIRMED).

    Returns
    -------
    pandas.Series
        Indexed by month 1..12, named ``variable``; ``attrs`` hold ``unit``, ``period``,
        ``station``, ``sources`` and ``confidence`` (one per month).

    Raises
    ------
    NormalsNotFoundError
        When the table has no rows for the pair; the message lists the pairs it has.

    References
    ----------
    docs/research/climate.md §1 and the sources in :data:`SOURCES`.
    """
    table = _table()
    rows = table[(table["variable"] == variable) & (table["period"] == period)]
    if len(rows) != 12:
        pairs = sorted(set(zip(table["variable"], table["period"], strict=True)))
        raise NormalsNotFoundError(variable, period, pairs)
    rows = rows.sort_values("month")
    series = pd.Series(
        rows["value"].to_numpy(), index=pd.Index(rows["month"], name="month"), name=variable
    )
    series.attrs = {
        "unit": rows["unit"].iloc[0],
        "period": period,
        "station": rows["station"].iloc[0],
        "sources": sorted(set(rows["source_id"])),
        "confidence": list(rows["confidence"]),
    }
    return series


# --- smooth, mean-preserving interpolation of monthly means -------------------------------
#
# Each date gets a continuous "month coordinate" u = (month - 1) + (day - 0.5) / days_in_month,
# so month m covers [m - 1, m). A periodic cubic spline with knots at the month centres
# (u = m - 0.5) is linear in its knot values; we pick the knot values so that the spline's mean
# over every month equals that month's normal (a 12 x 12 linear solve). Interpolating the
# normals directly would flatten the July peak by a few tenths of a kelvin.

_SAMPLES_PER_MONTH = 64


def _periodic_spline_matrix(u: np.ndarray) -> np.ndarray:
    """Rows: points ``u``; columns: the 12 cardinal periodic splines (knots at month centres)."""
    from scipy.interpolate import CubicSpline

    knots = np.arange(13, dtype=float) - 0.5  # -0.5 .. 11.5, period 12
    eye = np.eye(12)
    values = np.vstack([eye, eye[:1]])  # periodic: last knot repeats the first
    spline = CubicSpline(knots, values, bc_type="periodic", axis=0)
    wrapped = np.mod(u + 0.5, 12.0) - 0.5
    return np.asarray(spline(wrapped))


@functools.cache
def _mean_preserving_weights() -> np.ndarray:
    """Matrix ``W`` (12 x 12) with knot values = ``W @ monthly_means``."""
    offsets = (np.arange(_SAMPLES_PER_MONTH) + 0.5) / _SAMPLES_PER_MONTH
    u = (np.arange(12)[:, None] + offsets[None, :]).ravel()
    basis = _periodic_spline_matrix(u).reshape(12, _SAMPLES_PER_MONTH, 12)
    month_means_of_basis = basis.mean(axis=1)  # [month, knot]
    return np.linalg.inv(month_means_of_basis)


def _smooth_monthly(dates: pd.DatetimeIndex, monthly: np.ndarray) -> np.ndarray:
    """Daily values whose whole-month means equal ``monthly`` (12 values, Jan..Dec)."""
    day = dates.day.to_numpy() - 0.5
    u = (dates.month.to_numpy() - 1) + day / dates.days_in_month.to_numpy()
    knots = _mean_preserving_weights() @ np.asarray(monthly, dtype=float)
    return np.asarray(_periodic_spline_matrix(u.astype(float)) @ knots)


def _daily_index(start: Any, end: Any) -> pd.DatetimeIndex:
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    if first.tzinfo is not None or last.tzinfo is not None:
        raise ClimateError(
            f"start and end are local dates without a time zone; got {start!r}, {end!r}"
        )
    if first != first.normalize() or last != last.normalize():
        raise ClimateError(f"start and end must be dates (midnight); got {start!r}, {end!r}")
    if last <= first:
        raise ClimateError(f"empty period: end {last.date()} is not after start {first.date()}")
    return pd.date_range(first, last, freq="D", inclusive="left", name="date")


def temperature_column(headers: Sequence[str], column: str | None = None) -> str | None:
    """The temperature column among a weather file's headers.

    Parameters
    ----------
    headers : the file's column names.
    column : the column to use, when the file names it otherwise; it must be among the
        headers.

    Returns
    -------
    str or None
        ``column`` when it is a header, else the first header that is one of
        :data:`TEMPERATURE_COLUMNS`; None when there is none.
    """
    if column is not None:
        return column if column in headers else None
    keys = {_column_key(h): h for h in headers}
    for name in TEMPERATURE_COLUMNS:
        if _column_key(name) in keys:
            return keys[_column_key(name)]
    return None


def _column_key(name: str) -> str:
    """A header without case, spaces and a trailing unit in brackets (``气温(℃)`` -> ``气温``)."""
    bare = re.sub(r"\s*[(（\[][^)）\]]*[)）\]]\s*$", "", str(name))
    return bare.strip().lower().replace(" ", "_")


def climatological_daily_temperature(start: Any, end: Any, period: str = "1981-2010") -> pd.Series:
    """Smooth daily mean temperature whose monthly means equal the normals.

    Parameters
    ----------
    start, end : first date and the date after the last [local date]; ``end`` is exclusive.
    period : normals period of ``mean_temperature`` (only ``"1981-2010"`` ships it).

    Returns
    -------
    pandas.Series
        Daily values [degC] on a daily ``DatetimeIndex`` named ``date``; name
        ``temperature_degC``. The mean over each whole calendar month equals the normal to
        within 0.05 K (discretisation of a periodic cubic spline, fitted to preserve means).

    Raises
    ------
    ClimateError
        When the period is empty or the dates are not midnight.
    NormalsNotFoundError
        When the normals period has no ``mean_temperature``.
    """
    dates = _daily_index(start, end)
    values = _smooth_monthly(dates, monthly_normals("mean_temperature", period).to_numpy())
    series = pd.Series(values, index=dates, name="temperature_degC")
    series.attrs = {
        "unit": "degC",
        "synthetic": False,
        "period": period,
        "method": "mean-preserving periodic cubic spline of monthly normals",
    }
    return series


def synthetic_daily_temperature(
    start: Any,
    end: Any,
    seed: int,
    *,
    period: str = "1981-2010",
    anomaly_std: float | Sequence[float] = DEFAULT_ANOMALY_STD,
    lag1_correlation: float = DEFAULT_LAG1_CORRELATION,
) -> pd.Series:
    """A seeded synthetic series of Shanghai daily mean temperature.

    The climatology (:func:`climatological_daily_temperature`) plus an AR(1) anomaly
    ``s[t] * z[t]`` where ``z[t] = r * z[t-1] + sqrt(1 - r^2) * e[t]``, ``e ~ N(0, 1)``,
    ``z[0] ~ N(0, 1)`` (unit-variance, stationary) and ``s[t]`` is the anomaly std of the day,
    interpolated smoothly from monthly values (same spline as the climatology). The series is
    prefix-stable: a longer period with the same start and seed begins with the same values.

    Parameters
    ----------
    start, end : first date and the date after the last [local date]; ``end`` is exclusive.
    seed : seed of ``numpy.random.default_rng`` [dimensionless].
    period : normals period of the climatology.
    anomaly_std : standard deviation ``s`` of the anomalies [K]: one value, or 12 monthly
        values Jan..Dec; default 3.0 K in winter to 1.5 K in summer (ASSUMPTION, see
        :data:`DEFAULT_ANOMALY_STD`).
    lag1_correlation : ``r`` [dimensionless], 0 <= r < 1; default 0.7 (ASSUMPTION).

    Returns
    -------
    pandas.Series
        Daily mean temperature [degC], daily ``DatetimeIndex`` named ``date``; name
        ``temperature_degC``; ``attrs`` say ``synthetic=True`` and carry the label, seed and
        parameters.

    Raises
    ------
    ClimateError
        For an empty period, a negative ``anomaly_std`` or not 1 or 12 of them, or
        ``lag1_correlation`` outside [0, 1).
    """
    from scipy.signal import lfilter

    std = np.atleast_1d(np.asarray(anomaly_std, dtype=float))
    if std.shape not in ((1,), (12,)) or not (std >= 0).all():
        raise ClimateError(
            f"anomaly_std must be one or 12 monthly values >= 0 K; got {anomaly_std!r}"
        )
    if not 0 <= lag1_correlation < 1:
        raise ClimateError(f"lag1_correlation must be in [0, 1); got {lag1_correlation!r}")
    climatology = climatological_daily_temperature(start, end, period)
    if std.shape == (1,):
        daily_std = np.full(len(climatology), std[0])
    else:
        daily_std = np.maximum(_smooth_monthly(climatology.index, std), 0.0)
    rng = np.random.default_rng(seed)
    shocks = rng.standard_normal(len(climatology))
    shocks[1:] *= np.sqrt(1.0 - lag1_correlation**2)
    anomaly = lfilter([1.0], [1.0, -lag1_correlation], shocks) * daily_std
    series = pd.Series(
        climatology.to_numpy() + anomaly, index=climatology.index, name="temperature_degC"
    )
    series.attrs = {
        "unit": "degC",
        "synthetic": True,
        "label": SYNTHETIC_LABEL,
        "seed": seed,
        "period": period,
        "anomaly_std_K": std.tolist(),
        "lag1_correlation": lag1_correlation,
    }
    return series


# --- degree days ------------------------------------------------------------------------


def _as_series(temperature: Any) -> pd.Series:
    if isinstance(temperature, pd.Series):
        return temperature.astype(float)
    return pd.Series(np.asarray(temperature, dtype=float))


def heating_degree_days(temperature: Any, base: float = HDD_BASE) -> pd.Series:
    """Daily heating degree days, ``max(base - T, 0)`` for each daily mean ``T``.

    Parameters
    ----------
    temperature : daily mean temperatures [degC] (Series or array-like).
    base : base temperature [degC]; default 18 (HDD18).

    Returns
    -------
    pandas.Series
        [delta_degC * day] per day, same index; name ``hdd_degC_day``; ``attrs['base_degC']``.
        NaN stays NaN. Sum it over a period for the period's HDD.

    References
    ----------
    GB 50176-2016, commentary §4.1.2 (HDD18 as a zoning index; same as JGJ 26-2010).
    """
    temps = _as_series(temperature)
    out = (base - temps).clip(lower=0.0).rename("hdd_degC_day")
    out.attrs = {"unit": "delta_degC * day", "base_degC": base}
    return out


def cooling_degree_days(temperature: Any, base: float = CDD_BASE) -> pd.Series:
    """Daily cooling degree days, ``max(T - base, 0)`` for each daily mean ``T``.

    Parameters
    ----------
    temperature : daily mean temperatures [degC] (Series or array-like).
    base : base temperature [degC]; default 26 (CDD26).

    Returns
    -------
    pandas.Series
        [delta_degC * day] per day, same index; name ``cdd_degC_day``; ``attrs['base_degC']``.

    References
    ----------
    GB 50176-2016, commentary §4.1.2 (CDD26 as a zoning index; same as JGJ 26-2010).
    """
    temps = _as_series(temperature)
    out = (temps - base).clip(lower=0.0).rename("cdd_degC_day")
    out.attrs = {"unit": "delta_degC * day", "base_degC": base}
    return out


def degree_days(
    temperature: Any, base_heating: float = HDD_BASE, base_cooling: float = CDD_BASE
) -> pd.DataFrame:
    """Daily heating and cooling degree days side by side.

    Parameters
    ----------
    temperature : daily mean temperatures [degC].
    base_heating : HDD base [degC]; default 18.
    base_cooling : CDD base [degC]; default 26.

    Returns
    -------
    pandas.DataFrame
        Columns ``hdd_degC_day`` and ``cdd_degC_day`` [delta_degC * day], same index;
        ``attrs`` hold both bases.

    References
    ----------
    GB 50176-2016, commentary §4.1.2.
    """
    frame = pd.concat(
        [
            heating_degree_days(temperature, base_heating),
            cooling_degree_days(temperature, base_cooling),
        ],
        axis=1,
    )
    frame.attrs = {
        "unit": "delta_degC * day",
        "base_heating_degC": base_heating,
        "base_cooling_degC": base_cooling,
    }
    return frame
