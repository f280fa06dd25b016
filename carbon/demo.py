"""The Shimen Erlu demo: synthetic data with faults and true savings -> ledger -> snapshot.

:func:`build_demo` is what ``carbon demo`` and ``make demo`` run. Everything it makes is
labelled synthetic: meter data for the subdistrict are not public.

The synthetic exports contain *real* injected savings after the commissioning date of the
interventions that have their own meter (:data:`DEMO_TRUE_SAVINGS`), so measured savings
(:mod:`carbon.mv`) have something true to find; the ledger carries the interventions'
estimated (ex-ante) and verified (ex-post) avoided emissions side by side, never netted.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from carbon.pipeline import (
    InputSpec,
    InterventionSettings,
    LedgerScript,
    LedgerSettings,
    RunResult,
    TargetSpec,
    VerifySpec,
    run,
    write_script,
)

__all__ = [
    "DEMO_INPUT_ORDER",
    "DEMO_TARGET",
    "DEMO_TRUE_SAVINGS",
    "build_demo",
    "demo_script",
    "write_demo_config",
]

log = logging.getLogger(__name__)

DEMO_INPUT_ORDER = ("events", "gas", "water", "water_gbk", "electricity", "activities")
"""The order in which the demo ingests the synthetic files (events before registers)."""

DEMO_TRUE_SAVINGS: dict[str, tuple[str, float]] = {
    # intervention id: (its meter, consumption multiplier from commissioning on)
    "hengfeng_mailbox_led": ("E-HENGFENG-MAILBOX", 0.45),
    "kaidike_elevator_regen": ("E-KAIDIKE", 0.985),
}
"""Savings injected into the SYNTHETIC data: the metered intervention, its meter and the
multiplier applied to that meter's consumption from the commissioning date. They are the demo's
ground truth (an LED retrofit of the mailbox-room lighting circuit saving 55 %, within the
research's 47-75 % range; elevator regenerative drives saving 1.5 % of a building, about 30 %
of a 5 % elevator share), not measurements."""

DEMO_TARGET = {
    "base_year": 2023,
    "target_year": 2030,
    "reduction": 0.2,
    "basis": "ASSUMPTION for the demo: no numeric community target is published "
    "(docs/research/gpc.md §2, UNCONFIRMED)",
}
"""The target shown on the wall screen in the demo (an assumption, see ``basis``)."""


def demo_script(
    folder: Path,
    files: dict[str, Path],
    *,
    start: str,
    end: str,
    twin: str = "shimen_erlu",
    profile: str = "shanghai-2022",
    verify: Sequence[str] | None = None,
) -> LedgerScript:
    """The demo's ledger script: the synthetic inputs, the register, M&V and the target.

    Every input is pinned by its SHA-256; the metered interventions of
    :data:`DEMO_TRUE_SAVINGS` (those in ``verify``, default all) are verified against the
    synthetic daily temperature. ``twin`` is a packaged name or a folder relative to
    ``folder``; the store is named after it.
    """
    from carbon.snapshot import sha256_file

    def rel(path: Path) -> Path:
        return Path(path.resolve().relative_to(folder.resolve()).as_posix())

    inputs = [
        InputSpec(file=rel(files[key]), sha256=sha256_file(files[key]))
        for key in DEMO_INPUT_ORDER
        if key in files
    ]
    temperature = files["temperature"]
    return LedgerScript(
        ledger=LedgerSettings(
            store=Path(f"{Path(twin).name}.duckdb"),
            twin=twin,
            profile=profile,
            start=dt.date.fromisoformat(start),
            end=dt.date.fromisoformat(end),
            ne_threshold=0.5,
            fill_gaps=True,
        ),
        input=inputs,
        interventions=InterventionSettings(),
        verify=[
            VerifySpec(
                intervention=iid,
                meter=meter,
                temperature=rel(temperature),
                temperature_sha256=sha256_file(temperature),
            )
            for iid, (meter, _) in DEMO_TRUE_SAVINGS.items()
            if verify is None or iid in verify
        ],
        target=TargetSpec(**DEMO_TARGET),
        base=folder.resolve(),
    )


def write_demo_config(
    folder: Path,
    files: dict[str, Path],
    *,
    start: str,
    end: str,
    twin: str = "shimen_erlu",
    profile: str = "shanghai-2022",
    verify: Sequence[str] | None = None,
) -> Path:
    """Write the demo's ledger script ``folder/ledger.toml`` (see :func:`demo_script`)."""
    script = demo_script(folder, files, start=start, end=end, twin=twin, profile=profile,
                         verify=verify)
    return write_script(script, folder / "ledger.toml", header=DEMO_HEADER)


DEMO_HEADER = """Ledger script of the carbon-twin demo (SYNTHETIC inputs): the whole recipe.
Re-run with:  carbon ledger build ledger.toml --out snapshots
It publishes the same snapshot id as the demo; check it with carbon ledger verify."""


def build_demo(
    out: str | Path = "demo",
    *,
    seed: int = 42,
    start: str = "2023-01-01",
    end: str = "2025-01-01",
    faults: bool = True,
    synth_progress: Callable[[int, int], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    twin: str | Path = "shimen_erlu",
) -> RunResult:
    """Build the demo ledger of Shimen Erlu (or of ``twin``, a packaged name or a folder)
    under ``out``.

    Another twin gets the same recipe; the true savings of :data:`DEMO_TRUE_SAVINGS` are
    injected and verified only where its register and meters have them.

    Writes ``out/synthetic/`` (seeded synthetic exports from a year before ``start``, with
    injected faults and true savings), ``out/ledger.toml`` (the ledger script),
    ``out/shimen_erlu.duckdb`` (the store) and ``out/snapshots/<id>/`` (the published
    snapshot with interventions, named by ``out/snapshots/LATEST``) and
    ``out/snapshots/today.json`` (the last day of the data, :func:`carbon.today.publish_today`).

    Returns
    -------
    RunResult
        The ledger (its store still open), the snapshot and the batches.
    """
    from carbon.interventions import load_register
    from carbon.synth import generate
    from carbon.twin import load_twin, sites_dir

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    community = load_twin(twin)
    register = load_register(community)
    true = {
        iid: (meter, multiplier)
        for iid, (meter, multiplier) in DEMO_TRUE_SAVINGS.items()
        if iid in register.interventions and meter in community.meters
    }
    adjustments = {
        meter: [(str(register[iid].commissioned), multiplier)]
        for iid, (meter, multiplier) in true.items()
    }
    # A year of baseline before the earliest commissioning date, for the M&V.
    first = min([dt.date.fromisoformat(start), *(register[i].commissioned for i in true)])
    synth_start = dt.date(first.year - 1, first.month, 1)
    synth = generate(
        community,
        out / "synthetic",
        start=str(synth_start),
        end=end,
        seed=seed,
        faults=faults,
        progress=synth_progress,
        adjustments=adjustments,
    )
    packaged = community.folder == (sites_dir() / community.name).resolve()
    name = community.name if packaged else os.path.relpath(community.folder, out.resolve())
    config = write_demo_config(out, synth.files, start=start, end=end, twin=str(name),
                               verify=tuple(true))
    result = run(config, out / "snapshots", progress=progress)
    # The wall's Today view: the last day of the data (historical and synthetic, and labelled
    # so by carbon.today), so the demo shows it without a live collector.
    from carbon.today import publish_today

    ledger = result.ledger
    publish_today(ledger.store, ledger.twin, ledger.factors, out / "snapshots")
    return result
