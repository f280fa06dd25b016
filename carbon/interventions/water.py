"""Water-saving toilets: less water per flush, less water supplied and treated.

Model
-----
Water saved in a month of ``D`` days::

    W = F * D * (V_old - V_new) / 1000                          [m3]

with ``F`` WC flushes per day (``uses_per_day``, or ``users * uses_per_user``), ``V_old`` the
old average flush volume and ``V_new`` the new one [L]. ``V_new`` is the average-volume limit
of the GB 25502-2017 grade, or, for a dual-flush WC with given volumes, the weighted mean
``V_new = s * V_full + (1 - s) * V_reduced`` with the full-flush share ``s`` (0.33, UK Water
Regulations calculator). Flush water goes to the sewer, so the wastewater not treated equals
the water saved.

Avoided emissions (``route``):

``factors`` (default)
    water saved x the factor set's ``water.supply`` factor (GPC VI.1) plus wastewater x its
    ``wastewater.treatment`` factor (GPC III.4.2).
``energy_intensity``
    the same two flows valued at their electricity intensity x the grid factor:
    0.29 kWh/m3 supply (Smith et al. 2016) and 0.36 kWh/m3 treatment (China 2020 median).

References
----------
GB 25502-2017 《坐便器水效限定值及水效等级》 (grade 2 only confirmed); docs/research/factors.md §7b,
docs/research/benchmarks.md §8.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import pandas as pd
import pint

from carbon.interventions.base import (
    Cited,
    Dimensionless,
    EnergyPerVolume,
    Intervention,
    PerDay,
    Volume,
    days_of,
)
from carbon.units import Q_
from carbon.valuation import Valued

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.twin import Twin

__all__ = ["GB25502_2017_GRADES", "WaterSavingToilets"]

GB25502_2017_GRADES: dict[int, Cited] = {
    1: Cited(
        "4.0 L",
        source="GB 25502-2017 grade 1 average flush volume: UNCONFIRMED (best-known <= 4.0 L; "
        "docs/research/factors.md §7b, open gap 3)",
        confidence="assumption",
        basis="best-known value, not verified against the standard text",
    ),
    2: Cited(
        "5.0 L",
        source="GB 25502-2017 grade 2 (节水型 threshold) average flush volume <= 5.0 L, Shanghai "
        "quality-inspection institute expert at m.shigufeng.com/article/974270.html; "
        "docs/research/factors.md §7b",
        confidence="medium",
        low="4.0 L",
        basis="the limit is an upper bound; the low end is the grade-1 limit (4.0 L, "
        "UNCONFIRMED best-known), the next better grade",
    ),
    3: Cited(
        "6.4 L",
        source="GB 25502-2017 grade 3 (limit value) average flush volume: UNCONFIRMED "
        "(best-known <= 6.4 L; docs/research/factors.md §7b)",
        confidence="assumption",
        low="5.0 L",
        basis="best-known value, not verified; the low end is the grade-2 limit (5.0 L)",
    ),
}
"""GB 25502-2017 average flush volume limits by water-efficiency grade [L]. Superseded by
GB 25502-2024 from 2025-05-01 (grades changed; docs/research/factors.md §7b, high)."""


class WaterSavingToilets(Intervention):
    """Replace WCs with water-saving (GB 25502 graded or dual-flush) ones.

    Parameters
    ----------
    fixtures : number of WCs [dimensionless]; default the assets' ``count`` (informational:
        the saving scales with flushes, not with fixtures).
    uses_per_day : WC flushes per day, all fixtures together [1 / d]; default the assets'
        ``uses_per_day``.
    users, uses_per_user : alternatively, users [dimensionless] x flushes per user
        [1 / d]; used when ``users`` is given.
    old_flush_volume : average volume per flush before [L]; default the assets'
        ``flush_volume``.
    grade : GB 25502-2017 grade of the new WCs (1, 2 or 3) -> its average-volume limit.
    new_flush_volume : the new average volume per flush [L], instead of the grade.
    full_flush_volume, reduced_flush_volume : a dual-flush WC's volumes [L]; when both are
        given the new average is ``s * full + (1 - s) * reduced``.
    full_flush_share : share of full flushes ``s`` [dimensionless].
    route : ``factors`` or ``energy_intensity`` (see the module docstring).
    supply_energy_intensity, wastewater_energy_intensity : [kWh / m3], ``energy_intensity``
        route only.

    Examples
    --------
    Hand check (tests): 300 flushes/d, 9 L single flush -> dual flush 6 L / 3 L at 0.33 / 0.67
    gives 3.99 L; January: 300 x 31 x 5.01 L = 46.593 m3 saved.
    """

    KIND: ClassVar[str] = "water_saving_toilets"
    ASSET_KINDS: ClassVar[tuple[str, ...]] = ("toilets",)
    DEFAULTS: ClassVar[dict[str, Cited]] = {
        "uses_per_day": Cited(
            "300 1/d",
            source="busy Shanghai street or commercial-district public toilet: 'several hundred "
            "to over 1,000' uses a day (docs/research/benchmarks.md §8, UNCONFIRMED best-known)",
            confidence="assumption",
            low="200 1/d",
            high="1000 1/d",
            basis="'several hundred' read as 200 (low) to 'over 1,000' read as 1,000 (high); "
            "300 is the twin asset's estimate",
        ),
        "uses_per_user": Cited(
            "4 1/d",
            source="worked example of a household of 4, 1 full + 3 reduced flushes per person "
            "per day, m.shigufeng.com/article/974270.html (repost; publisher page not found; "
            "docs/research/factors.md §7b)",
            confidence="assumption",
            basis="illustrative value of the source (confidence low, assumption)",
        ),
        "old_flush_volume": Cited(
            "9 L",
            source="GB 6952-2005 limit for an ordinary toilet, <= 9 L (industry summary, "
            "low-medium; docs/research/benchmarks.md §8)",
            confidence="low-medium",
            high="13 L",
            basis="high end: old Shanghai residential tanks of 13 L, often leaking (Shanghai "
            "Water Authority via Shanghai Daily, 2006; benchmarks.md §8, medium)",
        ),
        "full_flush_share": Cited(
            "0.33",
            source="UK Water Regulations calculator: effective volume = 0.33 x full + 0.67 x "
            "reduced (wrcuucalculator.co.uk/WCs.htm); docs/research/factors.md §7b",
            confidence="medium",
        ),
        "supply_energy_intensity": Cited(
            "0.29 kWh/m3",
            source="Smith, Liu, Liu, Savic, Olsson, Chang, Wu 2016, Mitigation and Adaptation "
            "Strategies for Global Change 21(8): urban water supply, China average 2011; "
            "docs/research/benchmarks.md §8",
            confidence="medium-high",
        ),
        "wastewater_energy_intensity": Cited(
            "0.36 kWh/m3",
            source="《中国城镇污水处理与再生利用发展报告(1978-2020)》 (2021): median of 5,389 "
            "municipal WWTPs in 2020 (mean 0.48); docs/research/benchmarks.md §8",
            confidence="medium-high",
        ),
    }

    kind: Literal["water_saving_toilets"] = "water_saving_toilets"
    fixtures: Dimensionless = None
    uses_per_day: PerDay = None
    users: Dimensionless = None
    uses_per_user: PerDay = None
    old_flush_volume: Volume = None
    grade: Literal[1, 2, 3] | None = 2
    new_flush_volume: Volume = None
    full_flush_volume: Volume = None
    reduced_flush_volume: Volume = None
    full_flush_share: Dimensionless = None
    route: Literal["factors", "energy_intensity"] = "factors"
    supply_energy_intensity: EnergyPerVolume = None
    wastewater_energy_intensity: EnergyPerVolume = None

    def _dual(self) -> bool:
        return self.full_flush_volume is not None and self.reduced_flush_volume is not None

    def default(self, name: str) -> Cited | None:
        """The cited default; ``new_flush_volume`` is the grade's limit."""
        if name == "new_flush_volume":
            return GB25502_2017_GRADES[self.grade] if self.grade is not None else None
        return super().default(name)

    def _unused(self) -> set[str]:
        unused = {"fixtures"}
        if self._dual():
            unused.add("new_flush_volume")
        else:
            unused |= {"full_flush_volume", "reduced_flush_volume", "full_flush_share"}
        unused.add("uses_per_day" if self.users is not None else "uses_per_user")
        if self.route == "factors":
            unused |= {"supply_energy_intensity", "wastewater_energy_intensity"}
        return unused

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        out: dict[str, tuple[pint.Quantity, str]] = {}
        assets = [twin.assets[a] for a in self.assets]
        for name, attribute in (("fixtures", "count"), ("uses_per_day", "uses_per_day")):
            have = [a for a in assets if attribute in a.attributes]
            if have:
                total = sum(float(a.magnitude(attribute)) for a in have)
                est = any(a.is_estimated(attribute) for a in have)
                unit = "1/d" if name == "uses_per_day" else ""
                out[name] = (
                    Q_(total, unit) if unit else Q_(total),
                    f"{attribute} of {', '.join(a.id for a in have)}"
                    + (" (estimated)" if est else ""),
                )
        vols = [a for a in assets if "flush_volume" in a.attributes]
        if vols:
            a = vols[0]
            out["old_flush_volume"] = (
                a.quantity("flush_volume"),
                f"{a.id}.flush_volume" + (" (estimated)" if a.is_estimated("flush_volume") else ""),
            )
        return out

    def _asset_weight(self, twin: Twin, asset_id: str) -> float:
        return float(twin.assets[asset_id].attributes.get("uses_per_day", 1))

    def new_volume(self, p: Mapping[str, float]) -> float:
        """The new average volume per flush [L] for parameter magnitudes ``p``."""
        if self._dual():
            s = p["full_flush_share"]
            return s * p["full_flush_volume"] + (1.0 - s) * p["reduced_flush_volume"]
        return p["new_flush_volume"]

    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        for name in ("old_flush_volume",):
            if name not in p:
                self.value(name)
        if self.users is not None:
            flushes = p["users"] * p["uses_per_user"]
        else:
            flushes = p["uses_per_day"]
        saved_l = max(p["old_flush_volume"] - self.new_volume(p), 0.0)
        m3 = flushes * days_of(months) * saved_l / 1000.0
        return {"water": m3, "wastewater": m3.copy()}

    def _valuation(
        self, flow: str, on: dt.date, factors: FactorSet, region: str, method: str
    ) -> Valued:
        if self.route == "factors":
            return super()._valuation(flow, on, factors, region, method)
        grid = super()._valuation("electricity", on, factors, region, "location")
        intensity = self._intensity(flow)
        return Valued(
            factor=grid.factor,
            co2e=grid.co2e * intensity,
            co2=grid.co2 * intensity if grid.co2 is not None else None,
            ch4=grid.ch4 * intensity,
            n2o=grid.n2o * intensity,
            dq=grid.dq,
            notes=grid.notes,
        )

    def _intensity(self, flow: str) -> Decimal:
        """Grid electricity per m3 of the flow [kWh / m3] (the energy-intensity route)."""
        name = "supply_energy_intensity" if flow == "water" else "wastewater_energy_intensity"
        return Decimal(repr(float(self.value(name).to("kWh/m**3").magnitude)))

    def _factor_route(self, flow: str) -> tuple[str, Decimal | None, str]:
        if self.route == "factors" or flow not in ("water", "wastewater"):
            return super()._factor_route(flow)
        intensity = self._intensity(flow)
        return "electricity.grid", intensity, f"energy_intensity({intensity} kWh/m3)"
