"""Official documents built from one published snapshot, each stamped with its id.

Four documents, one public function each, all reading a :class:`carbon.snapshot.Snapshot` and
nothing else that can change (DESIGN decision 8: documents, like the wall, read snapshots):

* :func:`workbook`: a GPC reporting workbook (xlsx) shaped like the GCoM Common Reporting
  Framework (CRF) / CIRIS sheets: boundary, sector x scope matrix with notation keys, gases,
  methods, data quality, sources;
* :func:`html_report`: a bilingual (中文 / English) inventory report, one self-contained HTML file
  (inline CSS, charts as inline SVG; no CDN, DESIGN decision 9);
* :func:`pdf_report`: the same report printed by headless Chromium;
* :func:`acceptance_pack`: the Shanghai low-carbon community acceptance pack (DOCX): a
  自评价报告 with an indicator scorecard computed from the twin and the ledger, and a
  年度工作计划 draft.

Every number comes from the rules of :mod:`carbon.inventory` applied to the snapshot's entries
(one calendar year, every GPC sub-sector with a value or a notation key, totals only from their
parts, avoided and removals apart), so a document, the CLI and the wall show the same figures.

Stamp and verification
----------------------
Every document carries the snapshot id visibly (each sheet's first row, the report's header
and footer, the DOCX header) and in its metadata (xlsx/docx core property ``keywords``, the HTML
``<meta name="carbon-twin">``, the PDF title), as ``carbon-twin;snapshot=<id>;year=<y>;lang=<l>``.
Documents are deterministic: no "now" (the workbook and DOCX times are the snapshot period's
end, zip members carry that time too), so :func:`verify_document` regenerates the document from
the snapshot with the stamped year and language and compares:

* xlsx, docx, html: byte for byte; a difference names the first differing part (the zip member,
  the sheet cell or the HTML line);
* pdf: Chromium writes its own creation time and a random document id, so the PDF is compared by
  its text (``pdftotext -layout`` of both, poppler-utils), naming the first differing line.
  A PDF edit that leaves the text unchanged (an image, a colour) is not detected; the HTML is the
  byte-verifiable form of the report.

References
----------
GCoM, *Common Reporting Framework* v7 (2023) and C40, *CIRIS* (City Inventory Reporting and
Information System) sheet layout: docs/research/gpc.md §1; GPC v1.1 ch. 3-4 (boundary, notation
keys, BASIC/BASIC+), Table 5.1 (data quality H/M/L). Shanghai low-carbon community guidance:
docs/research/gpc.md §2 (发改气候〔2014〕489号; 发改办气候〔2015〕362号; 沪环气〔2021〕182号;
沪环气〔2022〕27号).
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from carbon.audit import VerifyResult
from carbon.errors import CarbonError
from carbon.gpc import NOTATION_KEYS, REFS
from carbon.inventory import (
    Intensity,
    gpc_inventory,
    intensity,
    memo_items,
)
from carbon.snapshot import Snapshot, load_snapshot

__all__ = [
    "FORMATS",
    "DocumentCheck",
    "Indicator",
    "ReportError",
    "acceptance_pack",
    "build_document",
    "html_report",
    "pdf_report",
    "scorecard",
    "verify_document",
    "workbook",
]

FORMATS = ("xlsx", "html", "pdf", "docx")
"""The document formats of ``carbon report``."""

LANGS = ("zh", "en")

CHROMIUM = os.environ.get("CARBON_CHROMIUM", "/usr/bin/chromium")
"""Headless Chromium that prints the PDF (Debian package ``chromium``; ``make browser``)."""

_CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--no-first-run", "--no-pdf-header-footer")


class ReportError(CarbonError, ValueError):
    """A document that cannot be built or read (one line)."""


# ------------------------------------------------------------------------------ the facts
@dataclass
class _Facts:
    """Everything a document shows, read once from the snapshot."""

    snapshot: Snapshot
    year: int
    lang: str
    entries: pd.DataFrame = field(repr=False)

    @property
    def id(self) -> str:
        return self.snapshot.id

    @property
    def manifest(self) -> dict[str, Any]:
        return self.snapshot.manifest

    @property
    def root(self) -> str:
        return str(self.manifest.get("twin", {}).get("name", ""))

    @cached_property
    def table(self) -> pd.DataFrame:
        return gpc_inventory(self.entries, self.snapshot, self.year, "location")

    @cached_property
    def market(self) -> pd.DataFrame:
        return gpc_inventory(self.entries, self.snapshot, self.year, "market")

    @cached_property
    def totals(self) -> dict[str, Any]:
        return dict((self.manifest.get("totals_t") or {}).get(str(self.year)) or {})

    @cached_property
    def memo(self) -> pd.DataFrame:
        return memo_items(self.entries, self.year)

    @cached_property
    def intensity(self) -> Intensity:
        return intensity(self.entries, self.snapshot, self.year, "location")

    @cached_property
    def factors(self) -> pd.DataFrame:
        return self.snapshot.table("factors")

    @cached_property
    def nodes(self) -> pd.DataFrame:
        return self.snapshot.table("nodes")

    @cached_property
    def meters(self) -> pd.DataFrame:
        return self.snapshot.table("meters")

    def site_name(self, lang: str) -> str:
        """The community's name (its root node's) in ``zh`` or ``en``."""
        root = self.nodes[self.nodes["id"] == self.root]
        column = "name_zh" if lang == "zh" else "name_en"
        return str(root[column].iloc[0]) if len(root) else self.root

    @cached_property
    def interventions(self) -> pd.DataFrame:
        if not self.snapshot.has("interventions.csv"):
            return pd.DataFrame()
        return self.snapshot.table("interventions")

    @cached_property
    def methods(self) -> pd.DataFrame:
        """Per GPC row of the year: activity, unit, amount and the factors applied."""
        e = self.year_entries
        e = e[e["kind"].isin(["emission", "adjustment"]) & (e["method"] != "market")]
        if not len(e):
            return pd.DataFrame(columns=["gpc_ref", "activity", "unit", "amount", "factor_id"])
        g = e.assign(amount=e["amount"].astype(float)).groupby(
            ["gpc_ref", "activity", "unit", "factor_id"], as_index=False
        )["amount"].sum()
        return g.sort_values(["gpc_ref", "activity", "factor_id"]).reset_index(drop=True)

    @cached_property
    def year_entries(self) -> pd.DataFrame:
        starts = pd.to_datetime(self.entries["period_start"])
        return self.entries[starts.dt.year == self.year]

    @property
    def when(self) -> dt.datetime:
        """The documents' fixed time: the end of the snapshot's period (no "now")."""
        end = (self.manifest.get("period") or {}).get("end") or "1980-01-01"
        return dt.datetime.fromisoformat(str(end)).replace(tzinfo=None)

    @property
    def synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic_inputs"))

    @property
    def boundary(self) -> dict[str, Any]:
        return dict(self.manifest.get("boundary") or {})

    def stamp(self, fmt: str) -> str:
        return f"carbon-twin;format={fmt};snapshot={self.id};year={self.year};lang={self.lang}"

    def label(self, method: str = "location") -> str:
        complete = self.totals.get(f"BASIC_complete_{method}", True)
        return "BASIC" if complete else "BASIC (incomplete)"

    def t(self, zh: str, en: str) -> str:
        """A bilingual label, the chosen language first."""
        return f"{zh} / {en}" if self.lang == "zh" else f"{en} / {zh}"


def _facts(snapshot: Snapshot | str | Path, year: int | None, lang: str = "zh") -> _Facts:
    snap = snapshot if isinstance(snapshot, Snapshot) else load_snapshot(snapshot)
    years = sorted(int(y) for y in (snap.manifest.get("totals_t") or {}))
    if not years:
        raise ReportError(f"snapshot {snap.id} has no calendar-year totals (totals_t)")
    if year is None:
        year = years[-1]
    if int(year) not in years:
        raise ReportError(
            f"snapshot {snap.id} has no inventory for {year}; its years are "
            + ", ".join(map(str, years))
        )
    if lang not in LANGS:
        raise ReportError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    return _Facts(snap, int(year), lang, snap.entries())


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, str):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _cell(row: pd.Series, column: str = "co2e_t") -> Any:
    """A table value, or the row's notation key where it has none."""
    value = row[column]
    if isinstance(value, str) and value:
        return value
    number = _num(value)
    if number is None:
        return row["notation_key"] or "NE"
    return round(number, 6)


def _fmt(value: Any, digits: int = 1) -> str:
    number = _num(value)
    if number is None:
        return str(value) if value not in (None, "") else "–"
    return f"{number:,.{digits}f}"


# --------------------------------------------------------------------------------- zip
_CORE_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _fix_zip(path: Path, when: dt.datetime) -> None:
    """Rewrite an OOXML zip with fixed member times and fixed core-property times, so the
    same snapshot gives the same bytes (openpyxl stamps ``modified`` with now)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name, data in members:
            if name == "docProps/core.xml":
                data = _CORE_TIMES.sub(lambda m: m.group(1) + stamp + m.group(3), data)
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, data)
    path.write_bytes(buf.getvalue())


# ------------------------------------------------------------------------------- workbook
_SCOPES = (1, 2, 3)


def _matrix(f: _Facts) -> list[list[Any]]:
    """The CRF/CIRIS sector x scope matrix: one line per sub-sector (I.4.4 apart), a value
    [t CO2e] or a notation key in each scope's cell, '' where the GPC has no such row."""
    table = f.table
    lines: list[list[Any]] = []
    seen: list[str] = []
    for ref in REFS.values():
        key = "I.4.4" if ref.ref == "I.4.4" else ref.subsector
        if key not in seen:
            seen.append(key)
    for key in seen:
        rows = table[(table["gpc_ref"] == key) if key == "I.4.4" else
                     ((table["subsector"] == key) & (table["gpc_ref"] != "I.4.4"))]
        first = REFS[rows.iloc[0]["gpc_ref"]]
        name_en = first.name_en.split(":")[0] if key != "I.4.4" else first.name_en
        name_zh = first.name_zh.split(":")[0] if key != "I.4.4" else first.name_zh
        cells: list[Any] = []
        for scope in _SCOPES:
            hit = rows[rows["scope"] == scope]
            cells.append(_cell(hit.iloc[0]) if len(hit) else "")
        lines.append([key, name_zh, name_en, *cells])
    return lines


def _sheet(wb: Any, title: str, f: _Facts, heading: str, header: list[str],
           rows: list[list[Any]], widths: list[int] | None = None) -> Any:
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(title)
    ws.append([f.t("快照", "Snapshot"), f.id, f.t("年份", "Year"), f.year])
    ws.append([heading])
    ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(row)
    ws["A1"].font = Font(bold=True)
    ws["B1"].font = Font(bold=True, color="B00000")
    ws["A2"].font = Font(bold=True, size=13)
    fill = PatternFill("solid", fgColor="DDE7F0")
    for cell in ws[4]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, width in enumerate(widths or [], start=1):
        ws.column_dimensions[ws.cell(row=4, column=i).column_letter].width = width
    ws.freeze_panes = "A5"
    ws.oddFooter.center.text = f"carbon-twin snapshot {f.id}"
    return ws


def _write_workbook(f: _Facts, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    m = f.manifest
    totals = f.totals
    # 1. cover (CRF "general information")
    cover = [
        [f.t("社区", "Community"), m.get("twin", {}).get("name", ""),
         f.boundary.get("statement_zh") or "", f.boundary.get("statement") or ""],
        [f.t("清单年份", "Inventory year"), f.year, "", ""],
        [f.t("核算期", "Ledger period"), f"{m['period']['start']} .. {m['period']['end']}", "", ""],
        [f.t("因子集", "Factor set"), m.get("factor_set", {}).get("name", ""),
         "GWP " + str(m.get("factor_set", {}).get("gwp", "")), ""],
        [f.t("合成数据", "Synthetic inputs"), "YES" if f.synthetic else "no",
         "演示数据,非真实计量" if f.synthetic else "", "demo data, not real meters"
         if f.synthetic else ""],
    ]
    for method in ("location", "market"):
        for name in ("BASIC", "BASIC+", "territorial", "scope2"):
            value = totals.get(f"{name}_{method}")
            label = name
            if name in ("BASIC", "BASIC+") and not totals.get(f"BASIC_complete_{method}", True):
                label = f"{name} (incomplete)"
            cover.append([f"{label} [{method}] t CO2e", value, "", ""])
    incomplete = totals.get("BASIC_incomplete_rows_location") or []
    cover.append([f.t("BASIC 未估算行", "BASIC rows keyed NE"), ", ".join(incomplete), "", ""])
    for key, (meaning, text) in NOTATION_KEYS.items():
        cover.append([key, meaning, text, ""])
    _sheet(wb, "Cover", f, f.t("GPC 温室气体清单报告表", "GPC inventory reporting workbook"),
           [f.t("项目", "Item"), f.t("值", "Value"), "", ""], cover, [34, 40, 60, 60])
    # 2. boundary
    b = f.boundary
    rows = [["statement", "", b.get("statement_zh") or "", b.get("statement") or "", ""]]
    for kind in ("included", "excluded"):
        for item in b.get(kind) or []:
            rows.append([kind, ", ".join(item.get("gpc") or []), item.get("what_zh") or "",
                         item.get("what") or "", item.get("basis") or item.get("why") or ""])
    _sheet(wb, "Boundary", f, f.t("清单边界", "Inventory boundary (GPC v1.1 ch. 3)"),
           [f.t("类别", "Kind"), "GPC", "中文", "English", f.t("依据/原因", "Basis / why")],
           rows, [12, 18, 50, 60, 60])
    # 3. sector x scope matrix
    matrix = _matrix(f)
    for method in ("location", "market"):
        label = f.label(method)
        matrix.append([f"{label} [{method}]", "", "", totals.get(f"BASIC_{method}"), "", ""])
    matrix.append(["BASIC+ [location]", "", "", totals.get("BASIC+_location"), "", ""])
    _sheet(wb, "Sector x scope", f,
           f.t("部门 × 范围 (t CO2e, 基于位置)", "Sector x scope (t CO2e, location-based)"),
           ["GPC", "部门", "Sub-sector", "Scope 1", "Scope 2", "Scope 3"], matrix,
           [10, 24, 50, 16, 16, 16])
    # 4. GPC table with gases
    t = f.table
    gases = [
        [r["gpc_ref"], r["name_zh"], r["name_en"], int(r["scope"]), r["level"], _cell(r),
         _cell(r, "co2_t"), _cell(r, "ch4_t"), _cell(r, "n2o_t"), _cell(r, "biogenic_co2_t"),
         r["notation_key"], r["explanation"]]
        for _, r in t.iterrows()
    ]
    _sheet(wb, "Gases", f, f.t("分气体排放 (t)", "Emissions by gas (t), GWP "
                               + str(m.get("factor_set", {}).get("gwp", ""))),
           ["GPC", "名称", "Name", "Scope", "Level", "CO2e t", "CO2 t", "CH4 t", "N2O t",
            "biogenic CO2 t", "Key", "Explanation"], gases,
           [9, 26, 44, 7, 10, 14, 14, 12, 12, 14, 6, 60])
    # 5. methods
    mrows = []
    citation = dict(zip(f.factors["factor_id"], f.factors["citation"], strict=False))
    for _, r in f.methods.iterrows():
        mrows.append([r["gpc_ref"], r["activity"], round(float(r["amount"]), 3), r["unit"],
                      r["factor_id"], citation.get(r["factor_id"], "")])
    _sheet(wb, "Methods", f, f.t("方法:活动数据 × 排放因子", "Methods: activity x factor"),
           ["GPC", "Activity", "Amount", "Unit", "Factor", "Source"], mrows,
           [9, 30, 16, 8, 36, 90])
    # 6. data quality
    dq = [[r["gpc_ref"], r["data_quality"], _num(r["completeness"]), int(r["entries"]),
           "synthetic" if f.synthetic and int(r["entries"]) else ""]
          for _, r in t.iterrows() if int(r["entries"])]
    for w in m.get("warnings") or []:
        dq.append(["warning", w.get("code", ""), None, None, w.get("message", "")])
    _sheet(wb, "Data quality", f,
           f.t("数据质量 (活动数据/因子, H/M/L)",
               "Data quality (activity / factor, GPC Table 5.1)"),
           ["GPC", "DQ activity/factor", "Completeness", "Entries", "Note"], dq,
           [10, 20, 14, 10, 80])
    # 7. sources
    cols = [c for c in ("factor_id", "activity", "region", "valid_from", "valid_to", "method",
                        "value_as_published", "co2e_per_unit", "unit", "confidence",
                        "citation", "url", "file") if c in f.factors.columns]
    _sheet(wb, "Sources", f, f.t("排放因子来源", "Emission factor sources"), cols,
           f.factors[cols].values.tolist(), [30, 24, 8, 12, 12, 9, 24, 10, 12, 10, 90, 40, 22])
    # 8. memo items
    memo = [[r["kind"], r["basis"], r["intervention_id"], r["node_id"], r["gpc_ref"],
             r["method"], round(float(r["co2e_t"]), 6)] for _, r in f.memo.iterrows()]
    _sheet(wb, "Memo items", f,
           f.t("备忘项:减排量与碳汇(不计入清单)", "Memo: avoided and removals (not in totals)"),
           ["Kind", "Basis", "Intervention", "Node", "GPC", "Method", "CO2e t"], memo,
           [10, 10, 30, 30, 10, 10, 14])
    props = wb.properties
    props.creator = "carbon-twin"
    props.lastModifiedBy = "carbon-twin"
    props.title = f"GPC inventory {f.year}, snapshot {f.id}"
    props.keywords = f.stamp("xlsx")
    props.identifier = f.id
    props.created = f.when
    props.modified = f.when
    wb.save(path)
    _fix_zip(path, f.when)


def workbook(snapshot: Snapshot | str | Path, path: str | Path, year: int | None = None,
             lang: str = "zh") -> Path:
    """Write the GPC reporting workbook (xlsx) of one calendar year of a snapshot.

    Sheets, as in the GCoM CRF / CIRIS: Cover (totals, BASIC labelled incomplete while a
    BASIC row is NE, notation keys), Boundary, Sector x scope (value or key per cell), Gases,
    Methods, Data quality, Sources (factors with citations), Memo items (avoided, removals).
    The snapshot id is in the first row of every sheet and in the ``keywords`` property.

    Parameters
    ----------
    snapshot : a snapshot or its folder.
    path : the xlsx to write.
    year : the calendar year; default the snapshot's last.
    lang : label order, ``zh`` (中文 first) or ``en``.

    Returns
    -------
    pathlib.Path
        ``path``; the same snapshot and arguments give the same bytes.
    """
    f = _facts(snapshot, year, lang)
    out = Path(path)
    _write_workbook(f, out)
    return out


# ----------------------------------------------------------------------------- the report
_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif;
       font-size: 10pt; color: #1a1a1a; line-height: 1.45; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; border-bottom: 1.5px solid #2f5d8a; padding-bottom: 1mm; margin-top: 7mm;
     break-after: avoid; }
.alt { color: #555; font-weight: normal; font-size: 0.85em; }
.stamp { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; color: #8a1c1c; }
.warn { background: #fff4d6; border-left: 4px solid #d9a400; padding: 2mm 3mm; margin: 3mm 0; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 4mm; font-size: 8.5pt; }
th, td { border: 0.5px solid #9aa7b4; padding: 0.8mm 1.5mm; vertical-align: top; text-align: left; }
th { background: #dde7f0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.key { text-align: center; color: #6b6b6b; }
tr { break-inside: avoid; }
.totals td.n { font-weight: bold; }
footer { margin-top: 8mm; border-top: 1px solid #9aa7b4; padding-top: 2mm; font-size: 8pt; }
svg text { font-family: "Noto Sans CJK SC", sans-serif; }
"""


def _esc(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value))


def _h(f: _Facts, zh: str, en: str) -> str:
    first, second = (zh, en) if f.lang == "zh" else (en, zh)
    return f"{_esc(first)} <span class=\"alt\">{_esc(second)}</span>"


def _table(header: list[str], rows: list[list[Any]], numeric: set[int] | None = None,
           css: str = "") -> str:
    numeric = numeric or set()
    out = [f"<table class=\"{css}\"><thead><tr>"
           + "".join(f"<th>{h}</th>" for h in header) + "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for i, v in enumerate(row):
            number = _num(v) if i in numeric else None
            if number is not None:
                digits = 3 if 0 < abs(number) < 10 else 1  # small gas masses stay visible
                cells.append(f"<td class=\"n\">{_fmt(number, digits)}</td>")
            elif i in numeric:
                cells.append(f"<td class=\"key\">{_esc(v)}</td>")
            else:
                cells.append(f"<td>{_esc(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _bar_chart(f: _Facts, bars: list[tuple[str, float]], title: str, unit: str) -> str:
    """A horizontal bar chart as inline SVG (no script, no font download)."""
    if not bars:
        return ""
    width, label_w, row_h = 680, 300, 22
    height = 30 + row_h * len(bars)
    top = max(v for _, v in bars) or 1.0
    parts = [f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" "
             f"viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{_esc(title)}\">",
             f"<text x=\"0\" y=\"14\" font-size=\"12\" font-weight=\"bold\">{_esc(title)}</text>"]
    for i, (label, value) in enumerate(bars):
        y = 24 + i * row_h
        w = (width - label_w - 90) * value / top
        parts.append(f"<text x=\"{label_w - 6}\" y=\"{y + 14}\" font-size=\"10\" "
                     f"text-anchor=\"end\">{_esc(label)}</text>")
        parts.append(f"<rect x=\"{label_w}\" y=\"{y + 3}\" width=\"{w:.1f}\" "
                     f"height=\"{row_h - 6}\" fill=\"#2f5d8a\"/>")
        parts.append(f"<text x=\"{label_w + w + 4:.1f}\" y=\"{y + 14}\" font-size=\"10\">"
                     f"{_fmt(value)} {_esc(unit)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _subsector_bars(f: _Facts) -> list[tuple[str, float]]:
    t = f.table
    t = t[t["notation_key"].fillna("") == ""]
    t = t.assign(v=[_num(v) or 0.0 for v in t["co2e_t"]])
    t = t[t["level"].isin(["basic", "basic+"])]
    g = t.groupby("subsector", sort=False)["v"].sum()
    bars = []
    for sub, value in g.items():
        if value <= 0:
            continue
        ref = next(r for r in REFS.values() if r.subsector == sub)
        name = ref.name_zh.split(":")[0] if f.lang == "zh" else ref.name_en.split(":")[0]
        bars.append((f"{sub} {name}"[:44], float(value)))
    return bars


def _monthly_bars(f: _Facts) -> list[tuple[str, float]]:
    e = f.year_entries
    e = e[e["kind"].isin(["emission", "adjustment"]) & (e["method"] != "market")]
    e = e[e["gpc_ref"].map(lambda r: REFS[r].level == "basic" if r in REFS else False)]
    if not len(e):
        return []
    month = pd.to_datetime(e["period_start"]).dt.strftime("%Y-%m")
    g = e.assign(v=e["co2e_kg"].astype(float) / 1000.0, m=month).groupby("m")["v"].sum()
    return [(str(k), float(v)) for k, v in g.sort_index().items()]


def _policy(f: _Facts) -> str:
    m = f.manifest
    policy = m.get("recalculation") or m.get("policy")
    target = m.get("target") or {}
    lines = []
    if isinstance(policy, dict):
        for k, v in sorted(policy.items()):
            lines.append(f"<li>{_esc(k)}: {_esc(v)}</li>")
    else:
        lines.append("<li>" + _h(f, "快照未记录基准年重算政策(重算阈值)。",
                                 "No recalculation policy (significance threshold) is recorded "
                                 "in the snapshot.") + "</li>")
    if target:
        lines.append("<li>" + _h(
            f, f"目标:以 {target.get('base_year')} 年为基准年,至 {target.get('target_year')} "
            f"年减排 {float(target.get('reduction', 0)) * 100:.0f}%。",
            f"Target: {float(target.get('reduction', 0)) * 100:.0f}% below base year "
            f"{target.get('base_year')} by {target.get('target_year')}.")
            + f" <span class=\"alt\">{_esc(target.get('basis', ''))}</span></li>")
    return "<ul>" + "".join(lines) + "</ul>"


def _uncertainty(f: _Facts) -> str:
    m = f.manifest
    pct = {k: v for k, v in f.totals.items() if "uncertainty_pct" in k and _num(v) is not None}
    if pct:  # IPCC 2006 Vol. 1 Ch. 3 Approach 1, from carbon.inventory (manifest totals_t)
        rows = [[k, f"± {float(v):.1f} %"] for k, v in sorted(pct.items())]
        return ("<p>" + _h(f, "清单不确定性(IPCC 2006 第1卷第3章 方法1,95% 置信区间):",
                           "Inventory uncertainty (IPCC 2006 Vol. 1 Ch. 3, Approach 1, 95 %):")
                + "</p>" + _table(["", ""], rows))
    u = m.get("uncertainty")
    if isinstance(u, dict) and u:
        rows = [[k, v] for k, v in sorted(u.items())]
        return _table(["", ""], rows)
    text = _h(f, "未估算:本快照没有清单不确定性(IPCC 2006 第1卷第3章 方法1)。",
              "Not estimated: the snapshot carries no inventory uncertainty (IPCC 2006 Vol. 1 "
              "Ch. 3, Approach 1).")
    ver = [[v.get("intervention"), _fmt(v.get("avoided_kwh")), _fmt(v.get("uncertainty_kwh")),
            _fmt(v.get("cvrmse"), 4)] for v in m.get("verifications") or []]
    extra = ""
    if ver:
        extra = ("<p>" + _h(f, "节能量测量与验证(M&V)的不确定性(备忘项):",
                            "Measured savings (M&V) uncertainty (memo items):") + "</p>"
                 + _table(["intervention", "avoided kWh", "± kWh (90 %)", "CV(RMSE)"], ver,
                          {1, 2, 3}))
    return f"<p>{text}</p>{extra}"


def _html(f: _Facts) -> str:
    m = f.manifest
    totals = f.totals
    b = f.boundary
    title_zh = f"{f.site_name('zh')} {f.year} 年温室气体清单报告"
    title_en = f"{f.site_name('en')} GHG inventory report {f.year}"
    stamp = f.stamp("html")
    s: list[str] = []
    s.append("<!DOCTYPE html><html lang=\"" + ("zh-CN" if f.lang == "zh" else "en") + "\">"
             "<head><meta charset=\"utf-8\">"
             f"<meta name=\"carbon-twin\" content=\"{_esc(stamp)}\">"
             f"<title>{_esc(title_zh if f.lang == 'zh' else title_en)} [{_esc(stamp)}]</title>"
             f"<style>{_CSS}@page {{ @bottom-center {{ content: \"{_esc(f.id)} · \" "
             "counter(page) \" / \" counter(pages); font-size: 7pt; color: #8a1c1c; } }"
             "</style></head><body>")
    s.append(f"<header><h1>{_h(f, title_zh, title_en)}</h1>"
             f"<div class=\"stamp\">snapshot {_esc(f.id)} · year {f.year} · "
             f"period {_esc(m['period']['start'])} .. {_esc(m['period']['end'])} · "
             f"factor set {_esc(m.get('factor_set', {}).get('name'))} "
             f"(GWP {_esc(m.get('factor_set', {}).get('gwp'))})</div></header>")
    if f.synthetic:
        s.append("<div class=\"warn\">" + _h(
            f, "演示数据:本清单的输入为合成数据(carbon synth),不是真实计量。",
            "Demo data: the inputs of this inventory are synthetic (carbon synth), not real "
            "meters.") + "</div>")
    months = f.intensity.months
    if months < 12:
        s.append("<div class=\"warn\">" + _h(
            f, f"本年仅有 {months} 个月的数据;下列合计为这些月份之和,未年化。",
            f"The year has {months} month(s) of entries; the totals below are their sum, "
            "not annualised.") + "</div>")
    # 1 totals
    s.append(f"<h2>1. {_h(f, '清单合计', 'Totals')}</h2>")
    rows = []
    for name in ("BASIC", "BASIC+", "territorial", "scope2"):
        label = name
        if name in ("BASIC", "BASIC+") and not totals.get("BASIC_complete_location", True):
            label += " (incomplete / 不完整)"
        rows.append([label, totals.get(f"{name}_location"), totals.get(f"{name}_market")])
    s.append(_table(["", _h(f, "基于位置 t CO2e", "location-based t CO2e"),
                     _h(f, "基于市场 t CO2e", "market-based t CO2e")], rows, {1, 2}, "totals"))
    ne = totals.get("BASIC_incomplete_rows_location") or []
    if ne:
        s.append("<p>" + _h(f, "BASIC 中未估算(NE)的行:", "BASIC rows not estimated (NE):")
                 + " " + _esc(", ".join(ne)) + "</p>")
    it = f.intensity
    s.append(_table(
        [_h(f, "强度指标(年化)", "Intensity (annualised)"), _h(f, "数值", "value"), ""],
        [[_h(f, "人均(居住建筑 I.1)", "per resident (residential I.1)"),
          it.per_resident_t, "t CO2e / person / a"],
         [_h(f, "服务人口人均 BASIC", "BASIC per service population"),
          it.per_service_population_t, "t CO2e / person / a"],
         [_h(f, "单位建筑面积(固定能源)", "stationary energy per floor area"),
          it.per_m2_kg, "kg CO2e / m2 / a"]], {1}).replace("&lt;span class=&quot;alt&quot;&gt;",
                                                           "<span class=\"alt\">")
             .replace("&lt;/span&gt;", "</span>"))
    s.append(_bar_chart(f, _subsector_bars(f), f.t("按子部门 (t CO2e, 基于位置)",
                                                   "By sub-sector (t CO2e, location-based)"),
                        "t"))
    s.append(_bar_chart(f, _monthly_bars(f), f.t("BASIC 按月 (t CO2e)", "BASIC by month (t CO2e)"),
                        "t"))
    # 2 boundary
    s.append(f"<h2>2. {_h(f, '清单边界', 'Boundary')}</h2>")
    s.append(f"<p>{_esc(b.get('statement_zh'))}</p><p class=\"alt\">{_esc(b.get('statement'))}</p>")
    brows = [[k, ", ".join(i.get("gpc") or []), i.get("what_zh"), i.get("what"),
              i.get("basis") or i.get("why")]
             for k in ("included", "excluded") for i in b.get(k) or []]
    s.append(_table(["", "GPC", "中文", "English", _h(f, "依据/原因", "basis / why")], brows))
    # 3 inventory table
    s.append(f"<h2>3. {_h(f, 'GPC 清单表', 'GPC inventory table')}</h2>")
    trows = [[r["gpc_ref"], r["name_zh"] if f.lang == "zh" else r["name_en"], int(r["scope"]),
              r["level"], _cell(r), _cell(r, "co2_t"), _cell(r, "ch4_t"), _cell(r, "n2o_t"),
              r["data_quality"], r["explanation"]] for _, r in f.table.iterrows()]
    s.append(_table(["GPC", _h(f, "子部门", "sub-sector"), "scope", "level", "CO2e t", "CO2 t",
                     "CH4 t", "N2O t", "DQ", _h(f, "说明", "explanation")], trows, {4, 5, 6, 7}))
    keys = "; ".join(f"{k}: {meaning}" for k, (meaning, _) in NOTATION_KEYS.items())
    s.append(f"<p class=\"alt\">{_esc(keys)} (GPC v1.1)</p>")
    # 4 methods
    s.append(f"<h2>4. {_h(f, '方法与排放因子', 'Methods and factors')}</h2>")
    cit = dict(zip(f.factors["factor_id"], f.factors["citation"], strict=False))
    mrows = [[r["gpc_ref"], r["activity"], r["amount"], r["unit"], r["factor_id"]]
             for _, r in f.methods.iterrows()]
    s.append(_table(["GPC", "activity", "amount", "unit", "factor"], mrows, {2}))
    frows = [[r["factor_id"], r.get("value_as_published", ""), r.get("method", ""),
              r.get("confidence", ""), cit.get(r["factor_id"], "")]
             for _, r in f.factors.iterrows()]
    s.append(_table(["factor", _h(f, "公布值", "as published"), "method", "confidence",
                     _h(f, "来源", "source")], frows))
    # 5 data quality
    s.append(f"<h2>5. {_h(f, '数据质量', 'Data quality')}</h2>")
    s.append("<p>" + _h(f, "数据质量按 GPC v1.1 表5.1 分为高/中/低(活动数据/排放因子)。",
                        "Data quality is graded H/M/L (activity data / factor), GPC v1.1 "
                        "Table 5.1.") + "</p>")
    qrows = [[r["gpc_ref"], r["data_quality"], r["completeness"], r["entries"]]
             for _, r in f.table.iterrows() if int(r["entries"])]
    s.append(_table(["GPC", "DQ", "completeness", "entries"], qrows, {3}))
    for w in m.get("warnings") or []:
        s.append(f"<p class=\"alt\">{_esc(w.get('code'))}: {_esc(w.get('message'))}</p>")
    # 6 uncertainty
    s.append(f"<h2>6. {_h(f, '不确定性', 'Uncertainty')}</h2>")
    s.append(_uncertainty(f))
    # 7 memo
    s.append(f"<h2>7. {_h(f, '备忘项:减排量与碳汇', 'Memo items: avoided and removals')}</h2>")
    s.append("<p>" + _h(f, "不计入任何清单合计(GPC v1.1 第4章)。",
                        "In no inventory total (GPC v1.1 ch. 4).") + "</p>")
    memo = [[r["kind"], r["basis"], r["intervention_id"] or r["node_id"], r["gpc_ref"],
             r["method"], r["co2e_t"]] for _, r in f.memo.iterrows()]
    s.append(_table(["kind", "basis", "intervention / node", "GPC", "method", "t CO2e"],
                    [[*r[:5], f"{float(r[5]):,.3f}"] for r in memo]))
    # 8 policy
    s.append(f"<h2>8. {_h(f, '基准年与重算政策', 'Base year and recalculation policy')}</h2>")
    s.append(_policy(f))
    s.append(f"<footer class=\"stamp\">{_esc(stamp)} · carbon-twin "
             f"{_esc(m.get('carbon_version'))} · "
             + _h(f, "由快照生成,可用 carbon ledger verify --document 核验",
                  "generated from the snapshot; check with carbon ledger verify --document")
             + "</footer></body></html>\n")
    return "".join(s)


def html_report(snapshot: Snapshot | str | Path, path: str | Path, year: int | None = None,
                lang: str = "zh") -> Path:
    """Write the bilingual inventory report of one calendar year as one self-contained HTML
    file (inline CSS, inline SVG charts; nothing fetched).

    Sections: totals (BASIC labelled incomplete while a BASIC row is NE) with intensities and
    charts, boundary, the GPC table (every sub-sector, value or notation key), methods and
    factors with citations, data quality, uncertainty (or "not estimated"), memo items, base
    year and recalculation policy.

    Parameters are those of :func:`workbook`; ``lang`` chooses the first language.
    """
    f = _facts(snapshot, year, lang)
    out = Path(path)
    out.write_text(_html(f), encoding="utf-8")
    return out


def _chromium() -> str:
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not exe:
        raise ReportError(
            f"headless Chromium not found at {CHROMIUM}; install the Debian package chromium "
            "(make browser) or set CARBON_CHROMIUM"
        )
    return exe


def _print_pdf(source: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [_chromium(), *_CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--print-to-pdf={out}", source.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError("headless Chromium did not print the PDF within 120 s") from None
    if not out.exists() or out.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise ReportError(f"headless Chromium printed no PDF ({tail[0]})")


def pdf_report(snapshot: Snapshot | str | Path, path: str | Path, year: int | None = None,
               lang: str = "zh") -> Path:
    """Print the inventory report (:func:`html_report`) to PDF with headless Chromium.

    The PDF's title and text carry the stamp; Chromium adds its own creation time and document
    id, so :func:`verify_document` compares PDFs by text (``pdftotext``), not bytes.

    Raises
    ------
    ReportError
        When Chromium is not installed or prints nothing.
    """
    f = _facts(snapshot, year, lang)
    out = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(_html(f).replace(f.stamp("html"), f.stamp("pdf")), encoding="utf-8")
        _print_pdf(source, out)
    return out


# ------------------------------------------------------------------------ acceptance pack
@dataclass(frozen=True)
class Indicator:
    """One line of the acceptance scorecard.

    Attributes
    ----------
    name_zh, name_en : the indicator.
    value : the value computed from the snapshot (and the twin it pins), or None.
    unit : its unit.
    evidence : where the value comes from (files of the snapshot, entries, assets).
    guidance : the published guidance the indicator comes from, with its threshold if any.
    confirmed : False when the indicator's definition or threshold could not be confirmed in
        a primary text (docs/research/gpc.md §2); shown as UNCONFIRMED.
    """

    name_zh: str
    name_en: str
    value: float | str | None
    unit: str
    evidence: str
    guidance: str
    confirmed: bool


_G489 = ("《国家发展改革委关于开展低碳社区试点工作的通知》发改气候〔2014〕489号 (news summary, "
         "docs/research/gpc.md §2, medium)")
_G362 = "《低碳社区试点建设指南》发改办气候〔2015〕362号 (docs/research/gpc.md §2)"
_G182 = "《上海市低碳示范创建工作方案》沪环气〔2021〕182号 (repost, medium)"


def _twin_assets(f: _Facts) -> tuple[pd.DataFrame | None, str]:
    """The assets of the twin the snapshot pins, when its files are unchanged (content hash)."""
    from carbon.audit import _twin

    try:
        twin = _twin(f.manifest)
    except CarbonError as exc:
        return None, f"twin not loadable ({exc})"
    pinned = (f.manifest.get("twin") or {}).get("content_hash")
    if twin.content_hash != pinned:
        return None, "the twin's files changed since the snapshot (content hash differs)"
    return twin.assets_frame(), f"twin {twin.name} (content hash {str(pinned)[:12]})"


def _ancestor(nodes: pd.DataFrame, node_id: str, kind: str) -> str | None:
    path = nodes.set_index("id")["path"].get(node_id)
    if not isinstance(path, str):
        return None
    kinds = nodes.set_index("id")["kind"]
    for part in reversed(path.split("/")):
        if kinds.get(part) == kind:
            return part
    return None


def scorecard(snapshot: Snapshot | str | Path, year: int | None = None) -> list[Indicator]:
    """The low-carbon community indicators of one year, computed from the snapshot (ledger
    entries, nodes.csv, meters.csv, interventions.csv) and the twin's assets it pins.

    No Shanghai scoring sheet for low-carbon communities was found (docs/research/gpc.md §2,
    UNCONFIRMED): indicators follow the NDRC pilot notice and guide; every definition or
    threshold not read in a primary text is marked unconfirmed.
    """
    return _scorecard(_facts(snapshot, year))


def _scorecard(f: _Facts) -> list[Indicator]:
    it = f.intensity
    out: list[Indicator] = []
    ann = f"annualised from {it.months} month(s)" if it.annualised else "12 months"
    out.append(Indicator(
        "人均碳排放(居住建筑)", "Per-resident emissions (residential buildings, GPC I.1)",
        it.per_resident_t, "t CO2e/人/年",
        f"GPC I.1 BASIC rows {_fmt(it.residential_t)} t/a ({ann}) / residents "
        f"{_fmt(it.residents, 0)}{' (estimated)' if it.residents_estimated else ''} "
        "(nodes.csv); carbon.inventory.intensity",
        f"{_G489}: community carbon-emission indicators; definition per GPC v1.1 "
        "(no published per-capita threshold found)", False))
    out.append(Indicator(
        "服务人口人均碳排放", "BASIC per service population (residents + office workers)",
        it.per_service_population_t, "t CO2e/人/年",
        f"BASIC {_fmt(it.basic_t)} t/a / {_fmt(it.service_population, 0)} persons (nodes.csv)",
        f"{_G362}: carbon-emission indicators (definition not confirmed)", False))
    out.append(Indicator(
        "单位建筑面积碳排放", "Stationary-energy emissions per floor area",
        it.per_m2_kg, "kg CO2e/m²/年",
        f"GPC I BASIC rows {_fmt(it.stationary_t)} t/a / floor area "
        f"{_fmt(it.floor_area_m2, 0)} m² (nodes.csv)",
        f"{_G362}: building retrofit indicators (definition not confirmed)", False))
    assets, twin_note = _twin_assets(f)
    iv = f.interventions
    in_place = iv[iv["status"] == "in_place"] if len(iv) else iv

    def nodes_with(kind: str) -> set[str]:
        if not len(in_place):
            return set()
        return set(in_place.loc[in_place["kind"] == kind, "node_id"].astype(str))

    if assets is not None and len(assets):
        lights = assets[assets["kind"] == "light_fixtures"]
        total = float(lights["count"].sum()) if "count" in lights else 0.0
        led = float(lights.loc[lights["node_id"].isin(nodes_with("led_lighting")), "count"].sum()
                    ) if total else 0.0
        out.append(Indicator(
            "高效照明占比", "Share of efficient (LED) lighting",
            led / total if total else None, "share of registered fixtures",
            f"{led:.0f} of {total:.0f} light fixtures registered in the {twin_note} are covered "
            "by an in-place LED intervention (interventions.csv); the community's lighting stock "
            "is not registered, so the share covers registered fixtures only",
            f"{_G362}: energy-efficient lighting in existing communities (indicator and "
            "threshold not confirmed)", False))
        ports = assets[assets["kind"] == "ebike_chargers"]
        nodes = f.nodes
        areas = set(nodes.loc[nodes["kind"] == "residential_area", "id"])
        covered = {_ancestor(nodes, str(n), "residential_area") for n in ports["node_id"]}
        covered &= areas
        households = pd.to_numeric(nodes["households"], errors="coerce").sum()
        out.append(Indicator(
            "电动自行车集中充电覆盖率", "Centralised e-bike charging coverage",
            len(covered) / len(areas) if areas else None, "share of residential areas",
            f"{len(covered)} of {len(areas)} residential areas (nodes.csv) have a charging shed "
            f"with ports; {ports['count'].sum():.0f} ports for {households:,.0f} households "
            f"({twin_note})",
            "Shanghai e-bike centralised-charging safety programme; no low-carbon community "
            "threshold found", False))
        green = assets[assets["kind"] == "green_space"]
        area_col = "green_area_m2" if "green_area_m2" in green else None
        live = green[green["node_id"].isin(nodes_with("green_space"))] if area_col else green
        m2 = float(live[area_col].sum()) if area_col else 0.0
        land = pd.to_numeric(nodes.loc[nodes["kind"] == "subdistrict", "area_km2"],
                             errors="coerce").sum() * 1e6
        out.append(Indicator(
            "新增绿地面积", "New green space (pocket parks, gardens)", m2, "m²",
            f"{len(live)} green-space assets of in-place interventions ({twin_note}); "
            f"{m2 / land * 100:.3f} % of the {land / 1e6:.2f} km² area" if land else
            "green-space assets of in-place interventions",
            f"{_G362}: green space (green-cover indicator and threshold not confirmed); "
            "removals are memo items, not netted", False))
    else:
        for zh, en in (("高效照明占比", "Share of efficient (LED) lighting"),
                       ("电动自行车集中充电覆盖率", "Centralised e-bike charging coverage"),
                       ("新增绿地面积", "New green space")):
            out.append(Indicator(zh, en, None, "", f"not computed: {twin_note}", _G362, False))
    e = f.year_entries
    waste = e[e["kind"].eq("emission") & e["activity"].astype(str).str.startswith("waste.msw")]
    mass = waste.assign(a=waste["amount"].astype(float)).groupby("activity")["a"].sum()
    wet = float(mass.get("waste.msw.biological", 0.0))
    total_t = float(mass.sum())
    out.append(Indicator(
        "生活垃圾分类(湿垃圾分出率)", "Waste sorting: wet-waste share of collected waste",
        wet / total_t if total_t else None, "share of mass",
        f"wet waste {wet:,.1f} t of {total_t:,.1f} t collected in {f.year} (entries: "
        "waste.msw.biological / waste.msw.*); recyclables are not in the ledger",
        f"{_G489}: 垃圾分类收集率 ≥30 % (a collection rate; the wet-waste share is a proxy, "
        "definition not confirmed)", False))
    toilets = nodes_with("water_saving_toilets")
    out.append(Indicator(
        "节水器具改造", "Water-saving fixtures retrofitted", float(len(toilets)),
        "sites", "in-place water_saving_toilets interventions (interventions.csv): "
        + (", ".join(sorted(toilets)) or "none"),
        f"{_G362}: 节水器具普及率 ≥50 % is a rural-pilot indicator (tanpaifang digest, medium); "
        "the urban existing-community indicator is not confirmed", False))
    pv = nodes_with("rooftop_pv")
    planned = (iv[(iv["kind"] == "rooftop_pv") & (iv["status"] != "in_place")]
               if len(iv) else iv)
    out.append(Indicator(
        "可再生能源(屋顶光伏)", "Renewable energy (rooftop PV) in place", float(len(pv)),
        "installations", f"{len(pv)} in place, {len(planned)} planned (interventions.csv)",
        f"{_G362}: 可再生能源替代率 ≥5 % is a rural-pilot indicator (medium); urban indicator "
        "not confirmed", False))
    ne = f.totals.get("BASIC_incomplete_rows_location") or []
    out.append(Indicator(
        "碳排放统计核算制度", "Carbon-emission statistics and accounting in place",
        "是 yes" if not f.synthetic else "是(演示数据) yes (demo data)", "",
        f"published, verifiable ledger snapshot {f.id} ({len(f.meters)} meters in meters.csv); "
        f"BASIC {'complete' if not ne else 'incomplete: ' + str(len(ne)) + ' rows NE'}",
        f"{_G362}: 碳排放统计调查制度 (a yes/no item of the rural-pilot list, medium); "
        f"{_G182}", False))
    return out


def _plan(f: _Facts, cards: list[Indicator]) -> list[list[str]]:
    """The 年度工作计划 draft: one task per gap the snapshot shows."""
    nxt = f.year + 1
    tasks: list[list[str]] = []
    ne = f.totals.get("BASIC_incomplete_rows_location") or []
    keys = (f.boundary.get("notation_keys") or {})
    for ref in ne:
        why = (keys.get(ref) or {}).get("explanation", "not estimated")
        tasks.append([f"补充 GPC {ref} 活动数据,使 BASIC 完整", f"{ref} NE: {why}",
                      "街道 / 数据提供方(待定)", f"{nxt} Q2"])
    iv = f.interventions
    if len(iv):
        for _, r in iv[iv["status"] != "in_place"].iterrows():
            tasks.append([f"实施计划项目:{r['name_zh']}",
                          f"interventions.csv {r['intervention_id']} ({r['status']})",
                          "街道 / 业主(待定)", f"{nxt} Q4"])
    for c in cards:
        if not c.confirmed:
            tasks.append([f"向区生态环境局核实指标口径:{c.name_zh}", "definition UNCONFIRMED",
                          "街道低碳办(待定)", f"{nxt} Q1"])
    if f.synthetic:
        tasks.insert(0, ["以真实计量数据替换演示数据后重新发布快照", "synthetic_inputs = true",
                         "街道 / 平台运维(待定)", f"{nxt} Q1"])
    return tasks


def _column_widths(table: Any, cm: tuple[float, ...], size: Any) -> None:
    """Fix a DOCX table's column widths [cm] (Word and LibreOffice read the cell widths) and
    its font size, so that long evidence texts wrap in wide columns."""
    from docx.shared import Cm

    for column, width in zip(table.columns, cm, strict=True):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, cm, strict=True):
            cell.width = Cm(width)
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = size


def _write_docx(f: _Facts, path: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Noto Sans CJK SC"
    style.font.size = Pt(10)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rFonts")
    if fonts is not None:
        fonts.set("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia",
                  "Noto Sans CJK SC")
    header = doc.sections[0].header.paragraphs[0]
    header.text = f"快照 snapshot {f.id} · {f.year}"
    m = f.manifest
    doc.add_heading(f"{f.site_name('zh')}低碳社区创建 自评价报告({f.year} 年)", level=0)
    doc.add_paragraph(f"快照编号 Snapshot id: {f.id}")
    doc.add_paragraph(f"核算期:{m['period']['start']} 至 {m['period']['end']};"
                      f"排放因子集:{m.get('factor_set', {}).get('name')}")
    if f.synthetic:
        doc.add_paragraph("注意:本报告的输入为演示用合成数据,不是真实计量,不得用于正式验收。")
    doc.add_heading("一、碳排放清单概况", level=1)
    t = f.totals
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    hdr = table.rows[0].cells
    hdr[0].text, hdr[1].text, hdr[2].text = "合计", "基于位置 t CO2e", "基于市场 t CO2e"
    for name in ("BASIC", "BASIC+", "territorial"):
        label = name if t.get("BASIC_complete_location", True) or name == "territorial" \
            else f"{name}(不完整)"
        row = table.add_row().cells
        row[0].text = label
        row[1].text = _fmt(t.get(f"{name}_location"))
        row[2].text = _fmt(t.get(f"{name}_market"))
    ne = t.get("BASIC_incomplete_rows_location") or []
    if ne:
        doc.add_paragraph("BASIC 未估算(NE)行:" + ", ".join(ne))
    doc.add_paragraph("清单边界:" + (f.boundary.get("statement_zh") or ""))
    doc.add_heading("二、指标评分表(自评)", level=1)
    doc.add_paragraph("上海市低碳社区验收评分表未能检索到原文(docs/research/gpc.md §2);下列指标"
                      "依据国家低碳社区试点文件选取,口径或阈值未经原文核实者标注 UNCONFIRMED。")
    cards = _scorecard(f)
    sc = doc.add_table(rows=1, cols=6)
    sc.style = "Table Grid"
    sc.autofit = False
    for cell, text in zip(sc.rows[0].cells, ("指标", "数值", "单位", "证据", "依据", "核实"),
                          strict=True):
        cell.text = text
    for c in cards:
        value = c.value if isinstance(c.value, str) else (
            "未计算" if c.value is None else
            f"{c.value * 100:.1f} %" if c.unit.startswith("share") else f"{c.value:,.2f}")
        cells = sc.add_row().cells
        cells[0].text = f"{c.name_zh}\n{c.name_en}"
        cells[1].text = value
        cells[2].text = c.unit
        cells[3].text = c.evidence
        cells[4].text = c.guidance
        cells[5].text = "已核实 confirmed" if c.confirmed else "未核实 UNCONFIRMED"
    _column_widths(sc, (2.6, 1.5, 1.9, 4.6, 3.8, 2.1), Pt(8))
    doc.add_heading("三、减排项目与碳汇(备忘项,不计入清单)", level=1)
    for _, r in f.memo.iterrows():
        if r["method"] in ("location", "n/a"):
            doc.add_paragraph(f"{r['kind']} {r['basis']} {r['intervention_id'] or r['node_id']} "
                              f"({r['gpc_ref']}): {float(r['co2e_t']):,.3f} t CO2e",
                              style="List Bullet")
    doc.add_page_break()
    doc.add_heading(f"{f.year + 1} 年度工作计划(草案)", level=0)
    doc.add_paragraph(f"依据快照 {f.id} 的缺口自动生成,需街道审定;责任方与时间为建议。")
    plan = doc.add_table(rows=1, cols=5)
    plan.style = "Table Grid"
    for cell, text in zip(plan.rows[0].cells, ("序号", "任务", "依据", "责任方", "完成时间"),
                          strict=True):
        cell.text = text
    for i, task in enumerate(_plan(f, cards), start=1):
        cells = plan.add_row().cells
        cells[0].text = str(i)
        for cell, text in zip(cells[1:], task, strict=True):
            cell.text = text
    plan.autofit = False
    _column_widths(plan, (1.2, 6.0, 4.6, 2.6, 2.1), Pt(9))
    props = doc.core_properties
    props.author = "carbon-twin"
    props.last_modified_by = "carbon-twin"
    props.title = f"低碳社区自评价报告 {f.year} ({f.id})"
    props.keywords = f.stamp("docx")
    props.identifier = f.id
    props.revision = 1
    props.created = f.when
    props.modified = f.when
    props.last_printed = f.when
    doc.save(str(path))
    _fix_zip(path, f.when)


def acceptance_pack(snapshot: Snapshot | str | Path, path: str | Path, year: int | None = None,
                    lang: str = "zh") -> Path:
    """Write the Shanghai low-carbon community acceptance pack (DOCX, in Chinese): a 自评价报告
    with the inventory totals, the indicator :func:`scorecard` (each with its evidence, its
    guidance and UNCONFIRMED where the definition was not confirmed) and memo items, then a
    年度工作计划 draft built from the snapshot's gaps.

    Parameters are those of :func:`workbook` (the pack is in Chinese; ``lang`` is stamped).
    """
    f = _facts(snapshot, year, lang)
    out = Path(path)
    _write_docx(f, out)
    return out


# ---------------------------------------------------------------------------- build, verify
_BUILDERS: dict[str, Callable[..., Path]] = {
    "xlsx": workbook,
    "html": html_report,
    "pdf": pdf_report,
    "docx": acceptance_pack,
}
_SUFFIX = {".xlsx": "xlsx", ".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}
_STAMP = re.compile(r"carbon-twin;format=(\w+);snapshot=([\w.-]+);year=(\d{4});lang=(\w+)")


def build_document(snapshot: Snapshot | str | Path, fmt: str, path: str | Path | None = None,
                   year: int | None = None, lang: str = "zh") -> Path:
    """Write one document (``fmt`` in :data:`FORMATS`); default path
    ``<snapshot id>_<year>.<fmt>`` in the working folder.

    Raises
    ------
    ReportError
        An unknown format (the message lists the known ones), year or language.
    """
    if fmt not in _BUILDERS:
        raise ReportError(f"unknown document format {fmt!r}; choose one of {', '.join(FORMATS)}")
    snap = snapshot if isinstance(snapshot, Snapshot) else load_snapshot(snapshot)
    if path is None:
        y = year or max(int(k) for k in (snap.manifest.get("totals_t") or {"0": 0}))
        path = Path(f"{snap.id}_{y}.{fmt}")
    return _BUILDERS[fmt](snap, path, year=year, lang=lang)


def _read_stamp(path: Path, fmt: str) -> str | None:
    """The stamp a document carries in its metadata, or None."""
    try:
        if fmt in ("xlsx", "docx"):
            with zipfile.ZipFile(path) as z:
                text = z.read("docProps/core.xml").decode("utf-8")
        elif fmt == "html":
            text = path.read_text(encoding="utf-8", errors="replace")
        else:
            text = _pdf_text(path)
    except (OSError, KeyError, zipfile.BadZipFile, ReportError):
        return None
    found = _STAMP.search(text)
    return found.group(0) if found else None


def _pdf_text(path: Path) -> str:
    exe = shutil.which("pdftotext")
    if not exe:
        raise ReportError("pdftotext not found; install the Debian package poppler-utils")
    done = subprocess.run([exe, "-layout", str(path), "-"], capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise ReportError(f"{path}: not a readable PDF ({done.stderr.strip()[:80]})")
    info = subprocess.run([exe.replace("pdftotext", "pdfinfo"), str(path)], capture_output=True,
                          text=True, check=False)
    title = [line for line in info.stdout.splitlines() if line.startswith("Title:")]
    return "\n".join(title) + "\n" + done.stdout


@dataclass
class DocumentCheck(VerifyResult):
    """The outcome of :func:`verify_document`; true only when verified.

    Attributes are those of :class:`carbon.audit.VerifyResult`, plus ``how`` the document was
    compared (``byte-identical`` or, for a PDF, ``text-identical``).
    """

    how: str = "byte-identical"

    def __str__(self) -> str:
        if self.ok:
            return f"verified: the document rebuilt from the snapshot is {self.how}"
        return "NOT verified: " + "; ".join(self.problems)


def _first_zip_difference(a: Path, b: Path) -> str:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        names = sorted(set(za.namelist()) | set(zb.namelist()))
        for name in names:
            da = za.read(name) if name in za.namelist() else None
            db = zb.read(name) if name in zb.namelist() else None
            if da != db:
                return f"part {name}"
        if [i.filename for i in za.infolist()] != [i.filename for i in zb.infolist()]:
            return "the order of the zip parts"
    return "the zip container (member times or compression)"


def _first_cell_difference(a: Path, b: Path) -> str | None:
    from openpyxl import load_workbook

    wa, wb = load_workbook(a, read_only=True), load_workbook(b, read_only=True)
    for ws in wb.worksheets:
        if ws.title not in wa.sheetnames:
            return f"sheet {ws.title!r} is missing"
        rows_a = list(wa[ws.title].iter_rows(values_only=True))
        rows_b = list(ws.iter_rows(values_only=True))
        for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False), start=1):
            for j, (va, vb) in enumerate(zip(ra, rb, strict=False), start=1):
                if va != vb:
                    return f"sheet {ws.title!r} row {i} column {j}: {va!r} != {vb!r}"
        if len(rows_a) != len(rows_b):
            return f"sheet {ws.title!r} has {len(rows_a)} rows, the rebuild {len(rows_b)}"
    return None


def _first_line_difference(a: str, b: str, what: str = "line") -> str | None:
    la, lb = a.splitlines(), b.splitlines()
    for op, i1, _i2, j1, _j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if op != "equal":
            got = la[i1].strip()[:80] if i1 < len(la) else "(end)"
            want = lb[j1].strip()[:80] if j1 < len(lb) else "(end)"
            return f"{what} {i1 + 1}: {got!r}, rebuilt {want!r}"
    return None


def verify_document(snapshot: Snapshot | str | Path, document: str | Path) -> DocumentCheck:
    """Check that a document was built from a snapshot and not changed since.

    Reads the document's stamp (format, snapshot id, year, language), checks the snapshot is
    intact and is the one stamped, regenerates the document with the stamped year and language
    and compares: byte for byte for xlsx, docx and html (naming the first differing zip part,
    sheet cell or line), by text for a PDF (``pdftotext``; naming the first differing line).

    Returns
    -------
    DocumentCheck
        Falsy when not verified; ``first_difference`` names the first differing part
        (``stamp`` or ``snapshot id`` when the stamp is missing or names another snapshot).
    """
    snap = snapshot if isinstance(snapshot, Snapshot) else load_snapshot(snapshot)
    doc = Path(document)
    if not doc.is_file():
        raise ReportError(f"{doc}: no such document")
    fmt = _SUFFIX.get(doc.suffix.lower())
    if fmt is None:
        raise ReportError(f"{doc}: unknown document type {doc.suffix!r}; known: "
                          + ", ".join(sorted(_SUFFIX)))
    problems = [f"snapshot: {p}" for p in snap.damaged()]
    stamp = _read_stamp(doc, fmt)
    if stamp is None:
        return DocumentCheck(False, [*problems, f"{doc.name} carries no carbon-twin stamp "
                                    "(not built by carbon report, or its metadata was edited)"],
                            "stamp")
    sfmt, sid, syear, slang = _STAMP.fullmatch(stamp).groups()  # type: ignore[union-attr]
    if sid != snap.id:
        return DocumentCheck(False, [*problems, f"{doc.name} is stamped with snapshot {sid}, not "
                                    f"{snap.id}"], "snapshot id")
    if sfmt != fmt:
        problems.append(f"{doc.name} is stamped as {sfmt}, its name says {fmt}")
    first: str | None = None
    with tempfile.TemporaryDirectory() as tmp:
        again = Path(tmp) / f"rebuilt.{fmt}"
        try:
            _BUILDERS[fmt](snap, again, year=int(syear), lang=slang)
        except ReportError as exc:
            return DocumentCheck(False, [*problems, f"cannot rebuild the document: {exc}"], None)
        if fmt == "pdf":
            first = _first_line_difference(_pdf_text(doc), _pdf_text(again))
        elif doc.read_bytes() != again.read_bytes():
            if fmt == "html":
                first = _first_line_difference(
                    doc.read_text(encoding="utf-8", errors="replace").replace(">", ">\n"),
                    again.read_text(encoding="utf-8").replace(">", ">\n"),
                    "element",
                ) or "bytes"
            else:
                try:
                    first = _first_zip_difference(doc, again)
                    if fmt == "xlsx":
                        first = _first_cell_difference(doc, again) or first
                except (zipfile.BadZipFile, OSError, KeyError) as exc:
                    first = f"the file is not a readable {fmt} ({exc.__class__.__name__})"
    if first:
        problems.append(f"{doc.name} differs from the document rebuilt from {snap.id}: {first}")
    how = "text-identical (pdftotext)" if fmt == "pdf" else "byte-identical"
    return DocumentCheck(not problems, problems, first, how=how)
