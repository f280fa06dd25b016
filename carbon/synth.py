"""Seeded synthetic utility exports for a twin, labelled synthetic everywhere.

Meter data for the Shimen Erlu community are not public, so the demo, the tests and the
data-quality work use the files a utility *would* export, generated here from the twin:

``synthetic_electricity_hourly.csv`` (UTF-8)
    ``meter_id,timestamp,kwh``: one row per hourly interval meter and hour. ``timestamp`` is
    local time (Asia/Shanghai, UTC+8, no daylight saving) ``"2024-01-01 00:00"`` and marks the
    *start* of the interval; ``kwh`` [kWh] has 3 decimals. Rows sorted by meter, then time.
    With the ``mixed_units`` fault the file gains a fourth column ``unit``: ``kWh`` on every
    row except one meter-day whose rows say ``MWh``, and there the ``kwh`` column holds the
    magnitude *in that row's unit* (6 decimals, so the true energy is exactly preserved).
    The ``unit`` column is authoritative; the ``kwh`` header is what the export claims.
``synthetic_gas_monthly.csv``, ``synthetic_water_monthly.csv`` (UTF-8)
    ``meter_id,read_date,reading,unit``: cumulative register readings [the meter's unit,
    integer], one at ``start``, one at the start of each month inside the period and one at
    ``end``. Registers are :data:`REGISTER_DIGITS` digits wide and start at a seeded index
    below 2,000,000, so they never wrap within the 10-year maximum period; only the declared
    ``rollover`` meter wraps (a 5-digit register, 99999 -> 0).
``synthetic_water_monthly_gbk.csv`` (``gbk`` fault only; GBK, which also decodes as GB18030)
    A second water export from another billing system: headers ``表号,抄表日期,读数,单位``,
    dates ``2024年3月1日``, units ``立方米`` or ``方``, CRLF line ends. The water meters in it
    (three, seeded) are *omitted* from ``synthetic_water_monthly.csv``, so nothing is counted
    twice: the two water files together cover every water meter once.
``synthetic_meter_events.csv`` (UTF-8, always written; header only without events)
    ``meter_id,date,event,old_final_reading,new_initial_reading``: meter replacements.
``synthetic_temperature_daily.csv`` (UTF-8)
    ``date,temperature_degC``: the synthetic daily mean temperature that drove the weather
    response (:func:`carbon.climate.synthetic_daily_temperature`), for M&V baselines.
``synthetic_activities_monthly.csv`` (UTF-8)
    ``node_id,activity,period_start,period_end,amount,unit``: non-metered activity data per
    month: the subdistrict's sorted municipal solid waste [t wet], residual ("dry") waste
    incinerated (``waste.msw.incineration``) and food ("wet") waste digested
    (``waste.msw.biological``) outside the subdistrict, as Shanghai sorts since 2019, sized from
    residents (:data:`MSW_KG_PER_RESIDENT_DAY`, docs/research/benchmarks.md §9, derived from
    Shanghai 2024 data, medium) and office workers on weekdays (:data:`MSW_KG_PER_WORKER_DAY`,
    ASSUMPTION); and green-electricity certificates bought by Bohua Plaza [MWh]
    (:data:`GEC_SHARE` of its synthetic electricity; an ASSUMPTION for the demo of market-based
    scope 2).
``synthetic_manifest.json``
    ``{"synthetic": true, "generator": "carbon.synth", ...}``: version, seed, period, twin name
    and content hash, every file's SHA-256, rows and encoding, the injected faults, the
    calibration targets with their sources. No generation time: the bytes are deterministic.

Model
-----
Each meter's consumption is ``level * shape * noise * adjustment``. ``shape`` is, per use type,
a 24-hour weekday and weekend profile plus cooling and heating terms proportional to the day's
CDD26 and HDD18 (:mod:`carbon.climate`; GB 50176-2016 bases) with their own hourly shapes;
register meters use a daily version. ``level`` is set so that a climatological year (the
smooth normals, no noise) uses the meter's annual target (:data:`CALIBRATION_TARGETS`, sized
from the twin) times a seeded per-meter factor within ``1 +/- spread``. Noise is
``1 + sigma * z`` (clipped at 0.05) per day and per hour. No public holidays are modelled.

Seeding and determinism
-----------------------
Every random draw comes from ``numpy.random.default_rng`` on a ``SeedSequence`` built from the
seed and a label hashed with SHA-256 (``("meter", meter_id, "hour")``, ``("weather",)``,
``("fault", "gap")``...). So a meter's values depend only on (seed, meter id, start, end): adding
a meter changes no other meter, injecting faults changes only the fault rows, and a longer
period with the same start begins with the same clean values. The same arguments give
byte-identical files (no ``exp``/``log`` on arrays, pairwise sums, fixed formats).

Adjustments (hook for M&V)
--------------------------
``adjustments={meter_id: [(from_date, multiplier), ...]}`` multiplies that meter's consumption
from each date on by the multiplier of the latest ``from_date`` at or before it (not
cumulative): ``[("2024-07-01", 0.85)]`` is a 15 % saving from July. Faults are applied after.

References
----------
docs/research/benchmarks.md §§1-8 (calibration, cited per target in
:data:`CALIBRATION_TARGETS`); docs/research/climate.md §1, §5 (normals, HDD18/CDD26).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from carbon._version import __version__
from carbon.climate import (
    CDD_BASE,
    DEFAULT_ANOMALY_STD,
    DEFAULT_LAG1_CORRELATION,
    HDD_BASE,
    climatological_daily_temperature,
    synthetic_daily_temperature,
)
from carbon.errors import CarbonError, TwinError
from carbon.twin import Meter, Twin
from carbon.units import conversion_factor

__all__ = [
    "CALIBRATION_TARGETS",
    "CITY_FOLDER",
    "ELECTRICITY_PARQUET",
    "FAULT_KINDS",
    "FILE_NAMES",
    "REGISTER_DIGITS",
    "ROLLOVER_DIGITS",
    "SYNTHETIC_LABEL",
    "CalibrationTarget",
    "CityResult",
    "ExpectedAnnual",
    "InjectedFault",
    "SynthError",
    "SynthResult",
    "UnknownMeterError",
    "calibration_table",
    "copy_twin",
    "expected_annual",
    "generate",
    "generate_city",
    "provenance",
]

logger = logging.getLogger(__name__)

FAULT_KINDS = ("gap", "duplicate", "rollover", "replacement", "spike", "mixed_units", "gbk")
"""Kinds of data-quality faults :func:`generate` can inject."""

SYNTHETIC_LABEL = "SYNTHETIC DATA generated by carbon.synth - not measured; do not report as real"

REGISTER_DIGITS = 7
"""Width of every register (gas, water) [digits]: indices wrap at 9,999,999."""

ROLLOVER_DIGITS = 5
"""Width of the declared ``rollover`` meter's register [digits]: it wraps at 99,999."""

FILE_NAMES = {
    "electricity": "synthetic_electricity_hourly.csv",
    "gas": "synthetic_gas_monthly.csv",
    "water": "synthetic_water_monthly.csv",
    "water_gbk": "synthetic_water_monthly_gbk.csv",
    "events": "synthetic_meter_events.csv",
    "temperature": "synthetic_temperature_daily.csv",
    "activities": "synthetic_activities_monthly.csv",
    "manifest": "synthetic_manifest.json",
}
"""The files :func:`generate` writes (the GBK water file only with the ``gbk`` fault)."""

ELECTRICITY_PARQUET = "synthetic_electricity_hourly.parquet"
"""Name of the hourly electricity export with ``electricity="parquet"``: the CSV's columns,
``kwh`` (and, with mixed units, the row's magnitude) as a number."""

_MAX_PERIOD_DAYS = 3653  # 10 years: registers (REGISTER_DIGITS) never wrap within it
_MIN_FAULT_PERIOD_DAYS = 7
_GBK_METERS = 3
_SPIKE_FACTOR = 100.0
_DUPLICATES = 5
_EVENTS_COLUMNS = ["meter_id", "date", "event", "old_final_reading", "new_initial_reading"]


class SynthError(CarbonError, ValueError):
    """Bad arguments to :func:`generate` (an unknown fault kind, an empty period...)."""


class UnknownMeterError(CarbonError, LookupError):
    """A meter id that is not in the twin."""

    def __init__(self, meter_id: str, twin_name: str) -> None:
        self.meter_id = meter_id
        self.twin_name = twin_name
        super().__init__(meter_id)

    def __str__(self) -> str:
        return (
            f"No meter {self.meter_id!r} in twin {self.twin_name!r}; see "
            "`twin.meters_frame()` or sites/<name>/meters.toml."
        )


# --- calibration targets -----------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationTarget:
    """An annual intensity a synthetic meter is calibrated to, with its source.

    Attributes
    ----------
    key : ``"<measure>.<use_type>"``, e.g. ``"electricity.residential"``.
    basis : what the intensity is per: ``households``, ``residents``, ``floor_area``,
        ``charging_ports``, ``fixture_power`` or ``flush_volume_per_day``.
    basis_unit : unit of one basis item, e.g. ``household``, ``m2``, ``W``, ``L/d``.
    central, low, high : intensity [``unit`` / ``basis_unit`` / yr]: the value generated
        (times the seeded meter factor) and the band it must stay in.
    unit : unit of the annual total, ``kWh`` or ``m3``.
    source : where the numbers come from.
    confidence : ``high`` ... ``UNCONFIRMED`` / ``ASSUMPTION`` (docs/research/README.md scale).
    spread : half-width of the seeded per-meter factor ``U(1 - spread, 1 + spread)``
        [dimensionless] (assumption; chosen to keep every meter inside the band).
    """

    key: str
    basis: str
    basis_unit: str
    central: float
    low: float
    high: float
    unit: str
    source: str
    confidence: str
    spread: float

    @property
    def measure(self) -> str:
        """The measure (``electricity``, ``gas``, ``water``)."""
        return self.key.split(".", 1)[0]

    @property
    def use_type(self) -> str:
        """The use type (``residential``, ``office``...)."""
        return self.key.split(".", 1)[1]


_DAYS_PER_YEAR = 365.0
CALIBRATION_TARGETS: dict[str, CalibrationTarget] = {
    t.key: t
    for t in (
        CalibrationTarget(
            key="electricity.residential",
            basis="households",
            basis_unit="household",
            central=2500.0,
            low=2000.0,
            high=3000.0,
            unit="kWh",
            source=(
                "benchmarks.md §1: mean Shanghai household consumption, best-known 2,000-3,000 "
                "kWh/yr (UNCONFIRMED, an inference); kept below the 2011 tier-1 80th percentile "
                "3,120 kWh/yr and the tier-2 bound 4,800 kWh/yr (Shanghai Daily 2012, high)"
            ),
            confidence="UNCONFIRMED (best-known); upper bounds high",
            spread=0.08,
        ),
        CalibrationTarget(
            key="electricity.office",
            basis="floor_area",
            basis_unit="m2",
            central=80.0,
            low=50.0,
            high=100.0,
            unit="kWh",
            source=(
                "benchmarks.md §3: offices in six southern cities incl. Shanghai, 50-100 "
                "kWh/m2/yr (Xu, Huang, Shen et al., Energy Policy 53 (2013) 76-89); Shanghai "
                "monitored public buildings average about 101 kWh/m2/yr in 2019 (derived, medium)"
            ),
            confidence="medium-high",
            spread=0.15,
        ),
        CalibrationTarget(
            key="electricity.retail",
            basis="floor_area",
            basis_unit="m2",
            central=180.0,
            low=120.0,
            high=250.0,
            unit="kWh",
            source=(
                "benchmarks.md §4: proxy = malls and hotels 120-250 kWh/m2/yr (Xu et al. 2013); "
                "small street-front shops UNCONFIRMED; opening 10:00-22:00 UNCONFIRMED"
            ),
            confidence="UNCONFIRMED (proxy)",
            spread=0.2,
        ),
        CalibrationTarget(
            key="electricity.ebike",
            basis="charging_ports",
            basis_unit="port",
            central=365.0,
            low=256.0,
            high=475.0,
            unit="kWh",
            source=(
                "benchmarks.md §7: one charge per port per day (ASSUMPTION) x 0.7-1.3 kWh from "
                "the wall per full charge (48 V x 12-20 Ah = 0.58-0.96 kWh at the battery, "
                "derived; charger efficiency 75-90 % UNCONFIRMED); ports from assets.toml"
            ),
            confidence="UNCONFIRMED (assumption + derived)",
            spread=0.15,
        ),
        CalibrationTarget(
            key="electricity.lighting",
            basis="fixture_power",
            basis_unit="W",
            central=8.76,
            low=4.27,
            high=9.64,
            unit="kWh",
            source=(
                "benchmarks.md §5: mailbox-room lights 'often on 24 h where there is no sensor' "
                "(UNCONFIRMED) = 8.76 kWh/W/yr; low = dusk-to-dawn 11.7 h/day (derived from the "
                "Shanghai street-lighting totals, medium); high = 24 h + 10 % control gear "
                "(ASSUMPTION); fixtures and power from assets.toml (estimated)"
            ),
            confidence="UNCONFIRMED",
            spread=0.02,
        ),
        CalibrationTarget(
            key="electricity.public",
            basis="floor_area",
            basis_unit="m2",
            central=35.0,
            low=20.0,
            high=40.0,
            unit="kWh",
            source=(
                "benchmarks.md §3: proxy = education buildings < 40 kWh/m2/yr (Xu et al. 2013) "
                "for community facilities"
            ),
            confidence="UNCONFIRMED (proxy)",
            spread=0.1,
        ),
        CalibrationTarget(
            key="gas.residential",
            basis="households",
            basis_unit="household",
            central=288.0,
            low=230.0,
            high=310.0,
            unit="m3",
            source=(
                "benchmarks.md §2: 24 m3/household/month in 2014 (Shanghai DRC via 上海ジャピオン, "
                "medium) = 288 m3/yr (derived); high = tier-1 threshold 310 m3/yr covering 80 % of "
                "households (Shanghai Daily 2014-08-06, high); low = 0.8 x 288 (ASSUMPTION)"
            ),
            confidence="medium",
            spread=0.04,
        ),
        CalibrationTarget(
            key="gas.office",
            basis="floor_area",
            basis_unit="m2",
            central=1.0,
            low=0.5,
            high=2.0,
            unit="m3",
            source=("ASSUMPTION (no source checked): canteen and boiler gas of an office building"),
            confidence="ASSUMPTION",
            spread=0.2,
        ),
        CalibrationTarget(
            key="water.residential",
            basis="residents",
            basis_unit="person",
            central=0.165 * _DAYS_PER_YEAR,
            low=0.120 * _DAYS_PER_YEAR,
            high=0.1888 * _DAYS_PER_YEAR,
            unit="m3",
            source=(
                "benchmarks.md §2: 0.165 m3/person/day in 2006 (Shanghai Water Authority via China "
                "Daily 2006-05-16, medium); low 120 L/person/day (best-known, UNCONFIRMED); high "
                "188.8 L/person/day (MOHURD city series 2023 via CEIC, medium, an upper bound)"
            ),
            confidence="medium",
            spread=0.06,
        ),
        CalibrationTarget(
            key="water.office",
            basis="floor_area",
            basis_unit="m2",
            central=0.95,
            low=0.5,
            high=1.5,
            unit="m3",
            source=(
                "ASSUMPTION: 100,000 daily office workers (site.toml, kcomber, medium) over the "
                "twin's 1.03 million m2 of offices x 40 L per worker-day (ASSUMPTION, no source "
                "checked) x 250 working days = 0.97 m3/m2/yr"
            ),
            confidence="ASSUMPTION",
            spread=0.2,
        ),
        CalibrationTarget(
            key="water.retail",
            basis="floor_area",
            basis_unit="m2",
            central=1.5,
            low=0.5,
            high=3.0,
            unit="m3",
            source=("ASSUMPTION (no source checked): street-front shops incl. small restaurants"),
            confidence="ASSUMPTION",
            spread=0.2,
        ),
        CalibrationTarget(
            key="water.public_toilet",
            basis="flush_volume_per_day",
            basis_unit="L/d",
            central=0.365 * 1.25,
            low=0.365,
            high=0.365 * 1.5,
            unit="m3",
            source=(
                "benchmarks.md §8: uses_per_day x flush_volume from assets.toml (300 uses/day "
                "UNCONFIRMED best-known; 9 L = GB 6952-2005 limit, low-medium) x 365 d, + 25 % "
                "hand-washing (ASSUMPTION; band 0-50 %)"
            ),
            confidence="UNCONFIRMED",
            spread=0.05,
        ),
    )
}
"""Annual intensity targets by ``"<measure>.<use_type>"``, each with its source and confidence.

UNCONFIRMED values are best-known figures, not verified ones; ASSUMPTION values have no source.
"""


class ExpectedAnnual(NamedTuple):
    """A meter's annual calibration target (see :func:`expected_annual`)."""

    value: float
    unit: str
    target_low: float
    target_high: float
    source: str


# --- profiles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HourlyProfile:
    base: np.ndarray  # [2, 24]: weekday, weekend; weekly mean 1
    cooling: np.ndarray  # [2, 24]; weekly mean 1
    heating: np.ndarray  # [2, 24]; weekly mean 1
    cooling_per_kelvin: float  # fraction of the mean base per K of CDD26 [1/K]
    heating_per_kelvin: float  # fraction of the mean base per K of HDD18 [1/K]
    hour_noise: float  # [dimensionless]
    day_noise: float  # [dimensionless]


@dataclass(frozen=True)
class _DailyProfile:
    weekday: float
    weekend: float
    cooling_per_kelvin: float  # [1/K]
    heating_per_kelvin: float  # [1/K]
    day_noise: float


def _weekly(weekday: Sequence[float], weekend: Sequence[float] | None = None) -> np.ndarray:
    shape = np.array([weekday, weekend if weekend is not None else weekday], dtype=float)
    if shape.shape != (2, 24):
        raise ValueError(f"a daily shape needs 24 hourly values, got {shape.shape}")
    weekly_mean = (5 * shape[0].mean() + 2 * shape[1].mean()) / 7
    return shape / weekly_mean


_FLAT = [1.0] * 24

# Shapes are ASSUMPTIONS shaped by docs/research/benchmarks.md; hours 0..23 local time.
# fmt: off
_HOURLY: dict[str, _HourlyProfile] = {
    # §1: morning shoulder 07-09, low midday on workdays, evening peak 19-23 (UNCONFIRMED
    # best-known); cooling peaks 11-15 and 21-01 (CRECS, Zhu et al., Energy 265 (2023),
    # medium-high) so summer nights run high; winter heating mornings and evenings.
    "residential": _HourlyProfile(
        base=_weekly(
            [.55, .45, .40, .38, .38, .42, .60, .90, .95, .80, .70, .70,
             .75, .70, .65, .65, .72, .90, 1.15, 1.40, 1.50, 1.45, 1.20, .85],
            [.60, .50, .43, .40, .40, .42, .52, .70, .90, 1.0, 1.0, .98,
             1.0, .95, .90, .88, .92, 1.0, 1.20, 1.42, 1.50, 1.45, 1.22, .90]),
        cooling=_weekly(
            [1.6, 1.5, 1.2, 1.0, 1.0, .9, .6, .5, .5, .5, .7, 1.2,
             1.3, 1.3, 1.3, 1.2, .9, .9, 1.0, 1.1, 1.3, 1.6, 1.8, 1.8],
            [1.6, 1.5, 1.2, 1.0, 1.0, .9, .6, .5, .6, .8, 1.0, 1.3,
             1.4, 1.4, 1.4, 1.3, 1.1, 1.0, 1.0, 1.1, 1.3, 1.6, 1.8, 1.8]),
        heating=_weekly(
            [.8, .7, .6, .6, .6, .8, 1.5, 1.6, 1.3, .7, .5, .5,
             .5, .5, .5, .5, .6, .9, 1.5, 1.8, 1.9, 1.8, 1.5, 1.1],
            [.8, .7, .6, .6, .6, .7, 1.0, 1.4, 1.5, 1.2, 1.0, .9,
             .9, .9, .9, .9, 1.0, 1.1, 1.5, 1.8, 1.9, 1.8, 1.5, 1.1]),
        cooling_per_kelvin=0.16, heating_per_kelvin=0.015, hour_noise=0.06, day_noise=0.05),
    # §3: weekday 08-18 plateau, city-wide peak 10-11, valley 03-04, night and weekend base
    # <= 1/3 of the peak (peak-to-valley > 3), July-August maximum.
    "office": _HourlyProfile(
        base=_weekly(
            [.25, .25, .25, .25, .25, .25, .27, .40, .75, .95, 1.0, 1.0,
             .88, .93, .96, .95, .93, .82, .60, .45, .38, .32, .27, .26],
            [.24, .24, .24, .24, .24, .24, .24, .24, .30, .32, .32, .32,
             .32, .32, .32, .32, .32, .30, .27, .25, .25, .24, .24, .24]),
        cooling=_weekly(
            [.1, .1, .1, .1, .1, .1, .3, .8, 1.3, 1.5, 1.6, 1.6,
             1.5, 1.6, 1.7, 1.7, 1.6, 1.4, .8, .4, .2, .1, .1, .1],
            [.1, .1, .1, .1, .1, .1, .1, .1, .2, .3, .3, .3,
             .3, .3, .3, .3, .3, .2, .1, .1, .1, .1, .1, .1]),
        heating=_weekly(
            [.1, .1, .1, .1, .1, .2, .6, 1.8, 2.2, 1.8, 1.4, 1.2,
             1.0, 1.0, 1.0, 1.0, 1.0, .8, .4, .2, .1, .1, .1, .1],
            [.1, .1, .1, .1, .1, .1, .1, .1, .2, .3, .3, .3,
             .3, .3, .3, .3, .3, .2, .1, .1, .1, .1, .1, .1]),
        cooling_per_kelvin=0.15, heating_per_kelvin=0.02, hour_noise=0.05, day_noise=0.05),
    # §4: open 10:00-22:00 (UNCONFIRMED best-known); refrigeration and signs overnight.
    "retail": _HourlyProfile(
        base=_weekly(
            [.22, .22, .22, .22, .22, .22, .22, .25, .30, .40, .85, .95,
             1.0, .95, .90, .90, .92, .98, 1.05, 1.08, 1.0, .90, .45, .25],
            [.22, .22, .22, .22, .22, .22, .22, .25, .30, .45, .95, 1.05,
             1.10, 1.05, 1.0, 1.0, 1.02, 1.08, 1.15, 1.18, 1.10, 1.0, .50, .26]),
        cooling=_weekly(
            [.1, .1, .1, .1, .1, .1, .1, .1, .1, .3, 1.2, 1.4,
             1.5, 1.6, 1.6, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0, .4, .1]),
        heating=_weekly(
            [.1, .1, .1, .1, .1, .1, .1, .1, .1, .3, 1.6, 1.5,
             1.3, 1.2, 1.2, 1.2, 1.2, 1.3, 1.4, 1.4, 1.3, 1.1, .4, .1]),
        cooling_per_kelvin=0.10, heating_per_kelvin=0.01, hour_noise=0.08, day_noise=0.06),
    # §7: charging after the evening return, through the night; delivery riders top up by day.
    "ebike": _HourlyProfile(
        base=_weekly(
            [1.3, 1.1, .9, .7, .5, .35, .25, .2, .2, .2, .2, .2,
             .3, .3, .2, .2, .2, .35, .8, 1.3, 1.6, 1.7, 1.6, 1.5],
            [1.4, 1.2, 1.0, .8, .6, .4, .3, .25, .25, .25, .3, .35,
             .4, .4, .35, .3, .3, .4, .7, 1.1, 1.4, 1.6, 1.6, 1.5]),
        cooling=_weekly(_FLAT), heating=_weekly(_FLAT),
        cooling_per_kelvin=0.0, heating_per_kelvin=0.0, hour_noise=0.25, day_noise=0.10),
    # §5: mailbox room lit 24 h (no sensor; UNCONFIRMED).
    "lighting": _HourlyProfile(
        base=_weekly(_FLAT), cooling=_weekly(_FLAT), heating=_weekly(_FLAT),
        cooling_per_kelvin=0.0, heating_per_kelvin=0.0, hour_noise=0.01, day_noise=0.005),
    # community facilities, open 06-22 (ASSUMPTION).
    "public": _HourlyProfile(
        base=_weekly([.3] * 6 + [1.0] * 16 + [.5, .4]),
        cooling=_weekly([.1] * 8 + [1.0] * 13 + [.1] * 3),
        heating=_weekly([.1] * 7 + [1.0] * 14 + [.1] * 3),
        cooling_per_kelvin=0.05, heating_per_kelvin=0.01, hour_noise=0.10, day_noise=0.05),
}
# fmt: on

# Daily shapes of register meters (ASSUMPTIONS): gas peaks in winter (water heating, boilers),
# water rises with heat (showers); offices are quiet at weekends.
_DAILY: dict[str, _DailyProfile] = {
    "gas.residential": _DailyProfile(1.0, 1.1, 0.0, 0.03, 0.05),
    "gas.office": _DailyProfile(1.0, 0.3, 0.0, 0.05, 0.08),
    "water.residential": _DailyProfile(1.0, 1.05, 0.03, 0.0, 0.04),
    "water.office": _DailyProfile(1.0, 0.25, 0.03, 0.0, 0.08),
    "water.retail": _DailyProfile(1.0, 1.1, 0.03, 0.0, 0.08),
    "water.public_toilet": _DailyProfile(1.0, 1.1, 0.0, 0.0, 0.10),
}

_REFERENCE_YEAR = ("2023-01-01", "2024-01-01")  # a climatological non-leap year for levels


# --- sizing --------------------------------------------------------------------------------


def _use_type(twin: Twin, meter: Meter) -> str:
    return meter.use_type or twin.use_type_of(meter.node) or "unknown"


def _target_for(twin: Twin, meter: Meter) -> CalibrationTarget:
    key = f"{meter.measure}.{_use_type(twin, meter)}"
    if key not in CALIBRATION_TARGETS:
        raise TwinError(
            twin.folder / "meters.toml",
            f"carbon.synth has no calibration target for {key!r}; supported: "
            f"{', '.join(CALIBRATION_TARGETS)}",
            entry=meter.id,
            field="use_type",
        )
    kind = (
        ("electricity", "interval", "1h")
        if meter.measure == "electricity"
        else (meter.measure, "register", "1mo")
    )
    if (meter.measure, meter.reading, meter.interval) != kind:
        raise TwinError(
            twin.folder / "meters.toml",
            f"carbon.synth makes hourly electricity interval meters and monthly gas/water "
            f"register meters; this is a {meter.interval} {meter.measure} {meter.reading} meter",
            entry=meter.id,
            field="reading",
        )
    return CALIBRATION_TARGETS[key]


def _basis(twin: Twin, meter: Meter, target: CalibrationTarget) -> float:
    if target.basis in ("households", "residents", "floor_area"):
        for node in [twin.node(meter.node), *twin.ancestors(meter.node)]:
            if target.basis in node.attributes:
                return node.magnitude(target.basis, "m2" if target.basis == "floor_area" else None)
        raise TwinError(
            twin.folder / "nodes.toml",
            f"meter {meter.id!r} ({target.key}) needs '{target.basis}' on node "
            f"{meter.node!r} or an ancestor to size its synthetic data",
            entry=meter.node,
            field=f"attributes.{target.basis}",
        )
    kind = {
        "charging_ports": "ebike_chargers",
        "fixture_power": "light_fixtures",
        "flush_volume_per_day": "toilets",
    }[target.basis]
    assets = [a for a in twin.assets.values() if a.node == meter.node and a.kind == kind]
    try:
        if target.basis == "charging_ports":
            total = sum(a.magnitude("count") for a in assets)
        elif target.basis == "fixture_power":
            total = sum(a.magnitude("count") * a.magnitude("power", "W") for a in assets)
        else:
            total = sum(
                a.magnitude("uses_per_day") * a.magnitude("flush_volume", "L") for a in assets
            )
    except KeyError as exc:
        total, missing = 0.0, exc.args[0]
    else:
        missing = None
    if not assets or missing or total <= 0:
        need = {
            "charging_ports": "count",
            "fixture_power": "count and power",
            "flush_volume_per_day": "uses_per_day and flush_volume",
        }[target.basis]
        raise TwinError(
            twin.folder / "assets.toml",
            f"meter {meter.id!r} ({target.key}) needs a {kind!r} asset on node "
            f"{meter.node!r} with {need} to size its synthetic data",
            entry=meter.node,
            field="kind",
        )
    return float(total)


def _meter(twin: Twin, meter_id: str) -> Meter:
    try:
        return twin.meters[meter_id]
    except KeyError:
        raise UnknownMeterError(meter_id, twin.name) from None


def expected_annual(twin: Twin, meter_id: str) -> ExpectedAnnual:
    """A meter's annual calibration target: central value and band, in the meter's unit.

    Parameters
    ----------
    twin : the twin the meter belongs to.
    meter_id : the meter's id.

    Returns
    -------
    ExpectedAnnual
        ``(value, unit, target_low, target_high, source)``: the central annual total, its
        unit (the meter's, e.g. ``kWh``, ``m3``), the band [same unit / yr] and the citation.

    Raises
    ------
    UnknownMeterError
        When the twin has no such meter.
    TwinError
        When the meter's kind or use type has no target, or its sizing attribute (households,
        residents, floor area, charging ports, fixtures, toilets) is missing.
    """
    meter = _meter(twin, meter_id)
    target = _target_for(twin, meter)
    size = _basis(twin, meter, target)
    factor = conversion_factor(target.unit, meter.unit)
    return ExpectedAnnual(
        target.central * size * factor,
        meter.unit,
        target.low * size * factor,
        target.high * size * factor,
        target.source,
    )


def calibration_table(twin: Twin) -> pd.DataFrame:
    """Every meter's calibration target, sized from the twin.

    Parameters
    ----------
    twin : the twin.

    Returns
    -------
    pandas.DataFrame
        One row per meter, sorted by ``meter_id``: ``meter_id, measure, use_type, target,
        basis, basis_value, basis_unit, intensity_central, intensity_low, intensity_high,
        intensity_unit, expected_annual, target_low, target_high, unit, confidence, source``.
        Annual totals are in the meter's unit per year.

    Raises
    ------
    TwinError
        As :func:`expected_annual`.
    """
    rows = []
    for meter_id in sorted(twin.meters):
        meter = twin.meters[meter_id]
        target = _target_for(twin, meter)
        size = _basis(twin, meter, target)
        expected = expected_annual(twin, meter_id)
        rows.append(
            {
                "meter_id": meter_id,
                "measure": meter.measure,
                "use_type": target.use_type,
                "target": target.key,
                "basis": target.basis,
                "basis_value": size,
                "basis_unit": target.basis_unit,
                "intensity_central": target.central,
                "intensity_low": target.low,
                "intensity_high": target.high,
                "intensity_unit": f"{target.unit}/{target.basis_unit}/yr",
                "expected_annual": expected.value,
                "target_low": expected.target_low,
                "target_high": expected.target_high,
                "unit": meter.unit,
                "confidence": target.confidence,
                "source": target.source,
            }
        )
    return pd.DataFrame(rows)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InjectedFault:
    """One injected data-quality fault, where it is and how it should be handled.

    Attributes
    ----------
    kind : one of :data:`FAULT_KINDS`.
    file : file name inside the output folder.
    meter_id : the meter affected.
    rows : the fault rows, 1-based data rows of ``file`` (the header is row 0). For a gap:
        the last row before and the first row after the missing hours.
    description : what was done.
    expected_handling : what a careful ingest should do with it.
    data : the values behind it (true values, dates, register width...).
    """

    kind: str
    file: str
    meter_id: str
    rows: tuple[int, ...]
    description: str
    expected_handling: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["rows"] = list(self.rows)
        return out


@dataclass(frozen=True)
class SynthResult:
    """What :func:`generate` wrote.

    Attributes
    ----------
    out : the output folder.
    files : file key (see :data:`FILE_NAMES`) -> path, for every file written.
    faults : the injected faults (empty without ``faults``).
    manifest : the manifest, as written to ``synthetic_manifest.json``.
    totals : one row per meter: its true consumption over the period (clean, after
        adjustments; ``consumption`` in ``unit``), ``period_days`` and its annual target
        (``expected_annual``, ``target_low``, ``target_high`` [unit / yr]).
    temperature : the synthetic daily mean temperature [degC] that drove the weather response.
    synthetic : always True.
    label : :data:`SYNTHETIC_LABEL`.
    """

    out: Path
    files: dict[str, Path]
    faults: tuple[InjectedFault, ...]
    manifest: dict[str, Any]
    totals: pd.DataFrame
    temperature: pd.Series
    synthetic: bool = True
    label: str = SYNTHETIC_LABEL


# --- random streams --------------------------------------------------------------------------


def _stream(seed: int, *labels: str) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(labels).encode("utf-8")).digest()
    words = np.frombuffer(digest, dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def _unit_noise(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Multiplicative noise ``1 + sigma * z``, clipped at 0.05 (no exp: bit-stable)."""
    return np.maximum(1.0 + sigma * rng.standard_normal(size), 0.05)


# --- arguments -------------------------------------------------------------------------------


def _fault_kinds(faults: bool | str | Iterable[str] | None) -> tuple[str, ...]:
    if faults is None or faults is False:
        return ()
    if faults is True:
        return FAULT_KINDS
    asked = [faults] if isinstance(faults, str) else list(faults)
    unknown = [k for k in asked if k not in FAULT_KINDS]
    if unknown:
        raise SynthError(
            f"unknown fault kind(s) {unknown}; known: {', '.join(FAULT_KINDS)} (or True for all)"
        )
    return tuple(k for k in FAULT_KINDS if k in asked)


def _period(start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        first, last = pd.Timestamp(start), pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise SynthError(
            f"start and end must be dates such as '2024-01-01'; got {start!r}, {end!r} ({exc})"
        ) from None
    if first.tzinfo is not None or last.tzinfo is not None:
        raise SynthError(
            f"start and end are local dates (Asia/Shanghai) without a time zone; "
            f"got {start!r}, {end!r}"
        )
    if first != first.normalize() or last != last.normalize():
        raise SynthError(f"start and end must be dates (midnight); got {start!r}, {end!r}")
    days = (last - first).days
    if days <= 0:
        raise SynthError(f"empty period: end {last.date()} is not after start {first.date()}")
    if days > _MAX_PERIOD_DAYS:
        raise SynthError(
            f"period of {days} days is longer than the 10-year maximum ({_MAX_PERIOD_DAYS} days)"
        )
    return first, last


def _adjustments(
    twin: Twin,
    adjustments: Mapping[str, Sequence[tuple[Any, float]]] | None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for meter_id, entries in (adjustments or {}).items():
        _meter(twin, meter_id)
        pairs = sorted((pd.Timestamp(d), float(m)) for d, m in entries)
        bad = [m for _, m in pairs if not m >= 0]
        if bad:
            raise SynthError(f"adjustment multipliers must be >= 0; meter {meter_id!r} has {bad}")
        if pairs:
            out[meter_id] = (
                np.array([d.value for d, _ in pairs], dtype="int64"),
                np.array([m for _, m in pairs], dtype=float),
            )
    return out


def _adjustment_factor(
    times: pd.DatetimeIndex,
    rule: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray | float:
    if rule is None:
        return 1.0
    dates, multipliers = rule
    pos = np.searchsorted(dates, times.as_unit("ns").asi8, side="right") - 1
    return np.where(pos >= 0, multipliers[np.maximum(pos, 0)], 1.0)


# --- consumption -----------------------------------------------------------------------------


def _hourly_shape(
    profile: _HourlyProfile,
    hours: pd.DatetimeIndex,
    day_temperature: np.ndarray,
    day_of_hour: np.ndarray,
) -> np.ndarray:
    weekend = (hours.day_of_week >= 5).astype(int)
    hour = hours.hour.to_numpy()
    cdd = np.maximum(day_temperature - CDD_BASE, 0.0)[day_of_hour]
    hdd = np.maximum(HDD_BASE - day_temperature, 0.0)[day_of_hour]
    return (
        profile.base[weekend, hour]
        + profile.cooling_per_kelvin * cdd * profile.cooling[weekend, hour]
        + profile.heating_per_kelvin * hdd * profile.heating[weekend, hour]
    )


def _daily_shape(
    profile: _DailyProfile, days: pd.DatetimeIndex, temperature: np.ndarray
) -> np.ndarray:
    weekend = days.day_of_week >= 5
    return (
        np.where(weekend, profile.weekend, profile.weekday)
        + profile.cooling_per_kelvin * np.maximum(temperature - CDD_BASE, 0.0)
        + profile.heating_per_kelvin * np.maximum(HDD_BASE - temperature, 0.0)
    )


def _hours(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(first, last, freq="h", inclusive="left")


@functools.cache
def _reference_sum(key: str) -> float:
    """Sum of the noise-free shape over a climatological year (the level's denominator)."""
    start, end = _REFERENCE_YEAR
    temperature = climatological_daily_temperature(start, end).to_numpy()
    days = pd.date_range(start, end, freq="D", inclusive="left")
    if key.startswith("electricity."):
        hours = _hours(pd.Timestamp(start), pd.Timestamp(end))
        day_of_hour = np.repeat(np.arange(len(days)), 24)
        return float(
            _hourly_shape(_HOURLY[key.split(".", 1)[1]], hours, temperature, day_of_hour).sum()
        )
    return float(_daily_shape(_DAILY[key], days, temperature).sum())


def _annual(twin: Twin, meter: Meter, target: CalibrationTarget, seed: int) -> float:
    """The meter's seeded annual total [meter unit / yr] for a climatological year."""
    factor = _stream(seed, "meter", meter.id, "level").uniform(1 - target.spread, 1 + target.spread)
    size = _basis(twin, meter, target)
    return target.central * size * float(factor) * conversion_factor(target.unit, meter.unit)


def _electricity(
    twin: Twin,
    meter: Meter,
    target: CalibrationTarget,
    seed: int,
    hours: pd.DatetimeIndex,
    temperature: np.ndarray,
    rule: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    profile = _HOURLY[target.use_type]
    day_of_hour = np.repeat(np.arange(len(temperature)), 24)
    shape = _hourly_shape(profile, hours, temperature, day_of_hour)
    level = _annual(twin, meter, target, seed) / _reference_sum(target.key)
    day_noise = _unit_noise(
        _stream(seed, "meter", meter.id, "day"), len(temperature), profile.day_noise
    )
    hour_noise = _unit_noise(
        _stream(seed, "meter", meter.id, "hour"), len(hours), profile.hour_noise
    )
    energy = level * shape * day_noise[day_of_hour] * hour_noise * _adjustment_factor(hours, rule)
    return np.round(energy, 3)


def _register_daily(
    twin: Twin,
    meter: Meter,
    target: CalibrationTarget,
    seed: int,
    days: pd.DatetimeIndex,
    temperature: np.ndarray,
    rule: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    profile = _DAILY[target.key]
    shape = _daily_shape(profile, days, temperature)
    level = _annual(twin, meter, target, seed) / _reference_sum(target.key)
    noise = _unit_noise(_stream(seed, "meter", meter.id, "day"), len(days), profile.day_noise)
    return level * shape * noise * _adjustment_factor(days, rule)


MSW_KG_PER_RESIDENT_DAY: dict[str, float] = {
    "waste.msw.incineration": 0.689,
    "waste.msw.biological": 0.368,
}
"""Residual ("dry") and food ("wet") municipal solid waste per resident [kg / person / day]:
Shanghai's Jan-May 2024 daily quantities (dry 17,060 t, wet 9,111 t; 上海市绿化和市容管理局 via
CCTV) over the 2022 resident population, 24.7589 million (docs/research/benchmarks.md §9;
derived, medium). City totals include the average non-household waste of the city.
Recyclables (7,627 t/day) are recycled (no GPC III emission) and hazardous waste (2.1 t/day) is
not estimated; neither gets an activity row."""

MSW_KG_PER_WORKER_DAY: dict[str, float] = {
    "waste.msw.incineration": 0.23,
    "waste.msw.biological": 0.12,
}
"""Dry and wet waste per office worker and working day [kg / worker / day]. ASSUMPTION (no
source found, docs/research/waste.md §3): a worker spends about a third of the day at work and
eats one meal there, so a third of the city's 1.06 kg of dry + wet waste per person and day,
split as the city splits it (65 % dry, 35 % wet). Counted on weekdays only, for the twin's
``office_workers_daily`` (site.toml, 100,000, kcomber, medium). A CBD subdistrict has several
times the city's jobs per resident, which the per-resident figures do not carry."""

GEC_SHARE = 0.2
"""Share of Bohua Plaza's electricity covered by green-power certificates in the demo
[dimensionless]. ASSUMPTION: no purchase is published; it exercises market-based scope 2."""

GEC_NODE, GEC_METER = "bohua_plaza", "E-BOHUAPLAZA"
"""The certificate buyer of the demo and its meter (prefixed in :func:`generate_city` copies)."""


def _activities(twin: Twin, days: pd.DatetimeIndex, seed: int,
                consumption: dict[str, float]) -> pd.DataFrame:
    """Monthly non-metered activity rows: the subdistrict's dry waste (incinerated) and wet
    waste (digested) from its residents and office workers, GECs of Bohua Plaza."""
    months = pd.date_range(days[0], days[-1], freq="MS")
    if len(months) == 0 or months[0] != days[0]:
        months = months.insert(0, days[0])
    ends = [*months[1:], days[-1] + pd.Timedelta(days=1)]
    n_days = np.array([(b - a).days for a, b in zip(months, ends, strict=True)], dtype=float)
    weekdays = np.array(
        [np.busday_count(a.date(), b.date()) for a, b in zip(months, ends, strict=True)],
        dtype=float,
    )
    residents = float(twin.root.attributes.get("residents", 0))
    workers = float(twin.site.facts.get("office_workers_daily", 0))
    frames = []
    for activity, per_resident in MSW_KG_PER_RESIDENT_DAY.items():
        rng = _stream(seed, "activities", "msw", activity)
        per_worker = MSW_KG_PER_WORKER_DAY[activity]
        kg = residents * per_resident * n_days + workers * per_worker * weekdays
        frames.append(
            pd.DataFrame(
                {
                    "node_id": [twin.root.id] * len(months),
                    "activity": [activity] * len(months),
                    "period_start": months.strftime("%Y-%m-%d"),
                    "period_end": pd.DatetimeIndex(ends).strftime("%Y-%m-%d"),
                    "amount": kg / 1000.0 * _unit_noise(rng, len(months), 0.05),
                    "unit": ["t"] * len(months),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    rows = frames[0].to_dict("list")
    node, meter = _gec_buyer(twin)
    if meter in consumption:
        mwh = consumption[meter] / 1000.0 * GEC_SHARE * n_days / n_days.sum()
        gec = pd.DataFrame({**rows, "node_id": [node] * len(months),
                            "activity": ["electricity.green_certificate"] * len(months),
                            "amount": np.floor(mwh), "unit": ["MWh"] * len(months)})
        frame = pd.concat([frame, gec], ignore_index=True)
    return frame


def _gec_buyer(twin: Twin) -> tuple[str, str]:
    """The node buying certificates (Bohua Plaza, also in city copies) and its meter."""
    for node in twin.nodes:
        if node == GEC_NODE or node.endswith("." + GEC_NODE):
            prefix = node.removesuffix(GEC_NODE).removesuffix(".").upper()
            meter = f"{prefix}-{GEC_METER}" if prefix else GEC_METER
            if meter in twin.meters and twin.meters[meter].node == node:
                return node, meter
    return "", ""


def _read_dates(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    month_starts = pd.date_range(first, last, freq="MS")
    dates = month_starts[(month_starts > first) & (month_starts < last)]
    return pd.DatetimeIndex([first, *dates, last])


# --- writing ---------------------------------------------------------------------------------


def _csv(
    frame: pd.DataFrame, *, float_format: str | None = None, lineterminator: str = "\n"
) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator=lineterminator, float_format=float_format)
    return buffer.getvalue()


def _parquet(frame: pd.DataFrame) -> bytes:
    """A frame as Parquet bytes: numbers as float64, the rest as text; no pandas metadata,
    so the same values give the same bytes."""
    table = pa.table(
        {
            c: pa.array(frame[c].to_numpy(dtype=float))
            if pd.api.types.is_numeric_dtype(frame[c])
            else pa.array(frame[c].tolist(), pa.string())
            for c in frame.columns
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


@dataclass
class _Writer:
    out: Path
    progress: Callable[[int, int], None] | None
    total: int
    done: int = 0
    written: dict[str, Path] = field(default_factory=dict)
    info: dict[str, dict[str, Any]] = field(default_factory=dict)

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def write(
        self,
        key: str,
        text: str | bytes,
        *,
        rows: int,
        encoding: str = "utf-8",
        description: str = "",
        name: str | None = None,
    ) -> None:
        name = name or FILE_NAMES[key]
        if isinstance(text, bytes):
            data, encoding = text, "parquet"
        else:
            data = text.encode(encoding)
        path = self.out / name
        path.write_bytes(data)
        self.written[key] = path
        self.info[name] = {
            "name": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": rows,
            "bytes": len(data),
            "encoding": encoding,
            "description": description,
        }
        logger.debug("wrote %s (%d rows, %d bytes)", path, rows, len(data))
        self.tick()


# --- faults ----------------------------------------------------------------------------------


def _row_numbers(frame: pd.DataFrame, tag: str) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(frame["_tag"].to_numpy() == tag)]


def _electricity_faults(
    frame: pd.DataFrame,
    kinds: tuple[str, ...],
    seed: int,
    ids: list[str],
    office: set[str],
    n_hours: int,
    file: str,
) -> tuple[pd.DataFrame, list[InjectedFault]]:
    """Inject gap, duplicate, spike and mixed_units; return the file frame and the records."""
    order = [ids[i] for i in _stream(seed, "fault", "electricity").permutation(len(ids))]
    mixed = next((m for m in order if m in office), order[0])
    rest = [m for m in order if m != mixed] or order
    spike_meter, gap_meter, dup_meter = (rest[i % len(rest)] for i in range(3))
    offset = {meter_id: i * n_hours for i, meter_id in enumerate(ids)}

    frame = frame.assign(_pos=np.arange(len(frame), dtype=float), _tag="")
    kwh = frame["kwh"].to_numpy(copy=True)
    tags = frame["_tag"].to_numpy(copy=True)
    unit = np.full(len(frame), "kWh", dtype=object)
    low, high = n_hours // 10, max(n_hours // 10 + 1, 9 * n_hours // 10)
    plans: dict[str, Any] = {}

    if "mixed_units" in kinds:
        rng = _stream(seed, "fault", "mixed_units")
        day = int(rng.integers(low // 24, max(low // 24 + 1, high // 24)))
        rows = offset[mixed] + np.arange(day * 24, min(day * 24 + 24, n_hours))
        plans["mixed_units"] = (rows, kwh[rows].copy())
        tags[rows] = "mixed_units"
        unit[rows] = "MWh"
    if "spike" in kinds:
        rng = _stream(seed, "fault", "spike")
        row = offset[spike_meter] + int(rng.integers(low, high))
        plans["spike"] = (row, float(kwh[row]))
        kwh[row] = round(kwh[row] * _SPIKE_FACTOR, 3)
        tags[row] = "spike"
    keep = np.ones(len(frame), dtype=bool)
    if "gap" in kinds:
        rng = _stream(seed, "fault", "gap")
        length = min(int(rng.integers(6, 49)), max(1, n_hours // 10))
        first = int(rng.integers(low, max(low + 1, 8 * n_hours // 10)))
        rows = offset[gap_meter] + np.arange(first, min(first + length, n_hours - 1))
        keep[rows] = False
        tags[rows[0] - 1] = "gap_before"
        tags[rows[-1] + 1] = "gap_after"
        plans["gap"] = (
            frame["timestamp"].iloc[rows[0]],
            frame["timestamp"].iloc[rows[-1]],
            len(rows),
            float(kwh[rows].sum()),
        )
    frame = frame.assign(kwh=kwh, _tag=tags, unit=unit)
    extra = []
    if "duplicate" in kinds:
        rng = _stream(seed, "fault", "duplicate")
        picks = offset[dup_meter] + np.sort(
            rng.choice(np.arange(low, high), _DUPLICATES + 1, replace=False)
        )
        exact = frame.iloc[picks[:-1]].assign(_tag="duplicate")
        exact["_pos"] += 0.5
        conflict = frame.iloc[picks[-1:]].copy()
        frame.iloc[picks[-1], frame.columns.get_loc("_tag")] = "conflict_original"
        frame.iloc[picks[:-1], frame.columns.get_loc("_tag")] = "duplicate_original"
        original = float(conflict["kwh"].iloc[0])
        changed = round(original * 1.25, 3)
        conflict = conflict.assign(
            kwh=changed if changed != original else original + 1.0,
            _tag="conflict",
            _pos=conflict["_pos"] + 0.5,
        )
        extra = [exact, conflict]
    frame = frame[keep]
    if extra:
        frame = pd.concat([frame, *extra]).sort_values("_pos", kind="stable")
    frame = frame.reset_index(drop=True)

    records: list[InjectedFault] = []
    if "mixed_units" in kinds:
        rows_idx, true = plans["mixed_units"]
        mixed_rows = _row_numbers(frame, "mixed_units")
        records.append(
            InjectedFault(
                "mixed_units",
                file,
                mixed,
                tuple(mixed_rows),
                f"{len(rows_idx)} hourly rows (one day) exported in MWh: the kwh column holds the "
                "magnitude in the row's unit column (MWh, 6 decimals)",
                "convert each row by its unit column with carbon.units.conversion_factor(unit, "
                "'kWh'); the true energy is unchanged",
                {
                    "unit": "MWh",
                    "true_kwh": [float(v) for v in true],
                    "first_timestamp": frame["timestamp"].iloc[mixed_rows[0] - 1],
                },
            )
        )
    if "spike" in kinds:
        _, true = plans["spike"]
        [row] = _row_numbers(frame, "spike")
        records.append(
            InjectedFault(
                "spike",
                file,
                spike_meter,
                (row,),
                f"one hourly value multiplied by {_SPIKE_FACTOR:g}",
                "flag as an outlier (e.g. > 10x the meter's hour-of-week median); replace by an "
                "estimate and mark it estimated",
                {
                    "factor": _SPIKE_FACTOR,
                    "true_kwh": true,
                    "timestamp": frame["timestamp"].iloc[row - 1],
                },
            )
        )
    if "gap" in kinds:
        missing_from, missing_to, count, true = plans["gap"]
        bounds = (_row_numbers(frame, "gap_before")[0], _row_numbers(frame, "gap_after")[0])
        records.append(
            InjectedFault(
                "gap",
                file,
                gap_meter,
                bounds,
                f"{count} consecutive hours missing between the two rows",
                "detect the missing hours; leave them missing or fill by interpolation marked "
                "estimated; report data completeness",
                {
                    "missing_hours": count,
                    "first_missing": missing_from,
                    "last_missing": missing_to,
                    "true_kwh_missing": round(true, 3),
                },
            )
        )
    if "duplicate" in kinds:
        dup_rows = _row_numbers(frame, "duplicate")
        records.append(
            InjectedFault(
                "duplicate",
                file,
                dup_meter,
                tuple(dup_rows),
                f"{len(dup_rows)} rows repeated exactly, each right after its original",
                "drop exact duplicates (same meter, timestamp and value); keep one",
                {"original_rows": _row_numbers(frame, "duplicate_original"), "conflicting": False},
            )
        )
        [orig_row] = _row_numbers(frame, "conflict_original")
        [conf_row] = _row_numbers(frame, "conflict")
        records.append(
            InjectedFault(
                "duplicate",
                file,
                dup_meter,
                (conf_row,),
                "a second row for the same meter and hour with a different value",
                "do not pick silently: quarantine both or keep the first and raise a data-quality "
                "warning naming the two values",
                {
                    "original_rows": [orig_row],
                    "conflicting": True,
                    "original_kwh": float(frame["kwh"].iloc[orig_row - 1]),
                    "conflicting_kwh": float(frame["kwh"].iloc[conf_row - 1]),
                },
            )
        )
    return frame, records


# --- register faults and files ---------------------------------------------------------------


@dataclass
class _Registers:
    """Register meters of one run: read dates, true cumulative use and the readings written."""

    reads: pd.DatetimeIndex
    read_pos: np.ndarray  # day offset of each read from ``start``
    running: dict[str, np.ndarray]  # cumulative use at 00:00 of each day [meter unit]
    start_index: dict[str, float]
    readings: dict[str, np.ndarray] = field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.readings = {
            m: np.floor(self.start_index[m] + run[self.read_pos]) for m, run in self.running.items()
        }

    def total(self, meter_id: str) -> float:
        return float(self.running[meter_id][-1])

    def fault_interval(self) -> int:
        """Index ``k`` of the read interval (k, k+1) used for faults: >= 2 days, near the middle."""
        candidates = np.flatnonzero(np.diff(self.read_pos) >= 2)
        middle = len(self.reads) // 2 - 1
        return int(candidates[np.argmin(np.abs(candidates - middle))])


def _inject_register_faults(
    regs: _Registers, kinds: tuple[str, ...], seed: int, eligible: list[str], first: pd.Timestamp
) -> pd.DataFrame:
    """Apply rollover and replacement to ``regs.readings``; return the events frame."""
    events = pd.DataFrame(columns=_EVENTS_COLUMNS)
    if not eligible or not {"rollover", "replacement"} & set(kinds):
        return events
    order = [eligible[i] for i in _stream(seed, "fault", "register").permutation(len(eligible))]
    modulus = 10**ROLLOVER_DIGITS
    k = regs.fault_interval()
    # the wrap falls mid-interval k: a meter qualifies when its whole use stays below 0.9 x the
    # modulus and interval k uses < 0.2 x, so the read before the wrap is >= 0.9 x the modulus
    # and the one after < 0.1 x (the unambiguous pattern of a wrap)
    small = [
        m
        for m in order
        if regs.total(m) < 0.9 * modulus
        and regs.running[m][regs.read_pos[k + 1]] - regs.running[m][regs.read_pos[k]]
        < 0.2 * modulus
    ]
    rollover = small[0] if small else None
    replaced = next((m for m in order if m != rollover), None)
    if "rollover" in kinds:
        if rollover is None:
            logger.warning(
                "carbon.synth: no register meter uses < %d over the period (and < %d in the "
                "fault interval); the rollover fault is not injected",
                int(0.9 * modulus),
                int(0.2 * modulus),
            )
        else:
            cumulative = regs.running[rollover][regs.read_pos]
            wrap_at = (cumulative[k] + cumulative[k + 1]) / 2
            start = float(np.floor(modulus - wrap_at))
            regs.readings[rollover] = np.mod(np.floor(start + cumulative), modulus)
            regs.plans[rollover] = {"kind": "rollover", "read": k + 1}
    if "replacement" in kinds and replaced is not None:
        gap_days = int(regs.read_pos[k + 1] - regs.read_pos[k])
        day = int(regs.read_pos[k]) + gap_days // 2
        used = float(regs.running[replaced][day])
        old_final = int(np.floor(regs.start_index[replaced] + used))
        new_initial = int(_stream(seed, "fault", "replacement").integers(0, 21))
        cumulative = regs.running[replaced][regs.read_pos]
        after = np.arange(len(regs.reads)) > k
        regs.readings[replaced] = np.where(
            after, np.floor(new_initial + cumulative - used), regs.readings[replaced]
        )
        when = (first + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
        regs.plans[replaced] = {
            "kind": "replacement",
            "read": k + 1,
            "date": when,
            "old_final": old_final,
            "new_initial": new_initial,
        }
        events = pd.DataFrame(
            [[replaced, when, "replacement", old_final, new_initial]], columns=_EVENTS_COLUMNS
        )
    return events


def _register_fault_record(regs: _Registers, meter_id: str, file: str, row: int) -> InjectedFault:
    plan = regs.plans[meter_id]
    before, after = (int(v) for v in regs.readings[meter_id][plan["read"] - 1 : plan["read"] + 1])
    if plan["kind"] == "rollover":
        modulus = 10**ROLLOVER_DIGITS
        return InjectedFault(
            "rollover",
            file,
            meter_id,
            (row,),
            f"{ROLLOVER_DIGITS}-digit register wrapped from {before} past {modulus - 1} to {after}",
            f"treat a drop as a wrap when it fits a {ROLLOVER_DIGITS}-digit register: "
            f"consumption = reading - previous + {modulus}",
            {
                "register_digits": ROLLOVER_DIGITS,
                "wraps_after": modulus - 1,
                "previous_reading": before,
                "reading": after,
                "true_consumption": after + modulus - before,
            },
        )
    return InjectedFault(
        "replacement",
        file,
        meter_id,
        (row,),
        f"meter replaced on {plan['date']}: final reading {plan['old_final']} of the old "
        f"meter, new meter started at {plan['new_initial']}",
        f"join with {FILE_NAMES['events']}: consumption = (old_final - previous) + "
        "(reading - new_initial); never a negative consumption",
        {
            "date": plan["date"],
            "old_final_reading": plan["old_final"],
            "new_initial_reading": plan["new_initial"],
            "events_file": FILE_NAMES["events"],
            "events_row": 1,
        },
    )


def _register_file(
    twin: Twin, regs: _Registers, ids: list[str], file: str
) -> tuple[pd.DataFrame, list[InjectedFault]]:
    """The ``meter_id,read_date,reading,unit`` frame of ``ids`` and its fault records."""
    n = len(regs.reads)
    frame = pd.DataFrame(
        {
            "meter_id": np.repeat(np.array(ids, dtype=object), n),
            "read_date": np.tile(
                np.asarray(regs.reads.strftime("%Y-%m-%d"), dtype=object), len(ids)
            ),
            "reading": np.concatenate([regs.readings[m] for m in ids] or [np.zeros(0)]).astype(
                "int64"
            ),
            "unit": np.repeat(np.array([twin.meters[m].unit for m in ids], dtype=object), n),
        }
    )
    records = [
        _register_fault_record(regs, m, file, i * n + regs.plans[m]["read"] + 1)
        for i, m in enumerate(ids)
        if m in regs.plans
    ]
    return frame, records


def _gbk_file(regs: _Registers, ids: list[str]) -> tuple[pd.DataFrame, list[InjectedFault]]:
    """The GBK water export of ``ids``: Chinese headers, dates and units."""
    n = len(regs.reads)
    dates = [f"{d.year}年{d.month}月{d.day}日" for d in regs.reads]  # one per read, not per row
    units = np.where(np.arange(len(ids)) % 2 == 0, "立方米", "方").astype(object)
    frame = pd.DataFrame(
        {
            "表号": np.repeat(np.array(ids, dtype=object), n),
            "抄表日期": np.tile(np.array(dates, dtype=object), len(ids)),
            "读数": np.concatenate([regs.readings[m] for m in ids]).astype("int64"),
            "单位": np.repeat(units, n),
        }
    )
    records = [
        InjectedFault(
            "gbk",
            FILE_NAMES["water_gbk"],
            meter_id,
            tuple(range(i * n + 1, (i + 1) * n + 1)),
            "water readings exported by another billing system: GBK encoding, CRLF, Chinese "
            f"headers, dates like 2024年3月1日, unit {units[i]}; this meter is only in this file",
            "decode as GB18030; map 表号/抄表日期/读数/单位 to meter_id/read_date/reading/unit; "
            "parse dates with '%Y年%m月%d日'; convert 立方米/方 with carbon.units",
            {"encoding": "gbk", "unit": str(units[i]), "header": list(frame.columns)},
        )
        for i, meter_id in enumerate(ids)
    ]
    return frame, records


# --- main --------------------------------------------------------------------------------


def _manifest(
    twin: Twin,
    *,
    seed: int,
    first: pd.Timestamp,
    last: pd.Timestamp,
    kinds: tuple[str, ...],
    files: list[dict[str, Any]],
    records: list[InjectedFault],
    calibration: pd.DataFrame,
    adjustments: Mapping[str, Sequence[tuple[Any, float]]] | None,
) -> dict[str, Any]:
    return {
        "synthetic": True,
        "label": SYNTHETIC_LABEL,
        "generator": "carbon.synth",
        "version": __version__,
        "seed": seed,
        "start": first.strftime("%Y-%m-%d"),
        "end": last.strftime("%Y-%m-%d"),
        "timezone": twin.site.timezone,
        "twin": {"name": twin.name, "content_hash": twin.content_hash, "meters": len(twin.meters)},
        "files": files,
        "faults": [r.to_dict() for r in records],
        "fault_kinds": list(kinds),
        "register_digits": REGISTER_DIGITS,
        "weather": {
            "file": FILE_NAMES["temperature"],
            "normals": "mean_temperature 1981-2010 (carbon/data/shanghai_normals.csv)",
            "anomaly_std_K": list(DEFAULT_ANOMALY_STD),
            "lag1_correlation": DEFAULT_LAG1_CORRELATION,
            "degree_day_bases_degC": {"heating": HDD_BASE, "cooling": CDD_BASE},
        },
        "calibration_targets": {
            key: {
                "basis": t.basis,
                "basis_unit": t.basis_unit,
                "central": t.central,
                "low": t.low,
                "high": t.high,
                "unit": f"{t.unit}/{t.basis_unit}/yr",
                "spread": t.spread,
                "source": t.source,
                "confidence": t.confidence,
                "meters": int((calibration["target"] == key).sum()),
            }
            for key, t in CALIBRATION_TARGETS.items()
        },
        "adjustments": {
            m: [
                [d.strftime("%Y-%m-%d"), x]
                for d, x in sorted((pd.Timestamp(d), float(x)) for d, x in e)
            ]
            for m, e in sorted((adjustments or {}).items())
        },
    }


def generate(
    twin: Twin,
    out: str | Path,
    *,
    start: Any = "2024-01-01",
    end: Any = "2025-01-01",
    seed: int = 42,
    faults: bool | str | Iterable[str] | None = False,
    progress: Callable[[int, int], None] | None = None,
    adjustments: Mapping[str, Sequence[tuple[Any, float]]] | None = None,
    electricity: str = "csv",
) -> SynthResult:
    """Write seeded synthetic utility exports for every meter of a twin.

    See the module docstring for the files, the model and the seeding.

    Parameters
    ----------
    twin : the twin whose meters to simulate (hourly electricity interval meters, monthly
        gas and water register meters).
    out : output folder [path]; created if missing. Files of :data:`FILE_NAMES` in it are
        overwritten, and a stale GBK water file is removed when ``gbk`` is not asked for.
    start, end : first day and the day after the last [local date, Asia/Shanghai]; ``end`` is
        exclusive and also the date of the final register reading. At most 10 years.
    seed : seed [dimensionless integer >= 0]. Same arguments -> byte-identical files.
    faults : False (none), True (all of :data:`FAULT_KINDS`), or the kinds to inject.
        Faults need a period of at least 7 days.
    progress : optional ``callable(done, total)`` called as each meter and each file
        completes; the last call has ``done == total``.
    adjustments : optional ``{meter_id: [(from_date, multiplier), ...]}``: consumption from
        ``from_date`` [local date] on is multiplied by ``multiplier`` [dimensionless] (the
        latest applicable entry wins). A hook for injecting savings for M&V.
    electricity : format of the hourly electricity export: ``csv`` (as utilities export it)
        or ``parquet`` (:data:`ELECTRICITY_PARQUET`: the same columns and rows, numbers as
        numbers; about 5x faster to write, for city-scale runs, see :func:`generate_city`).

    Returns
    -------
    SynthResult
        Paths, the injected faults (file, meter, 1-based data rows, expected handling), the
        manifest, per-meter true totals and the temperature series.

    Raises
    ------
    SynthError
        For an unknown fault kind, a bad or too long period, a negative seed or multiplier.
    UnknownMeterError
        When ``adjustments`` names a meter that is not in the twin.
    TwinError
        When a meter cannot be sized or simulated (see :func:`expected_annual`).
    """
    kinds = _fault_kinds(faults)
    first, last = _period(start, end)
    if electricity not in ("csv", "parquet"):
        raise SynthError(f"electricity must be 'csv' or 'parquet'; got {electricity!r}")
    elec_name = FILE_NAMES["electricity"] if electricity == "csv" else ELECTRICITY_PARQUET
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SynthError(f"seed must be an integer >= 0; got {seed!r}")
    seed = int(seed)
    if kinds and (last - first).days < _MIN_FAULT_PERIOD_DAYS:
        raise SynthError(
            f"faults need a period of at least {_MIN_FAULT_PERIOD_DAYS} days; got "
            f"{(last - first).days} ({first.date()}..{last.date()})"
        )
    rules = _adjustments(twin, adjustments)
    meters = [twin.meters[m] for m in sorted(twin.meters)]
    targets = {m.id: _target_for(twin, m) for m in meters}
    calibration = calibration_table(twin)  # sizes every meter: fails before writing anything
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    logger.info(
        "carbon.synth: %d meters of twin %r, %s..%s, seed %d, faults %s",
        len(meters),
        twin.name,
        first.date(),
        last.date(),
        seed,
        ",".join(kinds) or "none",
    )
    writer = _Writer(out, progress, total=len(meters) + 7 + ("gbk" in kinds))
    days = pd.date_range(first, last, freq="D", inclusive="left")
    hours = _hours(first, last)
    weather_seed = int(_stream(seed, "weather").integers(0, 2**63))
    temperature = synthetic_daily_temperature(first, last, weather_seed)
    temps = temperature.to_numpy()
    consumption: dict[str, float] = {}

    # electricity: one hourly series per meter, then faults on the assembled frame
    electric = [m for m in meters if m.measure == "electricity"]
    energy = []
    for meter in electric:
        series = _electricity(
            twin, meter, targets[meter.id], seed, hours, temps, rules.get(meter.id)
        )
        consumption[meter.id] = float(series.sum())
        energy.append(series)
        writer.tick()
    stamps = np.asarray(hours.strftime("%Y-%m-%d %H:%M"), dtype=object)
    clean = pd.DataFrame(
        {
            "meter_id": np.repeat(np.array([m.id for m in electric], dtype=object), len(hours)),
            "timestamp": np.tile(stamps, len(electric)),
            "kwh": np.concatenate(energy or [np.zeros(0)]),
        }
    )
    elec_kinds = tuple(k for k in kinds if k in ("gap", "duplicate", "spike", "mixed_units"))
    records: list[InjectedFault] = []
    file_frame = clean
    if elec_kinds and electric:
        office = {m.id for m in electric if targets[m.id].use_type == "office"}
        ids = [m.id for m in electric]
        file_frame, records = _electricity_faults(
            clean, elec_kinds, seed, ids, office, len(hours), elec_name
        )
    columns = ["meter_id", "timestamp", "kwh"]
    if "mixed_units" in elec_kinds:
        columns.append("unit")
        values = file_frame["kwh"].to_numpy(dtype=float)
        mwh = (file_frame["unit"] == "MWh").to_numpy()
        if electricity == "parquet":
            file_frame = file_frame.assign(kwh=np.where(mwh, values / 1000.0, values))
        else:
            cells = np.char.mod("%.3f", values).astype(object)
            cells[mwh] = np.char.mod("%.6f", values[mwh] / 1000.0)
            file_frame = file_frame.assign(kwh=cells)
    if electricity == "parquet":
        data: str | bytes = _parquet(file_frame[columns])
        (out / FILE_NAMES["electricity"]).unlink(missing_ok=True)
    else:
        data = _csv(file_frame[columns], float_format="%.3f")
        (out / ELECTRICITY_PARQUET).unlink(missing_ok=True)
    writer.write(
        "electricity",
        data,
        rows=len(file_frame),
        name=elec_name,
        description="hourly interval electricity [kWh], interval start, local time",
    )

    # registers: daily use -> cumulative -> readings at the read dates, then faults
    registers = [m for m in meters if m.measure != "electricity"]
    running, start_index = {}, {}
    for meter in registers:
        daily = _register_daily(
            twin, meter, targets[meter.id], seed, days, temps, rules.get(meter.id)
        )
        running[meter.id] = np.concatenate([[0.0], np.cumsum(daily)])
        consumption[meter.id] = float(running[meter.id][-1])
        register_stream = _stream(seed, "meter", meter.id, "register")
        start_index[meter.id] = float(register_stream.integers(1000, 2_000_000))
        writer.tick()
    reads = _read_dates(first, last)
    regs = _Registers(reads, np.asarray((reads - first).days, dtype=int), running, start_index)
    water = [m.id for m in registers if m.measure == "water"]
    gbk_stream = _stream(seed, "fault", "gbk")
    picks = gbk_stream.choice(len(water), min(_GBK_METERS, len(water)), replace=False)
    gbk_meters = sorted(water[int(i)] for i in picks)  # drawn always: choices stay independent
    eligible = [m.id for m in registers if m.id not in gbk_meters]
    events = _inject_register_faults(regs, kinds, seed, eligible, first)
    only_gbk = set(gbk_meters) if "gbk" in kinds else set()
    for measure in ("gas", "water"):
        ids = [m.id for m in registers if m.measure == measure and m.id not in only_gbk]
        frame, found = _register_file(twin, regs, ids, FILE_NAMES[measure])
        records += found
        writer.write(
            measure,
            _csv(frame),
            rows=len(frame),
            description=f"monthly cumulative {measure} register readings",
        )
    if only_gbk:
        frame, found = _gbk_file(regs, gbk_meters)
        records += found
        writer.write(
            "water_gbk",
            _csv(frame, lineterminator="\r\n"),
            rows=len(frame),
            encoding="gbk",
            description="water register readings, GBK (decodes as GB18030), CRLF",
        )
    else:
        (out / FILE_NAMES["water_gbk"]).unlink(missing_ok=True)
    writer.write(
        "events", _csv(events), rows=len(events), description="meter events (replacements)"
    )
    weather = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "temperature_degC": temps})
    writer.write(
        "temperature",
        _csv(weather, float_format="%.2f"),
        rows=len(days),
        description="synthetic daily mean temperature [degC]",
    )

    activities = _activities(twin, days, seed, consumption)
    writer.write(
        "activities",
        _csv(activities, float_format="%.3f"),
        rows=len(activities),
        description="monthly activity data: residual MSW [t], green-power certificates [MWh]",
    )

    records.sort(key=lambda r: (r.file, r.rows[0], r.kind))
    manifest = _manifest(
        twin,
        seed=seed,
        first=first,
        last=last,
        kinds=kinds,
        files=[writer.info[name] for name in sorted(writer.info)],
        records=records,
        calibration=calibration,
        adjustments=adjustments,
    )
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    writer.write("manifest", text, rows=0, description="this manifest")
    logger.info(
        "carbon.synth: wrote %d files to %s (%d faults)", len(writer.written), out, len(records)
    )

    totals = calibration[["meter_id", "measure", "use_type", "target"]].assign(
        consumption=calibration["meter_id"].map(consumption),
        period_days=len(days),
        expected_annual=calibration["expected_annual"],
        target_low=calibration["target_low"],
        target_high=calibration["target_high"],
        unit=calibration["unit"],
    )
    return SynthResult(
        out=out,
        files=dict(writer.written),
        faults=tuple(records),
        manifest=json.loads(text),
        totals=totals,
        temperature=temperature,
    )


# --- a synthetic city ------------------------------------------------------------------------

CITY_FOLDER = "city"
"""Folder of the merged city twin written by :func:`generate_city`."""

_CELL_GAP = 0.1  # gap between copies, a share of the base geometry's extent [dimensionless]


def _cell_degrees(geometry: dict[str, Any]) -> tuple[float, float]:
    """The grid step of the copies' geometry [deg lon, deg lat]: the base geometry's extent
    plus :data:`_CELL_GAP` of it, rounded up to 0.001 deg, so that copies never overlap."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if c and isinstance(c[0], (int, float)):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        else:
            for part in c:
                walk(part)

    for f in geometry.get("features", []):
        if f.get("geometry"):
            walk(f["geometry"]["coordinates"])
    if not xs:
        return (0.0, 0.0)
    return tuple(  # type: ignore[return-value]
        math.ceil((max(v) - min(v)) * (1 + _CELL_GAP) * 1000) / 1000 for v in (xs, ys)
    )


@dataclass(frozen=True)
class CityResult:
    """What :func:`generate_city` wrote.

    Attributes
    ----------
    out : the output folder.
    twins : one twin folder per subdistrict copy (``twins/<base>_c001`` ...).
    city : the merged city twin folder (every copy under one root), for one city ledger.
    config : the city's ledger script (``ledger.toml``): ingests every copy's exports.
    exports : per copy, what :func:`generate` wrote.
    synthetic, label : always True; :data:`SYNTHETIC_LABEL`.
    """

    out: Path
    twins: tuple[Path, ...]
    city: Path
    config: Path
    exports: tuple[SynthResult, ...]
    synthetic: bool = True
    label: str = SYNTHETIC_LABEL

    @property
    def readings(self) -> int:
        """Rows of the hourly electricity exports [dimensionless]."""
        return sum(
            next(f["rows"] for f in r.manifest["files"] if "electricity" in f["name"])
            for r in self.exports
        )


def generate_city(
    n: int,
    out: str | Path,
    *,
    base: str | Path = "shimen_erlu",
    start: Any = "2024-01-01",
    end: Any = "2025-01-01",
    seed: int = 42,
    faults: bool | str | Iterable[str] | None = False,
    electricity: str = "csv",
    profile: str = "shanghai-2022",
    progress: Callable[[int, int], None] | None = None,
) -> CityResult:
    """Write a SYNTHETIC city: ``n`` copies of a subdistrict twin, their exports, one ledger.

    Shanghai has over two hundred subdistricts; this stands in for a city's meters when
    testing a ledger engine at scale (:mod:`carbon.engines`). Each copy is the base twin with
    ids prefixed (nodes ``c007.<id>``, meters ``C007-<id>``), regions and attributes kept and
    its schematic geometry offset on a grid (:func:`copy_twin`); its exports come from
    :func:`generate` with the same seed, so every copy has its own meter noise and all share
    the city's weather. The merged city twin (:data:`CITY_FOLDER`) holds every copy under one
    root, each copy's subdistrict as a block of it (the twin allows one subdistrict, at the
    root); its ledger script ``ledger.toml`` ingests all exports.

    Parameters
    ----------
    n : number of subdistrict copies [dimensionless, >= 1].
    out : output folder [path]: ``twins/``, ``city/``, ``exports/<copy>/``, ``ledger.toml``.
    base : the subdistrict twin to copy (name or folder).
    start, end, seed, faults : as for :func:`generate`.
    electricity : ``csv`` or ``parquet`` hourly exports (see :func:`generate`).
    profile : factor profile named in the ledger script.
    progress : optional ``callable(done, total)``, once per copy.

    Returns
    -------
    CityResult

    Raises
    ------
    SynthError
        For ``n < 1``, an unknown ``electricity`` format, and as :func:`generate` does;
        before anything is written.
    """
    from carbon.twin import load_twin

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SynthError(f"a city needs n >= 1 subdistrict copies; got {n!r}")
    if electricity not in ("csv", "parquet"):
        raise SynthError(f"electricity must be 'csv' or 'parquet'; got {electricity!r}")
    _period(start, end)
    _fault_kinds(faults)
    twin = base if isinstance(base, Twin) else load_twin(base)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    twins, exports = [], []
    for k in range(1, n + 1):
        folder = copy_twin(twin, k, out / "twins", grid=math.ceil(math.sqrt(n)))
        copy = load_twin(folder)
        exports.append(
            generate(
                copy,
                out / "exports" / copy.name,
                start=start,
                end=end,
                seed=seed,
                faults=faults,
                electricity=electricity,
            )
        )
        twins.append(folder)
        if progress is not None:
            progress(k, n)
    city = _merge_city(twin, [load_twin(t) for t in twins], out / CITY_FOLDER)
    config = _city_config(out, load_twin(city), exports, start=start, end=end, profile=profile)
    logger.info("carbon.synth: city of %d copies of %r in %s", n, twin.name, out)
    return CityResult(out, tuple(twins), city, config, tuple(exports))


def copy_twin(base: Twin, index: int, out: str | Path, *, grid: int = 1) -> Path:
    """Write copy ``index`` of a twin folder under ``out``, with every id prefixed.

    Nodes and assets become ``c{index:03d}.<id>``, meters ``C{index:03d}-<id>``; names,
    attributes, estimates, regions and sources are kept; the site is renamed
    ``<base>_c{index:03d}`` and labelled a SYNTHETIC copy. The schematic geometry is shifted
    to cell ``index - 1`` of a ``grid``-wide grid, the base geometry's extent plus a gap apart
    (:func:`_cell_degrees`).

    Returns
    -------
    Path
        The copy's folder (``out/<base>_c{index:03d}``).
    """
    tag = f"c{index:03d}"
    raw = _raw_twin(base)
    site = dict(raw["site.toml"]["site"])
    site_id = f"{base.name}_{tag}"
    site |= {
        "id": site_id,
        "root": f"{tag}.{site['root']}",
        "name_zh": f"{site['name_zh']}(合成副本 {index:03d})",
        "name_en": f"{site['name_en']} (synthetic copy {index:03d})",
        "notes": f"SYNTHETIC copy {index} of {base.name} (carbon.synth.copy_twin): ids prefixed "
        f"'{tag}.', geometry offset; facts as the original. {site.get('notes', '')}".strip(),
    }

    def node_id(value: str) -> str:
        return f"{tag}.{value}"

    nodes = []
    for n in raw["nodes.toml"].get("node", []):
        n = dict(n, id=node_id(n["id"]))
        if n.get("parent"):
            n["parent"] = node_id(n["parent"])
        if n["id"] == site["root"]:
            n["name_zh"], n["name_en"] = site["name_zh"], site["name_en"]
        nodes.append(n)
    meters = [
        dict(m, id=f"{tag.upper()}-{m['id']}", node=node_id(m["node"]))
        for m in raw["meters.toml"].get("meter", [])
    ]
    assets = [
        dict(a, id=node_id(a["id"]), node=node_id(a["node"]))
        for a in raw["assets.toml"].get("asset", [])
    ]
    folder = Path(out) / site_id
    folder.mkdir(parents=True, exist_ok=True)
    header = f"# {SYNTHETIC_LABEL}\n# Copy {index} of {base.name} (carbon.synth.copy_twin).\n"
    (folder / "site.toml").write_text(header + _toml({"site": site}), encoding="utf-8")
    (folder / "nodes.toml").write_text(header + _toml({"node": nodes}), encoding="utf-8")
    (folder / "meters.toml").write_text(header + _toml({"meter": meters}), encoding="utf-8")
    if assets:
        (folder / "assets.toml").write_text(header + _toml({"asset": assets}), encoding="utf-8")
    if base.geometry is not None:
        col, row = (index - 1) % max(grid, 1), (index - 1) // max(grid, 1)
        step = _cell_degrees(base.geometry)
        shift = (col * step[0], -row * step[1])
        features = [
            {
                **f,
                "properties": {**f["properties"], "id": node_id(f["properties"]["id"])},
                "geometry": _shifted(f["geometry"], shift),
            }
            for f in base.geometry.get("features", [])
        ]
        geo = {
            "type": "FeatureCollection",
            "name": f"{site_id} (SYNTHETIC, schematic, offset {shift[0]:+.3f} deg lon, "
            f"{shift[1]:+.3f} deg lat)",
            "features": features,
        }
        (folder / "geometry.geojson").write_text(
            json.dumps(geo, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    return folder


def _merge_city(base: Twin, copies: list[Twin], folder: Path) -> Path:
    """One twin holding every copy: root ``city``; each copy's root as a block, its own blocks
    dissolved into it (children, meters and assets move up, inheriting use type / region)."""
    root = "city"
    residents = sum(c.root.attributes.get("residents", 0) for c in copies)
    site = {
        "id": f"{base.name}_city",
        "name_zh": f"合成城市({len(copies)} 个{base.site.name_zh}副本)",
        "name_en": f"Synthetic city ({len(copies)} copies of {base.site.name_en})",
        "region": base.site.region,
        "timezone": base.site.timezone,
        "root": root,
        "facts": {
            "subdistricts": len(copies),
            "residents": residents,
            "office_workers_daily": sum(
                c.site.facts.get("office_workers_daily", 0) for c in copies
            ),
        },
        "notes": f"{SYNTHETIC_LABEL}. carbon.synth.generate_city: every copy's subdistrict is "
        "a block of this root, since a twin has one subdistrict (its root).",
    }
    nodes: list[dict[str, Any]] = [
        {
            "id": root,
            "kind": "subdistrict",
            "name_zh": site["name_zh"],
            "name_en": site["name_en"],
            "attributes": {"residents": residents},
            "notes": "SYNTHETIC city root.",
        }
    ]
    meters, assets, features = [], [], []
    raw_nodes = {}
    for copy in copies:
        raw = _raw_twin(copy)
        dissolved = {n.id: n for n in copy.children(copy.root.id)}
        for n in raw["nodes.toml"]["node"]:
            n = dict(n)
            if n["id"] in dissolved:
                continue
            if n["id"] == copy.root.id:
                n |= {"kind": "block", "parent": root}
            elif n.get("parent") in dissolved:
                gone = dissolved[n["parent"]]
                n["parent"] = copy.root.id
                for key in ("use_type", "region"):
                    if getattr(gone, key) and not n.get(key):
                        n[key] = getattr(gone, key)
            nodes.append(n)
            raw_nodes[n["id"]] = n
        meters += [
            dict(m, node=copy.root.id) if m["node"] in dissolved else m
            for m in raw["meters.toml"]["meter"]
        ]
        assets += [
            dict(a, node=copy.root.id) if a["node"] in dissolved else a
            for a in raw["assets.toml"].get("asset", [])
        ]
        if copy.geometry is not None:
            features += [
                f for f in copy.geometry["features"] if f["properties"]["id"] not in dissolved
            ]
    folder.mkdir(parents=True, exist_ok=True)
    header = f"# {SYNTHETIC_LABEL}\n# The merged city of carbon.synth.generate_city.\n"
    (folder / "site.toml").write_text(header + _toml({"site": site}), encoding="utf-8")
    (folder / "nodes.toml").write_text(header + _toml({"node": nodes}), encoding="utf-8")
    (folder / "meters.toml").write_text(header + _toml({"meter": meters}), encoding="utf-8")
    (folder / "assets.toml").write_text(header + _toml({"asset": assets}), encoding="utf-8")
    if features:
        points = [p for f in features for p in _points(f["geometry"]["coordinates"])]
        (x0, y0), (x1, y1) = np.min(points, axis=0), np.max(points, axis=0)
        box = [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]
        city = {
            "type": "Feature",
            "properties": {"id": root},
            "geometry": {"type": "Polygon", "coordinates": np.round(box, 6).tolist()},
        }
        geo = {
            "type": "FeatureCollection",
            "name": f"{site['id']} (SYNTHETIC, schematic)",
            "features": [city, *features],
        }
        (folder / "geometry.geojson").write_text(
            json.dumps(geo, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    return folder


def _city_config(
    out: Path, city: Twin, exports: list[SynthResult], *, start: Any, end: Any, profile: str
) -> Path:
    """The city's ledger script: every copy's exports in the demo's order, pinned by hash.

    Written with tomli-w in the shape of :class:`carbon.pipeline.LedgerScript` (which checks
    it when the script is run).
    """
    import tomli_w

    first, last = _period(start, end)
    order = ("events", "gas", "water", "water_gbk", "electricity", "activities")
    inputs = [
        {
            "file": result.files[key].resolve().relative_to(out.resolve()).as_posix(),
            "sha256": _file_sha256(result.files[key]),
        }
        for result in exports
        for key in order
        if key in result.files
    ]
    script = {
        "ledger": {
            "store": "city.duckdb",
            "twin": city.folder.name,
            "profile": profile,
            "start": first.date(),
            "end": last.date(),
            "ne_threshold": 0.5,
        },
        "input": inputs,
    }
    header = (
        f"# Ledger script of a SYNTHETIC city ({len(exports)} subdistrict copies). Run with:\n"
        "#   carbon ledger build ledger.toml --out snapshots [--engine spark]\n"
    )
    path = out / "ledger.toml"
    path.write_text(header + tomli_w.dumps(script), encoding="utf-8")
    return path


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _raw_twin(twin: Twin) -> dict[str, dict[str, Any]]:
    out = {}
    for name in ("site.toml", "nodes.toml", "meters.toml", "assets.toml"):
        path = twin.folder / name
        out[name] = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return out


def _shifted(geometry: dict[str, Any], shift: tuple[float, float]) -> dict[str, Any]:
    def move(c: Any) -> Any:
        if isinstance(c[0], int | float):
            return [round(c[0] + shift[0], 6), round(c[1] + shift[1], 6), *c[2:]]
        return [move(x) for x in c]

    return {**geometry, "coordinates": move(geometry["coordinates"])}


def _points(coords: Any) -> list[list[float]]:
    if isinstance(coords[0], int | float):
        return [list(coords[:2])]
    return [p for c in coords for p in _points(c)]


def _toml(doc: dict[str, Any], path: tuple[str, ...] = (), *, inline: bool = False) -> str:
    """A small TOML writer for twin files: tables and arrays of tables, whose own dict
    values (``attributes``, ``estimated``) are written as inline tables.

    Strings are written as JSON strings (whose escapes TOML basic strings share).
    """
    lines: list[str] = []
    tables, arrays = [], []
    for key, value in doc.items():
        if isinstance(value, dict) and not inline:
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables:
        name = ".".join(_toml_key(p) for p in (*path, key))
        lines += ["", f"[{name}]", _toml(value, (*path, key)).rstrip("\n")]
    for key, items in arrays:
        name = ".".join(_toml_key(p) for p in (*path, key))
        for item in items:
            lines += ["", f"[[{name}]]", _toml(item, (*path, key), inline=True).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise SynthError(f"cannot write {value!r} to TOML")


def provenance(path: str | Path, sha256: str) -> dict[str, Any] | None:
    """Whether a file is one that :func:`generate` wrote, by its content, not its name.

    Looks for ``synthetic_manifest.json`` in the file's folder and its parent, and for the
    file's SHA-256 among the files that manifest lists. A renamed synthetic file is still found;
    a file edited after generation is not synthetic any more (it is not what was generated).

    Parameters
    ----------
    path : the ingested file.
    sha256 : its SHA-256 [hex].

    Returns
    -------
    dict or None
        ``{"synthetic": True, "generator", "version", "seed", "manifest_sha256"}``, or None.
    """

    folder = Path(path).resolve().parent
    for where in (folder, folder.parent):
        manifest = where / FILE_NAMES["manifest"]
        try:
            blob = manifest.read_bytes()
            data = json.loads(blob)
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not data.get("synthetic"):
            continue
        listed = {f.get("sha256") for f in data.get("files", []) if isinstance(f, dict)}
        if sha256 in listed:
            return {
                "synthetic": True,
                "generator": str(data.get("generator", "")),
                "version": str(data.get("version", "")),
                "seed": data.get("seed"),
                "manifest_sha256": hashlib.sha256(blob).hexdigest(),
            }
    return None
