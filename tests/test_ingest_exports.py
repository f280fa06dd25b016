"""Tests of ingesting exports as users bring them (issue 14): the README's command on `carbon
synth` output, a forgotten store, month-only bill dates, unit spellings, empty, ragged,
semicolon and UTF-16 files, weather files, a unit in a header, and bounded memory.

Every file is written by the test; every store is a real DuckDB file in tmp_path.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from carbon.cli import app
from carbon.ingest import (
    INGEST_MEMORY_LIMIT,
    REASONS,
    Batch,
    IngestError,
    WeatherFileError,
    guess_mapping,
    ingest_files,
)
from carbon.store import Store, StoreError, check_store_path
from carbon.twin import Twin, load_twin
from carbon.units import UNIT_ALIASES, resolve_unit, suggest_units

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
HEADER = "meter_id,timestamp,value,unit\n"

runner = CliRunner()


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


@pytest.fixture
def store(tmp_path: Path, twin: Twin) -> Any:
    with Store(tmp_path / "store.duckdb") as s:
        s.sync_twin(twin)
        yield s


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def rows(store: Store, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return store.con.execute(sql, params or []).fetchall()


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


def ingest(store: Store, path: Path, mapping: Any = None, **kwargs: Any) -> Batch:
    kwargs.setdefault("now", NOW)
    batch = store.ingest(path, mapping, **kwargs)
    assert batch.read == batch.accepted + batch.rejected
    assert rows(store, "SELECT count(*) FROM rejects WHERE batch_id = ?", [batch.batch_id]) == [
        (batch.rejected,)
    ]
    return batch


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# --- the README's command on `carbon synth` output ----------------------------------------------


def test_readme_ingest_passes_on_synth_output(tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    made = runner.invoke(
        app,
        [
            "synth",
            "shimen_erlu",
            "--out",
            str(out),
            "--start",
            "2024-01-01",
            "--end",
            "2024-03-01",
            "--seed",
            "42",
            "--faults",
        ],
    )
    assert made.exit_code == 0, made.output
    files = sorted(glob.glob(str(out / "*.csv")))  # the shell's order of synthetic/*.csv
    db = tmp_path / "shimen.duckdb"
    result = runner.invoke(app, ["ingest", str(db), *files])
    assert result.exit_code == 0, result.output
    assert "synthetic_temperature_daily.csv: a weather file" in result.output
    assert "[[verify]] temperature =" in result.output
    with Store(db) as s:
        names = sorted(s.batches().file_name)
    # Every file but the weather file is a batch: activities, electricity, gas, events, water
    # and its GBK copy.
    assert names == sorted(Path(f).name for f in files if "temperature" not in f)
    # Run again: every file is reported, none fails.
    again = runner.invoke(app, ["ingest", str(db), *files])
    assert again.exit_code == 0
    assert again.output.count("skipped") >= len(files)


# --- the store argument ------------------------------------------------------------------------


def test_a_forgotten_store_is_never_a_csv_opened_as_a_database(tmp_path: Path) -> None:
    first = write(tmp_path, "a.csv", HEADER + "E-KAIDIKE,2024-01-01 00:00,1,kWh\n")
    second = write(tmp_path, "b.csv", HEADER + "E-KAIDIKE,2024-01-01 01:00,1,kWh\n")
    before = first.read_bytes()
    result = runner.invoke(app, ["ingest", str(first), str(second)])
    assert result.exit_code == 2
    assert "a.csv is not a store (a DuckDB file): it is a .csv file" in result.output
    assert "carbon ingest STORE.duckdb FILE" in result.output
    assert first.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]
    with pytest.raises(StoreError, match=r"a\.csv is not a store"):
        Store(first)
    # A new store needs the .duckdb name; a new path named like data is refused by Store too.
    new = runner.invoke(app, ["ingest", str(tmp_path / "shimen"), str(second)])
    assert new.exit_code == 2 and "a new store is a file ending in .duckdb" in new.output
    with pytest.raises(StoreError, match=r"named like a data file \(\.parquet\)"):
        Store(tmp_path / "readings.parquet")
    with pytest.raises(StoreError, match="is a folder"):
        check_store_path(tmp_path)
    assert check_store_path(tmp_path / "new.duckdb") == tmp_path / "new.duckdb"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


# --- every file reported; failures at the end ----------------------------------------------------


def test_every_file_is_reported_and_a_failure_exits_nonzero_at_the_end(tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", HEADER + "E-KAIDIKE,2024-01-01 00:00,1,kWh\n")
    empty = write(tmp_path, "empty.csv", "")
    odd = write(tmp_path, "odd.csv", "名称,foo\nx,1\n")
    later = write(tmp_path, "later.csv", HEADER + "E-KAIDIKE,2024-01-01 01:00,2,kWh\n")
    weather = write(tmp_path, "weather.csv", "date,temperature_degC\n2024-01-01,5.5\n")
    db = tmp_path / "s.duckdb"
    result = runner.invoke(
        app, ["ingest", str(db), str(good), str(empty), str(odd), str(later), str(weather)]
    )
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "failed: " in out and "empty.csv: the file is empty (0 bytes)" in out
    # The hint names the CLI syntax, not Python's.
    assert "--mapping FILE.toml" in out and "mapping={" not in out
    assert "skipped: " in out and "weather.csv: a weather file" in out
    assert "2 of 5 files failed" in out
    with Store(db) as s:
        assert sorted(s.batches().file_name) == ["good.csv", "later.csv"]


def test_ingest_files_reports_committed_skipped_failed(store: Store, tmp_path: Path) -> None:
    good = write(tmp_path, "good.csv", HEADER + "E-KAIDIKE,2024-01-01 00:00,1,kWh\n")
    bad = write(tmp_path, "bad.csv", "meter_id,foo\nE-KAIDIKE,1\n")
    weather = write(tmp_path, "t.csv", "日期,日平均气温(℃)\n2024-01-01,5.5\n")
    first = ingest_files(store, [good, bad, weather], now=NOW)
    assert [(o.status, Path(o.file).name) for o in first] == [
        ("committed", "good.csv"),
        ("failed", "bad.csv"),
        ("skipped", "t.csv"),
    ]
    assert first[0].batches[0].accepted == 1 and first[0].note is None
    assert first[1].batches == () and "Cannot tell the columns" in (first[1].note or "")
    assert "a weather file (日期, 日平均气温(℃))" in (first[2].note or "")
    again = ingest_files(store, [good], now=NOW)
    assert again[0].status == "skipped"
    assert (
        again[0].note == f"ingested before with the same options as {first[0].batches[0].batch_id}"
    )
    with pytest.raises(IngestError, match="takes exactly one file"):
        ingest_files(store, [good, bad], supersedes="b_x")
    with pytest.raises(IngestError, match="no batch 'b_x' in the store"):
        ingest_files(store, [good], supersedes="b_x")


# --- month-only dates --------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2024-01", "2024年1月", "202401", "2024.01", "2024/1"])
def test_month_only_dates_for_monthly_meters(store: Store, tmp_path: Path, month: str) -> None:
    text = f"表号,抄表年月,表底数\nW-KAIDIKE,{month},100\nW-KAIDIKE,2024-02,130\n"
    batch = ingest(store, write(tmp_path, "water.csv", text))
    assert (batch.kind, batch.accepted) == ("register", 2)
    # The 1st of the month at 00:00 in Shanghai (UTC+8); one delta of 30 m3 between them.
    assert rows(store, "SELECT read_at FROM register_reads ORDER BY 1") == [
        (utc(2023, 12, 31, 16),),
        (utc(2024, 1, 31, 16),),
    ]
    assert rows(store, "SELECT ts_start, ts_end, amount FROM readings") == [
        (utc(2023, 12, 31, 16), utc(2024, 1, 31, 16), Decimal("30"))
    ]


def test_a_monthly_bill_for_an_hourly_meter_needs_the_mapping(store: Store, tmp_path: Path) -> None:
    text = "户号,电费年月,用电量(kWh)\nE-KAIDIKE,2024年03月,1200\nE-KAIDIKE,2024-04-01 00:00,5\n"
    path = write(tmp_path, "bill.csv", text)
    refused = ingest(store, path)
    assert refused.reasons == (("bad_timestamp", 1),)
    ((row, _, raw, message),) = rejects(store, refused)
    assert (row, raw["电费年月"]) == (1, "2024年03月")
    assert message == (
        "time 2024年03月 is a month without a day: only monthly meters (interval 1mo) take one"
    )
    # As a monthly bill (the mapping's interval): March, 1 Mar to 1 Apr local time.
    store.void(refused.batch_id, "read as a monthly bill")
    bill = ingest(store, path, {"kind": "interval", "interval": "1mo"})
    assert bill.accepted == 2
    assert rows(store, "SELECT ts_start, ts_end, amount FROM current_readings ORDER BY 1")[0] == (
        utc(2024, 2, 29, 16),
        utc(2024, 3, 31, 16),
        Decimal("1200"),
    )


def test_month_only_periods_of_activity_data(store: Store, tmp_path: Path) -> None:
    ranges = (
        "node_id,activity,period_start,period_end,amount,unit\n"
        "shimen_erlu,waste.msw.incineration,2024-01,2024-03,30,t\n"  # Jan..Mar inclusive
        "shimen_erlu,waste.msw.incineration,2024-04-01,2024-05-01,10,t\n"  # full dates: as ever
    )
    assert ingest(store, write(tmp_path, "a.csv", ranges)).accepted == 2
    months = "节点,活动,账期,数量,单位\nshimen_erlu,waste.msw.landfill,2024年3月,2,吨\n"
    months += "shimen_erlu,waste.msw.landfill,2024-04-15,2,吨\n"  # not a month
    batch = ingest(store, write(tmp_path, "b.csv", months))
    assert batch.reasons == (("bad_timestamp", 1),)
    assert rows(
        store,
        "SELECT activity, period_start, period_end, amount FROM activities ORDER BY 1, 2",
    ) == [
        ("waste.msw.incineration", dt.date(2024, 1, 1), dt.date(2024, 4, 1), Decimal("30")),
        ("waste.msw.incineration", dt.date(2024, 4, 1), dt.date(2024, 5, 1), Decimal("10")),
        ("waste.msw.landfill", dt.date(2024, 3, 1), dt.date(2024, 4, 1), Decimal("2")),
    ]


def test_an_event_needs_its_day(store: Store, tmp_path: Path) -> None:
    text = "meter_id,date,event,old_final_reading,new_initial_reading\n"
    text += "W-KAIDIKE,2024-06,replacement,100,0\n"
    batch = ingest(store, write(tmp_path, "ev.csv", text))
    assert batch.reasons == (("bad_timestamp", 1),)
    assert rejects(store, batch)[0][3] == (
        "date 2024-06 is a month without a day: an event needs its day"
    )


# --- unit spellings ----------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["kwh", "KWH", "kW·h", "Kw.h", "千瓦时", "度", "ｋＷｈ"])
def test_unit_spellings_of_exports(store: Store, tmp_path: Path, unit: str) -> None:
    batch = ingest(
        store, write(tmp_path, "e.csv", HEADER + f"E-KAIDIKE,2024-01-01 00:00,2.5,{unit}\n")
    )
    assert batch.accepted == 1
    assert rows(store, "SELECT amount FROM readings") == [(Decimal("2.5"),)]


def test_unit_aliases_win_over_pints_own_reading() -> None:
    # pint alone reads nm3 as cubic nanometres and mWh as milliwatt-hours.
    assert resolve_unit("nm3") == "Nm3" and resolve_unit("mWh") == "MWh"
    assert resolve_unit("KWH") == "kWh" and resolve_unit("m³") == "m3"
    assert resolve_unit("furlong") == "furlong"
    assert suggest_units("kwhr")[0] == "kWh" and suggest_units("xyzzy") == []
    assert set(UNIT_ALIASES.values()) >= {"kWh", "MWh", "m3", "Nm3", "t", "GJ"}


def test_an_unknown_unit_says_did_you_mean(store: Store, tmp_path: Path) -> None:
    text = HEADER + "E-KAIDIKE,2024-01-01 00:00,2.5,kwhr\nE-KAIDIKE,2024-01-01 01:00,1,m3\n"
    batch = ingest(store, write(tmp_path, "e.csv", text))
    got = [(r[1], r[3]) for r in rejects(store, batch)]
    assert got[0][0] == "bad_unit"
    assert got[0][1].startswith("unknown unit kwhr (did you mean kWh or ")
    assert got[1] == ("bad_unit", "unit m3 does not convert to kWh")


def test_a_unit_in_the_value_header(store: Store, tmp_path: Path) -> None:
    text = "表号,时间,用电量（万kWh）\nE-KAIDIKE,2024-01-01 00:00,0.0002\n"
    batch = ingest(store, write(tmp_path, "e.csv", text))
    assert batch.accepted == 1
    assert rows(store, "SELECT amount FROM readings") == [(Decimal("2"),)]
    assert json.loads(batch.options)["unit"] == "万kWh"
    assert guess_mapping(["表号", "时间", "用电量(kWh)"]).unit == "kWh"


# --- empty, ragged, other delimiters, other encodings ------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff", "  \n"])
def test_an_empty_file_says_so(store: Store, tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "empty.csv", text)
    with pytest.raises(IngestError, match=r"empty\.csv: the file is empty \(\d+ bytes\)"):
        store.ingest(path, now=NOW)
    assert rows(store, "SELECT count(*) FROM batches") == [(0,)]


def test_a_header_without_rows_is_an_empty_batch(store: Store, tmp_path: Path) -> None:
    batch = ingest(store, write(tmp_path, "h.csv", HEADER))
    assert (batch.read, batch.accepted, batch.rejected) == (0, 0, 0)


def test_ragged_lines_are_quarantined_with_their_line_numbers(store: Store, tmp_path: Path) -> None:
    lines = [
        "E-KAIDIKE,2024-01-01 00:00,1.5,kWh",  # row 1, line 2
        "E-KAIDIKE,2024-01-01 01:00,1,234.5,kWh",  # row 2: a thousands separator, unquoted
        "E-KAIDIKE,2024-01-01 02:00,2",  # row 3: short rows are padded (no unit: the meter's)
        'E-KAIDIKE,2024-01-01 03:00,"1,234.5",kWh',  # row 4: quoted, fine
        "E-KAIDIKE,2024-01-01 04:00,4,kWh,extra,more",  # row 5
        "E-KAIDIKE,2024-01-01 05:00,5,kWh",  # row 6
    ]
    path = write(tmp_path, "ragged.csv", HEADER + "\n".join(lines) + "\n")
    batch = ingest(store, path)
    assert (batch.read, batch.accepted, batch.rejected) == (6, 4, 2)
    assert batch.reasons == (("bad_line", 2),)
    assert "bad_line" in REASONS
    got = rejects(store, batch)
    assert [(r[0], r[1]) for r in got] == [(2, "bad_line"), (5, "bad_line")]
    assert got[0][2] == {"line": lines[1]}
    assert got[0][3] == "line 3 splits into 5 fields where the header has 4"
    assert got[1][3] == "line 6 splits into 6 fields where the header has 4"
    # The good rows keep their own row numbers.
    assert rows(store, "SELECT row_number, amount FROM readings ORDER BY 1") == [
        (1, Decimal("1.5")),
        (3, Decimal("2")),
        (4, Decimal("1234.5")),
        (6, Decimal("5")),
    ]


def test_a_broken_quote_is_a_bad_line(store: Store, tmp_path: Path) -> None:
    text = HEADER + 'E-KAIDIKE,2024-01-01 00:00,"1.5,kWh\nE-KAIDIKE,2024-01-01 01:00,2,kWh\n'
    batch = ingest(store, write(tmp_path, "q.csv", text))
    assert batch.read == batch.accepted + batch.rejected
    assert ("bad_line", 1) in batch.reasons


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_found_in_the_header(
    store: Store, tmp_path: Path, delimiter: str
) -> None:
    text = "表号;时间;用电量;单位\nE-KAIDIKE;2024-01-01 00:00;1.5;kWh\n".replace(";", delimiter)
    batch = ingest(store, write(tmp_path, "e.csv", text))
    assert (batch.read, batch.accepted) == (1, 1)
    assert json.loads(batch.options)["delimiter"] == delimiter


def test_a_decimal_comma_is_quarantined_and_thousands_are_read(
    store: Store, tmp_path: Path
) -> None:
    # A semicolon export from a European tool writes 1,5 for 1.5: never read as 15.
    text = (
        "表号;时间;用电量;单位\n"
        "E-KAIDIKE;2024-01-01 00:00;1,5;kWh\n"
        "E-KAIDIKE;2024-01-01 01:00;1,234.5;kWh\n"
    )
    batch = ingest(store, write(tmp_path, "e.csv", text))
    assert (batch.read, batch.accepted, batch.rejected) == (2, 1, 1)
    assert batch.reasons == (("bad_number", 1),)
    amounts = store.con.execute(
        "SELECT amount FROM readings WHERE batch_id = ?", [batch.batch_id]
    ).fetchall()
    assert amounts == [(Decimal("1234.5"),)]


def test_utf16_unicode_text_and_byte_order_marks(store: Store, tmp_path: Path) -> None:
    # Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-separated, .txt.
    text = "表号\t时间\t用电量\nE-KAIDIKE\t2024-01-01 00:00\t1.5\n"
    batch = ingest(store, write(tmp_path, "unicode.txt", text, "utf-16"))
    assert (batch.accepted, json.loads(batch.options)["encoding"]) == (1, "utf-16")
    # UTF-16 without a mark, comma-separated.
    le = HEADER + "E-KAIDIKE,2024-01-01 01:00,2,kWh\n"
    batch = ingest(store, write(tmp_path, "le.csv", le, "utf-16-le"))
    assert (batch.accepted, json.loads(batch.options)["encoding"]) == (1, "utf-16-le")
    # A UTF-8 byte-order mark does not reach the first header.
    bom = ingest(
        store, write(tmp_path, "bom.csv", "\ufeff" + HEADER + "E-KAIDIKE,2024-01-01 02:00,3,kWh\n")
    )
    assert json.loads(bom.options)["columns"]["meter_id"] == "meter_id"
    assert rows(store, "SELECT count(*) FROM readings") == [(3,)]


def test_gbk_after_the_first_megabyte_is_still_found(store: Store, tmp_path: Path) -> None:
    # The first bytes are valid UTF-8 (ASCII); GBK text comes later: read as GB18030.
    filler = "".join(
        f"E-KAIDIKE,2024-01-{1 + i // 24:02d} {i % 24:02d}:00,1,kWh\n" for i in range(600)
    )
    body = filler * 60  # about 2 MB
    text = "meter_id,timestamp,value,unit,备注\n".replace(",备注", ",note")
    lines = [line + ",x" for line in body.splitlines()]
    path = tmp_path / "late.csv"
    path.write_bytes(
        (text + "\n".join(lines) + "\n").encode()
        + "E-KAIDIKE,2024-03-01 00:00,1,kWh,电表\n".encode("gbk")
    )
    batch = ingest(store, path, {"kind": "interval", "spike_factor": None})
    assert json.loads(batch.options)["encoding"] == "gb18030"
    assert batch.read == len(lines) + 1


# --- weather files and the temperature column --------------------------------------------------


def test_weather_files_are_recognised(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "weather.csv", "date,temperature_degC\n2024-01-01,5.5\n")
    with pytest.raises(
        WeatherFileError, match=r"weather\.csv: a weather file \(date, temperature_degC\)"
    ):
        store.ingest(path, now=NOW)
    epw = write(tmp_path, "shanghai.epw", "LOCATION,Shanghai\n")
    with pytest.raises(WeatherFileError, match="EnergyPlus weather"):
        store.ingest(epw, now=NOW)
    assert issubclass(WeatherFileError, IngestError)
    # A meter file with a temperature column is meter data.
    assert guess_mapping(["meter_id", "timestamp", "value", "temperature"]).kind == "interval"


def test_the_temperature_column_is_configurable(tmp_path: Path) -> None:
    from carbon import mv

    days = pd.date_range("2024-01-01", periods=3, freq="D").strftime("%Y-%m-%d")
    named = tmp_path / "t.csv"
    pd.DataFrame({"date": days, "tx_mean": [5.0, 6.0, 7.0]}).to_csv(named, index=False)
    series = mv.load_temperature(named, column="tx_mean")
    assert series.tolist() == [5.0, 6.0, 7.0] and series.name == "temperature_degC"
    with pytest.raises(mv.TemperatureFileError, match=r"expected date,'tx_mean' \(daily"):
        mv.load_temperature(write(tmp_path, "u.csv", "date,t\n2024-01-01,5\n"), column="tx_mean")
    chinese = tmp_path / "zh.csv"
    pd.DataFrame({"date": days, "日平均气温(℃)": [1.0, 2.0, 3.0]}).to_csv(chinese, index=False)
    assert mv.load_temperature(chinese).tolist() == [1.0, 2.0, 3.0]


# --- bounded memory ----------------------------------------------------------------------------


def test_ingest_holds_duckdb_to_the_ingest_memory_limit(tmp_path: Path, twin: Twin) -> None:
    path = write(tmp_path, "e.csv", HEADER + "E-KAIDIKE,2024-01-01 00:00,1,kWh\n")
    setting = "SELECT current_setting('memory_limit'), current_setting('enable_progress_bar')"
    # 512 MB is 488.2 MiB; a store opened with its own limit keeps it (1 GB = 953.6 MiB).
    for limit, during_expected in ((None, "488.2 MiB"), ("1GB", "953.6 MiB")):
        with Store(tmp_path / f"s{limit}.duckdb", memory_limit=limit) as s:
            s.sync_twin(twin)
            before = s.con.execute(setting).fetchall()[0]
            seen: list[tuple[str, bool]] = []

            def probe(
                stage: str,
                done: int,
                total: int,
                s: Store = s,
                seen: list[tuple[str, bool]] = seen,
            ) -> None:
                seen.append(s.con.execute(setting).fetchall()[0])

            s.ingest(path, now=NOW, progress=probe)
            # DuckDB's own progress bar (stderr) is off while the library ingests.
            assert set(seen) == {(during_expected, False)}
            assert s.con.execute(setting).fetchall()[0] == before
    assert INGEST_MEMORY_LIMIT == "512MB"


# --- the worked examples of docs/ingest.md ingest as the page says ------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "ingest.md"


def _doc_examples() -> list[tuple[str, str, str | None]]:
    """(heading, file text, mapping TOML or None) of each worked example with a file."""
    import re

    text = DOCS.read_text(encoding="utf-8")
    part = text.split("## Worked examples", 1)[1].split("\n## ", 1)[0]
    found = []
    for section in re.split(r"\n### ", part)[1:]:
        data = re.search(r"```text\n(.*?)```", section, re.S)
        toml = re.search(r"```toml\n(.*?)```", section, re.S)
        if data:
            found.append((section.splitlines()[0], data.group(1), toml.group(1) if toml else None))
    return found


def test_the_docs_have_worked_examples() -> None:
    assert len(_doc_examples()) == 6


@pytest.mark.parametrize("example", _doc_examples(), ids=lambda e: e[0][:2])
def test_docs_worked_examples_ingest_as_written(
    store: Store, tmp_path: Path, example: tuple[str, str, str | None]
) -> None:
    heading, text, toml = example
    encoding = "gbk" if "GBK" in heading else "utf-8"
    path = write(tmp_path, "export.csv", text, encoding)
    mapping = write(tmp_path, "mapping.toml", toml) if toml else None
    batch = ingest(store, path, mapping)
    assert batch.read == len(text.strip().splitlines()) - 1
    assert (batch.accepted, batch.reasons) == (batch.read, ()), rejects(store, batch)
