"""The Shimen Erlu demo: synthetic data with faults -> ingest -> ledger -> snapshot.

:func:`build_demo` is what ``carbon demo`` and ``make demo`` run. Everything it makes is
labelled synthetic: meter data for the subdistrict are not public.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from carbon.pipeline import RunResult, run

__all__ = ["DEMO_INPUT_ORDER", "build_demo", "write_demo_config"]

log = logging.getLogger(__name__)

DEMO_INPUT_ORDER = ("events", "gas", "water", "water_gbk", "electricity", "activities")
"""The order in which the demo ingests the synthetic files (events before registers)."""


def write_demo_config(folder: Path, files: dict[str, Path], *, start: str, end: str,
                      twin: str = "shimen_erlu", profile: str = "shanghai-2022") -> Path:
    """Write the ledger script ``folder/ledger.toml`` for the synthetic files."""
    lines = [
        "# Ledger script of the carbon-twin demo (SYNTHETIC inputs). Re-run with:",
        "#   carbon ledger build ledger.toml --out snapshots",
        "[ledger]",
        'store = "shimen_erlu.duckdb"',
        f'twin = "{twin}"',
        f'profile = "{profile}"',
        f"start = {start}",
        f"end = {end}",
        "ne_threshold = 0.5",
        "fill_gaps = true",
        "",
    ]
    for key in DEMO_INPUT_ORDER:
        if key in files:
            rel = files[key].resolve().relative_to(folder.resolve())
            lines += ["[[input]]", f'file = "{rel.as_posix()}"', ""]
    path = folder / "ledger.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def build_demo(
    out: str | Path = "demo",
    *,
    seed: int = 42,
    start: str = "2024-01-01",
    end: str = "2025-01-01",
    faults: bool = True,
    synth_progress: Callable[[int, int], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> RunResult:
    """Build the demo ledger of Shimen Erlu under ``out``.

    Writes ``out/synthetic/`` (seeded synthetic exports, with injected faults),
    ``out/ledger.toml`` (the ledger script), ``out/shimen_erlu.duckdb`` (the store) and
    ``out/snapshots/<id>/`` (the published snapshot, named by ``out/snapshots/LATEST``).

    Returns
    -------
    RunResult
        The ledger (its store still open), the snapshot and the batches.
    """
    from carbon.synth import generate
    from carbon.twin import load_twin

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    twin = load_twin("shimen_erlu")
    synth = generate(twin, out / "synthetic", start=start, end=end, seed=seed, faults=faults,
                     progress=synth_progress)
    config = write_demo_config(out, synth.files, start=start, end=end)
    return run(config, out / "snapshots", progress=progress)
