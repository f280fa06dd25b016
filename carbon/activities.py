"""The activity catalogue: what can be metered or reported, in which canonical unit.

Every reading, activity row and emission factor names one activity id from
:data:`ACTIVITIES`. Each activity has one canonical unit (DESIGN decision 2): incoming data are
converted to it once per file, factors are expressed per canonical unit, and the ledger never
sees another unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon.errors import UnknownActivityError

__all__ = ["ACTIVITIES", "Activity", "get_activity"]


@dataclass(frozen=True)
class Activity:
    """One kind of activity data.

    Attributes
    ----------
    id : dotted id, e.g. ``"electricity.grid"``.
    canonical_unit : the unit every amount of this activity is stored in, e.g. ``"kWh"``.
    name_zh, name_en : display names.
    measure : what a meter for it measures (``electricity``, ``gas``, ``water``, ``heat``) or
        ``None`` for activities that are not metered (fuel purchases, waste tonnage, ...).
    """

    id: str
    canonical_unit: str
    name_zh: str
    name_en: str
    measure: str | None = None


_CATALOGUE = [
    Activity("electricity.grid", "kWh", "电网电力", "grid electricity", "electricity"),
    Activity("electricity.green_certificate", "kWh", "绿证电量", "green-power certificates (GEC)"),
    Activity("electricity.pv_self_consumed", "kWh", "光伏自用电量", "self-consumed rooftop PV"),
    Activity("electricity.pv_exported", "kWh", "光伏上网电量", "rooftop PV exported to the grid"),
    Activity("heat.purchased", "GJ", "外购热力", "purchased heat or steam", "heat"),
    Activity("natural_gas.combustion", "m3", "天然气燃烧", "natural gas combustion", "gas"),
    Activity("natural_gas.combustion_energy", "GJ", "天然气燃烧(热值)", "natural gas (energy)"),
    Activity("lpg.combustion", "kg", "液化石油气燃烧", "LPG combustion"),
    Activity("lpg.combustion_energy", "GJ", "液化石油气燃烧(热值)", "LPG combustion (energy)"),
    Activity("gasoline.mobile", "kg", "汽油(移动源)", "gasoline, mobile combustion"),
    Activity("gasoline.mobile_energy", "GJ", "汽油(移动源, 热值)", "gasoline, mobile (energy)"),
    Activity("diesel.mobile", "kg", "柴油(移动源)", "diesel, mobile combustion"),
    Activity("diesel.combustion_energy", "GJ", "柴油燃烧(热值)", "diesel combustion (energy)"),
    Activity("water.supply", "m3", "自来水供应", "tap-water supply", "water"),
    Activity("wastewater.treatment", "m3", "污水处理", "wastewater treatment"),
    # Municipal solid waste by treatment path, in tonnes of wet waste as collected (IPCC 2006
    # Vol. 5 Ch. 3-5): Shanghai's residual ("dry") waste is incinerated, its food ("wet") waste
    # digested; recyclables and hazardous waste have no activity (docs/research/waste.md §1).
    Activity("waste.msw.landfill", "t", "生活垃圾填埋", "MSW to landfill (wet t)"),
    Activity("waste.msw.incineration", "t", "生活垃圾焚烧(干垃圾)", "MSW incinerated (wet t)"),
    Activity(
        "waste.msw.incineration.biogenic_co2",
        "t",
        "生活垃圾焚烧生物源CO2(信息项)",
        "biogenic CO2 of MSW incinerated, memo item (wet t)",
    ),
    Activity(
        "waste.msw.biological",
        "t",
        "生活垃圾生物处理(湿垃圾)",
        "MSW to biological treatment (wet t)",
    ),
    Activity("transport.vehicle_km", "km", "车辆行驶里程", "vehicle-kilometres"),
    Activity("removal.vegetation", "kgCO2", "植被碳汇", "CO2 removed by vegetation (GPC V.2)"),
]

ACTIVITIES: dict[str, Activity] = {a.id: a for a in _CATALOGUE}
"""Every activity the library knows, by id."""


def get_activity(activity: str) -> Activity:
    """Return the catalogue entry for an activity id.

    Raises
    ------
    UnknownActivityError
        When the id is not in :data:`ACTIVITIES`; the message lists the known ids.
    """
    try:
        return ACTIVITIES[activity]
    except KeyError:
        raise UnknownActivityError(activity, list(ACTIVITIES)) from None
