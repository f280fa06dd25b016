"""Tests of carbon.store: the versioned schema, read-only opening and the twin sync."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from helpers import write_office_twin

from carbon.errors import CarbonError
from carbon.store import SCHEMA_VERSION, Store, StoreError
from carbon.twin import Twin, load_twin

TABLES = {
    "store_meta",
    "nodes",
    "meters",
    "batches",
    "readings",
    "register_reads",
    "meter_events",
    "activities",
    "rejects",
}
VIEWS = {
    "current_readings",
    "current_activities",
    "current_register_reads",
    "current_meter_events",
}


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


def relations(store: Store) -> dict[str, str]:
    """Every table and view of the main schema, with its type."""
    rows = store.con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return dict(rows)


def snapshot(store: Store) -> dict[str, object]:
    """Everything a reopen could change: the relations, the meta rows and every table's rows."""
    out: dict[str, object] = {"relations": relations(store)}
    for table in sorted(TABLES):
        out[table] = sorted(store.con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    return out


# --- schema versioning --------------------------------------------------------------------


def test_new_file_gets_schema_v3(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    assert not path.exists()
    with Store(path) as store:
        assert SCHEMA_VERSION == 3
        assert store.schema_version == 3
        assert store.path == path
        found = relations(store)
        # Later layers (the ledger) add tables of their own; these are the store's.
        assert {t for t, kind in found.items() if kind == "BASE TABLE"} >= TABLES
        assert {v for v, kind in found.items() if kind == "VIEW"} == VIEWS
        meta = store.con.execute("SELECT key, value FROM store_meta").fetchall()
        assert meta == [("schema_version", "3")]
        for table in TABLES - {"store_meta"}:
            assert store.con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]
        # Before a twin is synced, naive timestamps are read in the default zone.
        assert store.timezone == "Asia/Shanghai"
        assert repr(store) == f"Store({str(path)!r}, schema v3)"
    assert path.is_file()


def test_memory_store_has_the_schema_too() -> None:
    with Store() as store:
        assert store.path is None
        assert store.schema_version == 3
        assert set(relations(store)) >= TABLES | VIEWS
        assert repr(store) == "Store(':memory:', schema v3)"


def test_reopening_a_current_file_changes_nothing(tmp_path: Path, twin: Twin) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.sync_twin(twin)
        store.con.execute(
            "INSERT INTO rejects VALUES ('b_0', 1, '{\"a\":\"1\"}', 'bad_number', 'kept')"
        )
        before = snapshot(store)
    with Store(path) as store:
        assert snapshot(store) == before
        assert store.schema_version == 3
    with Store(path) as store:
        # The reopened store is usable at once: DuckDB 2 refuses register() while a result is
        # unfinished, and the version check used to leave one (this sync raised before the
        # fix in store.py).
        assert store.sync_twin(twin) == 136
        assert snapshot(store) == before
        assert store.schema_version == 3
        assert store.sync_twin(twin) == 136


def test_newer_schema_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    with Store(path) as store:
        store.con.execute("UPDATE store_meta SET value = '7' WHERE key = 'schema_version'")
    with pytest.raises(
        StoreError, match=r"has schema v7, newer than this carbon-twin .*\(v3\)"
    ) as refused:
        Store(path)
    assert "future.duckdb" in str(refused.value)
    # The refused open neither migrated nor rewrote anything, and closed the file even while
    # the error (whose traceback holds the half-built Store) is still alive.
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT key, value FROM store_meta").fetchall() == [
            ("schema_version", "7")
        ]
    finally:
        con.close()
    del refused


def test_store_error_is_a_carbon_error_and_a_runtime_error() -> None:
    assert issubclass(StoreError, CarbonError)
    assert issubclass(StoreError, RuntimeError)


def test_read_only_open_of_a_current_file(tmp_path: Path, twin: Twin) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.sync_twin(twin)
        before = snapshot(store)
    with Store(path, read_only=True) as ro:
        assert ro.read_only is True
        assert ro.schema_version == 3
        assert ro.con.execute("SELECT count(*) FROM meters").fetchall() == [(136,)]
        assert ro.timezone == "Asia/Shanghai"
        with pytest.raises(duckdb.Error, match="read-only"):
            ro.con.execute("INSERT INTO store_meta VALUES ('x', 'y')")
        assert ro.sync_twin(twin) == 136  # the store holds this twin already: nothing to write
        with pytest.raises(duckdb.Error, match="read-only"):
            ro.sync_twin(load_twin(write_office_twin(tmp_path / "other")))
    with Store(path) as store:
        assert snapshot(store) == before


def test_sync_twin_writes_only_a_changed_twin(tmp_path: Path) -> None:
    folder = write_office_twin(tmp_path / "t")
    with Store(tmp_path / "s.duckdb") as store:
        assert store.sync_twin(load_twin(folder)) == 1
        print_ = store.con.execute("SELECT value FROM store_meta WHERE key = 'twin_fingerprint'")
        first = print_.fetchall()
        assert store.sync_twin(load_twin(folder)) == 1  # unchanged: skipped
        write_office_twin(folder, meter="M2")  # same files, another meter id
        assert store.sync_twin(load_twin(folder)) == 2  # INSERT OR REPLACE keeps M1
        assert store.con.execute("SELECT meter_id FROM meters ORDER BY 1").fetchall() == [
            ("M1",),
            ("M2",),
        ]
        second = store.con.execute(
            "SELECT value FROM store_meta WHERE key = 'twin_fingerprint'"
        ).fetchall()
        assert first != second


def test_read_only_open_of_a_missing_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "absent.duckdb"
    with pytest.raises(StoreError, match=r"Cannot open store .*absent\.duckdb"):
        Store(path, read_only=True)
    assert not path.exists()


def test_read_only_open_of_an_unmigrated_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "bare.duckdb"
    duckdb.connect(str(path)).close()  # a DuckDB file without our schema: version 0
    with pytest.raises(StoreError, match=r"has schema v0 and needs v3; open it once read-write"):
        Store(path, read_only=True)
    with Store(path) as store:  # read-write migrates it
        assert store.schema_version == 3


# --- the twin -----------------------------------------------------------------------------


def test_sync_twin_fills_nodes_and_meters(tmp_path: Path, twin: Twin) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        assert store.sync_twin(twin) == 136
        assert len(twin.meters) == 136
        assert store.con.execute("SELECT count(*) FROM nodes").fetchall() == [(len(twin.nodes),)]
        meters = {
            r[0]: r[1:]
            for r in store.con.execute(
                'SELECT meter_id, node_id, activity, canonical_unit, unit, reading, "interval", '
                "twin FROM meters"
            ).fetchall()
        }
        assert meters["E-KAIDIKE"] == (
            "kaidike",
            "electricity.grid",
            "kWh",
            "kWh",
            "interval",
            "1h",
            "shimen_erlu",
        )
        assert meters["W-KAIDIKE"] == (
            "kaidike",
            "water.supply",
            "m3",
            "m3",
            "register",
            "1mo",
            "shimen_erlu",
        )
        assert meters["G-KAIDIKE"] == (
            "kaidike",
            "natural_gas.combustion",
            "m3",
            "m3",
            "register",
            "1mo",
            "shimen_erlu",
        )
        kinds = store.con.execute(
            'SELECT reading, "interval", count(*) FROM meters GROUP BY ALL ORDER BY ALL'
        ).fetchall()
        assert kinds == [("interval", "1h", 66), ("register", "1mo", 70)]
        nodes = dict(
            (r[0], r[1:])
            for r in store.con.execute(
                "SELECT node_id, parent_id, kind, path FROM nodes"
            ).fetchall()
        )
        assert nodes["shimen_erlu"][0] is None
        assert nodes["kaidike"] == (
            twin.node("kaidike").parent,
            twin.node("kaidike").kind,
            twin.path("kaidike"),
        )
        meta = dict(store.con.execute("SELECT key, value FROM store_meta").fetchall())
        assert len(meta.pop("twin_fingerprint")) == 64  # SHA-256 hex of what was written
        assert meta == {
            "schema_version": "3",
            "timezone": "Asia/Shanghai",
            "twin": "shimen_erlu",
        }
        # A second sync replaces rows instead of duplicating them.
        assert store.sync_twin(twin) == 136
        assert store.con.execute("SELECT count(*) FROM nodes").fetchall() == [(len(twin.nodes),)]
