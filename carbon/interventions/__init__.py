"""Intervention models: cited parameters, ex-ante estimates, ledger entries, the register.

Each model (:class:`LedRetrofit`, :class:`WaterSavingToilets`, :class:`Greening`,
:class:`GreenSpace`, :class:`RooftopPV`, :class:`EbikeCharging`,
:class:`ElevatorRegenerativeDrive`) is a pydantic :class:`Intervention` with pint-Quantity
parameters whose defaults cite the project's research notes; :meth:`Intervention.estimate`
returns an :class:`Estimate` with monthly savings, avoided emissions and removals (with a
low/high range from the cited parameter ranges), ledger entries and the cost per tonne.

The community's register (``sites/<site>/interventions.toml``) is loaded and validated against
the twin by :func:`load_register`; :func:`estimate_register` tabulates it and
:func:`register_entries` gives the ledger extra entries of the interventions in place.
Importing this package reads no file and does not import pvlib (PV functions import it on
first use).

Examples
--------
>>> import carbon
>>> from carbon.interventions import LedRetrofit
>>> led = LedRetrofit(id="demo_led", name_zh="LED", name_en="LED", node="x",
...                   commissioned="2024-01-01", lifetime_years=4, fixtures=8,
...                   old_power="36 W", new_power="12 W", hours_per_day="24 h/d")
>>> factors = carbon.load_factor_set("shanghai-2022")
>>> est = led.estimate(factors, "2024-01-01", "2024-02-01", region="CN-SH")
>>> round(float(est.monthly.electricity_saved_kwh.iloc[0]), 3)
142.848
"""

from carbon.interventions.base import (
    ESTIMATE_COLUMNS,
    Cited,
    Estimate,
    Intervention,
    InterventionError,
    RegisterError,
    month_starts,
    to_entries,
)
from carbon.interventions.elevators import ElevatorRegenerativeDrive
from carbon.interventions.greening import Greening, GreenSpace
from carbon.interventions.lighting import LedRetrofit
from carbon.interventions.mobility import EbikeCharging
from carbon.interventions.pv import (
    AngstromCoefficients,
    PVParameters,
    RooftopPV,
    Weather,
    read_weather_file,
    reference_system,
    shanghai_weather,
    simulate_roofs,
)
from carbon.interventions.register import (
    MODELS,
    REGISTER_COLUMNS,
    Register,
    estimate_register,
    load_register,
    register_entries,
)
from carbon.interventions.water import WaterSavingToilets

__all__ = [
    "ESTIMATE_COLUMNS",
    "MODELS",
    "REGISTER_COLUMNS",
    "AngstromCoefficients",
    "Cited",
    "EbikeCharging",
    "ElevatorRegenerativeDrive",
    "Estimate",
    "GreenSpace",
    "Greening",
    "Intervention",
    "InterventionError",
    "LedRetrofit",
    "PVParameters",
    "Register",
    "RegisterError",
    "RooftopPV",
    "WaterSavingToilets",
    "Weather",
    "estimate_register",
    "load_register",
    "month_starts",
    "read_weather_file",
    "reference_system",
    "register_entries",
    "shanghai_weather",
    "simulate_roofs",
    "to_entries",
]
