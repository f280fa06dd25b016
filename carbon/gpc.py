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
    "SECTOR_USE_TYPES",
    "TOTALS",
    "GpcError",
    "GpcRef",
    "classify",
    "in_total",
    "sector_use_type",
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


_SUBSECTORS: dict[str, tuple[str, str]] = {
    "I.1": ("Residential buildings", "居住建筑"),
    "I.2": ("Commercial and institutional buildings and facilities", "商业与公共建筑及设施"),
    "I.3": ("Manufacturing industries and construction", "制造业与建筑业"),
    "I.4": ("Energy industries", "能源工业"),
    "I.5": ("Agriculture, forestry and fishing activities", "农林渔业活动"),
    "I.6": ("Non-specified sources", "其他未列明来源"),
    "I.7": ("Fugitive emissions from coal", "煤炭逸散排放"),
    "I.8": ("Fugitive emissions from oil and natural gas systems", "油气系统逸散排放"),
    "II.1": ("On-road transport", "道路交通"),
    "II.2": ("Railways", "铁路(含轨道交通)"),
    "II.3": ("Waterborne navigation", "水上航运"),
    "II.4": ("Aviation", "航空"),
    "II.5": ("Off-road transport", "非道路交通"),
    "III.1": ("Solid waste disposal", "固体废弃物处置"),
    "III.2": ("Biological treatment of waste", "废弃物生物处理"),
    "III.3": ("Incineration and open burning", "焚烧与露天焚烧"),
    "III.4": ("Wastewater treatment and discharge", "污水处理与排放"),
}
_ENERGY = {
    1: ("fuel combustion", "燃料燃烧", "basic"),
    2: ("grid-supplied energy", "电网供能", "basic"),
    3: ("T&D losses of grid-supplied energy", "输配损耗", "basic+"),
}
_TRANSPORT = {
    1: ("fuel combustion within the boundary", "境内燃料燃烧", "basic"),
    2: ("grid-supplied energy", "电网供能", "basic"),
    3: (
        "transboundary journeys outside the boundary and T&D losses",
        "跨界行程境外部分及输配损耗",
        "basic+",
    ),
}
_WASTE = {
    1: ("generated and treated within the boundary", "境内产生境内处理", 1, "basic"),
    2: ("generated within, treated outside the boundary", "境内产生境外处理", 3, "basic"),
    3: ("generated outside, treated within the boundary", "境外产生境内处理", 1, "territorial"),
}


def _rows() -> list[GpcRef]:
    """Every GPC v1.1 sub-category (docs/research/gpc.md §1.2; GPC v1.1 ch. 4 and the sector
    chapters 6-10), in reference-number order."""
    rows = []
    for sub, (en, zh) in _SUBSECTORS.items():
        sector = sub.split(".")[0]
        if sub in ("I.7", "I.8"):
            rows.append(_r(f"{sub}.1", 1, "basic", f"{en}: within the boundary", f"{zh}:境内"))
        elif sub == "I.4":
            for n in (1, 2, 3):
                part_en, part_zh, level = _ENERGY[n]
                rows.append(
                    _r(
                        f"I.4.{n}",
                        n,
                        level,
                        f"{en} (auxiliary use): {part_en}",
                        f"{zh}(厂用):{part_zh}",
                    )
                )
            rows.append(
                _r(
                    "I.4.4",
                    1,
                    "territorial",
                    "Energy generation supplied to the grid",
                    "本地发电上网",
                )
            )
        elif sector == "I":
            for n, (part_en, part_zh, level) in _ENERGY.items():
                rows.append(_r(f"{sub}.{n}", n, level, f"{en}: {part_en}", f"{zh}:{part_zh}"))
        elif sector == "II":
            for n, (part_en, part_zh, level) in _TRANSPORT.items():
                if sub == "II.5" and n == 3:
                    continue  # off-road transport has no scope 3 row (GPC v1.1 ch. 7)
                rows.append(_r(f"{sub}.{n}", n, level, f"{en}: {part_en}", f"{zh}:{part_zh}"))
        else:
            for n, (part_en, part_zh, scope, level) in _WASTE.items():
                rows.append(_r(f"{sub}.{n}", scope, level, f"{en}: {part_en}", f"{zh}:{part_zh}"))
    rows += [
        _r("IV.1", 1, "basic+", "Industrial processes within the boundary", "境内工业生产过程"),
        _r(
            "IV.2",
            1,
            "basic+",
            "Product use within the boundary (e.g. refrigerants, solvents)",
            "境内产品使用(如制冷剂、溶剂)",
        ),
        _r("V.1", 1, "basic+", "Livestock within the boundary", "境内畜牧"),
        _r("V.2", 1, "basic+", "Land within the boundary", "境内土地"),
        _r(
            "V.3",
            1,
            "basic+",
            "Aggregate sources and non-CO2 emission sources on land",
            "土地上的集合源与非CO2排放源",
        ),
        _r("VI.1", 3, "other", "Other scope 3 (e.g. tap-water supply)", "其他范围三(如自来水供应)"),
    ]
    return rows


_ROWS = _rows()
REFS: dict[str, GpcRef] = {r.ref: r for r in _ROWS}
"""Every GPC v1.1 sub-category row, by reference number (each inventory table lists them all,
with a value or a notation key)."""

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

SECTOR_USE_TYPES = frozenset({"residential", "office", "retail", "public", "mixed", "ebike"})
"""Use types that decide a GPC sub-sector: the building uses of the twin's nodes and ``ebike``
(on-road transport, II.1.2). A meter's other use types (``lighting``, ``public_toilet``...)
name an end use inside its building."""


def sector_use_type(meter_use_type: str | None, node_use_type: str | None) -> str | None:
    """The use type that classifies a meter's readings: the meter's own when it decides a
    sub-sector (:data:`SECTOR_USE_TYPES`), else its node's.

    A sub-meter of the common-area lighting of a residential building (``lighting``) is
    residential, GPC I.1, like the building: GPC v1.1 Ch. 6 puts residential buildings,
    common areas included, in I.1, and commercial and institutional buildings in I.2
    (docs/research/uncertainty.md §5).
    """
    if meter_use_type in SECTOR_USE_TYPES:
        return meter_use_type
    return node_use_type


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
    if activity in ("waste.msw.incineration", "waste.msw.incineration.biogenic_co2"):
        return "III.3.2"
    if activity == "waste.msw.biological":  # sorted wet waste, digested outside (GPC v1.1 Ch. 8)
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
