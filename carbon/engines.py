"""Where the ledger's SQL runs: DuckDB (embedded, the default) or Apache Spark (``pyspark``).

The ledger SQL (:mod:`carbon.ledger`) is written once, in DuckDB's dialect, as named steps over
named relations (DESIGN decision 7). An engine materializes each step as a table and collects
the final queries as Arrow tables, so both engines hand the ledger the same Decimal amounts,
dates and text. The relations every engine provides:

``_in_readings``    current meter readings: ``meter_id, ts_start, ts_end`` [TIMESTAMPTZ],
                    ``amount`` [DECIMAL(18, 6), canonical unit], ``quality, revision,
                    batch_id, row_number`` (the store's ``current_readings`` view, or Parquet)
``_in_activities``  current activity rows: ``node_id, activity, period_start, period_end``
                    [DATE], ``amount, quality, revision, batch_id, row_number``
plus the small tables the ledger loads from Arrow (meter info, factor segments, nodes).

DuckDB runs the SQL as written. For Spark, :func:`to_spark_sql` transpiles it with ``sqlglot``
(``list`` -> ``collect_list``, ``sha256(x)`` -> ``sha2(x, 256)``, ``GROUP BY ALL`` kept...) after
swapping the two engine-specific functions the SQL names, :data:`FUNCTIONS`. ASOF joins are
refused: sqlglot passes them through and Spark rejects them (docs/research/stack.md §3); the
ledger uses range joins with half-open validity instead.

Spark needs: ``pip install 'carbon-twin[spark]'`` (pyspark >= 4.0, sqlglot) and Java 17. The
session is the process's one JVM (:func:`spark_session`); its time zone is UTC and decimal
arithmetic keeps full scale, so amounts agree with DuckDB to the gram.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import pyarrow as pa

from carbon.errors import CarbonError
from carbon.store import current_relations
from carbon.timezones import micros, utc_offsets

if TYPE_CHECKING:
    from carbon.store import Store

__all__ = [
    "ENGINES",
    "FUNCTIONS",
    "LOCAL_SPARK_CONFIG",
    "SPARK_CONFIG",
    "DuckDBEngine",
    "Engine",
    "EngineError",
    "SparkEngine",
    "export_inputs",
    "local_month_sql",
    "local_time_sql",
    "month_starts_sql",
    "open_engine",
    "period_start_sql",
    "spark_session",
    "to_spark_sql",
]

log = logging.getLogger(__name__)

ENGINES = ("duckdb", "spark")
"""Names of the ledger engines."""

FUNCTIONS: dict[str, dict[str, str]] = {
    "utc_to_local": {
        "duckdb": "timezone(tz, ts)",
        "spark": "from_utc_timestamp(ts, tz)",
    },
    "local_to_utc": {
        "duckdb": "timezone(tz, ts)",
        "spark": "to_utc_timestamp(ts, tz)",
    },
    "ts_micros": {
        "duckdb": "epoch_us(ts)",
        "spark": "unix_micros(ts)",
    },
    "micros_ts": {
        "duckdb": "make_timestamp(us)",
        "spark": "timestamp_micros(us)",
    },
}
"""The engine-specific functions of the ledger SQL, per engine.

``utc_to_local(ts, tz)`` turns an instant (TIMESTAMPTZ) into the local wall-clock time of zone
``tz``; ``local_to_utc(ts, tz)`` the other way round. DuckDB's ``timezone(tz, ts)`` does both,
by the type of ``ts``; Spark (session time zone UTC) has one function for each direction.
``ts_micros(ts)`` is an instant as microseconds since 1970-01-01 UTC [µs] and ``micros_ts(us)``
the wall-clock timestamp of such a count; :func:`local_time_sql` builds the per-row local time
from them. Everything else the two dialects spell differently is sqlglot's business."""

SPARK_CONFIG: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
}
"""Settings of every session :func:`spark_session` starts (docs/research/stack.md §3).

``spark.sql.session.timeZone = UTC`` makes ``CAST(ts AS DATE)`` of a shifted local time give
the local date, as DuckDB does with ``SET TimeZone = 'UTC'`` (the store's setting).
``allowPrecisionLoss = false`` keeps ``DECIMAL(38, 6) x DECIMAL(18, 9)`` at scale 15, as in
DuckDB; with Spark's default the product would be rounded to 6 decimals before the ledger
rounds it to 3, and a few entries would differ by a gram."""

LOCAL_SPARK_CONFIG: dict[str, str] = {
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}
"""Added for ``local[N]`` masters: a small shuffle, no web UI, loopback only (offline)."""

_ARGS = {"ts_micros": "ts", "micros_ts": "us"}  # the others take (ts, tz)

_SESSION_SQL_CONF = ("spark.sql.session.timeZone", "spark.sql.decimalOperations.allowPrecisionLoss")


class EngineError(CarbonError, RuntimeError):
    """A ledger engine that cannot run: pyspark or Java missing, a second Spark master, or
    inputs the engine cannot read."""


class Engine(Protocol):
    """What the ledger needs from an engine (see :class:`DuckDBEngine`, :class:`SparkEngine`)."""

    name: str

    def load(self, name: str, table: pa.Table) -> None:
        """Make a small Arrow table available to the SQL as ``name``."""

    def create(self, name: str, sql: str) -> None:
        """Run a query (DuckDB dialect) and keep its result as table ``name``."""

    def arrow(self, sql: str) -> pa.Table:
        """Run a query (DuckDB dialect) and collect its result."""

    def describe(self) -> dict[str, Any]:
        """What ran the build, for the manifest: name, version, master, inputs."""

    def close(self) -> None:
        """Drop every table the engine made."""


# ------------------------------------------------------------------------------ local time
def local_time_sql(column: str, tz: str, first: dt.datetime, stop: dt.datetime) -> str:
    """SQL: the local wall-clock time (TIMESTAMP) of instants in ``column`` within a span.

    Same result as ``utc_to_local(column, tz)`` for every instant in ``[first, stop)``, but
    computed with integer arithmetic: the instant in microseconds plus the zone's offset, a
    constant where the zone keeps one offset over the span (Asia/Shanghai) and a ``CASE`` over
    the offset changes otherwise (:func:`carbon.timezones.utc_offsets`). Per-row time-zone
    conversion through ICU costs about 3.5 x the whole aggregation the ledger runs over the
    readings (benchmarks/RESULTS.md); this does not. Instants outside the span get the
    nearest period's offset.

    Parameters
    ----------
    column : SQL expression of TIMESTAMPTZ instants.
    tz : IANA time zone.
    first, stop : the span the query keeps (timezone-aware).
    """
    us = f"ts_micros({column})"
    pieces = utc_offsets(tz, first, stop)
    if len(pieces) == 1:
        return f"micros_ts({us} + {pieces[0][1]})"
    changes = zip(pieces[1:], pieces[:-1], strict=True)
    whens = " ".join(f"WHEN {us} < {since} THEN {off}" for (since, _), (_, off) in changes)
    return f"micros_ts({us} + CASE {whens} ELSE {pieces[-1][1]} END)"


def local_month_sql(column: str, tz: str, first: dt.datetime, stop: dt.datetime) -> str:
    """SQL: the local calendar month (1..12) of instants in ``column`` within a span.

    ``month()`` of :func:`local_time_sql`: no time-zone conversion, and cheaper than
    :func:`period_start_sql`'s comparisons (0.61 s against 0.78 s for a ``GROUP BY`` meter and
    month over 100 M readings on the project machine, 2 threads). Unique within a span of at
    most twelve months: group by it, then name the periods (:func:`month_starts_sql`).

    Parameters
    ----------
    column : SQL expression of TIMESTAMPTZ instants.
    tz : IANA time zone.
    first, stop : the span the query keeps (timezone-aware).
    """
    return f"month({local_time_sql(column, tz, first, stop)})"


def month_starts_sql(column: str, starts: Sequence[dt.date]) -> str:
    """SQL: the first day (DATE) of the month numbered by ``column`` (1..12) among ``starts``.

    ``starts`` are first days of months, each calendar month at most once (at most twelve
    consecutive months); see :func:`local_month_sql`.
    """
    if len({d.month for d in starts}) != len(starts):
        raise ValueError(f"month numbers are ambiguous over {len(starts)} months")
    whens = " ".join(f"WHEN {d.month} THEN DATE '{d.isoformat()}'" for d in starts)
    return f"CASE {column} {whens} END"


def period_start_sql(column: str, tz: str, starts: Sequence[dt.date]) -> str:
    """SQL: the local first day (DATE) of the period holding each instant of ``column``.

    The periods are ``[starts[i], starts[i + 1])`` in local time (the last one open-ended);
    the query must keep only instants from ``starts[0]`` on. Each period's first instant is
    worked out here, in UTC, with the zone's rules (summer time included), so the SQL only
    compares integers: a binary tree of ``CASE`` over ``ts_micros(column)``, about
    log2(len(starts)) comparisons a row. Measured at 100 M readings (12 months): 0.9 s against
    1.7 s for ``date_trunc('month', ...)`` of the local time, and no time-zone conversion at
    all (benchmarks/RESULTS.md).

    Parameters
    ----------
    column : SQL expression of TIMESTAMPTZ instants.
    tz : IANA time zone of the local dates.
    starts : the periods' first days, ascending (e.g. the months of the ledger).
    """
    zone = ZoneInfo(tz)
    bounds = [micros(dt.datetime.combine(d, dt.time(), zone)) for d in starts]
    us = f"ts_micros({column})"

    def tree(lo: int, hi: int) -> str:  # periods lo .. hi - 1
        if hi - lo == 1:
            return f"DATE '{starts[lo].isoformat()}'"
        mid = (lo + hi) // 2
        return f"CASE WHEN {us} < {bounds[mid]} THEN {tree(lo, mid)} ELSE {tree(mid, hi)} END"

    return tree(0, len(starts))


# ------------------------------------------------------------------------------ DuckDB
class DuckDBEngine:
    """The ledger SQL on the store's own DuckDB connection.

    Parameters
    ----------
    con : the store's connection (``Store.con``); its time zone is UTC.
    readings, activities : Parquet files (or globs) of current readings / activity rows to
        read instead of the store's ``current_readings`` / ``current_activities`` views.
    """

    name = "duckdb"

    def __init__(
        self,
        con: Any,
        *,
        readings: str | Sequence[str] | None = None,
        activities: str | Sequence[str] | None = None,
        batches: Sequence[str] | None = None,
    ) -> None:
        self.con = con
        self.inputs = {"readings": _paths(readings), "activities": _paths(activities)}
        self._tables: list[str] = []
        self._loaded: list[str] = []
        # Text as Arrow large_string: what pandas keeps its strings in, so handing the entries
        # to pandas copies no offsets (0.09 s at 273,600 entries). Restored on close.
        self._large = con.execute("SELECT current_setting('arrow_large_buffer_size')").fetchall()
        con.execute("SET arrow_large_buffer_size = true")
        for fn, spelled in FUNCTIONS.items():
            args = _ARGS.get(fn, "ts, tz")
            con.execute(f"CREATE OR REPLACE TEMP MACRO {fn}({args}) AS {spelled['duckdb']}")
        current = current_relations(con, batches)
        for rel, view in current.items():
            paths = self.inputs[rel]
            source = f"read_parquet({_sql_list(paths)})" if paths else view
            plain = view == "current_readings" and not paths
            if rel == "readings" and plain and not _has_revisions(con):
                # Every reading is current when none was revised: the plain table, without
                # the view's join (0.3 s at 100 M readings; the zone maps of ``revision``
                # answer the check without a scan).
                source = "readings"
            con.execute(f"CREATE OR REPLACE TEMP VIEW _in_{rel} AS SELECT * FROM {source}")

    def load(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)
        self._loaded.append(name)

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        self._tables.append(name)

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def describe(self) -> dict[str, Any]:
        import duckdb

        out: dict[str, Any] = {"name": self.name, "version": duckdb.__version__}
        if any(self.inputs.values()):
            out["inputs"] = _describe_inputs(self.inputs)
        return out

    def close(self) -> None:
        for name in reversed(self._tables):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        for name in self._loaded:
            self.con.unregister(name)
        for rel in ("readings", "activities"):
            self.con.execute(f"DROP VIEW IF EXISTS _in_{rel}")
        for fn in FUNCTIONS:
            self.con.execute(f"DROP MACRO IF EXISTS {fn}")
        if self._large:
            self.con.execute(f"SET arrow_large_buffer_size = {bool(self._large[0][0])}")
            self._large = []
        self._tables, self._loaded = [], []


def _has_revisions(con: Any) -> bool:
    """Whether the store holds readings of a revision other than 0 (superseded intervals, or
    voided batches: their readings carry a negative revision; see carbon.store)."""
    query = "SELECT EXISTS (SELECT 1 FROM readings WHERE revision <> 0)"
    return bool(con.execute(query).fetchall()[0][0])


# ------------------------------------------------------------------------------ Spark
def to_spark_sql(sql: str) -> str:
    """Transpile a ledger query from DuckDB's dialect to Spark SQL.

    The functions of :data:`FUNCTIONS` are swapped for Spark's, then sqlglot writes the rest.

    Raises
    ------
    EngineError
        When sqlglot is missing, or the query uses an ASOF join (Spark has none).
    """
    try:
        import sqlglot
        from sqlglot import exp
    except ImportError:
        raise EngineError(
            "the Spark engine needs sqlglot: pip install 'carbon-twin[spark]'"
        ) from None
    tree = sqlglot.parse_one(sql, read="duckdb")
    for join in tree.find_all(exp.Join):
        if "ASOF" in str(join.args.get("method") or "").upper():
            raise EngineError(
                "ASOF JOIN has no Spark equivalent (sqlglot passes it through unchanged); "
                f"write a range join with half-open validity instead: {join.sql('duckdb')}"
            )
    spark_names = {name: spelled["spark"].split("(", 1)[0] for name, spelled in FUNCTIONS.items()}

    # Renamed in place, every call found (nested ones too: micros_ts(ts_micros(...) + ...)).
    for node in list(tree.find_all(exp.Anonymous)):
        if node.name.lower() in spark_names:
            node.set("this", spark_names[node.name.lower()])
    return tree.sql(dialect="spark")


_SESSION: Any = None


def spark_session(master: str | None = None, config: dict[str, str] | None = None) -> Any:
    """The process's Spark session, started on first use.

    One JVM per process: later calls return the same session (``config`` then only sets
    runtime SQL options). Asking for another master than the running one is an error; run
    that build in a fresh process. Sessions get :data:`SPARK_CONFIG`, local ones
    :data:`LOCAL_SPARK_CONFIG` too.

    Parameters
    ----------
    master : Spark master URL: ``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://...``.
        Default: the one ``spark-submit`` was given when running under it, else ``local[2]``.
    config : extra settings, e.g. ``spark.hadoop.fs.s3a.endpoint`` (object storage).

    Raises
    ------
    EngineError
        When pyspark is not installed, Java is missing, or another master is running.
    """
    global _SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "the Spark engine needs pyspark: pip install 'carbon-twin[spark]' (and Java 17)"
        ) from None
    if _SESSION is not None and _SESSION.sparkContext._jsc is not None:
        running = _SESSION.sparkContext.master
        if master is not None and running != master:
            raise EngineError(
                f"a Spark session on {running!r} is already running in this process; "
                f"start the build on {master!r} in a fresh process"
            )
        for key, value in (config or {}).items():
            if key.startswith("spark.sql."):
                _SESSION.conf.set(key, value)
        return _SESSION
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM
    if not submitted and shutil.which("java") is None and not _java_home():
        raise EngineError(
            "the Spark engine needs Java 17 (no 'java' on PATH and no JAVA_HOME); on Debian: "
            "apt-get install -y openjdk-17-jre-headless"
        )
    if master is None and not submitted:
        master = "local[2]"
    builder = SparkSession.builder.appName("carbon-twin ledger")
    if master is not None:
        builder = builder.master(master)
    settings = dict(SPARK_CONFIG)
    if (master or "").startswith("local"):
        # Loopback only: no hostname lookup, nothing listens beyond this machine.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings |= LOCAL_SPARK_CONFIG
    for key, value in (settings | (config or {})).items():
        builder = builder.config(key, value)
    with _quiet():
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM failed to start: show why, not a py4j trace
            raise EngineError(f"Spark did not start on {master!r}: {exc}") from None
    session.sparkContext.setLogLevel("ERROR")
    _SESSION = session
    return session


def _java_home() -> bool:
    home = os.environ.get("JAVA_HOME")
    return home is not None and (Path(home) / "bin" / "java").exists()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence pyspark's pandas-3 FutureWarning (docs/research/stack.md §0): we exchange Arrow."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas")
        yield


class SparkEngine:
    """The ledger SQL on Spark, transpiled by :func:`to_spark_sql`.

    Parameters
    ----------
    session : a SparkSession (see :func:`spark_session`).
    readings, activities : Parquet files, folders or globs of current readings and activity
        rows (the schema of :func:`export_inputs`), on any file system the executors can
        read (``s3a://``, ``hdfs://``, or a local path for ``local[N]``).
    exported : the inputs are a temporary export of the store (recorded as such, not by
        their temporary paths).
    """

    name = "spark"

    def __init__(
        self,
        session: Any,
        *,
        readings: str | Sequence[str],
        activities: str | Sequence[str] | None = None,
        exported: bool = False,
    ) -> None:
        self.spark = session
        self.exported = exported
        for key in _SESSION_SQL_CONF:
            session.conf.set(key, SPARK_CONFIG[key])
        self.inputs = {"readings": _paths(readings), "activities": _paths(activities)}
        self._frames: dict[str, Any] = {}
        with _quiet():
            session.read.parquet(*self.inputs["readings"]).createOrReplaceTempView("_in_readings")
            if self.inputs["activities"]:
                acts = session.read.parquet(*self.inputs["activities"])
            else:
                acts = session.createDataFrame([], _ACTIVITY_DDL)
            acts.createOrReplaceTempView("_in_activities")

    def load(self, name: str, table: pa.Table) -> None:
        with _quiet():
            frame = self.spark.createDataFrame(table)
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame

    def create(self, name: str, sql: str) -> None:
        with _quiet():
            # Materialized now, lineage cut: later steps read it more than once, and a cached
            # plan with collect_list is not reliably matched by Spark's cache manager.
            frame = self.spark.sql(to_spark_sql(sql)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._frames[name] = frame

    def arrow(self, sql: str) -> pa.Table:
        with _quiet():
            return self.spark.sql(to_spark_sql(sql)).toArrow()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.spark.version,
            "master": self.spark.sparkContext.master,
            "inputs": "store export" if self.exported else _describe_inputs(self.inputs),
        }

    def close(self) -> None:
        for name in self._frames:
            self.spark.catalog.dropTempView(name)
        for rel in ("readings", "activities"):
            self.spark.catalog.dropTempView(f"_in_{rel}")
        self._frames = {}


_ACTIVITY_DDL = (
    "node_id STRING, activity STRING, period_start DATE, period_end DATE, "
    "amount DECIMAL(18,6), quality STRING, revision INT, batch_id STRING, row_number BIGINT"
)


# ------------------------------------------------------------------------------ inputs
def export_inputs(
    store: Store,
    folder: str | Path,
    *,
    start: Any = None,
    end: Any = None,
    batches: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Write the store's current readings and activity rows as Parquet, for another engine.

    Rows are written in a fixed order (meter, interval start, batch, row), so the same store
    gives the same files. Readings keep their UTC instants (TIMESTAMPTZ) and DECIMAL amounts.

    Parameters
    ----------
    store : the store.
    folder : output folder; ``readings.parquet`` and ``activities.parquet`` go in it.
    start, end : optional local dates ``[start, end)`` to export (whole store when omitted).
    batches : export the current rows of these batches only (see
        :func:`carbon.store.current_relations`).

    Returns
    -------
    dict
        ``{"readings": path, "activities": path}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tz = store.timezone.replace("'", "")
    when_r, when_a = "", ""
    if start is not None and end is not None:
        when_r = (
            f"WHERE ts_start >= timezone('{tz}', CAST(DATE '{start}' AS TIMESTAMP)) "
            f"AND ts_start < timezone('{tz}', CAST(DATE '{end}' AS TIMESTAMP))"
        )
        when_a = f"WHERE period_start >= DATE '{start}' AND period_start < DATE '{end}'"
    out = {"readings": folder / "readings.parquet", "activities": folder / "activities.parquet"}
    current = current_relations(store.con, batches)
    queries = {
        "readings": f"SELECT * FROM {current['readings']} {when_r} "
        "ORDER BY meter_id, ts_start, revision, batch_id, row_number",
        "activities": f"SELECT * FROM {current['activities']} {when_a} "
        "ORDER BY node_id, activity, period_start, period_end, batch_id, row_number",
    }
    for rel, sql in queries.items():
        target = str(out[rel]).replace("'", "''")
        store.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    return out


def open_engine(
    engine: str,
    store: Store,
    *,
    master: str | None = None,
    readings: str | Sequence[str] | None = None,
    activities: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    spark_config: dict[str, str] | None = None,
    batches: Sequence[str] | None = None,
) -> contextlib.AbstractContextManager[Engine]:
    """An engine by name, closed (and its temporary exports removed) on exit.

    Spark without ``readings`` reads a temporary Parquet export of the store
    (:func:`export_inputs`); that only works where the executors see this machine's disk
    (``local[N]``). On a cluster give ``readings``/``activities`` on shared storage.
    """
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    return _opened(engine, store, master, readings, activities, start, end, spark_config, batches)


@contextlib.contextmanager
def _opened(
    engine: str,
    store: Store,
    master: str | None,
    readings: Any,
    activities: Any,
    start: Any,
    end: Any,
    spark_config: dict[str, str] | None,
    batches: Sequence[str] | None = None,
) -> Iterator[Engine]:
    tmp = None
    made: Engine | None = None
    try:
        if engine == "duckdb":
            made = DuckDBEngine(
                store.con, readings=readings, activities=activities, batches=batches
            )
        else:
            if readings is None and master is not None:
                _check_local(master)  # before starting a session on a cluster
            session = spark_session(master, spark_config)
            if readings is None:
                _check_local(session.sparkContext.master)
                tmp = Path(tempfile.mkdtemp(prefix="carbon-spark-"))
                files = export_inputs(store, tmp, start=start, end=end, batches=batches)
                readings, activities = str(files["readings"]), str(files["activities"])
            made = SparkEngine(
                session, readings=readings, activities=activities, exported=tmp is not None
            )
        yield made
    finally:
        if made is not None:
            made.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _check_local(master: str) -> None:
    if not master.startswith("local"):
        raise EngineError(
            f"on the cluster {master!r} the executors cannot read this machine's store; "
            "export it with carbon.engines.export_inputs to shared storage and give "
            "readings= and activities= (ledger config keys readings / activities)"
        )


def _paths(value: str | Path | Sequence[str | Path] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | Path):
        return [str(value)]
    return [str(v) for v in value]


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _describe_inputs(inputs: dict[str, list[str]]) -> dict[str, list[dict[str, str]]]:
    """Input paths with the SHA-256 of those that are local files (URLs stay as given)."""
    out: dict[str, list[dict[str, str]]] = {}
    for rel, paths in inputs.items():
        rows = []
        for p in paths:
            row = {"path": p}
            if Path(p).is_file():
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        h.update(chunk)
                row["sha256"] = h.hexdigest()
            rows.append(row)
        out[rel] = rows
    return out
