"""Elevator regenerative (energy-feedback) drives: braking energy fed back to the building.

Electricity saved in a month of ``D`` days::

    E = n * e * D * r                                          [kWh]

with ``n`` retrofitted elevators, ``e`` the electricity use per elevator per day and ``r``
the recoverable share. The saving is grid electricity of the building (GPC I.2.2 for an office
building).

References
----------
docs/research/factors.md §7f; docs/research/benchmarks.md §6.
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
    EnergyPerDay,
    Intervention,
    days_of,
)

if TYPE_CHECKING:
    from carbon.twin import Twin

__all__ = ["ElevatorRegenerativeDrive"]


class ElevatorRegenerativeDrive(Intervention):
    """Regenerative drives on elevators.

    Parameters
    ----------
    elevators : retrofitted elevators [dimensionless]; default the assets' ``count``.
    energy_per_elevator : electricity use per elevator [kWh / d].
    recoverable_share : share of that electricity recovered [dimensionless].

    Examples
    --------
    4 elevators x 40 kWh/d x 31 d x 0.30 = 1,488 kWh in January (744-2,232 for 15-45 %).
    """

    KIND: ClassVar[str] = "elevator_regen"
    ASSET_KINDS: ClassVar[tuple[str, ...]] = ("elevators",)
    DEFAULTS: ClassVar[dict[str, Cited]] = {
        "energy_per_elevator": Cited(
            "40 kWh/d",
            source="China Elevator Association estimate, about 40 kWh per elevator per day, "
            "quoted by 前瞻产业研究院 (pjzinyr.cn, repost; publisher page not found) and a "
            "Huangpu District article "
            "(docs/research/benchmarks.md §6, factors.md §7f)",
            confidence="medium",
        ),
        "recoverable_share": Cited(
            "0.30",
            source="recoverable share of elevator electricity with energy-feedback drives, "
            "15-45 % (Huangpu District government-building article, bk12580.com; "
            "docs/research/factors.md §7f)",
            confidence="low-medium",
            low="0.15",
            high="0.45",
            basis="midpoint of the cited 15-45 %; the vendor's '1/3 to 40 %' (low) lies inside",
        ),
    }

    kind: Literal["elevator_regen"] = "elevator_regen"
    elevators: Dimensionless = None
    energy_per_elevator: EnergyPerDay = None
    recoverable_share: Dimensionless = None

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        have = [twin.assets[a] for a in self.assets if "count" in twin.assets[a].attributes]
        if not have:
            return {}
        from carbon.units import Q_

        return {
            "elevators": (
                Q_(float(sum(a.magnitude("count") for a in have))),
                f"count of {', '.join(a.id for a in have)}",
            )
        }

    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        if "elevators" not in p:
            self.value("elevators")
        kwh = p["elevators"] * p["energy_per_elevator"] * days_of(months) * p["recoverable_share"]
        return {"electricity": kwh}
