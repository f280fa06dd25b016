"""Official documents from one snapshot (carbon.report) over a real two-month demo snapshot."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carbon.cli import app
from carbon.gpc import REFS
from carbon.report import (
    CHROMIUM,
    ReportError,
    acceptance_pack,
    build_document,
    html_report,
    pdf_report,
    scorecard,
    verify_document,
    workbook,
)

HAS_CHROMIUM = Path(CHROMIUM).exists() or shutil.which("chromium") is not None
HAS_POPPLER = shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    from carbon.demo import build_demo

    result = build_demo(tmp_path_factory.mktemp("demo"), start="2024-01-01", end="2024-03-01")
    return result.snapshot


def test_workbook_reads_back_to_the_snapshot_totals(snap, tmp_path):
    from openpyxl import load_workbook

    path = workbook(snap, tmp_path / "gpc.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Cover", "Boundary", "Sector x scope", "Gases", "Methods",
                             "Data quality", "Sources", "Memo items"]
    for ws in wb.worksheets:  # every sheet stamped with the snapshot id
        assert ws["B1"].value == snap.id
        assert ws["D1"].value == 2024
    for year, totals in snap.manifest["totals_t"].items():
        wb = load_workbook(workbook(snap, tmp_path / f"{year}.xlsx", year=int(year)))
        cover = {r[0]: r[1] for r in wb["Cover"].iter_rows(min_row=5, values_only=True)}
        label = "BASIC" if totals["BASIC_complete_location"] else "BASIC (incomplete)"
        assert cover[f"{label} [location] t CO2e"] == pytest.approx(totals["BASIC_location"])
        assert cover["territorial [market] t CO2e"] == pytest.approx(
            totals["territorial_market"])
        matrix = {r[0]: r[3] for r in wb["Sector x scope"].iter_rows(min_row=5,
                                                                      values_only=True)}
        assert matrix[f"{label} [location]"] == pytest.approx(totals["BASIC_location"])
        # every cell of the matrix is a number, a notation key, or empty where the GPC has no row
        for row in wb["Sector x scope"].iter_rows(min_row=5, max_row=30, values_only=True):
            for cell in row[3:6]:
                assert cell is None or isinstance(cell, float | int) or cell in (
                    "NO", "NE", "IE", "C")
        gases = [r[0] for r in wb["Gases"].iter_rows(min_row=5, values_only=True)]
        assert gases == list(REFS)
    sources = [r[0] for r in wb["Sources"].iter_rows(min_row=5, values_only=True)]
    assert set(sources) == set(snap.table("factors")["factor_id"])
    assert wb.properties.identifier == snap.id


def test_documents_are_deterministic(snap, tmp_path):
    for fn, name in ((workbook, "a.xlsx"), (acceptance_pack, "a.docx"), (html_report, "a.html")):
        a = fn(snap, tmp_path / name).read_bytes()
        b = fn(snap, tmp_path / f"b{name}").read_bytes()
        assert a == b, name
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2024, 3, 1, 0, 0, 0)}


def test_html_report_holds_the_id_and_every_subsector(snap, tmp_path):
    text = html_report(snap, tmp_path / "r.html").read_text(encoding="utf-8")
    assert snap.id in text
    assert f'<meta name="carbon-twin" content="carbon-twin;format=html;snapshot={snap.id};' in text
    for ref in REFS:
        assert f"<td>{ref}</td>" in text, ref
    assert "BASIC (incomplete" in text  # demo BASIC has NE rows (on-road, metro ...)
    assert "<svg" in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "Not estimated" in text or "uncertainty" in text.lower()
    en = html_report(snap, tmp_path / "en.html", lang="en").read_text(encoding="utf-8")
    assert "<h1>Shimen Erlu" in en and "石门二路" in en  # bilingual, English first


@pytest.mark.skipif(not HAS_CHROMIUM, reason="headless Chromium is not installed (make browser)")
def test_pdf_prints_and_renders(snap, tmp_path):
    path = pdf_report(snap, tmp_path / "r.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    if not HAS_POPPLER:
        pytest.skip("poppler-utils (pdftoppm, pdftotext) is not installed")
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(next(x for x in info.stdout.splitlines() if x.startswith("Pages:")).split()[1])
    assert pages >= 1
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True)
    png = sorted(tmp_path.glob("page*.png"))
    assert png and png[0].stat().st_size > 5000
    assert verify_document(snap, path)


def test_acceptance_pack_holds_the_scorecard(snap, tmp_path):
    import docx

    path = acceptance_pack(snap, tmp_path / "pack.docx")
    doc = docx.Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "自评价报告" in text and "年度工作计划" in text and snap.id in text
    assert snap.id in doc.sections[0].header.paragraphs[0].text
    cards = scorecard(snap)
    table = doc.tables[1]
    assert [c.text for c in table.rows[0].cells] == ["指标", "数值", "单位", "证据", "依据", "核实"]
    assert len(table.rows) == len(cards) + 1
    names = [r.cells[0].text.split("\n")[0] for r in table.rows[1:]]
    assert "人均碳排放(居住建筑)" in names and "生活垃圾分类(湿垃圾分出率)" in names
    assert all(
        r.cells[5].text in ("已核实 confirmed", "未核实 UNCONFIRMED") for r in table.rows[1:]
    )
    waste = next(c for c in cards if c.name_zh.startswith("生活垃圾"))
    assert isinstance(waste.value, float) and 0 < waste.value < 1
    assert len(doc.tables[2].rows) > 1  # the work plan has tasks


def test_a_tampered_document_fails_verify(snap, tmp_path):
    from openpyxl import load_workbook

    xlsx = workbook(snap, tmp_path / "gpc.xlsx")
    assert verify_document(snap, xlsx)
    wb = load_workbook(xlsx)
    wb["Sector x scope"]["D5"] = 1.0
    wb.save(tmp_path / "edited.xlsx")
    result = verify_document(snap, tmp_path / "edited.xlsx")
    assert not result
    assert "sheet 'Sector x scope' row 5 column 4" in str(result)

    page = html_report(snap, tmp_path / "r.html")
    assert verify_document(snap, page)
    page.write_text(page.read_text(encoding="utf-8").replace("居住建筑", "居住建築", 1),
                    encoding="utf-8")
    assert "differs from the document rebuilt" in str(verify_document(snap, page))
    other = page.read_text(encoding="utf-8").replace(snap.id, "shimen_erlu_000000-000000_0")
    (tmp_path / "other.html").write_text(other, encoding="utf-8")
    result = verify_document(snap, tmp_path / "other.html")
    assert not result and result.first_difference == "snapshot id"

    pack = acceptance_pack(snap, tmp_path / "pack.docx")
    assert verify_document(snap, pack)
    data = pack.read_bytes()
    with zipfile.ZipFile(pack) as z, zipfile.ZipFile(tmp_path / "t.docx", "w") as out:
        for info in z.infolist():
            body = z.read(info.filename)
            if info.filename == "word/document.xml":
                body = body.replace("年度工作计划".encode(), "年度工作安排".encode())
            out.writestr(info, body)
    assert data != (tmp_path / "t.docx").read_bytes()
    result = verify_document(snap, tmp_path / "t.docx")
    assert not result and "part word/document.xml" in str(result)


def test_unknown_year_format_and_document(snap, tmp_path):
    with pytest.raises(ReportError, match="no inventory for 1999; its years are 2024"):
        workbook(snap, tmp_path / "x.xlsx", year=1999)
    with pytest.raises(ReportError, match="unknown document format 'odt'; choose one of xlsx"):
        build_document(snap, "odt", tmp_path / "x.odt")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ReportError, match=r"unknown document type '\.txt'"):
        verify_document(snap, tmp_path / "x.txt")
    (tmp_path / "plain.html").write_text("<html></html>")
    result = verify_document(snap, tmp_path / "plain.html")
    assert not result and "carries no carbon-twin stamp" in str(result)


@pytest.mark.parametrize("fmt", ["xlsx", "html", "docx", "pdf"])
def test_cli_report_and_verify(snap, tmp_path, fmt):
    if fmt == "pdf" and not (HAS_CHROMIUM and HAS_POPPLER):
        pytest.skip("headless Chromium or poppler-utils is not installed")
    runner = CliRunner()
    out = tmp_path / f"doc.{fmt}"
    r = runner.invoke(app, ["report", str(snap.path), "--format", fmt, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.exists()
    r = runner.invoke(app, ["ledger", "verify", str(snap.path), "--document", str(out)])
    assert r.exit_code == 0, r.output
    assert "verified" in r.output


def test_cli_bad_format_is_one_line(snap):
    r = CliRunner().invoke(app, ["report", str(snap.path), "--format", "odt"])
    assert r.exit_code == 2
    assert "error: unknown document format 'odt'" in r.output
    assert "Traceback" not in r.output
