"""Audit: byte-for-byte verification, tracing and diffs of published snapshots.

The snapshot format itself (schema, atomic write, read, checksums) lives in
:mod:`carbon.snapshot`; this module re-runs and explains snapshots:

* :func:`verify` re-runs the snapshot's ledger script (its ``recipe``) in a fresh in-memory
  store, from its inputs found by SHA-256, publishes the rebuild into a temporary folder and
  compares every manifest field and every published file, naming what differs. It also checks
  that the folder is intact and that the manifest hashes to its id.
* :func:`trace` walks from an entry to its readings, input files and factor citation.
* :func:`diff` says what changed between two snapshots and which inputs explain it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.parquet as pq

from carbon.snapshot import (
    ENTRY_SCHEMA,
    FORMAT,
    Snapshot,
    SnapshotError,
    edited_fields,
    latest_snapshot,
    load_snapshot,
    write_entries,
)
from carbon.valuation import BIOGENIC_SUFFIX

if TYPE_CHECKING:
    from carbon.ledger import Ledger

__all__ = [
    "CAUSES",
    "ENTRY_SCHEMA",
    "FORMAT",
    "TRACE_LIMIT",
    "AuditError",
    "DiffResult",
    "Snapshot",
    "TraceResult",
    "VerifyResult",
    "diff",
    "latest_snapshot",
    "load_snapshot",
    "replay",
    "trace",
    "verify",
    "write_entries",
]

log = logging.getLogger(__name__)

AuditError = SnapshotError
"""A snapshot that is missing, malformed, or cannot be replayed (one-line message)."""

_CODE_FIELDS = ("carbon_version", "git_commit")
_CAUSES = ("recipe", "params", "period", "twin", "factor_set", "inputs", "synthetic_inputs")
"""Manifest fields that decide others, named first when several differ."""


# ---------------------------------------------------------------------------------- replay
def _twin(manifest: dict[str, Any]) -> Any:
    """The manifest's twin: from its recorded folder when that still exists, else by name."""
    from carbon.twin import load_twin

    folder = (manifest.get("environment") or {}).get("twin_folder")
    if folder and (Path(folder) / "site.toml").exists():
        return load_twin(folder)
    return load_twin(manifest["twin"]["name"])


def _factor_set(manifest: dict[str, Any]) -> Any:
    """The manifest's factor set: by its profile file when it had one, else by name (after
    the ledger script's units file, when it named one and it is still in place)."""
    from carbon.factors import load_factor_set
    from carbon.units import load_unit_file

    units = (((manifest.get("recipe") or {}).get("ledger")) or {}).get("units")
    folder = (manifest.get("environment") or {}).get("script_folder")
    if units and folder and (Path(folder) / units).is_file():
        load_unit_file(Path(folder) / units)
    path = (manifest.get("environment") or {}).get("profile_path")
    return load_factor_set(path if path and Path(path).exists() else manifest["factor_set"]["name"])


def _now(manifest: dict[str, Any]) -> dict[str, dt.datetime]:
    """The ``now`` each input was ingested with, by SHA-256 (from ``environment``)."""
    times = (manifest.get("environment") or {}).get("ingested_at") or {}
    return {
        i["sha256"]: dt.datetime.fromisoformat(times[i["batch_id"]])
        for i in manifest["inputs"]
        if i["batch_id"] in times
    }


def replay(
    snapshot: Snapshot | str | Path,
    *,
    inputs: str | Path | None = None,
    threads: int | None = None,
) -> Ledger:
    """Rebuild a snapshot's ledger from its recipe and inputs in a fresh in-memory store.

    Parameters
    ----------
    snapshot : the snapshot (or its folder).
    inputs : a folder holding the inputs when they moved: files are found there by name, then
        by SHA-256.
    threads : DuckDB threads.

    Returns
    -------
    Ledger
        With its store (in memory) open; the models' output is on ``ledger.models``.

    Raises
    ------
    AuditError
        When a recorded input cannot be found (one line, naming it).
    """
    from carbon.pipeline import ConfigError, _Finder, build, script_from_dict
    from carbon.store import Store

    snap = snapshot if isinstance(snapshot, Snapshot) else load_snapshot(snapshot)
    m = snap.manifest
    env = m.get("environment") or {}
    search = [Path(inputs)] if inputs is not None else []
    store = Store(":memory:", threads=threads)
    try:
        if m.get("recipe") is None:
            return _replay_inputs(snap, store, search)
        base = Path(env.get("script_folder") or snap.path)
        if not base.exists() and search:
            base = search[0]
        script = script_from_dict(dict(m["recipe"]), base, f"{snap.id} recipe")
        located = env.get("inputs") or {}
        hints = {
            i["sha256"]: located[i["batch_id"]] for i in m["inputs"] if i["batch_id"] in located
        }
        finder = _Finder(script, search, hints)
        if m.get("closed_entries"):
            closed = pq.read_table(snap.path / m["closed_entries"])
            store.con.register("_closed", closed)
            store.con.execute("INSERT INTO ledger_entries SELECT *, 'replay', now() FROM _closed")
            store.con.unregister("_closed")
        names = {i["sha256"]: i["file_name"] for i in m["inputs"]}
        built = build(script, store, find=finder, now=_now(m), names=names)
    except ConfigError as exc:
        store.close()
        raise AuditError(str(exc)) from None
    except BaseException:
        store.close()
        raise
    ledger = built.ledger
    ledger.models = built.models  # type: ignore[attr-defined]
    ledger.provenance = built.provenance  # type: ignore[attr-defined]
    return ledger


def _replay_inputs(snap: Snapshot, store: Any, search: list[Path]) -> Ledger:
    """Replay a snapshot published without a ledger script: its inputs in recorded order."""
    from carbon.ingest import fill_gaps
    from carbon.ledger import build_ledger
    from carbon.pipeline import locate

    m = snap.manifest
    twin = _twin(m)
    factors = _factor_set(m)
    store.sync_twin(twin)
    located = (m.get("environment") or {}).get("inputs") or {}
    now = _now(m)
    for inp in m["inputs"]:
        if inp["kind"] == "estimate":
            fill_gaps(
                store,
                inp["mapping"]["start"],
                inp["mapping"]["end"],
                meter_ids=inp["mapping"]["meters"],
            )
            continue
        hint = [located[inp["batch_id"]]] if inp["batch_id"] in located else []
        path = locate(Path(inp["file_name"]), inp["sha256"], snap.path, search, hint)
        if path is None:
            if hint and Path(hint[0]).is_file():
                raise AuditError(
                    f"input {inp['file_name']} changed (SHA-256 differs from the recorded "
                    f"{inp['sha256'][:12]}...) at {hint[0]}"
                )
            raise AuditError(
                f"input {inp['file_name']} ({inp['batch_id']}) is missing"
                + (f" at {hint[0]}" if hint else "")
                + "; give the folder that holds it with --inputs"
            )
        batch = store.ingest(
            path,
            inp["mapping"],
            supersede=inp["supersede"],
            now=now.get(inp["sha256"]),
        )
        if path.name != inp["file_name"]:  # found renamed: recorded under its published name
            store.con.execute(
                "UPDATE batches SET file_name = ? WHERE batch_id = ?",
                [inp["file_name"], batch.batch_id],
            )
    if m["counts"].get("avoided") or m["counts"].get("removal"):
        raise AuditError(
            f"{snap.id} was published without a ledger script and holds model entries "
            "(avoided, removal) that nothing recorded can rebuild; build it with a ledger "
            "script (carbon.pipeline) to make it verifiable"
        )
    if m.get("closed_entries"):
        closed = pq.read_table(snap.path / m["closed_entries"])
        store.con.register("_closed", closed)
        store.con.execute("INSERT INTO ledger_entries SELECT *, 'replay', now() FROM _closed")
        store.con.unregister("_closed")
    named = [i["batch_id"] for i in m["inputs"]] if m["params"].get("batches") == "named" else None
    return build_ledger(
        store,
        twin,
        factors,
        m["period"]["start"],
        m["period"]["end"],
        ne_threshold=m["params"]["ne_threshold"],
        batches=named,
    )


# ---------------------------------------------------------------------------------- verify
@dataclass
class VerifyResult:
    """The outcome of :func:`verify`; true only when verified.

    Attributes
    ----------
    ok : True when the folder is intact, the manifest hashes to its id, every manifest field
        and every file of the rebuild equals the published one.
    problems : what differs, one line each: the folder's files first, then the inputs, the
        manifest fields and the rebuilt files.
    first_difference : the first differing entry id (sorted), if any.
    fields : the manifest fields that differ (dotted paths).
    """

    ok: bool
    problems: list[str] = field(default_factory=list)
    first_difference: str | None = None
    fields: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return "verified: the rebuild is byte-identical"
        return "NOT verified: " + "; ".join(self.problems)


def _differences(a: Any, b: Any, path: str) -> list[str]:
    """Dotted paths where two JSON values differ (first few)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _differences(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += _differences(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [path]


def _comparable(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest without its id, environment, outputs and ingest times (checked elsewhere)."""
    out = {
        k: v
        for k, v in manifest.items()
        if k not in ("snapshot_id", "environment", "outputs", "digests", *_CODE_FIELDS)
    }
    out["inputs"] = list(manifest.get("inputs") or [])
    out["verifications"] = [
        {**v, "temperature": {"sha256": (v.get("temperature") or {}).get("sha256")}}
        for v in manifest.get("verifications") or []
        if isinstance(v, dict)
    ]
    return out


def verify(
    path: str | Path, *, inputs: str | Path | None = None, threads: int | None = None
) -> VerifyResult:
    """Re-run a snapshot's recipe and compare every manifest field and file with the published.

    Checks, in order: the folder (every listed file with its SHA-256, no unlisted file, the
    manifest hashing to its id); the recorded inputs (found at their recorded place, or in
    ``inputs`` by SHA-256); then rebuilds in a fresh in-memory store, publishes the rebuild
    into a temporary folder with the published code version, and compares every manifest field
    (naming the dotted path of each that differs) and every file (naming the first differing
    entry of ``entries``).

    Parameters
    ----------
    path : the snapshot folder (or a snapshots folder, taking its ``LATEST``).
    inputs : a folder holding moved inputs (found by SHA-256).
    threads : DuckDB threads for the rebuild.

    Returns
    -------
    VerifyResult
        Falsy when not verified.

    Raises
    ------
    AuditError
        When the snapshot cannot be read (a one-line message).
    """
    from carbon.snapshot import publish_ledger

    snapshot = load_snapshot(path)
    m = snapshot.manifest
    problems = snapshot.damaged()
    edited = edited_fields(m) if any("does not hash" in p for p in problems) else []
    try:
        rebuilt = replay(snapshot, inputs=inputs, threads=threads)
    except AuditError as exc:
        return VerifyResult(False, [*problems, str(exc)], None, edited)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            models = getattr(rebuilt, "models", None)
            again = publish_ledger(
                rebuilt,
                tmp,
                recipe=m.get("recipe"),
                tables=models.tables if models else None,
                meta=models.meta if models else None,
                provenance=getattr(rebuilt, "provenance", None),
                latest=False,
                code={k: m.get(k) for k in _CODE_FIELDS},
            )
            fields = sorted(
                _differences(_comparable(m), _comparable(again.manifest), ""),
                key=lambda f: (_CAUSES.index(f.split(".")[0].split("[")[0])
                               if f.split(".")[0].split("[")[0] in _CAUSES else len(_CAUSES)),
            )
            for f in fields[:10]:
                problems.append(f"manifest field {f} differs from the rebuild")
            if len(fields) > 10:
                problems.append(f"... and {len(fields) - 10} more manifest fields")
            first = None
            names = sorted(set(snapshot.outputs) | set(again.outputs))
            for name in names:
                if snapshot.outputs.get(name) != again.outputs.get(name):
                    problems.append(f"rebuilt {name} differs from the published one")
            entry_files = ("entries.csv", "entries.parquet")
            if any(
                snapshot.outputs.get(n) != again.outputs.get(n)
                or f"output {n} changed since publication (SHA-256 differs)" in problems
                for n in entry_files
            ):
                for name in entry_files:
                    rows = _entry_rows(snapshot.path / name)
                    if rows is None:
                        problems.append(f"published {name} cannot be read as entries")
                        continue
                    first = _first_difference(rows, _entry_rows(again.path / name))
                    if first:
                        problems.append(f"first differing entry: {first}")
                        break
    finally:
        rebuilt.store.close()
    fields = [*edited, *(f for f in fields if f not in edited)]
    return VerifyResult(not problems, problems, first, fields)


def _entry_rows(path: Path) -> pd.DataFrame | None:
    """An entries file as text indexed by entry id, or None when it cannot be read as one."""
    try:
        if path.suffix == ".parquet":
            frame = pq.read_table(path).to_pandas().astype(str)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return frame.set_index("entry_id")
    except Exception:  # a damaged file: unreadable, truncated, or its header changed
        return None


def _first_difference(ai: pd.DataFrame, bi: pd.DataFrame | None) -> str | None:
    if bi is None:
        return None
    ids = sorted(set(ai.index) | set(bi.index))
    for entry_id in ids:
        if entry_id not in ai.index or entry_id not in bi.index:
            return entry_id
        if not ai.loc[entry_id].equals(bi.loc[entry_id]):
            return entry_id
    return None


# ---------------------------------------------------------------------------------- trace
TRACE_LIMIT = 1000
"""Reading rows :func:`trace` returns by default; its totals always cover every row."""

_GEC = "electricity.green_certificate"
_LINE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
_METER_COLUMNS = [
    "meter_id", "start", "end", "amount", "quality", "file_name", "line", "row_number",
    "batch_id", "revision",
]
_ACTIVITY_COLUMNS = [
    "node_id", "activity", "start", "end", "amount", "quality", "file_name", "line",
    "row_number", "batch_id", "revision",
]
_STEP_COLUMNS = ["step", "amount", "unit", "rows", "explanation"]
_MODEL_KINDS = ("avoided", "removal")


def _steps_frame(rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows or [], columns=_STEP_COLUMNS)


@dataclass
class TraceResult:
    """Where an entry comes from, step by step, as an auditor follows it.

    Attributes
    ----------
    entry : the entry row (amounts as Decimal).
    readings : one row per reading behind the entry, at most ``limit`` rows, ordered by meter
        and time: ``meter_id, start, end`` (local times in the twin's zone, tz-aware),
        ``amount`` (Decimal, the activity's canonical unit, ``totals["unit"]``), ``quality``
        (measured / estimated), ``file_name``, ``line`` (the line an editor shows: see
        :func:`trace`), ``row_number`` (the store's 1-based data row), ``batch_id``,
        ``revision``. For activity-data entries (monthly rows, certificates) ``node_id,
        activity`` instead of ``meter_id`` and ``start, end`` as local dates. Empty for
        ``avoided`` / ``removal`` entries.
    factor : the factor row of ``factors.csv`` with its full citation ({} when none).
    batches : the input batches behind the entry, as the manifest records them (file, SHA-256,
        rows read / accepted / rejected).
    deductions : every step between the amount read and the amount booked, as rows ``step,
        amount`` (signed Decimal: added +, deducted -), ``unit, rows, explanation``. Steps:
        ``superseded`` (readings replaced by a later revision, not counted), ``voided``
        (readings of a voided batch), ``gap_fill`` (estimates added for missing intervals),
        ``green_certificates`` (kWh covered by green-power certificates, booked in the
        certificate entry with its own factor: market-based view),
        ``unclaimed_certificates`` (certificates beyond the month's consumption) and
        ``closed_entry`` (for an adjustment: the amount booked when the period was closed).
        ``totals["read"] + sum(amount) == entry amount``: see :attr:`balance`.
    totals : over every row, not only those shown: ``rows, amount`` (the rows behind the
        entry), ``measured_rows, measured, estimated_rows, estimated, superseded_rows,
        voided_rows, read`` (measured amount read from the input files, superseded and voided
        rows included), ``booked`` (the entry's amount), ``unit``, ``shown`` (rows in
        ``readings``), ``limit``.
    certificates : the certificate rows behind a ``green_certificates`` step (``node_id,
        start, end, amount`` [kWh], ``file_name, line, row_number, batch_id``).
    intervention : for ``avoided`` / ``removal`` entries: the intervention (``id, name_zh,
        name_en, kind, status, commissioned, node, lifetime_years``), the ``basis``
        (``ex_ante`` estimate or ``ex_post`` verified) and the ``register`` file it came from.
    parameters : the intervention's cited parameters
        (:meth:`carbon.interventions.Intervention.parameter_table`), None when unavailable.
    verification : for ex-post entries, the M&V fit of the manifest's ``verifications``
        (meter, baseline and reporting periods, ``cvrmse``, ``nmbe``, ``avoided_kwh``...).
    timezone : the twin's time zone, in which times are shown.
    source : where the readings came from: ``store`` (the snapshot's store, opened
        read-only), ``replay`` (its inputs replayed in memory) or ``manifest`` (model entries,
        which need no store).
    notes : anything the auditor should know (a register not found, amounts that do not add
        up because the store changed since the snapshot...).
    """

    entry: dict[str, Any]
    readings: pd.DataFrame
    factor: dict[str, Any]
    batches: list[dict[str, Any]]
    deductions: pd.DataFrame = field(default_factory=_steps_frame)
    totals: dict[str, Any] = field(default_factory=dict)
    certificates: pd.DataFrame = field(default_factory=pd.DataFrame)
    intervention: dict[str, Any] | None = None
    parameters: pd.DataFrame | None = None
    verification: dict[str, Any] | None = None
    timezone: str = "Asia/Shanghai"
    source: str = "store"
    notes: list[str] = field(default_factory=list)

    @property
    def balance(self) -> Decimal | None:
        """``read + steps - booked``: 0 when every step is named; None for model entries."""
        if "read" not in self.totals:
            return None
        steps = sum(self.deductions.amount, Decimal(0))
        return Decimal(self.totals["read"]) + steps - Decimal(self.totals["booked"])


def _trace_store(snapshot: Snapshot) -> tuple[Any, Any, str]:
    """The store a snapshot was built from (read-only), or a replay of its inputs.

    Returns ``(store, twin, source)``, ``source`` being ``store`` or ``replay``.
    """
    from carbon.store import Store, StoreError

    path = (snapshot.manifest.get("environment") or {}).get("store")
    if path and Path(path).exists():
        try:
            store = Store(path, read_only=True)
        except StoreError:
            store = None
        if store is not None:
            known = set(store.frame("SELECT batch_id FROM batches").batch_id)
            if {i["batch_id"] for i in snapshot.manifest["inputs"]} <= known:
                return store, _twin(snapshot.manifest), "store"
            store.close()
    ledger = replay(snapshot)
    return ledger.store, ledger.twin, "replay"


def _as_day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _note_tags(notes: Any) -> dict[str, str]:
    """An entry's notes as tags: ``flag -> ''`` and ``key=value -> value``."""
    if notes is None or (isinstance(notes, float) and notes != notes):
        return {}
    out = {}
    for token in re.split(r"[\s,]+", str(notes)):
        if token:
            key, _, value = token.partition("=")
            out[key] = value
    return out


def _line(file_name: str, kind: str, row_number: Any) -> int | None:
    """The line an editor shows for a data row: its row number + 1 (the header is line 1)."""
    if kind == "estimate" or row_number is None or row_number != row_number:
        return None
    if Path(str(file_name)).suffix.lower() not in _LINE_SUFFIXES:
        return None
    return int(row_number) + 1


def _windows(
    manifest: dict[str, Any], twin: Any, entry: dict[str, Any]
) -> list[tuple[dt.date, dt.date]]:
    """The local days of the entry's month in which its factor was in force.

    A factor that changes within a month splits it into entries per factor (see
    :func:`carbon.ledger.factor_segments`); the segments are resolved again here, over the
    entry's month, from the snapshot's factor set.
    """
    from carbon.errors import CarbonError
    from carbon.ledger import factor_segments

    start, end = _as_day(entry["period_start"]), _as_day(entry["period_end"])
    fid = entry.get("factor_id") or ""
    if not fid:
        return [(start, end)]
    activity = entry["activity"]
    region = twin.site.region if activity == _GEC else twin.region_of(entry["node_id"])
    try:
        segments, _ = factor_segments(_factor_set(manifest), [(activity, region)], start, end)
    except (CarbonError, KeyError):
        return [(start, end)]
    if segments.empty:
        return [(start, end)]
    hit = segments[(segments.factor_id == fid) & (segments.method == entry["method"])]
    pairs = zip(hit.valid_from, hit.valid_to, strict=True)
    return [(_as_day(a), _as_day(b)) for a, b in pairs] or [(start, end)]


_STATE = (
    "CASE WHEN revision < 0 THEN 'voided' WHEN revision = top THEN 'current' "
    "ELSE 'superseded' END AS state"
)


def _rows_sql(table: str, where: str, partition: str) -> str:
    """Rows of ``readings`` / ``activities`` with their state among the build's batches."""
    return f"""WITH r AS (
        SELECT *, max(CASE WHEN revision >= 0 THEN revision END)
                      OVER (PARTITION BY {partition}) AS top
        FROM {table} WHERE list_contains(?, batch_id) AND {where})
    SELECT *, {_STATE} FROM r"""


def _query(store: Any, sql: str, params: list[Any]) -> pd.DataFrame:
    """A query through Arrow: DECIMAL stays Decimal, TIMESTAMPTZ stays tz-aware."""
    return store.con.sql(sql, params=params).to_arrow_table().to_pandas()


def _meter_rows(
    store: Any,
    meters: list[str],
    builds: list[str],
    windows: list[tuple[dt.date, dt.date]],
    tz: str,
    limit: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows behind the entry, at most ``limit``; totals per state, quality and batch)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)

    def utc(d: dt.date) -> dt.datetime:
        return dt.datetime.combine(d, dt.time(), zone).astimezone(dt.UTC)

    spans = " OR ".join(["(ts_start >= ? AND ts_start < ?)"] * len(windows))
    bounds = [utc(d) for w in windows for d in w]
    base = _rows_sql("readings", f"list_contains(?, meter_id) AND ({spans})", "meter_id, ts_start")
    rows, totals = _rows_and_totals(
        store,
        base,
        [builds, meters, *bounds],
        'meter_id, ts_start AS start, ts_end AS "end"',
        "meter_id, ts_start",
        limit,
    )
    for col in ("start", "end"):
        rows[col] = pd.to_datetime(rows[col], utc=True).dt.tz_convert(tz)
    return rows, totals


def _activity_rows(
    store: Any,
    node_id: str,
    activity: str,
    builds: list[str],
    windows: list[tuple[dt.date, dt.date]],
    limit: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Activity rows of a node-month, as :func:`_meter_rows`."""
    spans = " OR ".join(["(period_start >= ? AND period_start < ?)"] * len(windows))
    base = _rows_sql(
        "activities",
        f"node_id = ? AND activity = ? AND ({spans})",
        "node_id, activity, period_start, period_end",
    )
    return _rows_and_totals(
        store,
        base,
        [builds, node_id, activity, *(d for w in windows for d in w)],
        'node_id, activity, period_start AS start, period_end AS "end"',
        "period_start, period_end, batch_id, row_number",
        limit,
    )


def _rows_and_totals(
    store: Any, base: str, params: list[Any], keys: str, order: str, limit: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The current rows of ``base`` (at most ``limit``) and totals per state, quality, batch."""
    totals = _query(
        store,
        f"SELECT state, quality, batch_id, count(*) AS n, sum(amount) AS amount "
        f"FROM ({base}) GROUP BY ALL ORDER BY ALL",
        params,
    )
    rows = _query(
        store,
        f"SELECT {keys}, amount, quality, batch_id, row_number, revision FROM ({base}) "
        f"WHERE state = 'current' ORDER BY {order} LIMIT ?",
        [*params, limit],
    )
    return rows, totals


def _with_files(
    rows: pd.DataFrame, files: dict[str, tuple[str, str]], columns: list[str]
) -> pd.DataFrame:
    rows = rows.copy()
    rows["file_name"] = [files.get(b, (b, ""))[0] for b in rows.batch_id]
    rows["line"] = pd.array(
        [
            _line(files.get(b, ("", ""))[0], files.get(b, ("", "estimate"))[1], n)
            for b, n in zip(rows.batch_id, rows.row_number, strict=True)
        ],
        dtype="Int64",
    )
    return rows[columns].reset_index(drop=True)


def _sum(frame: pd.DataFrame, mask: pd.Series) -> Decimal:
    return sum(frame.loc[mask, "amount"], Decimal(0))


def _count(frame: pd.DataFrame, mask: pd.Series) -> int:
    return int(frame.loc[mask, "n"].sum())


def _rows_word(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _where(frame: pd.DataFrame, limit: int = 3) -> str:
    """``file:line`` of the first few rows of a frame (with ``file_name``, ``line``)."""
    spots = [
        str(f) if pd.isna(n) else f"{f}:{n}"
        for f, n in zip(frame.file_name, frame.line, strict=True)
    ]
    more = f" and {len(spots) - limit} more" if len(spots) > limit else ""
    return ", ".join(spots[:limit]) + more


def _trace_amounts(
    snapshot: Snapshot,
    entries: pd.DataFrame,
    entry: dict[str, Any],
    store: Any,
    twin: Any,
    result: TraceResult,
    limit: int,
) -> None:
    """Fill a trace's readings, totals and deductions from a store."""
    from carbon.gpc import classify

    m = snapshot.manifest
    tz = result.timezone
    unit = entry.get("unit") or ""
    builds = [i["batch_id"] for i in m["inputs"]]
    files = {
        b: (f, k)
        for b, f, k in store.con.execute(
            "SELECT batch_id, file_name, kind FROM batches WHERE list_contains(?, batch_id)",
            [builds],
        ).fetchall()
    }
    node, activity = entry["node_id"], entry["activity"]
    if entry["kind"] == "memo":  # a memo item books its parent activity's amount
        activity = activity.removesuffix(BIOGENIC_SUFFIX)
    meters = twin.meters_frame()
    meters = meters[(meters.node_id == node) & (meters.activity == activity)]
    meters = [
        mid
        for mid, a, use in zip(meters.meter_id, meters.activity, meters.use_type, strict=True)
        if classify(a, None if pd.isna(use) else use) == entry["gpc_ref"]
    ]
    windows = _windows(m, twin, entry)
    if meters:
        rows, agg = _meter_rows(store, meters, builds, windows, tz, limit)
        rows = _with_files(rows, files, _METER_COLUMNS)
    else:
        rows, agg = _activity_rows(store, node, activity, builds, windows, limit)
        rows = _with_files(rows, files, _ACTIVITY_COLUMNS)
    result.readings = rows
    current, measured = agg.state == "current", agg.quality != "estimated"
    steps: list[dict[str, Any]] = []
    for state, word in (
        ("superseded", "replaced by a later revision of the same interval; not counted"),
        ("voided", "of a voided batch; not counted"),
    ):
        for batch_id, part in agg[(agg.state == state) & measured].groupby("batch_id"):
            n, name = int(part.n.sum()), files.get(batch_id, (batch_id,))[0]
            steps.append(
                {
                    "step": state,
                    "amount": -sum(part.amount, Decimal(0)),
                    "unit": unit,
                    "rows": n,
                    "explanation": f"{_rows_word(n)} of {name} ({batch_id}) {word}",
                }
            )
    estimated = _sum(agg, current & ~measured)
    if _count(agg, current & ~measured):
        batches = sorted(set(agg.loc[current & ~measured, "batch_id"]))
        steps.append(
            {
                "step": "gap_fill",
                "amount": estimated,
                "unit": unit,
                "rows": _count(agg, current & ~measured),
                "explanation": f"estimates added (quality 'estimated', {', '.join(batches)})"
                + (
                    " for missing intervals: the mean of the meter's measured readings at the "
                    "same local hour and day type in the month"
                    if meters
                    else ""
                ),
            }
        )
    read = _sum(agg, measured)
    fresh = read + sum((s["amount"] for s in steps), Decimal(0))
    original = entry
    if entry["kind"] == "adjustment":
        hit = entries[entries.entry_id == entry.get("adjusts")]
        original = hit.iloc[0].to_dict() if len(hit) else entry
    same_month = (
        (entries.node_id == node)
        & (entries.period_start == entry["period_start"])
        & (entries.gpc_ref == entry["gpc_ref"])
        & entries.kind.isin(["emission", "adjustment"])
    )
    if activity == "electricity.grid" and entry["method"] == "market" and (
        "gec_covered" in _note_tags(original.get("notes"))
    ):
        gec = entries[same_month & (entries.activity == _GEC)]
        claimed = sum(gec.amount, Decimal(0))
        certs, n_certs = pd.DataFrame(), 0
        if len(gec):
            first = gec.iloc[0].to_dict()
            certs, cagg = _activity_rows(
                store, node, _GEC, builds, _windows(m, twin, first), limit
            )
            certs = _with_files(certs, files, _ACTIVITY_COLUMNS)
            volume = _sum(cagg, cagg.state == "current")
            n_certs = _count(cagg, cagg.state == "current")
            where = _where(certs)
            capped = (
                f"; {volume} {unit} of certificates, capped at the month's consumption"
                if volume > claimed
                else ""
            )
            why = (
                f"covered by green-power certificates: {_rows_word(n_certs)} ({where})"
                f"{capped}: "
                f"booked in entry {first['entry_id']} at the certificate factor "
                f"{first['factor_id']} ({first['factor_co2e']} kgCO2e/{unit}); the rest keeps "
                f"this entry's factor"
            )
        else:
            why = "covered by green-power certificates (no certificate entry found)"
            claimed = fresh - Decimal(entry["amount"])
        result.certificates = certs
        steps.append(
            {"step": "green_certificates", "amount": -claimed, "unit": unit, "rows": n_certs,
             "explanation": why}
        )
    if activity == _GEC:
        total = read + sum((s["amount"] for s in steps), Decimal(0))
        covered = entries[same_month & (entries.activity == "electricity.grid")
                          & (entries.method == "market")]
        covered = covered[[("gec_covered" in _note_tags(n)) for n in covered.notes]]
        booked_fresh = sum(entries[same_month & (entries.activity == _GEC)].amount, Decimal(0))
        if total > booked_fresh:
            used = (
                f" ({booked_fresh} {unit} of market-based consumption in entry "
                f"{covered.entry_id.iloc[0]})" if len(covered) else ""
            )
            steps.append(
                {
                    "step": "unclaimed_certificates",
                    "amount": booked_fresh - total,
                    "unit": unit,
                    "rows": 0,
                    "explanation": "certificates beyond the node's market-based consumption of "
                    f"the month{used} are not claimed (warning gec.unused)",
                }
            )
    if entry["kind"] == "adjustment" and original is not entry:
        steps.append(
            {
                "step": "closed_entry",
                "amount": -Decimal(original["amount"]),
                "unit": unit,
                "rows": 0,
                "explanation": f"already booked in entry {original['entry_id']} when its period "
                f"was closed ({original['co2e_kg']} kgCO2e); the adjustment books the difference",
            }
        )
    result.deductions = _steps_frame(steps)
    result.totals = {
        "rows": _count(agg, current),
        "amount": _sum(agg, current),
        "measured_rows": _count(agg, current & measured),
        "measured": _sum(agg, current & measured),
        "estimated_rows": _count(agg, current & ~measured),
        "estimated": estimated,
        "superseded_rows": _count(agg, agg.state == "superseded"),
        "voided_rows": _count(agg, agg.state == "voided"),
        "read": read,
        "booked": Decimal(entry["amount"]),
        "unit": unit,
        "shown": len(rows),
        "limit": limit,
    }
    off = result.balance
    if off:
        result.notes.append(
            f"read {read} {unit} and the steps above miss the booked amount by {-off} {unit}"
            + (
                ": the store changed since the snapshot (a batch voided or superseded); trace "
                "a copy of the snapshot without its store to replay the recorded inputs"
                if result.source == "store"
                else ""
            )
        )


def _register(snapshot: Snapshot, twin: Any) -> tuple[Any, str | None]:
    """The intervention register the snapshot's models used, found by its SHA-256.

    Looked for where the recipe names it (relative to the script's folder), then in the twin's
    folder. Returns ``(register or None, why not)``.
    """
    from carbon.errors import CarbonError
    from carbon.interventions import load_register
    from carbon.pipeline import locate

    m = snapshot.manifest
    recorded = m.get("register") or {}
    name = recorded.get("file") or "interventions.toml"
    given = ((m.get("recipe") or {}).get("interventions") or {}).get("register")
    base = Path((m.get("environment") or {}).get("script_folder") or snapshot.path)
    path = locate(
        Path(given or name), recorded.get("sha256"), base, [], [twin.folder / name]
    )
    if path is None:
        sha = (recorded.get("sha256") or "")[:12]
        return None, (
            f"the register {name} (sha256 {sha}...) is not found at {base} or {twin.folder}"
        )
    try:
        return load_register(twin, path), None
    except CarbonError as exc:
        return None, f"the register {path} cannot be read: {exc}"


def _trace_model(snapshot: Snapshot, entry: dict[str, Any], result: TraceResult) -> None:
    """Fill a trace of an ``avoided`` / ``removal`` entry: intervention, parameters, M&V."""
    from carbon.errors import CarbonError

    m = snapshot.manifest
    tags = _note_tags(entry.get("notes"))
    iid = tags.get("intervention")
    basis = "ex_post" if "ex_post" in tags else "ex_ante"
    result.source = "manifest"
    if iid is None:
        result.notes.append("the entry's notes name no intervention")
        return
    info: dict[str, Any] = {"id": iid, "basis": basis, "flow": tags.get("flow")}
    try:
        twin = _twin(m)
        register, why = _register(snapshot, twin)
    except CarbonError as exc:
        register, why = None, f"the twin cannot be loaded: {exc}"
    if register is not None and iid in {i.id for i in register}:
        iv = register[iid]
        info.update(
            name_zh=iv.name_zh,
            name_en=iv.name_en,
            kind=iv.kind,
            status=iv.status,
            commissioned=str(iv.commissioned),
            node=iv.node,
            lifetime_years=iv.lifetime_years,
            register=f"{register.path.name} (sha256 {register.sha256[:12]}...)",
        )
        result.parameters = iv.parameter_table()
    else:
        if register is not None:
            why = f"the register {register.path} has no intervention {iid!r}"
        result.notes.append(f"{why}; parameters unavailable")
        if snapshot.has("interventions.csv"):
            table = snapshot.table("interventions")
            row = table[table.intervention_id == iid]
            if len(row):
                r = row.iloc[0]
                info.update(
                    name_zh=r.get("name_zh"),
                    name_en=r.get("name_en"),
                    kind=r.get("kind"),
                    status=r.get("status"),
                    commissioned=str(r.get("commissioned")),
                    node=r.get("node_id"),
                    lifetime_years=r.get("lifetime_years"),
                    register="the snapshot's interventions.csv",
                )
    result.intervention = info
    if basis == "ex_post":
        fits = [v for v in m.get("verifications") or [] if v.get("intervention") == iid]
        if fits:
            result.verification = dict(fits[0])
        else:
            result.notes.append(f"the manifest records no M&V verification of {iid}")


def trace(path: str | Path, entry_id: str, *, limit: int = TRACE_LIMIT) -> TraceResult:
    """Walk from an entry to its readings, the steps to its booked amount, inputs and factor.

    Readings are the rows of the store the snapshot was built from when it is still there
    (opened read-only) and holds the snapshot's batches; otherwise the snapshot's inputs are
    replayed (:func:`replay`), so a trace also works on a copy of the snapshot away from its
    store. Only rows of the snapshot's own batches count, the current revision of each
    interval among them, on the local days of the entry's month in which its factor was in
    force; the meters are those of the entry's node, activity and GPC row.

    Line numbers: the store keeps each row's 1-based *data row* (``row_number``, the first row
    after the header is 1). For CSV and workbook inputs ``line = row_number + 1``, the line an
    editor shows with the header on line 1 (for a register meter's reading: the line of the
    register read that closes the interval). That holds for files with one header line and no
    line breaks inside quoted values; Parquet inputs and gap-fill estimates have no line.

    ``avoided`` / ``removal`` entries have no readings: the trace names the intervention, its
    cited parameters (from the register recorded in the manifest, found by its SHA-256) and,
    for ex-post entries, the M&V fit of the manifest's ``verifications``. They need no store.

    Parameters
    ----------
    path : the snapshot folder (or a snapshots folder, taking its ``LATEST``).
    entry_id : the entry id.
    limit : most reading rows to return [rows >= 0]; totals cover every row.

    Returns
    -------
    TraceResult

    Raises
    ------
    AuditError
        When the snapshot has no such entry, or ``limit`` is negative (one line).
    """
    if limit < 0:
        raise AuditError(f"limit must be 0 or more, not {limit}")
    snapshot = load_snapshot(path)
    m = snapshot.manifest
    entries = snapshot.entries()
    hit = entries[entries.entry_id == entry_id]
    if hit.empty:
        close = [i for i in entries.entry_id if i.startswith(entry_id[:6])][:5]
        raise AuditError(f"no entry {entry_id!r} in snapshot {snapshot.id}; close ids: {close}")
    entry = hit.iloc[0].to_dict()
    batch_ids = [b for b in str(entry.get("source_batches") or "").split(",") if b]
    batches = [i for i in m["inputs"] if i["batch_id"] in batch_ids]
    factor: dict[str, Any] = {}
    if entry.get("factor_id") and snapshot.has("factors.csv"):
        factors = snapshot.table("factors")
        frow = factors[factors.factor_id == entry["factor_id"]]
        factor = frow.iloc[0].to_dict() if len(frow) else {}
    tz = str((m.get("twin") or {}).get("timezone") or "Asia/Shanghai")
    result = TraceResult(
        entry, pd.DataFrame(columns=_METER_COLUMNS), factor, batches, timezone=tz
    )
    if entry["kind"] in _MODEL_KINDS:
        _trace_model(snapshot, entry, result)
        return result
    store, twin, result.source = _trace_store(snapshot)
    try:
        _trace_amounts(snapshot, entries, entry, store, twin, result, limit)
    finally:
        store.close()
    return result


# ---------------------------------------------------------------------------------- diff
_KEY = ["kind", "node_id", "period_start", "gpc_ref", "activity", "method", "model"]
CAUSES = ("factor", "input", "restatement", "model", "added", "removed")
"""Why an entry differs between two snapshots (see :func:`diff`)."""

_SIDE = ["entry_id", "amount", "unit", "factor_id", "factor_co2e", "co2e_kg", "source_batches"]


@dataclass
class DiffResult:
    """What changed between two snapshots, entry by entry, and why.

    Attributes
    ----------
    a, b : the snapshot ids (old, new).
    entries : every entry that differs, largest change first: its natural key ``kind,
        node_id, period_start, gpc_ref, activity, method, model`` (``model``: the intervention
        tags of an avoided / removal entry, else ''), ``entry_id_old, entry_id_new``,
        ``amount_old, amount_new, unit``, ``factor_id_old, factor_id_new``,
        ``factor_co2e_old, factor_co2e_new``, ``co2e_kg_old, co2e_kg_new`` (Decimal, None
        without a counterpart), ``t_old, t_new, delta_t`` [t CO2e], ``delta_pct`` [%, NaN
        from 0], ``cause`` (one of :data:`CAUSES`) and ``detail`` (what changed, in words).
    explanations : what changed around the entries: inputs added or removed (by SHA-256),
        factor set, twin, period, recipe fields, register, M&V, parameters, code.
    totals : ``<year>.<GPC total>_<view>`` (``2024.BASIC_location``) -> (old, new) [t CO2e],
        per calendar year as the manifests record them.
    unchanged : entries equal in both.

    ``d["added"]``, ``d["removed"]``, ``d["changed"]``, ``d["explanations"]`` and
    ``d["totals"]`` work as on the dict :func:`diff` returned before.
    """

    a: str
    b: str
    entries: pd.DataFrame
    explanations: list[str]
    totals: dict[str, tuple[float | None, float | None]]
    unchanged: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Entries per cause (every cause of :data:`CAUSES`, zeros included)."""
        seen = self.entries.cause.value_counts()
        return {c: int(seen.get(c, 0)) for c in CAUSES}

    def _side(self, cause: str, suffix: str) -> pd.DataFrame:
        rows = self.entries[self.entries.cause == cause]
        cols = [c for c in _KEY if c != "model"]
        out = rows[cols].copy()
        out.insert(0, "entry_id", rows[f"entry_id_{suffix}"])
        for col in ("amount", "unit", "factor_id", "co2e_kg"):
            out[col] = rows[f"{col}_{suffix}"] if col != "unit" else rows.unit
        out["t"] = rows[f"t_{suffix}"]
        return out.reset_index(drop=True)

    @property
    def added(self) -> pd.DataFrame:
        """Entries only in ``b``: ``entry_id``, the key, ``amount, unit, factor_id, co2e_kg, t``."""
        return self._side("added", "new")

    @property
    def removed(self) -> pd.DataFrame:
        """Entries only in ``a``, as :attr:`added`."""
        return self._side("removed", "old")

    @property
    def changed(self) -> pd.DataFrame:
        """Entries in both that differ, with old and new values, deltas and cause."""
        e = self.entries
        return e[e.entry_id_old.notna() & e.entry_id_new.notna()].reset_index(drop=True)

    def __getitem__(self, key: str) -> Any:
        if key in ("added", "removed", "changed", "entries", "explanations", "totals", "counts"):
            return getattr(self, key)
        raise KeyError(key)

    def keys(self) -> list[str]:
        return ["added", "removed", "changed", "entries", "explanations", "totals", "counts"]

    def summary(self) -> str:
        """One line: counts by cause."""
        parts = [f"{n} {c}" for c, n in self.counts.items() if n]
        return (", ".join(parts) or "no entry differs") + f"; {self.unchanged} unchanged"


def _model_tag(kind: str, notes: Any) -> str:
    if kind not in _MODEL_KINDS:
        return ""
    tags = _note_tags(notes)
    return " ".join(
        t if not v else f"{t}={v}"
        for t, v in tags.items()
        if t in ("ex_ante", "ex_post", "intervention", "flow")
    )


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """Entries by natural key; entries sharing a key (a factor changing within a month,
    several adjustments) are summed."""
    e = frame.copy()
    e["model"] = [_model_tag(k, n) for k, n in zip(e.kind, e.notes, strict=True)]
    for col in ("factor_id", "source_batches", "unit", "method"):
        e[col] = e[col].fillna("")
    dup = e.duplicated(_KEY, keep=False)
    parts = [e.loc[~dup, [*_KEY, *_SIDE]]]
    if dup.any():
        rows = []
        for key, g in e[dup].groupby(_KEY, sort=False):
            values = set(g.factor_co2e)
            rows.append(
                {
                    **dict(zip(_KEY, key, strict=True)),
                    "entry_id": ",".join(g.entry_id),
                    "amount": sum(g.amount, Decimal(0)),
                    "unit": g.unit.iloc[0],
                    "factor_id": "+".join(sorted(set(g.factor_id))),
                    "factor_co2e": values.pop() if len(values) == 1 else None,
                    "co2e_kg": sum(g.co2e_kg, Decimal(0)),
                    "source_batches": ",".join(
                        sorted(set(",".join(g.source_batches).split(",")) - {""})
                    ),
                }
            )
        parts.append(pd.DataFrame(rows))
    return pd.concat(parts, ignore_index=True).set_index(_KEY)


def _t(value: Any) -> float:
    return 0.0 if value is None or value != value else float(value) / 1000.0


def _dec(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _cause(r: Any) -> tuple[str, str]:
    """(cause, detail) of one merged row; ('', '') when the entry did not change."""
    if r.kind == "adjustment":
        if pd.isna(r.entry_id_old):
            return "restatement", (
                f"a correction of a closed period: {r.amount_new} {r.unit_new}, "
                f"{r.co2e_kg_new} kgCO2e"
            )
        if pd.isna(r.entry_id_new):
            return "restatement", f"the correction of a closed period is gone ({r.co2e_kg_old} kg)"
    if pd.isna(r.entry_id_old):
        return "added", f"new: {r.amount_new} {r.unit_new} x {r.factor_id_new}"
    if pd.isna(r.entry_id_new):
        return "removed", f"gone: was {r.amount_old} {r.unit_old} x {r.factor_id_old}"
    a0, a1 = _dec(r.amount_old) or Decimal(0), _dec(r.amount_new) or Decimal(0)
    f0, f1 = _dec(r.factor_co2e_old), _dec(r.factor_co2e_new)
    same_factor = r.factor_id_old == r.factor_id_new and f0 == f1
    same_amount = a0 == a1
    b0 = set(str(r.source_batches_old).split(",")) - {""}
    b1 = set(str(r.source_batches_new).split(",")) - {""}
    if same_factor and same_amount and b0 == b1 and r.co2e_kg_old == r.co2e_kg_new:
        return "", ""
    unit = r.unit_new or r.unit_old
    words = []
    if not same_factor:
        words.append(f"factor {r.factor_id_old} {f0} -> {r.factor_id_new} {f1} kgCO2e/{unit}")
    if not same_amount:
        words.append(f"amount {a0} -> {a1} {unit}")
    if b0 != b1:
        words.append(
            "batches"
            + "".join(f" +{b}" for b in sorted(b1 - b0))
            + "".join(f" -{b}" for b in sorted(b0 - b1))
        )
    detail = "; ".join(words)
    if r.kind == "adjustment":
        return "restatement", "the correction of a closed period changed: " + detail
    if r.kind in _MODEL_KINDS and str(getattr(r, "model", None) or ""):  # a model's estimate
        return ("factor" if same_amount and not same_factor else "model"), detail
    # credits derived from the inputs (carbon.credits) change as inputs and factors do
    if same_factor:
        return "input", detail
    if same_amount or f0 is None or f1 is None:
        return "factor", detail
    by_factor = abs(a0 * (f1 - f0))
    by_input = abs((a1 - a0) * f1)
    cause = "factor" if by_factor >= by_input else "input"
    detail += (
        f" (factor {by_factor.quantize(Decimal('0.001'))} kg, "
        f"input {by_input.quantize(Decimal('0.001'))} kg of the change)"
    )
    return cause, detail


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def _recipe_changes(ra: dict[str, Any] | None, rb: dict[str, Any] | None) -> list[str]:
    """The recipe (ledger script) fields that differ, named with old and new values."""
    if ra == rb:
        return []
    if ra is None or rb is None:
        return [f"recipe: {'none' if ra is None else 'a ledger script'} -> "
                f"{'none' if rb is None else 'a ledger script'}"]
    out = []
    ia = {str(i.get("file")): i for i in ra.get("input") or []}
    ib = {str(i.get("file")): i for i in rb.get("input") or []}
    out += [f"recipe input added: {f}" for f in ib if f not in ia]
    out += [f"recipe input removed: {f}" for f in ia if f not in ib]
    for f in ia.keys() & ib.keys():
        for p in _differences(ia[f], ib[f], ""):
            old, new = _short(_get(ia[f], p)), _short(_get(ib[f], p))
            out.append(f"recipe input {f}: {p} {old} -> {new}")
    if [f for f in ia if f in ib] != [f for f in ib if f in ia]:
        out.append("recipe inputs reordered")
    rest_a = {k: v for k, v in ra.items() if k != "input"}
    rest_b = {k: v for k, v in rb.items() if k != "input"}
    for p in _differences(rest_a, rest_b, ""):
        out.append(f"recipe {p}: {_short(_get(rest_a, p))} -> {_short(_get(rest_b, p))}")
    return out


def _get(value: Any, dotted: str) -> Any:
    """The value at a dotted path of :func:`_differences` (``a.b[2].c``), None if absent."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", dotted):
        if part.startswith("["):
            i = int(part[1:-1])
            value = value[i] if isinstance(value, list) and i < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value


def _year_totals(manifest: dict[str, Any]) -> dict[str, float]:
    """The manifest's numeric GPC totals per calendar year, as ``<year>.<total>_<view>``."""
    return {
        f"{year}.{name}": float(value)
        for year, totals in sorted((manifest.get("totals_t") or {}).items())
        if isinstance(totals, dict)
        for name, value in sorted(totals.items())
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _explain(ma: dict[str, Any], mb: dict[str, Any]) -> list[str]:
    """What changed around the entries of two manifests, one line each."""
    ia = {i["sha256"]: i["file_name"] for i in ma["inputs"]}
    ib = {i["sha256"]: i["file_name"] for i in mb["inputs"]}
    new, gone = sorted(set(ib) - set(ia)), sorted(set(ia) - set(ib))
    renamed = {ib[s] for s in new} & {ia[s] for s in gone}
    why = []
    for name in sorted(renamed):
        old = [s[:12] for s in gone if ia[s] == name]
        now = [s[:12] for s in new if ib[s] == name]
        why.append(f"input changed: {name} (sha256 {', '.join(old)}... -> {', '.join(now)}...)")
    why += [f"input added: {ib[s]}" for s in new if ib[s] not in renamed]
    why += [f"input removed: {ia[s]}" for s in gone if ia[s] not in renamed]
    # the same file in both, as another batch: ingested again with other options
    ba = {i["batch_id"]: i for i in ma["inputs"]}
    bb = {i["batch_id"]: i for i in mb["inputs"]}
    for old in (i for k, i in ba.items() if k not in bb):
        for new_i in (i for k, i in bb.items() if k not in ba and i["sha256"] == old["sha256"]):
            changed = sorted(
                k
                for k in set(old.get("mapping") or {}) | set(new_i.get("mapping") or {})
                if (old.get("mapping") or {}).get(k) != (new_i.get("mapping") or {}).get(k)
            )
            detail = ", ".join(
                f"{k} {old['mapping'].get(k)!r} -> {new_i['mapping'].get(k)!r}" for k in changed
            )
            why.append(
                f"input re-ingested with other options: {new_i['file_name']} "
                f"({old['batch_id']} -> {new_i['batch_id']}{'; ' + detail if detail else ''})"
            )
    if ma["factor_set"]["content_hash"] != mb["factor_set"]["content_hash"]:
        files = {
            k
            for k in set(ma["factor_set"]["files"]) | set(mb["factor_set"]["files"])
            if ma["factor_set"]["files"].get(k) != mb["factor_set"]["files"].get(k)
        }
        why.append(
            f"factor set changed ({ma['factor_set']['name']} -> "
            f"{mb['factor_set']['name']}; files {sorted(files)})"
        )
    if ma["twin"]["content_hash"] != mb["twin"]["content_hash"]:
        why.append(
            "twin changed: "
            + ", ".join(
                k
                for k in sorted(set(ma["twin"]["files"]) | set(mb["twin"]["files"]))
                if ma["twin"]["files"].get(k) != mb["twin"]["files"].get(k)
            )
        )
    if ma["period"] != mb["period"]:
        why.append(f"period changed {ma['period']} -> {mb['period']}")
    for p in _differences(ma.get("params") or {}, mb.get("params") or {}, ""):
        if p != "profile":  # named by the factor set line
            why.append(
                f"parameter {p}: {_short(_get(ma.get('params'), p))} -> "
                f"{_short(_get(mb.get('params'), p))}"
            )
    why += _recipe_changes(ma.get("recipe"), mb.get("recipe"))
    ra, rb = ma.get("register") or {}, mb.get("register") or {}
    if ra != rb:
        why.append(
            f"intervention register changed: {ra.get('file')} "
            f"{(ra.get('sha256') or '')[:12]} -> {rb.get('file')} {(rb.get('sha256') or '')[:12]}"
        )
    va = {v["intervention"]: v for v in ma.get("verifications") or []}
    vb = {v["intervention"]: v for v in mb.get("verifications") or []}
    for iid in sorted(va.keys() | vb.keys()):
        if iid not in va or iid not in vb:
            why.append(f"M&V of {iid} {'added' if iid in vb else 'removed'}")
        elif va[iid] != vb[iid]:
            fields = _differences(va[iid], vb[iid], "")
            why.append(
                f"M&V of {iid} changed: "
                + ", ".join(
                    f"{p} {_short(_get(va[iid], p), 30)} -> {_short(_get(vb[iid], p), 30)}"
                    for p in fields[:5]
                )
            )
    if (ma.get("closed_entries") or None) != (mb.get("closed_entries") or None):
        why.append(f"closed periods: {ma.get('closed_entries')} -> {mb.get('closed_entries')}")
    for k in _CODE_FIELDS:
        if ma.get(k) != mb.get(k):
            why.append(f"code changed: {k} {ma.get(k)} -> {mb.get(k)}")
    return why


def diff(a: str | Path, b: str | Path) -> DiffResult:
    """What changed between two snapshots, entry by entry, and which inputs explain it.

    Entries are matched by their natural key (``kind, node_id, period_start, gpc_ref,
    activity, method``, and for avoided / removal entries the intervention they come from),
    not by entry id: an id hashes the factor id too, so a new factor profile would otherwise
    show every entry as removed and added. Entries sharing a key (a factor changing within a
    month) are compared summed. Each entry that differs gets a cause:

    ``factor``
        its factor (id or value) changed; where its amount changed too, the larger of the two
        effects names the cause (``old amount x factor change`` against ``amount change x
        new factor``) and ``detail`` gives both.
    ``input``
        its amount or source batches changed (inputs added, removed or corrected).
    ``restatement``
        an adjustment entry: the correction of a closed period.
    ``model``
        an avoided / removal entry whose amount changed (register or M&V changed).
    ``added`` / ``removed``
        no counterpart in the other snapshot.

    Parameters
    ----------
    a, b : the older and the newer snapshot folders (or snapshots folders, taking LATEST).

    Returns
    -------
    DiffResult
        Also readable as the dict this function returned before: ``d["added"]``,
        ``d["removed"]``, ``d["changed"]``, ``d["explanations"]``, ``d["totals"]``.
    """
    sa, sb = load_snapshot(a), load_snapshot(b)
    ka, kb = _keyed(sa.entries()), _keyed(sb.entries())
    merged = ka.merge(
        kb, how="outer", left_index=True, right_index=True, suffixes=("_old", "_new")
    ).reset_index()
    causes = [_cause(r) for r in merged.itertuples(index=False)]
    merged["cause"] = [c for c, _ in causes]
    merged["detail"] = [d for _, d in causes]
    unchanged = int((merged.cause == "").sum())
    e = merged[merged.cause != ""].copy()
    units = zip(e.unit_old, e.unit_new, strict=True)
    e["unit"] = [n if isinstance(n, str) and n else o for o, n in units]
    for side in ("old", "new"):
        pairs = zip(e[f"entry_id_{side}"], e[f"co2e_kg_{side}"], strict=True)
        e[f"t_{side}"] = [None if pd.isna(i) else _t(v) for i, v in pairs]
    e["delta_t"] = [_t(n) - _t(o) for o, n in zip(e.co2e_kg_old, e.co2e_kg_new, strict=True)]
    e["delta_pct"] = [
        (_t(n) - _t(o)) / _t(o) * 100 if _t(o) else float("nan")
        for o, n in zip(e.co2e_kg_old, e.co2e_kg_new, strict=True)
    ]
    for col in ("co2e_kg_old", "co2e_kg_new"):
        e[col] = [None if v is None or v != v else v for v in e[col]]
    e["_size"] = e.delta_t.abs()
    e = e.sort_values(["_size", *_KEY], ascending=[False, *[True] * len(_KEY)], kind="stable")
    columns = [
        *_KEY, "entry_id_old", "entry_id_new", "amount_old", "amount_new", "unit",
        "factor_id_old", "factor_id_new", "factor_co2e_old", "factor_co2e_new",
        "co2e_kg_old", "co2e_kg_new", "t_old", "t_new", "delta_t", "delta_pct", "cause",
        "detail",
    ]
    ma, mb = sa.manifest, sb.manifest
    return DiffResult(
        a=sa.id,
        b=sb.id,
        entries=e[columns].reset_index(drop=True),
        explanations=_explain(ma, mb),
        totals={k: (_year_totals(ma).get(k), v) for k, v in _year_totals(mb).items()},
        unchanged=unchanged,
    )
