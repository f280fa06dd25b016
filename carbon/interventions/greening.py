"""Vertical greening, green roofs and green space: removals, and cooling electricity saved.

Models
------
:class:`Greening` (kinds ``vertical_greening`` on wall assets, ``green_roof`` on roof assets)
    Removal [kg CO2] in a month of ``D`` days: ``A * q * D / 365`` with the vegetated area
    ``A`` [m2] and the plant CO2 uptake ``q`` [kg CO2 / m2 / yr]. Cooling electricity saved
    in the building behind it: ``A * c * w_m`` with the annual saving ``c`` [kWh / m2 / yr]
    spread over the months by their share ``w_m`` of the climatological cooling degree days
    (CDD26, GB 50176-2016 base; :mod:`carbon.climate`).

    For a green roof ``c`` = 11.53 kWh/m2/yr (Cai et al. 2019, Wuxi). No cited value exists
    for walls (the Shanghai study's numbers were not retrieved; docs/research/factors.md §7c), so
    the wall default is *derived*: the roof value times the ratio of the CDD-weighted solar
    irradiation on a vertical surface of the wall's azimuth to that on the roof (offline
    Shanghai climatology, :mod:`carbon.interventions.pv`), assuming the cooling benefit
    scales with the intercepted sunshine. Its range is 0 (a wall with no conditioned space
    behind it) to the full roof value.

:class:`GreenSpace` (kind ``green_space``)
    Removal ``A * f * s * 44/12 * D / 365`` with the area ``A``, the tree-canopy share ``f`` and
    the urban-tree net sequestration ``s`` = 0.28 kg C per m2 of tree cover per year (Nowak
    et al. 2013). Lawn and shrub cover count 0 (no cited net rate; maintained lawns are close
    to carbon-neutral), which makes the estimate conservative.

Removals are ``removal`` ledger entries in GPC V.2 (BASIC+), never netted against emissions
(docs/research/gpc.md §1.4).

Green walls and green roofs remove nothing lasting. The wall default (2.3 kg CO2 / m2 / yr) is
a vendor's figure for the CO2 plants take up in a year, and the roof value (1.79, Cai et al.
2019) is likewise an annual plant uptake, not a net, lasting store: climbers, sedum and planter
plants are pruned, replaced and decay within a few years, and neither source gives a stock
change. IPCC 2006 Vol. 4 counts a removal only as a carbon-stock increase that persists
(biomass, dead organic matter, soil). So the uptake of both is estimated and shown but booked
at 0 kg (:meth:`Greening.unclaimed`); their cooling saving is claimed as avoided.
Trees of green spaces keep their removal: Nowak et al. 2013 give a *net* sequestration rate
(growth minus mortality and decay) per m2 of tree cover (docs/research/uncertainty.md §5).

References
----------
Cai L., Feng X.-P., Yu J.-Y., Xiang Q.-C., Chen R., Aerosol Air Qual. Res. 19:2432-2445, 2019.
Nowak D.J., Greenfield E.J., Hoehn R.E., Lapoint E., Environmental Pollution 178:229-236, 2013.
docs/research/factors.md §7c-§7d.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
import pandas as pd
import pint

from carbon.interventions.base import (
    REFERENCE_YEAR,
    Angle,
    Area,
    CarbonPerAreaYear,
    Cited,
    CO2PerAreaYear,
    Dimensionless,
    EnergyPerAreaYear,
    Intervention,
    days_of,
)
from carbon.units import Q_

if TYPE_CHECKING:
    from carbon.twin import Twin

__all__ = [
    "CO2_PER_C",
    "GREEN_ROOF_COOLING",
    "GreenSpace",
    "Greening",
    "cooling_weights",
    "wall_cooling_ratio",
]

CO2_PER_C = 44.0 / 12.0
"""Mass of CO2 per mass of carbon [kg CO2 / kg C] (molar masses 44 and 12)."""

GREEN_ROOF_COOLING = Cited(
    "11.53 kWh/m2/yr",
    source="Cai et al. 2019, Aerosol Air Qual. Res. 19:2432-2445: green-roof building energy "
    "saving in Wuxi (near-Shanghai climate); docs/research/factors.md §7c",
    confidence="medium",
)
_UPTAKE_ROOF = Cited(
    "1.79 kgCO2/m2/yr",
    source="Cai et al. 2019: green-roof plant CO2 uptake, Wuxi; docs/research/factors.md §7c",
    confidence="medium",
    high="2.3 kgCO2/m2/yr",
    basis="high end: the living-wall value of 2.3 kgCO2/m2/yr (srsgroup.co.nz, vendor, low)",
)
_UPTAKE_WALL = Cited(
    "2.3 kgCO2/m2/yr",
    source="living wall CO2 extraction, srsgroup.co.nz blog (vendor); docs/research/factors.md §7c",
    confidence="low",
    low="1.79 kgCO2/m2/yr",
    basis="low end: green-roof plant uptake 1.79 kgCO2/m2/yr (Cai et al. 2019, medium)",
)


@functools.cache
def cooling_weights() -> np.ndarray:
    """Share of the annual cooling degree days (CDD26) in each month 1..12 [dimensionless].

    From the climatological daily mean temperature (CMA normals, probably 1981-2010;
    :func:`carbon.climate.climatological_daily_temperature`) of a non-leap year, base 26 degC
    (GB 50176-2016 commentary §4.1.2).
    """
    from carbon.climate import climatological_daily_temperature, cooling_degree_days

    temp = climatological_daily_temperature(
        f"{REFERENCE_YEAR}-01-01", f"{REFERENCE_YEAR + 1}-01-01"
    )
    cdd = cooling_degree_days(temp)
    monthly = cdd.groupby(cdd.index.month).sum().reindex(range(1, 13), fill_value=0.0)
    values = monthly.to_numpy(dtype=float)
    return values / values.sum()


@functools.cache
def wall_cooling_ratio(azimuth: float) -> float:
    """CDD-weighted irradiation on a vertical surface over that on a horizontal one.

    Parameters
    ----------
    azimuth : of the wall's outward normal [deg], 180 = south.

    Returns
    -------
    float
        sum_m w_m H_vertical,m / sum_m w_m H_horizontal,m [dimensionless] with the cooling
        weights :func:`cooling_weights` and the offline Shanghai climatology (Perez
        transposition, albedo 0.25).
    """
    from carbon.interventions.pv import plane_irradiation_monthly, shanghai_weather

    weather = shanghai_weather()
    weights = cooling_weights()
    vertical = plane_irradiation_monthly(weather, 90.0, azimuth).to_numpy()
    horizontal = weather.monthly_ghi_kwh_m2.reindex(range(1, 13)).to_numpy()
    return float((weights * vertical).sum() / (weights * horizontal).sum())


class Greening(Intervention):
    """Vertical greening (wall assets) or a green roof (roof assets).

    Parameters
    ----------
    kind : ``vertical_greening`` or ``green_roof``.
    area : vegetated area [m2]; default the assets' ``wall_area`` / ``roof_area``.
    azimuth : the wall's outward normal [deg] (walls only).
    uptake : plant CO2 uptake [kg CO2 / m2 / yr].
    cooling_saving : cooling electricity saved in the building behind it [kWh / m2 / yr].

    Examples
    --------
    A 100 m2 green roof: 179 kg CO2 removed and 1,153 kWh saved a year.
    """

    ASSET_KINDS: ClassVar[tuple[str, ...]] = ("wall", "roof")

    kind: Literal["vertical_greening", "green_roof"]
    area: Area = None
    azimuth: Angle = None
    uptake: CO2PerAreaYear = None
    cooling_saving: EnergyPerAreaYear = None

    def asset_kinds(self) -> tuple[str, ...]:
        """Walls for vertical greening, roofs for a green roof."""
        return ("wall",) if self.kind == "vertical_greening" else ("roof",)

    def _unused(self) -> set[str]:
        return {"azimuth"} if self.kind == "green_roof" else set()

    def default(self, name: str) -> Cited | None:
        """Cited defaults; the wall's cooling saving is derived from its azimuth."""
        wall = self.kind == "vertical_greening"
        if name == "uptake":
            return _UPTAKE_WALL if wall else _UPTAKE_ROOF
        if name == "azimuth" and wall:
            return Cited(
                "180 deg",
                source="no source: wall orientation not published",
                confidence="assumption",
                basis="south-facing (assumption)",
            )
        if name == "cooling_saving":
            if not wall:
                return GREEN_ROOF_COOLING
            azimuth = float(self.value("azimuth").to("deg").magnitude)
            ratio = wall_cooling_ratio(azimuth)
            return Cited(
                f"{11.53 * ratio:.4f} kWh/m2/yr",
                source="derived: green-roof saving 11.53 kWh/m2/yr (Cai et al. 2019, medium) x "
                f"{ratio:.4f}, the CDD26-weighted irradiation on a vertical wall at azimuth "
                f"{azimuth:g} deg over that on a roof (offline Shanghai climatology)",
                confidence="assumption",
                low="0 kWh/m2/yr",
                high="11.53 kWh/m2/yr",
                basis="no cited value for walls (Buildings 2025, 15(3):471 numbers not "
                "retrieved; docs/research/factors.md §7c); assumes the saving scales with the "
                "intercepted sunshine; 0 when no conditioned room is behind the wall",
            )
        return super().default(name)

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        attribute = "wall_area" if self.kind == "vertical_greening" else "roof_area"
        have = [twin.assets[a] for a in self.assets if attribute in twin.assets[a].attributes]
        if not have:
            return {}
        est = any(a.is_estimated(attribute) for a in have)
        return {
            "area": (
                Q_(sum(a.magnitude(attribute) for a in have), "m2"),
                f"{attribute} of {', '.join(a.id for a in have)}" + (" (estimated)" if est else ""),
            )
        }

    def _asset_weight(self, twin: Twin, asset_id: str) -> float:
        asset = twin.assets[asset_id]
        for attribute in ("wall_area", "roof_area"):
            if attribute in asset.attributes:
                return asset.magnitude(attribute)
        return 1.0

    def _removal_confidence(self) -> str:
        return "low" if self.kind == "vertical_greening" else "medium"

    def unclaimed(self) -> dict[str, str]:
        """Plant uptake of a green wall or roof: no lasting removal (module docstring)."""
        what = "green-wall" if self.kind == "vertical_greening" else "green-roof"
        return {
            "removal": f"{what} plant uptake is not a lasting carbon-stock change (the cited "
            "rates are annual uptake, not net sequestration; IPCC 2006 Vol. 4 counts stock "
            "changes)"
        }

    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        if "area" not in p:
            self.value("area")
        days = days_of(months)
        removal = p["area"] * p["uptake"] * days / 365.0
        weights = cooling_weights()[months.month.to_numpy() - 1]
        electricity = p["area"] * p["cooling_saving"] * weights
        return {"removal": removal, "electricity": electricity}


_TREE_COVER: dict[str, Cited] = {
    "trees": Cited("1.0", source="the area is tree canopy (definition)", confidence="high"),
    "mixed": Cited(
        "0.5",
        source="no survey of the parks' canopy",
        confidence="assumption",
        low="0.25",
        high="0.75",
        basis="a pocket park or garden of trees over shrubs and lawn: half "
        "under canopy (assumption, range 0.25-0.75)",
    ),
    "lawn_shrubs": Cited(
        "0",
        source="no cited net sequestration rate for lawn and shrubs",
        confidence="assumption",
        basis="counted as 0 (conservative)",
    ),
}


class GreenSpace(Intervention):
    """A pocket park, garden or corner green: sequestration by its trees (a removal).

    Parameters
    ----------
    area : green area [m2]; default the assets' ``green_area``.
    vegetation : ``trees``, ``mixed`` or ``lawn_shrubs``; picks the default canopy share.
    tree_cover_share : share of the area under tree canopy [dimensionless].
    sequestration_rate : net sequestration per m2 of tree cover [kg C / m2 / yr].

    Examples
    --------
    80 m2 of tree canopy: 80 x 0.28 x 44/12 = 82.13 kg CO2 a year (Nowak et al. 2013).
    """

    KIND: ClassVar[str] = "green_space"
    ASSET_KINDS: ClassVar[tuple[str, ...]] = ("green_space",)
    DEFAULTS: ClassVar[dict[str, Cited]] = {
        "sequestration_rate": Cited(
            "0.28 kgC/m2/yr",
            source="Nowak, Greenfield, Hoehn, Lapoint 2013, Environmental Pollution "
            "178:229-236: US urban tree net sequestration per m2 of tree cover "
            "(docs/research/factors.md §7d)",
            confidence="high",
            basis="US average applied to Shanghai (transfer is an assumption)",
        ),
    }

    kind: Literal["green_space"] = "green_space"
    area: Area = None
    vegetation: Literal["trees", "mixed", "lawn_shrubs"] = "mixed"
    tree_cover_share: Dimensionless = None
    sequestration_rate: CarbonPerAreaYear = None

    def default(self, name: str) -> Cited | None:
        """Cited defaults; the canopy share depends on ``vegetation``."""
        if name == "tree_cover_share":
            return _TREE_COVER[self.vegetation]
        return super().default(name)

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        have = [twin.assets[a] for a in self.assets if "green_area" in twin.assets[a].attributes]
        if not have:
            return {}
        est = any(a.is_estimated("green_area") for a in have)
        return {
            "area": (
                Q_(sum(a.magnitude("green_area") for a in have), "m2"),
                f"green_area of {', '.join(a.id for a in have)}" + (" (estimated)" if est else ""),
            )
        }

    def _asset_weight(self, twin: Twin, asset_id: str) -> float:
        asset = twin.assets[asset_id]
        return asset.magnitude("green_area") if "green_area" in asset.attributes else 1.0

    def _removal_confidence(self) -> str:
        return "high" if self.vegetation == "trees" else "low"

    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        if "area" not in p:
            self.value("area")
        annual = p["area"] * p["tree_cover_share"] * p["sequestration_rate"] * CO2_PER_C
        return {"removal": annual * days_of(months) / 365.0}
