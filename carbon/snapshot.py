"""The snapshot format: one published ledger, its schema, atomic write, read and checksums.

This module is the only place that writes or reads a snapshot folder (DESIGN decision 11):
:meth:`carbon.ledger.Ledger.publish`, :mod:`carbon.audit`, the wall screen
(:mod:`carbon.dashboard.data`) and the test fixtures all go through it. ::

    <out>/<snapshot_id>/entries.parquet   entries (DECIMAL amounts), sorted by entry_id
                        entries.csv       the same, as text
                        gpc_table.csv     the GPC table of every calendar year, of the root
                                          and every block (a ``year`` column)
                        coverage.parquet  completeness per meter and month
                        rejects.csv       rejected rows per batch and reason
                        factors.csv       every factor used, with its full citation
                        nodes.csv         the twin's nodes (ids, names, paths, attributes)
                        meters.csv        the twin's meters (meter -> node, activity)
                        geometry.geojson  the twin's geometry (when it has one)
                        manifest.json     the recipe, the inputs' SHA-256, every output's
                                          SHA-256, GPC totals per calendar year
                                          (``totals_t``), the boundary, warnings
    <out>/LATEST                          the id of the newest snapshot

A ledger script's models add ``interventions.csv``; closed periods add
``closed_entries.parquet`` (the entries recorded as closed, an input of a rebuild).

The snapshot id is ``<prefix>_<12 hex digits>``: the digits are the SHA-256 of the manifest's
canonical JSON without the ``snapshot_id`` and ``environment`` fields (:func:`manifest_digest`),
so every other manifest field, and through ``outputs`` every published byte, is covered by the
id. ``environment`` holds where the build ran (absolute paths, the engine that ran the SQL):
hints for finding inputs, not evidence; engines give identical entries, so the id does not
depend on them.

Writing is atomic: a snapshot is written to ``<out>/.tmp-snapshot-<pid>-<random>`` and renamed
into place, so a reader never sees half of one. Re-publishing an id that exists keeps an intact
folder and replaces a damaged one atomically; temporary folders left by killed writers are
removed by the next publish. Published files are world-readable (0644, folders 0755), so a wall
screen or an auditor running as another user can read them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from carbon.errors import CarbonError
from carbon.instruments import load_instruments
from carbon.scope2 import (
    ShanghaiScope2,
    applies_in_shanghai,
    factor_sensitivity,
    market_method_note,
    shanghai_scope2,
)

if TYPE_CHECKING:
    from carbon.instruments import InstrumentRegister
    from carbon.inventory import InventoryTotals
    from carbon.ledger import Ledger

__all__ = [
    "ENTRY_COLUMNS",
    "ENTRY_SCHEMA",
    "FORMAT",
    "Snapshot",
    "SnapshotError",
    "entries_csv",
    "entries_table",
    "latest_snapshot",
    "load_snapshot",
    "manifest_digest",
    "publish_ledger",
    "read_manifest",
    "sha256_file",
    "write_entries",
    "write_snapshot",
]

log = logging.getLogger(__name__)

FORMAT = "carbon-twin/snapshot/2"
"""The format tag of ``manifest.json`` this release writes and reads."""

ENTRY_COLUMNS: dict[str, str] = {
    "entry_id": "deterministic id: 'E' + 20 hex digits of SHA-256 over the entry's key",
    "kind": "emission | removal | avoided | adjustment | memo (biogenic CO2, in no total)",
    "period_start": "first local day of the month [date]",
    "period_end": "first local day of the next month [date], exclusive",
    "node_id": "twin node the entry belongs to",
    "node_path": "ids from the root to the node, joined by '/'",
    "node_kind": "kind of the node (compound, office_building, street, facility, ...)",
    "gpc_ref": "GPC reference number, e.g. I.1.2",
    "gpc_sector": "GPC sector, e.g. I",
    "scope": "GPC scope 1, 2 or 3",
    "method": "location | market for scope-2 entries, n/a otherwise",
    "activity": "activity id",
    "amount": "activity amount in the canonical unit [DECIMAL(38,6)]",
    "unit": "canonical unit of the activity",
    "factor_id": "id of the emission factor applied",
    "factor_co2e": "factor [kgCO2e / unit], GWP-weighted",
    "co2_kg": "CO2 [kg]; empty where the factor is published as CO2e only",
    "ch4_kg": "CH4 [kg]; empty likewise",
    "n2o_kg": "N2O [kg]; empty likewise",
    "co2e_kg": "CO2-equivalent [kg], rounded to the gram",
    "dq_activity": "activity-data quality H / M / L (GPC v1.1)",
    "dq_factor": "emission-factor quality H / M / L",
    "completeness": "share of expected meter intervals present [0..1]",
    "meters": "meters behind the entry",
    "readings": "readings (or activity rows) behind the entry",
    "estimated": "of which estimated (gap-filled)",
    "source_batches": "ids of the store batches behind the entry, comma-separated",
    "adjusts": "for adjustments: the id of the closed entry they correct",
    "notes": "flags: carried_forward, market_fallback_location, gec_covered ...",
}
"""Every column of a ledger entry, with its meaning and unit."""

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
        ("amount", pa.decimal128(38, 6)),
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
"""The Arrow schema of ``entries.parquet`` (columns as in :data:`ENTRY_COLUMNS`)."""

_UNHASHED = ("snapshot_id", "environment")
_UNDIGESTED = ("snapshot_id", "environment", "digests")
_TMP_PREFIX = ".tmp-snapshot-"


class SnapshotError(CarbonError, ValueError):
    """A snapshot that is missing, malformed or damaged. The message is one line."""


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes [hex]."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a manifest value: sorted keys, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, allow_nan=False)


def field_digests(manifest: dict[str, Any]) -> dict[str, str]:
    """Per-field SHA-256 (16 hex digits) of the manifest's hashed fields, so that an edit of
    a field nothing can recompute (the recipe, the code version) is named, not only seen."""
    return {
        k: hashlib.sha256(canonical_json(v).encode()).hexdigest()[:16]
        for k, v in sorted(manifest.items())
        if k not in _UNDIGESTED
    }


def edited_fields(manifest: dict[str, Any]) -> list[str]:
    """Top-level manifest fields whose value no longer matches its recorded digest."""
    recorded = manifest.get("digests")
    if not isinstance(recorded, dict):
        return ["digests"]
    now = field_digests(manifest)
    return sorted(k for k in set(now) | set(recorded) if now.get(k) != recorded.get(k))


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 [hex] over every manifest field but ``snapshot_id`` and ``environment``."""
    body = {k: v for k, v in manifest.items() if k not in _UNHASHED}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


# ------------------------------------------------------------------------------- entries
def _as_decimal(v: Any) -> Decimal | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    return v if isinstance(v, Decimal) else Decimal(str(v))


def _entry_column(column: pd.Series, kind: pa.DataType) -> pa.Array:
    """One entry column as Arrow of its schema type. DECIMAL columns of ``Decimal`` objects
    convert as they are; floats and text go through ``Decimal(str(value))``."""
    if pa.types.is_decimal(kind):
        values = column.to_numpy(dtype=object)
        try:
            return _decimal_array(values, kind)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            column = column.map(_as_decimal)
    elif pa.types.is_integer(kind):
        column = column.astype("int64")
    return pa.array(column, type=kind, from_pandas=True)


def _decimal_array(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """``Decimal`` objects (or None / NaN) as an Arrow DECIMAL array.

    A ledger's columns share objects (:func:`carbon.ledger.arrow_to_pandas` makes one object
    per distinct value of a column with few, e.g. ``completeness`` or ``ch4_kg``): each
    distinct object is converted once, as converting a ``Decimal`` is the slow part.
    """
    ids = np.fromiter(map(id, values), dtype=np.int64, count=len(values))
    distinct, first, index = np.unique(ids, return_index=True, return_inverse=True)
    if len(distinct) * 2 > len(values):
        return pa.array(values, type=kind, from_pandas=True)
    return pa.array(values[first], type=kind, from_pandas=True).take(pa.array(index))


def entries_table(entries: pd.DataFrame) -> pa.Table:
    """Entries as an Arrow table of :data:`ENTRY_SCHEMA`, without pandas metadata.

    The pandas metadata records in-memory dtypes (object or str for the same text) and the
    pandas version, so equal entries could otherwise give different bytes.
    """
    return pa.Table.from_arrays(
        [_entry_column(entries[f.name], f.type) for f in ENTRY_SCHEMA], schema=ENTRY_SCHEMA
    )


_QUOTED = re.compile(r'[,"\n]')


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if _QUOTED.search(value) else value


def entries_csv(table: pa.Table) -> bytes:
    """The CSV text of an entries table, as ``table.to_pandas().to_csv(index=False,
    lineterminator="\n")`` writes it, made in Arrow [UTF-8 bytes].

    The same bytes: text as it is, or in double quotes (inner quotes doubled) when it holds a
    comma, a quote or a newline (Python's ``csv.QUOTE_MINIMAL`` with this line terminator);
    dates as ISO text; integers in decimal; DECIMAL as ``str(decimal.Decimal)``, which is
    Arrow's decimal-to-text cast (scientific notation below 1e-6, e.g. ``0E-9``); missing
    values empty. ``tests/test_snapshot.py`` compares the two on awkward values.

    Raises
    ------
    SnapshotError
        For a column of another type (the entry schema has none).
    """
    fields = []
    for f, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(f.type):
            text = column
            if _has_special(column):
                text = pc.if_else(
                    pc.match_substring_regex(column, _QUOTED.pattern),
                    pc.binary_join_element_wise(
                        '"', pc.replace_substring(column, '"', '""'), '"', ""
                    ),
                    column,
                )
        elif (pa.types.is_integer(f.type) and column.null_count == 0) or (
            pa.types.is_decimal(f.type) or pa.types.is_date32(f.type)
        ):
            text = pc.cast(column, pa.string())
        else:
            raise SnapshotError(f"entries_csv: column {f.name} of type {f.type} is not written")
        fields.append(pc.fill_null(text, ""))
    header = (",".join(_csv_field(name) for name in table.column_names) + "\n").encode()
    if table.num_rows == 0:
        return header
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, ","), "", "\n")
    body = [_string_bytes(chunk) for chunk in lines.chunks]
    return header + b"".join(body)


def _has_special(column: pa.ChunkedArray) -> bool:
    """Whether any value of a string column may hold a comma, a quote or a newline: one scan
    of its bytes (each chunk's whole data buffer), so most columns skip quoting at once."""
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        text = b"" if data is None else data.to_pybytes()
        if b"," in text or b'"' in text or b"\n" in text:
            return True
    return False


def _string_bytes(array: pa.Array) -> bytes:
    """The UTF-8 bytes of a string array's values, one after the other (no nulls)."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset :]
    return array.buffers()[2].to_pybytes()[offsets[0] : offsets[len(array)]]


def write_entries(
    entries: pd.DataFrame | pa.Table, folder: Path, name: str = "entries", *, csv: bool = True
) -> None:
    """Write ``<name>.parquet`` (and ``<name>.csv``) deterministically, sorted by entry id.

    ``entries`` is a frame of :data:`ENTRY_COLUMNS` or an Arrow table of :data:`ENTRY_SCHEMA`
    (written as it is, sorted: the same bytes as the frame of its values).
    """
    if isinstance(entries, pa.Table):
        if not entries.schema.equals(ENTRY_SCHEMA):
            raise SnapshotError(f"entries to write have another schema: {entries.schema}")
        table = entries.take(pc.sort_indices(entries, [("entry_id", "ascending")]))
    else:
        table = entries_table(entries.sort_values("entry_id", kind="stable"))
    pq.write_table(
        table,
        folder / f"{name}.parquet",
        compression="zstd",
        row_group_size=1 << 20,
        use_dictionary=False,
        write_statistics=True,
    )
    if csv:
        (folder / f"{name}.csv").write_bytes(entries_csv(table))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A side table as CSV, the one way snapshots write text tables."""
    frame.to_csv(path, index=False, lineterminator="\n")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """A side table as Parquet (zstd, without pandas metadata)."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd")


# ------------------------------------------------------------------------------- reading
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

    @property
    def outputs(self) -> dict[str, str]:
        """Published file name -> SHA-256, as the manifest lists them."""
        return dict(self.manifest.get("outputs") or {})

    def has(self, name: str) -> bool:
        """Whether the manifest lists the file ``name``."""
        return name in self.outputs

    def entries(self) -> pd.DataFrame:
        """The entries, amounts as Decimal."""
        return pq.read_table(self.path / "entries.parquet").to_pandas()

    def entries_arrow(self) -> pa.Table:
        """The entries as stored: an Arrow table of :data:`ENTRY_SCHEMA` (DECIMAL amounts as
        DECIMAL), without making a Python object per value."""
        return pq.read_table(self.path / "entries.parquet").cast(ENTRY_SCHEMA)

    def table(self, name: str) -> pd.DataFrame:
        """A side table by name (``gpc_table``, ``coverage``, ``rejects``, ``factors``,
        ``nodes``, ``interventions``...): its Parquet file if published, else its CSV as text.
        """
        path = self.path / f"{name}.parquet"
        if path.exists():
            return pq.read_table(path).to_pandas()
        csv = self.path / f"{name}.csv"
        if not csv.exists():
            raise SnapshotError(f"{self.path}: no table {name!r}")
        return pd.read_csv(csv, dtype=str, keep_default_na=False)

    def damaged(self) -> list[str]:
        """Problems with the folder's files, one line each; empty when intact.

        Every listed output must exist with its recorded SHA-256, no unlisted file may be
        present, and the manifest must hash to the id it carries.
        """
        problems = []
        for name, sha in sorted(self.outputs.items()):
            f = self.path / name
            if not f.is_file():
                problems.append(f"output {name} is missing")
            elif sha256_file(f) != sha:
                problems.append(f"output {name} changed since publication (SHA-256 differs)")
        extra = sorted(
            p.name for p in self.path.iterdir() if p.name not in self.outputs
            and p.name != "manifest.json"
        )
        if extra:
            problems.append(f"files not in the manifest: {', '.join(extra)}")
        if not self.id.endswith("_" + manifest_digest(self.manifest)[:12]):
            edited = edited_fields(self.manifest)
            problems.append(
                "the manifest does not hash to its snapshot id ("
                + (f"edited: {', '.join(edited)}" if edited else "a field was edited")
                + ")"
            )
        return problems


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read and check a snapshot's ``manifest.json``.

    Raises
    ------
    SnapshotError
        One line: no manifest, not JSON, not an object, another format, no id.
    """
    path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"{Path(folder)} is not a snapshot: no manifest.json") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path}: unreadable ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(manifest, dict):
        raise SnapshotError(f"{path}: not a snapshot manifest (a JSON object is expected)")
    if manifest.get("format") != FORMAT:
        raise SnapshotError(
            f"{path}: unknown snapshot format {manifest.get('format')!r} (this release reads "
            f"{FORMAT})"
        )
    for key, kind in (("snapshot_id", str), ("outputs", dict)):
        if not isinstance(manifest.get(key), kind):
            raise SnapshotError(f"{path}: field {key!r} is missing or not a {kind.__name__}")
    return manifest


def load_snapshot(path: str | Path) -> Snapshot:
    """Open a snapshot folder (or a snapshots folder, taking its ``LATEST``).

    Raises
    ------
    SnapshotError
        When there is no snapshot or its manifest is malformed (one line).
    """
    path = Path(path)
    if (path / "LATEST").exists() and not (path / "manifest.json").exists():
        return latest_snapshot(path)
    return Snapshot(path, read_manifest(path))


def latest_name(out: str | Path) -> str:
    """The id named by ``out/LATEST``.

    Raises
    ------
    SnapshotError
        When there is no LATEST file or it is empty.
    """
    out = Path(out)
    try:
        name = (out / "LATEST").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise SnapshotError(f"{out} has no published snapshot (no LATEST file)") from None
    if not name:
        raise SnapshotError(f"{out}/LATEST is empty: no snapshot is published")
    if "/" in name or "\\" in name or name.startswith("."):
        raise SnapshotError(f"{out}/LATEST names no snapshot folder ({name!r})")
    return name


def latest_snapshot(out: str | Path) -> Snapshot:
    """The snapshot named by ``out/LATEST``."""
    out = Path(out)
    return load_snapshot(out / latest_name(out))


# ------------------------------------------------------------------------------- writing
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove temporary folders of writers that are no longer running; returns them."""
    removed = []
    for p in out.glob(_TMP_PREFIX + "*"):
        parts = p.name[len(_TMP_PREFIX) :].split("-")
        try:
            pid = int(parts[0])
        except ValueError:
            pid = -1
        if pid == os.getpid() or (pid > 0 and _pid_alive(pid)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
        log.info("removed %s, left by a writer that is gone", p)
    return removed


def _world_readable(folder: Path) -> None:
    folder.chmod(0o755)
    for p in folder.iterdir():
        p.chmod(0o644)


def write_snapshot(
    out: str | Path,
    prefix: str,
    write: Callable[[Path], None],
    manifest: dict[str, Any],
    *,
    latest: bool = True,
) -> Snapshot:
    """Publish a snapshot folder atomically under ``out``.

    Parameters
    ----------
    out : the snapshots folder (created when missing).
    prefix : the id's readable part, e.g. ``shimen_erlu_202301-202501``.
    write : writes the snapshot's files (not ``manifest.json``) into the folder it is given.
    manifest : every manifest field but ``format``, ``snapshot_id`` and ``outputs``, which
        this function sets (``outputs``: SHA-256 of every file ``write`` made).
    latest : point ``out/LATEST`` at the snapshot.

    Returns
    -------
    Snapshot
        When a snapshot of the same id exists and is intact, that one (it has the same bytes);
        a damaged one is replaced atomically.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tmp = out / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        write(tmp)
        outputs = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        full = {"format": FORMAT, **manifest, "outputs": outputs}
        full["digests"] = field_digests(full)
        snapshot_id = f"{prefix}_{manifest_digest(full)[:12]}"
        full["snapshot_id"] = snapshot_id
        (tmp / "manifest.json").write_text(
            json.dumps(full, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )
        _world_readable(tmp)
        final = out / snapshot_id
        if final.exists():
            try:
                problems = Snapshot(final, read_manifest(final)).damaged()
            except SnapshotError as exc:
                problems = [str(exc)]
            if problems:
                log.warning("replacing damaged snapshot %s: %s", final, "; ".join(problems))
                trash = out / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
                os.replace(final, trash)
                os.replace(tmp, final)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                shutil.rmtree(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    out.chmod(out.stat().st_mode | 0o055)
    if latest:
        write_latest(out, snapshot_id)
    log.info("published snapshot %s", final)
    return Snapshot(final, full)


def write_latest(out: Path, snapshot_id: str) -> None:
    """Point ``out/LATEST`` at a snapshot id (atomic rename, world-readable)."""
    tmp = out / f".LATEST.{os.getpid()}"
    tmp.write_text(snapshot_id + "\n", encoding="utf-8")
    tmp.chmod(0o644)
    os.replace(tmp, out / "LATEST")


# ------------------------------------------------------------------------------- a ledger
def _git_commit() -> str | None:
    """The commit of the code that runs, when it runs from a git checkout."""
    import subprocess

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
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _side_tables(ledger: Ledger, folder: Path) -> None:
    """The side tables every ledger snapshot carries (see the module docstring) but
    ``gpc_table.csv``, which :func:`publish_ledger` writes from the inventory it also takes
    the manifest's totals from."""
    store, twin = ledger.store, ledger.twin
    cov = ledger.coverage.copy()
    cov["completeness"] = cov.completeness.map(float)
    write_parquet(cov, folder / "coverage.parquet")
    ids = ledger.batches.batch_id.tolist()
    rejects = store.frame(
        "SELECT r.batch_id, b.file_name, r.reason, count(*) AS rows, min(r.row_number) AS "
        "first_row, any_value(r.message ORDER BY r.row_number) AS example FROM rejects r "
        "JOIN batches b USING (batch_id) WHERE list_contains(?, r.batch_id) GROUP BY ALL "
        "ORDER BY r.batch_id, r.reason",
        [ids],
    )
    write_csv(rejects, folder / "rejects.csv")
    used = set(ledger.entries["factor_id"].unique().tolist()) - {""}
    rows = [
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
        for f in ledger.factors
        if f.id in used
    ]
    write_csv(pd.DataFrame(rows), folder / "factors.csv")
    write_csv(twin.to_frame(), folder / "nodes.csv")
    write_csv(twin.meters_frame()[["meter_id", "node_id", "activity"]], folder / "meters.csv")
    if twin.geometry is not None:
        shutil.copyfile(twin.folder / "geometry.geojson", folder / "geometry.geojson")


def _inputs(ledger: Ledger, provenance: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for b in ledger.batches.to_dict("records"):
        row: dict[str, Any] = {
            "batch_id": b["batch_id"],
            "kind": b["kind"],
            "file_name": b["file_name"],
            "sha256": b["sha256"],
            "mapping": json.loads(b["mapping"]),
            "supersede": bool(b["supersede"]),
            "rows": {
                "read": int(b["rows_read"]),
                "accepted": int(b["rows_accepted"]),
                "rejected": int(b["rows_rejected"]),
            },
            "provenance": provenance.get(b["batch_id"]) or {"synthetic": False},
        }
        for key in ("options", "options_sha256", "sheet"):
            if key in b and b[key] is not None and b[key] == b[key]:
                row[key] = json.loads(b[key]) if key == "options" else b[key]
        rows.append(row)
    return rows


def _year_totals(
    ledger: Ledger,
    totals: dict[tuple[int, str], InventoryTotals],
    shanghai: dict[int, ShanghaiScope2],
) -> dict[str, dict[str, Any]]:
    """GPC totals per calendar year and scope-2 view [t CO2e], with BASIC's completeness
    (:func:`carbon.inventory.inventory_totals`; a GPC inventory covers one calendar year)."""
    out: dict[str, dict[str, Any]] = {}
    for year in ledger.years():
        row: dict[str, Any] = {}
        for method in ("location", "market"):
            t = totals[year, method]
            for name in ("BASIC", "BASIC+", "territorial", "scope2"):
                row[f"{name}_{method}"] = round(t.total(name), 6)
            row[f"BASIC_complete_{method}"] = t.complete
            row[f"BASIC_incomplete_rows_{method}"] = t.incomplete_rows
            row[f"BASIC_uncertainty_pct_{method}"] = t.uncertainty_pct
        # the Shanghai view (沪环气候〔2023〕89号) beside the headline: carbon.scope2
        if year in shanghai:
            row["scope2_shanghai"] = shanghai[year].shanghai_t
        out[str(year)] = dict(sorted(row.items()))
    return out


def _scope2_views(
    ledger: Ledger, register: InstrumentRegister | None, shanghai: dict[int, ShanghaiScope2]
) -> dict[str, Any]:
    """Per calendar year: the market-based method note (residual mix, geography, vintage,
    double-count risk) and, for a community in Shanghai (:func:`carbon.scope2.applies_in_shanghai`),
    the Shanghai 89号 view and the sensitivity of Shanghai's 0.42 against MEE's provincial
    factor (:mod:`carbon.scope2`); with the instrument register's file and
    hash (the register is not among the twin's hashed files)."""
    out: dict[str, Any] = {
        "headline": "location",
        "register": None
        if register is None or register.source is None
        else {
            "file": Path(register.source).name,
            "sha256": sha256_file(Path(register.source)),
            "instruments": len(register),
        },
    }
    for year in ledger.years():
        note = market_method_note(ledger.factors, year, ledger.twin.site.region)
        out[str(year)] = (
            {
                "shanghai_89": shanghai[year].as_dict(),
                "market_method_note": note,
                "factor_sensitivity": factor_sensitivity(ledger.entries, year).as_dict(),
            }
            if year in shanghai
            else {"market_method_note": note}
        )
    return out


def _boundary(ledger: Ledger) -> dict[str, Any]:
    """The twin's boundary statement with the notation keys the inventory applies to rows
    without entries (so a snapshot reader keys its rows as the ledger did)."""
    boundary = getattr(ledger.twin, "boundary", None)
    keys = ledger.inventory_context().notation_keys
    out: dict[str, Any] = boundary.model_dump(mode="json") if boundary is not None else {}
    out["notation_keys"] = {ref: {"key": k, "explanation": e} for ref, (k, e) in keys.items()}
    return out


def publish_ledger(
    ledger: Ledger,
    out: str | Path,
    *,
    recipe: dict[str, Any] | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    meta: dict[str, Any] | None = None,
    provenance: dict[str, dict[str, Any]] | None = None,
    environment: dict[str, Any] | None = None,
    latest: bool = True,
    code: dict[str, Any] | None = None,
    arrow: pa.Table | None = None,
) -> Snapshot:
    """Publish a built ledger as a snapshot (entries, side tables, manifest).

    Parameters
    ----------
    ledger : the built ledger.
    out : the snapshots folder.
    recipe : the ledger script as data (:meth:`carbon.pipeline.LedgerScript.recipe`).
    tables : side tables of the models (``interventions`` ...), written as CSV.
    meta : manifest facts of the models (``register``, ``verifications``, ``target``).
    provenance : batch id -> provenance recorded at ingest (``{"synthetic": True, ...}``).
    environment : where the build ran (paths, engine); not covered by the id.
    latest : point ``out/LATEST`` at it.
    code : ``carbon_version`` and ``git_commit`` to record instead of the running code's (a
        verification rebuilds with the published ones, which it cannot recompute).
    arrow : the ledger's entries as an Arrow table of :data:`ENTRY_SCHEMA` (the same rows as
        ``ledger.entries``), when the caller has them (:func:`carbon.incremental.update`):
        ``entries.parquet`` and ``.csv`` are written from it instead of from the frame.

    Returns
    -------
    Snapshot
    """
    from carbon._version import __version__

    e = ledger.entries
    inputs = _inputs(ledger, provenance or {})
    # the GPC totals of each year and view, and the Shanghai 89号 view of each year, once
    inventory = ledger.inventories()
    root = ledger.twin.root.id
    totals = {
        (year, method): inventory.totals[year, root, method]
        for year in ledger.years()
        for method in ("location", "market")
    }
    register = load_instruments(ledger.twin)
    # Shanghai's views (沪环气候〔2023〕89号, the 0.42 sensitivity) only where they apply
    shanghai = {
        year: shanghai_scope2(
            e,
            register,
            year,
            location_scope2_t=round(totals[year, "location"].total("scope2"), 6),
        )
        for year in ledger.years()
        if applies_in_shanghai(ledger.twin.site.region)
    }
    # Through Arrow, not store.frame (.df()), which turns DECIMAL into float.
    closed = (
        ledger.store.con.sql(
            "SELECT * EXCLUDE (snapshot_id, closed_at) FROM ledger_entries ORDER BY entry_id"
        )
        .to_arrow_table()
        .to_pandas()
    )

    def write(folder: Path) -> None:
        write_entries(e if arrow is None else arrow, folder)
        write_csv(inventory.table, folder / "gpc_table.csv")
        _side_tables(ledger, folder)
        for name, frame in sorted((tables or {}).items()):
            write_csv(frame, folder / f"{name}.csv")
        if len(closed):
            write_entries(closed, folder, "closed_entries", csv=False)

    env = dict(environment or {})
    recorded = {
        b["batch_id"]: b["source_path"]
        for b in ledger.batches.to_dict("records")
        if b.get("source_path") and b["kind"] != "estimate"
    }
    env["inputs"] = dict(sorted({**recorded, **(env.get("inputs") or {})}.items()))
    # When each input was ingested: the "now" of its future-timestamp rule, which a rebuild
    # reuses. Not part of the id: the rows it decided are (counts, outputs).
    env["ingested_at"] = {
        b["batch_id"]: pd.Timestamp(b["started_at"]).isoformat()
        for b in ledger.batches.to_dict("records")
    }
    manifest: dict[str, Any] = {
        **(code or {"carbon_version": __version__, "git_commit": _git_commit()}),
        "recipe": recipe,
        "period": {"start": str(ledger.start), "end": str(ledger.end)},
        "params": {
            "ne_threshold": ledger.ne_threshold,
            "profile": ledger.factors.name,
            "batches": "named" if ledger.named_batches else "all",
        },
        "twin": {
            "name": ledger.twin.name,
            "content_hash": ledger.twin.content_hash,
            "files": ledger.twin.files,
            "timezone": ledger.twin.site.timezone,
        },
        "factor_set": {
            "name": ledger.factors.name,
            "content_hash": ledger.factors.content_hash,
            "gwp": ledger.factors.gwp.name,
            "files": ledger.factors.files,
        },
        "inputs": inputs,
        "synthetic_inputs": any(i["provenance"].get("synthetic") for i in inputs),
        "closed_entries": "closed_entries.parquet" if len(closed) else None,
        "counts": {k: int(v) for k, v in e.kind.value_counts().sort_index().items()},
        "totals_t": _year_totals(ledger, totals, shanghai),
        "scope2": _scope2_views(ledger, register, shanghai),
        "boundary": _boundary(ledger),
        "warnings": [{"code": w.code, "message": w.message} for w in ledger.warnings],
        "environment": {
            "engine": ledger.engine,
            "store": str(ledger.store.path.resolve()) if ledger.store.path else None,
            "twin_folder": str(ledger.twin.folder),
            "profile_path": ledger.factors.source,
            **env,
        },
    }
    clash = set(meta or {}) & set(manifest)
    if clash:
        raise SnapshotError(f"meta keys {sorted(clash)} would overwrite manifest fields")
    manifest.update(meta or {})
    prefix = f"{ledger.twin.name}_{ledger.start:%Y%m}-{ledger.end:%Y%m}"
    return write_snapshot(out, prefix, write, manifest, latest=latest)
