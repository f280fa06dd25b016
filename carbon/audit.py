"""Audit: immutable ledger snapshots, byte-for-byte verification, tracing and diffs.

A snapshot is a folder written to a temporary name and renamed into place, so a reader never
sees half of one (DESIGN decision 5, 8)::

    <out>/<snapshot_id>/entries.parquet   entries (DECIMAL amounts), sorted by entry_id
                        entries.csv       the same, as text
                        gpc_table.csv     the GPC table of every block and the subdistrict
                        coverage.parquet  completeness per meter and month
                        rejects.csv       rejected rows per batch and reason
                        factors.csv       every factor used, with its full citation
                        nodes.csv         the twin's nodes (ids, names, paths, attributes)
                        geometry.geojson  the twin's geometry (when it has one)
                        manifest.json     SHA-256 of every input and output, versions, params
    <out>/LATEST                          the id of the newest snapshot

:func:`verify` replays the recorded inputs into a fresh store, rebuilds, and compares the entry
files byte for byte; :func:`trace` walks from an entry to its readings and its factor's
citation; :func:`diff` says what changed between two snapshots and which inputs explain it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from carbon._version import __version__
from carbon.errors import CarbonError
from carbon.ledger import ENTRY_COLUMNS

if TYPE_CHECKING:
    from carbon.ledger import Ledger

__all__ = [
    "ENTRY_SCHEMA",
    "AuditError",
    "Snapshot",
    "TraceResult",
    "VerifyResult",
    "diff",
    "latest_snapshot",
    "load_snapshot",
    "publish",
    "trace",
    "verify",
]

log = logging.getLogger(__name__)

FORMAT = "carbon-twin/snapshot/1"

_DEC = pa.decimal128(38, 6)
_KG = pa.decimal128(38, 3)
ENTRY_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("kind", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("node_id", pa.string()),
        ("node_path", pa.string()),
        ("node_kind", pa.string()),
        ("gpc_ref", pa.string()),
        ("gpc_sector", pa.string()),
        ("scope", pa.int32()),
        ("method", pa.string()),
        ("activity", pa.string()),
        ("amount", _DEC),
        ("unit", pa.string()),
        ("factor_id", pa.string()),
        ("factor_co2e", pa.decimal128(18, 9)),
        ("co2_kg", _KG),
        ("ch4_kg", _KG),
        ("n2o_kg", _KG),
        ("co2e_kg", _KG),
        ("dq_activity", pa.string()),
        ("dq_factor", pa.string()),
        ("completeness", pa.decimal128(9, 6)),
        ("meters", pa.int32()),
        ("readings", pa.int64()),
        ("estimated", pa.int64()),
        ("source_batches", pa.string()),
        ("adjusts", pa.string()),
        ("notes", pa.string()),
    ]
)
"""The Arrow schema of ``entries.parquet`` (columns as in :data:`carbon.ledger.ENTRY_COLUMNS`)."""
assert ENTRY_SCHEMA.names == list(ENTRY_COLUMNS)


class AuditError(CarbonError, ValueError):
    """A snapshot that is missing, malformed, or cannot be replayed."""


@dataclass(frozen=True)
class Snapshot:
    """A published ledger snapshot (read-only).

    Attributes
    ----------
    path : the snapshot folder.
    manifest : the parsed ``manifest.json``.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        """The snapshot id (its folder name)."""
        return str(self.manifest["snapshot_id"])

    def entries(self) -> pd.DataFrame:
        """The entries, amounts as Decimal."""
        return pq.read_table(self.path / "entries.parquet").to_pandas()

    def table(self, name: str) -> pd.DataFrame:
        """One of the snapshot's side tables (``gpc_table``, ``coverage``, ``rejects``,
        ``factors``, ``nodes``)."""
        path = self.path / f"{name}.parquet"
        if path.exists():
            return pq.read_table(path).to_pandas()
        return pd.read_csv(self.path / f"{name}.csv", dtype=str, keep_default_na=False)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _as_decimal(v: Any) -> Decimal | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v if isinstance(v, Decimal) else Decimal(str(v))


def _entries_table(entries: pd.DataFrame) -> pa.Table:
    frame = entries[list(ENTRY_COLUMNS)].copy()
    for col in ("amount", "factor_co2e", "co2_kg", "ch4_kg", "n2o_kg", "co2e_kg", "completeness"):
        frame[col] = frame[col].map(_as_decimal)
    frame = frame.astype({"readings": "int64", "estimated": "int64", "meters": "int64"})
    table = pa.Table.from_pandas(frame, schema=ENTRY_SCHEMA, preserve_index=False)
    # Without pandas' metadata: it records the frame's in-memory dtypes (object or str for the
    # same text) and the pandas version, so equal entries could give different bytes.
    return table.replace_schema_metadata(None)


def write_entries(
    entries: pd.DataFrame, folder: Path, name: str = "entries", *, csv: bool = True
) -> None:
    """Write ``<name>.parquet`` (and ``<name>.csv``) deterministically, sorted by entry id."""
    table = _entries_table(entries.sort_values("entry_id", kind="stable"))
    pq.write_table(
        table,
        folder / f"{name}.parquet",
        compression="zstd",
        row_group_size=1 << 20,
        use_dictionary=False,
        write_statistics=True,
    )
    if csv:
        table.to_pandas().to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


def _side_tables(ledger: Ledger, folder: Path) -> None:
    store = ledger.store
    twin = ledger.twin
    gpc = []
    for node_id in [twin.root.id, *(c.id for c in twin.children(twin.root.id))]:
        for method in ("location", "market"):
            t = ledger.gpc_table(node_id, method)
            t.insert(0, "method", method)
            t.insert(0, "node_id", node_id)
            gpc.append(t)
    pd.concat(gpc).to_csv(folder / "gpc_table.csv", index=False, lineterminator="\n")
    cov = ledger.coverage.copy()
    cov["completeness"] = cov.completeness.map(float)
    pq.write_table(
        pa.Table.from_pandas(cov, preserve_index=False),
        folder / "coverage.parquet",
        compression="zstd",
    )
    ids = ledger.batches.batch_id.tolist()
    rejects = store.frame(
        "SELECT r.batch_id, b.file_name, r.reason, count(*) AS rows, min(r.row_number) AS "
        "first_row, any_value(r.message ORDER BY r.row_number) AS example FROM rejects r "
        "JOIN batches b USING (batch_id) WHERE list_contains(?, r.batch_id) GROUP BY ALL "
        "ORDER BY r.batch_id, r.reason",
        [ids],
    )
    rejects.to_csv(folder / "rejects.csv", index=False, lineterminator="\n")
    used = set(ledger.entries.factor_id) - {""}
    rows = []
    for f in ledger.factors:
        if f.id in used:
            rows.append(
                {
                    "factor_id": f.id,
                    "activity": f.activity,
                    "region": f.region,
                    "valid_from": str(f.valid_from),
                    "valid_to": str(f.valid_to or ""),
                    "method": f.method,
                    "series": f.series,
                    "value_as_published": "; ".join(f"{g}: {v}" for g, v in f.gases.items()),
                    "co2e_per_unit": str(f.co2e_per_unit(ledger.factors.gwp)),
                    "unit": f"kgCO2e/{f.canonical_unit}",
                    "confidence": f.confidence,
                    "confidence_detail": f.confidence_detail or "",
                    "proxy": f.proxy,
                    "citation": f.citation(),
                    "url": f.source.url or "",
                    "file": f.file or "",
                }
            )
    pd.DataFrame(rows).to_csv(folder / "factors.csv", index=False, lineterminator="\n")
    nodes = twin.to_frame()
    nodes.to_csv(folder / "nodes.csv", index=False, lineterminator="\n")
    if twin.geometry is not None:
        shutil.copyfile(twin.folder / "geometry.geojson", folder / "geometry.geojson")


def publish(
    ledger: Ledger,
    out: str | Path,
    *,
    close_through: dt.date | str | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    meta: dict[str, Any] | None = None,
) -> Snapshot:
    """Publish a ledger as an immutable snapshot folder under ``out``.

    Entries made by models (kinds ``avoided`` and ``removal``, from
    :mod:`carbon.interventions` and :mod:`carbon.mv`) are also written apart as
    ``model_entries.parquet``, an input of the snapshot that :func:`replay` feeds back.

    Parameters
    ----------
    ledger : the built ledger.
    out : the snapshots folder; the snapshot goes to ``out/<snapshot_id>`` and ``out/LATEST``
        names it.
    close_through : close every period ending on or before this date: its entries are recorded
        in the store (append-only) and later builds add adjustments instead of changing them.
    tables : extra side tables to publish as ``<name>.csv`` (e.g. ``interventions``).
    meta : extra JSON-ready facts for the manifest (e.g. ``target``, ``register_sha256``).

    Returns
    -------
    Snapshot
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-snapshot-", dir=out))
    try:
        write_entries(ledger.entries, tmp)
        _side_tables(ledger, tmp)
        for name, frame in sorted((tables or {}).items()):
            frame.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
        models = ledger.entries[ledger.entries.kind.isin(["avoided", "removal"])]
        if len(models):
            write_entries(models, tmp, "model_entries", csv=False)
        # Through Arrow, not store.frame (.df()), which turns DECIMAL into float.
        closed = (
            ledger.store.con.sql(
                "SELECT * EXCLUDE (snapshot_id, closed_at) FROM ledger_entries ORDER BY entry_id"
            )
            .to_arrow_table()
            .to_pandas()
        )
        inputs = [
            {
                "batch_id": b.batch_id,
                "kind": b.kind,
                "file_name": b.file_name,
                "source_path": b.source_path,
                "sha256": b.sha256,
                "mapping": json.loads(b.mapping),
                "supersede": bool(b.supersede),
                "ingested_at": b.started_at.isoformat(),
                "rows": {
                    "read": int(b.rows_read),
                    "accepted": int(b.rows_accepted),
                    "rejected": int(b.rows_rejected),
                },
            }
            for b in ledger.batches.itertuples()
        ]
        if len(closed):
            write_entries(closed, tmp, "closed_entries", csv=False)
        outputs = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        # The id covers the outputs and every recorded input, so new inputs (or closed
        # entries) that leave the entries unchanged still make a new snapshot.
        key = json.dumps(
            {
                "outputs": outputs,
                "inputs": [i["sha256"] for i in inputs],
                "factors": ledger.factors.content_hash,
                "twin": ledger.twin.content_hash,
            },
            sort_keys=True,
        )
        sha = hashlib.sha256(key.encode()).hexdigest()
        snapshot_id = f"{ledger.twin.name}_{ledger.start:%Y%m}-{ledger.end:%Y%m}_{sha[:12]}"
        e = ledger.entries
        manifest = {
            "format": FORMAT,
            "snapshot_id": snapshot_id,
            "carbon_version": __version__,
            "git_commit": _git_commit(),
            "period": {"start": str(ledger.start), "end": str(ledger.end)},
            "params": {
                "ne_threshold": ledger.ne_threshold,
                "profile": ledger.factors.name,
                "profile_path": ledger.factors.source,
            },
            "twin": {
                "name": ledger.twin.name,
                "content_hash": ledger.twin.content_hash,
                "files": ledger.twin.files,
                "timezone": ledger.twin.site.timezone,
                "folder": str(ledger.twin.folder),
            },
            "factor_set": {
                "name": ledger.factors.name,
                "content_hash": ledger.factors.content_hash,
                "gwp": ledger.factors.gwp.name,
                "files": ledger.factors.files,
            },
            "inputs": inputs,
            "store": str(ledger.store.path.resolve()) if ledger.store.path else None,
            "synthetic_inputs": any("synthetic" in i["file_name"] for i in inputs),
            "closed_entries": (
                {"file": "closed_entries.parquet", "sha256": outputs["closed_entries.parquet"]}
                if len(closed)
                else None
            ),
            "outputs": outputs,
            "counts": {k: int(v) for k, v in e.kind.value_counts().sort_index().items()},
            "totals_t": {
                f"{total}_{method}": round(ledger.total(method, total), 6)
                for total in ("BASIC", "BASIC+", "territorial", "scope2")
                for method in ("location", "market")
            },
            "warnings": [{"code": w.code, "message": w.message} for w in ledger.warnings],
        }
        clash = set(meta or {}) & set(manifest)
        if clash:
            raise AuditError(f"meta keys {sorted(clash)} would overwrite manifest fields")
        manifest.update(meta or {})
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )
        final = out / snapshot_id
        if final.exists():
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_latest(out, snapshot_id)
    if close_through is not None:
        _close(ledger, snapshot_id, close_through)
    log.info("published snapshot %s", final)
    return load_snapshot(final)


def _write_latest(out: Path, snapshot_id: str) -> None:
    tmp = out / f".LATEST.{os.getpid()}"
    tmp.write_text(snapshot_id + "\n", encoding="utf-8")
    os.replace(tmp, out / "LATEST")


def _close(ledger: Ledger, snapshot_id: str, through: dt.date | str) -> None:
    through_d = through if isinstance(through, dt.date) else dt.date.fromisoformat(str(through))
    e = ledger.entries[ledger.entries.period_end <= through_d]
    table = _entries_table(e)
    con = ledger.store.con
    con.register("_closing", table)
    try:
        con.execute(
            "INSERT INTO ledger_entries SELECT c.*, ?, now() FROM _closing c "
            "WHERE c.entry_id NOT IN (SELECT entry_id FROM ledger_entries)",
            [snapshot_id],
        )
    finally:
        con.unregister("_closing")


def load_snapshot(path: str | Path) -> Snapshot:
    """Open a snapshot folder (or a snapshots folder, taking its ``LATEST``).

    Raises
    ------
    AuditError
        When there is no snapshot or its manifest is not of this format.
    """
    path = Path(path)
    if (path / "LATEST").exists() and not (path / "manifest.json").exists():
        return latest_snapshot(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise AuditError(f"{path} is not a snapshot: no manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise AuditError(f"{path}: unknown snapshot format {manifest.get('format')!r}")
    return Snapshot(path, manifest)


def latest_snapshot(out: str | Path) -> Snapshot:
    """The snapshot named by ``out/LATEST``."""
    out = Path(out)
    try:
        name = (out / "LATEST").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise AuditError(f"{out} has no published snapshot (no LATEST file)") from None
    return load_snapshot(out / name)


# ---------------------------------------------------------------------------------- verify
@dataclass
class VerifyResult:
    """The outcome of :func:`verify`.

    Attributes
    ----------
    ok : True when the rebuild is byte-identical and no recorded file changed.
    problems : what differs, first the inputs that changed, then the outputs.
    first_difference : the first differing entry id (sorted), if any.
    """

    ok: bool
    problems: list[str] = field(default_factory=list)
    first_difference: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return "verified: the rebuild is byte-identical"
        return "NOT verified: " + "; ".join(self.problems)


def _twin(manifest: dict[str, Any]) -> Any:
    """The manifest's twin: from its recorded folder when that still exists, else by name."""
    from carbon.twin import load_twin

    folder = manifest["twin"].get("folder")
    if folder and (Path(folder) / "site.toml").exists():
        return load_twin(folder)
    return load_twin(manifest["twin"]["name"])


def _factor_set(manifest: dict[str, Any]) -> Any:
    """The manifest's factor set: by its profile file when it had one, else by name."""
    from carbon.factors import load_factor_set

    path = manifest["params"].get("profile_path")
    return load_factor_set(path if path else manifest["factor_set"]["name"])


def replay(snapshot: Snapshot, *, threads: int | None = None) -> Ledger:
    """Rebuild a snapshot's ledger from its recorded inputs in a fresh in-memory store.

    Raises
    ------
    AuditError
        When a recorded input file is missing.
    """
    from carbon.ingest import fill_gaps
    from carbon.ledger import build_ledger
    from carbon.store import Store

    m = snapshot.manifest
    twin = _twin(m)
    factors = _factor_set(m)
    store = Store(":memory:", threads=threads)
    store.sync_twin(twin)
    for inp in m["inputs"]:
        if inp["kind"] == "estimate":
            fill_gaps(
                store,
                inp["mapping"]["start"],
                inp["mapping"]["end"],
                meter_ids=inp["mapping"]["meters"],
            )
            continue
        path = Path(inp["source_path"])
        if not path.exists():
            raise AuditError(f"input {inp['file_name']} ({inp['batch_id']}) is missing at {path}")
        store.ingest(
            path,
            inp["mapping"],
            supersede=inp["supersede"],
            now=dt.datetime.fromisoformat(inp["ingested_at"]),
        )
    models = None
    if (snapshot.path / "model_entries.parquet").exists():
        models = pq.read_table(snapshot.path / "model_entries.parquet").to_pandas()
    if m.get("closed_entries"):
        closed = pq.read_table(snapshot.path / m["closed_entries"]["file"])
        store.con.register("_closed", closed)
        store.con.execute("INSERT INTO ledger_entries SELECT *, 'replay', now() FROM _closed")
        store.con.unregister("_closed")
    return build_ledger(
        store,
        twin,
        factors,
        m["period"]["start"],
        m["period"]["end"],
        ne_threshold=m["params"]["ne_threshold"],
        extra_entries=models,
    )


def verify(path: str | Path, *, threads: int | None = None) -> VerifyResult:
    """Rebuild a snapshot from its recorded inputs and compare byte for byte.

    Checks, in order: every output file against its recorded SHA-256; every input file, twin
    file and factor file against theirs; then rebuilds and compares ``entries.parquet`` and
    ``entries.csv`` byte for byte, naming the first differing entry.
    """

    snapshot = load_snapshot(path)
    m = snapshot.manifest
    problems: list[str] = []
    for name, sha in m["outputs"].items():
        f = snapshot.path / name
        if not f.exists():
            problems.append(f"output {name} is missing")
        elif _sha256(f) != sha:
            problems.append(f"output {name} changed since publication")
    for inp in m["inputs"]:
        if inp["kind"] == "estimate":
            continue
        p = Path(inp["source_path"])
        if not p.exists():
            problems.append(f"input {inp['file_name']} is missing at {p}")
        elif _sha256(p) != inp["sha256"]:
            problems.append(f"input {inp['file_name']} changed (SHA-256 differs)")
    twin = _twin(m)
    for name, sha in m["twin"]["files"].items():
        if twin.files.get(name) != sha:
            problems.append(f"twin file {name} changed")
    factors = _factor_set(m)
    for name, sha in m["factor_set"]["files"].items():
        if factors.files.get(name) != sha:
            problems.append(f"factor file {name} changed")
    if factors.content_hash != m["factor_set"]["content_hash"]:
        problems.append(f"factor set {factors.name} changed (content hash differs)")
    if any(p.startswith("input") and "missing" in p for p in problems):
        return VerifyResult(False, problems)
    rebuilt = replay(snapshot, threads=threads)
    with tempfile.TemporaryDirectory() as tmp:
        write_entries(rebuilt.entries, Path(tmp))
        first = None
        for name in ("entries.parquet", "entries.csv"):
            published = snapshot.path / name
            if not published.exists() or _sha256(Path(tmp) / name) != _sha256(published):
                problems.append(f"rebuilt {name} differs from the published one")
        if any(p.startswith("rebuilt") or "output entries" in p for p in problems):
            # The CSV names the entry; when it is intact (only the Parquet file was damaged)
            # or unreadable, the Parquet file does.
            for name in ("entries.csv", "entries.parquet"):
                rows = _entry_rows(snapshot.path / name)
                if rows is None:
                    problems.append(f"published {name} cannot be read as entries")
                    continue
                first = _first_difference(rows, _entry_rows(Path(tmp) / name))
                if first:
                    problems.append(f"first differing entry: {first}")
                    break
    rebuilt.store.close()
    return VerifyResult(not problems, problems, first)


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
@dataclass
class TraceResult:
    """Where an entry comes from.

    Attributes
    ----------
    entry : the entry row.
    readings : per meter: ``meter_id, readings, amount, first, last`` (or activity rows).
    factor : the factor row of ``factors.csv`` with its full citation.
    batches : the input batches behind the entry (file, SHA-256, rows).
    """

    entry: dict[str, Any]
    readings: pd.DataFrame
    factor: dict[str, Any]
    batches: list[dict[str, Any]]


def _trace_store(snapshot: Snapshot) -> tuple[Any, Any]:
    """The store a snapshot was built from (read-only), or a replay of its inputs."""
    from carbon.store import Store, StoreError

    path = snapshot.manifest.get("store")
    if path and Path(path).exists():
        try:
            store = Store(path, read_only=True)
        except StoreError:
            store = None
        if store is not None:
            known = set(store.frame("SELECT batch_id FROM batches").batch_id)
            if {i["batch_id"] for i in snapshot.manifest["inputs"]} <= known:
                return store, _twin(snapshot.manifest)
            store.close()
    ledger = replay(snapshot)
    return ledger.store, ledger.twin


def trace(path: str | Path, entry_id: str) -> TraceResult:
    """Walk from an entry to its readings, input files and factor citation.

    The readings are counted in the store the snapshot was built from when it is still there
    (opened read-only) and holds the snapshot's batches; otherwise the snapshot's inputs are
    replayed, so a trace also works on a copy of the snapshot away from its store. Only rows of
    the entry's own source batches count.

    Raises
    ------
    AuditError
        When the snapshot has no such entry.
    """
    snapshot = load_snapshot(path)
    entries = snapshot.entries()
    hit = entries[entries.entry_id == entry_id]
    if hit.empty:
        close = [i for i in entries.entry_id if i.startswith(entry_id[:6])][:5]
        raise AuditError(f"no entry {entry_id!r} in snapshot {snapshot.id}; close ids: {close}")
    entry = hit.iloc[0].to_dict()
    batch_ids = [b for b in str(entry.get("source_batches") or "").split(",") if b]
    batches = [i for i in snapshot.manifest["inputs"] if i["batch_id"] in batch_ids]
    factors = snapshot.table("factors")
    frow = factors[factors.factor_id == entry["factor_id"]]
    factor = frow.iloc[0].to_dict() if len(frow) else {}
    store, twin = _trace_store(snapshot)
    try:
        tz = snapshot.manifest["twin"]["timezone"].replace("'", "")
        meters = [
            m.id
            for m in twin.meters.values()
            if m.node == entry["node_id"] and m.activity_id == entry["activity"]
        ]
        readings = store.frame(
            f"""SELECT meter_id, count(*) AS readings, sum(amount) AS amount,
                       min(ts_start) AS first, max(ts_end) AS last,
                       count(*) FILTER (WHERE quality = 'estimated') AS estimated
                FROM current_readings WHERE list_contains(?, meter_id)
                  AND list_contains(?, batch_id)
                  AND timezone('{tz}', ts_start) >= CAST(? AS TIMESTAMP)
                  AND timezone('{tz}', ts_start) < CAST(? AS TIMESTAMP)
                GROUP BY ALL ORDER BY meter_id""",
            [meters, batch_ids, entry["period_start"], entry["period_end"]],
        )
        if not meters:
            readings = store.frame(
                """SELECT node_id, activity, count(*) AS readings, sum(amount) AS amount,
                          min(period_start) AS first, max(period_end) AS last
                   FROM current_activities WHERE node_id = ? AND activity = ?
                     AND list_contains(?, batch_id)
                     AND period_start >= ? AND period_start < ? GROUP BY ALL""",
                [
                    entry["node_id"],
                    entry["activity"],
                    batch_ids,
                    entry["period_start"],
                    entry["period_end"],
                ],
            )
    finally:
        store.close()
    return TraceResult(entry, readings, factor, batches)


# ---------------------------------------------------------------------------------- diff
def diff(a: str | Path, b: str | Path) -> dict[str, Any]:
    """What changed between two snapshots, and which inputs explain it.

    Returns
    -------
    dict with ``added``, ``removed``, ``changed`` (entries as frames: id, node, period,
    activity, old and new kg CO2e), ``totals`` (old/new per total) and ``explanations``
    (inputs added or removed, factor set, twin and period changes).
    """
    sa, sb = load_snapshot(a), load_snapshot(b)
    ea, eb = sa.entries().set_index("entry_id"), sb.entries().set_index("entry_id")
    cols = ["kind", "node_id", "period_start", "gpc_ref", "activity", "method"]
    added = eb.loc[sorted(set(eb.index) - set(ea.index)), [*cols, "co2e_kg"]]
    removed = ea.loc[sorted(set(ea.index) - set(eb.index)), [*cols, "co2e_kg"]]
    common = sorted(set(ea.index) & set(eb.index))
    changed = ea.loc[common, cols].copy()
    changed["co2e_kg_old"] = ea.loc[common, "co2e_kg"]
    changed["co2e_kg_new"] = eb.loc[common, "co2e_kg"]
    changed = changed[changed.co2e_kg_old != changed.co2e_kg_new]
    ma, mb = sa.manifest, sb.manifest
    ia = {i["sha256"]: i["file_name"] for i in ma["inputs"]}
    ib = {i["sha256"]: i["file_name"] for i in mb["inputs"]}
    why = [f"input added: {ib[s]}" for s in sorted(set(ib) - set(ia))]
    why += [f"input removed: {ia[s]}" for s in sorted(set(ia) - set(ib))]
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
    return {
        "added": added.reset_index(),
        "removed": removed.reset_index(),
        "changed": changed.reset_index(),
        "explanations": why,
        "totals": {k: (ma["totals_t"].get(k), mb["totals_t"].get(k)) for k in mb["totals_t"]},
    }
