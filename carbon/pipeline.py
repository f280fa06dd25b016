"""Ledger scripts: a TOML config that ingests inputs, builds the ledger and publishes it.

This is what ``carbon ledger build CONFIG.toml --out DIR`` runs, and what an auditor re-runs.

Example config::

    [ledger]
    store = "shimen.duckdb"        # relative paths are relative to the config file
    twin = "shimen_erlu"
    profile = "shanghai-2022"
    start = 2024-01-01
    end = 2025-01-01
    ne_threshold = 0.5
    fill_gaps = true               # estimate missing hours (flagged estimated)
    engine = "duckdb"              # or "spark" (pip install 'carbon-twin[spark]', Java 17)
    # master = "spark://head:7077" # Spark master; default local[2]
    # readings = "s3a://bucket/city/readings/"       # Parquet inputs for a cluster run
    # activities = "s3a://bucket/city/activities/"   # (see docs/spark.md)
    # [ledger.spark_config]
    # "spark.hadoop.fs.s3a.endpoint" = "http://minio.internal:9000"

    [[input]]
    file = "synthetic/synthetic_meter_events.csv"   # events before the registers they explain

    [[input]]
    file = "exports/elec.csv"
    mapping = "exports/sgcc.toml"  # or an inline table, or omitted to guess from headers
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from carbon.errors import CarbonError

if TYPE_CHECKING:
    from carbon.audit import Snapshot
    from carbon.factors import FactorSet
    from carbon.ingest import Batch
    from carbon.ledger import Ledger
    from carbon.store import Store
    from carbon.twin import Twin

__all__ = [
    "ConfigError",
    "InputSpec",
    "LedgerConfig",
    "ModelOutput",
    "RunResult",
    "load_config",
    "run",
]

log = logging.getLogger(__name__)


class ConfigError(CarbonError, ValueError):
    """A ledger config file that cannot be used."""


class InputSpec(BaseModel):
    """One input file of a ledger script."""

    model_config = ConfigDict(extra="forbid")

    file: Path
    mapping: Path | dict[str, Any] | None = None
    supersede: bool = False


class LedgerSettings(BaseModel):
    """The ``[ledger]`` table of a ledger script."""

    model_config = ConfigDict(extra="forbid")

    store: Path
    twin: str = "shimen_erlu"
    profile: str = "shanghai-2022"
    start: dt.date
    end: dt.date
    ne_threshold: float = Field(0.5, ge=0, le=1)
    fill_gaps: bool = False
    close_through: dt.date | None = None
    threads: int | None = None
    engine: Literal["duckdb", "spark"] = "duckdb"
    master: str | None = None
    readings: str | list[str] | None = None
    activities: str | list[str] | None = None
    spark_config: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _whole_months(self) -> LedgerSettings:
        if self.start.day != 1 or self.end.day != 1 or self.end <= self.start:
            raise ValueError(
                f"start {self.start} and end {self.end} must be first days of "
                "months, start before end"
            )
        return self


class LedgerConfig(BaseModel):
    """A whole ledger script: settings plus ordered inputs."""

    model_config = ConfigDict(extra="forbid")

    ledger: LedgerSettings
    input: list[InputSpec] = Field(default_factory=list)
    base: Path = Path(".")

    def resolve(self, path: Path) -> Path:
        """A path of the config, relative to the config file's folder."""
        return path if path.is_absolute() else self.base / path

    def resolve_data(self, value: str | list[str] | None) -> list[str] | None:
        """Parquet inputs: URLs (``s3a://...``) as given, local paths relative to the config."""
        if value is None:
            return None
        paths = [value] if isinstance(value, str) else value
        return [p if "://" in p else str(self.resolve(Path(p))) for p in paths]

    def twin_source(self) -> str | Path:
        """The twin: a folder next to the config when there is one, else a packaged name."""
        local = self.resolve(Path(self.ledger.twin))
        return local if (local / "site.toml").exists() else self.ledger.twin


def load_config(path: str | Path) -> LedgerConfig:
    """Read and validate a ledger config TOML.

    Raises
    ------
    ConfigError
        Naming the file and the field.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if "base" in raw:  # set from the config file's folder below, never by the file itself
        raise ConfigError(f"{path}: field 'base': Extra inputs are not permitted")
    try:
        return LedgerConfig(**raw, base=path.resolve().parent)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: field {field_name!r}: {first['msg']}") from None


@dataclass
class ModelOutput:
    """What a models callback of :func:`run` hands back.

    Attributes
    ----------
    entries : ledger extra entries of kinds ``avoided`` / ``removal``.
    tables : side tables for the snapshot (``interventions`` ...).
    meta : extra manifest facts (``target``, ``register_sha256`` ...).
    """

    entries: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """What a ledger script did."""

    ledger: Ledger
    snapshot: Snapshot
    batches: list[Batch] = field(default_factory=list)


def run(
    config: LedgerConfig | str | Path,
    out: str | Path,
    *,
    extra_entries: Any = None,
    models: Callable[[Store, Twin, FactorSet], ModelOutput] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    engine: str | None = None,
    master: str | None = None,
) -> RunResult:
    """Run a ledger script: ingest its inputs (in order), build, publish to ``out``.

    Inputs seen before (same SHA-256) are skipped, so re-running a script is cheap and changes
    nothing.

    Parameters
    ----------
    config : a :class:`LedgerConfig` or a path to its TOML.
    out : the snapshots folder.
    extra_entries : model-made entries (avoided, removals) to include.
    models : called after ingestion with the store, twin and factor set; returns the model
        entries (estimated and verified savings, removals) plus side tables and manifest facts
        to publish (see :class:`ModelOutput`).
    progress : optional ``(stage, done, total)`` callback; stage names the input file.
    engine, master : override the config's ``engine`` (``duckdb`` or ``spark``) and Spark
        ``master``. Ingestion always runs in the DuckDB store; the engine runs the ledger SQL
        (see :mod:`carbon.engines`, docs/spark.md).
    """
    from carbon.engines import ENGINES
    from carbon.factors import load_factor_set
    from carbon.ingest import fill_gaps
    from carbon.ledger import build_ledger
    from carbon.store import Store
    from carbon.twin import load_twin

    cfg = config if isinstance(config, LedgerConfig) else load_config(config)
    s = cfg.ledger
    engine = engine or s.engine
    if engine not in ENGINES:  # before anything is ingested
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    twin = load_twin(cfg.twin_source())
    factors = load_factor_set(s.profile)
    store_path = cfg.resolve(s.store)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path, threads=s.threads)
    batches = []
    try:
        store.sync_twin(twin)
        for i, spec in enumerate(cfg.input):
            mapping: Any = spec.mapping
            if isinstance(mapping, Path):
                mapping = cfg.resolve(mapping)
            file = cfg.resolve(spec.file)
            if progress:
                progress(file.name, i, len(cfg.input))
            batches.append(store.ingest(file, mapping, supersede=spec.supersede))
        if progress:
            progress("ledger", len(cfg.input), len(cfg.input))
        if s.fill_gaps:
            batches.append(fill_gaps(store, s.start, s.end))
        made = models(store, twin, factors) if models else ModelOutput()
        entries = [e for e in (extra_entries, made.entries) if e is not None and len(e)]
        ledger = build_ledger(
            store,
            twin,
            factors,
            s.start,
            s.end,
            ne_threshold=s.ne_threshold,
            extra_entries=pd.concat(entries, ignore_index=True) if entries else None,
            engine=engine,
            master=master or s.master,
            readings=cfg.resolve_data(s.readings),
            activities=cfg.resolve_data(s.activities),
            spark_config=s.spark_config or None,
        )
        snapshot = ledger.publish(
            out, close_through=s.close_through, tables=made.tables, meta=made.meta
        )
    except BaseException:
        store.close()
        raise
    return RunResult(ledger, snapshot, batches)
