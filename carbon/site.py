"""A community twin from the spreadsheets a subdistrict office keeps, and a check of one.

:func:`init_site` reads a workbook (``.xlsx``) or CSV files (one per sheet) listing the
community's residential areas, compounds, office buildings, street-front shops, facilities,
meters and assets, with Chinese or English headers, and writes a validated community folder
(``site.toml``, ``nodes.toml``, ``meters.toml``, ``assets.toml``, ``interventions.toml`` and a
schematic ``geometry.geojson``) that :func:`carbon.twin.load_twin` loads. :func:`check_site`
reports what a twin still lacks (published facts its places do not add up to, places without
meters or floor area, meters the synthetic-data generator cannot size, an incomplete boundary
statement) and every figure that is an estimate, with its basis.

The spreadsheet
---------------
A sheet is recognised by its name (a CSV file by its name's last ``_``-separated part): the
names in :data:`SHEETS`, Chinese or English. Headers are matched the same way
(:data:`FIELDS`, :data:`ATTRIBUTE_COLUMNS`); a unit may follow a quantity header in brackets,
``建筑面积(平方米)``. Other sheets and columns are ignored with a logged warning.

``街道`` (site), one fact per row: ``项目, 数值, 单位, 来源, 估算依据, 备注``
    The name (``名称``, ``英文名``), ``区域代码`` (default ``CN-SH``), ``时区`` (default
    ``Asia/Shanghai``), the map centre (``中心经度``, ``中心纬度``) and the published facts
    (``面积``, ``常住人口``, ``60岁以上人口``, ``居委会数`` ... see :data:`SITE_KEYS`). A
    fact needs a ``来源`` (an id of the ``来源`` sheet) or an ``估算依据``.
``来源`` (sources): ``编号, 出处, 可信度`` (``高/中/低/假设`` or ``high/medium/low/assumption``).
``片区`` (blocks, optional): ``编号, 名称, 英文名``. Without it every place sits in one block.
``居民区``, ``小区``, ``楼宇``, ``商铺``, ``设施`` (residential areas, compounds, office
    buildings, street frontages, facilities): ``编号, 名称, 英文名``, the parent (``片区`` for
    the first, ``居民区`` for compounds, ``所属`` for facilities: an id or a Chinese name), the
    attributes (``常住人口``, ``户数``, ``建筑面积`` ...), ``估算依据`` and ``备注``.
``表计`` (meters): ``表号, 所属, 类型, 单位, 读数方式, 周期, 用途, 备注``; ``类型`` is
    ``电/气/水/热`` or ``electricity/gas/water/heat``; electricity defaults to hourly interval
    readings in kWh, gas and water to monthly register readings in m3.
``资产`` (assets, optional): ``编号, 名称, 英文名, 所属, 类型`` and attributes (``数量`` ...).

Estimates are marked in the ``估算依据`` column as ``字段: 依据; 字段: 依据`` (the field by its
header; ``*`` for every attribute of the row): ``户数: 常住人口 / 2.3 人每户 (假设)``. They
become the entity's ``estimated`` table, which the twin, the ledger and the wall carry on.

Ids are lower-case (``[a-z0-9_]``, dots between levels); a row without ``编号`` takes one made
from its English name. Everything is validated as it is read: a problem names the file, the
sheet and row, and the column.

Geometry
--------
Offices keep no coordinates, and the wall screen draws the twin's own map (DESIGN decision 9),
so :func:`init_site` lays the tree out as a grid: the subdistrict as a square of its area
around the given centre, each node's children in a grid of cells inside it, facilities as
points, street frontages as lines. The file says it is schematic, and every feature carries
``"schematic": true``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w
from pydantic import BaseModel, ValidationError

from carbon.activities import get_activity
from carbon.errors import CarbonError, DataFileError, TwinError
from carbon.synth import expected_annual
from carbon.twin import (
    ATTRIBUTES,
    Asset,
    Meter,
    Node,
    Site,
    SourceRef,
    Twin,
    check_timezone,
    load_twin,
    sites_dir,
)
from carbon.units import parse_quantity, parse_unit
from carbon.warnings import QualityWarning

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "FIELDS",
    "SHEETS",
    "SITE_KEYS",
    "SiteReport",
    "SiteSourceError",
    "check_site",
    "init_site",
    "read_sheets",
    "schematic_geometry",
]

log = logging.getLogger(__name__)


class SiteSourceError(DataFileError):
    """A spreadsheet :func:`init_site` cannot turn into a twin (names file, sheet, row, column)."""


# ------------------------------------------------------------------------------ vocabulary
SHEETS: dict[str, tuple[str, ...]] = {
    "site": ("街道", "社区", "概况", "基本情况", "site", "subdistrict"),
    "sources": ("来源", "出处", "资料来源", "sources"),
    "blocks": ("片区", "街区", "blocks"),
    "residential_areas": ("居民区", "居委会", "residential_areas"),
    "compounds": ("小区", "compounds"),
    "office_buildings": ("楼宇", "商务楼宇", "办公楼", "office_buildings", "offices"),
    "streets": ("商铺", "沿街商铺", "streets", "shops"),
    "facilities": ("设施", "公共设施", "facilities"),
    "meters": ("表计", "计量表", "电表", "meters"),
    "assets": ("资产", "设备", "assets"),
}
"""Sheet kinds and the sheet (or CSV file) names that mean them."""

_IGNORED_SHEETS = ("说明", "readme", "notes")

_NODE_SHEETS = {
    # sheet: (node kind, default use type, the parent's column names)
    "blocks": ("block", None, ()),
    "residential_areas": ("residential_area", "residential", ("片区", "街区", "block")),
    "compounds": ("compound", "residential",
                  ("居民区", "所属居民区", "居委会", "residential_area")),
    "office_buildings": ("office_building", "office", ("片区", "街区", "block")),
    "streets": ("street", "retail", ("片区", "街区", "block")),
    "facilities": ("facility", "public", ()),
}

FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "代码", "id"),
    "name_zh": ("名称", "中文名", "中文名称", "name_zh", "name"),
    "name_en": ("英文名", "英文名称", "name_en"),
    "parent": ("上级", "所属", "parent"),
    "use_type": ("用途", "use_type"),
    "estimated": ("估算依据", "估算说明", "估算", "estimated", "estimate_basis"),
    "notes": ("备注", "说明", "notes"),
    # meters
    "meter_id": ("表号", "表计编号", "户号", "meter_id"),
    "node": ("位置", "安装位置", "计量对象", "node"),
    "measure": ("类型", "种类", "能源类型", "measure"),
    "unit": ("单位", "unit"),
    "reading": ("读数方式", "读数类型", "reading"),
    "interval": ("周期", "抄表周期", "间隔", "interval"),
    "activity": ("活动", "activity"),
    "installed": ("安装日期", "installed"),
    # assets
    "kind": ("资产类型", "kind"),
    # site and sources sheets
    "key": ("项目", "指标", "key", "item"),
    "value": ("数值", "值", "value"),
    "source": ("来源", "source"),
    "citation": ("出处", "引用", "citation"),
    "confidence": ("可信度", "confidence"),
}
"""Canonical column -> the headers that mean it (compared without spaces, case-folded)."""

ATTRIBUTE_COLUMNS: dict[str, tuple[str, ...]] = {
    "residents": ("常住人口", "人口", "居民人数"),
    "households": ("户数", "住户数"),
    "residents_over_60": ("60岁以上人口", "60岁以上", "老年人口"),
    "floor_area": ("建筑面积",),
    "land_area": ("占地面积",),
    "green_area": ("绿地面积",),
    "roof_area": ("屋顶面积",),
    "wall_area": ("墙面面积",),
    "area": ("面积", "辖区面积"),
    "frontage_length": ("沿街长度",),
    "height": ("高度",),
    "floors": ("层数", "楼层数"),
    "elevators": ("电梯", "电梯数"),
    "buildings": ("楼栋数", "楼栋"),
    "firms": ("企业数", "入驻企业"),
    "office_workers": ("白领人数", "从业人员", "办公人数"),
    "shops": ("商铺数",),
    "built_year": ("建成年份", "建成年代", "竣工年份"),
    "count": ("数量",),
    "power": ("功率",),
    "capacity": ("装机容量",),
    "flush_volume": ("冲水量",),
    "uses_per_day": ("日使用次数",),
}
"""Twin attribute -> its Chinese headers (its English name is accepted too)."""

SITE_KEYS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "代码", "id"),
    "name_zh": ("名称", "中文名", "街道名称", "name_zh"),
    "name_en": ("英文名", "英文名称", "name_en"),
    "region": ("区域代码", "地区代码", "region"),
    "timezone": ("时区", "timezone"),
    "center_lon": ("中心经度", "经度", "center_lon"),
    "center_lat": ("中心纬度", "纬度", "center_lat"),
    # facts that are also attributes of the root node
    "area": ("面积", "辖区面积", "area"),
    "residents": ("常住人口", "人口", "residents"),
    "residents_over_60": ("60岁以上人口", "60岁以上", "residents_over_60"),
    "households": ("户数", "households"),
    # facts only
    "residential_areas": ("居委会数", "居民区数", "居委会", "居民区", "residential_areas"),
    "office_buildings": ("商务楼宇数", "楼宇数", "office_buildings"),
    "shops": ("商铺数", "沿街商铺数", "shops"),
    "street_blocks": ("片区数", "街区数", "street_blocks"),
    "office_workers_daily": ("白领人数", "从业人员", "office_workers_daily"),
    "elevators_added": ("加装电梯", "加梯数", "elevators_added"),
    "statistical_code": ("统计代码", "区划代码", "statistical_code"),
}
"""Rows of the site sheet: canonical key -> its names. Other English snake_case keys are kept
as facts as given."""

_IDENTITY = ("id", "name_zh", "name_en", "region", "timezone")
_ROOT_ATTRIBUTES = ("area", "residents", "residents_over_60", "households")

_MEASURES = {
    "electricity": ("电", "电力", "用电", "electricity"),
    "gas": ("气", "燃气", "天然气", "煤气", "gas"),
    "water": ("水", "自来水", "用水", "water"),
    "heat": ("热", "热力", "供热", "heat"),
}
_READINGS = {
    "interval": ("区间", "间隔", "分时", "interval"),
    "register": ("累计", "表底", "示数", "register"),
}
_INTERVALS = {
    "15min": ("15分钟", "15min"),
    "1h": ("小时", "每小时", "1小时", "1h", "h", "hourly"),
    "1d": ("日", "每日", "天", "1d", "d", "daily"),
    "1mo": ("月", "每月", "1mo", "mo", "monthly"),
}
_METER_USES = {
    "ebike": ("充电", "电动自行车", "电动自行车充电", "ebike"),
    "lighting": ("照明", "lighting"),
    "public_toilet": ("公厕", "公共厕所", "public_toilet"),
}
_CONFIDENCE = {
    "high": ("高", "high"),
    "medium": ("中", "中等", "medium"),
    "low": ("低", "low"),
    "assumption": ("假设", "估算", "assumption"),
}
_ASSET_KINDS = {
    "light_fixtures": ("照明灯具", "灯具", "light_fixtures"),
    "toilets": ("坐便器", "马桶", "toilets"),
    "roof": ("屋顶", "roof"),
    "wall": ("墙面", "wall"),
    "green_space": ("绿地", "green_space"),
    "ebike_chargers": ("充电桩", "充电口", "ebike_chargers"),
    "elevators": ("电梯", "elevators"),
    "pv_array": ("光伏", "pv_array"),
    "meter_box_monitors": ("电表箱监测", "meter_box_monitors"),
}
_UNIT_WORDS = {"平方公里": "km2", "平方千米": "km2", "公顷": "hectare", "千米": "km", "米": "m"}
"""Chinese unit words the unit registry does not know (it knows 平方米, 立方米, 度, 升 ...)."""


def _norm(text: Any) -> str:
    """A header or name compared loosely: no spaces, ASCII brackets and colons, case-folded."""
    s = str(text).strip().translate(str.maketrans("（）【】：", "()[]:"))
    return re.sub(r"\s+", "", s).casefold()


def _lookup(value: str, table: Mapping[str, tuple[str, ...]]) -> str | None:
    v = _norm(value)
    for key, names in table.items():
        if v == _norm(key) or v in (_norm(n) for n in names):
            return key
    return None


def _cell(value: Any) -> str:
    """A cell as text: blank for empty cells, whole numbers without ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value).strip()


# ------------------------------------------------------------------------------ reading
@dataclass
class Sheet:
    """One sheet of the spreadsheet, its cells as text.

    Attributes
    ----------
    kind : the sheet kind (a key of :data:`SHEETS`).
    name : the sheet's name as written (or the CSV file's name).
    path : the file it comes from.
    frame : the cells as text, the header as written.
    """

    kind: str
    name: str
    path: Path
    frame: pd.DataFrame

    def where(self, row: int | None = None) -> str:
        """``sheet 居民区 row 5`` (spreadsheet row numbers: the header is row 1)."""
        return f"sheet {self.name}" + (f" row {row + 2}" if row is not None else "")

    def error(self, message: str, row: int | None = None,
              column: str | None = None) -> SiteSourceError:
        """A :class:`SiteSourceError` at this sheet, row and column."""
        return SiteSourceError(self.path, message, entry=self.where(row), field=column)


def _sheet_kind(name: str) -> str | None:
    kind = _lookup(name, SHEETS)
    if kind is None and "_" in name:  # changfeng_xincun_居民区.csv
        kind = _lookup(name.rsplit("_", 1)[-1], SHEETS)
    return kind


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV as text cells: UTF-8 (with or without BOM), else GB18030 (Excel on Chinese
    Windows saves GBK, which GB18030 decodes)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
    raise SiteSourceError(path, "not UTF-8 or GB18030 text")


def _files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    items = [source] if isinstance(source, str | Path) else list(source)
    if not items:
        raise SiteSourceError(Path("."), "no spreadsheet given")
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".xlsx"))
            if not found:
                raise SiteSourceError(path, "a folder without .csv or .xlsx files")
            out += found
        elif not path.is_file():
            raise SiteSourceError(path, "file not found")
        elif path.suffix.lower() not in (".csv", ".xlsx", ".xlsm"):
            raise SiteSourceError(
                path, f"expected a .xlsx workbook or .csv files, not {path.suffix!r}")
        else:
            out.append(path)
    return out


def read_sheets(source: str | Path | Sequence[str | Path]) -> dict[str, Sheet]:
    """Read the sheets of a community spreadsheet.

    Parameters
    ----------
    source : a ``.xlsx`` workbook, ``.csv`` files (one per sheet, named by the sheet), a
        folder of them, or a list of any of these.

    Returns
    -------
    dict
        Sheet kind (a key of :data:`SHEETS`) -> :class:`Sheet`. Unknown sheets are left out
        (logged).

    Raises
    ------
    SiteSourceError
        A missing file, a file of another type, text in neither UTF-8 nor GB18030, or two
        sheets of the same kind.
    """
    sheets: dict[str, Sheet] = {}
    for path in _files(source):
        if path.suffix.lower() == ".csv":
            tables = {path.stem: _read_csv(path)}
        else:
            try:
                raw = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
            except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:  # not a workbook
                raise SiteSourceError(path, f"not a readable .xlsx workbook: {exc}") from None
            tables = {
                str(name): frame.map(_cell).astype(str) if len(frame.columns) else frame
                for name, frame in raw.items()
            }
        for name, frame in tables.items():
            kind = _sheet_kind(name)
            if kind is None:
                level = logging.DEBUG if _norm(name) in _IGNORED_SHEETS else logging.WARNING
                log.log(level, "%s: sheet %r ignored (not one of the known sheets: %s)",
                        path.name, name, ", ".join(n[0] for n in SHEETS.values()))
                continue
            if kind in sheets:
                raise SiteSourceError(
                    path, f"a second {kind} sheet ({sheets[kind].name!r} in "
                    f"{sheets[kind].path.name} is the first)", entry=f"sheet {name}")
            frame = frame.rename(columns=lambda c: str(c).strip())
            if len(frame):
                blank = frame.apply(lambda r: all(not str(v).strip() for v in r), axis=1)
                frame = frame[~blank].reset_index(drop=True)
            sheets[kind] = Sheet(kind, name, path, frame)
    return sheets


# ------------------------------------------------------------------------------ columns
@dataclass
class _Columns:
    """Which header of a sheet holds which field or attribute, and the unit it gives."""

    fields: dict[str, str]  # canonical field -> header
    attributes: dict[str, tuple[str, str | None]]  # attribute -> (header, unit in the header)


def _split_header(header: str) -> tuple[str, str | None]:
    """``建筑面积(平方米)`` -> (``建筑面积``, ``平方米``)."""
    m = re.fullmatch(r"(.+?)\s*[(\[](.+)[)\]]", _norm(header).replace("（", "("))
    if m:
        return m.group(1), m.group(2)
    return _norm(header), None


def _columns(sheet: Sheet, allowed: Iterable[str], parent_names: Sequence[str] = ()) -> _Columns:
    allowed = set(allowed)
    fields: dict[str, str] = {}
    attributes: dict[str, tuple[str, str | None]] = {}
    for header in sheet.frame.columns:
        base, unit = _split_header(header)
        found: str | None = None
        if "parent" in allowed and base in (_norm(n) for n in parent_names):
            found = "parent"
        else:
            for name in allowed:
                if base in (_norm(n) for n in FIELDS.get(name, ())):
                    found = name
                    break
        if found is not None:
            if found in fields:
                raise sheet.error(f"two columns for {found!r}: {fields[found]!r} and {header!r}",
                                  column=header)
            fields[found] = header
            continue
        attr = next((a for a, names in ATTRIBUTE_COLUMNS.items()
                     if base == a or base in (_norm(n) for n in names)), None)
        if attr is not None and "attributes" in allowed:
            if attr in attributes:
                raise sheet.error(f"two columns for attribute {attr!r}", column=header)
            attributes[attr] = (header, unit)
            continue
        log.warning("%s, %s: column %r ignored (not a known field or attribute)",
                    sheet.path.name, sheet.where(), header)
    return _Columns(fields, attributes)


def _count(sheet: Sheet, row: int, header: str, text: str) -> int:
    s = re.sub(r"[,，\s]", "", text)
    try:
        value = float(s)
    except ValueError:
        raise sheet.error(f"expected a whole number, got {text!r}", row, header) from None
    if not value.is_integer() or value < 0:
        raise sheet.error(f"expected a whole number >= 0, got {text!r}", row, header)
    return int(value)


def _quantity(sheet: Sheet, row: int, header: str, text: str, attr: str,
              unit: str | None) -> str:
    """A quantity cell as the twin writes it, in the attribute's reference unit (``'1040.5
    m2'``): the cell's own unit, else the header's, else the reference unit."""
    ref = ATTRIBUTES[attr]
    assert ref is not None
    unit = _UNIT_WORDS.get(unit, unit) if unit else None
    s = re.sub(r"[,，]", "", text).strip()
    words = re.fullmatch(r"(.*\d)\s*(" + "|".join(_UNIT_WORDS) + ")", s)
    if words:  # 5.8 平方公里 -> 5.8 km2
        s = f"{words.group(1)} {_UNIT_WORDS[words.group(2)]}"
    try:
        number = re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s)
        q = parse_quantity(f"{float(s)!r} {unit or ref}" if number else s)
        value = q.to(parse_unit(ref)).magnitude
    except (CarbonError, ValueError, TypeError, AttributeError) as exc:
        raise sheet.error(f"{attr}: expected a quantity in {ref} (or with its unit), got "
                          f"{text!r} ({exc})", row, header) from None
    return f"{float(value):.12g} {ref}"


def _attribute(sheet: Sheet, row: int, header: str, text: str, attr: str,
               unit: str | None) -> Any:
    if ATTRIBUTES[attr] is None:
        return _count(sheet, row, header, text)
    return _quantity(sheet, row, header, text, attr, unit)


def _estimates(sheet: Sheet, row: int, header: str, text: str,
               names: dict[str, str]) -> dict[str, str]:
    """``字段: 依据; 字段: 依据`` -> attribute -> basis.

    ``names`` maps a header (normalised, without its unit) or an attribute name to the
    attribute. A part starts where a known field name and a colon follow the start or a
    semicolon, so a basis may hold semicolons and colons of its own; ``*`` (or ``全部``)
    stands for every value of the row.
    """
    keys = sorted({*names, "*", "全部", "all"}, key=len, reverse=True)
    label = re.compile(r"(?:^|[;；])\s*(" + "|".join(map(re.escape, keys)) + r")\s*[:：]",
                       re.IGNORECASE)
    marks = list(label.finditer(text))
    if not marks or marks[0].start() != 0:
        known = ", ".join(sorted(names)) or "none"
        raise sheet.error(f"write each estimate as '字段: 依据' (field: basis) for a value of "
                          f"this row ({known}); got {text!r}", row, header)
    elsewhere = [n for n in _FIELD_LABELS if n not in names]
    stray = re.search(r"[;；]\s*(" + "|".join(map(re.escape, elsewhere)) + r")\s*[:：]", text,
                      re.IGNORECASE) if elsewhere else None
    if stray:
        raise sheet.error(f"estimate of {stray.group(1)!r}, which is not a value of this row "
                          f"(values here: {', '.join(sorted(names)) or 'none'})", row, header)
    out: dict[str, str] = {}
    for m, nxt in zip(marks, [*marks[1:], None], strict=True):
        basis = text[m.end():nxt.start() if nxt else len(text)].strip()
        key = _norm(m.group(1))
        if not basis:
            raise sheet.error(f"the estimate of {m.group(1)!r} needs its basis", row, header)
        targets = list(names.values()) if key in ("*", "全部", "all") else [names[key]]
        for t in targets:
            out[t] = basis
    return out


_FIELD_LABELS = sorted({_norm(n) for a, names in ATTRIBUTE_COLUMNS.items() for n in (a, *names)},
                       key=len, reverse=True)
"""Every header an attribute goes by: an estimate of one a row does not have is an error."""

_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


def _slug(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def _model(sheet: Sheet, row: int | None, cls: type[BaseModel], raw: dict[str, Any],
           columns: dict[str, str]) -> Any:
    """Validate a row with the twin's own model; an error names the sheet, row and column."""
    try:
        return cls(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else None
        msg = first["msg"].removeprefix("Value error, ")
        value = first.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) else ""
        raise sheet.error(msg + shown, row, columns.get(name or "", name)) from None


# ------------------------------------------------------------------------------ building
@dataclass
class _Build:
    """What :func:`init_site` collects before writing."""

    site: dict[str, Any] = field(default_factory=dict)
    centre: tuple[float, float] | None = None
    centre_basis: str | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    meters: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)
    origin: dict[str, tuple[Sheet, int]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)  # normalised name -> ids


def _site(sheets: dict[str, Sheet], site_id: str, b: _Build) -> dict[str, Any]:
    """The site table and the root's attributes from the site and sources sheets."""
    sources: list[dict[str, Any]] = []
    if "sources" in sheets:
        sh = sheets["sources"]
        cols = _columns(sh, ("id", "citation", "confidence"))
        for need in ("id", "citation"):
            if need not in cols.fields:
                raise sh.error(f"no {FIELDS[need][0]} ({need}) column")
        for i, r in sh.frame.iterrows():
            row = int(str(i))
            conf_text = r[cols.fields["confidence"]] if "confidence" in cols.fields else ""
            conf = _lookup(conf_text, _CONFIDENCE) if conf_text else "medium"
            if conf is None:
                raise sh.error(f"confidence {conf_text!r}: one of 高/中/低/假设 "
                               "(high/medium/low/assumption)", row, cols.fields["confidence"])
            raw = {"id": r[cols.fields["id"]], "citation": r[cols.fields["citation"]],
                   "confidence": conf}
            sources.append(_model(sh, row, SourceRef, raw, cols.fields).model_dump())
    source_ids = [s["id"] for s in sources]

    site: dict[str, Any] = {"id": site_id, "region": "CN-SH", "timezone": "Asia/Shanghai"}
    facts: dict[str, Any] = {}
    fact_sources: dict[str, str] = {}
    root_attrs: dict[str, Any] = {}
    root_est: dict[str, str] = {}
    notes: list[str] = []
    rows: dict[str, int] = {}  # identity key -> its row
    if "site" not in sheets:
        raise SiteSourceError(next(iter(sheets.values())).path if sheets else Path("."),
                              f"no site sheet ({', '.join(SHEETS['site'])}) with the "
                              "community's name and facts")
    sh = sheets["site"]
    cols = _columns(sh, ("key", "value", "unit", "source", "estimated", "notes"))
    for need in ("key", "value"):
        if need not in cols.fields:
            raise sh.error(f"no {FIELDS[need][0]} ({need}) column")
    for i, r in sh.frame.iterrows():
        row = int(str(i))

        def get(name: str, r: pd.Series = r) -> str:
            return r[cols.fields[name]].strip() if name in cols.fields else ""

        key_text, value = get("key"), get("value")
        key = _lookup(key_text, SITE_KEYS)
        if key is None:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key_text):
                raise sh.error(f"unknown item {key_text!r}; known: "
                               f"{', '.join(n[0] for n in SITE_KEYS.values())} (or an English "
                               "snake_case fact name)", row, cols.fields["key"])
            key = key_text
        if not value:
            raise sh.error(f"{key_text}: no value", row, cols.fields["value"])
        source, basis, note = get("source"), get("estimated"), get("notes")
        if key in _IDENTITY:
            site[key] = value
            rows[key] = row
            continue
        if key in ("center_lon", "center_lat"):
            try:
                number = float(value)
            except ValueError:
                raise sh.error(f"{key_text}: expected degrees, got {value!r}", row,
                               cols.fields["value"]) from None
            lon, lat = b.centre or (math.nan, math.nan)
            b.centre = (number, lat) if key == "center_lon" else (lon, number)
            if basis or source:
                b.centre_basis = basis or f"source {source}"
            continue
        if not source and not basis:
            raise sh.error(f"{key_text} = {value}: a fact needs its 来源 (source) or its "
                           "估算依据 (estimate basis)", row, cols.fields["value"])
        if source and source not in source_ids:
            raise sh.error(f"unknown source {source!r}; the 来源 sheet has: "
                           f"{', '.join(source_ids) or 'no sources'}", row,
                           cols.fields.get("source"))
        unit = get("unit") or None
        header = cols.fields["value"]
        if key in ATTRIBUTES:
            parsed: Any = _attribute(sh, row, header, value, key, unit)
        elif re.fullmatch(r"[\d,，]+", value) and key != "statistical_code":
            parsed = _count(sh, row, header, value)
        else:
            try:
                parsed = float(value) if key != "statistical_code" else value
            except ValueError:
                parsed = value
        if key in _ROOT_ATTRIBUTES:
            root_attrs[key] = parsed
            if basis:
                root_est[key] = basis
        if source:
            facts[key] = parsed
            fact_sources[key] = source
        elif key not in _ROOT_ATTRIBUTES:
            notes.append(f"{key} = {value} is an estimate: {basis}.")
        if note:
            notes.append(f"{key}: {note}.")
    for need in ("name_zh",):
        if need not in site:
            raise sh.error(f"no {SITE_KEYS[need][0]} ({need}) row: the community's name")
    site.setdefault("name_en", site["id"].replace("_", " ").title())
    try:
        check_timezone(site["timezone"])
    except ValueError as exc:
        raise sh.error(f"时区 (timezone) {site['timezone']!r}: {exc}", rows.get("timezone"),
                       cols.fields["value"]) from None
    if not _ID.fullmatch(site["id"]) or "." in site["id"]:
        raise sh.error(f"site id {site['id']!r}: use lower-case letters, digits and _ "
                       "(it names the folder and the root node)", rows.get("id"))
    site = {k: site[k] for k in _IDENTITY} | {"root": site["id"]}
    site["facts"] = facts
    site["fact_sources"] = fact_sources
    site["sources"] = sources
    if notes:
        site["notes"] = " ".join(notes)
    try:
        Site(**site)
    except ValidationError as exc:  # the region code, say: name its row
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        raise sh.error(f"{name}: {first['msg'].removeprefix('Value error, ')} (got "
                       f"{first.get('input')!r})", rows.get(name), cols.fields["value"]) from None
    b.site = site
    root = {"id": site["id"], "kind": "subdistrict", "name_zh": site["name_zh"],
            "name_en": site["name_en"], "attributes": root_attrs, "estimated": root_est,
            "notes": "Root. Generated by carbon site init from the site sheet."}
    return root


def _resolve_ref(sheet: Sheet, row: int, header: str | None, text: str, b: _Build,
                 ids: dict[str, dict[str, Any]]) -> str:
    """A parent or node named by id or by Chinese name (with or without 居民区/居委会)."""
    if text in ids:
        return text
    key = _norm(text)
    hits = b.names.get(key) or b.names.get(re.sub(r"(居民区|居委会|社区)$", "", key), [])
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise sheet.error(f"{text!r} names several places ({', '.join(hits)}); use the id",
                          row, header)
    raise sheet.error(f"unknown place {text!r}: not an id or a name in the sheets read so far "
                      "(parents come before their children: 片区, 居民区, 小区 ...)", row, header)


_NODE_ORDER = ("id", "parent", "kind", "use_type", "region", "name_zh", "name_en", "attributes",
               "estimated", "notes")


def _nodes(sheets: dict[str, Sheet], b: _Build, root: dict[str, Any]) -> None:
    ids: dict[str, dict[str, Any]] = {}

    def name(node: dict[str, Any]) -> None:
        ids[node["id"]] = node
        b.nodes.append(node)
        for text in (node["name_zh"], node["id"]):
            b.names.setdefault(_norm(text), []).append(node["id"])
            short = re.sub(r"(居民区|居委会|社区)$", "", _norm(text))
            if short != _norm(text):
                b.names.setdefault(short, []).append(node["id"])

    def register(node: dict[str, Any], sheet: Sheet, row: int) -> None:
        if node["id"] in ids:
            first = b.origin.get(node["id"])
            where = f" ({first[0].where(first[1])})" if first else " (generated)"
            raise sheet.error(f"duplicate id {node['id']!r}{where}", row)
        b.origin[node["id"]] = (sheet, row)
        name(node)

    name(root)

    blocks: list[str] = []
    if "blocks" not in sheets:
        block = {
            "id": "whole_subdistrict", "parent": root["id"], "kind": "block",
            "name_zh": f"{root['name_zh']}(未分片区)",
            "name_en": f"{root['name_en']} (one block)",
            "notes": "Generated by carbon site init: the spreadsheet has no 片区 (blocks) sheet, "
            "so every place sits in this one block.",
        }
        name(block)
        blocks.append(block["id"])
    for kind_of_sheet, (kind, use, parent_names) in _NODE_SHEETS.items():
        if kind_of_sheet not in sheets:
            continue
        sh = sheets[kind_of_sheet]
        allowed = ["id", "name_zh", "name_en", "use_type", "estimated", "notes", "attributes"]
        if kind != "block":
            allowed.append("parent")
        names = parent_names or FIELDS["parent"]
        cols = _columns(sh, allowed, names)
        if "name_zh" not in cols.fields:
            raise sh.error("no 名称 (name_zh) column")
        attr_names = {_norm(a): a for a in cols.attributes}
        for attr, (header, _) in cols.attributes.items():
            attr_names[_split_header(header)[0]] = attr
        for i, r in sh.frame.iterrows():
            row = int(str(i))

            def get(name: str, r: pd.Series = r, cols: _Columns = cols) -> str:
                return r[cols.fields[name]].strip() if name in cols.fields else ""

            name_zh, name_en = get("name_zh"), get("name_en")
            if not name_zh:
                raise sh.error("no 名称 (name)", row, cols.fields["name_zh"])
            node_id = get("id") or _slug(name_en)
            if not node_id:
                raise sh.error("no 编号 (id) and no 英文名 (English name) to make one from", row)
            if kind == "block":
                parent = root["id"]
            elif get("parent"):
                parent = _resolve_ref(sh, row, cols.fields.get("parent"), get("parent"), b, ids)
            elif kind in ("residential_area", "office_building", "street", "facility") and len(
                    blocks) == 1:
                parent = blocks[0]
            else:
                what = "、".join(names[:2])
                raise sh.error(f"no parent ({what}); needed here", row, cols.fields.get("parent"))
            attrs: dict[str, Any] = {}
            for attr, (header, unit) in cols.attributes.items():
                text = r[header].strip()
                if text:
                    attrs[attr] = _attribute(sh, row, header, text, attr, unit)
            est_text = get("estimated")
            present = {k: v for k, v in attr_names.items() if v in attrs}
            estimated = (_estimates(sh, row, cols.fields["estimated"], est_text, present)
                         if est_text else {})
            raw: dict[str, Any] = {
                "id": node_id, "parent": parent, "kind": kind, "name_zh": name_zh,
                "name_en": name_en or name_zh, "use_type": get("use_type") or use,
                "attributes": attrs, "estimated": estimated, "notes": get("notes") or None,
            }
            if not name_en:
                raw["notes"] = " ".join(filter(None, [raw["notes"], "No English name given."]))
            columns = {"parent": cols.fields.get("parent", ""), **cols.fields}
            dumped = _model(sh, row, Node, raw, columns).model_dump(exclude_none=True)
            node = {k: dumped[k] for k in _NODE_ORDER if k in dumped}
            register(node, sh, row)
            if kind == "block":
                blocks.append(node_id)
    if "blocks" in sheets and not blocks:
        raise sheets["blocks"].error("no blocks in it; leave the sheet out for one block")


def _canonical_unit(sheet: Sheet, row: int, header: str | None, activity: str,
                    measure: str) -> str:
    """The unit of a meter that gives none: its activity's canonical unit."""
    default = {"electricity": "electricity.grid", "gas": "natural_gas.combustion",
               "water": "water.supply", "heat": "heat.purchased"}[measure]
    try:
        return get_activity(activity or default).canonical_unit
    except CarbonError as exc:
        raise sheet.error(str(exc), row, header) from None


def _meters(sheets: dict[str, Sheet], b: _Build) -> None:
    if "meters" not in sheets:
        return
    sh = sheets["meters"]
    allowed = ("meter_id", "id", "node", "parent", "measure", "unit", "reading", "interval",
               "use_type", "activity", "installed", "notes")
    cols = _columns(sh, allowed)
    idc = cols.fields.get("meter_id") or cols.fields.get("id")
    nodec = cols.fields.get("node") or cols.fields.get("parent")
    for need, header in (("表号 (meter id)", idc), ("所属 (node)", nodec),
                         ("类型 (measure)", cols.fields.get("measure"))):
        if header is None:
            raise sh.error(f"no {need} column")
    assert idc is not None and nodec is not None
    ids = {n["id"]: n for n in b.nodes}
    seen: set[str] = set()
    for i, r in sh.frame.iterrows():
        row = int(str(i))

        def get(name: str, r: pd.Series = r) -> str:
            return r[cols.fields[name]].strip() if name in cols.fields else ""

        meter_id = r[idc].strip()
        if meter_id in seen:
            raise sh.error(f"duplicate meter id {meter_id!r}", row, idc)
        seen.add(meter_id)
        node = _resolve_ref(sh, row, nodec, r[nodec].strip(), b, ids)
        measure = _lookup(get("measure"), _MEASURES)
        if measure is None:
            raise sh.error(f"type {get('measure')!r}: one of 电/气/水/热 "
                           "(electricity/gas/water/heat)", row, cols.fields["measure"])
        register = measure != "electricity"
        reading = _lookup(get("reading"), _READINGS) if get("reading") else (
            "register" if register else "interval")
        if reading is None:
            raise sh.error(f"reading {get('reading')!r}: 区间 (interval) or 累计 (register)",
                           row, cols.fields["reading"])
        interval = _lookup(get("interval"), _INTERVALS) if get("interval") else (
            "1mo" if register else "1h")
        if interval is None:
            raise sh.error(f"interval {get('interval')!r}: 15分钟, 小时, 日 or 月", row,
                           cols.fields["interval"])
        use = get("use_type")
        raw: dict[str, Any] = {
            "id": meter_id, "node": node, "measure": measure,
            "activity": get("activity") or None,
            "unit": get("unit") or _canonical_unit(sh, row, cols.fields.get("activity"),
                                                   get("activity"), measure),
            "reading": reading, "interval": interval,
            "use_type": (_lookup(use, _METER_USES) or use) if use else None,
            "installed": get("installed") or None, "notes": get("notes") or None,
        }
        columns = {"id": idc, "node": nodec, **cols.fields}
        meter = _model(sh, row, Meter, raw, columns)
        b.meters.append(meter.model_dump(exclude_none=True, exclude_defaults=False))
        b.origin[meter_id] = (sh, row)


_ASSET_ORDER = ("id", "node", "kind", "name_zh", "name_en", "attributes", "estimated", "notes")


def _assets(sheets: dict[str, Sheet], b: _Build) -> None:
    if "assets" not in sheets:
        return
    sh = sheets["assets"]
    cols = _columns(sh, ("id", "name_zh", "name_en", "parent", "node", "kind", "measure",
                         "estimated", "notes", "attributes"))
    kindc = cols.fields.get("kind") or cols.fields.get("measure")  # 类型
    nodec = cols.fields.get("parent") or cols.fields.get("node")
    for need, header in (("编号 (id)", cols.fields.get("id")), ("所属 (node)", nodec),
                         ("类型 (kind)", kindc), ("名称 (name)", cols.fields.get("name_zh"))):
        if header is None:
            raise sh.error(f"no {need} column")
    assert kindc is not None and nodec is not None
    ids = {n["id"]: n for n in b.nodes}
    attr_names = {_norm(a): a for a in cols.attributes}
    for attr, (header, _) in cols.attributes.items():
        attr_names[_split_header(header)[0]] = attr
    for i, r in sh.frame.iterrows():
        row = int(str(i))

        def get(name: str, r: pd.Series = r) -> str:
            return r[cols.fields[name]].strip() if name in cols.fields else ""

        kind = _lookup(r[kindc], _ASSET_KINDS)
        if kind is None:
            raise sh.error(f"asset type {r[kindc]!r}; known: "
                           f"{', '.join(n[0] + '/' + k for k, n in _ASSET_KINDS.items())}",
                           row, kindc)
        attrs = {a: _attribute(sh, row, h, r[h].strip(), a, u)
                 for a, (h, u) in cols.attributes.items() if r[h].strip()}
        present = {k: v for k, v in attr_names.items() if v in attrs}
        est_text = get("estimated")
        raw = {
            "id": get("id"), "node": _resolve_ref(sh, row, nodec, r[nodec].strip(), b, ids),
            "kind": kind, "name_zh": get("name_zh"), "name_en": get("name_en") or get("name_zh"),
            "attributes": attrs,
            "estimated": (_estimates(sh, row, cols.fields["estimated"], est_text, present)
                          if est_text else {}),
            "notes": get("notes") or None,
        }
        if raw["id"] in ids or raw["id"] in {a["id"] for a in b.assets}:
            raise sh.error(f"duplicate id {raw['id']!r} (a node or an asset has it)", row,
                           cols.fields["id"])
        asset = _model(sh, row, Asset, raw, {"node": nodec, "kind": kindc, **cols.fields})
        dumped = asset.model_dump(exclude_none=True)
        b.assets.append({k: dumped[k] for k in _ASSET_ORDER if k in dumped})
        b.origin[asset.id] = (sh, row)


def _fill_root(b: _Build) -> None:
    """Residents of the root from its residential areas, when the site sheet gives none."""
    root = b.nodes[0]
    areas = [n for n in b.nodes if n["kind"] == "residential_area"]
    if "residents" not in root["attributes"] and areas and all(
            "residents" in n.get("attributes", {}) for n in areas):
        root["attributes"]["residents"] = sum(n["attributes"]["residents"] for n in areas)
        root["estimated"]["residents"] = (
            "sum of the residential areas' residents (carbon site init)")


def _boundary(b: _Build) -> dict[str, Any]:
    """A first boundary statement from what the twin meters (GPC v1.1 ch. 3); the exclusions
    and notation keys are left for the community to add (``carbon site check`` says so)."""
    uses: dict[str, int] = {}
    kinds = {n["id"]: n for n in b.nodes}

    def use_of(node_id: str) -> str | None:
        while node_id:
            n = kinds[node_id]
            if n.get("use_type"):
                return str(n["use_type"])
            node_id = n.get("parent", "")
        return None

    for m in b.meters:
        use = "ebike" if m.get("use_type") == "ebike" else (
            "water" if m["measure"] == "water" else use_of(m["node"]) or "other")
        uses[use] = uses.get(use, 0) + 1
    included = []
    rows = [
        ("residential", "Residential buildings (metered)", "居住建筑(计量)", ["I.1"]),
        ("office", "Office buildings (metered)", "商务楼宇(计量)", ["I.2"]),
        ("retail", "Street-front shops (metered)", "沿街商铺(计量)", ["I.2"]),
        ("public", "Public facilities (metered)", "公共设施(计量)", ["I.2"]),
        ("ebike", "Centralised e-bike charging", "电动自行车集中充电", ["II.1.2"]),
        ("water", "Tap water supplied to the metered places", "计量场所的自来水供应", ["VI.1"]),
    ]
    for use, what, what_zh, gpc in rows:
        if uses.get(use):
            included.append({"what": what, "what_zh": what_zh, "gpc": gpc,
                             "basis": f"{uses[use]} meter(s) in meters.toml"})
    site = b.site
    area = b.nodes[0]["attributes"].get("area")
    return {
        "statement": (
            f"The administrative area of {site['name_en']} ({site['name_zh']}"
            + (f", {area}" if area else "") + "). The inventory covers the places in the twin "
            "and the meters in meters.toml. Written by carbon site init from the community's "
            "spreadsheet: sources inside the area that are not metered are not yet listed as "
            "excluded, and no notation keys are given (GPC v1.1 ch. 3); add them."
        ),
        "included": included,
    }


# ------------------------------------------------------------------------------ geometry
def _rect_split(rect: tuple[float, ...], n: int) -> list[tuple[float, ...]]:
    """``n`` cells of a grid inside ``rect`` (x0, y0, x1, y1), row by row from the top."""
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    cols = max(1, math.ceil(math.sqrt(n * w / h))) if h > 0 else n
    rows = math.ceil(n / cols)
    cw, ch = w / cols, h / rows
    cells: list[tuple[float, ...]] = []
    for i in range(n):
        c, r = i % cols, i // cols
        cx0, cy1 = x0 + c * cw, y1 - r * ch
        pad_x, pad_y = cw * 0.06, ch * 0.06
        cells.append((cx0 + pad_x, cy1 - ch + pad_y, cx0 + cw - pad_x, cy1 - pad_y))
    return cells


def schematic_geometry(nodes: Sequence[dict[str, Any]], centre: tuple[float, float],
                       area_m2: float, name: str) -> dict[str, Any]:
    """A schematic map of a twin's tree: a grid layout, not a survey.

    Parameters
    ----------
    nodes : the twin's nodes as written in ``nodes.toml`` (``id``, ``parent``, ``kind``),
        parents before children, the root first.
    centre : (longitude, latitude) of the subdistrict [degree].
    area_m2 : the subdistrict's area [m2]: the root is a square of this area.
    name : the collection's name (say it is schematic).

    Returns
    -------
    dict
        A GeoJSON FeatureCollection: one feature per node (polygons; facilities as points,
        street frontages as lines), each with ``properties.id`` and ``"schematic": true``.
    """
    lon0, lat0 = centre
    m_per_deg_lat = 110_540.0  # WGS84 mean, to a few parts per thousand: enough for a sketch
    m_per_deg_lon = 111_320.0 * math.cos(math.radians(lat0))

    def lonlat(x: float, y: float) -> list[float]:
        return [round(lon0 + x / m_per_deg_lon, 6), round(lat0 + y / m_per_deg_lat, 6)]

    children: dict[str, list[dict[str, Any]]] = {}
    for n in nodes[1:]:
        children.setdefault(n["parent"], []).append(n)
    half = math.sqrt(area_m2) / 2
    features: list[dict[str, Any]] = []

    def draw(node: dict[str, Any], rect: tuple[float, ...]) -> None:
        x0, y0, x1, y1 = rect
        if node["kind"] == "facility":
            geom: dict[str, Any] = {"type": "Point", "coordinates": lonlat((x0 + x1) / 2,
                                                                          (y0 + y1) / 2)}
        elif node["kind"] == "street":
            y = (y0 + y1) / 2
            geom = {"type": "LineString", "coordinates": [lonlat(x0, y), lonlat(x1, y)]}
        else:
            ring = [lonlat(x0, y0), lonlat(x1, y0), lonlat(x1, y1), lonlat(x0, y1),
                    lonlat(x0, y0)]
            geom = {"type": "Polygon", "coordinates": [ring]}
        features.append({"type": "Feature", "properties": {"id": node["id"], "schematic": True},
                         "geometry": geom})
        kids = children.get(node["id"], [])
        if kids and node["kind"] not in ("facility", "street"):
            pad_x, pad_y = (x1 - x0) * 0.03, (y1 - y0) * 0.03
            inner = (x0 + pad_x, y0 + pad_y, x1 - pad_x, y1 - pad_y)
            for kid, cell in zip(kids, _rect_split(inner, len(kids)), strict=True):
                draw(kid, cell)

    draw(nodes[0], (-half, -half, half, half))
    return {"type": "FeatureCollection", "name": name, "features": features}


# ------------------------------------------------------------------------------ writing
def _kv(key: str, value: Any) -> str:
    return tomli_w.dumps({key: value}).strip()


def _entries(table: str, entries: Sequence[dict[str, Any]], header: str) -> str:
    """``[[table]]`` entries, attribute tables inline (tomli-w formats every value)."""
    blocks = []
    for e in entries:
        lines = [f"[[{table}]]"]
        for k, v in e.items():
            if v is None or v == {}:
                continue
            if isinstance(v, dict):
                inner = ", ".join(_kv(kk, vv) for kk, vv in v.items())
                lines.append(f"{k} = {{ {inner} }}")
            else:
                lines.append(_kv(k, v))
        blocks.append("\n".join(lines))
    return header + "\n" + "\n\n".join(blocks) + "\n"


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in text.splitlines())


def _write(folder: Path, b: _Build, stamp: str, geometry: dict[str, Any]) -> None:
    site_doc = {"site": b.site, "boundary": _boundary(b)}
    intro = (f"{b.site['name_zh']} ({b.site['name_en']}): written by `carbon site init` from "
             f"{stamp}.\nEstimates say so in each entry's `estimated` table, with their basis. "
             "Edit freely;\n`carbon site check` reports what is missing and what is estimated.")
    texts = {
        "site.toml": _comment(intro) + "\n" + tomli_w.dumps(site_doc),
        "nodes.toml": _entries("node", b.nodes, _comment(
            f"The site tree of {b.site['name_en']} (carbon site init from {stamp}).")),
        "meters.toml": _entries("meter", b.meters, _comment(
            f"Meters of {b.site['name_en']} (carbon site init from {stamp}).")) if b.meters
        else _comment(f"Meters of {b.site['name_en']}: none in the spreadsheet."),
        "assets.toml": _entries("asset", b.assets, _comment(
            f"Assets of {b.site['name_en']} (carbon site init from {stamp}).")) if b.assets
        else _comment(f"Assets of {b.site['name_en']}: none in the spreadsheet."),
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    head = json.dumps({k: v for k, v in geometry.items() if k != "features"},
                      ensure_ascii=False)[:-1]
    features = ",\n".join(json.dumps(f, ensure_ascii=False) for f in geometry["features"])
    (folder / "geometry.geojson").write_text(  # one feature a line: short, diffable
        f'{head}, "features": [\n{features}\n]}}\n', encoding="utf-8")


_REGISTER = """# Intervention register of {name}: none yet.
# Add [[intervention]] tables (the format: the packaged shimen_erlu/interventions.toml, and
# carbon.interventions.load_register); every date, cost and parameter needs a source or an
# assumption with its basis.
"""
_WRITTEN = ("site.toml", "nodes.toml", "meters.toml", "assets.toml", "geometry.geojson")


def init_site(name_or_folder: str | Path, source: str | Path | Sequence[str | Path], *,
              site_id: str | None = None, force: bool = False) -> Path:
    """Build a validated community folder from a subdistrict office's spreadsheet.

    Parameters
    ----------
    name_or_folder : the folder to write; a bare name (no ``/``) means ``./sites/<name>``.
        The folder's name is the site id unless the site sheet gives ``编号``.
    source : a ``.xlsx`` workbook, ``.csv`` files (one per sheet) or a folder of them; the
        sheets are described in this module's docstring.
    site_id : the community's id (default: the site sheet's ``编号``, else the folder's name);
        a site sheet that gives another one is an error.
    force : overwrite the files of an existing twin in the folder (its ``interventions.toml``
        and any other file are kept).

    Returns
    -------
    Path
        The folder, which :func:`carbon.twin.load_twin` loads.

    Raises
    ------
    SiteSourceError
        A spreadsheet problem, naming the file, the sheet and row, and the column; also a
        folder that already holds a twin (without ``force``).
    """
    text = str(name_or_folder)
    folder = Path("sites") / text if "/" not in text and "\\" not in text else Path(text)
    if (folder / "site.toml").exists() and not force:
        raise SiteSourceError(folder / "site.toml", "a twin is already here; choose another "
                              "folder, or overwrite it with force (--force)")
    files = _files(source)
    sheets = read_sheets(files)
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = ", ".join(f.name for f in files) + f" (sha256 {digest[:12]})"
    b = _Build()
    root = _site(sheets, site_id or _slug(folder.name) or "site", b)
    if site_id is not None and b.site["id"] != site_id:
        raise sheets["site"].error(f"the sheet's 编号 (id) {b.site['id']!r} is not the name "
                                   f"given, {site_id!r}")
    _nodes(sheets, b, root)
    _meters(sheets, b)
    _assets(sheets, b)
    _fill_root(b)
    area = root["attributes"].get("area")
    area_m2 = float(parse_quantity(area).to("m2").magnitude) if area else 1_000_000.0
    centre = b.centre or (121.4737, 31.2304)
    if math.isnan(centre[0]) or math.isnan(centre[1]):
        raise sheets["site"].error(
            "give both 中心经度 and 中心纬度 (centre longitude and latitude)")
    basis = (f"centre {centre[0]}, {centre[1]}: {b.centre_basis}" if b.centre and b.centre_basis
             else f"centre {centre[0]}, {centre[1]}" if b.centre
             else "no centre given: placed at central Shanghai (121.4737, 31.2304)")
    geometry = schematic_geometry(
        b.nodes, centre, area_m2,
        f"{b.site['id']} (schematic geometry written by carbon site init: a grid inside a "
        f"square of the subdistrict's area; {basis}; not surveyed)")

    if folder.resolve().parent == sites_dir().resolve():
        log.warning("%s is in the package's own sites folder: it is installed with the package; "
                    "write a user's twin elsewhere (--out)", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}.") as tmp:
        work = Path(tmp)
        _write(work, b, stamp, geometry)
        (work / "interventions.toml").write_text(_REGISTER.format(name=b.site["name_en"]),
                                                 encoding="utf-8")
        try:
            load_twin(work)
        except TwinError as exc:  # a tree problem: name the row it comes from
            sheet, row = b.origin.get(exc.entry or "", (None, None))
            if sheet is None:
                raise SiteSourceError(files[0], f"{exc.path.name}: {exc.message}",
                                      entry=exc.entry, field=exc.field) from None
            raise sheet.error(exc.message, row, exc.field) from None
        folder.mkdir(parents=True, exist_ok=True)
        for name in _WRITTEN:
            shutil.copyfile(work / name, folder / name)
        if not (folder / "interventions.toml").exists():
            shutil.copyfile(work / "interventions.toml", folder / "interventions.toml")
    log.info("wrote %s: %d nodes, %d meters, %d assets", folder, len(b.nodes), len(b.meters),
             len(b.assets))
    return folder


# ------------------------------------------------------------------------------ checking
@dataclass
class SiteReport:
    """What :func:`check_site` found in a twin.

    Attributes
    ----------
    twin : the twin checked.
    missing : what the twin lacks, as structured warnings (``code``, ``message``, ``data``).
    estimated : one row per estimated value: ``entry, kind, attribute, value, basis``.
    totals : item -> (the twin's total, the published fact or None), for the facts that the
        places must add up to.
    """

    twin: Twin
    missing: list[QualityWarning]
    estimated: pd.DataFrame
    totals: dict[str, tuple[float, Any]]

    @property
    def ok(self) -> bool:
        """True when nothing is missing (estimates are allowed: they say so)."""
        return not self.missing

    def codes(self) -> list[str]:
        """The codes of the missing items, in order."""
        return [w.code for w in self.missing]


_RANKED = ("residential_area", "compound", "office_building", "street")


def _totals(twin: Twin) -> dict[str, tuple[float, Any]]:
    facts = twin.site.facts
    kinds = [n.kind for n in twin.nodes.values()]
    out: dict[str, tuple[float, Any]] = {
        "residential_areas": (kinds.count("residential_area"), facts.get("residential_areas")),
        "office_buildings": (kinds.count("office_building"), facts.get("office_buildings")),
        "street_blocks": (kinds.count("block"), facts.get("street_blocks")),
        "residents": (twin.total("residents", "residential_area"), facts.get("residents")),
        "residents_over_60": (twin.total("residents_over_60", "residential_area"),
                              facts.get("residents_over_60")),
        "shops": (twin.total("shops"), facts.get("shops", facts.get("shops_at_least"))),
    }
    return out


def _under(twin: Twin, node_id: str, attribute: str) -> bool:
    return any(attribute in n.attributes
               for n in [twin.node(node_id), *twin.descendants(node_id)])


def _findings(twin: Twin) -> Iterator[QualityWarning]:
    site = twin.site
    if not site.sources:
        yield QualityWarning("site.no_sources", "site.toml cites no sources ([[site.sources]])")
    for fact in site.facts:
        if fact not in site.fact_sources:
            yield QualityWarning("site.fact_unsourced", f"fact {fact!r} has no source",
                                 {"fact": fact})
    for item, (have, published) in _totals(twin).items():
        if isinstance(published, int | float) and not isinstance(published, bool) and (
                have != published) and not (item == "shops" and have >= published):
            yield QualityWarning(
                "site.fact_mismatch",
                f"{item}: the twin has {have:,.0f}, the published figure is {published:,}",
                {"item": item, "twin": have, "published": published})
    if twin.boundary is None:
        yield QualityWarning("site.no_boundary", "site.toml has no [boundary] statement "
                             "(GPC v1.1 ch. 3)")
    elif not twin.boundary.excluded and not twin.boundary.notation_keys:
        yield QualityWarning(
            "site.boundary_incomplete", "the boundary lists no excluded sources and no "
            "notation keys (GPC v1.1 ch. 3): say what in the area is not covered, and why")
    if twin.geometry is None:
        yield QualityWarning("site.no_geometry", "no geometry.geojson: the wall has no map")
    else:
        drawn = {(f.get("properties") or {}).get("id") for f in twin.geometry["features"]}
        for nid in twin.node_ids():
            if twin.nodes[nid].kind in ("block", *_RANKED) and nid not in drawn:
                yield QualityWarning("node.no_geometry", f"{nid} is not on the map",
                                     {"node": nid})
    if not twin.meters:
        yield QualityWarning("site.no_meters", "no meters: nothing to account for")
    for nid in twin.node_ids():
        node = twin.nodes[nid]
        if node.name_en == node.name_zh:
            yield QualityWarning("node.no_english_name", f"{nid} has no English name",
                                 {"node": nid})
        if node.kind in ("residential_area", "office_building", "street", "facility") and not (
                twin.meters_of(nid)):
            yield QualityWarning("node.no_meters", f"{nid} ({node.kind}) has no meter",
                                 {"node": nid})
        if node.kind in ("residential_area", "office_building", "street") and not _under(
                twin, nid, "floor_area"):
            yield QualityWarning(
                "node.no_floor_area", f"{nid} ({node.kind}) has no floor area: the wall "
                "cannot show its intensity [kg CO2e / m2]", {"node": nid})
    for meter_id in twin.meter_ids():
        try:
            expected_annual(twin, meter_id)
        except TwinError as exc:
            yield QualityWarning(
                "meter.no_synthetic_size", f"{meter_id}: carbon synth cannot size it "
                f"({exc.message})", {"meter": meter_id})


def check_site(name_or_folder: str | Path) -> SiteReport:
    """Report what a community twin is missing and what in it is estimated.

    Parameters
    ----------
    name_or_folder : a packaged community name or a folder (as :func:`carbon.twin.load_twin`).

    Returns
    -------
    SiteReport
        ``missing``: published facts the places do not add up to, facts without a source, no
        boundary statement or one without exclusions, places without meters, floor area,
        geometry or an English name, meters :mod:`carbon.synth` cannot size. ``estimated``:
        every attribute marked estimated, with its basis, and a schematic map.

    Raises
    ------
    TwinError
        When the twin does not load (the message names the file, the entry and the field).
    """
    twin = load_twin(name_or_folder)
    rows = [
        {"entry": e.id, "kind": getattr(e, "kind", ""), "attribute": name,
         "value": e.attributes.get(name), "basis": basis}
        for e in [*twin.nodes.values(), *twin.assets.values()]
        for name, basis in e.estimated.items()
    ]
    if twin.geometry is not None and "schematic" in str(twin.geometry.get("name", "")):
        rows.append({"entry": "geometry.geojson", "kind": "map", "attribute": "geometry",
                     "value": "schematic", "basis": str(twin.geometry["name"])})
    estimated = pd.DataFrame(rows, columns=["entry", "kind", "attribute", "value", "basis"])
    return SiteReport(twin, list(_findings(twin)), estimated, _totals(twin))

