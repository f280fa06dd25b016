"""The collector (carbon.collect): HTTP pushes, MQTT, the drop folder, other writers.

Everything runs for real: a DuckDB file, the collector's HTTP server on a loopback port, a
Mosquitto broker started by the test, the ``carbon`` CLI through typer's CliRunner. The kill -9
tests are in test_collect_faults.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from collect_helpers import (
    TOKENS,
    push,
    start_mosquitto,
    write_gateways,
    write_meter_twin,
)
from typer.testing import CliRunner

from carbon.cli import app
from carbon.collect import (
    ROUTES,
    CollectError,
    Collector,
    GatewayFileError,
    MessageError,
    changes_since,
    load_gateways,
    lock_path,
    parse_body,
    push_batch_id,
    running_collector,
    token_sha256,
)
from carbon.errors import CarbonError
from carbon.ingest import RowsMessage, ingest_messages
from carbon.store import Store
from carbon.twin import Twin, load_twin

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
"""The collector's clock in these tests: 2024-06-01 12:00 in Shanghai (04:00 UTC)."""
JUNE = dt.date(2024, 6, 1)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Twin:
    folder = tmp_path_factory.mktemp("twin")
    meters = {
        "M1": ("interval", "15min"),
        "M2": ("interval", "15min"),
        "M3": ("interval", "1h"),
        "R1": ("register", "1mo"),
    }
    return load_twin(write_meter_twin(folder, meters))


@pytest.fixture
def gateways(tmp_path: Path) -> Path:
    # gw1 may write M1, M2, R1 and GHOST (not in the twin); gw2 the meters M3*.
    return write_gateways(
        tmp_path / "gateways.toml", {"gw1": ["M1", "M2", "R1", "GHOST"], "gw2": ["M3*"]}
    )


@pytest.fixture
def collector(tmp_path: Path, twin: Twin, gateways: Path) -> Iterator[Collector]:
    c = Collector(
        tmp_path / "store.duckdb",
        twin,
        load_gateways(gateways),
        port=0,
        drop=tmp_path / "drop",
        poll_seconds=0.05,
        clock=lambda: NOW,
    )
    c.start()
    try:
        yield c
    finally:
        c.stop()


def reading(meter: str, ts: str, value: object, **extra: object) -> dict[str, object]:
    return {"meter_id": meter, "timestamp": ts, "value": value, **extra}


def rows_of(store: Store, sql: str, params: list[object] | None = None) -> list[tuple]:
    return store.con.execute(sql, params or []).fetchall()


# --- pushing readings over HTTP ---------------------------------------------------------


def test_a_push_lands_good_rows_and_quarantines_bad_ones(collector: Collector) -> None:
    body = {
        "unit": "kWh",
        "readings": [
            reading("M1", "2024-06-01 10:00", 1.25),  # accepted
            reading("M1", "2024-06-01 12:15", 1),  # after NOW (12:00 local): future
            reading("M2", "2024-06-01 10:00", "x"),  # bad_number
            reading("GHOST", "2024-06-01 10:00", 1),  # in gw1's list, not in the twin
            reading("R1", "2024-06-01 10:00", 5),  # a register meter: wrong_reading_kind
            reading("M2", "2024-06-01T02:15:00Z", "2", unit="度"),  # 度 is kWh; UTC time
        ],
    }
    status, reply = push(collector.url, TOKENS["gw1"], "m-1", body)
    assert status == 200
    assert (reply["read"], reply["accepted"], reply["rejected"]) == (6, 2, 4)
    assert reply["reasons"] == {
        "bad_number": 1,
        "future_timestamp": 1,
        "unknown_meter": 1,
        "wrong_reading_kind": 1,
    }
    assert [(r["row"], r["reason"]) for r in reply["rejects"]] == [
        (2, "future_timestamp"),
        (3, "bad_number"),
        (4, "unknown_meter"),
        (5, "wrong_reading_kind"),
    ]
    batch = push_batch_id("gw1", JUNE)
    assert (reply["batch_id"], reply["first_row"], reply["replayed"]) == (batch, 1, False)
    collector.stop()
    with Store(collector.store_path) as s:
        # 10:00 Shanghai is 02:00 UTC; 15-minute intervals.
        assert rows_of(
            s,
            "SELECT meter_id, ts_start, ts_end, amount, batch_id, row_number FROM readings "
            "ORDER BY row_number",
        ) == [
            ("M1", utc(2, 0), utc(2, 15), Decimal("1.25"), batch, 1),
            ("M2", utc(2, 15), utc(2, 30), Decimal("2"), batch, 6),
        ]
        assert rows_of(s, "SELECT row_number, reason FROM rejects ORDER BY 1") == [
            (2, "future_timestamp"),
            (3, "bad_number"),
            (4, "unknown_meter"),
            (5, "wrong_reading_kind"),
        ]
        (b,) = s.batches().itertuples()
        assert (b.batch_id, b.kind, b.file_name) == (batch, "interval", "push gw1 2024-06")
        assert (b.rows_read, b.rows_accepted, b.rows_rejected) == (6, 2, 4)
        (m,) = rows_of(
            s, "SELECT gateway_id, message_key, channel, first_row, rows_read FROM messages"
        )
        assert m == ("gw1", "m-1", "http", 1, 6)


def utc(hour: int, minute: int, day: int = 1) -> dt.datetime:
    return dt.datetime(2024, 6, day, hour, minute, tzinfo=dt.UTC)


def test_pushed_rows_meet_the_same_rules_as_a_file(collector: Collector, tmp_path: Path) -> None:
    """The rows of a push and the same rows in a CSV file get the same reasons and values."""
    lines = [
        ("M1", "2024-06-01 08:00", "1.5"),
        ("M1", "2024-06-01 08:00", "1.5"),  # duplicate_row
        ("M2", "2024-06-01 08:00", "2"),
        ("M2", "2024-06-01 08:00", "3"),  # conflicting_duplicate (both)
        ("M1", "2024年6月1日 08:15", "１２．５"),  # Chinese date, full-width digits
        ("M1", "", "1"),  # missing_field
        ("M1", "not a time", "1"),  # bad_timestamp
        ("M1", "2024-06-01 08:30", "-1"),  # negative_value
        ("M3", "2024-06-01 08:00", "1"),  # gw1 may not write M3: not in this push
    ]
    csv_text = "meter_id,timestamp,value\n" + "".join(f"{m},{t},{v}\n" for m, t, v in lines)
    pushed = [x for x in lines if x[0] != "M3"]
    status, reply = push(
        collector.url,
        TOKENS["gw1"],
        "same-rules",
        "meter_id,timestamp,value\n" + "".join(f"{m},{t},{v}\n" for m, t, v in pushed),
        "text/csv",
    )
    assert status == 200
    file = tmp_path / "same.csv"
    file.write_text(csv_text, encoding="utf-8")
    collector.stop()
    with Store(collector.store_path) as s:
        got_push = rows_of(
            s, "SELECT row_number, reason FROM rejects WHERE batch_id LIKE 'p_%' ORDER BY 1"
        )
        readings_push = rows_of(s, "SELECT meter_id, ts_start, amount FROM readings ORDER BY 1, 2")
    with Store(tmp_path / "file.duckdb") as f:
        f.sync_twin(collector.twin)
        batch = f.ingest(file, now=NOW)
        got_file = rows_of(f, "SELECT row_number, reason FROM rejects ORDER BY 1")
        readings_file = rows_of(f, "SELECT meter_id, ts_start, amount FROM readings ORDER BY 1, 2")
    assert got_push == [r for r in got_file if r[0] <= len(pushed)]
    assert got_push == [
        (2, "duplicate_row"),
        (3, "conflicting_duplicate"),
        (4, "conflicting_duplicate"),
        (6, "missing_field"),
        (7, "bad_timestamp"),
        (8, "negative_value"),
    ]
    assert readings_file == [*readings_push, ("M3", utc(0, 0), Decimal("1"))]
    assert readings_push == [
        ("M1", utc(0, 0), Decimal("1.5")),
        ("M1", utc(0, 15), Decimal("12.5")),
    ]
    assert (reply["accepted"], batch.accepted) == (2, 3)


def test_a_message_sent_again_is_answered_from_the_store(
    collector: Collector, twin: Twin, gateways: Path
) -> None:
    body = {"readings": [reading("M1", "2024-06-01 09:00", 4), reading("M1", "bad", 1)]}
    first = push(collector.url, TOKENS["gw1"], "again", body)
    second = push(collector.url, TOKENS["gw1"], "again", body)
    assert first[0] == second[0] == 200
    assert second[1] == {**first[1], "replayed": True}
    # The same key for another body is refused; another gateway may use the same key.
    other = {"readings": [reading("M1", "2024-06-01 09:00", 5)]}
    status, reply = push(collector.url, TOKENS["gw1"], "again", other)
    assert status == 409 and "was used for another message" in reply["error"]
    status, reply = push(
        collector.url, TOKENS["gw2"], "again", {"readings": [reading("M3", "2024-06-01 09:00", 7)]}
    )
    assert status == 200 and reply["replayed"] is False
    collector.stop()
    # A new collector on the same store remembers the key (read back from `messages`).
    again = Collector(
        collector.store_path, twin, load_gateways(gateways), port=0, clock=lambda: NOW
    )
    with again:
        third = push(again.url, TOKENS["gw1"], "again", body)
        assert third == (200, {**first[1], "replayed": True})
        assert again.health()["replayed"] == 1
    with Store(collector.store_path) as s:
        assert rows_of(s, "SELECT count(*) FROM readings") == [(2,)]
        assert rows_of(s, "SELECT count(*) FROM messages") == [(2,)]


def test_rows_that_meet_earlier_messages_follow_first_value_stands(collector: Collector) -> None:
    push(collector.url, TOKENS["gw1"], "a", {"readings": [reading("M1", "2024-06-01 09:00", 4)]})
    _, reply = push(
        collector.url,
        TOKENS["gw1"],
        "b",
        {"readings": [reading("M1", "2024-06-01 09:00", 4), reading("M1", "2024-06-01 09:00", 5)]},
    )
    # Within message b the two rows conflict: both rejected, as in a file.
    assert reply["reasons"] == {"conflicting_duplicate": 2}
    _, reply = push(
        collector.url,
        TOKENS["gw1"],
        "c",
        {"readings": [reading("M1", "2024-06-01 09:00", 4), reading("M2", "2024-06-01 09:00", 1)]},
    )
    assert [r["reason"] for r in reply["rejects"]] == ["already_stored"]
    assert reply["rejects"][0]["batch_row"] == 4  # rows 1 (a), 2-3 (b), 4-5 (c)
    _, reply = push(
        collector.url, TOKENS["gw1"], "d", {"readings": [reading("M1", "2024-06-01 09:00", 9)]}
    )
    assert [r["reason"] for r in reply["rejects"]] == ["conflicts_with_stored"]


def test_messages_checked_together_as_if_one_after_the_other(tmp_path: Path, twin: Twin) -> None:
    """ingest_messages over a group gives what it gives message by message."""

    def frame(*rows: tuple[str, str, str]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["meter_id", "timestamp", "value"])

    group = [
        frame(("M1", "2024-06-01 09:00", "1"), ("M2", "2024-06-01 09:00", "2")),
        frame(("M1", "2024-06-01 09:00", "1"), ("M2", "2024-06-01 09:00", "3")),
        frame(("M1", "2024-06-01 09:15", "4"), ("M1", "2024-06-01 09:15", "4")),
        frame(("M1", "2024-06-01 09:15", "5"), ("M3", "2024-06-01 09:00", "x")),
    ]
    outcomes = {}
    for name, together in (("together", True), ("one by one", False)):
        with Store(tmp_path / f"{name}.duckdb") as s:
            s.sync_twin(twin)
            msgs, first = [], 1
            for rows in group:
                msgs.append(RowsMessage(rows, "p_test", first))
                first += len(rows)
            got = []
            for part in [msgs] if together else [[m] for m in msgs]:
                s.con.execute("BEGIN")
                got += ingest_messages(s, part, now=NOW)
                s.con.execute("COMMIT")
            table = rows_of(s, "SELECT * FROM readings ORDER BY row_number")
            rejects = rows_of(s, "SELECT * FROM rejects ORDER BY row_number")
            outcomes[name] = (got, table, rejects)
    assert outcomes["together"] == outcomes["one by one"]
    got = outcomes["together"][0]
    assert [o.reasons for o in got] == [
        (),
        (("already_stored", 1), ("conflicts_with_stored", 1)),
        (("duplicate_row", 1),),
        (("bad_number", 1), ("conflicts_with_stored", 1)),
    ]
    assert [o.changed for o in got] == [
        (("M1", JUNE, 1), ("M2", JUNE, 1)),
        (),
        (("M1", JUNE, 1),),
        (),
    ]


def test_a_csv_push_with_chinese_headers(collector: Collector) -> None:
    body = '表号,时间,用电量(千瓦时)\nM1,2024-06-01 09:00,"1,234.5"\nM2,2024/6/1 9:15,0.5\n'
    status, reply = push(
        collector.url, TOKENS["gw1"], "zh", body.encode(), "text/csv; charset=utf-8"
    )
    assert status == 200 and (reply["accepted"], reply["rejected"]) == (2, 0)
    collector.stop()
    with Store(collector.store_path) as s:
        assert rows_of(s, "SELECT meter_id, amount FROM readings ORDER BY 1") == [
            ("M1", Decimal("1234.5")),
            ("M2", Decimal("0.5")),
        ]


@pytest.mark.parametrize(
    ("token", "key", "body", "content_type", "status", "error"),
    [
        (None, "k", {"readings": [reading("M1", "2024-06-01 09:00", 1)]}, None, 401, "no token"),
        ("wrong", "k", {"readings": [reading("M1", "2024-06-01 09:00", 1)]}, None, 401, "unknown"),
        (
            "gw1",
            None,
            {"readings": [reading("M1", "2024-06-01 09:00", 1)]},
            None,
            400,
            "Idempotency",
        ),
        (
            "gw1",
            "a b",
            {"readings": [reading("M1", "2024-06-01 09:00", 1)]},
            None,
            400,
            "Idempotency",
        ),
        (
            "gw1",
            "k",
            {"readings": [reading("M3", "2024-06-01 09:00", 1)]},
            None,
            403,
            "may not write meters M3",
        ),
        ("gw1", "k", "{not json", None, 400, "not UTF-8 JSON"),
        ("gw1", "k", {"readings": []}, None, 400, "no readings"),
        ("gw1", "k", {"readings": [{"meter": "M1"}]}, None, 400, "unknown fields \\['meter'\\]"),
        ("gw1", "k", {"rows": []}, None, 400, "unknown fields \\['rows'\\]"),
        ("gw1", "k", "x", "text/plain", 415, "unsupported Content-Type"),
        ("gw1", "k", "表号,时间,读数\nR1,2024-06-01,5\n", "text/csv", 400, "register rows"),
    ],
)
def test_refused_messages_store_nothing(
    collector: Collector,
    token: str | None,
    key: str | None,
    body: object,
    content_type: str | None,
    status: int,
    error: str,
) -> None:
    got, reply = push(
        collector.url,
        TOKENS.get(token or "", token),
        key,
        body,  # type: ignore[arg-type]
        content_type or "application/json",
    )
    assert got == status
    assert reply["status"] == status
    assert re.search(error, reply["error"]), reply["error"]
    assert collector.health()["messages"] == 0


def test_a_body_over_the_limit_is_refused_unread(
    tmp_path: Path, twin: Twin, gateways: Path
) -> None:
    with Collector(
        tmp_path / "s.duckdb", twin, load_gateways(gateways), port=0, max_body_bytes=100
    ) as c:
        body = {"readings": [reading("M1", "2024-06-01 09:00", 1)] * 5}
        status, reply = push(c.url, TOKENS["gw1"], "big", body)
        assert status == 413 and "over the limit of 100" in reply["error"]


def test_batches_per_gateway_and_month(tmp_path: Path, twin: Twin, gateways: Path) -> None:
    clock = {"now": NOW}
    with Collector(
        tmp_path / "s.duckdb", twin, load_gateways(gateways), port=0, clock=lambda: clock["now"]
    ) as c:
        push(c.url, TOKENS["gw1"], "1", {"readings": [reading("M1", "2024-05-31 09:00", 1)]})
        push(c.url, TOKENS["gw2"], "1", {"readings": [reading("M3", "2024-05-31 09:00", 1)]})
        push(c.url, TOKENS["gw1"], "2", {"readings": [reading("M1", "2024-05-31 09:15", 1)] * 2})
        # 2024-07-01 00:30 in Shanghai is 2024-06-30 16:30 UTC: July's batch.
        clock["now"] = dt.datetime(2024, 6, 30, 16, 30, tzinfo=dt.UTC)
        push(c.url, TOKENS["gw1"], "3", {"readings": [reading("M1", "2024-05-31 09:30", 1)]})
        # A voided push batch takes no more rows: the next push of gw2 in June opens another.
        clock["now"] = NOW
        c.submit_void(push_batch_id("gw2", JUNE), "test").result()
        _, reply = push(
            c.url, TOKENS["gw2"], "2", {"readings": [reading("M3", "2024-05-31 10:00", 1)]}
        )
        assert reply["batch_id"] == push_batch_id("gw2", JUNE, after=push_batch_id("gw2", JUNE))
        assert reply["first_row"] == 1
    with Store(tmp_path / "s.duckdb") as s:
        got = s.batches().set_index("batch_id")
    june1, june2 = push_batch_id("gw1", JUNE), push_batch_id("gw2", JUNE)
    july1 = push_batch_id("gw1", dt.date(2024, 7, 1))
    june2b = push_batch_id("gw2", JUNE, after=june2)
    assert sorted(got.index) == sorted([june1, june2, july1, june2b])
    assert got.loc[june2, "voided"] and not got.loc[june2b, "voided"]
    assert got.loc[june1, ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [3, 2, 1]
    assert got.loc[july1, ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [1, 1, 0]
    assert got.loc[june1, "source_path"] == "collect://gw1/2024-06"
    assert json.loads(got.loc[july1, "options"])["month"] == "2024-07-01"


# --- changes, for an incremental ledger ------------------------------------------------


def test_commits_are_recorded_and_told_to_callbacks(collector: Collector) -> None:
    seen = []
    collector.on_commit(seen.append)
    collector.on_commit(lambda c: 1 / 0)  # a failing callback is logged, nothing more
    push(
        collector.url,
        TOKENS["gw1"],
        "x",
        {
            "readings": [
                reading("M1", "2024-05-31 23:45", 1),
                reading("M1", "2024-06-01 00:00", 1),
                reading("M2", "2024-06-01 00:00", 1),
            ]
        },
    )
    push(collector.url, TOKENS["gw1"], "y", {"readings": [reading("M1", "2030-01-01", 1)]})
    assert [c.seq for c in seen] == [1]  # the second commit landed nothing
    (commit,) = seen
    batch = push_batch_id("gw1", JUNE)
    assert commit.changed == (
        (batch, "M1", dt.date(2024, 5, 1), 1),
        (batch, "M1", JUNE, 1),
        (batch, "M2", JUNE, 1),
    )
    assert commit.newest == dt.datetime(2024, 5, 31, 16, 0, tzinfo=dt.UTC)  # 06-01 00:00 local
    collector.stop()
    with Store(collector.store_path) as s:
        assert changes_since(s).values.tolist() == [
            ["M1", pd.Timestamp("2024-05-01"), 1, 1],
            ["M1", pd.Timestamp("2024-06-01"), 1, 1],
            ["M2", pd.Timestamp("2024-06-01"), 1, 1],
        ]
        assert changes_since(s, 1).empty


# --- the drop folder ------------------------------------------------------------------


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_the_drop_folder_ingests_files_renamed_into_it(collector: Collector) -> None:
    drop = collector.drop
    assert drop is not None
    part = drop / "elec.csv.part"
    part.write_text("meter_id,timestamp,value\nM1,2024-06-01 07:00,2\nM1,2024-06-01 07:15,x\n")
    time.sleep(0.3)  # several polls: a file being written is left alone
    assert part.exists()
    part.rename(drop / "elec.csv")
    (drop / "zh.csv.mapping.toml").write_text(
        '[mapping]\nkind = "interval"\nunit = "MWh"\n[mapping.columns]\n'
        'meter_id = "编号"\ntimestamp = "时刻"\nvalue = "量"\n',
        "utf-8",
    )
    (drop / "zh.csv").write_text("编号,时刻,量\nM2,2024-06-01 07:00,0.001\n", "utf-8")
    (drop / "notes.docx").write_text("not meter data", "utf-8")
    wait_for(lambda: len(list((drop / "done").glob("*.json"))) == 2)
    wait_for(lambda: len(list((drop / "failed").glob("*.error.txt"))) == 1)
    assert sorted(p.name for p in drop.iterdir() if p.is_file()) == []
    receipts = {
        p.name.split("_", 1)[1]: json.loads(p.read_text()) for p in (drop / "done").glob("*.json")
    }
    assert [(b["read"], b["accepted"], b["rejected"]) for b in receipts["elec.csv.json"]] == [
        (2, 1, 1)
    ]
    assert [(b["read"], b["accepted"]) for b in receipts["zh.csv.json"]] == [(1, 1)]
    (error,) = (drop / "failed").glob("*.error.txt")
    assert "unsupported file type '.docx'" in error.read_text()
    collector.stop()
    with Store(collector.store_path) as s:
        assert rows_of(s, "SELECT meter_id, amount FROM readings ORDER BY 1") == [
            ("M1", Decimal("2")),
            ("M2", Decimal("1")),  # 0.001 MWh
        ]
        # The batch records where the file stays: done/.
        paths = rows_of(s, "SELECT source_path FROM batches ORDER BY 1")
        assert all("/drop/done/" in p for (p,) in paths)


def test_files_left_in_the_drop_folder_are_taken_at_start(
    tmp_path: Path, twin: Twin, gateways: Path
) -> None:
    drop = tmp_path / "drop"
    (drop / "done").mkdir(parents=True)
    (drop / "waiting.csv").write_text("meter_id,timestamp,value\nM1,2024-06-01 07:00,2\n")
    # A file moved to done/ whose ingest was cut short (no receipt): ingested again.
    (drop / "done" / "20240601T000000Z_cut.csv").write_text(
        "meter_id,timestamp,value\nM2,2024-06-01 07:00,3\n"
    )
    with Collector(tmp_path / "s.duckdb", twin, port=0, drop=drop, poll_seconds=0.05) as c:
        wait_for(lambda: len(list((drop / "done").glob("*.json"))) == 2)
        assert c.health()["files"] == 2
    with Store(tmp_path / "s.duckdb") as s:
        assert rows_of(s, "SELECT meter_id FROM readings ORDER BY 1") == [("M1",), ("M2",)]


# --- other writers ---------------------------------------------------------------------


def test_carbon_ingest_hands_its_files_to_the_running_collector(
    collector: Collector, tmp_path: Path
) -> None:
    store = collector.store_path
    info = running_collector(store)
    assert info is not None and info.pid == os.getpid() and info.url == collector.url
    assert oct(lock_path(store).stat().st_mode & 0o777) == "0o600"
    # Another process that opens the store to write is told who holds it. (First: the CLI
    # below runs in this process, and its check of the store file closes a descriptor of it,
    # which drops DuckDB's POSIX lock for the whole process; a real `carbon ingest` is
    # another process.)
    code = f"from carbon.store import Store; Store({str(store)!r})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"the collector (pid {os.getpid()}, {collector.url}" in proc.stderr
    file = tmp_path / "later.csv"
    file.write_text("meter_id,timestamp,value\nM1,2024-06-01 06:00,1\nM9,2024-06-01 06:00,1\n")
    result = CliRunner().invoke(app, ["ingest", str(store), str(file)])
    assert result.exit_code == 0, result.output
    assert "later.csv" in result.output and "unknown_meter" in result.output
    (again,) = info.ingest([file])  # the library call behind it
    assert again.skipped and (again.read, again.accepted, again.rejected) == (2, 1, 1)
    batch_id = again.batch_id
    voided = CliRunner().invoke(app, ["ingest", str(store), "--void", batch_id, "--reason", "test"])
    assert voided.exit_code == 0 and f"voided {batch_id}" in voided.output
    # A file the collector cannot ingest: one red line, exit 2.
    bad = CliRunner().invoke(app, ["ingest", str(store), str(tmp_path / "absent.csv")])
    assert bad.exit_code == 2 and "no such file" in bad.output
    collector.stop()
    assert not lock_path(store).exists() and running_collector(store) is None


def test_a_stale_lock_file_is_ignored(tmp_path: Path, twin: Twin) -> None:
    store = tmp_path / "s.duckdb"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock_path(store).write_text(json.dumps({"pid": dead.pid, "url": "http://127.0.0.1:1"}))
    assert running_collector(store) is None
    with Collector(store, twin, port=0) as c:
        info = running_collector(store)
        assert info is not None and info.url == c.url
        with pytest.raises(CollectError, match="already runs on"):
            Collector(store, twin, port=0).start()


# --- MQTT, with a real broker ---------------------------------------------------------


@pytest.mark.skipif(
    not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()),
    reason="needs the Mosquitto broker (Debian package mosquitto; make test installs it)",
)
def test_mqtt_messages_are_committed_then_acknowledged(
    tmp_path: Path, twin: Twin, gateways: Path
) -> None:
    import paho.mqtt.client as mqtt

    broker, port = start_mosquitto(tmp_path)
    try:
        with Collector(
            tmp_path / "s.duckdb",
            twin,
            load_gateways(gateways),
            port=0,
            mqtt=("127.0.0.1", port),
            clock=lambda: NOW,
        ) as c:
            replies: list[dict] = []
            got = threading.Event()
            gw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw1")

            def on_message(client, userdata, msg):  # type: ignore[no-untyped-def]
                replies.append(json.loads(msg.payload))
                if len(replies) == 3:
                    got.set()

            gw.on_message = on_message
            gw.connect("127.0.0.1", port)
            gw.subscribe("carbon/gw1/replies", qos=1)
            gw.loop_start()
            wait_for(lambda: c.health()["mqtt_connected"])
            time.sleep(0.3)  # the collector's subscription
            good = {
                "idempotency_key": "mq-1",
                "token": TOKENS["gw1"],
                "readings": [reading("M1", "2024-06-01 09:00", 2), reading("M1", "2099-01-01", 1)],
            }
            for payload in (good, good, {**good, "token": "wrong", "idempotency_key": "mq-2"}):
                gw.publish("carbon/gw1/readings", json.dumps(payload), qos=1).wait_for_publish()
            assert got.wait(20)
            gw.loop_stop()
            gw.disconnect()
        by_status = sorted(
            (r["status"], r.get("replayed"), r.get("idempotency_key")) for r in replies
        )
        assert by_status == [(200, False, "mq-1"), (200, True, "mq-1"), (401, None, "mq-2")]
        ok = next(r for r in replies if r["status"] == 200)
        assert (ok["accepted"], ok["reasons"]) == (1, {"future_timestamp": 1})
        with Store(tmp_path / "s.duckdb") as s:
            assert rows_of(s, "SELECT channel, rows_read FROM messages") == [("mqtt", 2)]
            assert rows_of(s, "SELECT count(*) FROM readings") == [(1,)]
    finally:
        broker.kill()
        broker.wait()


# --- configuration, bodies, the CLI --------------------------------------------------


def test_gateways_file_errors_name_the_entry_and_field(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    sha = token_sha256("t")
    cases = [
        (
            '[[gateway]]\nid = "a"\ntoken_sha256 = "abc"\nmeters = ["M1"]\n',
            "entry 'a', field 'token_sha256'",
        ),
        (
            f'[[gateway]]\nid = "a"\ntoken_sha256 = "{sha}"\nmeters = []\n',
            "entry 'a', field 'meters'",
        ),
        (
            f'[[gateway]]\nid = "a"\ntoken_sha256 = "{sha}"\nmeters = ["M"]\nport = 1\n',
            "field 'port'",
        ),
        (
            f'[[gateway]]\nid = "a"\ntoken_sha256 = "{sha}"\nmeters = ["M"]\n'
            f'[[gateway]]\nid = "b"\ntoken_sha256 = "{sha}"\nmeters = ["M"]\n',
            "entry 'b', field 'token_sha256'.*same token as gateway 'a'",
        ),
        ("x = 1\n", "no \\[\\[gateway\\]\\] tables"),
    ]
    for text, match in cases:
        path.write_text(text)
        with pytest.raises(GatewayFileError, match=match):
            load_gateways(path)
    assert issubclass(GatewayFileError, CarbonError) and issubclass(GatewayFileError, ValueError)
    assert token_sha256("t") == "e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8"


def test_parse_body_keeps_the_digits_written() -> None:
    rows, unit = parse_body(
        b'{"unit": "kWh", "readings": [{"meter_id": "M1", "timestamp": "t", "value": 0.1}]}',
        "application/json",
    )
    assert unit == "kWh" and rows.to_dict("records") == [
        {"meter_id": "M1", "timestamp": "t", "value": "0.1", "unit": None}
    ]
    with pytest.raises(MessageError, match="readings\\[0\\] is not an object") as refused:
        parse_body(b"[1]", "application/json")
    assert refused.value.status == 400


def test_the_openapi_description_matches_the_routes() -> None:
    spec = json.loads((ROOT / "docs" / "collect.openapi.json").read_text("utf-8"))
    assert spec["openapi"].startswith("3.")
    assert {p: tuple(sorted(v)) for p, v in spec["paths"].items()} == {
        p: tuple(sorted(m)) for p, m in ROUTES.items()
    }
    post = spec["paths"]["/v1/readings"]["post"]
    # Its examples are bodies the collector takes.
    for media, content in post["requestBody"]["content"].items():
        for example in content["examples"].values():
            value = example["value"]
            body = json.dumps(value).encode() if media.endswith("json") else value.encode()
            rows, _ = parse_body(body, media)
            assert len(rows) >= 1
    reply = spec["components"]["schemas"]["Reply"]
    from carbon.collect import Reply

    sample = Reply("g", "k", "p_x", 1, 1, 1, 0, (), (), NOW).to_json()
    assert set(reply["required"]) == set(sample) == set(reply["properties"])
    assert {str(s) for s in post["responses"]} == {
        "200",
        "400",
        "401",
        "403",
        "409",
        "411",
        "413",
        "415",
        "503",
    }


def test_collect_cli_refuses_plain_http_off_loopback(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["collect", str(tmp_path / "s.duckdb"), "--host", "0.0.0.0", "--port", "0"]
    )
    assert result.exit_code == 2
    assert "would send gateway tokens in clear" in result.output
    result = CliRunner().invoke(
        app, ["collect", str(tmp_path / "s.duckdb"), "--mqtt", "localhost:x"]
    )
    assert result.exit_code == 2 and "the port is not a number" in result.output


def test_collect_cli_serves_until_sigterm(tmp_path: Path, twin: Twin, gateways: Path) -> None:
    store = tmp_path / "s.duckdb"
    answers: list[tuple[int, dict]] = []

    def gateway() -> None:
        wait_for(lambda: running_collector(store) is not None)
        info = running_collector(store)
        assert info is not None
        answers.append(
            push(
                info.url, TOKENS["gw1"], "cli", {"readings": [reading("M1", "2024-06-01 09:00", 1)]}
            )
        )
        os.kill(os.getpid(), 15)  # SIGTERM: the command stops cleanly

    thread = threading.Thread(target=gateway)
    thread.start()
    result = CliRunner().invoke(
        app,
        [
            "collect",
            str(store),
            "--twin",
            str(twin.folder),
            "--gateways",
            str(gateways),
            "--port",
            "0",
        ],
    )
    thread.join()
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "push API http://127.0.0.1:" in output
    assert "stopped: 1 messages, 1 readings, 0 files" in output
    assert answers[0][0] == 200


def test_health_answers_what_the_openapi_description_says(collector: Collector) -> None:
    spec = json.loads((ROOT / "docs" / "collect.openapi.json").read_text("utf-8"))
    health = collector.health()
    assert set(health) == set(spec["components"]["schemas"]["Health"]["properties"])
    assert (health["status"], health["messages"], health["mqtt_connected"]) == ("ok", 0, None)
    info = running_collector(collector.store_path)
    assert info is not None and info.health()["pid"] == os.getpid()
