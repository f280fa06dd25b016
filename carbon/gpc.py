"""The GHG Protocol for Cities (GPC) reference numbers, totals and notation keys.

References
----------
WRI, C40 and ICLEI, *Global Protocol for Community-Scale Greenhouse Gas Emission Inventories
(GPC)*, 2014; v1.1, 2021. The sub-category table follows the machine-readable GPC v1.1 schema of
Open-Earth-Foundation/CityCatalyst (``GPC_1.1_schema.csv``, read at commit 47afbbb, 2026-07-24;
docs/research/gpc.md §1.2, confidence high).
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon.errors import CarbonError

__all__ = [
    "NOTATION_KEYS",
    "REFS",
    "TOTALS",
    "GpcError",
    "GpcRef",
    "classify",
    "in_total",
]


class GpcError(CarbonError, KeyError):
    """An activity with no GPC row, or an unknown GPC total."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class GpcRef:
    """One GPC sub-category row.

    Attributes
    ----------
    ref : reference number, e.g. ``"I.1.2"``.
    sector, subsector : ``"I"``, ``"I.1"``.
    scope : 1, 2 or 3.
    level : ``basic``, ``basic+``, ``territorial`` or ``other`` (GPC reporting level).
    name_en, name_zh : what the row holds.
    """

    ref: str
    sector: str
    subsector: str
    scope: int
    level: str
    name_en: str
    name_zh: str


def _r(ref: str, scope: int, level: str, en: str, zh: str) -> GpcRef:
    parts = ref.split(".")
    return GpcRef(ref, parts[0], ".".join(parts[:2]), scope, level, en, zh)


_ROWS = [
    _r("I.1.1", 1, "basic", "Residential buildings: fuel combustion", "居住建筑:燃料燃烧"),
    _r("I.1.2", 2, "basic", "Residential buildings: grid-supplied energy", "居住建筑:电网供能"),
    _r("I.1.3", 3, "basic+", "Residential buildings: T&D losses", "居住建筑:输配损耗"),
    _r(
        "I.2.1",
        1,
        "basic",
        "Commercial and institutional: fuel combustion",
        "商业与公共建筑:燃料燃烧",
    ),
    _r(
        "I.2.2",
        2,
        "basic",
        "Commercial and institutional: grid-supplied energy",
        "商业与公共建筑:电网供能",
    ),
    _r("I.2.3", 3, "basic+", "Commercial and institutional: T&D losses", "商业与公共建筑:输配损耗"),
    _r("I.4.4", 1, "territorial", "Energy generation supplied to the grid", "本地发电上网"),
    _r("II.1.1", 1, "basic", "On-road transport: fuel combustion", "道路交通:燃料燃烧"),
    _r("II.1.2", 2, "basic", "On-road transport: grid-supplied energy", "道路交通:电网供能"),
    _r("III.1.2", 3, "basic", "Solid waste disposed outside the boundary", "固体废弃物境外填埋"),
    _r(
        "III.2.2",
        3,
        "basic",
        "Biological treatment of waste outside the boundary",
        "废弃物境外生物处理",
    ),
    _r("III.3.2", 3, "basic", "Waste incinerated outside the boundary", "废弃物境外焚烧"),
    _r("III.4.2", 3, "basic", "Wastewater treated outside the boundary", "污水境外处理"),
    _r(
        "V.2",
        1,
        "basic+",
        "Land within the boundary (removals by green space)",
        "境内土地(绿地碳汇)",
    ),
    _r("VI.1", 3, "other", "Other scope 3 (e.g. tap-water supply)", "其他范围三(如自来水供应)"),
]
REFS: dict[str, GpcRef] = {r.ref: r for r in _ROWS}
"""The GPC rows this library fills, by reference number."""

TOTALS: dict[str, str] = {
    "BASIC": "scope 1 and 2 of stationary energy and transport, scope 1 and 3 of waste "
    "(excludes I.4.4 and III.x.3)",
    "BASIC+": "BASIC + T&D losses + transboundary transport + IPPU + AFOLU",
    "territorial": "every scope 1 row, including I.4.4 and III.x.3",
    "scope2": "I.x.2 and II.x.2",
}
"""The GPC totals (docs/research/gpc.md §1.2, 'Totals to implement', confidence high)."""

NOTATION_KEYS: dict[str, tuple[str, str]] = {
    "NO": ("not occurring", "The activity or process does not occur or exist within the city"),
    "IE": (
        "included elsewhere",
        "The emissions for this activity are estimated and presented elsewhere",
    ),
    "NE": ("not estimated", "The emissions for this activity are not estimated"),
    "C": ("confidential", "The emissions could lead to the disclosure of confidential information"),
}
"""GPC notation keys with their meaning (CityCatalyst wording; docs/research/gpc.md §1.5, high)."""

_BUILDING = {"residential": "I.1", None: "I.2"}


def classify(activity: str, use_type: str | None) -> str:
    """The GPC reference number of an activity on a node or meter of a use type.

    Parameters
    ----------
    activity : activity id, e.g. ``"electricity.grid"``.
    use_type : ``residential``, ``office``, ``retail``, ``public``, ``ebike`` ... .

    Returns
    -------
    str
        E.g. ``"I.1.2"`` for residential grid electricity, ``"II.1.2"`` for e-bike charging,
        ``"III.1.2"`` for waste landfilled outside the subdistrict.
    """
    building = _BUILDING["residential" if use_type == "residential" else None]
    if activity.startswith(("electricity.grid", "electricity.green_certificate", "heat.")):
        return "II.1.2" if use_type == "ebike" else f"{building}.2"
    if activity.startswith(("natural_gas.", "lpg.")):
        return f"{building}.1"
    if activity.startswith(("gasoline.", "diesel.mobile", "transport.")):
        return "II.1.1"
    if activity.startswith("diesel."):
        return f"{building}.1"
    if activity == "electricity.pv_exported":
        return "I.4.4"
    if activity == "waste.msw.landfill":
        return "III.1.2"
    if activity == "waste.msw.incineration":
        return "III.3.2"
    if activity.startswith("waste.msw.sorted"):
        return "III.2.2"
    if activity == "wastewater.treatment":
        return "III.4.2"
    if activity == "water.supply":
        return "VI.1"
    if activity.startswith("removal."):
        return "V.2"
    raise GpcError(f"No GPC row for activity {activity!r}")


def in_total(ref: str, total: str) -> bool:
    """True when a GPC row counts in a total (``BASIC``, ``BASIC+``, ``territorial``,
    ``scope2``)."""
    row = REFS[ref]
    if total == "BASIC":
        return row.level == "basic"
    if total == "BASIC+":
        return row.level in ("basic", "basic+")
    if total == "territorial":
        return row.scope == 1
    if total == "scope2":
        return row.scope == 2
    raise GpcError(f"Unknown total {total!r}; known: {', '.join(TOTALS)}")
