"""Tests of carbon.snapshot's entry writers: the Arrow table of the entries, their CSV made in
Arrow (the bytes pandas writes), and writing entries given as a frame or as Arrow.

The published bytes are the contract (DESIGN decision 5: ``verify`` compares byte for byte), so
each fast path is compared with the plain pandas path on awkward values: text that needs
quoting, Chinese text, missing values, DECIMAL values that Python prints in scientific
notation (``0E-9``), negative amounts and an empty table.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carbon.snapshot import (
    ENTRY_COLUMNS,
    ENTRY_SCHEMA,
    Snapshot,
    SnapshotError,
    entries_csv,
    entries_table,
    write_entries,
)


def _entry(i: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "entry_id": f"E{i:020x}",
        "kind": "emission",
        "period_start": dt.date(2024, 1 + i % 12, 1),
        "period_end": dt.date(2024 + (1 + i % 12) // 12, (1 + i % 12) % 12 + 1, 1),
        "node_id": f"o{i}",
        "node_path": f"city/b{i % 3}/o{i}",
        "node_kind": "office_building",
        "gpc_ref": "I.2.2",
        "gpc_sector": "I",
        "scope": 2,
        "method": "location",
        "activity": "electricity.grid",
        "amount": Decimal("1000.000000") + i,
        "unit": "kWh",
        "factor_id": "sh-eeb-2022.electricity",
        "factor_co2e": Decimal("0.420000000"),
        "co2_kg": Decimal("420.000") + i,
        "ch4_kg": Decimal("0.000"),
        "n2o_kg": Decimal("0.000"),
        "co2e_kg": Decimal("420.000") + i,
        "dq_activity": "H",
        "dq_factor": "H",
        "completeness": Decimal("1.000000"),
        "meters": 1,
        "readings": 744,
        "estimated": 0,
        "source_batches": "b_1",
        "adjusts": None,
        "notes": None,
    }
    row.update(changes)
    return row


def _awkward() -> pd.DataFrame:
    rows = [_entry(i) for i in range(6)]
    rows[0].update(notes='a "quoted", note', source_batches="b_1,b_2")  # quote and comma
    rows[1].update(notes="two\nlines", node_kind="住宅小区")  # newline, Chinese
    rows[2].update(factor_co2e=Decimal("0E-9"), co2_kg=None, ch4_kg=None, n2o_kg=None)
    rows[3].update(factor_co2e=Decimal("1E-9"), amount=Decimal("-0.000001"), notes="")
    rows[4].update(completeness=Decimal("0.333333"), kind="adjustment", adjusts="E0")
    rows[5].update(factor_co2e=Decimal("0.000001234"), co2e_kg=Decimal("-12.345"))
    return pd.DataFrame(rows[::-1])  # unsorted: the writers sort by entry id


def _pandas_csv(table: pa.Table) -> bytes:
    buffer = io.StringIO()
    table.to_pandas().to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode()


def test_entries_csv_is_the_csv_pandas_writes() -> None:
    table = entries_table(_awkward())
    text = entries_csv(table)
    assert text == _pandas_csv(table)
    lines = text.decode().split("\n")
    assert lines[0] == ",".join(ENTRY_COLUMNS)
    assert '"a ""quoted"", note"' in text.decode() and ',"b_1,b_2",' in text.decode()
    assert ",0E-9," in text.decode() and ",1E-9," in text.decode()  # as str(Decimal) prints
    # an empty table is its header; a table of several chunks is the same text
    assert entries_csv(table.slice(0, 0)) == _pandas_csv(table.slice(0, 0))
    chunked = pa.concat_tables([table.slice(0, 2), table.slice(2)])
    assert chunked.column(0).num_chunks == 2 and entries_csv(chunked) == text


def test_entries_csv_refuses_a_column_it_cannot_write() -> None:
    table = pa.table({"entry_id": ["E1"], "co2e_t": pa.array([0.5], pa.float64())})
    with pytest.raises(SnapshotError, match="column co2e_t of type double is not written"):
        entries_csv(table)


def test_entries_table_takes_decimals_floats_and_text_alike() -> None:
    frame = _awkward()
    table = entries_table(frame)
    assert table.schema.equals(ENTRY_SCHEMA) and table.schema.metadata is None
    floats = frame.astype({"co2e_kg": "float64", "amount": "float64"})
    assert entries_table(floats).equals(table)  # floats go through Decimal(str(value))
    assert entries_table(frame.astype({"amount": str})).equals(table)
    with pytest.raises(pa.ArrowInvalid):  # a value finer than its column's scale
        entries_table(frame.assign(co2e_kg=Decimal("1.0005")))


def test_write_entries_from_arrow_or_a_frame_gives_the_same_bytes(tmp_path: Path) -> None:
    frame = _awkward()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_entries(frame, tmp_path / "a")
    write_entries(entries_table(frame), tmp_path / "b")  # unsorted Arrow: sorted on writing
    for name in ("entries.parquet", "entries.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    written = pq.read_table(tmp_path / "a" / "entries.parquet")
    assert written.column("entry_id").to_pylist() == sorted(frame.entry_id)
    snapshot = Snapshot(tmp_path / "a", {"snapshot_id": "x", "outputs": {}})
    assert snapshot.entries_arrow().equals(written)
    with pytest.raises(SnapshotError, match="another schema"):
        write_entries(written.drop_columns(["notes"]), tmp_path / "b")
