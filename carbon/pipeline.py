"""Ledger scripts: the whole recipe of a published snapshot (DESIGN decision 10).

A ledger script is a TOML file that names everything that decides a snapshot: the twin, the
period, the factor profile, the inputs (the ledger is built from exactly the batches they
become), the intervention register, the M&V verifications, the target and every parameter.
``carbon ledger build SCRIPT --out DIR`` runs it; ``carbon demo`` writes one and runs it;
:func:`carbon.audit.verify` re-runs it in a fresh store. The manifest of the snapshot records
the script, so the snapshot id changes whenever any part of the recipe does.

Example script::

    [ledger]
    store = "shimen.duckdb"        # relative paths are relative to the script's folder
    twin = "shimen_erlu"           # a packaged twin, or a folder next to the script
    profile = "shanghai-2022"      # a packaged profile, or a profile TOML path
    units = "units.txt"            # optional: unit definitions loaded first (lbCO2, MMBtu ...)
    start = 2024-01-01
    end = 2025-01-01
    ne_threshold = 0.5
    fill_gaps = true               # estimate missing hours (flagged estimated)
    batches = "named"              # "named": exactly the inputs below; "all": every batch
    engine = "duckdb"              # or "spark" (pip install 'carbon-twin[spark]', Java 17)

    [[input]]
    file = "exports/elec.csv"
    sha256 = "9f2c..."             # optional pin: a different file is refused
    mapping = "exports/sgcc.toml"  # or an inline table, or omitted to guess from headers

    [interventions]                # estimated (ex-ante) savings of the register in place
    register = "interventions.toml"   # default: the twin's own register

    [[verify]]                     # measured (ex-post) savings, CalTRACK daily method
    intervention = "hengfeng_mailbox_led"
    meter = "E-HENGFENG-MAILBOX"
    temperature = "weather/daily.csv"

    [target]
    base_year = 2023
    target_year = 2030
    reduction = 0.2
    basis = "the community's published plan, §3"

    [policy]                       # base year and recalculation (carbon.recalculation)
    base_year = 2023
    significance_threshold = 0.05  # of the base-year BASIC total
    basis = "GPC v1.1 Ch. 12; GHG Protocol Corporate Standard Ch. 5"

Scripts are pydantic models (:class:`LedgerScript`) and are written with tomli-w
(:func:`write_script`), never by formatting strings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from carbon.errors import CarbonError
from carbon.warnings import QualityWarning

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.ingest import Batch
    from carbon.ledger import Ledger
    from carbon.snapshot import Snapshot
    from carbon.store import Store
    from carbon.twin import Twin

__all__ = [
    "ConfigError",
    "InputSpec",
    "LedgerConfig",
    "LedgerScript",
    "LedgerSettings",
    "ModelOutput",
    "PolicySpec",
    "RunResult",
    "TargetSpec",
    "VerifySpec",
    "build",
    "load_config",
    "load_script",
    "locate",
    "run",
    "run_models",
    "write_script",
]

log = logging.getLogger(__name__)


class ConfigError(CarbonError, ValueError):
    """A ledger script that cannot be used (the message names the file and the field)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Model):
    """One input file of a ledger script.

    Attributes
    ----------
    file : the file, relative to the script's folder.
    sha256 : optional pin of the file's SHA-256 [hex]; a different file is refused, and
        :func:`carbon.audit.verify` can find a moved file by it.
    mapping : a mapping TOML file, an inline mapping, or None to guess from the headers.
    sheet : the sheet of a workbook.
    supersede : rows for intervals already stored become a new revision (a correction).
    corrects : this input corrects an earlier ingest of the same file (same sheet) with other
        options (a wrong unit, mapping or sheet): the earlier batch is voided in the same
        transaction (:meth:`carbon.store.Store.ingest` ``supersedes=``). A rebuild in a fresh
        store has nothing to void and ingests the file as given.
    """

    file: Path
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    mapping: Path | dict[str, Any] | None = None
    sheet: str | None = None
    supersede: bool = False
    corrects: bool = False


class LedgerSettings(_Model):
    """The ``[ledger]`` table of a ledger script."""

    store: Path
    twin: str = "shimen_erlu"
    profile: str = "shanghai-2022"
    start: dt.date
    end: dt.date
    ne_threshold: float = Field(0.5, ge=0, le=1)
    fill_gaps: bool = False
    batches: Literal["named", "all"] = "named"
    close_through: dt.date | None = None
    threads: int | None = None
    engine: Literal["duckdb", "spark"] = "duckdb"
    master: str | None = None
    readings: str | list[str] | None = None
    activities: str | list[str] | None = None
    spark_config: dict[str, str] = Field(default_factory=dict)
    units: Path | None = None  # unit definitions (carbon.units.load_unit_file), loaded first

    @model_validator(mode="after")
    def _whole_months(self) -> LedgerSettings:
        if self.start.day != 1 or self.end.day != 1 or self.end <= self.start:
            raise ValueError(
                f"start {self.start} and end {self.end} must be first days of "
                "months, start before end"
            )
        return self


class InterventionSettings(_Model):
    """The ``[interventions]`` table: estimated (ex-ante) savings of the register in place.

    Attributes
    ----------
    register : the register file relative to the script; None = the twin's
        ``interventions.toml`` (the attribute is ``register_file``; the TOML key ``register``).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    register_file: Path | None = Field(None, alias="register")


class VerifySpec(_Model):
    """One ``[[verify]]`` table: measured savings of an intervention on its meter.

    Attributes
    ----------
    intervention : the intervention id in the register.
    meter : the meter whose daily use is modelled.
    temperature : daily mean temperature file [degC] (see :func:`carbon.mv.load_temperature`),
        relative to the script.
    temperature_sha256 : optional pin of the temperature file.
    day_types : ``auto`` (weekday/weekend for offices, else all), ``all`` or
        ``weekday_weekend``.
    baseline_days : the baseline before commissioning [day] (CalTRACK 2.0 §2.1.3.1.4: 365).
    confidence : the confidence level of the savings interval.
    method : ``daily`` (CalTRACK daily, :func:`carbon.mv.verify`) or ``billing`` (CalTRACK
        billing on the meter's monthly or bimonthly reads,
        :func:`carbon.mv_billing.verify_billing`).
    temperature_column : the temperature file's column (default: a known name such as
        ``temperature_degC``; :func:`carbon.mv.load_temperature`).
    """

    intervention: str
    meter: str
    temperature: Path
    temperature_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    temperature_column: str | None = None
    method: Literal["daily", "billing"] = "daily"
    day_types: Literal["auto", "all", "weekday_weekend"] = "auto"
    baseline_days: int = Field(365, ge=90)
    confidence: float = Field(0.90, gt=0, lt=1)


class TargetSpec(_Model):
    """The ``[target]`` table: a reduction target shown beside the inventory."""

    base_year: int
    target_year: int
    reduction: float = Field(gt=0, lt=1)
    basis: str = Field(min_length=1)


class PolicySpec(_Model):
    """The ``[policy]`` table: the base year and its recalculation policy.

    Attributes
    ----------
    base_year : the calendar year of the base inventory.
    significance_threshold : share of the base-year BASIC total at or above which a
        restatement triggers a recalculation of the base year [dimensionless]
        (:mod:`carbon.recalculation`; docs/research/uncertainty.md §4).
    basis : why this base year and threshold.
    """

    base_year: int
    significance_threshold: float = Field(0.05, gt=0, lt=1)
    basis: str = Field(
        "GPC v1.1 Ch. 12 and GHG Protocol Corporate Standard Ch. 5: recalculate for significant "
        "changes; 5 % is common practice",
        min_length=1,
    )


class LedgerScript(_Model):
    """A whole ledger script: settings, inputs, models, target and recalculation policy.

    ``base`` is the script's folder (set by :func:`load_script`, never by the file).
    """

    ledger: LedgerSettings
    input: list[InputSpec] = Field(default_factory=list)
    interventions: InterventionSettings | None = None
    verify: list[VerifySpec] = Field(default_factory=list)
    target: TargetSpec | None = None
    policy: PolicySpec | None = None
    base: Path = Field(Path("."), exclude=True)

    def resolve(self, path: Path) -> Path:
        """A path of the script, relative to the script's folder."""
        return path if path.is_absolute() else self.base / path

    def resolve_data(self, value: str | list[str] | None) -> list[str] | None:
        """Parquet inputs: URLs (``s3a://...``) as given, local paths relative to the script."""
        if value is None:
            return None
        paths = [value] if isinstance(value, str) else value
        return [p if "://" in p else str(self.resolve(Path(p))) for p in paths]

    def twin_source(self) -> str | Path:
        """The twin: a folder next to the script when there is one, else a packaged name."""
        local = self.resolve(Path(self.ledger.twin))
        return local if (local / "site.toml").exists() else self.ledger.twin

    def profile_source(self) -> str | Path:
        """The profile: a TOML path relative to the script, else a packaged name."""
        if self.ledger.profile.endswith(".toml"):
            return self.resolve(Path(self.ledger.profile))
        return self.ledger.profile

    def recipe(self) -> dict[str, Any]:
        """The script as JSON-ready data, paths as written (what the manifest records)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


LedgerConfig = LedgerScript
"""Former name of :class:`LedgerScript`."""


def load_script(path: str | Path) -> LedgerScript:
    """Read and validate a ledger script.

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
        raise ConfigError(f"{path}: no such ledger script") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a ledger script") from None
    if "base" in raw:  # set from the script's folder below, never by the file itself
        raise ConfigError(f"{path}: field 'base': Extra inputs are not permitted")
    return script_from_dict(raw, path.resolve().parent, str(path))


def script_from_dict(raw: dict[str, Any], base: Path, where: str = "script") -> LedgerScript:
    """Validate a script given as data (e.g. a manifest's ``recipe``) with its folder."""
    try:
        return LedgerScript(**raw, base=base)
    except ValidationError as exc:
        first = exc.errors()[0]
        field_name = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: field {field_name!r}: {first['msg']}") from None


load_config = load_script
"""Former name of :func:`load_script`."""


def write_script(script: LedgerScript, path: str | Path, *, header: str = "") -> Path:
    """Write a ledger script as TOML (tomli-w), with an optional comment header.

    The script's paths are written as they are (relative to its folder).
    """
    import tomli_w

    path = Path(path)
    data = script.model_dump(mode="json", exclude_none=True, exclude_defaults=True, by_alias=True)
    text = tomli_w.dumps(data)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    path.write_text(lines + text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------- locating files
def locate(
    path: Path,
    sha256: str | None,
    base: Path,
    search: Sequence[Path] = (),
    hints: Iterable[str | Path] = (),
) -> Path | None:
    """Find a recorded file: at its path, at a hinted path, or in ``search`` by its SHA-256.

    Parameters
    ----------
    path : the path as the script gives it (relative to ``base``).
    sha256 : the recorded SHA-256; None accepts the first existing candidate.
    base : the script's folder.
    search : folders to look in (their trees, by name first, then by content hash).
    hints : other paths the file was known at (a manifest's ``environment``).

    Returns
    -------
    Path or None
        The first candidate whose SHA-256 matches.
    """
    from carbon.snapshot import sha256_file

    def ok(p: Path) -> bool:
        return p.is_file() and (sha256 is None or sha256_file(p) == sha256)

    candidates = [path if path.is_absolute() else base / path, *(Path(h) for h in hints)]
    for folder in search:
        candidates += [folder / path, folder / path.name]
    for c in candidates:
        if ok(c):
            return c
    if sha256 is None:
        return None
    for folder in search:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and ok(p):
                return p
    return None


@dataclass
class _Finder:
    """Finds a script's files for a build (its folder) or a replay (moved inputs)."""

    script: LedgerScript
    search: Sequence[Path] = ()
    hints: dict[str, str] = field(default_factory=dict)

    def __call__(self, path: Path, sha256: str | None, what: str) -> Path:
        hint = [self.hints[sha256]] if sha256 in self.hints else []
        found = locate(path, sha256, self.script.base, self.search, hint)
        if found is None:
            where = self.script.resolve(path)
            if hint and not where.is_file():
                where = Path(hint[0])
            if sha256 is not None and where.is_file():
                raise ConfigError(
                    f"{what} {where} is not the recorded file (SHA-256 differs from "
                    f"{sha256[:12]}...); restore it, or give its folder with --inputs"
                )
            raise ConfigError(
                f"{what} {path} is missing (looked in {where.parent}"
                + "".join(f", {s}" for s in self.search)
                + "); give the folder that holds it with --inputs"
            )
        return found


# ------------------------------------------------------------------------------- models
@dataclass
class ModelOutput:
    """What the models of a script hand to the ledger.

    Attributes
    ----------
    entries : ledger extra entries of kinds ``avoided`` / ``removal``.
    tables : side tables for the snapshot (``interventions`` ...).
    meta : manifest facts (``register``, ``verifications``, ``target``).
    """

    entries: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def run_models(
    script: LedgerScript,
    store: Store,
    twin: Twin,
    factors: FactorSet,
    find: Callable[[Path, str | None, str], Path] | None = None,
) -> ModelOutput:
    """The script's models: estimated savings of the register, verified savings, target.

    Ex-ante: :func:`carbon.interventions.register_entries` for the interventions in place over
    the ledger period. Ex-post: for each ``[[verify]]`` table, a CalTRACK daily baseline on its
    meter (:func:`carbon.mv.verify`) and :func:`carbon.mv.verified_entries`. The side table
    ``interventions`` has one row per intervention: the register estimate over the period,
    verified tonnes with their uncertainty, and the realisation rate (verified / estimated over
    the verified months).

    Parameters
    ----------
    script : the ledger script.
    store : the store holding the script's inputs (for the meters' daily use).
    twin, factors : as loaded for the script.
    find : locates the script's files (default: relative to the script's folder).
    """
    from carbon import mv
    from carbon.gpc import classify, sector_use_type
    from carbon.interventions import estimate_register, load_register, register_entries
    from carbon.snapshot import sha256_file

    find = find or _Finder(script)
    s = script.ledger
    meta: dict[str, Any] = {}
    if script.target is not None:
        meta["target"] = script.target.model_dump(mode="json")
    if script.interventions is None and not script.verify:
        return ModelOutput(meta=meta)
    settings = script.interventions or InterventionSettings()
    reg_path = (
        find(settings.register_file, None, "intervention register")
        if settings.register_file is not None
        else None
    )
    register = load_register(twin, reg_path)
    meta["register"] = {"file": register.path.name, "sha256": register.sha256}
    table = estimate_register(register, factors, s.start, s.end)
    parts: list[pd.DataFrame] = []
    if script.interventions is not None:
        parts.append(register_entries(register, factors, s.start, s.end))
    extra: dict[str, dict[str, Any]] = {}
    verifications = []
    for spec in script.verify:
        if spec.intervention not in {i.id for i in register}:
            raise ConfigError(f"[[verify]]: no intervention {spec.intervention!r} in the register")
        if spec.meter not in twin.meters:
            raise ConfigError(
                f"[[verify]] {spec.intervention}: no meter {spec.meter!r} in the twin"
            )
        iv = register[spec.intervention]
        meter = twin.meters[spec.meter]
        use_type = meter.use_type or twin.use_type_of(meter.node)
        day_types: Literal["all", "weekday_weekend"]
        if spec.day_types == "auto":
            day_types = "weekday_weekend" if use_type == "office" else "all"
        else:
            day_types = spec.day_types
        temp_file = find(spec.temperature, spec.temperature_sha256, "temperature file")
        temperature = mv.load_temperature(temp_file, column=spec.temperature_column)
        if spec.method == "billing":
            from carbon import mv_billing

            result = mv_billing.verify_billing(
                mv_billing.bills_from_readings(store, spec.meter, tz=twin.site.timezone),
                temperature,
                iv.commissioned,
                baseline_days=spec.baseline_days,
                confidence=spec.confidence,
            )
        else:
            usage = mv.daily_usage(store, spec.meter, tz=twin.site.timezone, end=s.end)
            result = mv.verify(
                usage,
                temperature,
                iv.commissioned,
                day_types=day_types,
                baseline_days=spec.baseline_days,
                confidence=spec.confidence,
            )
        entries = mv.verified_entries(
            spec.intervention,
            meter.node,
            "electricity.grid",
            classify(
                "electricity.grid", sector_use_type(meter.use_type, twin.use_type_of(meter.node))
            ),
            result,
            factors,
            twin.region_of(meter.node),
        )
        parts.append(entries)
        verified_t = float(sum(entries.co2e_kg, Decimal(0))) / 1000
        share = result.uncertainty_kwh / result.avoided_kwh if result.avoided_kwh else 0.0
        est = iv.estimate(factors, result.reporting_start, result.reporting_end)
        est_t = float(est.monthly.avoided_co2e_kg.sum()) / 1000
        extra[spec.intervention] = {
            "verified_t": verified_t,
            "verified_low_t": verified_t * (1 - abs(share)),
            "verified_high_t": verified_t * (1 + abs(share)),
            "realisation_rate": mv.realisation_rate(est_t, verified_t) if est_t else None,
            "cvrmse": result.g14.get("cvrmse"),
            "g14_ok": bool(result.g14.get("ok", result.g14.get("cvrmse_ok"))),
        }
        verifications.append(
            {
                "intervention": spec.intervention,
                "meter": spec.meter,
                "temperature": {"file": temp_file.name, "sha256": sha256_file(temp_file)},
                "baseline": [str(result.model.baseline_start), str(result.model.baseline_end)],
                "reporting": [str(result.reporting_start), str(result.reporting_end)],
                "day_types": day_types,
                "cvrmse": _round(result.model.cvrmse),
                "nmbe": _round(result.model.nmbe),
                "avoided_kwh": _round(result.avoided_kwh),
                "uncertainty_kwh": _round(result.uncertainty_kwh),
            }
        )
        log.info(
            "verified %s: %.3f t (estimate %.3f t over the same months)",
            spec.intervention,
            verified_t,
            est_t,
        )
    for col in ("verified_t", "verified_low_t", "verified_high_t", "realisation_rate",
                "cvrmse", "g14_ok"):
        table[col] = table.intervention_id.map(lambda i, c=col: extra.get(i, {}).get(c))
    if verifications:
        meta["verifications"] = verifications
    parts = [p for p in parts if len(p)]
    return ModelOutput(
        entries=pd.concat(parts, ignore_index=True) if parts else None,
        tables={"interventions": table.round(6)},
        meta=meta,
    )


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 9)


# ------------------------------------------------------------------------------- running
@dataclass
class RunResult:
    """What a ledger script did."""

    ledger: Ledger
    snapshot: Snapshot
    batches: list[Batch] = field(default_factory=list)


@dataclass
class Built:
    """A built ledger with what its snapshot publishes beside the entries."""

    ledger: Ledger
    models: ModelOutput
    batches: list[Batch]
    provenance: dict[str, dict[str, Any]]
    located: dict[str, str]


def build(
    script: LedgerScript,
    store: Store,
    *,
    find: Callable[[Path, str | None, str], Path] | None = None,
    now: dict[str, dt.datetime] | None = None,
    names: dict[str, str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    engine: str | None = None,
    master: str | None = None,
) -> Built:
    """Run a script's ingestion, models and ledger build in an open store.

    Parameters
    ----------
    script : the ledger script.
    store : an open store (the script's own, or a fresh one for a replay).
    find : locates the script's files (default: relative to the script's folder).
    now : the ``now`` of each input's ingest by SHA-256 (a replay passes the recorded ones,
        so the ``future_timestamp`` check judges rows as it did).
    names : the file name each input was recorded under, by SHA-256: a replay of inputs found
        renamed records them under their published names (a file is its content).
    progress : optional ``(stage, done, total)`` callback; stage names the input file.
    engine, master : override the script's engine and Spark master.
    """
    from carbon.credits import EXPORT_KWH_PER_T, energy_recovery_amounts
    from carbon.factors import load_factor_set
    from carbon.ingest import fill_gaps
    from carbon.ledger import build_ledger
    from carbon.snapshot import sha256_file
    from carbon.synth import provenance
    from carbon.twin import load_twin

    find = find or _Finder(script)
    s = script.ledger
    units = _load_units(script, find)  # before the twin and the factors, whose units need it
    twin = load_twin(script.twin_source())
    factors = load_factor_set(script.profile_source())
    store.sync_twin(twin)
    batches: list[Batch] = []
    prov: dict[str, dict[str, Any]] = {}
    located: dict[str, str] = {}
    n = len(script.input)
    for i, spec in enumerate(script.input):
        file = find(spec.file, spec.sha256, "input")
        mapping: Any = spec.mapping
        if isinstance(mapping, Path):
            mapping = find(mapping, None, "mapping file")
        if progress:
            progress(file.name, i, n)
        sha = sha256_file(file)
        kwargs: dict[str, Any] = {"supersede": spec.supersede}
        if spec.sheet is not None:
            kwargs["sheet"] = spec.sheet
        if now and sha in now:
            kwargs["now"] = now[sha]
        if spec.corrects:
            earlier = _earlier_batch(store, sha, spec.sheet)
            if earlier:
                kwargs["supersedes"] = earlier
                kwargs["reason"] = f"corrected by the ledger script input {spec.file}"
        batch = store.ingest(file, mapping, **kwargs)
        if names and sha in names and names[sha] != file.name:
            store.con.execute(
                "UPDATE batches SET file_name = ? WHERE batch_id = ?", [names[sha], batch.batch_id]
            )
        batches.append(batch)
        located[batch.batch_id] = str(file.resolve())
        origin = provenance(file, sha)
        if origin:
            prov[batch.batch_id] = origin
    register_batch = _ingest_register(store, twin, now)
    if register_batch is not None:
        batches.append(register_batch)
    if progress:
        progress("ledger", n, n)
    if s.fill_gaps:  # the gaps of the named inputs, so that a fresh rebuild fills the same
        named_inputs = [b.batch_id for b in batches] if s.batches == "named" else None
        batches.append(fill_gaps(store, s.start, s.end, batches=named_inputs))
    made = run_models(script, store, twin, factors, find)
    named = [b.batch_id for b in batches] if s.batches == "named" else None
    credit = energy_recovery_amounts(store, twin, s.start, s.end, batches=named)
    if len(credit):  # the electricity incinerators recover: avoided, beside the inventory
        parts = [p for p in (made.entries, credit) if p is not None and len(p)]
        made.entries = pd.concat(parts, ignore_index=True)
        made.meta["energy_recovery"] = {
            "export_kwh_per_t": f"{EXPORT_KWH_PER_T.normalize():f}",
            "basis": "ASSUMPTION: Laogang gross generation x Yuqiao exported share "
            "(docs/research/waste.md §5)",
        }
    ledger = build_ledger(
        store,
        twin,
        factors,
        s.start,
        s.end,
        ne_threshold=s.ne_threshold,
        extra_entries=made.entries,
        engine=engine or s.engine,
        master=master or s.master,
        readings=script.resolve_data(s.readings),
        activities=script.resolve_data(s.activities),
        spark_config=s.spark_config or None,
        batches=named,
        synthetic_batches=sorted(b for b, p in prov.items() if p.get("synthetic")),
    )
    if script.policy is not None:
        made.meta["policy"] = _policy(script.policy, ledger)
    if units is not None:
        made.meta["units"] = units
    if register_batch is not None:
        ledger.warnings.extend(_certificates_beside_register(store, register_batch, named))
    return Built(ledger, made, batches, prov, located)


def _ingest_register(store: Store, twin: Twin, now: dict[str, Any] | None) -> Batch | None:
    """Ingest the site's instrument register (``instruments.toml``/``.csv``) as the
    ``electricity.green_certificate`` rows the market-based view values
    (:func:`carbon.instruments.activity_rows`; evidenced instruments only)."""
    from carbon.instruments import load_instruments, write_activity_rows
    from carbon.snapshot import sha256_file

    register = load_instruments(twin)
    if register is None:
        return None
    folder = store.path.parent / "instruments" if store.path else Path(tempfile.mkdtemp())
    path = write_activity_rows(register, folder)
    if path is None:
        return None
    sha = sha256_file(path)
    kwargs: dict[str, Any] = {"now": now[sha]} if now and sha in now else {}
    return store.ingest(path, **kwargs)


def _certificates_beside_register(
    store: Store, register_batch: Batch, named: list[str] | None
) -> list[QualityWarning]:
    """A warning when certificate rows come from inputs other than the register: the same
    kWh may then be claimed twice in the market-based view."""
    rows = store.con.execute(
        "SELECT DISTINCT a.batch_id, b.file_name FROM activities a JOIN batches b USING (batch_id)"
        " WHERE a.activity = 'electricity.green_certificate' AND a.batch_id <> ?"
        " AND b.voided_at IS NULL ORDER BY 1",
        [register_batch.batch_id],
    ).fetchall()
    if named is not None:
        rows = [r for r in rows if r[0] in named]
    if not rows:
        return []
    files = ", ".join(str(f) for _, f in rows)
    return [
        QualityWarning(
            "instruments.double_count",
            f"green-certificate rows come from {files} as well as from the site's instrument "
            "register: the same kWh may be claimed twice in the market-based view; keep the "
            "instruments in the register only",
            {"batches": [str(b) for b, _ in rows]},
        )
    ]


def _load_units(
    script: LedgerScript, find: Callable[[Path, str | None, str], Path]
) -> dict[str, str] | None:
    """Load the script's unit-definition file (``[ledger] units``); the manifest's ``units``
    (the file as the script names it and its SHA-256), or None without one."""
    from carbon.units import load_unit_file

    if script.ledger.units is None:
        return None
    path = find(script.ledger.units, None, "units file")
    return {"file": script.ledger.units.as_posix(), "sha256": load_unit_file(path)}


def _policy(spec: PolicySpec, ledger: Ledger) -> dict[str, Any]:
    """The ``policy`` of the manifest: the script's policy and its assessment of the ledger's
    adjustment entries (:func:`carbon.recalculation.assess_restatement`)."""
    from carbon.recalculation import RecalculationPolicy, assess_restatement

    policy = RecalculationPolicy(spec.base_year, spec.significance_threshold, spec.basis)
    assessment = assess_restatement(
        ledger.entries, ledger.inventory_context(), policy, ledger.ne_threshold
    )
    return {**spec.model_dump(mode="json"), "assessment": assessment.to_dict()}


def _earlier_batch(store: Store, sha256: str, sheet: str | None) -> str | None:
    """The newest current batch of the same file (and sheet), which a correction voids."""
    rows = store.con.execute(
        "SELECT batch_id, options FROM batches WHERE sha256 = ? AND voided_at IS NULL "
        "ORDER BY started_at DESC",
        [sha256],
    ).fetchall()
    for batch_id, options in rows:
        recorded = json.loads(options or "{}").get("sheet")
        if sheet is None or recorded is None or str(recorded) == str(sheet):
            return str(batch_id)
    return None


def run(
    config: LedgerScript | str | Path,
    out: str | Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    engine: str | None = None,
    master: str | None = None,
) -> RunResult:
    """Run a ledger script: ingest its inputs (in order), run its models, build, publish.

    Inputs seen before (same SHA-256 and options) are skipped, so re-running a script is cheap
    and changes nothing: it publishes the same snapshot id.

    Parameters
    ----------
    config : a :class:`LedgerScript` or a path to its TOML.
    out : the snapshots folder.
    progress : optional ``(stage, done, total)`` callback; stage names the input file.
    engine, master : override the script's ``engine`` (``duckdb`` or ``spark``) and Spark
        ``master``. Ingestion always runs in the DuckDB store; the engine runs the ledger SQL
        (see :mod:`carbon.engines`, docs/spark.md).
    """
    from carbon.engines import ENGINES
    from carbon.store import Store

    script = config if isinstance(config, LedgerScript) else load_script(config)
    s = script.ledger
    if (engine or s.engine) not in ENGINES:  # before anything is ingested
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    store_path = script.resolve(s.store)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path, threads=s.threads)
    try:
        built = build(script, store, progress=progress, engine=engine, master=master)
        snapshot = built.ledger.publish(
            out,
            close_through=s.close_through,
            recipe=script,
            models=built.models,
            provenance=built.provenance,
            located=built.located,
        )
    except BaseException:
        store.close()
        raise
    return RunResult(built.ledger, snapshot, built.batches)
