"""Tests of carbon.timezones and the integer time-zone SQL built on it.

The ledger and ingestion never convert a row's time zone one by one: they compare or shift
microsecond counts by offsets worked out in Python (carbon.timezones). Each SQL builder is
checked here against DuckDB's own ICU conversion, hour by hour through whole years, in zones
with and without summer time: Asia/Shanghai (none since 1991; summer time 1986-1991),
Europe/Berlin, America/New_York, Australia/Lord_Howe (a 30-minute change) and Asia/Kathmandu
(+05:45).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pytest

from carbon.engines import (
    DuckDBEngine,
    local_month_sql,
    local_time_sql,
    month_starts_sql,
    period_start_sql,
)
from carbon.ingest import _local_to_instant
from carbon.ledger import _month_starts
from carbon.store import Store
from carbon.timezones import EPOCH, micros, offset_span, utc_offsets

ZONES = [
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "UTC",
]
H = 3_600_000_000  # µs


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_utc_offsets_of_shanghai_and_berlin() -> None:
    # Shanghai: one offset, +08:00, for 2024.
    assert utc_offsets("Asia/Shanghai", utc(2024, 1, 1), utc(2025, 1, 1)) == [
        (micros(utc(2024, 1, 1)), 8 * H)
    ]
    # Berlin 2024: CEST from 2024-03-31 01:00 UTC to 2024-10-27 01:00 UTC (EU rule).
    assert utc_offsets("Europe/Berlin", utc(2024, 1, 1), utc(2025, 1, 1)) == [
        (micros(utc(2024, 1, 1)), 1 * H),
        (micros(utc(2024, 3, 31, 1)), 2 * H),
        (micros(utc(2024, 10, 27, 1)), 1 * H),
    ]
    # Shanghai kept summer time 1986-1991: six summers, twelve changes.
    assert len(utc_offsets("Asia/Shanghai", utc(1986, 1, 1), utc(1992, 1, 1))) == 13


def test_offset_span_is_the_piece_holding_mid_year() -> None:
    since, until, off = offset_span("Asia/Shanghai", 2026)
    assert off == 8 * H
    # No change since 1991: the whole search, 10 years back and 10 forward.
    assert (since, until) == (micros(utc(2016, 1, 1)), micros(utc(2036, 1, 1)))
    # Searched from 1991, the last summer time shows: it ended 1991-09-15 02:00 local
    # (+09:00) = 1991-09-14 17:00 UTC.
    assert offset_span("Asia/Shanghai", 2001)[0] == micros(utc(1991, 9, 14, 17))
    since, until, off = offset_span("Europe/Berlin", 2026)
    assert (since, until, off) == (micros(utc(2026, 3, 29, 1)), micros(utc(2026, 10, 25, 1)), 2 * H)
    assert micros(EPOCH) == 0


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    """A connection with the engine macros (ts_micros, micros_ts...), session zone UTC."""
    store = Store()
    DuckDBEngine(store.con)  # creates the temp macros the SQL names
    return store.con


def hours(con: duckdb.DuckDBPyConnection, first: dt.datetime, stop: dt.datetime) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _hours AS SELECT generate_series AS ts "
        "FROM generate_series(CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ) - INTERVAL 1 HOUR, "
        "INTERVAL 1 HOUR)",
        [first, stop],
    )


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("year", [1988, 2024])
def test_local_time_and_month_match_icu(con: duckdb.DuckDBPyConnection, tz: str, year: int) -> None:
    zone = ZoneInfo(tz)
    first = dt.datetime(year, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    stop = dt.datetime(year + 1, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    hours(con, first, stop)
    months = _month_starts(dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
    local = local_time_sql("ts", tz, first, stop)
    bucket = period_start_sql("ts", tz, months)
    named = month_starts_sql(local_month_sql("ts", tz, first, stop), months)
    icu_month = f"CAST(date_trunc('month', timezone('{tz}', ts)) AS DATE)"
    bad = con.execute(
        f"""SELECT count(*) FILTER (WHERE {local} <> timezone('{tz}', ts)),
                   count(*) FILTER (WHERE {bucket} <> {icu_month}),
                   count(*) FILTER (WHERE {named} IS DISTINCT FROM {icu_month}),
                   count(*)
            FROM _hours"""
    ).fetchall()[0]
    assert bad == (0, 0, 0, 8784 if year % 4 == 0 else 8760)


def test_month_numbers_name_at_most_twelve_months() -> None:
    months = _month_starts(dt.date(2024, 7, 1), dt.date(2025, 7, 1))
    sql = month_starts_sql("m", months)
    assert "WHEN 1 THEN DATE '2025-01-01'" in sql and "WHEN 7 THEN DATE '2024-07-01'" in sql
    with pytest.raises(ValueError, match="ambiguous over 13 months"):
        month_starts_sql("m", _month_starts(dt.date(2024, 1, 1), dt.date(2025, 2, 1)))


@pytest.mark.parametrize("tz", ZONES)
def test_naive_local_times_become_the_instants_icu_gives(
    con: duckdb.DuckDBPyConnection, tz: str
) -> None:
    # Every wall-clock hour (and half hour) from 1985 to 2027 in the zone: the fast
    # subtraction inside the zone's present span, ICU outside it, the same instants throughout
    # (also in the hours summer time skips or repeats, where ICU's choice stands).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _walls AS SELECT generate_series AS wall "
        "FROM generate_series(TIMESTAMP '1985-01-01', TIMESTAMP '2027-12-31', INTERVAL 30 MINUTE)"
    )
    instant = _local_to_instant("wall", tz)
    bad, n = con.execute(
        f"SELECT count(*) FILTER (WHERE {instant} IS DISTINCT FROM timezone('{tz}', wall)), "
        "count(*) FROM _walls"
    ).fetchall()[0]
    assert (bad, n) == (0, (dt.date(2027, 12, 31) - dt.date(1985, 1, 1)).days * 48 + 1)


def test_shanghai_naive_times_take_the_fast_path() -> None:
    since, until, _ = offset_span("Asia/Shanghai", dt.datetime.now(dt.UTC).year)
    sql = _local_to_instant("wall", "Asia/Shanghai")
    # 2024 lies inside the span: the instant is the wall clock minus 8 h, in integers.
    assert f"make_timestamptz(epoch_us(wall) - {8 * H})" in sql
    assert since < micros(utc(2024, 1, 1)) < until
