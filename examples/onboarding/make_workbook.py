"""Write ``changfeng_xincun.xlsx`` from the CSV sheets in ``changfeng_xincun/``.

The CSV files are the reviewable source of the Changfeng Xincun spreadsheet (one file per
sheet, Chinese headers); the workbook is what a subdistrict office would hand over: the same
sheets under their Chinese names, numbers as numbers, and a 说明 (read-me) sheet that
``carbon site init`` skips. tests/test_site.py checks that the two say the same.

Run from the repository root::

    python examples/onboarding/make_workbook.py
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
SHEETS = {  # CSV file -> sheet name in the workbook
    "site": "街道",
    "sources": "来源",
    "residential_areas": "居民区",
    "compounds": "小区",
    "office_buildings": "楼宇",
    "shops": "商铺",
    "facilities": "设施",
    "meters": "表计",
    "assets": "资产",
}
README = [
    ["长风新村街道孪生体底表 (Changfeng Xincun subdistrict: the twin's spreadsheet)"],
    ["来源数字见“来源”表;其余为估算,每行“估算依据”一栏写明依据。"],
    ["Figures from the source cite it (来源 sheet); every other figure is an estimate, its basis "
     "in the row's 估算依据 column."],
    ["Build the twin: carbon site init changfeng_xincun --from changfeng_xincun.xlsx"],
]


def _value(text: str) -> str | int | float:
    """A cell as a spreadsheet holds it: whole numbers and decimals as numbers."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def build(folder: Path = HERE / "changfeng_xincun", out: Path = HERE / "changfeng_xincun.xlsx"
          ) -> Path:
    """Write the workbook ``out`` from the CSV files in ``folder``; return its path."""
    wb = Workbook()
    readme = wb.active
    assert readme is not None
    readme.title = "说明"
    for row in README:
        readme.append(row)
    for stem, name in SHEETS.items():
        ws = wb.create_sheet(name)
        with open(folder / f"{stem}.csv", encoding="utf-8", newline="") as fh:
            for i, row in enumerate(csv.reader(fh)):
                ws.append(row if i == 0 else [_value(c) if c else None for c in row])
    wb.properties.creator = "carbon-twin examples/onboarding/make_workbook.py"
    wb.properties.created = wb.properties.modified = dt.datetime(2024, 1, 1)
    wb.save(out)
    return out


if __name__ == "__main__":
    print(build())
