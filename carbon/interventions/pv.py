"""Rooftop PV, offline: Shanghai irradiance from sunshine normals, pvlib transposition, PVWatts.

Three layers, as in pvlib:

pure functions
    FAO-56 extraterrestrial radiation and day length (:func:`extraterrestrial_daily`,
    :func:`daylight_hours`, :func:`extraterrestrial_monthly`) and the Ångström-Prescott
    formula (:func:`angstrom_ghi`); :func:`monthly_ghi` applies them to the shipped CMA
    1971-2000 sunshine normals (:mod:`carbon.climate`).
containers
    :class:`AngstromCoefficients`, :class:`Weather` (an hourly typical year with its
    provenance), :class:`PVParameters` (the system-wide PVWatts settings).
orchestration
    :func:`shanghai_weather` (the offline recipe below), :func:`read_weather_file` (a user's
    EPW), :func:`simulate_roofs` (many roofs at once, one pvlib pass per orientation),
    :func:`roof_modelchain` (the per-roof pvlib ModelChain it is checked against) and the
    :class:`RooftopPV` intervention model.

The offline recipe (docs/research/climate.md §2 'How to use in code'; no download at run time)
-------------------------------------------------------------------------------------------
1. Monthly GHI from monthly sunshine hours with FAO-56 eq. 35, Rs = (a_s + b_s n/N) Ra, where
   Ra (eq. 21) and N (eq. 34) are summed over the days of the month.
2. Hourly clear-sky GHI with pvlib's Ineichen model and the Linke turbidity climatology that
   ships with pvlib (``lookup_linke_turbidity``; docs/research/stack.md §1), at mid-hour stamps.
3. Each month scaled by k_m = target / clear-sky monthly total, clipped to k_m <= 1.
4. DNI and DHI by the Erbs decomposition; air temperature a cosine between the monthly mean
   daily minimum (03:00) and maximum (15:00) of the same CMA 1971-2000 normals; a constant
   wind speed (assumption).
5. Plane-of-array irradiance by the Perez transposition (pvlib ModelChain's default), the
   physical IAM, SAPM cell temperature (open rack, glass/polymer), PVWatts DC with the PVWatts
   default loss stack, and the PVWatts inverter.

The recipe reproduces monthly totals, not day-to-day variability: good for monthly and annual
yield, not for self-consumption studies (an hourly EPW file is better there).

Ångström coefficients: the choice
---------------------------------
The FAO-56 defaults (0.25, 0.50) give 1,471 kWh/m2/yr here, above the best-known Shanghai band
of 1,250-1,350 (UNCONFIRMED); docs/research/climate.md §3 notes that they overestimate in polluted
east China and that fitted values are lowest in the south-east. The default here is
**a_s = 0.175, b_s = 0.55**: the midpoints of the best-known Shanghai ranges (a 0.15-0.20,
b 0.50-0.60; UNCONFIRMED), both inside the fitted China ranges of Huang et al. 2019 (a
0.117-0.345, b 0.345-0.703; high). They give 1,303 kWh/m2/yr with the 1971-2000 sunshine,
11 % below the FAO-default estimate, and the corners of those ranges give the low/high of the
estimate (1,156-1,450 kWh/m2/yr). The coefficients are parameters; the FAO defaults raise a
``pv.fao_default_coefficients`` warning.

References
----------
Allen R.G., Pereira L.S., Raes D., Smith M., *Crop evapotranspiration*, FAO Irrigation and
Drainage Paper 56, 1998, Ch. 3, eqs. 21, 23-25, 34, 35.
Ineichen P., Perez R., Solar Energy 73(3):151-157, 2002 (clear sky, via pvlib).
Erbs D.G., Klein S.A., Duffie J.A., Solar Energy 28(4):293-302, 1982 (via pvlib).
Perez R. et al., Solar Energy 44(5):271-289, 1990 (via pvlib).
King D.L., Boyson W.E., Kratochvil J.A., SAND2004-3535, 2004, eqs. 11-12 (SAPM temperature).
Dobos A.P., *PVWatts Version 5 Manual*, NREL/TP-6A20-62641, 2014 (DC, losses, inverter).
Huang Z. et al., 灌溉排水学报 2019, doi:10.13522/j.cnki.ggps.20180412 (fitted a, b in China).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
import pint

from carbon.interventions.base import (
    REFERENCE_YEAR,
    Angle,
    Area,
    Capacity,
    Cited,
    Dimensionless,
    Intervention,
    InterventionError,
    PerKelvin,
    PowerDensity,
    Speed,
)
from carbon.units import Q_
from carbon.warnings import QualityWarning

if TYPE_CHECKING:
    from pvlib.location import Location
    from pvlib.modelchain import ModelChain

    from carbon.twin import Twin

__all__ = [
    "FAO56_DEFAULTS",
    "SHANGHAI_ALTITUDE",
    "SHANGHAI_COEFFICIENTS",
    "SHANGHAI_LATITUDE",
    "SHANGHAI_LONGITUDE",
    "SOLAR_CONSTANT",
    "AngstromCoefficients",
    "PVParameters",
    "RooftopPV",
    "Weather",
    "angstrom_ghi",
    "daylight_hours",
    "extraterrestrial_daily",
    "extraterrestrial_monthly",
    "monthly_ghi",
    "orientation_profiles",
    "plane_irradiation_monthly",
    "read_weather_file",
    "reference_system",
    "roof_modelchain",
    "shanghai_location",
    "shanghai_weather",
    "simulate_roofs",
]

SHANGHAI_LATITUDE = 31.23
"""Site latitude [deg N] (Shimen Erlu, central Shanghai; docs/research/climate.md §2)."""
SHANGHAI_LONGITUDE = 121.47
"""Site longitude [deg E]."""
SHANGHAI_ALTITUDE = 4.0
"""Site altitude [m]: 'SHANGHAI (4 meters)' (travelguide-en, docs/research/climate.md §1); the
ASHRAE 2013 Baoshan station is also at 4 m."""
SOLAR_CONSTANT = 0.0820
"""Solar constant G_sc [MJ m-2 min-1], FAO-56 eq. 21."""

_MJ_PER_KWH = 3.6


# --------------------------------------------------------------------------- FAO-56
def inverse_relative_distance(day_of_year: Any) -> np.ndarray:
    """Inverse relative Earth-Sun distance d_r [dimensionless], FAO-56 eq. 23."""
    j = np.asarray(day_of_year, dtype=float)
    return 1.0 + 0.033 * np.cos(2.0 * np.pi * j / 365.0)


def solar_declination(day_of_year: Any) -> np.ndarray:
    """Solar declination delta [rad], FAO-56 eq. 24."""
    j = np.asarray(day_of_year, dtype=float)
    return 0.409 * np.sin(2.0 * np.pi * j / 365.0 - 1.39)


def sunset_hour_angle(latitude: float, day_of_year: Any) -> np.ndarray:
    """Sunset hour angle omega_s [rad], FAO-56 eq. 25 (clipped for polar day and night).

    Parameters
    ----------
    latitude : [deg], north positive.
    day_of_year : J, 1..365 (or 366).
    """
    phi = np.radians(latitude)
    return np.arccos(np.clip(-np.tan(phi) * np.tan(solar_declination(day_of_year)), -1.0, 1.0))


def extraterrestrial_daily(latitude: float, day_of_year: Any) -> np.ndarray:
    """Daily extraterrestrial radiation on a horizontal surface, Ra [MJ m-2 d-1].

    Ra = (24 * 60 / pi) G_sc d_r [omega_s sin(phi) sin(delta) + cos(phi) cos(delta)
    sin(omega_s)], FAO-56 eq. 21 with eqs. 23-25.

    Parameters
    ----------
    latitude : [deg], north positive.
    day_of_year : J [dimensionless], scalar or array.

    Returns
    -------
    numpy.ndarray
        Ra [MJ m-2 d-1].

    References
    ----------
    Allen et al. 1998, FAO Irrigation and Drainage Paper 56, Ch. 3, eq. 21.
    """
    phi = np.radians(latitude)
    delta = solar_declination(day_of_year)
    ws = sunset_hour_angle(latitude, day_of_year)
    return (
        24.0
        * 60.0
        / np.pi
        * SOLAR_CONSTANT
        * inverse_relative_distance(day_of_year)
        * (ws * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(ws))
    )


def daylight_hours(latitude: float, day_of_year: Any) -> np.ndarray:
    """Maximum possible sunshine duration N = 24 omega_s / pi [h], FAO-56 eq. 34."""
    return 24.0 / np.pi * sunset_hour_angle(latitude, day_of_year)


def extraterrestrial_monthly(
    latitude: float = SHANGHAI_LATITUDE, year: int = REFERENCE_YEAR
) -> pd.DataFrame:
    """Monthly sums of Ra and of N over the days of each month.

    Parameters
    ----------
    latitude : [deg], north positive.
    year : calendar year of the days (a non-leap year gives the 365-day climatology).

    Returns
    -------
    pandas.DataFrame
        Indexed by month 1..12: ``ra_kwh_m2`` [kWh m-2 month-1] (eq. 21 summed; 1 kWh =
        3.6 MJ) and ``daylight_hours`` [h month-1] (eq. 34 summed).

    Examples
    --------
    At 31.23 N: January 177.4, July 348.6, year 3,155 kWh/m2 (docs/research/climate.md §2).
    """
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    doy = days.day_of_year.to_numpy()
    ra = pd.Series(extraterrestrial_daily(latitude, doy) / _MJ_PER_KWH, index=days)
    n = pd.Series(daylight_hours(latitude, doy), index=days)
    out = pd.DataFrame(
        {
            "ra_kwh_m2": ra.groupby(days.month).sum(),
            "daylight_hours": n.groupby(days.month).sum(),
        }
    )
    out.index.name = "month"
    return out


def angstrom_ghi(
    ra: Any, sunshine_hours: Any, daylight: Any, a_s: float = 0.25, b_s: float = 0.50
) -> np.ndarray:
    """Global radiation from sunshine duration, Rs = (a_s + b_s n / N) Ra (FAO-56 eq. 35).

    Parameters
    ----------
    ra : extraterrestrial radiation, any energy-per-area unit (the result has the same).
    sunshine_hours : actual sunshine duration n [h] over the same period.
    daylight : maximum possible sunshine duration N [h] over the same period.
    a_s : fraction of Ra reaching the ground on overcast days [dimensionless].
    b_s : additional fraction on clear days [dimensionless]; FAO-56's defaults are 0.25 and
        0.50 'where no actual solar radiation data are available and no calibration has been
        carried out'.

    Returns
    -------
    numpy.ndarray
        Rs in the unit of ``ra``.
    """
    return (
        a_s + b_s * np.asarray(sunshine_hours, float) / np.asarray(daylight, float)
    ) * np.asarray(ra, float)


@dataclass(frozen=True)
class AngstromCoefficients:
    """Ångström-Prescott coefficients with their provenance.

    Attributes
    ----------
    a_s, b_s : [dimensionless].
    source : where they come from.
    confidence : ``high`` ... ``assumption``.
    """

    a_s: float
    b_s: float
    source: str
    confidence: str


FAO56_DEFAULTS = AngstromCoefficients(
    0.25,
    0.50,
    "FAO-56 eq. 35 defaults (Allen et al. 1998); biased high in polluted east China "
    "(docs/research/climate.md §3)",
    "high (as an uncalibrated fallback)",
)
SHANGHAI_COEFFICIENTS = AngstromCoefficients(
    0.175,
    0.55,
    "midpoints of the best-known Shanghai ranges a 0.15-0.20, b 0.50-0.60 "
    "(docs/research/climate.md §3, UNCONFIRMED), inside the fitted China ranges of "
    "Huang et al. 2019 (a 0.117-0.345, b 0.345-0.703, high)",
    "assumption",
)


def monthly_ghi(
    coefficients: AngstromCoefficients = SHANGHAI_COEFFICIENTS,
    *,
    sunshine: pd.Series | None = None,
    sunshine_scale: float = 1.0,
    latitude: float = SHANGHAI_LATITUDE,
) -> pd.Series:
    """Monthly global horizontal irradiation from sunshine hours (FAO-56 eqs. 21, 34, 35).

    Parameters
    ----------
    coefficients : Ångström-Prescott a_s, b_s.
    sunshine : monthly sunshine hours [h], indexed 1..12; default the CMA 1971-2000 normals
        (:func:`carbon.climate.monthly_normals`, ``sunshine_duration``; 1,894.5 h/yr).
    sunshine_scale : multiplies the sunshine hours [dimensionless]; recent years were about
        0.8 x the 1971-2000 normal (1,500-1,530 h, docs/research/climate.md §1).
    latitude : [deg].

    Returns
    -------
    pandas.Series
        GHI [kWh m-2 month-1], indexed by month; ``attrs`` hold the coefficients and sources.
    """
    from carbon.climate import monthly_normals

    if sunshine is None:
        sunshine = monthly_normals("sunshine_duration", "1971-2000")
    if not 0 < sunshine_scale <= 2:
        raise InterventionError(f"sunshine_scale must be in (0, 2], got {sunshine_scale}")
    geo = extraterrestrial_monthly(latitude)
    n = sunshine.reindex(geo.index).to_numpy(dtype=float) * sunshine_scale
    if np.any(n > geo["daylight_hours"].to_numpy()):
        raise InterventionError("monthly sunshine exceeds the possible daylight hours (n > N)")
    ghi = angstrom_ghi(
        geo["ra_kwh_m2"], n, geo["daylight_hours"], coefficients.a_s, coefficients.b_s
    )
    out = pd.Series(ghi, index=geo.index, name="ghi_kwh_m2")
    out.attrs = {
        "unit": "kWh/m2/month",
        "a_s": coefficients.a_s,
        "b_s": coefficients.b_s,
        "coefficients_source": coefficients.source,
        "sunshine_scale": sunshine_scale,
        "sunshine_source": "CMA 1971-2000 normals (carbon.climate, cool-world-shanghai)",
        "method": "FAO-56 eq. 35 with monthly sums of eq. 21 and eq. 34",
    }
    return out


# --------------------------------------------------------------------------- weather
def shanghai_location() -> Location:
    """The pvlib Location of the site (31.23 N, 121.47 E, 4 m, Asia/Shanghai)."""
    from pvlib.location import Location

    return Location(
        SHANGHAI_LATITUDE,
        SHANGHAI_LONGITUDE,
        tz="Asia/Shanghai",
        altitude=SHANGHAI_ALTITUDE,
        name="Shimen Erlu, Shanghai",
    )


@dataclass(frozen=True)
class Weather:
    """An hourly weather year for PV, with its provenance.

    Attributes
    ----------
    data : hourly ``ghi, dni, dhi`` [W m-2], ``temp_air`` [degC], ``wind_speed`` [m s-1] on a
        tz-aware index stamped at mid-hour (each value stands for its hour).
    location : the pvlib Location.
    source : where it comes from (the recipe and its inputs, or the EPW file).
    coefficients : the Ångström coefficients, for the climatology.
    warnings : data-quality warnings.
    """

    data: pd.DataFrame
    location: Location
    source: str
    coefficients: AngstromCoefficients | None = None
    warnings: tuple[QualityWarning, ...] = field(default_factory=tuple)

    @property
    def monthly_ghi_kwh_m2(self) -> pd.Series:
        """GHI per calendar month [kWh m-2]."""
        ghi = self.data["ghi"]
        return ghi.groupby(ghi.index.month).sum() / 1000.0

    @property
    def annual_ghi_kwh_m2(self) -> float:
        """Annual GHI [kWh m-2 yr-1]."""
        return float(self.data["ghi"].sum()) / 1000.0


def _mid_hours(year: int, tz: str) -> pd.DatetimeIndex:
    start = pd.Timestamp(f"{year}-01-01 00:30", tz=tz)
    return pd.date_range(
        start, periods=8760 + 24 * int(pd.Timestamp(f"{year}-12-31").is_leap_year), freq="1h"
    )


@functools.lru_cache(maxsize=32)
def _climatology(
    a_s: float, b_s: float, sunshine_scale: float, wind_speed: float, year: int
) -> tuple[pd.DataFrame, pd.Series]:
    import pvlib

    from carbon.climate import monthly_normals

    coefficients = AngstromCoefficients(a_s, b_s, "", "")
    target = monthly_ghi(coefficients, sunshine_scale=sunshine_scale)
    location = shanghai_location()
    times = _mid_hours(year, location.tz)
    clear = location.get_clearsky(times, model="ineichen")
    clear_monthly = clear["ghi"].groupby(times.month).sum() / 1000.0
    k = (target / clear_monthly).clip(upper=1.0)
    month = times.month.to_numpy()
    ghi = clear["ghi"].to_numpy() * k.reindex(month).to_numpy()
    solpos = location.get_solarposition(times)
    split = pvlib.irradiance.erbs(pd.Series(ghi, index=times), solpos["zenith"], times)
    tmax = monthly_normals("mean_daily_max_temperature", "1971-2000").reindex(month).to_numpy()
    tmin = monthly_normals("mean_daily_min_temperature", "1971-2000").reindex(month).to_numpy()
    hour = times.hour.to_numpy() + times.minute.to_numpy() / 60.0
    temp = (tmax + tmin) / 2.0 + (tmax - tmin) / 2.0 * np.cos(2.0 * np.pi * (hour - 15.0) / 24.0)
    data = pd.DataFrame(
        {
            "ghi": ghi,
            "dni": split["dni"].to_numpy(),
            "dhi": split["dhi"].to_numpy(),
            "temp_air": temp,
            "wind_speed": np.full(len(times), wind_speed),
        },
        index=times,
    )
    return data, k


def shanghai_weather(
    coefficients: AngstromCoefficients = SHANGHAI_COEFFICIENTS,
    *,
    sunshine_scale: float = 1.0,
    wind_speed: float = 2.0,
    year: int = REFERENCE_YEAR,
) -> Weather:
    """The offline typical year for Shanghai (the recipe in the module docstring).

    Parameters
    ----------
    coefficients : Ångström-Prescott a_s, b_s (default :data:`SHANGHAI_COEFFICIENTS`).
    sunshine_scale : multiplies the 1971-2000 sunshine hours [dimensionless].
    wind_speed : constant wind speed for the cell temperature [m s-1]; ASSUMPTION (no
        Shanghai wind normal ships with the library).
    year : calendar year of the stamps (non-leap by default).

    Returns
    -------
    Weather
        8,760 hourly rows; ``warnings`` flag the FAO default coefficients and months whose
        target exceeded clear sky (k_m clipped to 1).
    """
    data, k = _climatology(
        float(coefficients.a_s),
        float(coefficients.b_s),
        float(sunshine_scale),
        float(wind_speed),
        int(year),
    )
    warnings = []
    if (coefficients.a_s, coefficients.b_s) == (FAO56_DEFAULTS.a_s, FAO56_DEFAULTS.b_s):
        warnings.append(
            QualityWarning(
                "pv.fao_default_coefficients",
                "FAO-56 default Ångström coefficients (0.25, 0.50): Shanghai GHI may be "
                "overestimated by about 10-15 % (docs/research/climate.md §3, UNCONFIRMED "
                "magnitude)",
                {"a_s": coefficients.a_s, "b_s": coefficients.b_s},
            )
        )
    clipped = [int(m) for m, v in k.items() if v >= 1.0]
    if clipped:
        warnings.append(
            QualityWarning(
                "pv.clearsky_clipped",
                f"monthly target GHI above clear sky in months {clipped}; k_m clipped to 1",
                {"months": clipped},
            )
        )
    source = (
        f"offline climatology: FAO-56 Ångström-Prescott (a_s={coefficients.a_s}, "
        f"b_s={coefficients.b_s}; {coefficients.source}) on CMA 1971-2000 sunshine "
        f"x {sunshine_scale}, Ineichen clear sky scaled per month, Erbs decomposition; "
        f"temperature from CMA 1971-2000 max/min normals; wind {wind_speed} m/s "
        "(assumption)"
    )
    return Weather(data.copy(), shanghai_location(), source, coefficients, tuple(warnings))


def read_weather_file(path: str | Path, *, year: int = REFERENCE_YEAR) -> Weather:
    """Read a user's EPW (TMY) file into a :class:`Weather`.

    EPW values are integrated over the hour ending at the file's hour stamp (EnergyPlus
    Auxiliary Programs, weather file format); pvlib's ``read_epw`` labels each row with the
    start of that hour, and the stamps are moved to mid-hour here.

    Parameters
    ----------
    path : an ``.epw`` file.
    year : year the rows are coerced to.

    Raises
    ------
    InterventionError
        When the file cannot be read or lacks hourly irradiance.
    """
    import pvlib
    from pvlib.location import Location

    try:
        data, meta = pvlib.iotools.read_epw(str(path), coerce_year=year)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise InterventionError(f"Cannot read weather file {path}: {exc}") from None
    if len(data) < 8760:
        raise InterventionError(
            f"Weather file {path} has {len(data)} rows; expected an hourly year (8,760)"
        )
    data = data[["ghi", "dni", "dhi", "temp_air", "wind_speed"]].astype(float)
    data = data.sort_index()
    data.index = data.index + pd.Timedelta(minutes=30)
    location = Location(
        meta["latitude"],
        meta["longitude"],
        tz=meta["TZ"],
        altitude=meta["altitude"],
        name=str(meta.get("city", "")),
    )
    return Weather(
        data,
        location,
        f"EPW file {Path(path).name} ({meta.get('city', '')}, WMO {meta.get('WMO_code', '')})",
    )


# --------------------------------------------------------------------------- PV system
@dataclass(frozen=True)
class PVParameters:
    """System-wide PVWatts settings for :func:`simulate_roofs`.

    Attributes
    ----------
    gamma_pdc : power temperature coefficient [1/K]; -0.0047 is the PVWatts v5 'standard'
        module (Dobos 2014; value not re-checked in the project's research, UNCONFIRMED),
        inside pvlib's documented typical range -0.002 to -0.005 /K.
    eta_inv_nom : nominal inverter efficiency [dimensionless]; 0.96 is pvlib's and PVWatts'
        default (docs/research/climate.md §4).
    temperature_model : SAPM parameter set (pvlib ``TEMPERATURE_MODEL_PARAMETERS['sapm']``).
    albedo : ground reflectance [dimensionless]; pvlib's default 0.25.
    transposition_model : ``perez`` (pvlib ModelChain's default) or ``haydavies``.
    losses_percent : default DC losses [%] where a roof gives none: the PVWatts default
        stack, 1 - prod(1 - L_i) = 14.0757 % (pvlib ``pvwatts_losses()``; climate.md §4).
    dc_ac_ratio : default DC/AC ratio [dimensionless]; ASSUMPTION (typical sizing).
    """

    gamma_pdc: float = -0.0047
    eta_inv_nom: float = 0.96
    temperature_model: str = "open_rack_glass_polymer"
    albedo: float = 0.25
    transposition_model: Literal["perez", "haydavies"] = "perez"
    losses_percent: float = 14.075660688264469
    dc_ac_ratio: float = 1.1


def roof_modelchain(
    tilt: float,
    azimuth: float,
    capacity_kwp: float,
    location: Location,
    parameters: PVParameters = PVParameters(),
    *,
    losses_percent: float | None = None,
    dc_ac_ratio: float | None = None,
) -> ModelChain:
    """A pvlib PVWatts ModelChain for one roof: the per-roof reference of :func:`simulate_roofs`.

    Parameters
    ----------
    tilt, azimuth : surface tilt and azimuth [deg] (azimuth 180 = south).
    capacity_kwp : DC nameplate [kWp].
    location : pvlib Location.
    parameters : system-wide settings.
    losses_percent, dc_ac_ratio : per-roof values (default from ``parameters``).
    """
    import pvlib

    losses = parameters.losses_percent if losses_percent is None else losses_percent
    ratio = parameters.dc_ac_ratio if dc_ac_ratio is None else dc_ac_ratio
    temp = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][parameters.temperature_model]
    # An empty dict means pvwatts_losses() of the PVWatts defaults (= the default
    # losses_percent); another value replaces the whole stack (as one 'soiling' term).
    stack: dict[str, float] = {}
    if abs(losses - pvlib.pvsystem.pvwatts_losses()) > 1e-12:
        stack = {
            "soiling": losses,
            "shading": 0,
            "snow": 0,
            "mismatch": 0,
            "wiring": 0,
            "connections": 0,
            "lid": 0,
            "nameplate_rating": 0,
            "age": 0,
            "availability": 0,
        }
    system = pvlib.pvsystem.PVSystem(
        surface_tilt=tilt,
        surface_azimuth=azimuth,
        albedo=parameters.albedo,
        module_parameters={"pdc0": capacity_kwp * 1000.0, "gamma_pdc": parameters.gamma_pdc},
        inverter_parameters={
            "pdc0": capacity_kwp * 1000.0 / ratio,
            "eta_inv_nom": parameters.eta_inv_nom,
        },
        temperature_model_parameters=temp,
        losses_parameters=stack,
    )
    return pvlib.modelchain.ModelChain.with_pvwatts(
        system, location, transposition_model=parameters.transposition_model
    )


@dataclass(frozen=True)
class _Sky:
    """Orientation-independent inputs, computed once per weather."""

    times: pd.DatetimeIndex
    zenith: np.ndarray
    azimuth: np.ndarray
    dni: np.ndarray
    ghi: np.ndarray
    dhi: np.ndarray
    dni_extra: np.ndarray
    airmass: np.ndarray
    temp_air: np.ndarray
    wind_speed: np.ndarray


def _sky(weather: Weather) -> _Sky:
    import pvlib

    data = weather.data
    loc = weather.location
    solpos = loc.get_solarposition(data.index, temperature=data["temp_air"])
    airmass = loc.get_airmass(solar_position=solpos, model="kastenyoung1989")
    return _Sky(
        times=data.index,
        zenith=solpos["apparent_zenith"].to_numpy()[None, :],
        azimuth=solpos["azimuth"].to_numpy()[None, :],
        dni=data["dni"].to_numpy()[None, :],
        ghi=data["ghi"].to_numpy()[None, :],
        dhi=data["dhi"].to_numpy()[None, :],
        dni_extra=pvlib.irradiance.get_extra_radiation(data.index).to_numpy()[None, :],
        airmass=airmass["airmass_relative"].to_numpy()[None, :],
        temp_air=data["temp_air"].to_numpy()[None, :],
        wind_speed=data["wind_speed"].to_numpy()[None, :],
    )


def _poa(
    sky: _Sky, tilt: np.ndarray, azimuth: np.ndarray, parameters: PVParameters
) -> dict[str, np.ndarray]:
    import pvlib

    return pvlib.irradiance.get_total_irradiance(
        tilt[:, None],
        azimuth[:, None],
        sky.zenith,
        sky.azimuth,
        sky.dni,
        sky.ghi,
        sky.dhi,
        dni_extra=sky.dni_extra,
        airmass=sky.airmass,
        albedo=parameters.albedo,
        model=parameters.transposition_model,
    )


def _ac_per_kwp(
    sky: _Sky,
    tilt: np.ndarray,
    azimuth: np.ndarray,
    losses: np.ndarray,
    ratio: np.ndarray,
    parameters: PVParameters,
) -> np.ndarray:
    """Hourly AC power per kWp [W / kWp] for G orientations: shape (G, T)."""
    import pvlib

    poa = _poa(sky, tilt, azimuth, parameters)
    aoi = pvlib.irradiance.aoi(tilt[:, None], azimuth[:, None], sky.zenith, sky.azimuth)
    effective = poa["poa_direct"] * pvlib.iam.physical(aoi) + poa["poa_diffuse"]
    temp = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][parameters.temperature_model]
    cell = pvlib.temperature.sapm_cell(
        poa["poa_global"], sky.temp_air, sky.wind_speed, temp["a"], temp["b"], temp["deltaT"]
    )
    dc = pvlib.pvsystem.pvwatts_dc(effective, cell, 1000.0, parameters.gamma_pdc)
    dc = dc * ((100.0 - losses[:, None]) / 100.0)
    ac = pvlib.inverter.pvwatts(dc, 1000.0 / ratio[:, None], parameters.eta_inv_nom)
    return np.nan_to_num(np.asarray(ac, dtype=float), nan=0.0)


def orientation_profiles(
    weather: Weather,
    orientations: pd.DataFrame,
    parameters: PVParameters = PVParameters(),
    *,
    chunk: int = 64,
) -> np.ndarray:
    """Hourly AC power per kWp of each orientation [W / kWp], one pvlib pass per chunk.

    Parameters
    ----------
    weather : the hourly weather.
    orientations : ``tilt_deg, azimuth_deg, losses_percent, dc_ac_ratio`` per row.
    parameters : system-wide settings.
    chunk : orientations evaluated together (memory: 8 arrays of chunk x 8,760 floats).

    Returns
    -------
    numpy.ndarray
        Shape (orientations, hours).
    """
    sky = _sky(weather)
    out = np.empty((len(orientations), len(weather.data)))
    cols = [
        orientations[c].to_numpy(dtype=float)
        for c in ("tilt_deg", "azimuth_deg", "losses_percent", "dc_ac_ratio")
    ]
    tilt, azimuth, losses, ratio = cols
    for lo in range(0, len(orientations), chunk):
        hi = min(lo + chunk, len(orientations))
        out[lo:hi] = _ac_per_kwp(
            sky, tilt[lo:hi], azimuth[lo:hi], losses[lo:hi], ratio[lo:hi], parameters
        )
    return out


def plane_irradiation_monthly(
    weather: Weather,
    tilt: float,
    azimuth: float,
    parameters: PVParameters = PVParameters(),
) -> pd.Series:
    """Monthly plane-of-array irradiation on a surface [kWh m-2], Perez transposition."""
    sky = _sky(weather)
    poa = _poa(sky, np.array([float(tilt)]), np.array([float(azimuth)]), parameters)
    series = pd.Series(np.nan_to_num(poa["poa_global"][0]), index=weather.data.index)
    return series.groupby(series.index.month).sum() / 1000.0


_ROOF_COLUMNS = ("capacity_kwp", "tilt_deg", "azimuth_deg")


def simulate_roofs(
    roofs: pd.DataFrame,
    weather: Weather,
    parameters: PVParameters = PVParameters(),
    *,
    hourly_total: bool = False,
) -> pd.DataFrame:
    """Simulate many rooftop PV systems for a weather year, vectorised by orientation.

    Roofs sharing (tilt, azimuth, losses, DC/AC ratio) share one irradiance, transposition,
    temperature and PVWatts pass per kWp; each roof's energy is that profile times its
    capacity (PVWatts DC and inverter are linear in capacity at a fixed DC/AC ratio). The
    result equals a per-roof pvlib ModelChain (:func:`roof_modelchain`) to floating-point
    precision.

    Parameters
    ----------
    roofs : one row per roof: ``capacity_kwp`` [kWp], ``tilt_deg`` [deg], ``azimuth_deg``
        [deg, 180 = south]; optional ``roof_id``, ``losses_percent`` [%], ``dc_ac_ratio``.
    weather : :func:`shanghai_weather` or :func:`read_weather_file`.
    parameters : system-wide settings (defaults for the optional columns).
    hourly_total : also return the hourly AC energy of all roofs together in
        ``attrs['hourly_total_kwh']`` [kWh per hour].

    Returns
    -------
    pandas.DataFrame
        Same index as ``roofs``: the input columns, ``orientation`` (group number),
        ``annual_kwh`` [kWh / yr], ``specific_yield_kwh_per_kwp`` [kWh / kWp / yr] and
        ``kwh_m01`` .. ``kwh_m12`` [kWh per month].

    Raises
    ------
    InterventionError
        When a column is missing or a value is out of range.
    """
    missing = [c for c in _ROOF_COLUMNS if c not in roofs]
    if missing:
        raise InterventionError(
            f"roofs lack columns {missing}; expected "
            f"{', '.join(_ROOF_COLUMNS)} (+ losses_percent, dc_ac_ratio)"
        )
    frame = roofs.copy()
    if "losses_percent" not in frame:
        frame["losses_percent"] = parameters.losses_percent
    if "dc_ac_ratio" not in frame:
        frame["dc_ac_ratio"] = parameters.dc_ac_ratio
    keys = ["tilt_deg", "azimuth_deg", "losses_percent", "dc_ac_ratio"]
    values = frame[["capacity_kwp", *keys]].to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise InterventionError("roofs have missing or non-finite values")
    checks = {
        "capacity_kwp": (frame["capacity_kwp"] < 0),
        "tilt_deg": (frame["tilt_deg"] < 0) | (frame["tilt_deg"] > 90),
        "azimuth_deg": (frame["azimuth_deg"] < 0) | (frame["azimuth_deg"] > 360),
        "losses_percent": (frame["losses_percent"] < 0) | (frame["losses_percent"] >= 100),
        "dc_ac_ratio": frame["dc_ac_ratio"] <= 0,
    }
    for col, bad in checks.items():
        if bool(bad.any()):
            first = float(frame.loc[bad, col].iloc[0])
            raise InterventionError(
                f"roofs: {int(bad.sum())} value(s) of {col} out of range, e.g. {first:g}"
            )
    group = frame.groupby(keys, sort=True).ngroup().to_numpy()
    orientations = frame[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    profiles = orientation_profiles(weather, orientations, parameters)  # (G, T) W/kWp
    month = weather.data.index.month.to_numpy()
    bounds = np.flatnonzero(np.r_[True, month[1:] != month[:-1]])
    if len(bounds) != 12 or not np.array_equal(month[bounds], np.arange(1, 13)):
        raise InterventionError("weather must be one calendar year of hourly rows, in order")
    monthly = np.add.reduceat(profiles, bounds, axis=1) / 1000.0  # (G, 12) kWh/kWp
    capacity = frame["capacity_kwp"].to_numpy(dtype=float)
    energy = monthly[group] * capacity[:, None]
    out = frame.assign(orientation=group)
    month_cols = {f"kwh_m{m:02d}": energy[:, m - 1] for m in range(1, 13)}
    out = pd.concat([out, pd.DataFrame(month_cols, index=frame.index)], axis=1)
    annual = energy.sum(axis=1)
    out["annual_kwh"] = annual
    out["specific_yield_kwh_per_kwp"] = monthly.sum(axis=1)[group]
    if hourly_total:
        per_group = np.bincount(group, weights=capacity, minlength=len(orientations))
        out.attrs["hourly_total_kwh"] = pd.Series(
            per_group @ profiles / 1000.0, index=weather.data.index, name="ac_kwh"
        )
    out.attrs["weather_source"] = weather.source
    return out


def reference_system(
    weather: Weather | None = None,
    *,
    tilt: float = 22.0,
    azimuth: float = 180.0,
    parameters: PVParameters = PVParameters(),
) -> dict[str, float]:
    """The reference 1 kWp system: annual GHI, POA, specific yield and performance ratio.

    Parameters
    ----------
    weather : default :func:`shanghai_weather` with the default coefficients.
    tilt, azimuth : [deg]; 22 deg south by default.
    parameters : system settings (PVWatts default losses 14.08 %).

    Returns
    -------
    dict
        ``ghi_kwh_m2`` [kWh m-2 yr-1], ``poa_kwh_m2`` [kWh m-2 yr-1],
        ``specific_yield_kwh_per_kwp`` [kWh kWp-1 yr-1] and ``performance_ratio``
        (E_AC / (H_POA / 1 kW m-2 x P_STC), IEC 61724 style; docs/research/climate.md §4).
    """
    weather = weather or shanghai_weather()
    roof = pd.DataFrame({"capacity_kwp": [1.0], "tilt_deg": [tilt], "azimuth_deg": [azimuth]})
    result = simulate_roofs(roof, weather, parameters)
    poa = float(plane_irradiation_monthly(weather, tilt, azimuth, parameters).sum())
    specific = float(result["specific_yield_kwh_per_kwp"].iloc[0])
    return {
        "ghi_kwh_m2": weather.annual_ghi_kwh_m2,
        "poa_kwh_m2": poa,
        "specific_yield_kwh_per_kwp": specific,
        "performance_ratio": specific / poa,
    }


@functools.lru_cache(maxsize=128)
def _monthly_per_kwp(
    a_s: float,
    b_s: float,
    sunshine_scale: float,
    wind_speed: float,
    tilt: float,
    azimuth: float,
    losses_percent: float,
    gamma_pdc: float,
    eta_inv_nom: float,
    dc_ac_ratio: float,
    albedo: float,
    weather_file: str | None,
) -> tuple[float, ...]:
    if weather_file:
        weather = read_weather_file(weather_file)
    else:
        weather = shanghai_weather(
            AngstromCoefficients(a_s, b_s, "", ""),
            sunshine_scale=sunshine_scale,
            wind_speed=wind_speed,
        )
    params = PVParameters(
        gamma_pdc=gamma_pdc,
        eta_inv_nom=eta_inv_nom,
        albedo=albedo,
        losses_percent=losses_percent,
        dc_ac_ratio=dc_ac_ratio,
    )
    roof = pd.DataFrame({"capacity_kwp": [1.0], "tilt_deg": [tilt], "azimuth_deg": [azimuth]})
    result = simulate_roofs(roof, weather, params)
    return tuple(float(result[f"kwh_m{m:02d}"].iloc[0]) for m in range(1, 13))


# --------------------------------------------------------------------------- the model
class RooftopPV(Intervention):
    """A rooftop PV system: generation, self-consumption and export.

    Generation comes from :func:`simulate_roofs` on the offline Shanghai climatology (or an
    EPW ``weather_file``), a typical year repeated over the months estimated. The
    self-consumed share replaces grid electricity (an ``avoided`` entry in the node's I.x.2
    row, activity ``electricity.pv_self_consumed``, valued at the grid factor). Exported
    generation is recorded apart: an informational entry in GPC I.4.4 with 0 kg (GPC v1.1
    row I.4.4; docs/research/gpc.md §1.3: export is generation supplied to the grid; the
    grid's emission factor already counts where it is consumed). It is of kind ``avoided``
    only because the ledger admits nothing else from models; its ``co2e_kg`` is 0.

    Parameters
    ----------
    capacity : DC nameplate [kWp]; default ``roof_area x usable_roof_share x
        module_power_density``.
    roof_area : [m2]; default the roof assets' ``roof_area``.
    usable_roof_share, module_power_density : [dimensionless], [kWp / m2] (assumptions).
    tilt, azimuth : [deg].
    losses : DC losses [dimensionless] (PVWatts default stack 14.08 %).
    temperature_coefficient : power loss per kelvin [1/K] (positive number; gamma_pdc =
        -temperature_coefficient).
    inverter_efficiency : nominal [dimensionless]; dc_ac_ratio [dimensionless].
    self_consumed_share : share of generation used on site [dimensionless] (assumption).
    a_s, b_s, sunshine_scale : Ångström-Prescott coefficients and the sunshine scaling.
    wind_speed : [m / s] (assumption).
    weather_file : an EPW file to use instead of the climatology (default: the community
        folder's ``weather.epw`` when present, see :meth:`with_twin`).
    """

    KIND: ClassVar[str] = "rooftop_pv"
    ASSET_KINDS: ClassVar[tuple[str, ...]] = ("roof", "pv_array")
    DEFAULTS: ClassVar[dict[str, Cited]] = {
        "usable_roof_share": Cited(
            "0.5",
            source="no source: roof area net of plant rooms, setbacks and row spacing",
            confidence="assumption",
            basis="half of the roof carries modules (assumption)",
        ),
        "module_power_density": Cited(
            "0.2 kWp/m2",
            source="STC power per module area = module efficiency x 1 kW/m2",
            confidence="assumption",
            basis="about 20 % efficient crystalline modules "
            "(assumption; no module datasheet in the research)",
        ),
        "tilt": Cited(
            "22 deg",
            source="reference rooftop tilt (issue 4 brief: ~22-25 deg)",
            confidence="assumption",
            basis="low tilt for a flat-roof rack in Shanghai",
        ),
        "azimuth": Cited(
            "180 deg",
            source="due south",
            confidence="assumption",
            basis="south-facing rack on a flat roof",
        ),
        "losses": Cited(
            "14.0757 %",
            source="PVWatts default loss stack (soiling 2, shading 3, mismatch 2, "
            "wiring 2, connections 0.5, LID 1.5, nameplate 1, availability 3 %): "
            "pvlib.pvsystem.pvwatts_losses docs citing Dobos 2014; docs/research/climate.md §4",
            confidence="high",
            basis="1 - prod(1 - L_i) = 14.0757 % (climate.md rounds to 14.08 %)",
        ),
        "temperature_coefficient": Cited(
            "0.47 %/K",
            source="PVWatts v5 'standard' module, Dobos 2014 (value recalled, not "
            "re-read in the project's research: UNCONFIRMED); pvlib docs give the typical "
            "range 0.2-0.5 %/K",
            confidence="assumption",
            basis="conservative for current modules",
        ),
        "inverter_efficiency": Cited(
            "0.96",
            source="PVWatts (NREL, Dobos 2014) / pvlib inverter.pvwatts default eta_inv_nom "
            "(docs/research/climate.md §4)",
            confidence="high",
        ),
        "dc_ac_ratio": Cited(
            "1.1",
            source="no source: typical rooftop sizing",
            confidence="assumption",
            basis="1.1 (assumption)",
        ),
        "self_consumed_share": Cited(
            "0.9",
            source="no source: an office building's daytime load absorbs most of a "
            "rooftop system's output",
            confidence="assumption",
            low="0.7",
            high="1.0",
            basis="assumption (0.7-1.0); docs/research/climate.md §2 warns that the climatology "
            "has no day-to-day variability, so the share cannot be simulated from it",
        ),
        "a_s": Cited(
            f"{SHANGHAI_COEFFICIENTS.a_s}",
            source=SHANGHAI_COEFFICIENTS.source,
            confidence="assumption",
            low="0.15",
            high="0.20",
            basis="midpoint of the best-known Shanghai range 0.15-0.20 (UNCONFIRMED)",
        ),
        "b_s": Cited(
            f"{SHANGHAI_COEFFICIENTS.b_s}",
            source=SHANGHAI_COEFFICIENTS.source,
            confidence="assumption",
            low="0.50",
            high="0.60",
            basis="midpoint of the best-known Shanghai range 0.50-0.60 (UNCONFIRMED)",
        ),
        "sunshine_scale": Cited(
            "1.0",
            source="CMA 1971-2000 sunshine normals as published (carbon.climate)",
            confidence="medium",
            basis="recent years run about 0.8 (1,500-1,530 h/yr; "
            "docs/research/climate.md §1); set 0.8 for a recent-climate sensitivity",
        ),
        "wind_speed": Cited(
            "2 m/s",
            source="no Shanghai wind normal ships with the library",
            confidence="assumption",
            basis="2 m/s for the SAPM cell temperature (assumption)",
        ),
    }

    kind: Literal["rooftop_pv"] = "rooftop_pv"
    capacity: Capacity = None
    roof_area: Area = None
    usable_roof_share: Dimensionless = None
    module_power_density: PowerDensity = None
    tilt: Angle = None
    azimuth: Angle = None
    losses: Dimensionless = None
    temperature_coefficient: PerKelvin = None
    inverter_efficiency: Dimensionless = None
    dc_ac_ratio: Dimensionless = None
    self_consumed_share: Dimensionless = None
    a_s: Dimensionless = None
    b_s: Dimensionless = None
    sunshine_scale: Dimensionless = None
    wind_speed: Speed = None
    weather_file: str | None = None

    def _unused(self) -> set[str]:
        unused: set[str] = set()
        if self.capacity is not None:
            unused |= {"roof_area", "usable_roof_share", "module_power_density"}
        if self.weather_file:
            unused |= {"a_s", "b_s", "sunshine_scale", "wind_speed"}
        return unused

    def with_twin(self, twin: Twin) -> Self:
        """Bind to the twin (see :meth:`Intervention.with_twin`); a ``weather.epw`` in the
        community folder, when present, replaces the climatology unless ``weather_file`` is
        set."""
        bound = super().with_twin(twin)
        epw = Path(twin.folder) / "weather.epw"
        if bound.weather_file is None and epw.exists():
            return bound.model_copy(update={"weather_file": str(epw)})
        return bound

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        roofs = [twin.assets[a] for a in self.assets if "roof_area" in twin.assets[a].attributes]
        out: dict[str, tuple[pint.Quantity, str]] = {}
        if roofs:
            est = any(a.is_estimated("roof_area") for a in roofs)
            out["roof_area"] = (
                Q_(sum(a.magnitude("roof_area") for a in roofs), "m2"),
                "roof_area of " + ", ".join(a.id for a in roofs) + (" (estimated)" if est else ""),
            )
        caps = [twin.assets[a] for a in self.assets if "capacity" in twin.assets[a].attributes]
        if caps:
            out["capacity"] = (
                Q_(sum(a.magnitude("capacity") for a in caps), "kWp"),
                "capacity of " + ", ".join(a.id for a in caps),
            )
        return out

    def capacity_kwp(self, p: Mapping[str, float] | None = None) -> float:
        """DC nameplate [kWp] (given, or roof area x usable share x power density)."""
        p = p if p is not None else self._magnitudes()
        if "capacity" in p:
            return p["capacity"]
        if "roof_area" not in p:
            self.value("roof_area")
        return p["roof_area"] * p["usable_roof_share"] * p["module_power_density"]

    def monthly_yield(self, p: Mapping[str, float] | None = None) -> np.ndarray:
        """Typical-year AC energy per kWp for months 1..12 [kWh / kWp]."""
        p = p if p is not None else self._magnitudes()
        return np.asarray(
            _monthly_per_kwp(
                p.get("a_s", 0.0),
                p.get("b_s", 0.0),
                p.get("sunshine_scale", 1.0),
                p.get("wind_speed", 0.0),
                p["tilt"],
                p["azimuth"],
                p["losses"] * 100.0,
                -p["temperature_coefficient"],
                p["inverter_efficiency"],
                p["dc_ac_ratio"],
                0.25,
                self.weather_file or None,
            )
        )

    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        per_kwp = self.monthly_yield(p)
        generation = per_kwp[months.month.to_numpy() - 1] * self.capacity_kwp(p)
        share = min(max(p["self_consumed_share"], 0.0), 1.0)
        return {
            "pv_generation": generation,
            "pv_self_consumed": generation * share,
            "pv_exported": generation * (1.0 - share),
        }

    def _warnings(self) -> list[QualityWarning]:
        out = [
            QualityWarning(
                "pv.model_estimate",
                f"{self.id}: PV yield is a model estimate on an offline climatology; the Shanghai "
                "specific yield band 1,000-1,150 kWh/kWp/yr is UNCONFIRMED "
                "(docs/research/factors.md §7e)",
                {"intervention": self.id},
            )
        ]
        p = self._magnitudes()
        if not self.weather_file and (p.get("a_s"), p.get("b_s")) == (0.25, 0.50):
            out.append(
                QualityWarning(
                    "pv.fao_default_coefficients",
                    "FAO-56 default Ångström coefficients: Shanghai GHI may be overestimated by "
                    "about 10-15 % (docs/research/climate.md §3)",
                    {"intervention": self.id},
                )
            )
        return out
