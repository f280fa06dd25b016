"""Centralised e-bike charging: efficient chargers instead of 'flying-wire' home charging.

The articles' measure is a safety one (charging moved out of homes and corridors into sheds;
coverage 100 %). Its energy effect, modelled here, is the better wall-to-battery efficiency of
the new chargers. Electricity saved in a month of ``D`` days::

    E = B * C * (D / 7) * e * (1 / eta_old - 1 / eta_new)          [kWh]

with ``B`` e-bikes served (charging ports x e-bikes per port), ``C`` charges per week, ``e``
the energy delivered to the battery per charge and ``eta`` the charger efficiencies. The
saving is grid electricity of on-road transport, GPC II.1.2.

All inputs but the battery energy are UNCONFIRMED in the research (docs/research/benchmarks.md
§7) and enter as assumptions with their basis.

Claimed only on metered evidence
--------------------------------
The sheds are a fire-safety measure that moves charging load out of homes; the saving rests
on two assumed charger efficiencies, and the old home charging was never metered. So the
estimate is shown but **not claimed**: its avoided electricity is booked at 0 kg, marked
informational (:meth:`EbikeCharging.unclaimed`), unless the register names the ``meter`` that
measures the sheds (then the ex-ante estimate is claimed and a ``[[verify]]`` table of the
ledger script can check it ex post; :mod:`carbon.mv`). docs/research/uncertainty.md §5.

References
----------
docs/research/benchmarks.md §7 (e-bikes); GB 17761-2018 (48 V pack limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Literal, Self

import numpy as np
import pandas as pd
import pint

from carbon.interventions.base import (
    Cited,
    Dimensionless,
    Energy,
    Intervention,
    InterventionError,
    PerWeek,
    days_of,
)
from carbon.units import Q_

if TYPE_CHECKING:
    from carbon.twin import Twin

__all__ = ["EbikeCharging"]


class EbikeCharging(Intervention):
    """Centralised e-bike charging sheds with efficient chargers.

    Parameters
    ----------
    ports : charging ports [dimensionless]; default the assets' ``count``.
    ebikes_per_port : e-bikes served per port [dimensionless].
    charges_per_week : full charges per e-bike [1 / week].
    energy_per_charge : energy into the battery per full charge [kWh].
    old_efficiency, new_efficiency : wall-to-battery efficiency of the old home chargers and
        of the new ones [dimensionless].
    meter : id of a twin meter that measures the sheds' consumption: the metered evidence
        without which the saving is not claimed (module docstring).

    Examples
    --------
    100 e-bikes x 3 charges/week x 0.77 kWh x (1/0.75 - 1/0.90) = 51.33 kWh a week.
    """

    KIND: ClassVar[str] = "ebike_charging"
    ASSET_KINDS: ClassVar[tuple[str, ...]] = ("ebike_chargers",)
    DEFAULTS: ClassVar[dict[str, Cited]] = {
        "ebikes_per_port": Cited(
            "1",
            source="no source: one e-bike per port",
            confidence="assumption",
            basis="each port serves one regular user (assumption)",
        ),
        "charges_per_week": Cited(
            "3 1/week",
            source="docs/research/benchmarks.md §7: 2-4 charges a week (UNCONFIRMED best-known, "
            "from a 40-50 km range and 10-20 km of riding a day)",
            confidence="assumption",
            low="2 1/week",
            high="4 1/week",
            basis="midpoint of the best-known 2-4",
        ),
        "energy_per_charge": Cited(
            "0.77 kWh",
            source="48 V x 12-20 Ah = 0.58-0.96 kWh at the battery per full charge "
            "(docs/research/benchmarks.md §7, derived, low-medium; 48 V is the GB 17761-2018 "
            "limit)",
            confidence="low-medium",
            low="0.58 kWh",
            high="0.96 kWh",
            basis="midpoint of 0.58-0.96 kWh; a full charge each time (assumption)",
        ),
        "old_efficiency": Cited(
            "0.75",
            source="charger efficiency wall to battery 75-90 % (docs/research/benchmarks.md §7, "
            "UNCONFIRMED best-known; lead-acid packs at the lower end)",
            confidence="assumption",
            basis="old home chargers at the lower end of the band (assumption)",
        ),
        "new_efficiency": Cited(
            "0.90",
            source="charger efficiency wall to battery 75-90 % (docs/research/benchmarks.md §7, "
            "UNCONFIRMED best-known)",
            confidence="assumption",
            basis="new centralised smart chargers at the upper end of the band (assumption)",
        ),
    }

    kind: Literal["ebike_charging"] = "ebike_charging"
    ports: Dimensionless = None
    ebikes_per_port: Dimensionless = None
    charges_per_week: PerWeek = None
    energy_per_charge: Energy = None
    old_efficiency: Dimensionless = None
    new_efficiency: Dimensionless = None
    meter: str | None = None

    def unclaimed(self) -> dict[str, str]:
        """The saved electricity, unless a meter gives the evidence (module docstring)."""
        if self.meter:
            return {}
        return {
            "electricity": "not claimed without metered evidence (no meter in the register); "
            "the saving rests on assumed charger efficiencies"
        }

    def with_twin(self, twin: Twin) -> Self:
        """As :meth:`Intervention.with_twin`; the ``meter`` must be one of the twin's."""
        if self.meter is not None and self.meter not in twin.meters:
            raise InterventionError(
                f"Intervention {self.id!r}: meter {self.meter!r} is not in twin {twin.name!r}"
            )
        return super().with_twin(twin)

    def _use_type(self, twin: Twin, node_id: str) -> str | None:
        return "ebike"  # GPC II.1.2: grid energy of on-road transport (carbon.gpc.classify)

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        have = [twin.assets[a] for a in self.assets if "count" in twin.assets[a].attributes]
        if not have:
            return {}
        est = any(a.is_estimated("count") for a in have)
        return {
            "ports": (
                Q_(float(sum(a.magnitude("count") for a in have))),
                f"count of {len(have)} charger assets" + (" (estimated)" if est else ""),
            )
        }

    def _asset_weight(self, twin: Twin, asset_id: str) -> float:
        return float(twin.assets[asset_id].attributes.get("count", 1))

    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        if "ports" not in p:
            self.value("ports")
        if p["old_efficiency"] <= 0 or p["new_efficiency"] <= 0:
            raise ValueError("charger efficiencies must be positive")
        per_charge = p["energy_per_charge"] * (
            1.0 / p["old_efficiency"] - 1.0 / p["new_efficiency"]
        )
        charges = p["ports"] * p["ebikes_per_port"] * p["charges_per_week"] * days_of(months) / 7
        return {"electricity": charges * per_charge}
