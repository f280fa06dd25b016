"""Ingestion of utility exports into the store, with quarantine of bad rows.

One file is one *batch*, landed in one transaction: it lands whole or not at all. Every input
row is either accepted or rejected with a reason code, so ``read == accepted + rejected`` for
every batch. Rows never loop in Python: the file is loaded into DuckDB as text and parsed,
validated and converted there.

Formats
-------
CSV (UTF-8, or GBK/GB18030 detected automatically), Parquet and Excel (.xlsx). Headers may be
Chinese; numbers may carry thousands separators or full-width digits (``１２，３４５．６``);
dates may be ISO or ``2024年3月1日``; naive timestamps are local time of the community
(``Asia/Shanghai`` by default), timestamps with an offset are taken as given.

Kinds of file
-------------
``interval``  consumption per interval: meter, interval start, value (+ unit)
``register``  cumulative register readings: meter, read time, reading (+ unit); deltas between
              consecutive reads become readings, register rollover and meter replacement
              (``events`` files) handled, negative deltas rejected
``events``    meter replacements: meter, date, event, old final and new initial reading
``activity``  non-metered activity data: node, activity, period start and end, amount, unit

Batch identity and corrections
------------------------------
A batch is one file (one sheet of a workbook) read with one set of *options*: the resolved
mapping (kind, columns, unit, interval, time zone, encoding, CSV delimiter), the sheet and the
``supersede`` flag, as canonical JSON (:func:`canonical_options`). Its id is
``"b_" + sha256(file_sha256 + "\n" + options)[:16]`` (:func:`batch_id_of`).

* The same file with the same options (and the batch not voided) is a no-op: the earlier batch
  is returned with ``skipped=True``. When the options as asked (mapping before its columns are
  guessed) match too, the file is not even read.
* The same file with other options (a corrected unit, mapping or sheet) is a new batch. To
  *replace* the earlier one, ingest with ``supersedes="b_…"``: in one transaction the earlier
  batch is voided (its rows stop being current) and the new one lands; if the new ingest fails,
  or accepts no row at all, nothing changes and the earlier batch stays current.
* :func:`void_batch` (``Store.void``) voids a batch by hand, with a reason. Voiding deletes
  nothing: the batch row records ``voided_at``, ``voided_by`` and ``void_reason``; its readings
  and activity rows keep everything but their revision, which becomes ``-(revision + 1)`` (left
  out of every ``current_*`` view); its register reads and meter events are left out of
  ``current_register_reads`` / ``current_meter_events``, which later ingests read. Readings
  derived from a voided batch (gap-fill estimates, the first delta of a later register batch)
  are not voided with it. A register batch whose reads are followed by later stored reads
  cannot be corrected before those are voided too (``before_stored_reads``).
* A file that was voided and is ingested again with the same options gets a new id (derived
  from the voided one), so history is never overwritten.

Workbooks
---------
An Excel workbook with one sheet is read whole. With several sheets the sheet must be chosen
(``sheet="NAME"`` or an index, as argument or in the mapping, ``--sheet NAME``); otherwise the
ingest is refused with the list of sheets. ``sheet="*"`` ingests every sheet, each as its own
batch (and its own transaction), and returns the list of batches.

Rules for rows that meet rows already stored (documented once, applied everywhere)
-------------------------------------------------------------------------------------
* The same file twice with the same options is a no-op (see above).
* Within one file, exact duplicate rows keep the first and reject the rest
  (``duplicate_row``); rows for one meter and time with different values are all rejected
  (``conflicting_duplicate``): nobody can tell which is right.
* A row for a (meter, interval) already stored from another file is rejected as
  ``already_stored`` when its value is the same and ``conflicts_with_stored`` when it differs:
  the first value stands. Estimates (:func:`fill_gaps`) do not stand: a measured row for an
  estimated interval becomes its next revision. A correction is ingested with
  ``supersede=True``: its rows become a new revision, the stored rows stay (append-only) and
  the ledger uses the highest revision.

Reason codes
------------
``missing_field``, ``unknown_meter``, ``wrong_reading_kind``, ``unknown_node``,
``unknown_activity``, ``bad_timestamp``, ``future_timestamp``, ``bad_number``, ``bad_unit``,
``negative_value``, ``duplicate_row``, ``conflicting_duplicate``, ``already_stored``,
``conflicts_with_stored``, ``spike``, ``negative_delta``, ``before_stored_reads``,
``bad_period``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import duckdb
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carbon._version import __version__
from carbon.activities import ACTIVITIES
from carbon.errors import CarbonError, UnitConversionError, UnknownUnitError
from carbon.store import current_relations
from carbon.timezones import offset_span
from carbon.units import conversion_factor

if TYPE_CHECKING:
    from carbon.store import Store

__all__ = [
    "REASONS",
    "Batch",
    "IngestError",
    "Mapping",
    "batch_id_of",
    "canonical_options",
    "completeness_sql",
    "fill_gaps",
    "guess_mapping",
    "ingest_file",
    "load_mapping",
    "void_batch",
]

log = logging.getLogger(__name__)

REASONS: dict[str, str] = {
    "missing_field": "a required field is empty",
    "unknown_meter": "the meter is not in the twin",
    "wrong_reading_kind": "an interval row for a register meter, or the other way round",
    "unknown_node": "the node is not in the twin",
    "unknown_activity": "the activity is not in the catalogue",
    "bad_timestamp": "the date or time cannot be parsed",
    "future_timestamp": "the timestamp lies in the future",
    "bad_number": "the value is not a number",
    "bad_unit": "the unit is unknown or does not fit the meter's activity",
    "negative_value": "a consumption value is negative",
    "duplicate_row": "the row repeats an earlier row of the same file",
    "conflicting_duplicate": "the file has several different values for this meter and time",
    "already_stored": "the same value is already stored from an earlier batch",
    "conflicts_with_stored": "another value is stored from an earlier batch (first value stands)",
    "spike": "the value exceeds the meter's batch median by the spike factor",
    "negative_delta": "the register reading went down without rollover or replacement",
    "before_stored_reads": "the register reading is older than the meter's latest stored read",
    "bad_period": "the period end is not after its start",
}
"""Every reason code a rejected row can carry, with its meaning."""

_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required fields, optional fields)
    "interval": (("meter_id", "timestamp", "value"), ("unit",)),
    "register": (("meter_id", "timestamp", "reading"), ("unit",)),
    "events": (("meter_id", "timestamp", "event"), ("old_final", "new_initial")),
    "activity": (("node_id", "activity", "period_start", "period_end", "amount"), ("unit",)),
}

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "meter_id": (
        "meter_id",
        "meter",
        "meterid",
        "表号",
        "电表号",
        "水表号",
        "气表号",
        "计量点编号",
    ),
    "timestamp": (
        "timestamp",
        "time",
        "datetime",
        "ts",
        "read_date",
        "read_at",
        "date",
        "时间",
        "日期",
        "抄表日期",
        "抄表时间",
        "数据时间",
        "事件日期",
    ),
    "value": (
        "value",
        "kwh",
        "amount",
        "consumption",
        "用电量",
        "用量",
        "电量",
        "用水量",
        "用气量",
    ),
    "reading": ("reading", "register", "index", "读数", "表底数", "示数", "抄见数"),
    "unit": ("unit", "单位", "计量单位"),
    "event": ("event", "事件", "事件类型"),
    "old_final": ("old_final", "old_final_reading", "旧表止码"),
    "new_initial": ("new_initial", "new_initial_reading", "新表起码"),
    "node_id": ("node_id", "node", "节点"),
    "activity": ("activity", "活动"),
    "period_start": ("period_start", "start", "开始日期"),
    "period_end": ("period_end", "end", "结束日期"),
    "amount": ("amount", "quantity", "数量", "活动量"),
}

_TS_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y%m%d",
]
_INTERVALS = {
    "15min": "INTERVAL 15 MINUTE",
    "1h": "INTERVAL 1 HOUR",
    "1d": "INTERVAL 1 DAY",
    "1mo": "INTERVAL 1 MONTH",
}
# Fixed lengths in µs (the store's session zone is UTC, where a day is always 24 h).
_INTERVAL_US = {"15min": 900_000_000, "1h": 3_600_000_000, "1d": 86_400_000_000}

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
"""Suffixes of files read as delimited text."""
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
"""Suffixes of files read as Excel workbooks."""


class IngestError(CarbonError, ValueError):
    """A file that cannot be ingested at all (unreadable, or a required column missing).

    Nothing of the file is stored. Row-level problems never raise: they are rejected rows.
    """


class Mapping(BaseModel):
    """How to read one kind of export.

    Attributes
    ----------
    kind : ``interval``, ``register``, ``events`` or ``activity``.
    columns : canonical field -> column name in the file, e.g. ``{"meter_id": "表号"}``.
    unit : the unit of every value when the file has no unit column, e.g. ``"kWh"``.
    interval : interval length for interval files (``1h``); default: the meter's.
    timezone : zone of naive timestamps; default: the store's (the twin's).
    encoding : CSV encoding; default: UTF-8, else GB18030 when the bytes are not UTF-8.
    delimiter : CSV delimiter.
    sheet : Excel sheet name or index (0-based); needed for a workbook of several sheets.
        ``"*"`` (every sheet) is an argument of the ingest, not a mapping field.
    spike_factor : reject interval values above this multiple of the meter's batch median
        [dimensionless]; None disables.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["interval", "register", "events", "activity"]
    columns: dict[str, str] = Field(default_factory=dict)
    unit: str | None = None
    interval: Literal["15min", "1h", "1d", "1mo"] | None = None
    timezone: str | None = None
    encoding: str | None = None
    delimiter: str = ","
    sheet: str | int | None = None
    spike_factor: float | None = 20.0


@dataclass(frozen=True)
class Batch:
    """The outcome of ingesting one file (one sheet of a workbook).

    Attributes
    ----------
    batch_id : ``b_`` + 16 hex digits of the SHA-256 of the file's SHA-256 and the options
        (:func:`batch_id_of`); ``e_…`` for gap-fill estimates. Batches of a v1 store keep
        ``b_`` + the first 16 hex digits of the file's SHA-256.
    file : the file's path.
    sha256 : the file's SHA-256 [hex].
    kind : the mapping kind.
    read, accepted, rejected : row counts; ``read == accepted + rejected``.
    skipped : True when the same file was ingested before with the same options (nothing
        changed).
    reasons : rejected rows per reason code.
    options : the ingest options as canonical JSON (:func:`canonical_options`).
    options_sha256 : SHA-256 of ``options`` [hex].
    sheet : the workbook sheet read (None for other files).
    supersedes : the batch this one corrected and voided, if any.
    voided_at : when the batch was voided [UTC], None while it is current.
    voided_by : the batch that superseded it (None for a plain void or a current batch).
    void_reason : why it was voided.
    """

    batch_id: str
    file: str
    sha256: str
    kind: str
    read: int
    accepted: int
    rejected: int
    skipped: bool = False
    reasons: tuple[tuple[str, int], ...] = ()
    options: str = ""
    options_sha256: str = ""
    sheet: str | None = None
    supersedes: str | None = None
    voided_at: dt.datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None

    @property
    def voided(self) -> bool:
        """Whether the batch is voided (its rows are not current)."""
        return self.voided_at is not None

    def __post_init__(self) -> None:
        if self.read != self.accepted + self.rejected:  # pragma: no cover - guarded in SQL too
            raise CarbonError(f"batch {self.batch_id}: read {self.read} != accepted + rejected")


def load_mapping(source: Mapping | str | Path | dict[str, Any]) -> Mapping:
    """Build a :class:`Mapping` from a Mapping, a dict or a TOML file (``[mapping]`` table)."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, dict):
        raw, where = source, "mapping"
    else:
        path = Path(source)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise IngestError(f"Cannot read mapping {path}: {exc}") from None
        raw, where = data.get("mapping", data), str(path)
    try:
        return Mapping(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise IngestError(f"{where}: field {field!r}: {first['msg']}") from None


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def guess_mapping(headers: list[str]) -> Mapping:
    """Guess the kind and columns of a file from its headers (English or Chinese).

    Raises
    ------
    IngestError
        When the headers fit no kind; the message lists them.
    """
    found = _known_headers(headers)
    if "event" in found:
        kind = "events"
    elif "activity" in found and "node_id" in found:
        kind = "activity"
    elif "reading" in found:
        kind = "register"
    else:
        kind = "interval"
    required, optional = _FIELDS[kind]
    if kind == "activity" and "amount" not in found and "value" in found:
        found["amount"] = found["value"]
    missing = [f for f in required if f not in found]
    if missing:
        raise IngestError(
            f"Cannot tell the columns {missing} among headers {headers}; pass a mapping "
            f"(e.g. mapping={{'kind': '{kind}', 'columns': {{'{missing[0]}': '<header>'}}}})."
        )
    cols = {f: found[f] for f in (*required, *optional) if f in found}
    return Mapping(kind=kind, columns=cols)


def _known_headers(headers: list[str]) -> dict[str, str]:
    """Canonical field -> header, for every header that is a known synonym of a field."""
    lookup = {_norm(h): h for h in headers}
    found: dict[str, str] = {}
    for fieldname, names in _SYNONYMS.items():
        for n in names:
            if _norm(n) in lookup:
                found[fieldname] = lookup[_norm(n)]
                break
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _q(name: str) -> str:
    """Quote a column of the raw table (alias ``r``) for DuckDB."""
    return 'r."' + name.replace('"', '""') + '"'


def _utf8_copy(path: Path, encoding: str, workdir: Path) -> tuple[Path, str]:
    """Return a UTF-8 version of a CSV file in ``encoding`` (the file itself for UTF-8)."""
    if encoding.lower().replace("-", "") in ("utf8", "utf8sig"):
        return path, "utf-8"
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise IngestError(f"{path}: cannot decode as {encoding}: {exc}") from None
    copy = workdir / (path.stem + ".utf8.csv")
    copy.write_text(text, encoding="utf-8")
    return copy, encoding


def _delimiter(path: Path, mapping: Mapping | None) -> str:
    """The delimiter a CSV file is read with: the mapping's, else tab for .tsv, else comma."""
    if mapping is not None:
        return mapping.delimiter
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _sheet_names(path: Path) -> list[str]:
    """The sheet names of an Excel workbook, in workbook order."""
    try:
        with pd.ExcelFile(path) as book:
            return [str(n) for n in book.sheet_names]
    except Exception as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None


def _pick_sheet(path: Path, names: list[str], wanted: str | int | None) -> str:
    """The sheet to read: the one named (or at the 0-based index), or the only one.

    Raises
    ------
    IngestError
        For a workbook of several sheets and none chosen, or an unknown sheet: the message
        lists the sheets.
    """
    if wanted is None:
        if len(names) == 1:
            return names[0]
        raise IngestError(
            f"{path}: the workbook has {len(names)} sheets {names}; choose one with "
            "sheet='NAME' (--sheet NAME) or ingest each with sheet='*' (--sheet '*')"
        )
    if isinstance(wanted, str) and wanted in names:
        return wanted
    index = wanted if isinstance(wanted, int) else int(wanted) if wanted.isdigit() else None
    if index is not None and 0 <= index < len(names):
        return names[index]
    raise IngestError(f"{path}: no sheet {wanted!r}; the workbook's sheets are {names}")


def _load_raw(
    store: Store, path: Path, mapping: Mapping | None, sheet: str | None, workdir: Path
) -> str:
    """Load the file (the sheet of a workbook) into temp table ``_raw`` (all text, file order);
    return the encoding."""
    con = store.con
    con.execute("DROP TABLE IF EXISTS _raw")
    suffix = path.suffix.lower()
    encoding = "binary"
    try:
        if suffix in CSV_SUFFIXES:
            delim = _delimiter(path, mapping)
            given = mapping.encoding if mapping else None
            read = (
                "CREATE TEMP TABLE _raw AS SELECT * FROM read_csv(?, all_varchar = true, "
                "header = true, delim = ?, quote = '\"', null_padding = true, "
                "auto_detect = true, strict_mode = false)"
            )
            if given is None:
                # UTF-8 unless DuckDB finds a byte sequence that is not (it checks every
                # value): then GB18030, the superset of GBK that Chinese utilities export.
                try:
                    con.execute(read, [str(path), delim])
                    return "utf-8"
                except duckdb.Error as exc:
                    if "unicode" not in str(exc).lower():
                        raise
                    con.execute("DROP TABLE IF EXISTS _raw")
            source, encoding = _utf8_copy(path, given or "gb18030", workdir)
            con.execute(read, [str(source), delim])
        elif suffix == ".parquet":
            con.execute("CREATE TEMP TABLE _raw AS SELECT * FROM read_parquet(?)", [str(path)])
        elif suffix in EXCEL_SUFFIXES:
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str)
            con.register("_excel", frame)
            try:
                con.execute("CREATE TEMP TABLE _raw AS SELECT * FROM _excel")
            finally:
                con.unregister("_excel")
        else:
            raise IngestError(f"{path}: unsupported file type {suffix!r} (csv, parquet, xlsx)")
    except IngestError:
        raise
    except Exception as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None
    return encoding


def _headers(store: Store) -> list[str]:
    return [r[0] for r in store.con.execute("DESCRIBE _raw").fetchall()]


def _resolve_columns(mapping: Mapping, headers: list[str], path: Path) -> dict[str, str]:
    required, optional = _FIELDS[mapping.kind]
    cols = dict(mapping.columns)
    if len(cols) < len(required):
        # Known headers fill the fields the mapping leaves out (guess_mapping would raise for a
        # field that only the mapping names).
        guessed = _known_headers(headers)
        if mapping.kind == "activity" and "amount" not in guessed and "value" in guessed:
            guessed["amount"] = guessed["value"]
        cols = {**{k: v for k, v in guessed.items() if k in (*required, *optional)}, **cols}
    missing = [f for f in required if f not in cols]
    absent = [c for f, c in cols.items() if c not in headers]
    if missing or absent:
        raise IngestError(
            f"{path}: mapping for kind {mapping.kind!r} lacks fields {missing} or names columns "
            f"{absent} not in the file; the file's headers are {headers}."
        )
    return cols


_FULL_WIDTH = "'０１２３４５６７８９．，－＋　', '0123456789.,-+ '"


def _clean(expr: str) -> str:
    """SQL: text trimmed, full-width digits and marks made ASCII, '' as NULL.

    ``translate`` is slow, so it runs only on values with non-ASCII characters (their byte
    length differs from their character length).
    """
    return (
        f"nullif(trim(CASE WHEN strlen({expr}) = length({expr}) THEN {expr} "
        f"ELSE translate({expr}, {_FULL_WIDTH}) END), '')"
    )


def _text(col: str) -> str:
    """SQL: a raw column as clean text (see :func:`_clean`)."""
    return _clean(f"CAST({_q(col)} AS VARCHAR)")


def _number(col: str) -> str:
    """SQL: a raw column as DECIMAL(18, 6), NULL when it is not a number.

    Plain numbers cast directly; others are cleaned and lose thousands separators first.
    """
    raw = f"CAST({_q(col)} AS VARCHAR)"
    return (
        f"coalesce(TRY_CAST({raw} AS DECIMAL(18, 6)), "
        f"TRY_CAST(replace({_clean(raw)}, ',', '') AS DECIMAL(18, 6)))"
    )


def _timestamp(col: str, tz: str) -> str:
    """SQL: a raw column as TIMESTAMPTZ; naive values are local time in ``tz``.

    See :func:`_timestamp_sql`.
    """
    return _timestamp_sql(_text(col), tz)


def _timestamp_sql(text: str, tz: str) -> str:
    """SQL: clean text (see :func:`_text`) as TIMESTAMPTZ; naive values are local in ``tz``.

    An offset is ``Z``, ``+hh:mm``, ``+hhmm``, or ``+hh`` right after the seconds (how a
    TIMESTAMPTZ column, e.g. from Parquet, reads as text: ``2024-01-01 00:00:00+00``). Naive
    ISO values cast directly; other forms (``2024/3/1``, ``2024年3月1日 08:00``) are parsed
    with the formats in ``_TS_FORMATS``. Naive values are placed in time by
    :func:`_local_to_instant`.
    """
    has_offset, naive = _stamp_parts(text)
    return (
        f"CASE WHEN {has_offset} THEN TRY_CAST({text} AS TIMESTAMPTZ) "
        f"ELSE {_local_to_instant(naive, tz)} END"
    )


def _stamp_parts(text: str) -> tuple[str, str]:
    """SQL for :func:`_timestamp_sql`: (whether the text carries an offset, the naive value)."""
    # Cheap tests first: only text with 'Z', '+' or a '-' among its last 6 characters can
    # carry an offset; the exact patterns run on those alone.
    tail = f"right({text}, 6)"
    maybe = f"(suffix({text}, 'Z') OR contains({tail}, '+') OR contains({tail}, '-'))"
    offset = " OR ".join(
        f"{text} LIKE '{p}'"
        for p in ("%Z", "%+__:__", "%-__:__", "%+____", "%-____", "%:__+__", "%:__-__")
    )
    chinese = f"regexp_replace({text}, '(\\d{{4}})年(\\d{{1,2}})月(\\d{{1,2}})日', '\\1-\\2-\\3')"
    formats = "[" + ", ".join(f"'{f}'" for f in _TS_FORMATS) + "]"
    naive = f"coalesce(TRY_CAST({text} AS TIMESTAMP), try_strptime(trim({chinese}), {formats}))"
    return f"({maybe} AND ({offset}))", naive


def _local_to_instant(naive: str, tz: str) -> str:
    """SQL: naive local TIMESTAMPs of zone ``tz`` as instants (TIMESTAMPTZ).

    Equal to ``timezone(tz, naive)``. Within the zone's present span of one UTC offset
    (:func:`carbon.timezones.offset_span`: 20 years for Asia/Shanghai), less a day at each
    end, the instant is the wall clock minus the offset, in integer microseconds; elsewhere
    (older dates, summer-time changes) DuckDB's time-zone conversion does it. The conversion
    costs 0.05 s per 580 k rows, half as much as reading the CSV; the subtraction 0.03 s.
    """
    tzq = tz.replace("'", "")
    since, until, off = offset_span(tzq, dt.datetime.now(dt.UTC).year)
    day = 86_400_000_000
    lo, hi = since + off + day, until + off - day
    wall = f"epoch_us({naive})"
    return (
        f"CASE WHEN {wall} >= {lo} AND {wall} < {hi} THEN make_timestamptz({wall} - {off}) "
        f"ELSE timezone('{tzq}', {naive}) END"
    )


def _raw_json(headers: list[str]) -> str:
    return (
        "to_json(struct_pack("
        + ", ".join(
            f'"{h.replace(chr(34), chr(34) * 2)}" := CAST({_q(h)} AS VARCHAR)' for h in headers
        )
        + "))"
    )


def _unit_sql(mapping: Mapping, cols: dict[str, str]) -> tuple[str, list[Any]]:
    """SQL for an activity row's unit: its unit column, else the mapping's unit.

    (Metered rows fall back to the meter's unit last; :func:`_parse_metered` spells that.)
    """
    if "unit" in cols:
        return f"coalesce({_text(cols['unit'])}, CAST(? AS VARCHAR))", [mapping.unit]
    return "CAST(? AS VARCHAR)", [mapping.unit]


def _unit_table(store: Store, mapping: Mapping, cols: dict[str, str]) -> None:
    """Build temp table ``_units(unit, canonical, factor)`` with one pint conversion per pair.

    The pairs: every unit a row can carry (the file's unit column, the mapping's unit, the
    meters' units) with every canonical unit of the kind (the meters', or the activities'),
    so only a unit column is read from the file (a few distinct values).
    """
    con = store.con
    units: set[str | None] = {mapping.unit}
    if "unit" in cols:
        found = con.execute(f"SELECT DISTINCT {_text(cols['unit'])} FROM _raw r").fetchall()
        units |= {r[0] for r in found}
    if mapping.kind == "activity":
        canonicals = {a.canonical_unit for a in ACTIVITIES.values()}
    else:
        known = con.execute("SELECT DISTINCT unit, canonical_unit FROM meters").fetchall()
        units |= {u for u, _ in known}
        canonicals = {c for _, c in known}
    rows = []
    for unit in sorted(units, key=lambda u: (u is None, u or "")):
        for canonical in sorted(canonicals):
            factor = None
            if unit is not None:
                try:
                    factor = conversion_factor(unit, canonical)
                except (UnknownUnitError, UnitConversionError):
                    factor = None
            rows.append((unit, canonical, factor))
    con.execute("DROP TABLE IF EXISTS _units")
    con.execute("CREATE TEMP TABLE _units (unit VARCHAR, canonical VARCHAR, factor DOUBLE)")
    if rows:
        con.executemany("INSERT INTO _units VALUES (?, ?, ?)", rows)


def canonical_options(record: dict[str, Any], supersede: bool) -> tuple[str, str]:
    """The canonical JSON of a batch's ingest options, and its SHA-256 [hex].

    Parameters
    ----------
    record : the resolved mapping as recorded in ``batches.mapping`` (kind, columns, unit,
        interval, timezone, encoding, spike_factor; ``delimiter`` for CSV files, ``sheet`` for
        workbooks).
    supersede : the supersede flag of the ingest.

    Returns
    -------
    tuple
        ``(options, options_sha256)``: JSON with sorted keys, no spaces, UTF-8 text kept.
    """
    text = json.dumps(
        {**record, "supersede": bool(supersede)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return text, hashlib.sha256(text.encode()).hexdigest()


def batch_id_of(file_sha256: str, options: str, after: str | None = None) -> str:
    """The id of the batch of a file read with some options.

    Parameters
    ----------
    file_sha256 : the file's SHA-256 [hex].
    options : the canonical options (:func:`canonical_options`).
    after : the id of a voided batch of the same file and options, when the file is ingested
        again after it was voided (the new batch gets a new id).

    Returns
    -------
    str
        ``"b_"`` + the first 16 hex digits of ``sha256(file_sha256 + "\\n" + options
        [+ "\\n" + after])``.
    """
    key = f"{file_sha256}\n{options}" + (f"\n{after}" if after else "")
    return "b_" + hashlib.sha256(key.encode()).hexdigest()[:16]


@overload
def ingest_file(  # type: ignore[overload-overlap]  # '*' is a str: listed first
    store: Store,
    path: str | Path,
    mapping: Mapping | str | Path | dict[str, Any] | None = None,
    *,
    sheet: Literal["*"],
    supersede: bool = False,
    supersedes: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Batch]: ...


@overload
def ingest_file(
    store: Store,
    path: str | Path,
    mapping: Mapping | str | Path | dict[str, Any] | None = None,
    *,
    sheet: str | int | None = None,
    supersede: bool = False,
    supersedes: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Batch: ...


def ingest_file(
    store: Store,
    path: str | Path,
    mapping: Mapping | str | Path | dict[str, Any] | None = None,
    *,
    sheet: str | int | None = None,
    supersede: bool = False,
    supersedes: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Batch | list[Batch]:
    """Ingest one file into the store as one batch (a workbook with ``sheet="*"``: one per sheet).

    Parameters
    ----------
    store : the open :class:`carbon.store.Store` (its ``meters`` synced from the twin).
    path : CSV, Parquet or Excel file.
    mapping : a :class:`Mapping`, a dict, a mapping TOML file, or None to guess from headers.
    sheet : the sheet of an Excel workbook, by name or 0-based index (overrides the
        mapping's); ``"*"``: every sheet, one batch each. Needed for a workbook of several
        sheets; ignored for other files.
    supersede : rows for intervals already stored become a new revision instead of being
        rejected (a correction of earlier data; see the module's rules).
    supersedes : id of an earlier batch this ingest corrects (the same file read with a
        corrected mapping, unit or sheet, or a corrected file). It is voided in the same
        transaction as the new batch lands, before the new rows are checked against stored
        ones; if the ingest fails or accepts no row, nothing changes.
    reason : why the superseded batch is voided (default: ``"superseded by <new id>
        (<file>)"``).
    now : the present, for the ``future_timestamp`` check [timezone-aware]; default: now.
    progress : optional callback ``(stage, done, total)``.

    Returns
    -------
    Batch or list of Batch
        Counts with ``read == accepted + rejected``; ``skipped`` when the file was ingested
        before with the same options. A list (one per sheet) for ``sheet="*"``.

    Raises
    ------
    IngestError
        When the file cannot be read or lacks a required column, a workbook of several sheets
        has none chosen, the batch to supersede is unknown or voided, or a correction accepts
        no row; nothing is stored.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    given = load_mapping(mapping) if mapping is not None else None
    if given is not None and given.sheet == "*":
        raise IngestError(
            f"{path}: sheet '*' is an ingest option (sheet='*', --sheet '*'), not a mapping field"
        )
    wanted = sheet if sheet is not None else (given.sheet if given else None)
    every = wanted == "*"
    if every and supersedes:
        raise IngestError(f"{path}: one batch can supersede another, not every sheet at once")
    sha = _sha256(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        names = _sheet_names(path)
        sheets: list[str | None] = list(names) if every else [_pick_sheet(path, names, wanted)]
    else:
        sheets = [None]
    batches = [
        _ingest_one(store, path, sha, given, s, supersede, supersedes, reason, now, progress)
        for s in sheets
    ]
    return batches if every else batches[0]


def _ingest_one(
    store: Store,
    path: Path,
    sha: str,
    given: Mapping | None,
    sheet: str | None,
    supersede: bool,
    supersedes: str | None,
    reason: str | None,
    now: dt.datetime | None,
    progress: Callable[[str, int, int], None] | None,
) -> Batch:
    """Ingest one file (one sheet) as one batch; see :func:`ingest_file`."""
    stages = ["hash", "read", "parse", "validate", "store"]

    def step(i: int) -> None:
        if progress:
            progress(stages[i], i + 1, len(stages))

    step(0)
    con = store.con
    tz = (given.timezone if given else None) or store.timezone
    is_csv = path.suffix.lower() in CSV_SUFFIXES
    # The options as asked: enough to recognise a re-run without reading the file.
    request = {
        "mapping": given.model_dump(mode="json", exclude={"sheet"}) if given else None,
        "timezone": tz,
        "sheet": sheet,
        "delimiter": _delimiter(path, given) if is_csv else None,
    }
    request_sha = canonical_options(request, supersede)[1]
    prior = _current_batch(store, "request_sha256", sha, request_sha)
    if prior:
        return _skipped(store, prior, path, supersedes)
    if supersedes:
        _voidable(store, supersedes)

    started = dt.datetime.now(dt.UTC)
    now = now or started
    try:
        with tempfile.TemporaryDirectory(prefix="carbon-ingest-") as tmp:
            encoding = _load_raw(store, path, given, sheet, Path(tmp))
        step(1)
        headers = _headers(store)
        resolved = given or guess_mapping(headers)
        cols = _resolve_columns(resolved, headers, path)
        record: dict[str, Any] = {
            "kind": resolved.kind,
            "columns": cols,
            "unit": resolved.unit,
            "interval": resolved.interval,
            "timezone": tz,
            "encoding": encoding,
            "spike_factor": resolved.spike_factor,
        }
        if is_csv:
            record["delimiter"] = _delimiter(path, given)
        if sheet is not None:
            record["sheet"] = sheet
        options, options_sha = canonical_options(record, supersede)
        prior = _current_batch(store, "options_sha256", sha, options_sha)
        if prior:
            return _skipped(store, prior, path, supersedes)
        batch_id = batch_id_of(sha, options)
        while con.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch_id]).fetchall():
            batch_id = batch_id_of(sha, options, after=batch_id)  # re-ingest after a void
        con.execute("BEGIN TRANSACTION")
        try:
            if supersedes:
                why = reason or f"superseded by {batch_id} ({path.name})"
                _void_rows(store, supersedes, why, batch_id, dt.datetime.now(dt.UTC))
            handler = {
                "interval": _interval,
                "register": _register,
                "events": _events,
                "activity": _activity,
            }[resolved.kind]
            handler(_Job(store, resolved, cols, headers, tz, batch_id, now, supersede, step))
            counts = con.execute(
                "SELECT (SELECT count(*) FROM _raw), "
                "(SELECT count(*) FROM rejects WHERE batch_id = ?)",
                [batch_id],
            ).fetchone()
            assert counts is not None
            read, rejected = int(counts[0]), int(counts[1])
            accepted = read - rejected
            if supersedes and accepted == 0:
                why_not = ", ".join(f"{r} {n}" for r, n in _reason_counts(store, batch_id))
                raise IngestError(
                    f"{path}: the correction accepts no row ({rejected} rejected: "
                    f"{why_not or 'empty file'}); nothing changed, {supersedes} stays current"
                )
            finished = dt.datetime.now(dt.UTC)
            con.execute(
                f"INSERT INTO batches ({_BATCH_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    resolved.kind,
                    path.name,
                    str(path.resolve()),
                    sha,
                    path.stat().st_size,
                    read,
                    accepted,
                    rejected,
                    started,
                    finished,
                    json.dumps(record, sort_keys=True, ensure_ascii=False),
                    supersede,
                    __version__,
                    options,
                    options_sha,
                    request_sha,
                    supersedes,
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for t in ("_raw", "_parsed", "_units", "_acts", "_ok", "_deltas"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    step(4)
    log.info("ingested %s: %d read, %d accepted, %d rejected", path.name, read, accepted, rejected)
    if supersedes:
        log.info("%s voided: superseded by %s", supersedes, batch_id)
    return _batch_from_row(store, batch_id, str(path))


_BATCH_COLUMNS = (
    "batch_id, kind, file_name, source_path, sha256, size_bytes, rows_read, rows_accepted, "
    "rows_rejected, started_at, finished_at, mapping, supersede, carbon_version, options, "
    "options_sha256, request_sha256, supersedes"
)
"""The columns an ingest writes into ``batches`` (the void columns are written by a void)."""


def _current_batch(store: Store, column: str, sha: str, key: str) -> str | None:
    """The id of the batch of this file with this options key that is not voided, if any."""
    rows = store.con.execute(
        f"SELECT batch_id FROM batches WHERE sha256 = ? AND {column} = ? AND voided_at IS NULL "
        "ORDER BY started_at DESC LIMIT 1",
        [sha, key],
    ).fetchall()
    return rows[0][0] if rows else None


def _skipped(store: Store, prior: str, path: Path, supersedes: str | None) -> Batch:
    """The earlier batch of the same file and options, as a skipped ingest.

    With ``supersedes``: a re-run of the correction that superseded it is skipped too;
    otherwise the correction cannot happen (the same batch is already current).
    """
    if supersedes:
        by = store.con.execute(
            "SELECT voided_by FROM batches WHERE batch_id = ?", [supersedes]
        ).fetchall()
        if not by or by[0][0] != prior:
            _voidable(store, supersedes)
            raise IngestError(
                f"{path} was ingested before with these options as {prior}, so it cannot "
                f"supersede {supersedes}; void {supersedes} instead (Store.void, or carbon "
                f"ingest STORE --void {supersedes} --reason TEXT)"
            )
    log.info("%s was ingested before as %s: nothing to do", path, prior)
    return _batch_from_row(store, prior, str(path), skipped=True)


def _batch_from_row(
    store: Store, batch_id: str, file: str | None = None, *, skipped: bool = False
) -> Batch:
    """The :class:`Batch` of a stored batch row (``file``: the path to report)."""
    row = store.con.execute(
        "SELECT batch_id, source_path, sha256, kind, rows_read, rows_accepted, rows_rejected, "
        "options, options_sha256, supersedes, voided_at, voided_by, void_reason "
        "FROM batches WHERE batch_id = ?",
        [batch_id],
    ).fetchall()[0]
    options = row[7] or ""
    sheet = json.loads(options).get("sheet") if options else None
    return Batch(
        row[0],
        file if file is not None else row[1],
        row[2],
        row[3],
        int(row[4]),
        int(row[5]),
        int(row[6]),
        skipped=skipped,
        reasons=_reason_counts(store, batch_id),
        options=options,
        options_sha256=row[8] or "",
        sheet=sheet,
        supersedes=row[9],
        voided_at=row[10],
        voided_by=row[11],
        void_reason=row[12],
    )


def _voidable(store: Store, batch_id: str) -> None:
    """Raise :class:`IngestError` unless the batch exists and is not voided."""
    rows = store.con.execute(
        "SELECT voided_at, voided_by, void_reason FROM batches WHERE batch_id = ?", [batch_id]
    ).fetchall()
    if not rows:
        raise IngestError(f"no batch {batch_id!r} in the store")
    at, by, why = rows[0]
    if at is not None:
        raise IngestError(
            f"batch {batch_id} is already voided (at {at:%Y-%m-%d %H:%M:%S} UTC"
            + (f" by {by}" if by else "")
            + f": {why})"
        )


def _void_rows(store: Store, batch_id: str, reason: str, by: str | None, at: dt.datetime) -> None:
    """Void a batch inside the caller's transaction (see the module's rules)."""
    _voidable(store, batch_id)
    con = store.con
    for table in ("readings", "activities"):
        con.execute(
            f"UPDATE {table} SET revision = -revision - 1 WHERE batch_id = ? AND revision >= 0",
            [batch_id],
        )
    con.execute(
        "UPDATE batches SET voided_at = ?, voided_by = ?, void_reason = ? WHERE batch_id = ?",
        [at, by, reason, batch_id],
    )


def void_batch(
    store: Store, batch_id: str, reason: str, *, now: dt.datetime | None = None
) -> Batch:
    """Void a batch: its rows stop being current; nothing is deleted.

    The batch row records ``voided_at`` (``now``), ``void_reason`` and ``voided_by`` NULL; its
    readings and activity rows get revision ``-(revision + 1)`` and drop out of the
    ``current_*`` views (an earlier revision of the same interval, if any, is current again);
    its register reads and meter events drop out of ``current_register_reads`` /
    ``current_meter_events``. One transaction. Voiding a batch that superseded another does
    not restore that one: ingest its file again (with its options) to make it current.

    Parameters
    ----------
    store : the store.
    batch_id : the batch to void.
    reason : why (required).
    now : the time recorded [timezone-aware]; default: now.

    Returns
    -------
    Batch
        The voided batch.

    Raises
    ------
    IngestError
        For an empty reason, an unknown batch or one already voided; nothing changes.
    """
    why = (reason or "").strip()
    if not why:
        raise IngestError(f"voiding {batch_id} needs a reason")
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        _void_rows(store, batch_id, why, None, (now or dt.datetime.now(dt.UTC)))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("voided batch %s: %s", batch_id, why)
    return _batch_from_row(store, batch_id)


def _reason_counts(store: Store, batch_id: str) -> tuple[tuple[str, int], ...]:
    rows = store.con.execute(
        "SELECT reason, count(*) FROM rejects WHERE batch_id = ? GROUP BY reason ORDER BY reason",
        [batch_id],
    ).fetchall()
    return tuple((r[0], int(r[1])) for r in rows)


def _reject_sql(headers: list[str]) -> str:
    """SQL (one parameter: the batch id): quarantine the rejected rows of ``_parsed``, each
    with its row as JSON text from ``_raw`` (built for those rows only)."""
    return f"""INSERT INTO rejects
    SELECT ?, p._row, {_raw_json(headers)}, p.reason, p.message
    FROM _parsed p JOIN _raw r ON r.rowid + 1 = p._row WHERE p.reason IS NOT NULL"""


@dataclass(frozen=True)
class _Job:
    """Everything a kind-specific ingest step needs about the batch being ingested."""

    store: Store
    mapping: Mapping
    cols: dict[str, str]
    headers: list[str]
    tz: str
    batch_id: str
    now: dt.datetime
    supersede: bool
    step: Callable[[int], None]


def _rule_columns(rules: list[tuple[str, str, str]], now: dt.datetime) -> str:
    """SQL: ``reason`` and ``message`` columns, the first failing rule's code and message.

    A rule is ``(code, SQL condition, SQL message)``; ``?`` in a condition is ``now``. One
    ``CASE`` per column, in the query that parses the rows (a message is only built for the
    rows its rule rejects), instead of an ``UPDATE`` pass over the batch per rule.
    """
    moment = f"CAST('{now.astimezone(dt.UTC).isoformat()}' AS TIMESTAMPTZ)"
    conds = [f"({cond.replace('?', moment)})" for _, cond, _ in rules]
    pairs = list(zip(conds, rules, strict=True))
    reason = " ".join(f"WHEN {c} THEN '{code}'" for c, (code, _, _) in pairs)
    message = " ".join(f"WHEN {c} THEN {msg}" for c, (_, _, msg) in pairs)
    return (
        f"CAST(CASE {reason} END AS VARCHAR) AS reason, "
        f"CAST(CASE {message} END AS VARCHAR) AS message"
    )


def _create_parsed(
    con: Any,
    select: str,
    rules: list[tuple[str, str, str]],
    now: dt.datetime,
    params: list[Any] | None = None,
) -> None:
    """Create ``_parsed`` from a query of parsed rows, with the rules' ``reason, message``."""
    con.execute(
        f"CREATE TEMP TABLE _parsed AS SELECT *, {_rule_columns(rules, now)} FROM ({select})",
        params or [],
    )


def _parse_metered(
    store: Store,
    mapping: Mapping,
    cols: dict[str, str],
    headers: list[str],
    tz: str,
    value_field: str,
    now: dt.datetime,
) -> None:
    """Create ``_parsed`` for interval or register rows, row rules applied.

    Columns: ``_row`` (1-based data row, ``_raw``'s rowid + 1), ``meter_id``, ``ts``
    [TIMESTAMPTZ], ``amount`` [canonical unit, DECIMAL], ``step`` (interval length),
    ``step_us`` (the same in microseconds where it is fixed: 15 min, 1 h, 1 d in UTC),
    ``reason``, ``message``. One query: texts cleaned once, then parsed, converted and
    judged by :func:`_rule_columns`.
    """
    con = store.con
    _unit_table(store, mapping, cols)
    unit_text = _text(cols["unit"]) if "unit" in cols else "CAST(NULL AS VARCHAR)"
    if mapping.interval is None:
        whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in _INTERVALS.items())
        interval = f'CASE m."interval" {whens} END'
        whens_us = " ".join(f"WHEN '{k}' THEN {v}" for k, v in _INTERVAL_US.items())
        interval_us = f'CASE m."interval" {whens_us} END'
    else:
        interval = _INTERVALS[mapping.interval]
        interval_us = str(_INTERVAL_US.get(mapping.interval, "NULL"))
    has_offset, naive = _stamp_parts("t.ts_text")
    rules = (
        [
            (
                "missing_field",
                "meter_id IS NULL OR ts_text IS NULL OR value_text IS NULL",
                f"'empty meter, time or {value_field}'",
            ),
            ("unknown_meter", "NOT known", "'meter ' || meter_id || ' is not in the twin'"),
            (
                "wrong_reading_kind",
                f"meter_reading <> '{'interval' if value_field == 'value' else 'register'}'",
                "'meter ' || meter_id || ' gives ' || meter_reading || ' readings, not "
                f"{'interval' if value_field == 'value' else 'register'} ones'",
            ),
            ("bad_timestamp", "ts IS NULL", "'cannot parse time ' || ts_text"),
            (
                "future_timestamp",
                "ts > CAST(? AS TIMESTAMPTZ)",
                "'time ' || ts_text || ' is in the future'",
            ),
            ("bad_number", "value IS NULL", "'not a number: ' || value_text"),
            (
                "bad_unit",
                "factor IS NULL",
                "'unit ' || coalesce(unit, '(none)') || ' does not convert to ' || canonical_unit",
            ),
            ("negative_value", "amount < 0", f"'negative {value_field} ' || value_text"),
        ]
    )
    con.execute(
        f"""CREATE TEMP TABLE _parsed AS
        WITH texts AS (
            SELECT r.rowid + 1 AS _row, {_text(cols["meter_id"])} AS meter_id,
                   {_text(cols["timestamp"])} AS ts_text,
                   {_number(cols[value_field])} AS value,
                   {_text(cols[value_field])} AS value_text, {unit_text} AS unit_text
            FROM _raw r
        ), stamped AS (
            SELECT t.*, {has_offset} AS has_offset, {naive} AS naive FROM texts t
        ), base AS (
            SELECT t._row, t.meter_id,
                   CASE WHEN t.has_offset THEN TRY_CAST(t.ts_text AS TIMESTAMPTZ)
                        ELSE {_local_to_instant("t.naive", tz)} END AS ts, t.ts_text,
                   t.value, t.value_text,
                   coalesce(t.unit_text, CAST(? AS VARCHAR), m.unit) AS unit,
                   m.meter_id IS NOT NULL AS known, m.reading AS meter_reading,
                   m.canonical_unit, {interval} AS step, {interval_us} AS step_us
            FROM stamped t LEFT JOIN meters m ON m.meter_id = t.meter_id
        ), converted AS (
            SELECT b.*, u.factor,
                   CASE WHEN u.factor = 1 THEN b.value
                        ELSE CAST(b.value * CAST(u.factor AS DECIMAL(38, 12)) AS DECIMAL(18, 6))
                   END AS amount
            FROM base b LEFT JOIN _units u ON u.unit IS NOT DISTINCT FROM b.unit
                 AND u.canonical = b.canonical_unit
        )
        SELECT _row, meter_id, ts, amount, step, step_us, {_rule_columns(list(rules), now)}
        FROM converted""",
        [mapping.unit],
    )
    _duplicates(con, "meter_id, ts", "amount")


def _interval(job: _Job) -> None:
    store, mapping, cols, headers, tz = job.store, job.mapping, job.cols, job.headers, job.tz
    batch_id, now, supersede, step = job.batch_id, job.now, job.supersede, job.step
    con = store.con
    _parse_metered(store, mapping, cols, headers, tz, "value", now)
    step(2)
    if mapping.spike_factor:
        con.execute(
            f"""UPDATE _parsed p SET reason = 'spike',
                message = 'value ' || p.amount || ' is over {mapping.spike_factor:g} x the batch '
                          || 'median ' || s.med || ' of meter ' || p.meter_id
            FROM (SELECT meter_id, median(amount) AS med, count(*) AS n FROM _parsed
                  WHERE reason IS NULL AND amount > 0 GROUP BY meter_id) s
            WHERE p.reason IS NULL AND p.meter_id = s.meter_id AND s.n >= 24
              AND p.amount > s.med * {float(mapping.spike_factor)}"""
        )
    _against_stored(con, "readings", "meter_id, ts_start", "meter_id, ts", "amount", supersede)
    step(3)
    con.execute(
        """INSERT INTO readings
           SELECT p.meter_id, p.ts,
                  CASE WHEN p.step_us IS NULL THEN p.ts + p.step
                       ELSE make_timestamptz(epoch_us(p.ts) + p.step_us) END,
                  p.amount, 'measured',
                  coalesce(r.rev + 1, 0), ?, p._row
           FROM _parsed p LEFT JOIN (
                SELECT meter_id, ts_start, max(revision) AS rev FROM readings
                WHERE revision >= 0 AND ts_start BETWEEN (SELECT min(ts) FROM _parsed)
                                   AND (SELECT max(ts) FROM _parsed)
                  AND meter_id IN (SELECT DISTINCT meter_id FROM _parsed)
                GROUP BY ALL) r
             ON r.meter_id = p.meter_id AND r.ts_start = p.ts
           WHERE p.reason IS NULL""",
        [batch_id],
    )
    con.execute(_reject_sql(job.headers), [batch_id])


def _duplicates(con: Any, key: str, value: str) -> None:
    """Reject in-file duplicates: exact repeats after the first, and conflicting values.

    One aggregation over the rows still accepted finds the repeated keys, with their first
    row and whether their values differ (min <> max); keys with several distinct values
    (all their rows are ``conflicting_duplicate``) and keys repeated with one value (rows
    after the first are ``duplicate_row``). The number of distinct values, for the message,
    is counted over the repeated keys only.
    """
    keys = [k.strip() for k in key.split(",")]
    on = " AND ".join(f"p.{k} = d.{k}" for k in keys)
    con.execute("DROP TABLE IF EXISTS _dups")
    con.execute(
        f"""CREATE TEMP TABLE _dups AS
        SELECT {key}, min(_row) AS first_row, min({value}) IS DISTINCT FROM max({value})
               AS conflict
        FROM _parsed WHERE reason IS NULL GROUP BY ALL HAVING count(*) > 1"""
    )
    if not con.execute("SELECT count(*) FROM _dups").fetchall()[0][0]:
        con.execute("DROP TABLE _dups")
        return
    qualified = ", ".join(f"p.{k}" for k in keys)
    con.execute(
        f"""UPDATE _parsed p SET
               reason = CASE WHEN d.n_values > 1 THEN 'conflicting_duplicate'
                             ELSE 'duplicate_row' END,
               message = CASE WHEN d.n_values > 1
                              THEN 'the file holds ' || d.n_values || ' different values for '
                                   || 'this key'
                              ELSE 'repeats row ' || d.first_row END
            FROM (SELECT d.*, coalesce(c.n_values, 1) AS n_values FROM _dups d
                  LEFT JOIN (SELECT {qualified}, count(DISTINCT {value}) AS n_values
                             FROM _parsed p SEMI JOIN _dups d ON {on}
                             WHERE p.reason IS NULL GROUP BY ALL) c
                    ON {on.replace("p.", "c.")}) d
            WHERE p.reason IS NULL AND {on} AND (d.n_values > 1 OR p._row > d.first_row)"""
    )
    con.execute("DROP TABLE _dups")


def _against_stored(
    con: Any, table: str, stored_key: str, key: str, value: str, supersede: bool
) -> None:
    """Apply the 'first value stands' rule against rows stored by earlier batches."""
    stored = [k.strip() for k in stored_key.split(",")]
    mine = [k.strip() for k in key.split(",")]
    on = " AND ".join(f"s.{a} = p.{b}" for a, b in zip(stored, mine, strict=True))
    if table == "readings":
        # Only stored rows of this batch's meters and time span can meet it: the zone maps
        # of ts_start prune the rest, so the cost does not grow with the store.
        current = """(SELECT * FROM current_readings
                      WHERE ts_start BETWEEN (SELECT min(ts) FROM _parsed)
                                         AND (SELECT max(ts) FROM _parsed)
                        AND meter_id IN (SELECT DISTINCT meter_id FROM _parsed))"""
    else:
        current = "current_activities"
    # Estimates (gap fill) give way to measured data: only measured rows stand first.
    measured = f"(SELECT * FROM {current} WHERE quality = 'measured')"
    con.execute(
        f"""UPDATE _parsed p SET reason = 'already_stored',
               message = 'same value stored by batch ' || s.batch_id
            FROM {measured} s WHERE p.reason IS NULL AND {on} AND s.amount = p.{value}"""
    )
    if not supersede:
        con.execute(
            f"""UPDATE _parsed p SET reason = 'conflicts_with_stored',
                   message = 'batch ' || s.batch_id || ' stored ' || s.amount
                             || '; ingest with supersede=True to correct it'
                FROM {measured} s WHERE p.reason IS NULL AND {on}"""
        )


def _register(job: _Job) -> None:
    store, mapping, cols, headers, tz = job.store, job.mapping, job.cols, job.headers, job.tz
    batch_id, now, step = job.batch_id, job.now, job.step
    con = store.con
    _parse_metered(store, mapping, cols, headers, tz, "reading", now)
    step(2)
    con.execute(
        """UPDATE _parsed p SET reason = 'already_stored',
               message = 'same reading stored by batch ' || s.batch_id
           FROM current_register_reads s WHERE p.reason IS NULL AND s.meter_id = p.meter_id
             AND s.read_at = p.ts AND s.reading = p.amount"""
    )
    con.execute(
        """UPDATE _parsed p SET reason = 'before_stored_reads',
               message = 'meter ' || p.meter_id || ' has a stored read at ' || s.last
                         || '; older reads cannot be inserted before it'
           FROM (SELECT meter_id, max(read_at) AS last FROM current_register_reads
                 GROUP BY ALL) s
           WHERE p.reason IS NULL AND s.meter_id = p.meter_id AND p.ts <= s.last"""
    )
    # Deltas between consecutive reads (stored reads first), recomputed until no read is newly
    # rejected, so that a read rejected as a negative delta is never the base of the next one.
    while True:
        con.execute("DROP TABLE IF EXISTS _deltas")
        con.execute(
            """CREATE TEMP TABLE _deltas AS
            WITH reads AS (
                SELECT meter_id, read_at, reading, 0 AS is_new, row_number AS _row
                FROM current_register_reads WHERE meter_id IN (SELECT meter_id FROM _parsed)
                UNION ALL
                SELECT meter_id, ts, amount, 1, _row FROM _parsed WHERE reason IS NULL
            ), seq AS (
                SELECT *, lag(reading) OVER w AS prev, lag(read_at) OVER w AS prev_at
                FROM reads WINDOW w AS (PARTITION BY meter_id ORDER BY read_at, is_new, _row)
            )
            SELECT s.meter_id, s.read_at, s.prev_at, s._row, s.reading, s.prev,
                   e.old_final, e.new_initial,
                   CAST(pow(10, ceil(log10(s.prev + 1))) AS DECIMAL(18, 6)) AS wrap,
                   CASE
                     WHEN e.meter_id IS NOT NULL
                       THEN (e.old_final - s.prev) + (s.reading - e.new_initial)
                     WHEN s.reading >= s.prev THEN s.reading - s.prev
                     WHEN s.prev >= 0.9 * pow(10, ceil(log10(s.prev + 1)))
                          AND s.reading < 0.1 * pow(10, ceil(log10(s.prev + 1)))
                       THEN CAST(pow(10, ceil(log10(s.prev + 1))) AS DECIMAL(18, 6))
                            - s.prev + s.reading
                   END AS delta
            FROM seq s
            LEFT JOIN current_meter_events e ON e.meter_id = s.meter_id AND e.event = 'replacement'
                 AND e.event_at > s.prev_at AND e.event_at <= s.read_at
            WHERE s.is_new = 1 AND s.prev IS NOT NULL"""
        )
        changed = con.execute(
            """UPDATE _parsed p SET reason = 'negative_delta',
                   message = 'reading ' || d.reading || ' is below the previous ' || d.prev
                             || ' with no rollover pattern and no replacement event'
               FROM _deltas d WHERE p.reason IS NULL AND d._row = p._row
                 AND (d.delta IS NULL OR d.delta < 0)"""
        ).fetchall()[0][0]
        if not changed:
            break
    step(3)
    con.execute(
        "INSERT INTO register_reads SELECT meter_id, ts, amount, ?, _row FROM _parsed "
        "WHERE reason IS NULL",
        [batch_id],
    )
    con.execute(
        """INSERT INTO readings
           SELECT meter_id, prev_at, read_at, delta, 'measured', 0, ?, _row FROM _deltas
           WHERE delta >= 0""",
        [batch_id],
    )
    con.execute(_reject_sql(job.headers), [batch_id])


def _events(job: _Job) -> None:
    store, cols, tz = job.store, job.cols, job.tz
    batch_id, now, step = job.batch_id, job.now, job.step
    con = store.con
    old = _number(cols["old_final"]) if "old_final" in cols else "NULL"
    new = _number(cols["new_initial"]) if "new_initial" in cols else "NULL"
    rules = [
        (
            "missing_field",
            "meter_id IS NULL OR ts_text IS NULL OR event IS NULL",
            "'empty meter, date or event'",
        ),
        ("unknown_meter", "NOT known", "'meter ' || meter_id || ' is not in the twin'"),
        ("bad_timestamp", "ts IS NULL", "'cannot parse date ' || ts_text"),
        (
            "bad_number",
            "event = 'replacement' AND (old_final IS NULL OR new_initial IS NULL)",
            "'a replacement needs old_final and new_initial readings'",
        ),
    ]
    _create_parsed(
        con,
        f"""SELECT r.rowid + 1 AS _row,
               {_text(cols["meter_id"])} AS meter_id, {_timestamp(cols["timestamp"], tz)} AS ts,
               {_text(cols["timestamp"])} AS ts_text, lower({_text(cols["event"])}) AS event,
               {old} AS old_final, {new} AS new_initial,
               m.meter_id IS NOT NULL AS known
        FROM _raw r LEFT JOIN meters m ON m.meter_id = {_text(cols["meter_id"])}""",
        rules,
        now,
    )
    step(2)
    _duplicates(con, "meter_id, ts, event", "coalesce(old_final, 0) + coalesce(new_initial, 0)")
    con.execute(
        """UPDATE _parsed p SET reason = 'already_stored',
               message = 'this event is stored by batch ' || s.batch_id
           FROM current_meter_events s WHERE p.reason IS NULL AND s.meter_id = p.meter_id
             AND s.event_at = p.ts AND s.event = p.event"""
    )
    step(3)
    con.execute(
        "INSERT INTO meter_events SELECT meter_id, ts, event, old_final, new_initial, ?, _row "
        "FROM _parsed WHERE reason IS NULL",
        [batch_id],
    )
    con.execute(_reject_sql(job.headers), [batch_id])


def _activity(job: _Job) -> None:
    store, mapping, cols, tz = job.store, job.mapping, job.cols, job.tz
    batch_id, now, supersede, step = job.batch_id, job.now, job.supersede, job.step
    con = store.con
    acts = pd.DataFrame(
        {
            "activity": list(ACTIVITIES),
            "canonical_unit": [a.canonical_unit for a in ACTIVITIES.values()],
        }
    )
    con.execute("DROP TABLE IF EXISTS _acts")
    con.register("_acts_frame", acts)
    con.execute("CREATE TEMP TABLE _acts AS SELECT * FROM _acts_frame")
    con.unregister("_acts_frame")
    _unit_table(store, mapping, cols)
    unit_expr, fixed = _unit_sql(mapping, cols)
    rules = [
        (
            "missing_field",
            "node_id IS NULL OR activity IS NULL OR start_text IS NULL "
            "OR end_text IS NULL OR value_text IS NULL",
            "'empty node, activity, period or amount'",
        ),
        (
            "unknown_node",
            "node_id NOT IN (SELECT node_id FROM nodes)",
            "'node ' || node_id || ' is not in the twin'",
        ),
        (
            "unknown_activity",
            "canonical_unit IS NULL",
            "'activity ' || activity || ' is not in the catalogue'",
        ),
        (
            "bad_timestamp",
            "period_start IS NULL OR period_end IS NULL",
            "'cannot parse period ' || start_text || ' .. ' || end_text",
        ),
        (
            "bad_period",
            "period_end <= period_start",
            "'period end ' || end_text || ' is not after its start ' || start_text",
        ),
        ("bad_number", "value IS NULL", "'not a number: ' || value_text"),
        (
            "bad_unit",
            "factor IS NULL",
            "'unit ' || coalesce(unit, '(none)') || ' does not convert to ' || canonical_unit",
        ),
    ]
    _create_parsed(
        con,
        f"""WITH base AS (
            SELECT r.rowid + 1 AS _row,
                   {_text(cols["node_id"])} AS node_id, {_text(cols["activity"])} AS activity,
                   CAST({_timestamp(cols["period_start"], tz)} AT TIME ZONE '{tz}' AS DATE)
                       AS period_start,
                   CAST({_timestamp(cols["period_end"], tz)} AT TIME ZONE '{tz}' AS DATE)
                       AS period_end,
                   {_text(cols["period_start"])} AS start_text,
                   {_text(cols["period_end"])} AS end_text,
                   {_number(cols["amount"])} AS value, {_text(cols["amount"])} AS value_text,
                   {unit_expr} AS unit, a.canonical_unit
            FROM _raw r LEFT JOIN _acts a ON a.activity = {_text(cols["activity"])}
        )
        SELECT b.*, u.factor,
               CASE WHEN u.factor = 1 THEN b.value
                    ELSE CAST(b.value * CAST(u.factor AS DECIMAL(38, 12)) AS DECIMAL(18, 6))
               END AS amount
        FROM base b LEFT JOIN _units u ON u.unit IS NOT DISTINCT FROM b.unit
             AND u.canonical = b.canonical_unit""",
        rules,
        now,
        fixed,
    )
    step(2)
    _duplicates(con, "node_id, activity, period_start, period_end", "amount")
    _against_stored(
        con,
        "activities",
        "node_id, activity, period_start, period_end",
        "node_id, activity, period_start, period_end",
        "amount",
        supersede,
    )
    step(3)
    con.execute(
        """INSERT INTO activities
           SELECT p.node_id, p.activity, p.period_start, p.period_end, p.amount, 'measured',
                  coalesce(s.rev + 1, 0), ?, p._row
           FROM _parsed p LEFT JOIN (SELECT node_id, activity, period_start, period_end,
                                            max(revision) AS rev FROM activities
                                     WHERE revision >= 0 GROUP BY ALL) s
             USING (node_id, activity, period_start, period_end)
           WHERE p.reason IS NULL""",
        [batch_id],
    )
    con.execute(_reject_sql(job.headers), [batch_id])


def completeness_sql(tz: str) -> str:
    """SQL (two parameters: start, end dates) for completeness per meter and local month."""
    tzq = tz.replace("'", "")
    return f"""
    WITH months AS (
        SELECT m.meter_id, m."interval", CAST(g.month AS DATE) AS month,
               CASE m."interval"
                 WHEN '1h' THEN date_diff('hour', g.month, g.month + INTERVAL 1 MONTH)
                 WHEN '15min' THEN 4 * date_diff('hour', g.month, g.month + INTERVAL 1 MONTH)
                 WHEN '1d' THEN date_diff('day', g.month, g.month + INTERVAL 1 MONTH)
                 ELSE 1 END AS expected
        FROM meters m,
             generate_series(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) - INTERVAL 1 DAY,
                             INTERVAL 1 MONTH) g(month)
    ), present AS (
        SELECT meter_id,
               CAST(date_trunc('month', timezone('{tzq}', ts_start)) AS DATE) AS month,
               count(*) AS present,
               count(*) FILTER (WHERE quality = 'estimated') AS estimated
        FROM current_readings GROUP BY ALL
    )
    SELECT m.meter_id, m.month, m.expected, coalesce(p.present, 0) AS present,
           coalesce(p.estimated, 0) AS estimated,
           least(1.0, coalesce(p.present, 0) / m.expected) AS completeness
    FROM months m LEFT JOIN present p USING (meter_id, month)
    ORDER BY m.meter_id, m.month"""


def fill_gaps(
    store: Store,
    start: str | dt.date,
    end: str | dt.date,
    *,
    meter_ids: list[str] | None = None,
    batches: Sequence[str] | None = None,
) -> Batch:
    """Fill missing hourly intervals with estimates flagged ``estimated``.

    The estimator: for a missing hour of a meter, the mean of that meter's measured readings at
    the same local hour of day and the same day type (weekday or weekend) in the same local
    month. Hours with no such basis stay missing. The estimates land as one batch of kind
    ``estimate`` (append-only: nothing stored is changed); running it again adds nothing.

    Parameters
    ----------
    store : the store.
    start, end : local dates bounding the hours to fill, ``[start, end)``.
    meter_ids : restrict to these hourly meters (default: all hourly meters).
    batches : fill the gaps of these batches' current readings only, estimated from them (a
        ledger script's inputs; see :func:`carbon.store.current_relations`), so a rebuild in a
        fresh store fills the same hours; default: every batch in the store.
    """
    con = store.con
    tzq = store.timezone.replace("'", "")
    ids = sorted(meter_ids) if meter_ids else None
    key = json.dumps(
        {
            "start": str(start),
            "end": str(end),
            "meters": ids,
            # Estimate batches are left out, so that a rerun on the same data is skipped;
            # voided ones too, so that a rerun after a void fills the gaps it left.
            "batches": sorted(set(batches))
            if batches is not None
            else store.frame(
                "SELECT batch_id FROM batches WHERE kind <> 'estimate' AND voided_at IS NULL "
                "ORDER BY 1"
            ).batch_id.tolist(),
        },
        sort_keys=True,
    )
    sha = hashlib.sha256(key.encode()).hexdigest()
    batch_id = "e_" + sha[:16]
    # fetchall, not fetchone: DuckDB 2 refuses register() while a result is unfinished.
    prior = con.execute(
        "SELECT batch_id FROM batches WHERE sha256 = ? AND voided_at IS NULL", [sha]
    ).fetchall()
    if prior:
        return _batch_from_row(store, prior[0][0], "(gap fill)", skipped=True)
    while con.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch_id]).fetchall():
        batch_id = "e_" + hashlib.sha256(f"{sha}\n{batch_id}".encode()).hexdigest()[:16]
    current = current_relations(con, batches)["readings"]
    started = dt.datetime.now(dt.UTC)
    meter_filter = "AND m.meter_id IN (SELECT unnest(?))" if ids else ""
    params: list[Any] = [str(start), str(end)] + ([ids] if ids else [])
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"""CREATE TEMP TABLE _fill AS
            WITH hours AS (
                SELECT m.meter_id, timezone('{tzq}', h.ts) AS ts_start, h.ts AS local_ts
                FROM meters m, generate_series(CAST(? AS TIMESTAMP),
                     CAST(? AS TIMESTAMP) - INTERVAL 1 HOUR, INTERVAL 1 HOUR) h(ts)
                WHERE m."interval" = '1h' {meter_filter}
            ), missing AS (
                SELECT h.* FROM hours h ANTI JOIN {current} r
                  ON r.meter_id = h.meter_id AND r.ts_start = h.ts_start
            ), basis AS (
                SELECT meter_id, date_trunc('month', timezone('{tzq}', ts_start)) AS month,
                       hour(timezone('{tzq}', ts_start)) AS hr,
                       isodow(timezone('{tzq}', ts_start)) >= 6 AS weekend,
                       CAST(avg(amount) AS DECIMAL(18, 6)) AS estimate
                FROM {current} WHERE quality = 'measured' GROUP BY ALL
            )
            SELECT m.meter_id, m.ts_start, m.ts_start + INTERVAL 1 HOUR AS ts_end, b.estimate,
                   row_number() OVER (ORDER BY m.meter_id, m.ts_start) AS _row
            FROM missing m JOIN basis b ON b.meter_id = m.meter_id
              AND b.month = date_trunc('month', m.local_ts) AND b.hr = hour(m.local_ts)
              AND b.weekend = (isodow(m.local_ts) >= 6)""",
            params,
        )
        n = int(con.execute("SELECT count(*) FROM _fill").fetchone()[0])  # type: ignore[index]
        con.execute(
            "INSERT INTO readings SELECT meter_id, ts_start, ts_end, estimate, 'estimated', 0, ?, "
            "_row FROM _fill",
            [batch_id],
        )
        record = {
            "estimator": "same meter, local hour, day type and month mean",
            "start": str(start),
            "end": str(end),
            "meters": ids,
        }
        options, options_sha = canonical_options(record, False)
        con.execute(
            f"INSERT INTO batches ({_BATCH_COLUMNS}) VALUES (?, 'estimate', '(gap fill)', "
            "'(gap fill)', ?, 0, ?, ?, 0, ?, ?, ?, false, ?, ?, ?, NULL, NULL)",
            [
                batch_id,
                sha,
                n,
                n,
                started,
                dt.datetime.now(dt.UTC),
                json.dumps(record),
                __version__,
                options,
                options_sha,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("DROP TABLE IF EXISTS _fill")
    return _batch_from_row(store, batch_id, "(gap fill)")
