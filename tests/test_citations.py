"""Citations in the repository resolve inside the repository.

Background notes outside the product repository cannot be followed by an auditor, so:

1. no text file in the repository refers to a research note except under ``docs/research/``;
2. every ``docs/research/<file>.md §N`` citation names a file and a section heading that exist;
3. every source row in ``docs/research/*.md`` names at least a publisher and a document.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "research"
DOCS_PREFIX = "docs/research/"

# A research-note path not under docs/ (built in two parts so this file does not match itself).
_BARE = re.compile(r"(?<!docs/)" + "research" + "/|" + "shared" + "/seeds")
# docs/research/<file>.md, optionally followed by a section: "§3", "§1.6", "§7c", "§§1-8".
_CITE = re.compile(
    r"docs/research/([A-Za-z0-9_-]+\.md)(?:[`'\"),]*\s+§{1,2}([0-9]+(?:\.[0-9]+)?[a-z]?))?"
)
_HEADING = re.compile(r"^#{1,6}\s+([0-9]+(?:\.[0-9]+)?[a-z]?)[.\s]", re.MULTILINE)
_PLACEHOLDER = {"", "-", "—", "–", "n/a", "none", "?", "unknown"}


def repo_text_files() -> list[Path]:
    """Tracked and not-ignored untracked files, minus docs/research/ and binary files."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode("utf-8")
    files = []
    for name in sorted(set(filter(None, out.split("\0")))):
        if name.startswith(DOCS_PREFIX):
            continue
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        files.append(path)
    return files


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def bare_research_refs(text: str) -> list[str]:
    """Lines of ``text`` that cite a research note outside docs/research/."""
    return [line.strip() for line in text.splitlines() if _BARE.search(line)]


def citations(text: str) -> list[tuple[str, str | None]]:
    """(file, section or None) of every docs/research citation in ``text``."""
    return [(m.group(1), m.group(2)) for m in _CITE.finditer(text)]


def headings(md: str) -> set[str]:
    """Section numbers of the headings of a docs/research file ("## 3. ..." -> "3")."""
    return {m.group(1) for m in _HEADING.finditer(md)}


def section_exists(section: str, available: set[str]) -> bool:
    return section in available


def source_table_errors(md: str) -> list[str]:
    """Problems with the source tables of one docs/research file.

    Every markdown table must have Publisher and Document columns, and every row must fill both.
    """
    errors: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|"):
            i += 1
            continue
        header = [c.strip().lower() for c in lines[i].strip().strip("|").split("|")]
        if "publisher" not in header or "document" not in header:
            errors.append(f"line {i + 1}: table without Publisher and Document columns")
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                i += 1
            continue
        pub, doc = header.index("publisher"), header.index("document")
        i += 2  # header and separator
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            if len(cells) != len(header):
                errors.append(f"line {i + 1}: {len(cells)} cells, header has {len(header)}")
            elif cells[pub].lower() in _PLACEHOLDER or cells[doc].lower() in _PLACEHOLDER:
                errors.append(f"line {i + 1}: row without a publisher or a document")
            i += 1
    return errors


def test_no_citation_of_research_notes_outside_the_repository() -> None:
    bad = [
        f"{path.relative_to(ROOT)}: {line}"
        for path in repo_text_files()
        for line in bare_research_refs(_text(path))
    ]
    assert not bad, "cite docs/research/<file>.md §N instead:\n" + "\n".join(bad)


def test_docs_research_citations_resolve() -> None:
    bad = []
    files = [*repo_text_files(), *sorted(DOCS.glob("*.md"))]
    for path in files:
        for name, section in citations(_text(path)):
            target = DOCS / name
            if not target.is_file():
                bad.append(f"{path.relative_to(ROOT)}: docs/research/{name} does not exist")
            elif section is not None and not section_exists(section, headings(_text(target))):
                bad.append(f"{path.relative_to(ROOT)}: docs/research/{name} has no § {section}")
    assert not bad, "\n".join(bad)


def test_every_summary_has_numbered_sections_and_is_indexed() -> None:
    readme = _text(DOCS / "README.md")
    summaries = [p for p in sorted(DOCS.glob("*.md")) if p.name != "README.md"]
    assert summaries
    for path in summaries:
        assert headings(_text(path)), f"{path.name}: no numbered section headings"
        assert f"({path.name})" in readme, f"{path.name} is not listed in docs/research/README.md"


@pytest.mark.parametrize(
    "path", [p for p in sorted(DOCS.glob("*.md")) if p.name != "README.md"], ids=lambda p: p.name
)
def test_every_source_row_names_a_publisher_and_a_document(path: Path) -> None:
    md = _text(path)
    assert "| Publisher | Document |" in md, f"{path.name}: no source table"
    errors = source_table_errors(md)
    assert not errors, f"{path.name}:\n" + "\n".join(errors)


# The checks above must be able to fail.


def test_checks_reject_bad_citations() -> None:
    assert bare_research_refs("see " + "research" + "/factors.md §1")
    assert bare_research_refs("see shared/" + "research" + "/gpc.md §3")
    assert not bare_research_refs("see docs/research/factors.md §1")
    assert citations("x (docs/research/gpc.md §1.6, high)") == [("gpc.md", "1.6")]
    assert citations("docs/research/benchmarks.md §§1-8") == [("benchmarks.md", "1")]
    assert citations("docs/research/factors.md §7c-§7d") == [("factors.md", "7c")]
    available = headings("# T\n\n## 1. A\n\n### 1.6 B\n\n### 7c. C\n")
    assert available == {"1", "1.6", "7c"}
    assert not section_exists("9", available)
    good = "| Publisher | Document | URL |\n|---|---|---|\n| MEE | 公告2024年第12号 | none |\n"
    assert source_table_errors(good) == []
    assert source_table_errors(good.replace("| MEE |", "| — |"))
    assert source_table_errors(good.replace("| 公告2024年第12号 |", "|  |"))
    assert source_table_errors("| Item | Value |\n|---|---|\n| a | 1 |\n")
