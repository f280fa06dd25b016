"""Ingestion of utility exports into the store, with quarantine of bad rows.

One file is one *batch*, landed in one transaction: it lands whole or not at all. Every input
row is either accepted or rejected with a reason code, so ``read == accepted + rejected`` for
every batch. Rows never loop in Python: the file is loaded into DuckDB as text and parsed,
validated and converted there.

Formats
-------
Delimited text (UTF-8, UTF-16 as Excel's "Unicode text", or GBK/GB18030, found
automatically; the delimiter found in the header line), Parquet and Excel (.xlsx). Headers may
be Chinese, with the unit in brackets (``用电量(kWh)``); numbers may carry thousands
separators or full-width digits (``１２，３４５．６``); dates may be ISO or ``2024年3月1日``, or a
month without a day (``2024-01``, ``2024年1月``, ``202401``) for monthly meters and bills;
units are read with the spellings of exports (``kwh``, ``千瓦时``, ``度``:
:func:`carbon.units.resolve_unit`). Naive timestamps are local time of the community
(``Asia/Shanghai`` by default), timestamps with an offset are taken as given. A line that does
not split into the header's columns is rejected as ``bad_line`` with its line number; an empty
or undecodable file fails whole. ``docs/ingest.md`` describes all of it, with the mapping file.

Several files at once: :func:`ingest_files` reports each (committed, skipped, failed) and
skips weather files (:class:`WeatherFileError`: daily temperature is an input of M&V).

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
``bad_period``, ``bad_line`` (:data:`REASONS`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import json
import logging
import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carbon._version import __version__
from carbon.activities import ACTIVITIES
from carbon.errors import CarbonError, UnitConversionError, UnknownUnitError
from carbon.store import current_relations
from carbon.timezones import offset_span
from carbon.units import conversion_factor, resolve_unit, suggest_units

if TYPE_CHECKING:
    from carbon.store import Store

__all__ = [
    "INGEST_MEMORY_LIMIT",
    "REASONS",
    "ROWS_FIELDS",
    "Batch",
    "FileOutcome",
    "IngestError",
    "Mapping",
    "RowsMessage",
    "RowsOutcome",
    "WeatherFileError",
    "batch_id_of",
    "canonical_options",
    "completeness_sql",
    "fill_gaps",
    "guess_mapping",
    "ingest_file",
    "ingest_files",
    "ingest_messages",
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
    "bad_line": "the line does not split into the header's columns (extra fields, a broken quote)",
}
"""Every reason code a rejected row can carry, with its meaning."""

_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required fields, optional fields)
    "interval": (("meter_id", "timestamp", "value"), ("unit",)),
    "register": (("meter_id", "timestamp", "reading"), ("unit",)),
    "events": (("meter_id", "timestamp", "event"), ("old_final", "new_initial")),
    "activity": (("node_id", "activity", "period_start", "period_end", "amount"), ("unit",)),
}
_PERIOD_FIELDS = ("period_start", "period_end")
"""Activity fields that one ``period`` column (a month) can stand for."""

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
        "电表编号",
        "表计编号",
        "户号",
        "用户编号",
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
        # monthly bills: a month without a day (see _month_start)
        "month",
        "billing_month",
        "账期",
        "电费年月",
        "抄表年月",
        "年月",
        "月份",
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
    "period": ("period", "month", "billing_month", "账期", "所属期", "统计月份", "年月", "月份"),
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
_FAST_FORMATS = "['%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d']"
"""The ISO forms of naive times read first, as SQL: ``strptime`` takes them exactly (an offset
after them fails), in half the time of testing each text for an offset before a cast."""

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


class WeatherFileError(IngestError):
    """A weather file given to the store: daily temperature is an input of M&V, not a reading.

    :func:`ingest_files` reports such a file as skipped, with this note.
    """

    def __init__(self, path: str | Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        super().__init__(str(path), self.columns)

    def __str__(self) -> str:
        return (
            f"{self.path}: a weather file ({', '.join(self.columns)}), not meter data: daily "
            "temperature is an input of M&V; name it in the ledger script's [[verify]] "
            f'temperature = "{self.path.name}" (carbon.mv.load_temperature), not carbon ingest'
        )


class Mapping(BaseModel):
    """How to read one kind of export.

    Attributes
    ----------
    kind : ``interval``, ``register``, ``events`` or ``activity``.
    columns : canonical field -> column name in the file, e.g. ``{"meter_id": "表号"}``.
    unit : the unit of every value when the file has no unit column, e.g. ``"kWh"``.
    interval : interval length for interval files (``1h``); default: the meter's.
    timezone : zone of naive timestamps; default: the store's (the twin's).
    encoding : CSV encoding; default: UTF-16 by its byte-order mark, UTF-8, else GB18030
        when the bytes are not UTF-8.
    delimiter : CSV delimiter; default: tab for ``.tsv``, else the one of ``,`` tab ``;``
        ``|`` found most often in the header line.
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
    delimiter: str | None = None
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
    """A header as synonyms are matched: no case, spaces or trailing unit in brackets."""
    return _UNIT_IN_HEADER.sub("", name).strip().lower().replace(" ", "_")


_UNIT_IN_HEADER = re.compile(r"\s*[(（\[]([^)）\]]*)[)）\]]\s*$")
"""A unit in brackets at the end of a header, as Chinese exports write it: ``用电量(kWh)``."""


def _header_unit(header: str) -> str | None:
    """The unit in brackets at the end of a header (``用电量（千瓦时）`` -> ``千瓦时``)."""
    found = _UNIT_IN_HEADER.search(header)
    return found.group(1).strip() or None if found else None


def _mapping_hint(kind: str, missing: Sequence[str]) -> str:
    """How to name the columns that cannot be guessed, as the user runs it."""
    columns = " ".join(f'{f} = "<header>"' for f in missing)
    return (
        f'name them in a mapping file (TOML: [mapping] kind = "{kind}" [mapping.columns] '
        f"{columns}) and pass it: carbon ingest STORE FILE --mapping FILE.toml (Python: "
        "mapping=FILE); docs/ingest.md shows the format"
    )


def guess_mapping(headers: list[str], source: str | Path | None = None) -> Mapping:
    """Guess the kind and columns of a file from its headers (English or Chinese).

    A unit in brackets at the end of the value column's header (``用电量(kWh)``) becomes the
    mapping's unit when the file has no unit column.

    Parameters
    ----------
    headers : the file's column names.
    source : the file, for messages.

    Raises
    ------
    WeatherFileError
        For the headers of a weather file (a date and a temperature, no meter or node).
    IngestError
        When the headers fit no kind; the message lists them and says how to name them.
    """
    from carbon.climate import temperature_column

    found = _known_headers(headers)
    if "meter_id" not in found and "node_id" not in found:
        temperature = temperature_column(headers)
        if temperature is not None and "timestamp" in found:
            raise WeatherFileError(source or "(file)", [found["timestamp"], temperature])
    if "event" in found:
        kind = "events"
    elif "activity" in found and "node_id" in found:
        kind = "activity"
    elif "reading" in found:
        kind = "register"
    else:
        kind = "interval"
    if kind == "activity" and "amount" not in found and "value" in found:
        found["amount"] = found["value"]
    required, optional = _required(kind, found), _FIELDS[kind][1]
    missing = [f for f in required if f not in found]
    if missing:
        where = f"{source}: " if source else ""
        raise IngestError(
            f"{where}Cannot tell the columns {missing} among headers {headers}; "
            + _mapping_hint(kind, missing)
        )
    cols = {f: found[f] for f in (*required, *optional) if f in found}
    value = cols.get(_VALUE_FIELD.get(kind, ""))
    unit = _header_unit(value) if value and "unit" not in cols else None
    return Mapping(kind=kind, columns=cols, unit=unit)


def _known_headers(headers: list[str]) -> dict[str, str]:
    """Canonical field -> header, for every header that is a known synonym of a field."""
    lookup: dict[str, str] = {}
    for h in headers:
        lookup.setdefault(_norm(h), h)
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


_HEAD_BYTES = 1 << 20
"""How much of a CSV file is read to find its encoding, delimiter and header [bytes]."""

_DELIMITERS = (",", "\t", ";", "|")
"""Delimiters recognised from a CSV header line, in order of preference."""


@dataclass(frozen=True)
class _Read:
    """How a file was read into ``_raw``."""

    encoding: str
    delimiter: str | None
    """The CSV delimiter (None for Parquet and workbooks)."""
    bad_lines: int = 0
    """Lines that do not split into the header's columns (rejected as ``bad_line``)."""


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(_HEAD_BYTES)


def _empty(path: Path, head: bytes) -> bool:
    """Whether a text file holds nothing but a byte-order mark and white space."""
    size = path.stat().st_size
    text = head.replace(b"\x00", b"").removeprefix(b"\xef\xbb\xbf")
    text = text.removeprefix(b"\xff\xfe").removeprefix(b"\xfe\xff")
    return size <= len(head) and not text.strip()


def _sniff_encoding(head: bytes) -> str:
    """The encoding of a CSV file from its first bytes, when no mapping names one.

    UTF-16 by its byte-order mark (Excel's "Unicode text" export) or, without one, by the zero
    bytes of ASCII text; UTF-8 when the first bytes are valid UTF-8 (DuckDB checks the rest);
    else GB18030, the superset of GBK that Chinese utilities export.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) >= len(sample) // 4:
        odd_zeros = sample[1::2].count(0)
        return "utf-16-le" if odd_zeros >= sample[0::2].count(0) else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _HEAD_BYTES)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _utf8_copy(path: Path, encoding: str, workdir: Path) -> Path:
    """A UTF-8 copy of a text file in ``encoding``, written in chunks (bounded memory)."""
    copy = workdir / (path.stem + ".utf8.csv")
    try:
        with (
            open(path, encoding=encoding, newline="") as src,
            open(copy, "w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(_HEAD_BYTES):
                dst.write(chunk)
    except (UnicodeError, LookupError) as exc:
        raise IngestError(f"{path}: cannot decode as {encoding}: {exc}") from None
    return copy


def _header_line(source: Path) -> str:
    """The first line of a UTF-8 file, without a byte-order mark."""
    first = _head(source).split(b"\n", 1)[0].rstrip(b"\r")
    return first.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _delimiter(path: Path, mapping: Mapping | None, header: str | None = None) -> str | None:
    """The delimiter a CSV file is read with.

    The mapping's, else tab for ``.tsv``, else the one of ``,`` tab ``;`` ``|`` that occurs
    most often in the header line (a comma when none does); None while the header is unknown.
    """
    if mapping is not None and mapping.delimiter is not None:
        return mapping.delimiter
    if path.suffix.lower() == ".tsv":
        return "\t"
    if header is None:
        return None
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _column_names(header: str, delimiter: str) -> list[str]:
    """The column names of a CSV header line, named the way DuckDB's reader names them.

    Trimmed; an empty name becomes ``column<i>`` (0-based); a repeated name gets ``_1``,
    ``_2``...
    """
    fields = next(csv.reader([header], delimiter=delimiter, quotechar='"'), [])
    names: list[str] = []
    for i, field in enumerate(fields):
        name = field.strip() or f"column{i}"
        base, k = name, 0
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return names


def _read_csv(con: Any, source: Path, names: list[str], delimiter: str) -> bool:
    """Read a UTF-8 CSV file into ``_raw`` as text, in file order; return whether some lines
    were refused (then in ``_read_errors``, DuckDB's reject table).

    A file that reads cleanly is read once, strictly (a quarter faster than keeping
    rejects); one that does not is read again keeping them: lines that do not split into the
    header's columns, and bytes that are not UTF-8.
    """
    for t in ("_raw", "_read_errors", "_read_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    read = (
        "CREATE TEMP TABLE _raw AS SELECT * FROM read_csv(?, columns = ?, header = true, "
        "delim = ?, quote = '\"', escape = '\"', null_padding = true, strict_mode = true, "
        "auto_detect = false{})"
    )
    params = [str(source), dict.fromkeys(names, "VARCHAR"), delimiter]
    try:
        con.execute(read.format(""), params)
        return False
    except duckdb.Error:
        con.execute("DROP TABLE IF EXISTS _raw")
    con.execute(
        read.format(
            ", ignore_errors = true, store_rejects = true, "
            "rejects_table = '_read_errors', rejects_scan = '_read_scans'"
        ),
        params,
    )
    return True


def _load_csv(store: Store, path: Path, mapping: Mapping | None, workdir: Path) -> _Read:
    """Load a delimited text file into ``_raw``; see :func:`_load_raw`."""
    con = store.con
    head = _head(path)
    if _empty(path, head):
        raise IngestError(
            f"{path}: the file is empty ({path.stat().st_size} bytes): no header, no rows"
        )
    given = mapping.encoding if mapping else None
    encoding = given or _sniff_encoding(head)
    while True:
        utf8 = encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf8sig")
        source = path if utf8 else _utf8_copy(path, encoding, workdir)
        header = _header_line(source)
        delimiter = _delimiter(path, mapping, header)
        assert delimiter is not None
        names = _column_names(header, delimiter)
        if not names:
            raise IngestError(f"{path}: the first line is empty; it must be the header")
        if not _read_csv(con, source, names, delimiter):
            return _Read("utf-8" if utf8 else encoding, delimiter)
        wrong = con.execute(
            "SELECT count(*) FROM _read_errors WHERE error_type = 'INVALID ENCODING'"
        ).fetchall()[0][0]
        if wrong and given is None and utf8:
            encoding = "gb18030"  # valid UTF-8 at the start only: read it as GB18030
            continue
        if wrong:
            raise IngestError(
                f"{path}: cannot decode as {encoding}: {wrong} lines hold bytes "
                "that are not " + encoding
            )
        break
    bad = _quarantine_lines(con, len(names))
    return _Read("utf-8" if utf8 else encoding, delimiter, bad)


def _quarantine_lines(con: Any, width: int) -> int:
    """Put placeholders for the lines DuckDB's reader refused into ``_raw``; return how many.

    Each refused line (more fields than the header, a broken quote) becomes an all-NULL row
    of ``_raw`` at its place, so that every row keeps its data row number (``rowid + 1`` =
    file line - 1); ``_bad_lines`` keeps its number, line and text, and
    :func:`_mark_bad_lines` turns its reject into a ``bad_line`` one.
    """
    bad = con.execute(
        """SELECT line, min(error_type), min(error_message), any_value(csv_line),
                  max(TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS INTEGER))
           FROM _read_errors GROUP BY line ORDER BY line"""
    ).fetchall()
    con.execute("DROP TABLE IF EXISTS _read_errors")
    con.execute("DROP TABLE IF EXISTS _read_scans")
    if not bad:
        return 0
    good = con.execute("SELECT count(*) FROM _raw").fetchall()[0][0]
    total = good + len(bad)
    rows, previous = [], 0
    for i, (line, kind, message, text, found) in enumerate(bad):
        # Line numbers count one line per row: blank lines or line breaks inside quotes
        # before a refused line would shift it; keep the numbers increasing and in range.
        row = max(previous + 1, min(int(line) - 1, total - (len(bad) - 1 - i)))
        previous = row
        why = (
            f"line {line} splits into {found} fields where the header has {width}"
            if kind == "TOO MANY COLUMNS" and found
            else f"line {line}: {(message or kind).splitlines()[0]}"
        )
        rows.append((row, int(line), (text or "").strip("\r\n"), why))
    con.execute("DROP TABLE IF EXISTS _bad_lines")
    frame = pd.DataFrame(rows, columns=["_row", "line", "text", "message"])
    con.register("_bad_frame", frame)
    try:
        con.execute("CREATE TEMP TABLE _bad_lines AS SELECT * FROM _bad_frame")
    finally:
        con.unregister("_bad_frame")
    con.execute(
        f"""CREATE TEMP TABLE _raw_lines AS
        WITH slots AS (
            SELECT n, row_number() OVER (ORDER BY n) AS k
            FROM range(1, {total} + 1) t(n) ANTI JOIN _bad_lines b ON b._row = t.n
        )
        SELECT r.* EXCLUDE (_n) FROM (
            SELECT s.n AS _n, g.* EXCLUDE (_k)
            FROM slots s JOIN (SELECT rowid + 1 AS _k, * FROM _raw) g ON g._k = s.k
            UNION ALL BY NAME
            SELECT _row AS _n FROM _bad_lines
        ) r ORDER BY _n"""
    )
    con.execute("DROP TABLE _raw")
    con.execute("ALTER TABLE _raw_lines RENAME TO _raw")
    return len(bad)


def _mark_bad_lines(con: Any, batch_id: str) -> None:
    """Give the rejects of refused lines their reason, message and line text."""
    con.execute(
        """UPDATE rejects SET reason = 'bad_line', message = b.message,
                  raw = to_json({'line': b.text})
           FROM _bad_lines b WHERE rejects.batch_id = ? AND rejects.row_number = b._row""",
        [batch_id],
    )


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
) -> _Read:
    """Load the file (the sheet of a workbook) into temp table ``_raw`` (all text, file order).

    Raises
    ------
    IngestError
        For an empty file, a file that cannot be decoded or read, an unsupported type, and
        weather files (:class:`WeatherFileError`).
    """
    con = store.con
    con.execute("DROP TABLE IF EXISTS _raw")
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            return _load_csv(store, path, mapping, workdir)
        if suffix == ".parquet":
            con.execute("CREATE TEMP TABLE _raw AS SELECT * FROM read_parquet(?)", [str(path)])
        elif suffix in EXCEL_SUFFIXES:
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=str)
            if frame.columns.empty:
                raise IngestError(f"{path}: the sheet {sheet or 0!r} is empty: no header, no rows")
            con.register("_excel", frame)
            try:
                con.execute("CREATE TEMP TABLE _raw AS SELECT * FROM _excel")
            finally:
                con.unregister("_excel")
        elif suffix == ".epw":
            raise WeatherFileError(path, ["EnergyPlus weather"])
        else:
            raise IngestError(
                f"{path}: unsupported file type {suffix!r} (csv, tsv, txt, parquet, xlsx)"
            )
    except IngestError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestError(f"{path}: cannot read: {first}") from None
    return _Read("binary", None)


def _headers(store: Store) -> list[str]:
    return [r[0] for r in store.con.execute("DESCRIBE _raw").fetchall()]


def _required(kind: str, columns: dict[str, str]) -> tuple[str, ...]:
    """The fields a file of this kind needs, given the columns known so far: an activity file
    with a ``period`` column (a month) and no period start and end needs the ``period``."""
    required = _FIELDS[kind][0]
    if kind == "activity" and "period" in columns and not all(f in columns for f in _PERIOD_FIELDS):
        required = (*(f for f in required if f not in _PERIOD_FIELDS), "period")
    return required


def _resolve_columns(mapping: Mapping, headers: list[str], path: Path) -> dict[str, str]:
    cols = dict(mapping.columns)
    optional = _FIELDS[mapping.kind][1]
    if any(f not in cols for f in _required(mapping.kind, cols)):
        # Known headers fill the fields the mapping leaves out (guess_mapping would raise for a
        # field that only the mapping names).
        guessed = _known_headers(headers)
        if mapping.kind == "activity" and "amount" not in guessed and "value" in guessed:
            guessed["amount"] = guessed["value"]
        wanted = _required(mapping.kind, {**guessed, **cols})
        cols = {**{k: v for k, v in guessed.items() if k in (*wanted, *optional)}, **cols}
    missing = [f for f in _required(mapping.kind, cols) if f not in cols]
    absent = [c for f, c in cols.items() if c not in headers]
    if missing or absent:
        raise IngestError(
            f"{path}: mapping for kind {mapping.kind!r} lacks fields {missing} or names columns "
            f"{absent} not in the file; the file's headers are {headers} (docs/ingest.md)."
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

    Plain numbers cast directly; others are cleaned and lose thousands separators first, but
    only separators in groups of three (``1,234.5``): a decimal comma (``1,5``, as in
    semicolon-separated European exports) is no number here, so the row is quarantined
    instead of read as 15.
    """
    raw = f"CAST({_q(col)} AS VARCHAR)"
    return f"coalesce(TRY_CAST({raw} AS DECIMAL(18, 6)), {_grouped_number(_clean(raw))})"


def _grouped_number(clean: str) -> str:
    """SQL: cleaned text as DECIMAL(18, 6): plain, or with thousands separators in groups of
    three; else NULL (a decimal comma such as ``1,5`` is not read as 15)."""
    grouped = f"regexp_full_match({clean}, '[+-]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?')"
    plain = f"NOT contains({clean}, ',')"
    return (
        f"CASE WHEN {plain} OR {grouped} "
        f"THEN TRY_CAST(replace({clean}, ',', '') AS DECIMAL(18, 6)) END"
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
    naive = (
        f"coalesce(TRY_CAST({text} AS TIMESTAMP), try_strptime(trim({chinese}), {formats}), "
        f"{_month_start(text)})"
    )
    return f"({maybe} AND ({offset}))", naive


_MONTH_PATTERNS = (
    "^(\\d{4})\\s*[-/.年]\\s*(\\d{1,2})\\s*(月份|月|)$",
    "^(\\d{4})(\\d{2})$",
)
"""A month without a day, as monthly bills write it: ``2024-01``, ``2024/1``, ``2024.01``,
``2024年1月``, ``2024年01月份``, ``202401``."""


def _month_only(text: str) -> str:
    """SQL: whether clean text is a month without a day (see ``_MONTH_PATTERNS``)."""
    return "(" + " OR ".join(f"regexp_full_match({text}, '{p}')" for p in _MONTH_PATTERNS) + ")"


def _month_start(text: str) -> str:
    """SQL: the first day of a month written without a day, 00:00 [naive TIMESTAMP]; NULL for
    other text and for month numbers outside 1..12."""
    whens = " ".join(
        f"WHEN regexp_full_match({text}, '{p}') "
        f"THEN TRY_CAST(regexp_replace({text}, '{p}', '\\1-\\2-01') AS TIMESTAMP)"
        for p in _MONTH_PATTERNS
    )
    return f"CASE {whens} END"


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


def _unit_factor(unit: str | None, canonical: str) -> tuple[float | None, str | None]:
    """The factor from a unit as a file writes it to a canonical unit, or None and why not.

    The unit is read through :func:`carbon.units.resolve_unit` (``kwh``, ``KW·H``, ``千瓦时``
    and ``度`` are kWh); an unknown one gets the registry's closest spellings.
    """
    if unit is None:
        return None, f"no unit, and none given for a {canonical} value"
    name = resolve_unit(unit)
    try:
        return conversion_factor(name, canonical), None
    except UnknownUnitError:
        close = suggest_units(unit)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return None, f"unknown unit {unit}{hint} (spellings: carbon.units.UNIT_ALIASES)"
    except UnitConversionError:
        return None, f"unit {unit} does not convert to {canonical}"


def _unit_table(store: Store, mapping: Mapping, cols: dict[str, str]) -> None:
    """Build temp table ``_units(unit, canonical, factor, note)``: one conversion per pair.

    The pairs: every unit an activity row can carry (the file's unit column, the mapping's
    unit) with every canonical unit of the activities, so only a unit column is read from the
    file (a few distinct values). ``note`` says why a pair has no factor.
    """
    con = store.con
    units: set[str | None] = {mapping.unit}
    if "unit" in cols:
        found = con.execute(f"SELECT DISTINCT {_text(cols['unit'])} FROM _raw r").fetchall()
        units |= {r[0] for r in found}
    canonicals = sorted({a.canonical_unit for a in ACTIVITIES.values()})
    rows = [
        (unit, canonical, *_unit_factor(unit, canonical))
        for unit in sorted(units, key=lambda u: (u is None, u or ""))
        for canonical in canonicals
    ]
    con.execute("DROP TABLE IF EXISTS _units")
    con.execute(
        "CREATE TEMP TABLE _units (unit VARCHAR, canonical VARCHAR, factor DOUBLE, note VARCHAR)"
    )
    con.executemany("INSERT INTO _units VALUES (?, ?, ?, ?)", rows)


def _key_table(store: Store, mapping: Mapping, cols: dict[str, str]) -> None:
    """Build temp table ``_keys``: what a metered row's meter and unit texts stand for.

    One row per distinct (meter text, unit text) of the file, so that the rows themselves
    meet a small table in one join instead of cleaning and converting every value: the
    cleaned meter id, whether the twin knows it, its reading kind, canonical unit and
    interval (``step_us`` [µs]
    for fixed intervals, ``step_months`` for monthly ones), the unit (the row's, else the
    mapping's, else the meter's), its factor to the canonical unit and, when it has none,
    why (``unit_note``); ``mkey`` numbers the meters (a small integer key for grouping).
    ``_kmeters`` holds one row per known meter: ``mkey, meter_id, step_us, step_months``.
    """
    con = store.con
    unit_raw = _q(cols["unit"]) if "unit" in cols else "CAST(NULL AS VARCHAR)"
    steps = " ".join(f"WHEN '{k}' THEN {v}" for k, v in _INTERVAL_US.items())
    con.execute("DROP TABLE IF EXISTS _keys")
    con.execute(
        f"""CREATE TEMP TABLE _keys AS
        WITH k AS (
            SELECT DISTINCT CAST({_q(cols["meter_id"])} AS VARCHAR) AS meter_raw,
                   CAST({unit_raw} AS VARCHAR) AS unit_raw
            FROM _raw r
        ), c AS (
            SELECT meter_raw, unit_raw, {_clean("meter_raw")} AS meter_id,
                   {_clean("unit_raw")} AS unit_text FROM k
        )
        SELECT c.meter_raw, c.unit_raw, c.meter_id, m.meter_id IS NOT NULL AS known,
               m.reading AS meter_reading, m.canonical_unit,
               coalesce(c.unit_text, CAST(? AS VARCHAR), m.unit) AS unit,
               CASE coalesce(?, m."interval") {steps} END AS step_us,
               CASE coalesce(?, m."interval") WHEN '1mo' THEN 1 END AS step_months,
               CAST(NULL AS DOUBLE) AS factor, CAST(NULL AS VARCHAR) AS unit_note,
               CAST(dense_rank() OVER (ORDER BY c.meter_id) AS INTEGER) AS mkey
        FROM c LEFT JOIN meters m ON m.meter_id = c.meter_id""",
        [mapping.unit, mapping.interval, mapping.interval],
    )
    pairs = con.execute(
        "SELECT DISTINCT unit, canonical_unit FROM _keys WHERE canonical_unit IS NOT NULL"
    ).fetchall()
    if pairs:
        known: dict[tuple[str, str], tuple[float | None, str | None]] = {}
        rows = []
        for u, c in pairs:  # one conversion per unit as the registry spells it
            key = (resolve_unit(u), c)
            if key not in known:
                known[key] = _unit_factor(u, c)
            rows.append((u, c, *known[key]))
        con.execute("DROP TABLE IF EXISTS _units")
        con.execute(
            "CREATE TEMP TABLE _units (unit VARCHAR, canonical VARCHAR, factor DOUBLE, "
            "note VARCHAR)"
        )
        con.executemany("INSERT INTO _units VALUES (?, ?, ?, ?)", rows)
        con.execute(
            """UPDATE _keys k SET factor = u.factor, unit_note = u.note FROM _units u
               WHERE u.unit IS NOT DISTINCT FROM k.unit AND u.canonical = k.canonical_unit"""
        )
    con.execute("DROP TABLE IF EXISTS _kmeters")
    con.execute(
        """CREATE TEMP TABLE _kmeters AS
        SELECT DISTINCT mkey, meter_id, step_us, step_months FROM _keys WHERE known"""
    )


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
    with _bounded_memory(store):
        batches = [
            _ingest_one(store, path, sha, given, s, supersede, supersedes, reason, now, progress)
            for s in sheets
        ]
    return batches if every else batches[0]


INGEST_MEMORY_LIMIT = "512MB"
"""DuckDB's memory limit while a file is ingested into a store opened without one.

Beyond it DuckDB spills the ingest's temporary tables to its temp directory (next to the
store file), so that a large export is not held in memory several times over (as text, parsed,
and as it is written). The value is a choice, from the measurements in benchmarks/RESULTS.md
(ingest): it keeps the peak of the 5 M-row, 215 MB benchmark file well under 1 GB, while files
of a couple of million rows stay under it and are not slowed. A store opened with
``memory_limit`` keeps its own.
"""


@contextlib.contextmanager
def _bounded_memory(store: Store) -> Iterator[None]:
    """Hold DuckDB to :data:`INGEST_MEMORY_LIMIT` unless the store set a limit of its own,
    and keep DuckDB's own progress bar (printed on stderr for queries over 2 s) off: the
    library prints nothing; the ``progress`` callback reports the stages. The settings are
    put back afterwards."""
    con = store.con
    bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
    con.execute("SET enable_progress_bar = false")
    if store.memory_limit is None:
        con.execute(f"SET memory_limit = '{INGEST_MEMORY_LIMIT}'")
    try:
        yield
    finally:
        if store.memory_limit is None:
            con.execute("RESET memory_limit")
        con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file given to :func:`ingest_files`.

    Attributes
    ----------
    file : the file's path.
    status : ``committed`` (its batches landed), ``skipped`` (ingested before with the same
        options, or not meter data: a weather file) or ``failed`` (nothing of it stored).
    batches : its batches (one per workbook sheet); for a file seen before, the earlier ones.
    note : why it was skipped or failed (one line), None when committed.
    """

    file: str
    status: Literal["committed", "skipped", "failed"]
    batches: tuple[Batch, ...] = ()
    note: str | None = None


def ingest_files(
    store: Store,
    paths: Sequence[str | Path],
    mapping: Mapping | str | Path | dict[str, Any] | None = None,
    *,
    sheet: str | int | None = None,
    supersede: bool = False,
    supersedes: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str, str, int, int], None] | None = None,
) -> list[FileOutcome]:
    """Ingest several files, each as its own batch(es), and report every one.

    Each file lands in its own transaction (:func:`ingest_file`), so a file that cannot be
    ingested (empty, undecodable, columns that cannot be told) changes nothing and does not
    stop the files after it; it is reported as ``failed`` with the reason. A weather file
    (:class:`WeatherFileError`) is ``skipped`` with a note: daily temperature is an input of
    M&V, named in the ledger script, not a store reading. A file ingested before with the
    same options is ``skipped`` with its earlier batch.

    Parameters
    ----------
    store : the open store (its ``meters`` synced from the twin).
    paths : the files, ingested in this order (meter events before the register files they
        explain).
    mapping, sheet, supersede, supersedes, reason, now : as for :func:`ingest_file`, for
        every file (``supersedes`` takes exactly one file).
    progress : optional callback ``(file name, stage, done, total)``.

    Returns
    -------
    list of FileOutcome
        One per path, in order.

    Raises
    ------
    IngestError
        For ``supersedes`` with more than one file or naming no stored batch, or a mapping
        that cannot be read (before any file is touched).
    """
    if supersedes is not None and len(paths) != 1:
        raise IngestError(f"supersedes={supersedes} takes exactly one file, not {len(paths)}")
    known = "SELECT 1 FROM batches WHERE batch_id = ?"
    if supersedes is not None and not store.con.execute(known, [supersedes]).fetchall():
        raise IngestError(f"no batch {supersedes!r} in the store")
    given = load_mapping(mapping) if mapping is not None else None
    outcomes = []
    for raw_path in paths:
        path = Path(raw_path)

        def step(stage: str, done: int, total: int, name: str = path.name) -> None:
            if progress:
                progress(name, stage, done, total)

        try:
            got = ingest_file(
                store,
                path,
                given,
                sheet=sheet,
                supersede=supersede,
                supersedes=supersedes,
                reason=reason,
                now=now,
                progress=step,
            )
        except WeatherFileError as exc:
            outcomes.append(FileOutcome(str(path), "skipped", note=str(exc)))
            continue
        except CarbonError as exc:
            outcomes.append(FileOutcome(str(path), "failed", note=str(exc)))
            log.warning("%s", exc)
            continue
        batches = tuple(got) if isinstance(got, list) else (got,)
        if batches and all(b.skipped for b in batches):
            seen = ", ".join(b.batch_id for b in batches)
            note = f"ingested before with the same options as {seen}"
            outcomes.append(FileOutcome(str(path), "skipped", batches, note))
        else:
            outcomes.append(FileOutcome(str(path), "committed", batches))
    return outcomes


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
            read_as = _load_raw(store, path, given, sheet, Path(tmp))
        step(1)
        headers = _headers(store)
        resolved = given or guess_mapping(headers, path)
        cols = _resolve_columns(resolved, headers, path)
        value_column = cols.get(_VALUE_FIELD.get(resolved.kind, ""))
        if resolved.unit is None and "unit" not in cols and value_column is not None:
            # 用电量(kWh): the unit in brackets after the value column's name
            resolved = resolved.model_copy(update={"unit": _header_unit(value_column)})
        record: dict[str, Any] = {
            "kind": resolved.kind,
            "columns": cols,
            "unit": resolved.unit,
            "interval": resolved.interval,
            "timezone": tz,
            "encoding": read_as.encoding,
            "spike_factor": resolved.spike_factor,
        }
        if is_csv:
            record["delimiter"] = read_as.delimiter
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
            if read_as.bad_lines:
                _mark_bad_lines(con, batch_id)
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
        _drop_temp_tables(con)
    step(4)
    log.info("ingested %s: %d read, %d accepted, %d rejected", path.name, read, accepted, rejected)
    if supersedes:
        log.info("%s voided: superseded by %s", supersedes, batch_id)
    return _batch_from_row(store, batch_id, str(path))


_TEMP_TABLES = (
    "_raw",
    "_parsed",
    "_units",
    "_keys",
    "_kmeters",
    "_acts",
    "_ok",
    "_deltas",
    "_dups",
    "_bad_lines",
    "_read_errors",
    "_read_scans",
)
"""The temporary tables of an ingest, dropped when it ends."""


def _drop_temp_tables(con: Any) -> None:
    """Drop the temporary tables of an ingest that exist."""
    made = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    for (name,) in made:
        if name in _TEMP_TABLES:
            con.execute(f"DROP TABLE {name}")


_VALUE_FIELD = {"interval": "value", "register": "reading", "activity": "amount"}
"""The field holding the quantity, per kind."""

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


def _rule_columns(
    rules: list[tuple[str, str, str]], now: dt.datetime, select: str, columns: str = "*"
) -> str:
    """SQL: ``columns`` of ``select`` with ``reason`` and ``message``, the first failing
    rule's code and message.

    A rule is ``(code, SQL condition, SQL message)``; ``?`` in a condition is ``now``. The
    conditions are tested once per row, in one ``CASE`` giving the number of the first that
    holds (in the query that parses the rows, instead of an ``UPDATE`` pass over the batch
    per rule); code and message follow from that number, and a message is only built for
    the rows its rule rejects.
    """
    moment = f"CAST('{now.astimezone(dt.UTC).isoformat()}' AS TIMESTAMPTZ)"
    conds = [f"({cond.replace('?', moment)})" for _, cond, _ in rules]
    which = " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(conds, start=1))
    codes = "[" + ", ".join(f"'{code}'" for code, _, _ in rules) + "]"
    message = " ".join(f"WHEN {i} THEN {msg}" for i, (_, _, msg) in enumerate(rules, start=1))
    return (
        f"SELECT {columns}, CAST({codes}[_rule] AS VARCHAR) AS reason, "
        f"CAST(CASE _rule {message} END AS VARCHAR) AS message "
        f"FROM (SELECT *, CASE {which} END AS _rule FROM ({select}))"
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
        "CREATE TEMP TABLE _parsed AS " + _rule_columns(rules, now, select, "* EXCLUDE (_rule)"),
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
    *,
    narrow: bool = False,
) -> None:
    """Create ``_parsed`` for interval or register rows, row rules applied.

    Columns: ``_row`` (1-based data row, ``_raw``'s rowid + 1), ``mkey`` (the meter's
    number in ``_keys``), ``meter_id``, ``ts`` [TIMESTAMPTZ], ``amount`` [canonical unit,
    DECIMAL], ``step_us`` (the interval in microseconds where it is fixed: 15 min, 1 h, 1 d
    in UTC), ``step_months`` (1 for monthly meters), ``reason``, ``message``. ``narrow``
    leaves out ``meter_id, step_us, step_months`` (they are in ``_kmeters``, by ``mkey``):
    a large file's rows then carry no text but their reasons.

    One query over ``_raw`` and the small ``_keys`` table (:func:`_key_table`: meter, unit
    and interval per distinct meter and unit text). Times and numbers take a fast path: a
    time in one of ``_FAST_FORMATS`` (exactly: no offset can follow) is read as it stands, a
    number likewise; only values that fail are cleaned (full-width digits,
    spaces, thousands separators) and tried in the other documented forms
    (:func:`_timestamp_sql`), including a month without a day, which only monthly meters
    take.
    """
    con = store.con
    kind = "interval" if value_field == "value" else "register"
    _key_table(store, mapping, cols)
    ts_raw = f"CAST({_q(cols['timestamp'])} AS VARCHAR)"
    value_raw = f"CAST({_q(cols[value_field])} AS VARCHAR)"
    unit_join = (
        f"AND k.unit_raw IS NOT DISTINCT FROM CAST({_q(cols['unit'])} AS VARCHAR)"
        if "unit" in cols
        else ""
    )
    rules = [
        (
            "missing_field",
            "meter_id IS NULL OR ts_text IS NULL OR value_text IS NULL",
            f"'empty meter, time or {value_field}'",
        ),
        ("unknown_meter", "NOT known", "'meter ' || meter_id || ' is not in the twin'"),
        (
            "wrong_reading_kind",
            f"meter_reading <> '{kind}'",
            f"'meter ' || meter_id || ' gives ' || meter_reading || ' readings, not {kind} ones'",
        ),
        ("bad_timestamp", "ts IS NULL", "'cannot parse time ' || ts_text"),
        (
            "bad_timestamp",
            "month_only AND step_months IS NULL",
            "'time ' || ts_text || ' is a month without a day: only monthly meters (interval "
            "1mo) take one'",
        ),
        (
            "future_timestamp",
            "ts > CAST(? AS TIMESTAMPTZ)",
            "'time ' || ts_text || ' is in the future'",
        ),
        ("bad_number", "value IS NULL", "'not a number: ' || value_text"),
        (
            "bad_unit",
            "factor IS NULL",
            "coalesce(unit_note, 'unit ' || coalesce(unit, '(none)') || ' does not convert to ' "
            "|| canonical_unit)",
        ),
        ("negative_value", "amount < 0", f"'negative {value_field} ' || value_text"),
    ]
    clean_ts = _clean("ts_raw")
    select = f"""
        WITH t AS (
            SELECT r.rowid + 1 AS _row, {ts_raw} AS ts_raw, {value_raw} AS value_raw,
                   k.mkey, k.meter_id, k.known, k.meter_reading, k.canonical_unit, k.unit,
                   k.factor, k.unit_note, k.step_us, k.step_months
            FROM _raw r LEFT JOIN _keys k
              ON k.meter_raw IS NOT DISTINCT FROM CAST({_q(cols["meter_id"])} AS VARCHAR)
             {unit_join}
        ), fast AS (
            SELECT t.*,
                   try_strptime(ts_raw, {_FAST_FORMATS}) AS naive_fast,
                   TRY_CAST(value_raw AS DECIMAL(18, 6)) AS value_fast
            FROM t
        ), texts AS (
            SELECT fast.*,
                   CASE WHEN naive_fast IS NOT NULL THEN ts_raw ELSE {clean_ts} END AS ts_text,
                   CASE WHEN value_fast IS NOT NULL THEN value_raw
                        ELSE {_clean("value_raw")} END AS value_text
            FROM fast
        ), parsed AS (
            SELECT texts.*,
                   CASE WHEN naive_fast IS NOT NULL THEN {_local_to_instant("naive_fast", tz)}
                        ELSE {_timestamp_sql("ts_text", tz)} END AS ts,
                   CASE WHEN naive_fast IS NOT NULL THEN false
                        ELSE coalesce({_month_only("ts_text")}, false) END AS month_only,
                   coalesce(value_fast, {_grouped_number("value_text")}) AS value
            FROM texts
        )
        SELECT *, CASE WHEN factor = 1 THEN value
                       ELSE CAST(value * CAST(factor AS DECIMAL(38, 12)) AS DECIMAL(18, 6))
                  END AS amount
        FROM parsed"""
    con.execute(
        "CREATE TEMP TABLE _parsed AS "
        + _rule_columns(
            rules,
            now,
            select,
            "_row, mkey, ts, amount"
            if narrow
            else "_row, mkey, meter_id, ts, amount, step_us, step_months",
        )
    )
    _duplicates(con, "mkey, ts", "amount")


def _interval(job: _Job) -> None:
    store, mapping, cols, headers, tz = job.store, job.mapping, job.cols, job.headers, job.tz
    batch_id, now, supersede, step = job.batch_id, job.now, job.supersede, job.step
    con = store.con
    _parse_metered(store, mapping, cols, headers, tz, "value", now, narrow=True)
    step(2)
    if mapping.spike_factor:
        con.execute(
            f"""UPDATE _parsed p SET reason = 'spike',
                message = 'value ' || p.amount || ' is over {mapping.spike_factor:g} x the batch '
                          || 'median ' || s.med || ' of meter ' || k.meter_id
            FROM (SELECT mkey, median(amount) AS med, count(*) AS n FROM _parsed
                  WHERE reason IS NULL AND amount > 0 GROUP BY mkey) s
                 JOIN _kmeters k USING (mkey)
            WHERE p.reason IS NULL AND p.mkey = s.mkey AND s.n >= 24
              AND p.amount > s.med * {float(mapping.spike_factor)}"""
        )
    span = _stored_span(con)
    if span is not None:  # else no stored reading of these meters in the batch's span
        _against_stored(con, "readings", "mkey, ts_start", "mkey, ts", "amount", supersede, span)
    step(3)
    # A month ends on the same day of the next month in local time (not in UTC).
    tzq = tz.replace("'", "")
    ts_end = f"""CASE WHEN k.step_us IS NOT NULL THEN make_timestamptz(epoch_us(p.ts) + k.step_us)
                      ELSE timezone('{tzq}', timezone('{tzq}', p.ts) + to_months(k.step_months))
                 END"""
    if span is None:
        con.execute(
            f"""INSERT INTO readings
               SELECT k.meter_id, p.ts, {ts_end}, p.amount, 'measured', 0, ?, p._row
               FROM _parsed p JOIN _kmeters k USING (mkey) WHERE p.reason IS NULL""",
            [batch_id],
        )
    else:  # a measured row for an estimated interval, or a correction: the next revision
        con.execute(
            f"""INSERT INTO readings
               SELECT k.meter_id, p.ts, {ts_end}, p.amount, 'measured',
                      coalesce(r.rev + 1, 0), ?, p._row
               FROM _parsed p JOIN _kmeters k USING (mkey) LEFT JOIN (
                    SELECT meter_id, ts_start, max(revision) AS rev FROM readings
                    WHERE revision >= 0 AND ts_start BETWEEN ? AND ?
                      AND meter_id IN (SELECT meter_id FROM _keys)
                    GROUP BY ALL) r
                 ON r.meter_id = k.meter_id AND r.ts_start = p.ts
               WHERE p.reason IS NULL""",
            [batch_id, *span],
        )
    con.execute(_reject_sql(job.headers), [batch_id])


def _duplicates(con: Any, key: str, value: str) -> None:
    """Reject in-file duplicates: exact repeats after the first, and conflicting values.

    One aggregation over the rows still accepted finds the repeated keys (a count, the
    cheapest grouping); only their rows are then looked at again for their first row and
    number of distinct values: keys with several distinct values (all their rows are
    ``conflicting_duplicate``) and keys repeated with one value (rows after the first are
    ``duplicate_row``).
    """
    keys = [k.strip() for k in key.split(",")]
    on = " AND ".join(f"p.{k} = d.{k}" for k in keys)
    con.execute("DROP TABLE IF EXISTS _dups")
    con.execute(
        f"""CREATE TEMP TABLE _dups AS
        SELECT {key} FROM _parsed WHERE reason IS NULL GROUP BY ALL HAVING count(*) > 1"""
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
            FROM (SELECT {qualified}, min(p._row) AS first_row,
                         count(DISTINCT {value}) AS n_values
                  FROM _parsed p SEMI JOIN _dups d ON {on}
                  WHERE p.reason IS NULL GROUP BY ALL) d
            WHERE p.reason IS NULL AND {on} AND (d.n_values > 1 OR p._row > d.first_row)"""
    )
    con.execute("DROP TABLE _dups")


def _stored_span(con: Any) -> tuple[Any, Any] | None:
    """The time span of the accepted rows of ``_parsed`` if stored readings of its meters
    (``_keys``) fall in it, else None: then no stored row can meet the batch."""
    lo, hi = con.execute("SELECT min(ts), max(ts) FROM _parsed WHERE reason IS NULL").fetchall()[0]
    if lo is None:
        return None
    found = con.execute(
        """SELECT count(*) FROM (
               SELECT 1 FROM readings WHERE revision >= 0 AND ts_start BETWEEN ? AND ?
                 AND meter_id IN (SELECT meter_id FROM _keys) LIMIT 1)""",
        [lo, hi],
    ).fetchall()[0][0]
    return (lo, hi) if found else None


def _against_stored(
    con: Any,
    table: str,
    stored_key: str,
    key: str,
    value: str,
    supersede: bool,
    span: tuple[Any, Any] | None = None,
) -> None:
    """Apply the 'first value stands' rule against rows stored by earlier batches.

    For readings, ``span`` (:func:`_stored_span`) bounds the stored rows looked at.
    """
    stored = [k.strip() for k in stored_key.split(",")]
    mine = [k.strip() for k in key.split(",")]
    on = " AND ".join(f"s.{a} = p.{b}" for a, b in zip(stored, mine, strict=True))
    params: list[Any] = []
    if table == "readings":
        # Only stored rows of this batch's meters and time span can meet it: the zone maps
        # of ts_start prune the rest, so the cost does not grow with the store.
        assert span is not None
        current = """(SELECT r.*, k.mkey FROM current_readings r JOIN _kmeters k USING (meter_id)
                      WHERE ts_start BETWEEN ? AND ?)"""
        params = list(span)
    else:
        current = "current_activities"
    # Estimates (gap fill) give way to measured data: only measured rows stand first.
    measured = f"(SELECT * FROM {current} WHERE quality = 'measured')"
    con.execute(
        f"""UPDATE _parsed p SET reason = 'already_stored',
               message = 'same value stored by batch ' || s.batch_id
            FROM {measured} s WHERE p.reason IS NULL AND {on} AND s.amount = p.{value}""",
        params,
    )
    if not supersede:
        con.execute(
            f"""UPDATE _parsed p SET reason = 'conflicts_with_stored',
                   message = 'batch ' || s.batch_id || ' stored ' || s.amount
                             || '; ingest with supersede=True to correct it'
                FROM {measured} s WHERE p.reason IS NULL AND {on}""",
            params,
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
            "bad_timestamp",
            _month_only("ts_text"),
            "'date ' || ts_text || ' is a month without a day: an event needs its day'",
        ),
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


def _period_sql(cols: dict[str, str], tz: str) -> str:
    """SQL columns ``period_start, period_end`` [DATE] and their texts ``start_text,
    end_text`` of an activity row.

    Dates are local dates of the community; a period end is exclusive. A month without a
    day as the end (``2024-03``) includes that month: the period ends on the first day of
    the next one. A ``period`` column (a month: ``2024年3月``, or the first day of one) gives
    both: the first day of the month and of the next.
    """
    if "period" in cols:
        text = _text(cols["period"])
        naive = _stamp_parts(text)[1]
        start = f"CASE WHEN {naive} = date_trunc('month', {naive}) THEN CAST({naive} AS DATE) END"
        return (
            f"{start} AS period_start, CAST({start} + INTERVAL 1 MONTH AS DATE) AS period_end, "
            f"{text} AS start_text, {text} AS end_text"
        )
    start_text, end_text = _text(cols["period_start"]), _text(cols["period_end"])
    start = f"CAST({_timestamp(cols['period_start'], tz)} AT TIME ZONE '{tz}' AS DATE)"
    end = (
        f"CASE WHEN {_month_only(end_text)} "
        f"THEN CAST({_month_start(end_text)} + INTERVAL 1 MONTH AS DATE) "
        f"ELSE CAST({_timestamp(cols['period_end'], tz)} AT TIME ZONE '{tz}' AS DATE) END"
    )
    return (
        f"{start} AS period_start, {end} AS period_end, "
        f"{start_text} AS start_text, {end_text} AS end_text"
    )


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
            "coalesce(note, 'unit ' || coalesce(unit, '(none)') || ' does not convert to ' "
            "|| canonical_unit)",
        ),
    ]
    _create_parsed(
        con,
        f"""WITH base AS (
            SELECT r.rowid + 1 AS _row,
                   {_text(cols["node_id"])} AS node_id, {_text(cols["activity"])} AS activity,
                   {_period_sql(cols, tz)},
                   {_number(cols["amount"])} AS value, {_text(cols["amount"])} AS value_text,
                   {unit_expr} AS unit, a.canonical_unit
            FROM _raw r LEFT JOIN _acts a ON a.activity = {_text(cols["activity"])}
        )
        SELECT b.*, u.factor, u.note,
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


# --------------------------------------------------------------------------- rows from memory
@dataclass(frozen=True)
class RowsMessage:
    """Interval rows held in memory, to land in an open batch (:func:`ingest_messages`).

    Attributes
    ----------
    rows : columns ``meter_id``, ``timestamp``, ``value`` and optionally ``unit`` (see
        :data:`ROWS_FIELDS`), as text or values whose text reads as a file's would.
    batch_id : the batch its accepted readings and rejected rows are recorded under.
    first_row : the batch row number of its first row [1-based]: row ``i`` (0-based) of
        ``rows`` is recorded as ``first_row + i``.
    unit : the unit of rows without one; default: the meter's.
    """

    rows: pd.DataFrame
    batch_id: str
    first_row: int = 1
    unit: str | None = None


@dataclass(frozen=True)
class RowsOutcome:
    """The outcome of one :class:`RowsMessage`.

    Attributes
    ----------
    read, accepted, rejected : row counts; ``read == accepted + rejected``.
    reasons : rejected rows per reason code.
    rejects : ``(row, reason, message)`` of every rejected row, ``row`` 1-based in the
        message's rows.
    changed : ``(meter_id, month, readings)``: accepted readings per meter and local month of
        their interval start (``month``: the month's first day).
    newest : the latest interval start accepted [UTC]; None when nothing was accepted.
    """

    read: int
    accepted: int
    rejected: int
    reasons: tuple[tuple[str, int], ...]
    rejects: tuple[tuple[int, str, str], ...]
    changed: tuple[tuple[str, dt.date, int], ...]
    newest: dt.datetime | None

    def __post_init__(self) -> None:
        if self.read != self.accepted + self.rejected:  # pragma: no cover - by construction
            raise CarbonError(f"read {self.read} != accepted + rejected")


ROWS_FIELDS = ("meter_id", "timestamp", "value", "unit")
"""The columns of a :class:`RowsMessage` (``unit`` may be absent)."""


def ingest_messages(
    store: Store, messages: Sequence[RowsMessage], *, now: dt.datetime | None = None
) -> list[RowsOutcome]:
    """Validate messages of interval rows held in memory and land them in open batches.

    The entry point of pushed meter readings (:mod:`carbon.collect`). The rows meet the rules
    of an interval file (:func:`ingest_file`) with the same code: parsing, unit conversion,
    ``missing_field``, ``unknown_meter``, ``wrong_reading_kind``, ``bad_timestamp``,
    ``future_timestamp``, ``bad_number``, ``bad_unit``, ``negative_value``, then
    ``duplicate_row`` / ``conflicting_duplicate`` within one message, and ``already_stored``
    / ``conflicts_with_stored`` against stored rows (the first value stands; an estimate gives
    way to a measured row). The messages are checked together, in one pass of the rules (a
    pass costs the same for 1 row or 1,000), with the outcome of checking them one after the
    other in the order given: a row that meets an accepted row of an earlier message is
    ``already_stored`` or ``conflicts_with_stored`` as if that message were stored.

    Two differences from a file, because a message is a small part of a longer batch: the
    ``spike`` rule (a meter's batch median over at least 24 values) is not applied, and there
    is no ``supersede``: a pushed row never corrects a stored one.

    Runs in the caller's transaction (it neither begins nor commits one) and writes no
    ``batches`` row: the caller owns the batches, numbers their rows and records counts.

    Parameters
    ----------
    store : the store (its ``meters`` synced from the twin).
    messages : the messages, in the order they arrived.
    now : the present, for ``future_timestamp`` [timezone-aware]; default: now.

    Returns
    -------
    list of RowsOutcome
        One per message, in order: counts, rejects with reasons, (meter, month) pairs that
        got readings.

    Raises
    ------
    IngestError
        When a message lacks a required column.
    """
    if not messages:
        return []
    frames, spans, units, sizes = [], [], [], []
    start = 1
    for i, msg in enumerate(messages):
        missing = [c for c in ROWS_FIELDS[:3] if c not in msg.rows.columns]
        if missing:
            raise IngestError(
                f"message {i + 1} lacks the columns {missing} (it has {list(msg.rows.columns)})"
            )
        frames.append(msg.rows)
        spans.append((i, start, start + len(msg.rows) - 1, msg.batch_id, msg.first_row))
        units.append(msg.unit)
        sizes.append(len(msg.rows))
        start += len(msg.rows)
    # One frame of text (NA stays NULL), converted once: per message it costs 4 ms of pandas.
    rows = pd.concat(frames, ignore_index=True).reindex(columns=list(ROWS_FIELDS))
    text = pd.DataFrame({c: rows[c].astype("string") for c in ROWS_FIELDS})
    given = pd.Series(np.repeat(np.array(units, dtype=object), sizes), dtype="string")
    text["unit"] = text["unit"].fillna(given)
    con = store.con
    tz = store.timezone
    now = now or dt.datetime.now(dt.UTC)
    fields = list(ROWS_FIELDS)
    cols = {c: c for c in fields}
    mapping = Mapping(kind="interval", columns=cols, spike_factor=None)
    con.register("_rows_in", text)
    try:
        con.execute("DROP TABLE IF EXISTS _raw")
        con.execute(
            "CREATE TEMP TABLE _raw AS SELECT "
            + ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in fields)
            + " FROM _rows_in"
        )
    finally:
        con.unregister("_rows_in")
    try:
        _parse_metered(store, mapping, cols, fields, tz, "value", now)
        # _parse_metered found duplicates over all the rows; they count within a message.
        # _row becomes the batch row (as a file's row is its line); _raw_row finds the raw row.
        # (_row is _raw's rowid + 1; in a transaction a new table's rowids start high.)
        base = con.execute("SELECT min(rowid) FROM _raw").fetchall()[0][0]
        con.execute(
            "CREATE TEMP TABLE _msgs (msg INTEGER, lo BIGINT, hi BIGINT, batch_id VARCHAR, "
            "first_row BIGINT)"
        )
        # One statement: executemany runs one INSERT per row (0.2 ms to 2 ms each).
        con.execute(
            "INSERT INTO _msgs VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * len(spans)),
            [v for i, lo, hi, b, f in spans for v in (i, lo + base, hi + base, b, f)],
        )
        # One message: no earlier message can meet it, and without duplicates (whose message
        # names a row, numbered anew below) nothing is found again: the steps are skipped (6 %
        # of a lone message's time, alternated with the full path in one run).
        dup = "p.reason IN ('duplicate_row', 'conflicting_duplicate')"
        several = len(messages) > 1
        redo = several or bool(
            con.execute(f"SELECT count(*) FROM _parsed p WHERE {dup}").fetchall()[0][0]
        )
        reset = (
            f", CASE WHEN {dup} THEN NULL ELSE p.reason END AS reason, "
            f"CASE WHEN {dup} THEN NULL ELSE p.message END AS message"
            if redo
            else ""
        )
        con.execute(
            f"""CREATE TEMP TABLE _parsed_msgs AS
               SELECT p.* REPLACE (p._row - m.lo + m.first_row AS _row{reset}),
                      p._row AS _raw_row, m.msg, m.batch_id
               FROM _parsed p JOIN _msgs m ON p._row BETWEEN m.lo AND m.hi"""
        )
        con.execute("DROP TABLE _parsed")
        con.execute("ALTER TABLE _parsed_msgs RENAME TO _parsed")
        if redo:
            _duplicates(con, "msg, mkey, ts", "amount")
        span = _stored_span(con)
        if span is not None:  # else no stored reading of these meters in the rows' span
            _against_stored(
                con, "readings", "meter_id, ts_start", "meter_id, ts", "amount", False, span
            )
        # A row that meets an accepted row of an earlier message: as if that one were stored.
        if several:
            con.execute(
                """UPDATE _parsed p SET
                   reason = CASE WHEN f.amount = p.amount THEN 'already_stored'
                                 ELSE 'conflicts_with_stored' END,
                   message = CASE WHEN f.amount = p.amount
                                  THEN 'same value stored by batch ' || f.batch_id
                                  ELSE 'batch ' || f.batch_id || ' stored ' || f.amount
                                       || '; ingest with supersede=True to correct it' END
               FROM (SELECT mkey, ts, min(msg) AS msg, arg_min(amount, msg) AS amount,
                            arg_min(batch_id, msg) AS batch_id
                     FROM _parsed WHERE reason IS NULL GROUP BY ALL
                     HAVING count(DISTINCT msg) > 1) f
               WHERE p.reason IS NULL AND p.mkey = f.mkey AND p.ts = f.ts AND p.msg > f.msg"""
            )
        # As _interval inserts: a measured row for an estimated interval is its next revision.
        ts_end = """CASE WHEN p.step_us IS NOT NULL
                         THEN make_timestamptz(epoch_us(p.ts) + p.step_us)
                         ELSE p.ts + to_months(p.step_months) END"""
        if span is None:
            con.execute(
                f"""INSERT INTO readings
                    SELECT p.meter_id, p.ts, {ts_end}, p.amount, 'measured', 0, p.batch_id,
                           p._row
                    FROM _parsed p WHERE p.reason IS NULL"""
            )
        else:
            con.execute(
                f"""INSERT INTO readings
                    SELECT p.meter_id, p.ts, {ts_end}, p.amount, 'measured',
                           coalesce(r.rev + 1, 0), p.batch_id, p._row
                    FROM _parsed p LEFT JOIN (
                         SELECT meter_id, ts_start, max(revision) AS rev FROM readings
                         WHERE revision >= 0 AND ts_start BETWEEN ? AND ?
                           AND meter_id IN (SELECT meter_id FROM _keys)
                         GROUP BY ALL) r
                      ON r.meter_id = p.meter_id AND r.ts_start = p.ts
                    WHERE p.reason IS NULL""",
                list(span),
            )
        con.execute(
            f"""INSERT INTO rejects
                SELECT p.batch_id, p._row, {_raw_json(fields)}, p.reason, p.message
                FROM _parsed p JOIN _raw r ON r.rowid + 1 = p._raw_row
                WHERE p.reason IS NOT NULL"""
        )
        rejects = con.execute(
            "SELECT msg, CAST(_row AS BIGINT), reason, message FROM _parsed "
            "WHERE reason IS NOT NULL ORDER BY msg, _row"
        ).fetchall()
        tzq = tz.replace("'", "")
        changed = con.execute(
            f"""SELECT msg, meter_id,
                       CAST(date_trunc('month', timezone('{tzq}', ts)) AS DATE), count(*)
                FROM _parsed WHERE reason IS NULL GROUP BY ALL ORDER BY 1, 2, 3"""
        ).fetchall()
        newest = dict(
            con.execute(
                "SELECT msg, max(ts) FROM _parsed WHERE reason IS NULL GROUP BY msg"
            ).fetchall()
        )
    finally:
        for t in (*_TEMP_TABLES, "_msgs", "_parsed_msgs"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    outcomes = []
    for i, lo, hi, _, first_row in spans:
        mine = [(r - first_row + 1, c, m) for k, r, c, m in rejects if k == i]
        counts: dict[str, int] = {}
        for _, code, _ in mine:
            counts[code] = counts.get(code, 0) + 1
        read = hi - lo + 1
        outcomes.append(
            RowsOutcome(
                read=read,
                accepted=read - len(mine),
                rejected=len(mine),
                reasons=tuple(sorted(counts.items())),
                rejects=tuple((int(r), str(c), str(m)) for r, c, m in mine),
                changed=tuple((str(m), d, int(n)) for k, m, d, n in changed if k == i),
                newest=newest.get(i),
            )
        )
    return outcomes
