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
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from carbon.pipeline import ModelOutput, RunResult, run

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.interventions import Register
    from carbon.store import Store
    from carbon.twin import Twin

__all__ = [
    "DEMO_INPUT_ORDER",
    "DEMO_TARGET",
    "DEMO_TRUE_SAVINGS",
    "build_demo",
    "intervention_models",
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
    "(research/gpc.md §2, UNCONFIRMED)",
}
"""The target shown on the wall screen in the demo (an assumption, see ``basis``)."""


def write_demo_config(
    folder: Path,
    files: dict[str, Path],
    *,
    start: str,
    end: str,
    twin: str = "shimen_erlu",
    profile: str = "shanghai-2022",
) -> Path:
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


def intervention_models(
    register: Register,
    temperature: pd.Series,
    start: str | dt.date,
    end: str | dt.date,
    *,
    verify_meters: dict[str, tuple[str, float]] | None = None,
    target: dict[str, Any] | None = None,
) -> Callable[[Store, Twin, FactorSet], ModelOutput]:
    """A models callback for :func:`carbon.pipeline.run`: estimated and verified savings.

    Ex-ante: :func:`carbon.interventions.register_entries` for the interventions in place.
    Ex-post: for each intervention in ``verify_meters`` (id -> (meter, _)), a CalTRACK
    baseline on its meter (:func:`carbon.mv.verify`) and :func:`carbon.mv.verified_entries`.
    The side table ``interventions`` has one row per intervention: the register estimate over
    ``[start, end)``, verified tonnes with their uncertainty, and the realisation rate
    (verified / estimated over the verified months).

    Parameters
    ----------
    register : the intervention register.
    temperature : daily mean temperature [degC] covering the baselines and reporting periods.
    start, end : the ledger period [local dates].
    verify_meters : interventions to verify, with their meter.
    target : a reduction target for the manifest (shown on the wall screen).
    """
    from carbon import mv
    from carbon.gpc import classify
    from carbon.interventions import estimate_register, register_entries

    def models(store: Store, twin: Twin, factors: FactorSet) -> ModelOutput:
        table = estimate_register(register, factors, start, end)
        ex_ante = register_entries(register, factors, start, end)
        verified: list[pd.DataFrame] = []
        extra: dict[str, dict[str, Any]] = {}
        for iid, (meter_id, _) in (verify_meters or {}).items():
            iv = register[iid]
            meter = twin.meters[meter_id]
            use_type = meter.use_type or twin.use_type_of(meter.node)
            day_types: Literal["all", "weekday_weekend"] = (
                "weekday_weekend" if use_type == "office" else "all"
            )
            usage = mv.daily_usage(store, meter_id, tz=twin.site.timezone, end=end)
            result = mv.verify(usage, temperature, iv.commissioned, day_types=day_types)
            entries = mv.verified_entries(
                iid,
                meter.node,
                "electricity.grid",
                classify("electricity.grid", use_type),
                result,
                factors,
                twin.region_of(meter.node),
            )
            verified.append(entries)
            verified_t = float(sum(entries.co2e_kg, Decimal(0))) / 1000
            share = result.uncertainty_kwh / result.avoided_kwh if result.avoided_kwh else 0.0
            est = iv.estimate(factors, result.reporting_start, result.reporting_end)
            est_t = float(est.monthly.avoided_co2e_kg.sum()) / 1000
            extra[iid] = {
                "verified_t": verified_t,
                "verified_low_t": verified_t * (1 - abs(share)),
                "verified_high_t": verified_t * (1 + abs(share)),
                "realisation_rate": mv.realisation_rate(est_t, verified_t) if est_t else None,
                "cvrmse": result.g14.get("cvrmse"),
                "g14_ok": bool(result.g14.get("ok", result.g14.get("cvrmse_ok"))),
            }
            log.info(
                "verified %s: %.3f t (estimate %.3f t over the same months)", iid, verified_t, est_t
            )
        for col in (
            "verified_t",
            "verified_low_t",
            "verified_high_t",
            "realisation_rate",
            "cvrmse",
            "g14_ok",
        ):
            table[col] = table.intervention_id.map(lambda i, c=col: extra.get(i, {}).get(c))
        parts = [e for e in (ex_ante, *verified) if len(e)]
        meta: dict[str, Any] = {"register": {"file": register.path.name, "sha256": register.sha256}}
        if target:
            meta["target"] = target
        return ModelOutput(
            entries=pd.concat(parts, ignore_index=True) if parts else None,
            tables={"interventions": table.round(6)},
            meta=meta,
        )

    return models


def build_demo(
    out: str | Path = "demo",
    *,
    seed: int = 42,
    start: str = "2023-01-01",
    end: str = "2025-01-01",
    faults: bool = True,
    synth_progress: Callable[[int, int], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> RunResult:
    """Build the demo ledger of Shimen Erlu under ``out``.

    Writes ``out/synthetic/`` (seeded synthetic exports from a year before ``start``, with
    injected faults and true savings), ``out/ledger.toml`` (the ledger script),
    ``out/shimen_erlu.duckdb`` (the store) and ``out/snapshots/<id>/`` (the published
    snapshot with interventions, named by ``out/snapshots/LATEST``).

    Returns
    -------
    RunResult
        The ledger (its store still open), the snapshot and the batches.
    """
    from carbon.interventions import load_register
    from carbon.synth import generate
    from carbon.twin import load_twin

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    twin = load_twin("shimen_erlu")
    register = load_register(twin)
    adjustments = {
        meter: [(str(register[iid].commissioned), multiplier)]
        for iid, (meter, multiplier) in DEMO_TRUE_SAVINGS.items()
    }
    # A year of baseline before the earliest commissioning date, for the M&V.
    first = min(
        dt.date.fromisoformat(start), *(register[i].commissioned for i in DEMO_TRUE_SAVINGS)
    )
    synth_start = dt.date(first.year - 1, first.month, 1)
    synth = generate(
        twin,
        out / "synthetic",
        start=str(synth_start),
        end=end,
        seed=seed,
        faults=faults,
        progress=synth_progress,
        adjustments=adjustments,
    )
    config = write_demo_config(out, synth.files, start=start, end=end)
    models = intervention_models(
        register, synth.temperature, start, end, verify_meters=DEMO_TRUE_SAVINGS, target=DEMO_TARGET
    )
    return run(config, out / "snapshots", models=models, progress=progress)
