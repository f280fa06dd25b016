"""Tests of carbon.ingest: formats, quarantine of bad rows, the rules for rows that meet stored
rows, register deltas, activity files, atomic batches, completeness and gap filling.

Every input file is written by the test itself; every store is a real DuckDB file in tmp_path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import carbon.ingest as ingest_module
from carbon.errors import CarbonError
from carbon.ingest import REASONS, Batch, IngestError, Mapping, guess_mapping, load_mapping
from carbon.store import Store
from carbon.twin import Twin, load_twin

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""The present for every ingest here: rows after 2025-01-01 00:00 UTC are in the future."""

HEADER = "meter_id,timestamp,value,unit\n"


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


@pytest.fixture
def store(tmp_path: Path, twin: Twin) -> Any:
    with Store(tmp_path / "store.duckdb") as s:
        s.sync_twin(twin)
        yield s


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def rows(store: Store, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return store.con.execute(sql, params or []).fetchall()


def count(store: Store, table: str) -> int:
    return rows(store, f"SELECT count(*) FROM {table}")[0][0]


def counts(store: Store) -> dict[str, int]:
    tables = ("batches", "readings", "rejects", "register_reads", "meter_events", "activities")
    return {t: count(store, t) for t in tables}


def readings(store: Store, meter_id: str = "E-KAIDIKE") -> list[tuple[dt.datetime, Decimal]]:
    """(ts_start, amount) of the meter's current readings, in time order."""
    return rows(
        store,
        "SELECT ts_start, amount FROM current_readings WHERE meter_id = ? ORDER BY ts_start",
        [meter_id],
    )


def rejects(store: Store, batch: Batch) -> list[tuple[int, str, dict[str, Any], str]]:
    """(row number, reason, raw row, message) of the batch's rejected rows."""
    return [
        (r[0], r[1], json.loads(r[2]), r[3])
        for r in rows(
            store,
            "SELECT row_number, reason, raw, message FROM rejects WHERE batch_id = ? "
            "ORDER BY row_number",
            [batch.batch_id],
        )
    ]


_LANDS_IN = {
    "interval": "readings",
    "register": "register_reads",
    "events": "meter_events",
    "activity": "activities",
}


def ingest(store: Store, path: Path, mapping: Any = None, **kwargs: Any) -> Batch:
    """Ingest and check the batch's accounting three ways: the Batch, the batches row, rows."""
    kwargs.setdefault("now", NOW)
    batch = store.ingest(path, mapping, **kwargs)
    assert batch.read == batch.accepted + batch.rejected
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert batch.sha256 == sha
    # The id covers the file and the options, recorded as canonical JSON with their hash.
    assert batch.options_sha256 == hashlib.sha256(batch.options.encode()).hexdigest()
    # (A file ingested again after its batch of the same options was voided: the id follows
    # from the voided one.)
    voided = rows(
        store,
        "SELECT batch_id FROM batches WHERE options_sha256 = ? AND voided_at IS NOT NULL",
        [batch.options_sha256],
    )
    keys = [f"{sha}\n{batch.options}"] + [f"{sha}\n{batch.options}\n{v}" for (v,) in voided]
    assert batch.batch_id in {"b_" + hashlib.sha256(k.encode()).hexdigest()[:16] for k in keys}
    assert rows(
        store, "SELECT options, options_sha256 FROM batches WHERE batch_id = ?", [batch.batch_id]
    ) == [(batch.options, batch.options_sha256)]
    recorded = rows(
        store,
        "SELECT kind, sha256, rows_read, rows_accepted, rows_rejected FROM batches "
        "WHERE batch_id = ?",
        [batch.batch_id],
    )
    assert recorded == [(batch.kind, sha, batch.read, batch.accepted, batch.rejected)]
    stored_rejects = rows(
        store, "SELECT count(*) FROM rejects WHERE batch_id = ?", [batch.batch_id]
    )
    assert stored_rejects == [(batch.rejected,)]
    assert sum(n for _, n in batch.reasons) == batch.rejected
    landed = rows(
        store,
        f"SELECT count(*) FROM {_LANDS_IN[batch.kind]} WHERE batch_id = ?",
        [batch.batch_id],
    )
    assert landed == [(batch.accepted,)]
    return batch


# --- interval files: accounting and every reason code ---------------------------------------


def test_clean_interval_file(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "elec.csv",
        HEADER + "E-KAIDIKE,2024-01-01 00:00,1.5,kWh\nE-KAIDIKE,2024-01-01 01:00,2.25,kWh\n",
    )
    batch = ingest(store, path)
    assert (batch.kind, batch.read, batch.accepted, batch.rejected, batch.skipped) == (
        "interval",
        2,
        2,
        0,
        False,
    )
    assert batch.reasons == ()
    stored = rows(
        store,
        "SELECT meter_id, ts_start, ts_end, amount, quality, revision, batch_id, row_number "
        "FROM readings ORDER BY ts_start",
    )
    # 2024-01-01 00:00 in Asia/Shanghai (UTC+8) is 2023-12-31 16:00 UTC.
    assert stored == [
        (
            "E-KAIDIKE",
            utc(2023, 12, 31, 16),
            utc(2023, 12, 31, 17),
            Decimal("1.5"),
            "measured",
            0,
            batch.batch_id,
            1,
        ),
        (
            "E-KAIDIKE",
            utc(2023, 12, 31, 17),
            utc(2023, 12, 31, 18),
            Decimal("2.25"),
            "measured",
            0,
            batch.batch_id,
            2,
        ),
    ]
    (row,) = rows(
        store,
        "SELECT file_name, source_path, size_bytes, supersede, mapping FROM batches",
    )
    assert row[:4] == ("elec.csv", str(path.resolve()), path.stat().st_size, False)
    assert json.loads(row[4])["columns"] == {
        "meter_id": "meter_id",
        "timestamp": "timestamp",
        "value": "value",
        "unit": "unit",
    }
    assert store.batches().batch_id.tolist() == [batch.batch_id]
    assert store.readings("E-KAIDIKE").amount.tolist() == [1.5, 2.25]


GOOD = "E-KAIDIKE,2024-01-01 00:00,1.5,kWh"


@pytest.mark.parametrize(
    ("bad", "reason", "message"),
    [
        ("E-NOPE,2024-01-01 01:00,1.0,kWh", "unknown_meter", "meter E-NOPE is not in the twin"),
        ("E-KAIDIKE,2024-02-30 01:00,1.0,kWh", "bad_timestamp", "cannot parse time 2024-02-30"),
        ("E-KAIDIKE,yesterday,1.0,kWh", "bad_timestamp", "cannot parse time yesterday"),
        ("E-KAIDIKE,2024-01-01 01:00,1.2.3,kWh", "bad_number", "not a number: 1.2.3"),
        ("E-KAIDIKE,2024-01-01 01:00,lots,kWh", "bad_number", "not a number: lots"),
        ("E-KAIDIKE,2024-01-01 01:00,,kWh", "missing_field", "empty meter, time or value"),
        (",2024-01-01 01:00,1.0,kWh", "missing_field", "empty meter, time or value"),
        ("E-KAIDIKE,,1.0,kWh", "missing_field", "empty meter, time or value"),
        ("E-KAIDIKE,2024-01-01 01:00,-2.5,kWh", "negative_value", "negative value -2.5"),
        # 09:00 local on 2025-01-01 is 01:00 UTC, one hour after NOW.
        ("E-KAIDIKE,2025-01-01 09:00,1.0,kWh", "future_timestamp", "2025-01-01 09:00 is in the"),
        ("E-KAIDIKE,2024-01-01 01:00,1.0,furlong", "bad_unit", "unit furlong does not convert"),
        ("E-KAIDIKE,2024-01-01 01:00,1.0,m3", "bad_unit", "unit m3 does not convert to kWh"),
        ("E-KAIDIKE,2024-01-01 01:00,1.0,kg", "bad_unit", "unit kg does not convert to kWh"),
    ],
)
def test_each_bad_row_is_quarantined(
    store: Store, tmp_path: Path, bad: str, reason: str, message: str
) -> None:
    path = write(tmp_path, "elec.csv", HEADER + GOOD + "\n" + bad + "\n")
    batch = ingest(store, path)
    assert (batch.read, batch.accepted, batch.rejected) == (2, 1, 1)
    assert batch.reasons == ((reason, 1),)
    assert reason in REASONS
    raw = dict(zip(HEADER.strip().split(","), [v or None for v in bad.split(",")], strict=True))
    ((row_number, got_reason, got_raw, got_message),) = rejects(store, batch)
    assert (row_number, got_reason, got_raw) == (2, reason, raw)
    assert message in got_message
    assert readings(store) == [(utc(2023, 12, 31, 16), Decimal("1.5"))]


def test_now_is_not_the_future(store: Store, tmp_path: Path) -> None:
    # 08:00 local on 2025-01-01 is exactly NOW (00:00 UTC): accepted; one minute later is not.
    path = write(
        tmp_path,
        "edge.csv",
        HEADER + "E-KAIDIKE,2025-01-01 08:00,1,kWh\nE-KAIDIKE,2025-01-01 08:01,1,kWh\n",
    )
    batch = ingest(store, path)
    assert batch.reasons == (("future_timestamp", 1),)
    assert [r[:2] for r in rejects(store, batch)] == [(2, "future_timestamp")]
    assert readings(store) == [(NOW, Decimal("1"))]


def test_every_reason_of_one_file_lands_on_its_row(store: Store, tmp_path: Path) -> None:
    lines = [
        "E-KAIDIKE,2024-01-01 00:00,1.5,kWh",  # 1 accepted
        "E-NOPE,2024-01-01 00:00,1.0,kWh",  # 2 unknown_meter
        "E-KAIDIKE,not a date,1.0,kWh",  # 3 bad_timestamp
        "E-KAIDIKE,2024-01-01 01:00,x,kWh",  # 4 bad_number
        "E-KAIDIKE,2024-01-01 02:00,,kWh",  # 5 missing_field
        "E-KAIDIKE,2024-01-01 03:00,-1,kWh",  # 6 negative_value
        "E-KAIDIKE,2024-01-01 04:00,3,kWh",  # 7 accepted (first of exact repeats)
        "E-KAIDIKE,2024-01-01 04:00,3,kWh",  # 8 duplicate_row
        "E-KAIDIKE,2024-01-01 05:00,4,kWh",  # 9 conflicting_duplicate
        "E-KAIDIKE,2024-01-01 05:00,5,kWh",  # 10 conflicting_duplicate
        "E-KAIDIKE,2026-01-01 00:00,1,kWh",  # 11 future_timestamp
        "E-KAIDIKE,2024-01-01 06:00,1,furlong",  # 12 bad_unit (unknown unit)
        "E-KAIDIKE,2024-01-01 07:00,1,m3",  # 13 bad_unit (wrong dimension)
        "E-KAIDIKE,2024-01-01 08:00,2,kWh",  # 14 accepted
    ]
    batch = ingest(store, write(tmp_path, "mixed.csv", HEADER + "\n".join(lines) + "\n"))
    assert (batch.read, batch.accepted, batch.rejected) == (14, 3, 11)
    assert dict(batch.reasons) == {
        "unknown_meter": 1,
        "bad_timestamp": 1,
        "bad_number": 1,
        "missing_field": 1,
        "negative_value": 1,
        "duplicate_row": 1,
        "conflicting_duplicate": 2,
        "future_timestamp": 1,
        "bad_unit": 2,
    }
    got = rejects(store, batch)
    assert [(r[0], r[1]) for r in got] == [
        (2, "unknown_meter"),
        (3, "bad_timestamp"),
        (4, "bad_number"),
        (5, "missing_field"),
        (6, "negative_value"),
        (8, "duplicate_row"),
        (9, "conflicting_duplicate"),
        (10, "conflicting_duplicate"),
        (11, "future_timestamp"),
        (12, "bad_unit"),
        (13, "bad_unit"),
    ]
    # The raw row is the original text of that line.
    for row_number, _, raw, _ in got:
        original = lines[row_number - 1].split(",")
        assert list(raw.values()) == [v or None for v in original]
    by_row = {r[0]: r[3] for r in got}
    assert by_row[8] == "repeats row 7"
    assert by_row[9] == by_row[10] == "the file holds 2 different values for this key"
    # The first of the exact repeats is kept: the stored 04:00 reading comes from row 7.
    stored = rows(store, "SELECT row_number, amount FROM readings ORDER BY ts_start")
    assert stored == [(1, Decimal("1.5")), (7, Decimal("3")), (14, Decimal("2"))]
    assert count(store, "rejects") == 11


def test_a_conflicting_value_rejects_its_exact_repeats_too(store: Store, tmp_path: Path) -> None:
    lines = [
        "E-KAIDIKE,2024-01-01 00:00,4,kWh",
        "E-KAIDIKE,2024-01-01 00:00,4,kWh",
        "E-KAIDIKE,2024-01-01 00:00,5,kWh",
    ]
    batch = ingest(store, write(tmp_path, "c.csv", HEADER + "\n".join(lines) + "\n"))
    assert batch.reasons == (("conflicting_duplicate", 3),)
    assert readings(store) == []


def _hourly(values: list[str], meter_id: str = "E-KAIDIKE") -> str:
    start = dt.datetime(2024, 1, 1)
    return HEADER + "".join(
        f"{meter_id},{start + dt.timedelta(hours=i):%Y-%m-%d %H:%M},{v},kWh\n"
        for i, v in enumerate(values)
    )


def test_spike_among_normal_rows(store: Store, tmp_path: Path) -> None:
    normal = ["2.0", "2.2", "1.8", "2.1", "1.9", "2.0"] * 4  # 24 rows, median 2.0
    values = [*normal[:10], "200", "38", *normal[10:]]  # 100x and 19x the median
    batch = ingest(store, write(tmp_path, "spike.csv", _hourly(values)))
    assert (batch.read, batch.accepted, batch.rejected) == (26, 25, 1)
    ((row_number, reason, raw, message),) = rejects(store, batch)
    assert (row_number, reason, raw["value"]) == (11, "spike", "200")
    assert "over 20 x the batch median 2" in message
    assert Decimal("38") in [a for _, a in readings(store)]  # 19x the median stays


def test_spike_check_needs_24_rows_and_can_be_disabled(store: Store, tmp_path: Path) -> None:
    few = ["2.0"] * 22 + ["200"]  # 23 positive rows: too few for a median to judge by
    assert ingest(store, write(tmp_path, "few.csv", _hourly(few))).rejected == 0
    many = ["2.0"] * 30 + ["200"]
    off = ingest(
        store,
        write(tmp_path, "off.csv", _hourly(many, "E-JIAFA")),
        {"kind": "interval", "spike_factor": None},
    )
    assert off.rejected == 0
    assert max(a for _, a in readings(store, "E-JIAFA")) == Decimal("200")


# --- formats --------------------------------------------------------------------------------

CHINESE = (
    "表号,时间,用电量,单位\n"
    'E-KAIDIKE,2024年3月1日 08:00,"1,234.5",kWh\n'
    "E-KAIDIKE,2024年3月1日 09:00,１２３,度\n"
    'E-KAIDIKE,2024-03-01 10:00,"１２，３４５．６",千瓦时\n'
    "E-KAIDIKE,2024/03/01 11:00,０．５,MWh\n"
)
CHINESE_READINGS = [
    (utc(2024, 3, 1, 0), Decimal("1234.5")),
    (utc(2024, 3, 1, 1), Decimal("123")),
    (utc(2024, 3, 1, 2), Decimal("12345.6")),
    (utc(2024, 3, 1, 3), Decimal("500")),
]


def test_chinese_headers_numbers_and_dates(store: Store, tmp_path: Path) -> None:
    batch = ingest(store, write(tmp_path, "zh.csv", CHINESE))
    assert (batch.read, batch.accepted) == (4, 4)
    assert readings(store) == CHINESE_READINGS
    (mapping,) = rows(store, "SELECT mapping FROM batches")
    record = json.loads(mapping[0])
    assert record["columns"] == {
        "meter_id": "表号",
        "timestamp": "时间",
        "value": "用电量",
        "unit": "单位",
    }
    assert record["encoding"] == "utf-8"


def test_gbk_file_is_detected(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "zh-gbk.csv", CHINESE, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    batch = ingest(store, path)
    assert (batch.read, batch.accepted) == (4, 4)
    assert readings(store) == CHINESE_READINGS
    (mapping,) = rows(store, "SELECT mapping FROM batches")
    assert json.loads(mapping[0])["encoding"] == "gb18030"
    # Chinese text in a rejected row survives the round trip.
    bad = write(tmp_path, "bad-gbk.csv", "表号,时间,用电量\n电表甲,2024-03-01 12:00,1\n", "gbk")
    rejected = ingest(store, bad, {"kind": "interval", "encoding": "gbk"})
    assert [r[1:3] for r in rejects(store, rejected)] == [
        ("unknown_meter", {"表号": "电表甲", "时间": "2024-03-01 12:00", "用电量": "1"})
    ]


def test_wrong_encoding_raises(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "zh.csv", CHINESE, encoding="gb18030")
    with pytest.raises(IngestError, match=r"zh\.csv: cannot decode as ascii"):
        store.ingest(path, {"kind": "interval", "encoding": "ascii"}, now=NOW)
    assert counts(store)["batches"] == 0


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "meter_id": ["E-KAIDIKE", "E-KAIDIKE", "E-JIAFA", "E-JIAFA"],
            "timestamp": [
                "2024-01-01 00:00",
                "2024-01-01 01:00",
                "2024-01-01 00:00",
                "2024-06-30 23:00",
            ],
            "value": ["1.5", "0.25", "12", "7.125"],
            "unit": ["kWh", "kWh", "kWh", "MWh"],
        }
    )


def _stored_all(path: Path, twin: Twin, source: Path, mapping: Any = None) -> list[Any]:
    with Store(path) as s:
        s.sync_twin(twin)
        batch = ingest(s, source, mapping)
        assert (batch.read, batch.rejected) == (4, 0)
        return rows(s, "SELECT meter_id, ts_start, ts_end, amount FROM readings ORDER BY ALL")


def test_parquet_and_excel_give_the_csv_readings(tmp_path: Path, twin: Twin) -> None:
    frame = _frame()
    frame.to_csv(tmp_path / "in.csv", index=False)
    expected = _stored_all(tmp_path / "csv.duckdb", twin, tmp_path / "in.csv")
    assert expected == [
        ("E-JIAFA", utc(2023, 12, 31, 16), utc(2023, 12, 31, 17), Decimal("12")),
        ("E-JIAFA", utc(2024, 6, 30, 15), utc(2024, 6, 30, 16), Decimal("7125")),
        ("E-KAIDIKE", utc(2023, 12, 31, 16), utc(2023, 12, 31, 17), Decimal("1.5")),
        ("E-KAIDIKE", utc(2023, 12, 31, 17), utc(2023, 12, 31, 18), Decimal("0.25")),
    ]
    # Parquet with text columns, and with typed columns (naive and zone-aware timestamps).
    frame.to_parquet(tmp_path / "text.parquet")
    typed = frame.assign(timestamp=pd.to_datetime(frame.timestamp), value=frame.value.astype(float))
    typed.to_parquet(tmp_path / "typed.parquet")
    aware = typed.assign(timestamp=typed.timestamp.dt.tz_localize("Asia/Shanghai"))
    aware.to_parquet(tmp_path / "aware.parquet")
    # Excel with text cells and with typed cells, on a sheet with a Chinese name.
    frame.to_excel(tmp_path / "text.xlsx", index=False)
    typed.to_excel(tmp_path / "typed.xlsx", index=False, sheet_name="读数")
    for name, mapping in [
        ("text.parquet", None),
        ("typed.parquet", None),
        ("aware.parquet", None),
        ("text.xlsx", None),
        ("typed.xlsx", {"kind": "interval", "sheet": "读数"}),
    ]:
        got = _stored_all(tmp_path / f"{name}.duckdb", twin, tmp_path / name, mapping)
        assert got == expected, name


def test_explicit_offsets_and_naive_local_times(store: Store, tmp_path: Path) -> None:
    text = HEADER + "".join(
        f"E-KAIDIKE,{ts},1,kWh\n"
        for ts in [
            "2024-01-01 00:00",  # naive: Asia/Shanghai local time
            "2024-01-01T01:00:00+08:00",
            "2023-12-31T18:00:00Z",
            "2024-01-01 03:00:00+0800",
            "2024-01-01T06:00:00-05:00",
        ]
    )
    batch = ingest(store, write(tmp_path, "tz.csv", text))
    assert batch.rejected == 0
    assert [ts for ts, _ in readings(store)] == [
        utc(2023, 12, 31, 16),  # hand check: 00:00 at UTC+8 is 16:00 UTC the day before
        utc(2023, 12, 31, 17),
        utc(2023, 12, 31, 18),
        utc(2023, 12, 31, 19),
        utc(2024, 1, 1, 11),
    ]


def test_mapping_timezone_overrides_the_store(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "utc.csv", HEADER + "E-KAIDIKE,2024-01-01 00:00,1,kWh\n")
    ingest(store, path, {"kind": "interval", "timezone": "UTC"})
    assert readings(store) == [(utc(2024, 1, 1, 0), Decimal("1"))]


def test_tab_separated_file(store: Store, tmp_path: Path) -> None:
    text = "meter_id\ttimestamp\tvalue\nE-KAIDIKE\t2024-01-01 00:00\t1,234.5\n"
    batch = ingest(store, write(tmp_path, "elec.tsv", text))
    assert batch.accepted == 1
    assert readings(store) == [(utc(2023, 12, 31, 16), Decimal("1234.5"))]


# --- units ----------------------------------------------------------------------------------


def test_unit_column_converts_exactly_to_kwh(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real = ingest_module.conversion_factor

    def counting(from_unit: str, to_unit: str) -> float:
        calls.append((from_unit, to_unit))
        return real(from_unit, to_unit)

    monkeypatch.setattr(ingest_module, "conversion_factor", counting)
    units = ["kWh", "MWh", "万kWh", "度"]
    values = ["1.5", "0.5", "0.0002", "7"]
    lines = [
        f"E-KAIDIKE,2024-01-{day:02d} {hour:02d}:00,{values[i]},{units[i]}"
        for day in range(1, 6)
        for hour in range(24)
        for i in [hour % 4]
    ]
    path = write(tmp_path, "units.csv", HEADER + "\n".join(lines) + "\n")
    # 500 kWh among 1.5 kWh readings would be a spike: the check is off for this file.
    batch = ingest(store, path, {"kind": "interval", "spike_factor": None})
    assert (batch.read, batch.accepted) == (120, 120)
    # One conversion per unit the rows carry, as the registry spells it (度 is kWh), and the
    # canonical unit of their meter, never one per row (120 rows here).
    assert sorted(calls) == [("MWh", "kWh"), ("kWh", "kWh"), ("万kWh", "kWh")]
    amounts = [str(a) for _, a in readings(store)[:4]]
    # 0.5 MWh = 500 kWh; 0.0002 万kWh = 2 kWh; 1 度 = 1 kWh.
    assert amounts == ["1.500000", "500.000000", "2.000000", "7.000000"]


def test_fixed_unit_of_the_mapping(store: Store, tmp_path: Path) -> None:
    text = "meter_id,timestamp,value\nE-KAIDIKE,2024-01-01 00:00,0.25\n"
    ingest(store, write(tmp_path, "mwh.csv", text), {"kind": "interval", "unit": "MWh"})
    assert [str(a) for _, a in readings(store)] == ["250.000000"]
    wrong = write(tmp_path, "water.csv", "meter_id,read_at,reading\nW-KAIDIKE,2024-01-01,5\n")
    batch = ingest(store, wrong, {"kind": "register", "unit": "kWh"})
    assert [r[1] for r in rejects(store, batch)] == ["bad_unit"]
    assert "unit kWh does not convert to m3" in rejects(store, batch)[0][3]


def test_default_unit_is_the_meters(store: Store, tmp_path: Path) -> None:
    text = "meter_id,timestamp,value\nE-KAIDIKE,2024-01-01 00:00,3\n"
    ingest(store, write(tmp_path, "nounit.csv", text))
    assert readings(store) == [(utc(2023, 12, 31, 16), Decimal("3"))]
    reg = "meter_id,read_at,reading\nW-KAIDIKE,2024-01-01,5\nW-KAIDIKE,2024-02-01,7.5\n"
    ingest(store, write(tmp_path, "reg.csv", reg))
    assert readings(store, "W-KAIDIKE") == [(utc(2023, 12, 31, 16), Decimal("2.5"))]  # m3


# --- mappings -------------------------------------------------------------------------------

ODD = "MID;WHEN;KWH_VAL\nE-KAIDIKE;2024-01-01 00:00;4.5\n"
ODD_COLUMNS = {"meter_id": "MID", "timestamp": "WHEN", "value": "KWH_VAL"}


def test_mapping_by_dict(store: Store, tmp_path: Path) -> None:
    mapping = {"kind": "interval", "columns": ODD_COLUMNS, "delimiter": ";"}
    ingest(store, write(tmp_path, "odd.csv", ODD), mapping)
    assert readings(store) == [(utc(2023, 12, 31, 16), Decimal("4.5"))]


def test_mapping_by_object(store: Store, tmp_path: Path) -> None:
    mapping = Mapping(kind="interval", columns=ODD_COLUMNS, delimiter=";", unit="MWh")
    ingest(store, write(tmp_path, "odd.csv", ODD), mapping)
    assert readings(store) == [(utc(2023, 12, 31, 16), Decimal("4500"))]


def test_mapping_by_toml_file(store: Store, tmp_path: Path) -> None:
    toml = write(
        tmp_path,
        "odd.toml",
        textwrap.dedent(
            """\
            [mapping]
            kind = "interval"
            delimiter = ";"
            unit = "万kWh"

            [mapping.columns]
            meter_id = "MID"
            timestamp = "WHEN"
            value = "KWH_VAL"
            """
        ),
    )
    assert load_mapping(toml) == Mapping(
        kind="interval", columns=ODD_COLUMNS, delimiter=";", unit="万kWh"
    )
    ingest(store, write(tmp_path, "odd.csv", ODD), toml)
    assert readings(store) == [(utc(2023, 12, 31, 16), Decimal("45000"))]


def test_bad_mappings_raise(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"mapping: field 'kind': Input should be 'interval'"):
        load_mapping({"kind": "hourly"})
    with pytest.raises(IngestError, match=r"mapping: field 'colums': Extra inputs"):
        load_mapping({"kind": "interval", "colums": {}})
    broken = write(tmp_path, "broken.toml", "[mapping\nkind = 1\n")
    with pytest.raises(IngestError, match=r"Cannot read mapping .*broken\.toml"):
        load_mapping(broken)
    with pytest.raises(IngestError, match=r"Cannot read mapping .*absent\.toml"):
        load_mapping(tmp_path / "absent.toml")
    assert issubclass(IngestError, CarbonError) and issubclass(IngestError, ValueError)


def test_missing_column_raises_and_stores_nothing(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path, "ok.csv", HEADER + GOOD + "\n"))
    before = counts(store)
    path = write(tmp_path, "nots.csv", "meter_id,foo,value\nE-KAIDIKE,x,1\n")
    with pytest.raises(
        IngestError,
        match=r"Cannot tell the columns \['timestamp'\] among headers "
        r"\['meter_id', 'foo', 'value'\]",
    ):
        store.ingest(path, now=NOW)
    assert counts(store) == before
    mapping = {"kind": "interval", "columns": {"timestamp": "WHEN", "value": "value"}}
    with pytest.raises(
        IngestError,
        match=r"names columns \['WHEN'\] not in the file; the file's headers are "
        r"\['meter_id', 'foo', 'value'\]",
    ):
        store.ingest(path, mapping, now=NOW)
    assert counts(store) == before
    # The file was not recorded: once fixed (same name, new content) it ingests.
    path.write_text(HEADER + "E-KAIDIKE,2024-01-01 01:00,2,kWh\n")
    assert ingest(store, path).accepted == 1


def test_partial_mapping_names_what_cannot_be_guessed(store: Store, tmp_path: Path) -> None:
    # '采集时刻' is no known synonym: the mapping names it and the other columns are guessed
    # (this raised "Cannot tell the columns ['timestamp']" before the fix in ingest.py).
    path = write(tmp_path, "odd.csv", "表号,采集时刻,用电量\nE-KAIDIKE,2024-01-01 00:00,2\n")
    batch = ingest(store, path, {"kind": "interval", "columns": {"timestamp": "采集时刻"}})
    assert batch.accepted == 1
    (mapping,) = rows(store, "SELECT mapping FROM batches")
    assert json.loads(mapping[0])["columns"] == {
        "meter_id": "表号",
        "timestamp": "采集时刻",
        "value": "用电量",
    }
    reg = write(tmp_path, "reg.csv", "表号,抄表日期,本月示数\nW-KAIDIKE,2024-01-01,3\n")
    register = {"kind": "register", "columns": {"reading": "本月示数"}}
    assert ingest(store, reg, register).accepted == 1


def test_unsupported_or_missing_file_raises(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "elec.json", '{"meter_id": "E-KAIDIKE"}')
    with pytest.raises(IngestError, match=r"elec\.json: unsupported file type '\.json'"):
        store.ingest(path, now=NOW)
    with pytest.raises(IngestError, match=r"absent\.csv: no such file"):
        store.ingest(tmp_path / "absent.csv", now=NOW)
    corrupt = write(tmp_path, "corrupt.parquet", "not parquet at all")
    with pytest.raises(IngestError, match=r"corrupt\.parquet: cannot read"):
        store.ingest(corrupt, now=NOW)
    assert counts(store) == dict.fromkeys(counts(store), 0)


@pytest.mark.parametrize(
    ("headers", "kind", "columns"),
    [
        (
            ["Meter ID", "Timestamp", "kWh"],
            "interval",
            {"meter_id": "Meter ID", "timestamp": "Timestamp", "value": "kWh"},
        ),
        (
            ["表号", "时间", "用电量", "单位"],
            "interval",
            {"meter_id": "表号", "timestamp": "时间", "value": "用电量", "unit": "单位"},
        ),
        (
            ["meter_id", "read_date", "reading", "unit"],
            "register",
            {
                "meter_id": "meter_id",
                "timestamp": "read_date",
                "reading": "reading",
                "unit": "unit",
            },
        ),
        (
            ["水表号", "抄表日期", "表底数"],
            "register",
            {"meter_id": "水表号", "timestamp": "抄表日期", "reading": "表底数"},
        ),
        (
            ["meter_id", "date", "event", "old_final_reading", "new_initial_reading"],
            "events",
            {
                "meter_id": "meter_id",
                "timestamp": "date",
                "event": "event",
                "old_final": "old_final_reading",
                "new_initial": "new_initial_reading",
            },
        ),
        (
            ["node_id", "activity", "period_start", "period_end", "amount", "unit"],
            "activity",
            {
                "node_id": "node_id",
                "activity": "activity",
                "period_start": "period_start",
                "period_end": "period_end",
                "amount": "amount",
                "unit": "unit",
            },
        ),
    ],
)
def test_guess_mapping(headers: list[str], kind: str, columns: dict[str, str]) -> None:
    guessed = guess_mapping(headers)
    assert (guessed.kind, guessed.columns) == (kind, columns)


def test_guess_mapping_fails_listing_the_headers() -> None:
    with pytest.raises(
        IngestError,
        match=r"Cannot tell the columns \['meter_id', 'timestamp', 'value'\] among headers "
        r"\['名称', 'foo'\]",
    ):
        guess_mapping(["名称", "foo"])


# --- idempotency and rows already stored ------------------------------------------------------


def test_same_file_twice_is_a_no_op(store: Store, tmp_path: Path) -> None:
    text = HEADER + GOOD + "\nE-NOPE,2024-01-01 00:00,1,kWh\n"
    path = write(tmp_path, "elec.csv", text)
    first = ingest(store, path)
    before = counts(store)
    stages: list[tuple[str, int, int]] = []
    again = store.ingest(path, now=NOW, progress=lambda *a: stages.append(a))
    assert again.skipped is True
    assert (again.batch_id, again.read, again.accepted, again.rejected, again.reasons) == (
        first.batch_id,
        2,
        1,
        1,
        (("unknown_meter", 1),),
    )
    assert stages == [("hash", 1, 5)]
    assert counts(store) == before
    # The same bytes under another name are the same file.
    copy = write(tmp_path, "copy-of-elec.csv", text)
    third = store.ingest(copy, now=NOW)
    assert third.skipped is True
    assert (third.batch_id, third.file) == (first.batch_id, str(copy))
    assert counts(store) == before
    assert rows(store, "SELECT file_name FROM batches") == [("elec.csv",)]


def test_progress_reports_every_stage(store: Store, tmp_path: Path) -> None:
    stages: list[tuple[str, int, int]] = []
    path = write(tmp_path, "elec.csv", HEADER + GOOD + "\n")
    store.ingest(path, now=NOW, progress=lambda *a: stages.append(a))
    assert stages == [
        ("hash", 1, 5),
        ("read", 2, 5),
        ("parse", 3, 5),
        ("validate", 4, 5),
        ("store", 5, 5),
    ]


def test_rows_already_stored_from_another_file(store: Store, tmp_path: Path) -> None:
    first = ingest(
        store,
        write(tmp_path, "a.csv", HEADER + GOOD + "\nE-KAIDIKE,2024-01-01 01:00,2,kWh\n"),
    )
    second = ingest(
        store,
        write(
            tmp_path,
            "b.csv",
            HEADER
            + "E-KAIDIKE,2024-01-01 00:00,1500,Wh\n"  # the same 1.5 kWh: already stored
            + "E-KAIDIKE,2024-01-01 01:00,2.5,kWh\n"  # another value: the first stands
            + "E-KAIDIKE,2024-01-01 02:00,3,kWh\n",  # new
        ),
    )
    assert (second.read, second.accepted, second.rejected) == (3, 1, 2)
    got = rejects(store, second)
    assert [r[:2] for r in got] == [(1, "already_stored"), (2, "conflicts_with_stored")]
    assert got[0][3] == f"same value stored by batch {first.batch_id}"
    assert got[1][3] == (
        f"batch {first.batch_id} stored 2.000000; ingest with supersede=True to correct it"
    )
    assert readings(store) == [
        (utc(2023, 12, 31, 16), Decimal("1.5")),
        (utc(2023, 12, 31, 17), Decimal("2")),
        (utc(2023, 12, 31, 18), Decimal("3")),
    ]


def test_supersede_adds_a_revision(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path, "a.csv", HEADER + GOOD + "\nE-KAIDIKE,2024-01-01 01:00,2,kWh\n"))
    fix = write(
        tmp_path,
        "fix.csv",
        HEADER + GOOD + "\nE-KAIDIKE,2024-01-01 01:00,2.5,kWh\n",
    )
    corrected = ingest(store, fix, supersede=True)
    # The unchanged row is still 'already stored'; the corrected one becomes revision 1.
    assert corrected.reasons == (("already_stored", 1),)
    assert rows(
        store, "SELECT supersede FROM batches WHERE batch_id = ?", [corrected.batch_id]
    ) == [(True,)]
    history = rows(
        store,
        "SELECT ts_start, amount, revision FROM readings ORDER BY ts_start, revision",
    )
    assert history == [
        (utc(2023, 12, 31, 16), Decimal("1.5"), 0),
        (utc(2023, 12, 31, 17), Decimal("2"), 0),  # kept: the store is append-only
        (utc(2023, 12, 31, 17), Decimal("2.5"), 1),
    ]
    assert readings(store) == [
        (utc(2023, 12, 31, 16), Decimal("1.5")),
        (utc(2023, 12, 31, 17), Decimal("2.5")),
    ]
    again = ingest(
        store,
        write(tmp_path, "fix2.csv", HEADER + "E-KAIDIKE,2024-01-01 01:00,2.75,kWh\n"),
        supersede=True,
    )
    assert again.accepted == 1
    assert rows(store, "SELECT max(revision) FROM readings") == [(2,)]
    assert readings(store)[1] == (utc(2023, 12, 31, 17), Decimal("2.75"))


# --- register files -------------------------------------------------------------------------

REG = "meter_id,read_at,reading\n"


def _reads(pairs: list[tuple[str, str]], meter_id: str = "W-KAIDIKE") -> str:
    return REG + "".join(f"{meter_id},{day},{value}\n" for day, value in pairs)


def month_start(year: int, month: int) -> dt.datetime:
    """Local midnight of the month's first day (UTC+8), in UTC."""
    return dt.datetime(year, month, 1, tzinfo=dt.UTC) - dt.timedelta(hours=8)


def deltas(store: Store, meter_id: str = "W-KAIDIKE") -> list[tuple[dt.datetime, Any, Any]]:
    return rows(
        store,
        "SELECT ts_start, ts_end, amount FROM current_readings WHERE meter_id = ? "
        "ORDER BY ts_start",
        [meter_id],
    )


def test_register_deltas(store: Store, tmp_path: Path) -> None:
    text = _reads(
        [
            ("2024-01-01", "1000"),
            ("2024-02-01", "1012.5"),
            ("2024-03-01", "1030"),
            ("2024-04-01", "1030"),
        ]
    )
    batch = ingest(store, write(tmp_path, "w1.csv", text))
    assert (batch.kind, batch.read, batch.accepted) == ("register", 4, 4)
    # Hand-computed: 1012.5 - 1000 = 12.5; 1030 - 1012.5 = 17.5; 1030 - 1030 = 0.
    assert deltas(store) == [
        (month_start(2024, 1), month_start(2024, 2), Decimal("12.5")),
        (month_start(2024, 2), month_start(2024, 3), Decimal("17.5")),
        (month_start(2024, 3), month_start(2024, 4), Decimal("0")),
    ]
    assert count(store, "register_reads") == 4
    # The next file's first delta starts from the stored last read (1030 on 1 April).
    nxt = ingest(store, write(tmp_path, "w2.csv", _reads([("2024-05-01", "1041.25")])))
    assert nxt.accepted == 1
    assert deltas(store)[-1] == (month_start(2024, 4), month_start(2024, 5), Decimal("11.25"))


def test_register_rollover(store: Store, tmp_path: Path) -> None:
    text = _reads([("2024-01-01", "99950"), ("2024-02-01", "99990"), ("2024-03-01", "30")])
    batch = ingest(store, write(tmp_path, "roll.csv", text))
    assert batch.rejected == 0
    # 99990 - 99950 = 40; the 5-digit register wraps: (100000 - 99990) + 30 = 40.
    assert [d[2] for d in deltas(store)] == [Decimal("40"), Decimal("40")]


def test_meter_replacement(store: Store, tmp_path: Path) -> None:
    events = write(
        tmp_path,
        "events.csv",
        "meter_id,date,event,old_final_reading,new_initial_reading\n"
        "W-KAIDIKE,2024-02-15,replacement,1020,5\n"
        "W-KAIDIKE,2024-01-20,inspection,,\n"
        "W-KAIDIKE,2024-02-16,replacement,1020,\n"
        "W-NOPE,2024-02-15,replacement,1,2\n",
    )
    ev = ingest(store, events)
    assert (ev.kind, ev.read, ev.accepted) == ("events", 4, 2)
    assert [r[:2] for r in rejects(store, ev)] == [(3, "bad_number"), (4, "unknown_meter")]
    assert rows(
        store,
        "SELECT meter_id, event_at, event, old_final, new_initial "
        "FROM meter_events ORDER BY event_at",
    ) == [
        ("W-KAIDIKE", utc(2024, 1, 19, 16), "inspection", None, None),
        ("W-KAIDIKE", utc(2024, 2, 14, 16), "replacement", Decimal("1020"), Decimal("5")),
    ]
    text = _reads([("2024-01-01", "1000"), ("2024-03-01", "12"), ("2024-04-01", "20")])
    batch = ingest(store, write(tmp_path, "reads.csv", text))
    assert batch.rejected == 0
    # Across the replacement: (1020 - 1000) on the old meter + (12 - 5) on the new = 27.
    assert [d[2] for d in deltas(store)] == [Decimal("27"), Decimal("8")]


def test_negative_delta_is_rejected_and_skipped(store: Store, tmp_path: Path) -> None:
    text = _reads(
        [("2024-01-01", "100"), ("2024-02-01", "120"), ("2024-03-01", "90"), ("2024-04-01", "130")]
    )
    batch = ingest(store, write(tmp_path, "neg.csv", text))
    got = rejects(store, batch)
    assert [r[:2] for r in got] == [(3, "negative_delta")]
    assert got[0][2] == {"meter_id": "W-KAIDIKE", "read_at": "2024-03-01", "reading": "90"}
    assert "reading 90.000000 is below the previous 120" in got[0][3]
    # 130 is measured from the last good read, 120 on 1 February, not from 90.
    assert deltas(store) == [
        (month_start(2024, 1), month_start(2024, 2), Decimal("20")),
        (month_start(2024, 2), month_start(2024, 4), Decimal("10")),
    ]
    assert [r[0] for r in rows(store, "SELECT reading FROM register_reads ORDER BY read_at")] == [
        Decimal("100"),
        Decimal("120"),
        Decimal("130"),
    ]


def test_several_negative_deltas_in_a_row(store: Store, tmp_path: Path) -> None:
    # 200, 250 and 260 are all below the good read 300 (the old two-pass rule let 260 in,
    # measured from the rejected 250); 320 is measured from 300.
    text = _reads(
        [
            ("2024-01-01", "100"),
            ("2024-02-01", "300"),
            ("2024-03-01", "200"),
            ("2024-04-01", "250"),
            ("2024-05-01", "260"),
            ("2024-06-01", "320"),
        ]
    )
    batch = ingest(store, write(tmp_path, "neg.csv", text))
    assert [r[:2] for r in rejects(store, batch)] == [
        (3, "negative_delta"),
        (4, "negative_delta"),
        (5, "negative_delta"),
    ]
    assert deltas(store) == [
        (month_start(2024, 1), month_start(2024, 2), Decimal("200")),
        (month_start(2024, 2), month_start(2024, 6), Decimal("20")),
    ]


def test_reads_before_the_stored_ones(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path, "w1.csv", _reads([("2024-01-01", "10"), ("2024-03-01", "30")])))
    late = ingest(
        store,
        write(
            tmp_path,
            "late.csv",
            _reads([("2024-02-01", "20"), ("2024-03-01", "30"), ("2024-04-01", "45")]),
        ),
    )
    got = rejects(store, late)
    assert [r[:2] for r in got] == [(1, "before_stored_reads"), (2, "already_stored")]
    assert "has a stored read at 2024-02-29 16:00:00+00" in got[0][3]
    # 30 -> 45: the stored 1 March read is the base.
    assert [d[2] for d in deltas(store)] == [Decimal("20"), Decimal("15")]
    # Another value at the time of the last stored read cannot replace it.
    other = ingest(store, write(tmp_path, "other.csv", _reads([("2024-04-01 00:00", "46")])))
    assert [r[:2] for r in rejects(store, other)] == [(1, "before_stored_reads")]
    assert [d[2] for d in deltas(store)] == [Decimal("20"), Decimal("15")]


# --- activity files -------------------------------------------------------------------------

ACT = "node_id,activity,period_start,period_end,amount,unit\n"


def test_activity_file(store: Store, tmp_path: Path) -> None:
    lines = [
        "shimen_erlu,waste.msw.incineration,2024-01-01,2024-02-01,12.5,吨",  # 1
        'shimen_erlu,waste.msw.landfill,2024-01-01,2024-02-01,"3,400",kg',  # 2: 3.4 t
        "nowhere,waste.msw.landfill,2024-01-01,2024-02-01,1,t",  # 3 unknown_node
        "shimen_erlu,waste.unsorted,2024-01-01,2024-02-01,1,t",  # 4 unknown_activity
        "shimen_erlu,waste.msw.landfill,2024-03-01,2024-02-01,1,t",  # 5 bad_period
        "shimen_erlu,waste.msw.landfill,2024-02-01,2024-02-01,1,t",  # 6 bad_period (empty)
        "shimen_erlu,waste.msw.landfill,2024-04-01,2024-05-01,1,kWh",  # 7 bad_unit
        "shimen_erlu,waste.msw.landfill,2024年5月1日,2024-06-01,,t",  # 8 missing_field
        "shimen_erlu,waste.msw.landfill,2024-06-01,soon,1,t",  # 9 bad_timestamp
        "kaidike,electricity.green_certificate,2024-01-01,2025-01-01,1.2,MWh",  # 10
        "shimen_erlu,waste.msw.landfill,2024年7月1日,2024年8月1日,２,t",  # 11
    ]
    batch = ingest(store, write(tmp_path, "waste.csv", ACT + "\n".join(lines) + "\n"))
    assert (batch.kind, batch.read, batch.accepted, batch.rejected) == ("activity", 11, 4, 7)
    got = rejects(store, batch)
    assert [r[:2] for r in got] == [
        (3, "unknown_node"),
        (4, "unknown_activity"),
        (5, "bad_period"),
        (6, "bad_period"),
        (7, "bad_unit"),
        (8, "missing_field"),
        (9, "bad_timestamp"),
    ]
    assert got[0][3] == "node nowhere is not in the twin"
    assert got[1][3] == "activity waste.unsorted is not in the catalogue"
    assert got[2][3] == "period end 2024-02-01 is not after its start 2024-03-01"
    assert got[4][3] == "unit kWh does not convert to t"
    assert got[0][2]["node_id"] == "nowhere"
    stored = rows(
        store,
        "SELECT node_id, activity, period_start, period_end, amount, quality, revision, "
        "row_number FROM current_activities ORDER BY row_number",
    )
    assert stored == [
        (
            "shimen_erlu",
            "waste.msw.incineration",
            dt.date(2024, 1, 1),
            dt.date(2024, 2, 1),
            Decimal("12.5"),
            "measured",
            0,
            1,
        ),
        (
            "shimen_erlu",
            "waste.msw.landfill",
            dt.date(2024, 1, 1),
            dt.date(2024, 2, 1),
            Decimal("3.4"),
            "measured",
            0,
            2,
        ),
        (
            "kaidike",
            "electricity.green_certificate",
            dt.date(2024, 1, 1),
            dt.date(2025, 1, 1),
            Decimal("1200"),
            "measured",
            0,
            10,
        ),
        (
            "shimen_erlu",
            "waste.msw.landfill",
            dt.date(2024, 7, 1),
            dt.date(2024, 8, 1),
            Decimal("2"),
            "measured",
            0,
            11,
        ),
    ]


def test_activity_rows_meet_stored_rows(store: Store, tmp_path: Path) -> None:
    row = "shimen_erlu,waste.msw.landfill,2024-01-01,2024-02-01,{},t\n"
    first = ingest(store, write(tmp_path, "a.csv", ACT + row.format("3")))
    same = ingest(store, write(tmp_path, "b.csv", ACT + row.format("3000").replace(",t", ",kg")))
    assert [r[1] for r in rejects(store, same)] == ["already_stored"]
    other = ingest(store, write(tmp_path, "c.csv", ACT + row.format("4")))
    assert [r[1] for r in rejects(store, other)] == ["conflicts_with_stored"]
    fix = ingest(store, write(tmp_path, "d.csv", ACT + row.format("4.5")), supersede=True)
    assert fix.accepted == 1
    assert rows(store, "SELECT amount, revision, batch_id FROM activities ORDER BY revision") == [
        (Decimal("3"), 0, first.batch_id),
        (Decimal("4.5"), 1, fix.batch_id),
    ]
    assert rows(store, "SELECT amount FROM current_activities") == [(Decimal("4.5"),)]


# --- atomic batches ---------------------------------------------------------------------------


def _failing_files(tmp_path: Path) -> dict[str, Path]:
    return {
        "interval": write(tmp_path, "e.csv", HEADER + GOOD + "\nE-NOPE,2024-01-01 00:00,1,kWh\n"),
        "register": write(tmp_path, "w.csv", _reads([("2024-01-01", "1"), ("2024-02-01", "2")])),
        "activity": write(
            tmp_path, "a.csv", ACT + "shimen_erlu,waste.msw.landfill,2024-01-01,2024-02-01,1,t\n"
        ),
    }


@pytest.mark.parametrize("kind", ["interval", "register", "activity"])
def test_a_batch_failing_after_its_inserts_changes_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    ingest(store, write(tmp_path, "before.csv", HEADER + "E-JIAFA,2024-01-01 00:00,1,kWh\n"))
    before = counts(store)
    path = _failing_files(tmp_path)[kind]
    # The rejects are written last, after the accepted rows were inserted.
    monkeypatch.setattr(
        ingest_module, "_reject_sql", lambda headers: "INSERT INTO no_such_table SELECT ?"
    )
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        store.ingest(path, now=NOW)
    assert counts(store) == before
    monkeypatch.undo()
    # The store is usable and the file was not recorded: it ingests now.
    batch = ingest(store, path)
    assert batch.skipped is False
    assert counts(store)["batches"] == before["batches"] + 1


def test_a_batch_failing_midway_changes_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(store, write(tmp_path, "before.csv", HEADER + GOOD + "\n"))
    before = counts(store)

    def boom(*args: Any) -> None:
        raise RuntimeError("boom in the middle of the batch")

    monkeypatch.setattr(ingest_module, "_stored_span", boom)
    path = write(tmp_path, "e.csv", HEADER + "E-KAIDIKE,2024-01-01 01:00,2,kWh\n")
    with pytest.raises(RuntimeError, match="boom in the middle"):
        store.ingest(path, now=NOW)
    assert counts(store) == before
    monkeypatch.undo()
    assert ingest(store, path).accepted == 1
    assert len(readings(store)) == 2


def test_sigkill_mid_ingest_leaves_no_partial_batch(tmp_path: Path, twin: Twin) -> None:
    t0 = time.perf_counter()
    db = tmp_path / "store.duckdb"
    with Store(db) as s:
        s.sync_twin(twin)
        small = ingest(s, write(tmp_path, "small.csv", HEADER + GOOD + "\n"))
    # A large valid file: every hourly meter of the twin (66), every hour of January to June
    # 2024 (182 days): 288,288 rows, several DuckDB row groups.
    n_hours = 182 * 24
    ids = sorted(m.id for m in twin.meters.values() if m.interval == "1h")
    hours = [
        f"{dt.datetime(2024, 1, 1) + dt.timedelta(hours=h):%Y-%m-%d %H:%M}" for h in range(n_hours)
    ]
    values = [f"{1 + (h % 17) / 8:.3f}" for h in range(n_hours)]
    big = tmp_path / "big.csv"
    with open(big, "w") as fh:
        fh.write("meter_id,timestamp,value\n")
        for meter_id in ids:
            fh.writelines(f"{meter_id},{t},{v}\n" for t, v in zip(hours, values, strict=True))
    n_rows = len(ids) * n_hours
    assert n_rows == 288_288
    t_generated = time.perf_counter()
    marker, done = tmp_path / "read.marker", tmp_path / "done.marker"
    script = textwrap.dedent(
        f"""
        import datetime as dt, pathlib
        from carbon.store import Store

        def progress(stage, done, total):
            if stage == "read":
                pathlib.Path({str(marker)!r}).write_text("read")

        store = Store({str(db)!r})
        store.ingest({str(big)!r}, now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
                     progress=progress)
        pathlib.Path({str(done)!r}).write_text("done")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the ingest process ended before reading the file"
            assert time.monotonic() < deadline, "the ingest process never read the file"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    t_killed = time.perf_counter()
    assert not done.exists()  # killed inside the ingest, before it returned
    with Store(db) as s:
        assert s.schema_version == 3
        # Only the earlier batch: nothing of the killed one survived.
        assert rows(s, "SELECT batch_id FROM batches") == [(small.batch_id,)]
        assert counts(s) == {
            "batches": 1,
            "readings": 1,
            "rejects": 0,
            "register_reads": 0,
            "meter_events": 0,
            "activities": 0,
        }
        for table in ("readings", "rejects"):
            orphans = rows(
                s, f"SELECT count(*) FROM {table} t ANTI JOIN batches b USING (batch_id)"
            )
            assert orphans == [(0,)], table
        # A rerun completes.
        batch = ingest(s, big)
        assert batch.skipped is False
        assert batch.read == n_rows == batch.accepted + batch.rejected
        # The only reject: E-KAIDIKE at 2024-01-01 00:00, 1.5 kWh stored by the earlier batch.
        assert batch.reasons == (("conflicts_with_stored", 1),)
        assert count(s, "readings") == n_rows
        dupes = rows(
            s,
            "SELECT count(*) FROM (SELECT meter_id, ts_start, revision FROM readings "
            "GROUP BY ALL HAVING count(*) > 1)",
        )
        assert dupes == [(0,)]
    t_end = time.perf_counter()
    print(
        f"\nSIGKILL test: {n_rows} rows; generate {t_generated - t0:.2f} s, "
        f"start+kill {t_killed - t_generated:.2f} s, reopen+rerun {t_end - t_killed:.2f} s"
    )


# --- completeness and gap filling -------------------------------------------------------------


def _month_file(meter_id: str, skip_day: int = 0, skip: tuple[int, int] = (0, 0)) -> str:
    """Hourly rows for January 2024 (local): weekdays d + h/100, weekends 100 + d + h/100.

    ``skip_day`` leaves a whole day out, ``skip`` one (day, hour).
    """
    lines = []
    for day in range(1, 32):
        if day == skip_day:
            continue
        weekend = dt.date(2024, 1, day).isoweekday() >= 6
        for hour in range(24):
            if (day, hour) == skip:
                continue
            value = (100 if weekend else 0) + day + hour / 100
            lines.append(f"{meter_id},2024-01-{day:02d} {hour:02d}:00,{value:.2f},kWh\n")
    return HEADER + "".join(lines)


def _completeness(
    store: Store, meter_id: str, start: str = "2024-01-01", end: str = "2024-03-01"
) -> list[tuple[Any, ...]]:
    frame = store.completeness(start, end)
    frame = frame[frame.meter_id == meter_id]
    return [
        (pd.Timestamp(r.month).date(), r.expected, r.present, r.estimated, r.completeness)
        for r in frame.itertuples()
    ]


def test_completeness(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path, "full.csv", _month_file("E-KAIDIKE")))
    ingest(store, write(tmp_path, "gap.csv", _month_file("E-JIAFA", skip_day=10)))
    ingest(
        store,
        write(
            tmp_path,
            "water.csv",
            _reads([("2024-01-01", "5"), ("2024-02-01", "9"), ("2024-03-01", "12")]),
        ),
    )
    jan, feb = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
    # January has 31 x 24 = 744 hours; February 2024 has 29 x 24 = 696.
    assert _completeness(store, "E-KAIDIKE") == [(jan, 744, 744, 0, 1.0), (feb, 696, 0, 0, 0.0)]
    assert _completeness(store, "E-JIAFA") == [
        (jan, 744, 720, 0, 720 / 744),
        (feb, 696, 0, 0, 0.0),
    ]
    # A monthly register meter expects one delta per month.
    assert _completeness(store, "W-KAIDIKE") == [(jan, 1, 1, 0, 1.0), (feb, 1, 1, 0, 1.0)]
    assert len(store.completeness("2024-01-01", "2024-03-01")) == 136 * 2


def test_fill_gaps(store: Store, tmp_path: Path) -> None:
    ingest(store, write(tmp_path, "kai.csv", _month_file("E-KAIDIKE", skip_day=10, skip=(13, 3))))
    ingest(store, write(tmp_path, "jiafa.csv", _month_file("E-JIAFA", skip_day=11)))
    before = count(store, "readings")
    batch = store.fill_gaps("2024-01-01", "2024-03-01", meter_ids=["E-KAIDIKE"])
    # Wednesday 10 January (24 h) and Saturday 13 January 03:00 are missing; February has no
    # basis at all and stays missing.
    assert (batch.kind, batch.read, batch.accepted, batch.rejected, batch.skipped) == (
        "estimate",
        25,
        25,
        0,
        False,
    )
    assert batch.batch_id.startswith("e_")
    estimates = rows(
        store,
        "SELECT ts_start, ts_end, amount, quality, revision FROM readings "
        "WHERE batch_id = ? ORDER BY ts_start",
        [batch.batch_id],
    )
    assert len(estimates) == 25
    assert {e[3] for e in estimates} == {"estimated"}
    assert all(e[1] - e[0] == dt.timedelta(hours=1) and e[4] == 0 for e in estimates)
    by_start = {e[0]: e[2] for e in estimates}
    # Hand check, weekday hours: the other 22 weekdays of January 2024 (days 1..31 less the
    # 8 weekend days 6, 7, 13, 14, 20, 21, 27, 28 and less day 10) sum to 496 - 136 - 10 = 350,
    # so hour h of 10 January is 350 / 22 + h / 100 = 15.909091 + h / 100.
    assert by_start[utc(2024, 1, 9, 16)] == Decimal("15.909091")  # 10 Jan 00:00 local
    assert by_start[utc(2024, 1, 10, 1)] == Decimal("15.999091")  # 10 Jan 09:00 local
    # Weekend hour: the other 7 weekend days sum to 136 - 13 = 123, so 13 January 03:00 is
    # 100 + 123 / 7 + 0.03 = 117.601429 (weekday readings are not in the basis).
    assert by_start[utc(2024, 1, 12, 19)] == Decimal("117.601429")
    assert count(store, "readings") == before + 25
    assert _completeness(store, "E-KAIDIKE") == [
        (dt.date(2024, 1, 1), 744, 744, 25, 1.0),
        (dt.date(2024, 2, 1), 696, 0, 0, 0.0),
    ]
    assert _completeness(store, "E-JIAFA")[0][2] == 720  # not among meter_ids: untouched
    n_batches = count(store, "batches")
    # Running it again adds nothing, not even an empty batch.
    again = store.fill_gaps("2024-01-01", "2024-03-01", meter_ids=["E-KAIDIKE"])
    assert (again.batch_id, again.skipped, again.accepted) == (batch.batch_id, True, 25)
    assert count(store, "readings") == before + 25
    assert count(store, "batches") == n_batches
    # Without meter_ids every hourly meter is filled: E-JIAFA's day 11 now, E-KAIDIKE nothing.
    every = store.fill_gaps("2024-01-01", "2024-02-01")
    assert every.accepted == 24
    assert rows(
        store, "SELECT DISTINCT meter_id FROM readings WHERE batch_id = ?", [every.batch_id]
    ) == [("E-JIAFA",)]
    # The store stays usable after a skipped fill (DuckDB 2 and unfinished results).
    assert store.fill_gaps("2024-01-01", "2024-02-01").skipped is True
    assert store.sync_twin(load_twin("shimen_erlu")) == 136


# --- corrections: batch identity by file and options, supersede, void, workbooks -------------

PLAIN = "meter_id,timestamp,value\n"
"""An interval file without a unit column: the mapping's unit applies to every value."""


def _unit(unit: str) -> dict[str, Any]:
    return {"kind": "interval", "unit": unit}


def _current_amounts(store: Store) -> list[tuple[str, dt.datetime, Decimal, str]]:
    return rows(
        store,
        "SELECT meter_id, ts_start, amount, batch_id FROM current_readings ORDER BY ALL",
    )


def _plain_file(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "elec.csv",
        PLAIN + "E-KAIDIKE,2024-01-01 00:00,0.75\nE-KAIDIKE,2024-01-01 01:00,2.5\n",
    )


def test_same_file_same_options_is_skipped_other_options_are_a_new_batch(
    store: Store, tmp_path: Path
) -> None:
    path = _plain_file(tmp_path)
    first = ingest(store, path, _unit("kWh"))
    before = counts(store)
    stages: list[tuple[str, int, int]] = []
    again = store.ingest(path, _unit("kWh"), now=NOW, progress=lambda *a: stages.append(a))
    assert (again.skipped, again.batch_id, again.options) == (True, first.batch_id, first.options)
    assert stages == [("hash", 1, 5)]  # the options as asked match: the file is not read
    # The same options spelled out (the guessed columns named) are the same options: the file
    # is read to resolve them, then skipped.
    spelled = {**_unit("kWh"), "columns": {"meter_id": "meter_id", "timestamp": "timestamp"}}
    stages.clear()
    same = store.ingest(path, spelled, now=NOW, progress=lambda *a: stages.append(a))
    assert (same.skipped, same.batch_id) == (True, first.batch_id)
    assert stages == [("hash", 1, 5), ("read", 2, 5)]
    assert counts(store) == before
    # Another unit is another batch of the same file (its rows meet the stored ones).
    other = ingest(store, path, _unit("Wh"))
    assert other.batch_id != first.batch_id and other.sha256 == first.sha256
    assert json.loads(other.options)["unit"] == "Wh"
    assert json.loads(first.options) == {
        "kind": "interval",
        "columns": {"meter_id": "meter_id", "timestamp": "timestamp", "value": "value"},
        "unit": "kWh",
        "interval": None,
        "timezone": "Asia/Shanghai",
        "encoding": "utf-8",
        "delimiter": ",",
        "spike_factor": 20.0,
        "supersede": False,
    }
    assert other.reasons == (("conflicts_with_stored", 2),)
    # The supersede flag is an option too.
    flagged = ingest(store, path, _unit("kWh"), supersede=True)
    assert flagged.batch_id not in (first.batch_id, other.batch_id)
    assert flagged.reasons == (("already_stored", 2),)
    assert store.batches().sha256.tolist() == [first.sha256] * 3


def test_corrected_unit_supersedes_the_wrong_batch(store: Store, tmp_path: Path) -> None:
    path = _plain_file(tmp_path)
    wrong = ingest(store, path, _unit("MWh"))
    # Hand-computed: 0.75 MWh = 750 kWh, 2.5 MWh = 2500 kWh.
    assert [r[2] for r in _current_amounts(store)] == [Decimal("750"), Decimal("2500")]
    fixed = ingest(store, path, _unit("kWh"), supersedes=wrong.batch_id, reason="unit was kWh")
    assert fixed.batch_id != wrong.batch_id
    assert (fixed.read, fixed.accepted, fixed.rejected, fixed.supersedes) == (
        2,
        2,
        0,
        wrong.batch_id,
    )
    assert _current_amounts(store) == [
        ("E-KAIDIKE", utc(2023, 12, 31, 16), Decimal("0.75"), fixed.batch_id),
        ("E-KAIDIKE", utc(2023, 12, 31, 17), Decimal("2.5"), fixed.batch_id),
    ]
    # The wrong batch is voided, by the new one, with the reason; its rows are all kept.
    table = store.batches().set_index("batch_id")
    old = table.loc[wrong.batch_id]
    assert (bool(old.voided), old.voided_by, old.void_reason) == (
        True,
        fixed.batch_id,
        "unit was kWh",
    )
    assert old.voided_at is not None
    assert bool(table.loc[fixed.batch_id].voided) is False
    assert table.loc[fixed.batch_id].supersedes == wrong.batch_id
    assert rows(
        store,
        "SELECT amount, revision FROM readings WHERE batch_id = ? ORDER BY 1",
        [wrong.batch_id],
    ) == [(Decimal("750"), -1), (Decimal("2500"), -1)]
    # A re-run of the correction is skipped; the wrong options again are a voided batch's, so
    # they make a new batch (whose rows meet the current, corrected ones).
    rerun = store.ingest(path, _unit("kWh"), supersedes=wrong.batch_id, now=NOW)
    assert (rerun.skipped, rerun.batch_id) == (True, fixed.batch_id)
    with pytest.raises(IngestError, match=f"batch {wrong.batch_id} is already voided"):
        store.ingest(path, _unit("MWh"), supersedes=wrong.batch_id, now=NOW)
    # The default reason names the new batch.
    second = write(tmp_path, "other.csv", PLAIN + "E-JIAFA,2024-01-01 00:00,4\n")
    w2 = ingest(store, second, _unit("MWh"))
    f2 = ingest(store, second, _unit("kWh"), supersedes=w2.batch_id)
    assert store.batches().set_index("batch_id").loc[w2.batch_id].void_reason == (
        f"superseded by {f2.batch_id} (other.csv)"
    )


def test_a_failed_correction_leaves_the_old_batch_current(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _plain_file(tmp_path)
    wrong = ingest(store, path, _unit("MWh"))
    before, current = counts(store), _current_amounts(store)
    batches_before = store.batches()
    monkeypatch.setattr(
        ingest_module, "_reject_sql", lambda headers: "INSERT INTO no_such_table SELECT ?"
    )
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        store.ingest(path, _unit("kWh"), supersedes=wrong.batch_id, now=NOW)
    monkeypatch.undo()
    assert counts(store) == before
    assert _current_amounts(store) == current
    pd.testing.assert_frame_equal(store.batches(), batches_before)
    # A correction that accepts no row is refused too: the old batch stays current.
    bad = write(tmp_path, "bad.csv", PLAIN + "E-NOPE,2024-01-01 00:00,1\n")
    with pytest.raises(IngestError, match=r"accepts no row \(1 rejected: unknown_meter 1\)"):
        store.ingest(bad, _unit("kWh"), supersedes=wrong.batch_id, now=NOW)
    # So is a correction of an unknown batch, before the file is read.
    with pytest.raises(IngestError, match="no batch 'b_nope' in the store"):
        store.ingest(path, _unit("kWh"), supersedes="b_nope", now=NOW)
    assert counts(store) == before
    assert _current_amounts(store) == current
    # It still works afterwards.
    fixed = ingest(store, path, _unit("kWh"), supersedes=wrong.batch_id)
    assert [r[2:] for r in _current_amounts(store)] == [
        (Decimal("0.75"), fixed.batch_id),
        (Decimal("2.5"), fixed.batch_id),
    ]


def test_a_correction_cannot_supersede_when_its_batch_is_already_current(
    store: Store, tmp_path: Path
) -> None:
    a = ingest(
        store, write(tmp_path, "a.csv", PLAIN + "E-JIAFA,2024-01-01 00:00,4\n"), _unit("kWh")
    )
    path = _plain_file(tmp_path)
    b = ingest(store, path, _unit("kWh"))
    with pytest.raises(IngestError, match=f"ingested before with these options as {b.batch_id}"):
        store.ingest(path, _unit("kWh"), supersedes=a.batch_id, now=NOW)
    assert not store.batches().voided.any()


def test_void_by_api(store: Store, tmp_path: Path) -> None:
    first = ingest(
        store, write(tmp_path, "a.csv", HEADER + GOOD + "\nE-KAIDIKE,2024-01-01 01:00,2,kWh\n")
    )
    fix = ingest(
        store,
        write(tmp_path, "fix.csv", HEADER + "E-KAIDIKE,2024-01-01 01:00,2.5,kWh\n"),
        supersede=True,
    )
    assert [r[2] for r in _current_amounts(store)] == [Decimal("1.5"), Decimal("2.5")]
    before = counts(store)
    at = utc(2024, 12, 1, 9)
    voided = store.void(fix.batch_id, "meter read twice", now=at)
    assert (voided.batch_id, voided.voided_at, voided.voided_by, voided.void_reason) == (
        fix.batch_id,
        at,
        None,
        "meter read twice",
    )
    assert voided.voided
    # Nothing deleted; the revision 0 value of the first batch is current again.
    assert counts(store) == before
    assert _current_amounts(store) == [
        ("E-KAIDIKE", utc(2023, 12, 31, 16), Decimal("1.5"), first.batch_id),
        ("E-KAIDIKE", utc(2023, 12, 31, 17), Decimal("2"), first.batch_id),
    ]
    assert rows(store, "SELECT revision FROM readings WHERE batch_id = ?", [fix.batch_id]) == [
        (-2,)
    ]
    row = store.batches().set_index("batch_id").loc[fix.batch_id]
    assert (bool(row.voided), row.void_reason) == (True, "meter read twice")
    assert row.voided_by is None or pd.isna(row.voided_by)
    with pytest.raises(IngestError, match=f"batch {fix.batch_id} is already voided"):
        store.void(fix.batch_id, "again")
    with pytest.raises(IngestError, match="no batch 'b_0000000000000000' in the store"):
        store.void("b_0000000000000000", "typo")
    with pytest.raises(IngestError, match="needs a reason"):
        store.void(first.batch_id, "  ")
    assert counts(store) == before
    # The voided file ingested again with its options lands as a new batch.
    again = ingest(store, Path(tmp_path / "fix.csv"), supersede=True)
    assert again.skipped is False and again.batch_id != fix.batch_id
    assert _current_amounts(store)[1][2:] == (Decimal("2.5"), again.batch_id)


def test_void_activity_and_register_batches(store: Store, tmp_path: Path) -> None:
    act = ingest(
        store,
        write(
            tmp_path,
            "waste.csv",
            ACT + "shimen_erlu,waste.msw.landfill,2024-01-01,2024-02-01,3,t\n",
        ),
    )
    assert count(store, "current_activities") == 1
    store.void(act.batch_id, "wrong tonnage")
    assert count(store, "current_activities") == 0
    fixed = ingest(
        store,
        write(
            tmp_path,
            "waste2.csv",
            ACT + "shimen_erlu,waste.msw.landfill,2024-01-01,2024-02-01,4,t\n",
        ),
    )
    assert fixed.accepted == 1  # the voided row does not stand first
    assert rows(store, "SELECT amount, revision FROM current_activities") == [(Decimal("4"), 0)]
    # Registers: the corrected reads replace the wrong ones (not 'before_stored_reads').
    wrong = ingest(
        store, write(tmp_path, "w.csv", _reads([("2024-01-01", "100"), ("2024-02-01", "110")]))
    )
    right = ingest(
        store,
        write(tmp_path, "w2.csv", _reads([("2024-01-01", "100"), ("2024-02-01", "112")])),
        supersedes=wrong.batch_id,
    )
    assert right.accepted == 2
    assert deltas(store) == [(month_start(2024, 1), month_start(2024, 2), Decimal("12"))]
    assert count(store, "current_register_reads") == 2 and count(store, "register_reads") == 4


def test_void_by_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from carbon.cli import app

    runner = CliRunner()
    db = tmp_path / "s.duckdb"
    path = _plain_file(tmp_path)
    mapping = write(tmp_path, "m.toml", '[mapping]\nkind = "interval"\nunit = "MWh"\n')
    result = runner.invoke(app, ["ingest", str(db), str(path), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    with Store(db) as s:
        (batch_id,) = s.batches().batch_id.tolist()
    assert batch_id in result.output
    # The reason is required.
    result = runner.invoke(app, ["ingest", str(db), "--void", batch_id])
    assert result.exit_code == 2
    assert f"--void {batch_id} needs --reason" in result.output
    result = runner.invoke(app, ["ingest", str(db), "--void", batch_id, "--reason", "unit was kWh"])
    assert result.exit_code == 0, result.output
    assert f"voided {batch_id} (elec.csv): unit was kWh" in result.output
    for unknown in (batch_id, "b_nope"):  # already voided, unknown: one line, exit 2
        result = runner.invoke(app, ["ingest", str(db), "--void", unknown, "--reason", "x"])
        assert result.exit_code == 2
        # One message (rich wraps it at the terminal's width), no traceback.
        assert result.output.startswith("error: ") and result.output.count("error:") == 1
        assert "Traceback" not in result.output
    with Store(db) as s:
        row = s.batches().iloc[0]
        assert (bool(row.voided), row.void_reason) == (True, "unit was kWh")
        assert count(s, "current_readings") == 0 and count(s, "readings") == 2
    # A correction on the command line.
    fixed = write(tmp_path, "m2.toml", '[mapping]\nkind = "interval"\nunit = "kWh"\n')
    result = runner.invoke(
        app, ["ingest", str(db), str(path), "--mapping", str(fixed), "--supersedes", "b_nope"]
    )
    assert result.exit_code == 2 and "no batch 'b_nope'" in result.output


def _workbook(path: Path, sheets: dict[str, list[tuple[str, str, str]]]) -> Path:
    with pd.ExcelWriter(path) as xl:
        for name, data in sheets.items():
            frame = pd.DataFrame(data, columns=["meter_id", "timestamp", "value"])
            frame.to_excel(xl, sheet_name=name, index=False)
    return path


def test_workbook_with_several_sheets(store: Store, tmp_path: Path) -> None:
    book = _workbook(
        tmp_path / "book.xlsx",
        {
            "一月": [("E-KAIDIKE", "2024-01-01 00:00", "1.5")],
            "二月": [("E-KAIDIKE", "2024-02-01 00:00", "2"), ("E-JIAFA", "2024-02-01 00:00", "3")],
        },
    )
    before = counts(store)
    with pytest.raises(IngestError, match=r"the workbook has 2 sheets \['一月', '二月'\]; choose"):
        store.ingest(book, now=NOW)
    with pytest.raises(
        IngestError, match=r"no sheet '三月'; the workbook's sheets are \['一月', '二月'\]"
    ):
        store.ingest(book, sheet="三月", now=NOW)
    assert counts(store) == before
    both = store.ingest(book, sheet="*", now=NOW)
    assert [(b.sheet, b.read, b.accepted, b.skipped) for b in both] == [
        ("一月", 1, 1, False),
        ("二月", 2, 2, False),
    ]
    assert both[0].batch_id != both[1].batch_id and both[0].sha256 == both[1].sha256
    assert [json.loads(b.options)["sheet"] for b in both] == ["一月", "二月"]
    assert [
        json.loads(m)["sheet"]
        for (m,) in rows(store, "SELECT mapping FROM batches ORDER BY started_at")
    ] == ["一月", "二月"]
    assert count(store, "current_readings") == 3
    # One sheet by name (argument or mapping) or by index is the same batch: seen before.
    assert store.ingest(book, sheet="二月", now=NOW).batch_id == both[1].batch_id
    assert store.ingest(book, sheet=1, now=NOW).skipped is True
    by_mapping = store.ingest(book, {"kind": "interval", "sheet": "一月"}, now=NOW)
    assert (by_mapping.skipped, by_mapping.batch_id) == (True, both[0].batch_id)
    assert [b.skipped for b in store.ingest(book, sheet="*", now=NOW)] == [True, True]
    with pytest.raises(IngestError, match="not a mapping field"):
        store.ingest(book, {"kind": "interval", "sheet": "*"}, now=NOW)


def test_migration_of_a_v1_store_keeps_batch_ids(tmp_path: Path, twin: Twin) -> None:
    from carbon.store import _MIGRATIONS

    db = tmp_path / "v1.duckdb"
    path = write(tmp_path, "elec.csv", HEADER + GOOD + "\n")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    old_id = "b_" + sha[:16]
    # A store as carbon-twin wrote it before schema v2: the v1 DDL, one batch keyed by SHA-256.
    con = duckdb.connect(str(db))
    version, _, ddl = _MIGRATIONS[0]
    assert version == 1
    for sql in ddl:
        con.execute(sql)
    con.execute("INSERT INTO store_meta VALUES ('schema_version', '1')")
    v1_mapping = {
        "kind": "interval",
        "columns": {
            "meter_id": "meter_id",
            "timestamp": "timestamp",
            "value": "value",
            "unit": "unit",
        },
        "unit": None,
        "interval": None,
        "timezone": "Asia/Shanghai",
        "encoding": "utf-8",
        "spike_factor": 20.0,
    }
    con.execute(
        "INSERT INTO batches VALUES (?, 'interval', 'elec.csv', ?, ?, ?, 1, 1, 0, "
        "'2024-12-01 00:00+00', '2024-12-01 00:00+00', ?, false, '0.1.0')",
        [
            old_id,
            str(path.resolve()),
            sha,
            path.stat().st_size,
            json.dumps(v1_mapping, sort_keys=True),
        ],
    )
    con.execute(
        "INSERT INTO readings VALUES ('E-KAIDIKE', '2023-12-31 16:00+00', '2023-12-31 17:00+00', "
        "1.5, 'measured', 0, ?, 1)",
        [old_id],
    )
    con.close()
    with Store(db) as s:
        assert s.schema_version == 3
        (row,) = s.batches().itertuples()
        assert (row.batch_id, row.sha256, bool(row.voided)) == (old_id, sha, False)
        assert json.loads(row.options) == {**v1_mapping, "delimiter": ",", "supersede": False}
        assert row.options_sha256 == hashlib.sha256(row.options.encode()).hexdigest()
        assert readings(s) == [(utc(2023, 12, 31, 16), Decimal("1.5"))]
        s.sync_twin(twin)
        # The same file with the same options is still seen before, under its old id.
        again = s.ingest(path, now=NOW)
        assert (again.skipped, again.batch_id) == (True, old_id)
        # Other options: a new batch, with an id of the new kind; the old one can be voided.
        other = ingest(s, path, {"kind": "interval", "timezone": "UTC"}, supersedes=old_id)
        assert other.batch_id != old_id
        assert readings(s) == [(utc(2024, 1, 1, 0), Decimal("1.5"))]
        assert s.batches().set_index("batch_id").loc[old_id].voided_by == other.batch_id
    with Store(db) as s:
        assert s.schema_version == 3
