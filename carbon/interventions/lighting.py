"""LED lighting retrofit: fewer watts for the same light, the same hours.

Model
-----
Electricity saved in a month of ``D`` days::

    E = N * H * D * (P_old - P_new * (1 - s_controls))          [Wh]

with ``N`` fixtures, ``H`` operating hours per day, ``P_old`` and ``P_new`` the power per
fixture and ``s_controls`` the share of operating hours that new controls (occupancy sensors,
timers) cut. When ``new_power`` is not given, ``P_new = P_old * (1 - r)`` with the cited power
reduction ``r`` of the old technology (fluorescent or incandescent).

The saved electricity avoids grid emissions in the node's GPC row (I.1.2 residential,
I.2.2 commercial and public buildings).

References
----------
docs/research/factors.md §7a (LED lighting; US DOE via AECC, vendor and utility sources) and
docs/research/benchmarks.md §5 (common-area lighting).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import pandas as pd
import pint

from carbon.interventions.base import (
    Cited,
    Dimensionless,
    HoursPerDay,
    Intervention,
    InterventionError,
    Power,
    days_of,
)
from carbon.units import Q_

if TYPE_CHECKING:
    from carbon.twin import Twin

__all__ = ["POWER_REDUCTION", "LedRetrofit"]

POWER_REDUCTION: dict[str, Cited] = {
    "fluorescent": Cited(
        "0.47",
        source="LED tube vs T8 fluorescent: about 47 % less power, luminatelightinggroup.com "
        "(vendor); docs/research/factors.md §7a",
        confidence="low",
        low="0.14",
        high="0.60",
        basis="range derived from the efficacy row, docs/research/factors.md §7a (CFL 40-60 lm/W, "
        "LED 70-100 lm/W; utility programme document, low-medium): 1 - 60/70 = 0.14 to "
        "1 - 40/100 = 0.60 at equal light output, fluorescent tubes treated like CFLs "
        "(assumption)",
    ),
    "incandescent": Cited(
        "0.75",
        source="'at least 75 % less energy' than incandescent, US DOE statement quoted at "
        "aecc.com/faqs/energy-savings/; docs/research/factors.md §7a",
        confidence="medium",
        low="0.75",
        high="0.833",
        basis="high end: 60 W incandescent vs about 10 W LED (1 - 10/60), holycross.com "
        "(electric co-op), low-medium",
    ),
}
"""Power reduction of an LED replacement by the technology it replaces [dimensionless]."""


class LedRetrofit(Intervention):
    """Replace light fittings with LED ones (optionally with controls).

    Parameters
    ----------
    fixtures : number of fittings [dimensionless]; default: the assets' ``count``.
    old_power : power per old fitting, with control gear [W]; default: the assets' ``power``.
    new_power : power per LED fitting [W]; default ``old_power * (1 - power_reduction)``.
    baseline : technology replaced, ``fluorescent`` or ``incandescent``; picks the cited
        ``power_reduction``.
    power_reduction : share of power saved at equal light [dimensionless].
    hours_per_day : operating hours [h / d].
    controls : ``none``, ``occupancy_sensor`` or ``timer``.
    controls_saving : share of operating hours the controls cut [dimensionless]; no cited
        value exists, so it must be given when ``controls`` is not ``none``.

    Examples
    --------
    Hand check (tests/test_interventions.py): 8 fittings x (36 - 12) W x 24 h x 31 d =
    142.848 kWh in January, x 0.42 kgCO2/kWh (Shanghai EEB 2022) = 59.996 kg.
    """

    KIND: ClassVar[str] = "led_lighting"
    ASSET_KINDS: ClassVar[tuple[str, ...]] = ("light_fixtures",)
    DEFAULTS: ClassVar[dict[str, Cited]] = {
        "hours_per_day": Cited(
            "24 h/d",
            source="docs/research/benchmarks.md §5: mailbox-room / lobby lighting in old "
            "residential buildings is 'often on 24 h where there is no sensor' "
            "(UNCONFIRMED best-known)",
            confidence="assumption",
            low="11.7 h/d",
            high="24 h/d",
            basis="low end: Shanghai street lamps' average burning hours, 600e6 kWh / 140,000 kW "
            "= 4,300 h/yr = 11.7 h/d (dusk to dawn; benchmarks.md §5, derived, medium)",
        ),
        "controls_saving": Cited(
            "0",
            source="no controls (the default); no cited saving share for sensors or timers",
            confidence="assumption",
        ),
    }

    kind: Literal["led_lighting"] = "led_lighting"
    fixtures: Dimensionless = None
    old_power: Power = None
    new_power: Power = None
    baseline: Literal["fluorescent", "incandescent"] = "fluorescent"
    power_reduction: Dimensionless = None
    hours_per_day: HoursPerDay = None
    controls: Literal["none", "occupancy_sensor", "timer"] = "none"
    controls_saving: Dimensionless = None

    def default(self, name: str) -> Cited | None:
        """The cited default; ``power_reduction`` depends on ``baseline``."""
        if name == "power_reduction":
            return POWER_REDUCTION[self.baseline]
        if name == "controls_saving" and self.controls != "none":
            return None
        return super().default(name)

    def _unused(self) -> set[str]:
        return {"power_reduction"} if self.new_power is not None else set()

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        out: dict[str, tuple[pint.Quantity, str]] = {}
        assets = [twin.assets[a] for a in self.assets]
        if assets and all("count" in a.attributes for a in assets):
            estimated = any(a.is_estimated("count") for a in assets)
            out["fixtures"] = (
                Q_(float(sum(a.magnitude("count") for a in assets))),
                "count of " + ", ".join(self.assets) + (" (estimated)" if estimated else ""),
            )
        powers = [a for a in assets if "power" in a.attributes]
        if powers:
            a = powers[0]
            out["old_power"] = (
                a.quantity("power"),
                f"{a.id}.power" + (" (estimated)" if a.is_estimated("power") else ""),
            )
        return out

    def _asset_weight(self, twin: Twin, asset_id: str) -> float:
        return float(twin.assets[asset_id].attributes.get("count", 1))

    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        for name in ("fixtures", "old_power"):
            if name not in p:
                self.value(name)  # raises with the message
        if "controls_saving" not in p:
            raise InterventionError(
                f"Intervention {self.id!r}: controls {self.controls!r} need controls_saving "
                "(no cited value exists; give it and its basis as an assumption)"
            )
        if "new_power" in p:
            new_power = p["new_power"]
        else:
            new_power = p["old_power"] * (1.0 - p["power_reduction"])
        watts = p["old_power"] - new_power * (1.0 - p["controls_saving"])
        kwh = p["fixtures"] * watts * p["hours_per_day"] * days_of(months) / 1000.0
        return {"electricity": kwh}
