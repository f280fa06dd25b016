"""The store: one DuckDB file holding meters, readings, activities, batches and rejects.

The schema is versioned: opening a file applies the migrations it lacks, in one transaction,
and refuses a file written by a newer version of carbon-twin. Amounts are stored in the
activity's canonical unit as ``DECIMAL(18, 6)``; timestamps as ``TIMESTAMPTZ``.

Tables
------
``nodes``           the twin's nodes (synced from :class:`carbon.twin.Twin`)
``meters``          the twin's meters (synced likewise)
``batches``         one row per ingested file (or workbook sheet): SHA-256, ingest options,
                    rows read / accepted / rejected, times, void status (see below)
``readings``        consumption per meter and interval ``[ts_start, ts_end)``, canonical unit,
                    quality ``measured`` or ``estimated``, revision (see :mod:`carbon.ingest`)
``register_reads``  raw cumulative register readings, from which ``readings`` deltas come
``meter_events``    meter replacements (old final and new initial register readings)
``activities``      non-metered activity data (waste tonnage, fuel, green-power certificates)
``rejects``         every rejected input row: batch, row number, raw row, reason code, message
``ledger_entries``  entries of closed periods as published (append-only, see carbon.ledger)
``messages``        (v3) every message a gateway pushed to the collector: gateway, idempotency
                    key, body SHA-256, its batch and rows, counts (see :mod:`carbon.collect`)
``changes``         (v3) readings accepted per collector commit, by meter and local month

Views
-----
``current_readings``        the current value of each (meter, interval): its highest revision
                            among the readings of batches not voided
``current_activities``      likewise for activity rows
``current_register_reads``  register reads of batches not voided
``current_meter_events``    meter events of batches not voided

Batches and voiding (schema v2)
-------------------------------
A batch is identified by its file's SHA-256 *and* its ingest options (the resolved mapping,
time zone, sheet, supersede flag): ``batch_id = "b_" + sha256(file_sha256 + "\n" +
options)[:16]`` (see :func:`carbon.ingest.ingest_file`). ``batches.options`` holds the options
as canonical JSON and ``options_sha256`` their SHA-256. Batches of a v1 store keep their ids
(``"b_" + file_sha256[:16]``); the migration to v2 records their options from their mapping.

A batch is *voided* (:meth:`Store.void`, or by a corrected ingest with ``supersedes=``) by
setting ``voided_at``, ``voided_by`` (the superseding batch, NULL for a plain void) and
``void_reason`` on its row. Nothing is deleted: its readings and activity rows stay, with
their revision recorded as ``-(revision + 1)`` (so the original revision is kept), which every
``current_*`` view leaves out at no cost: ``current_readings`` keeps only revision 0 or the top
revision above 0, so its hot path is unchanged. Register reads and meter events have no
revision: their views leave voided batches out with an anti-join on the (few) voided ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import duckdb
import pandas as pd

from carbon._version import __version__
from carbon.errors import CarbonError

if TYPE_CHECKING:
    from carbon.ingest import Batch, Mapping
    from carbon.twin import Twin

__all__ = [
    "DATA_SUFFIXES",
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "check_store_path",
    "current_relations",
    "sql_list",
]

log = logging.getLogger(__name__)


class StoreError(CarbonError, RuntimeError):
    """The store file cannot be opened or migrated."""


def _v1_batch_options(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 2: record the options of the batches of a v1 store (their ids stay).

    The options are rebuilt from each batch's recorded mapping, as :mod:`carbon.ingest` now
    records them, so that the same file ingested again with the same options is still seen
    before. v1 did not record the CSV delimiter (taken here as the default for the file's
    suffix) nor the sheet of a workbook (left out: such a batch is not matched again).
    """
    from carbon.ingest import CSV_SUFFIXES, canonical_options

    query = "SELECT batch_id, kind, file_name, mapping, supersede FROM batches"
    rows = con.execute(query).fetchall()
    for batch_id, kind, file_name, mapping, supersede in rows:
        record = json.loads(mapping)
        suffix = Path(file_name).suffix.lower()
        if kind != "estimate" and suffix in CSV_SUFFIXES:
            record.setdefault("delimiter", "\t" if suffix == ".tsv" else ",")
        options, options_sha = canonical_options(record, bool(supersede))
        con.execute(
            "UPDATE batches SET options = ?, options_sha256 = ? WHERE batch_id = ?",
            [options, options_sha, batch_id],
        )


_BATCHES_V2 = """CREATE TABLE batches (
    batch_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
    source_path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL, rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
    mapping VARCHAR NOT NULL, supersede BOOLEAN NOT NULL,
    carbon_version VARCHAR NOT NULL,
    options VARCHAR, options_sha256 VARCHAR, request_sha256 VARCHAR, supersedes VARCHAR,
    voided_at TIMESTAMPTZ, voided_by VARCHAR, void_reason VARCHAR)"""
"""The v2 ``batches`` table: ``sha256`` no longer UNIQUE (one file, several option sets)."""

_V1_BATCH_COLUMNS = (
    "batch_id, kind, file_name, source_path, sha256, size_bytes, rows_read, rows_accepted, "
    "rows_rejected, started_at, finished_at, mapping, supersede, carbon_version"
)

_Step = str | Callable[[duckdb.DuckDBPyConnection], None]

_MIGRATIONS: list[tuple[int, str, list[_Step]]] = [
    (
        1,
        "initial schema",
        [
            """CREATE TABLE store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
            """CREATE TABLE nodes (
                node_id VARCHAR PRIMARY KEY, parent_id VARCHAR, kind VARCHAR NOT NULL,
                path VARCHAR NOT NULL, twin VARCHAR NOT NULL)""",
            """CREATE TABLE meters (
                meter_id VARCHAR PRIMARY KEY, node_id VARCHAR NOT NULL, activity VARCHAR NOT NULL,
                canonical_unit VARCHAR NOT NULL, unit VARCHAR NOT NULL, reading VARCHAR NOT NULL,
                "interval" VARCHAR NOT NULL, twin VARCHAR NOT NULL)""",
            """CREATE TABLE batches (
                batch_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
                source_path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL UNIQUE,
                size_bytes BIGINT NOT NULL, rows_read BIGINT NOT NULL,
                rows_accepted BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
                started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
                mapping VARCHAR NOT NULL, supersede BOOLEAN NOT NULL,
                carbon_version VARCHAR NOT NULL)""",
            """CREATE TABLE readings (
                meter_id VARCHAR NOT NULL, ts_start TIMESTAMPTZ NOT NULL,
                ts_end TIMESTAMPTZ NOT NULL, amount DECIMAL(18, 6) NOT NULL,
                quality VARCHAR NOT NULL, revision INTEGER NOT NULL, batch_id VARCHAR NOT NULL,
                row_number BIGINT NOT NULL)""",
            """CREATE TABLE register_reads (
                meter_id VARCHAR NOT NULL, read_at TIMESTAMPTZ NOT NULL,
                reading DECIMAL(18, 6) NOT NULL, batch_id VARCHAR NOT NULL,
                row_number BIGINT NOT NULL)""",
            """CREATE TABLE meter_events (
                meter_id VARCHAR NOT NULL, event_at TIMESTAMPTZ NOT NULL, event VARCHAR NOT NULL,
                old_final DECIMAL(18, 6), new_initial DECIMAL(18, 6),
                batch_id VARCHAR NOT NULL, row_number BIGINT NOT NULL)""",
            """CREATE TABLE activities (
                node_id VARCHAR NOT NULL, activity VARCHAR NOT NULL, period_start DATE NOT NULL,
                period_end DATE NOT NULL, amount DECIMAL(18, 6) NOT NULL,
                quality VARCHAR NOT NULL, revision INTEGER NOT NULL, batch_id VARCHAR NOT NULL,
                row_number BIGINT NOT NULL)""",
            """CREATE TABLE rejects (
                batch_id VARCHAR NOT NULL, row_number BIGINT NOT NULL, raw VARCHAR NOT NULL,
                reason VARCHAR NOT NULL, message VARCHAR NOT NULL)""",
            # Entries of closed periods, as published (append-only; see carbon.ledger).
            """CREATE TABLE ledger_entries (
                entry_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, period_start DATE NOT NULL,
                period_end DATE NOT NULL, node_id VARCHAR NOT NULL, node_path VARCHAR NOT NULL,
                node_kind VARCHAR NOT NULL, gpc_ref VARCHAR NOT NULL, gpc_sector VARCHAR NOT NULL,
                scope INTEGER NOT NULL, method VARCHAR NOT NULL, activity VARCHAR NOT NULL,
                amount DECIMAL(38, 6), unit VARCHAR, factor_id VARCHAR,
                factor_co2e DECIMAL(18, 9), co2_kg DECIMAL(38, 3), ch4_kg DECIMAL(38, 3),
                n2o_kg DECIMAL(38, 3), co2e_kg DECIMAL(38, 3) NOT NULL, dq_activity VARCHAR,
                dq_factor VARCHAR, completeness DECIMAL(9, 6), meters INTEGER,
                readings BIGINT, estimated BIGINT, source_batches VARCHAR, adjusts VARCHAR,
                notes VARCHAR, snapshot_id VARCHAR NOT NULL, closed_at TIMESTAMPTZ NOT NULL)""",
            # The current value of a reading is its highest revision (see carbon.ingest).
            # Only intervals with a later revision need a join; when there are none (the usual
            # case) the view is a plain scan (a window over all readings costs 3x a GROUP BY).
            """CREATE VIEW current_readings AS
               SELECT r.* FROM readings r
               LEFT JOIN (SELECT meter_id, ts_start, max(revision) AS top FROM readings
                          WHERE revision > 0 GROUP BY ALL) l
                 ON l.meter_id = r.meter_id AND l.ts_start = r.ts_start
               WHERE r.revision = coalesce(l.top, 0)""",
            """CREATE VIEW current_activities AS
               SELECT * FROM activities
               QUALIFY revision = max(revision)
                   OVER (PARTITION BY node_id, activity, period_start, period_end)""",
        ],
    ),
    (
        2,
        "batch identity by file and options; voided batches",
        [
            # DuckDB cannot drop a UNIQUE constraint: the table is rebuilt, ids unchanged.
            _BATCHES_V2.replace("CREATE TABLE batches", "CREATE TABLE batches_v2"),
            f"INSERT INTO batches_v2 ({_V1_BATCH_COLUMNS}) SELECT {_V1_BATCH_COLUMNS} FROM batches",
            "DROP TABLE batches",
            "ALTER TABLE batches_v2 RENAME TO batches",
            _v1_batch_options,
            # current_readings needs no change: voided readings carry a negative revision,
            # which it never keeps (see the module docstring).
            """CREATE OR REPLACE VIEW current_activities AS
               SELECT * FROM activities WHERE revision >= 0
               QUALIFY revision = max(revision)
                   OVER (PARTITION BY node_id, activity, period_start, period_end)""",
            """CREATE VIEW current_register_reads AS
               SELECT r.* FROM register_reads r
               ANTI JOIN (SELECT batch_id FROM batches WHERE voided_at IS NOT NULL) v
                 ON v.batch_id = r.batch_id""",
            """CREATE VIEW current_meter_events AS
               SELECT e.* FROM meter_events e
               ANTI JOIN (SELECT batch_id FROM batches WHERE voided_at IS NOT NULL) v
                 ON v.batch_id = e.batch_id""",
        ],
    ),
    (
        3,
        "pushed messages and the changes of each collector commit (carbon.collect)",
        [
            # One row per message a gateway pushed, committed with its readings: the
            # idempotency key and body hash, and the batch rows it holds
            # [first_row, first_row + rows_read).
            """CREATE TABLE messages (
                gateway_id VARCHAR NOT NULL, message_key VARCHAR NOT NULL,
                body_sha256 VARCHAR NOT NULL, channel VARCHAR NOT NULL,
                batch_id VARCHAR NOT NULL, first_row BIGINT NOT NULL, rows_read BIGINT NOT NULL,
                rows_accepted BIGINT NOT NULL, rows_rejected BIGINT NOT NULL,
                reasons VARCHAR NOT NULL, received_at TIMESTAMPTZ NOT NULL,
                committed_at TIMESTAMPTZ NOT NULL)""",
            # Readings accepted per commit of the collector, by meter and local month: what
            # an incremental ledger re-values (carbon.collect.changes_since).
            """CREATE TABLE changes (
                seq BIGINT NOT NULL, batch_id VARCHAR NOT NULL, meter_id VARCHAR NOT NULL,
                month DATE NOT NULL, readings BIGINT NOT NULL,
                committed_at TIMESTAMPTZ NOT NULL)""",
        ],
    ),
]
SCHEMA_VERSION = _MIGRATIONS[-1][0]
"""The schema version this release writes."""


class Store:
    """One DuckDB file of meter readings, activity data, batches and rejects.

    Parameters
    ----------
    path : the DuckDB file (created when missing), or ``":memory:"``.
    read_only : open without write access (the file must exist and be current).
    threads : DuckDB worker threads (default: DuckDB's).
    memory_limit : DuckDB memory limit, e.g. ``"2GB"``.

    Examples
    --------
    >>> store = Store("shimen.duckdb")                  # doctest: +SKIP
    >>> batch = store.ingest("elec.csv", twin=twin)      # doctest: +SKIP
    >>> batch.read == batch.accepted + batch.rejected    # doctest: +SKIP
    True
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        if self.path is not None:
            _refuse_non_store(self.path)
        self.memory_limit = memory_limit
        config: dict[str, Any] = {}
        if threads is not None:
            config["threads"] = threads
        if memory_limit is not None:
            config["memory_limit"] = memory_limit
        try:
            self.con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            from carbon.collect import held_by  # a running collector is the store's writer

            holder = held_by(path) if self.path is not None and not read_only else None
            why = holder or str(exc)
            raise StoreError(f"Cannot open store {path}: {why}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        self.read_only = read_only
        try:
            self._migrate()
        except BaseException:
            self.con.close()  # a refused open must not keep the file open
            raise

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path or ':memory:')!r}, schema v{self.schema_version})"

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        # fetchall, not fetchone: DuckDB 2 refuses register() while a result is unfinished.
        rows = self.con.execute(
            "SELECT value FROM store_meta WHERE key = 'schema_version'"
        ).fetchall()
        return int(rows[0][0]) if rows else 0

    def _migrate(self) -> None:
        has_meta = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'store_meta'"
        ).fetchall()[0][0]
        current = self.schema_version if has_meta else 0
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"Store {self.path} has schema v{current}, newer than this carbon-twin "
                f"{__version__} (v{SCHEMA_VERSION}); upgrade carbon-twin to open it."
            )
        pending = [m for m in _MIGRATIONS if m[0] > current]
        if not pending:
            return
        if self.read_only:
            raise StoreError(
                f"Store {self.path} has schema v{current} and needs v{SCHEMA_VERSION}; "
                "open it once read-write to migrate."
            )
        self.con.execute("BEGIN TRANSACTION")
        try:
            for version, description, statements in pending:
                for sql in statements:
                    if callable(sql):
                        sql(self.con)
                    else:
                        self.con.execute(sql)
                self.con.execute(
                    "INSERT OR REPLACE INTO store_meta VALUES ('schema_version', ?)", [str(version)]
                )
                log.info("store %s migrated to v%d (%s)", self.path, version, description)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ twin
    def sync_twin(self, twin: Twin) -> int:
        """Insert or update the twin's nodes and meters; return how many meters the store knows.

        Also records the twin's time zone, used to read naive local timestamps. A twin the
        store already holds as it is (same nodes, meters and zone: a fingerprint in
        ``store_meta``) is not written again.
        """
        frame = twin.meters_frame()
        frame["canonical_unit"] = frame["activity"].map(
            {a: _canonical(a) for a in frame["activity"].unique()}
        )
        frame["twin"] = twin.name
        nodes = twin.tree_frame()[["id", "parent", "kind", "path"]].assign(twin=twin.name)
        fingerprint = _fingerprint(frame, nodes, twin.site.timezone)
        rows = self.con.execute(
            "SELECT value FROM store_meta WHERE key = 'twin_fingerprint'"
        ).fetchall()
        if rows and rows[0][0] == fingerprint:
            return int(self.con.execute("SELECT count(*) FROM meters").fetchall()[0][0])
        self.con.register("_twin_nodes", nodes)
        self.con.register("_twin_meters", frame)
        try:
            self.con.execute(
                "INSERT OR REPLACE INTO nodes SELECT id, parent, kind, path, twin FROM _twin_nodes"
            )
            self.con.execute(
                """INSERT OR REPLACE INTO meters
                   SELECT meter_id, node_id, activity, canonical_unit, unit, reading, "interval",
                          twin FROM _twin_meters"""
            )
        finally:
            self.con.unregister("_twin_nodes")
            self.con.unregister("_twin_meters")
        self.con.execute(
            "INSERT OR REPLACE INTO store_meta VALUES ('timezone', ?), ('twin', ?), "
            "('twin_fingerprint', ?)",
            [twin.site.timezone, twin.name, fingerprint],
        )
        return int(self.con.execute("SELECT count(*) FROM meters").fetchall()[0][0])

    @property
    def timezone(self) -> str:
        """The community's time zone (from the synced twin; Asia/Shanghai by default)."""
        rows = self.con.execute("SELECT value FROM store_meta WHERE key = 'timezone'").fetchall()
        return rows[0][0] if rows else "Asia/Shanghai"

    # ------------------------------------------------------------------ ingestion
    @overload
    def ingest(  # type: ignore[overload-overlap]  # '*' is a str: listed first
        self,
        path: str | Path,
        mapping: Mapping | str | Path | dict[str, Any] | None = None,
        *,
        sheet: Literal["*"],
        twin: Twin | None = None,
        supersede: bool = False,
        supersedes: str | None = None,
        reason: str | None = None,
        now: dt.datetime | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> list[Batch]: ...

    @overload
    def ingest(
        self,
        path: str | Path,
        mapping: Mapping | str | Path | dict[str, Any] | None = None,
        *,
        sheet: str | int | None = None,
        twin: Twin | None = None,
        supersede: bool = False,
        supersedes: str | None = None,
        reason: str | None = None,
        now: dt.datetime | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> Batch: ...

    def ingest(
        self,
        path: str | Path,
        mapping: Mapping | str | Path | dict[str, Any] | None = None,
        *,
        sheet: str | int | None = None,
        twin: Twin | None = None,
        supersede: bool = False,
        supersedes: str | None = None,
        reason: str | None = None,
        now: dt.datetime | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> Batch | list[Batch]:
        """Ingest one file as one batch (a workbook with ``sheet="*"``: one per sheet).

        See :func:`carbon.ingest.ingest_file` for every parameter.

        Parameters
        ----------
        twin : when given, synced first (:meth:`sync_twin`).
        supersedes : id of an earlier batch this one corrects: it is voided in the same
            transaction (``voided_by`` = the new batch), and only if the new batch lands.
        reason : why, recorded on the voided batch (default: the new batch and file).
        """
        from carbon.ingest import ingest_file

        if twin is not None:
            self.sync_twin(twin)
        return ingest_file(
            self,
            path,
            mapping,
            sheet=sheet,
            supersede=supersede,
            supersedes=supersedes,
            reason=reason,
            now=now,
            progress=progress,
        )

    def void(self, batch_id: str, reason: str, *, now: dt.datetime | None = None) -> Batch:
        """Void a batch: its rows stop being current; nothing is deleted.

        See :func:`carbon.ingest.void_batch`.

        Parameters
        ----------
        batch_id : the batch to void (``b_…`` or a gap-fill ``e_…``).
        reason : why (required, recorded in ``batches.void_reason``).
        now : the time recorded as ``voided_at`` [timezone-aware]; default: now.

        Returns
        -------
        Batch
            The voided batch, with ``voided_at`` and ``void_reason`` set.

        Raises
        ------
        carbon.ingest.IngestError
            For an unknown or already voided batch, or an empty reason; nothing changes.
        """
        from carbon.ingest import void_batch

        return void_batch(self, batch_id, reason, now=now)

    # ------------------------------------------------------------------ queries
    def frame(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read-only query and return a DataFrame."""
        return self.con.execute(sql, params or []).df()

    def batches(self) -> pd.DataFrame:
        """Every batch, oldest first, voided ones included.

        Returns
        -------
        DataFrame with the ``batches`` table's columns: ``batch_id, kind, file_name,
        source_path, sha256, size_bytes, rows_read, rows_accepted, rows_rejected, started_at,
        finished_at, mapping, supersede, carbon_version, options`` (canonical JSON of the ingest
        options), ``options_sha256, request_sha256`` (the options as asked, before columns are
        guessed), ``supersedes`` (the batch this one corrected), ``voided_at, voided_by`` (the
        batch that superseded it, NULL for a plain void), ``void_reason``; and ``voided``
        (bool, ``voided_at`` is set).
        """
        return self.frame(
            "SELECT *, voided_at IS NOT NULL AS voided FROM batches ORDER BY started_at, batch_id"
        )

    def rejects(self, batch_id: str | None = None) -> pd.DataFrame:
        """Rejected rows (of one batch, or all), with row number, raw row, reason and message."""
        where = "WHERE batch_id = ?" if batch_id else ""
        return self.frame(
            f"SELECT * FROM rejects {where} ORDER BY batch_id, row_number, reason",
            [batch_id] if batch_id else [],
        )

    def readings(self, meter_id: str | None = None) -> pd.DataFrame:
        """Current readings (highest revision), of one meter or all."""
        where = "WHERE meter_id = ?" if meter_id else ""
        return self.frame(
            f"SELECT * FROM current_readings {where} ORDER BY meter_id, ts_start",
            [meter_id] if meter_id else [],
        )

    def completeness(self, start: str | dt.date, end: str | dt.date) -> pd.DataFrame:
        """Share of expected intervals present, per meter and local month.

        Hourly meters expect one reading per hour of the month (local time); daily meters one
        per day; monthly register meters one delta per month.

        Returns
        -------
        DataFrame with ``meter_id, month, expected, present, estimated, completeness``
        [dimensionless, 0..1].
        """
        from carbon.ingest import completeness_sql

        return self.frame(completeness_sql(self.timezone), [str(start), str(end)])

    def fill_gaps(
        self, start: str | dt.date, end: str | dt.date, *, meter_ids: list[str] | None = None
    ) -> Batch:
        """Fill missing hourly intervals with estimates. See :func:`carbon.ingest.fill_gaps`."""
        from carbon.ingest import fill_gaps

        return fill_gaps(self, start, end, meter_ids=meter_ids)


DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".xlsx", ".xlsm", ".xls", ".json", ".epw")
"""Suffixes of data files, never opened as a store (DuckDB would open a CSV as a database)."""

_DUCKDB_MAGIC = b"DUCK"
"""Bytes 8-11 of a DuckDB database file."""


def _refuse_non_store(path: Path) -> None:
    """Raise :class:`StoreError` for a path that is not a store: an existing file that is no
    DuckDB database, a folder, or a new path named like a data file."""
    usage = "the store comes first: carbon ingest STORE.duckdb FILE..."
    if path.is_dir():
        raise StoreError(f"Store {path} is a folder, not a DuckDB file; {usage}")
    if path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(12)
        if head and head[8:12] != _DUCKDB_MAGIC:
            kind = f"a {path.suffix} file" if path.suffix else "not a DuckDB file"
            raise StoreError(f"{path} is not a store (a DuckDB file): it is {kind}; {usage}")
    elif path.suffix.lower() in DATA_SUFFIXES:
        raise StoreError(
            f"Store {path} does not exist and is named like a data file ({path.suffix}); {usage}"
        )


def check_store_path(path: str | Path) -> Path:
    """Check the store argument of a command that writes: an existing store, or a new path
    ending in ``.duckdb``.

    Parameters
    ----------
    path : the store path as given.

    Returns
    -------
    Path
        The path.

    Raises
    ------
    StoreError
        For an existing file that is not a DuckDB database, a folder, or a new path that does
        not end in ``.duckdb`` (``carbon ingest a.csv b.csv`` forgot the store: a.csv is
        never opened as a database).
    """
    path = Path(path)
    _refuse_non_store(path)
    if not path.exists() and path.suffix.lower() != ".duckdb":
        raise StoreError(
            f"Store {path} does not exist; a new store is a file ending in .duckdb "
            "(carbon ingest STORE.duckdb FILE...)"
        )
    return path


def _fingerprint(meters: pd.DataFrame, nodes: pd.DataFrame, timezone: str) -> str:
    """SHA-256 over the rows :meth:`Store.sync_twin` writes and the zone [hex]."""
    h = hashlib.sha256(timezone.encode())
    for frame in (meters, nodes):
        h.update(repr(list(frame.columns)).encode())
        for column in frame.columns:
            h.update(repr(frame[column].tolist()).encode())
    return h.hexdigest()


def _canonical(activity: str) -> str:
    from carbon.activities import get_activity

    return get_activity(activity).canonical_unit


def sql_list(values: Sequence[str]) -> str:
    """A SQL list literal of strings, quotes doubled."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def current_relations(con: Any, batches: Sequence[str] | None) -> dict[str, str]:
    """SQL of the current readings and activity rows of some batches (every batch when None).

    The current value of an interval is its highest revision among the given batches. When the
    store holds no other batch, these are the store's ``current_readings`` /
    ``current_activities`` views.
    """
    views = {"readings": "current_readings", "activities": "current_activities"}
    if batches is None:
        return views
    ids = sql_list(sorted(set(batches)))
    others = con.execute(
        f"SELECT count(*) FROM batches WHERE NOT list_contains({ids}, batch_id)"
    ).fetchall()[0][0]
    if not others:
        return views
    return {
        # voided batches carry negative revisions (carbon.store): never current
        "readings": f"(SELECT * FROM readings WHERE list_contains({ids}, batch_id) "
        "AND revision >= 0 "
        "QUALIFY revision = max(revision) OVER (PARTITION BY meter_id, ts_start))",
        "activities": f"(SELECT * FROM activities WHERE list_contains({ids}, batch_id) "
        "AND revision >= 0 QUALIFY revision = max(revision) "
        "OVER (PARTITION BY node_id, activity, period_start, period_end))",
    }
