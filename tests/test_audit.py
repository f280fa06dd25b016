"""Tests of carbon.audit: snapshots written whole or not at all, manifests, byte-for-byte
verification (and what it names when something changed), thread-count independence, tracing
and diffs.

Every input file is written here; every store is a real DuckDB file in tmp_path. Hand values
(shanghai-2022): electricity 0.42 kgCO2/kWh location-based; gas 2.168682012 kgCO2e/m3 (CO2 2.1622
with IPCC Tier 1 CH4 and N2O, AR5); MSW incinerated 728.6252 kgCO2e/t (IPCC 2006 Vol. 5,
factors/ipcc-2006-waste.toml).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import write_office_twin

import carbon.audit as audit
import carbon.snapshot
from carbon.audit import AuditError, latest_snapshot, load_snapshot, replay, trace, verify
from carbon.factors import FactorSet, load_factor_set
from carbon.ledger import Ledger, build_ledger
from carbon.store import Store
from carbon.twin import Twin, load_twin

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)

ELECTRICITY = (
    "meter_id,timestamp,value\n"
    "E-KAIDIKE,2024-01-01 00:00,300.5\n"
    "E-KAIDIKE,2024-01-31 23:00,12.25\n"  # kaidike January: 312.75 kWh x 0.42 = 131.355 kg
    "E-KAIDIKE,2024-02-01 00:00,40\n"  # kaidike February: 40 kWh x 0.42 = 16.800 kg
    "E-FENGXIAN-FENGXIANESTATE,2024-01-15 12:00,100\n"
    "E-FENGXIAN-FENGXIANESTATE,2024-01-20 08:00,23.4\n"  # 123.4 kWh x 0.42 = 51.828 kg
    "E-NOPE,2024-01-01 00:00,1\n"  # rejected: unknown_meter
)
GAS = "meter_id,read_at,reading\nG-KAIDIKE,2024-01-01,1000\nG-KAIDIKE,2024-02-01,1100.25\n"
WASTE = (
    "node_id,activity,period_start,period_end,amount,unit\n"
    "shimen_erlu,waste.msw.incineration,2024-01-01,2024-02-01,2,t\n"  # 2 x 728.6252 = 1457.250 kg
)
FILES = {"elec.csv": ELECTRICITY, "gas.csv": GAS, "waste.csv": WASTE}
KAIDIKE_JANUARY = {
    "node_id": "kaidike",
    "period_start": JAN,
    "method": "location",
    "activity": "electricity.grid",
}

# The files the module docstring lists for a snapshot folder.
SNAPSHOT_FILES = {
    "entries.parquet",
    "entries.csv",
    "gpc_table.csv",
    "coverage.parquet",
    "rejects.csv",
    "factors.csv",
    "nodes.csv",
    "meters.csv",
    "geometry.geojson",
    "manifest.json",
}


@pytest.fixture(scope="module")
def twin() -> Twin:
    return load_twin("shimen_erlu")


@pytest.fixture(scope="module")
def shanghai() -> FactorSet:
    return load_factor_set("shanghai-2022")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(
    folder: Path,
    twin: Twin,
    factors: FactorSet,
    files: dict[str, str] = FILES,
    *,
    threads: int | None = None,
) -> Ledger:
    """Write ``files`` under ``folder/inputs``, ingest them into a fresh store, build Jan-Feb."""
    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    store = Store(folder / "store.duckdb", threads=threads)
    store.sync_twin(twin)
    for name, text in files.items():
        path = folder / "inputs" / name
        path.write_text(text, encoding="utf-8")
        store.ingest(path, now=NOW)
    return build_ledger(store, twin, factors, JAN, MAR)


def entry_id(ledger: Ledger | pd.DataFrame, **where: Any) -> str:
    e = ledger.entries if isinstance(ledger, Ledger) else ledger
    mask = pd.Series(True, index=e.index)
    for col, value in where.items():
        mask &= e[col] == value
    (hit,) = e[mask].entry_id
    return str(hit)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@dataclass
class Published:
    ledger: Ledger
    out: Path
    snapshot: audit.Snapshot
    folder: Path


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, twin: Twin, shanghai: FactorSet
) -> Iterator[Published]:
    """One published snapshot, its store closed afterwards; tests must not change it."""
    folder = tmp_path_factory.mktemp("published")
    ledger = build(folder, twin, shanghai)
    snapshot = ledger.publish(folder / "snapshots")
    ledger.store.close()
    yield Published(ledger, folder / "snapshots", snapshot, folder)


# --- publish ---------------------------------------------------------------------------------


def test_the_docstring_lists_the_snapshot_files() -> None:
    doc = carbon.snapshot.__doc__ or ""
    pattern = r"^\s+(?:<out>/<snapshot_id>/)?(\S+\.(?:parquet|csv|geojson|json))\s"
    listed = re.findall(pattern, doc, re.M)
    assert set(listed) == SNAPSHOT_FILES


def test_publish_writes_every_file_and_a_manifest(
    published: Published, shanghai: FactorSet, twin: Twin
) -> None:
    snap, ledger = published.snapshot, published.ledger
    assert {p.name for p in snap.path.iterdir()} == SNAPSHOT_FILES
    m = snap.manifest
    # Every output but the manifest itself, with its SHA-256.
    assert m["outputs"] == {
        name: sha256(snap.path / name) for name in sorted(SNAPSHOT_FILES - {"manifest.json"})
    }
    # Every input file with its SHA-256 and row counts.
    inputs = {i["file_name"]: i for i in m["inputs"]}
    assert set(inputs) == set(FILES)
    located = m["environment"]["inputs"]
    for name, i in inputs.items():
        source = published.folder / "inputs" / name
        assert i["sha256"] == sha256(source)
        assert located[i["batch_id"]] == str(source)
    assert inputs["elec.csv"]["rows"] == {"read": 6, "accepted": 5, "rejected": 1}
    assert m["factor_set"]["content_hash"] == shanghai.content_hash
    assert m["factor_set"]["files"] == shanghai.files
    assert m["twin"]["content_hash"] == twin.content_hash
    assert m["period"] == {"start": "2024-01-01", "end": "2024-03-01"}
    # electricity 3 node-months x 2 views, gas, waste; the waste's biogenic CO2 as a memo
    assert m["counts"] == {"emission": 8, "memo": 1}
    assert m["totals_t"]["2024"]["BASIC_location"] == round(ledger.total(), 6)
    # BASIC = 217.410 (gas, 100.25 m3) + 1457.250 (2 t incinerated) = 1674.660 kg; the
    # electricity rows (131.355 + 16.800 + 51.828 kg) are below 50 % coverage, NE, out of BASIC.
    assert m["totals_t"]["2024"]["BASIC_location"] == pytest.approx(1.674660)
    assert m["closed_entries"] is None
    # The id names the twin, the period and a hash over the manifest but its environment (and
    # so, through "outputs", over every published byte); LATEST names it.
    body = {k: v for k, v in m.items() if k not in ("snapshot_id", "environment")}
    key = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    assert snap.id == "shimen_erlu_202401-202403_" + hashlib.sha256(key.encode()).hexdigest()[:12]
    assert snap.path == published.out / snap.id
    assert (published.out / "LATEST").read_text(encoding="utf-8") == snap.id + "\n"
    assert latest_snapshot(published.out).id == snap.id
    assert load_snapshot(published.out).id == snap.id  # a snapshots folder opens its LATEST
    assert not list(published.out.glob(".tmp-snapshot-*"))
    # The entries round-trip exactly, Decimals included.
    got = snap.entries()
    assert got.entry_id.tolist() == ledger.entries.entry_id.tolist()
    assert got.co2e_kg.tolist() == ledger.entries.co2e_kg.tolist()
    assert Decimal("131.355") in set(got.co2e_kg)
    # The side tables.
    rejects = snap.table("rejects")
    assert rejects[["file_name", "reason", "rows", "first_row"]].values.tolist() == [
        ["elec.csv", "unknown_meter", "1", "6"]
    ]
    factors = snap.table("factors").set_index("factor_id")
    assert set(factors.index) == set(ledger.entries.factor_id)
    assert "沪环气〔2022〕34号" in factors.loc["sh-eeb-2022.electricity", "citation"]
    gpc = snap.table("gpc_table")
    blocks = {c.id for c in twin.children(twin.root.id)}
    assert set(gpc.node_id) == {twin.root.id} | blocks
    assert set(gpc.method) == {"location", "market"}
    assert len(snap.table("nodes")) == len(twin.nodes)


def test_publish_is_atomic_when_it_fails(
    tmp_path: Path, twin: Twin, shanghai: FactorSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = build(tmp_path, twin, shanghai)
    out = tmp_path / "snapshots"
    first = ledger.publish(out)
    more = tmp_path / "inputs" / "more.csv"
    more.write_text("meter_id,timestamp,value\nE-JIAFA,2024-01-05 10:00,7\n", encoding="utf-8")
    ledger.store.ingest(more, now=NOW)
    changed = build_ledger(ledger.store, twin, shanghai, JAN, MAR)

    def broken(led: Ledger, folder: Path) -> None:
        (folder / "gpc_table.csv").write_text("half a tab", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(carbon.snapshot, "_side_tables", broken)
    with pytest.raises(OSError, match="disk full"):
        changed.publish(out)
    # Nothing half-written is left, and LATEST still names the last good snapshot.
    assert sorted(p.name for p in out.iterdir()) == sorted(["LATEST", first.id])
    assert latest_snapshot(out).id == first.id
    ledger.store.close()


def test_the_same_ledger_publishes_the_same_bytes(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    ledger = build(tmp_path, twin, shanghai)
    a = ledger.publish(tmp_path / "one")
    again = ledger.publish(tmp_path / "one")
    assert again.id == a.id
    assert [p.name for p in (tmp_path / "one").iterdir() if p.is_dir()] == [a.id]
    b = ledger.publish(tmp_path / "two")
    assert b.id == a.id
    assert files_of(b.path) == files_of(a.path)
    ledger.store.close()


def test_one_and_two_threads_give_identical_bytes(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    one = build(tmp_path / "t1", twin, shanghai, threads=1)
    two = build(tmp_path / "t2", twin, shanghai, threads=2)
    for led, name in ((one, "w1"), (two, "w2")):
        (tmp_path / name).mkdir()
        audit.write_entries(led.entries, tmp_path / name)
        led.store.close()
    assert files_of(tmp_path / "w1") == files_of(tmp_path / "w2")


# --- verify ----------------------------------------------------------------------------------


def test_verify_passes_on_an_untouched_snapshot(published: Published) -> None:
    result = verify(published.snapshot.path)
    assert (result.ok, result.problems, result.first_difference) == (True, [], None)
    assert str(result) == "verified: the rebuild is byte-identical"


def _copy(published: Published, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(published.snapshot.path, copy)
    return copy


def test_verify_names_a_changed_csv_byte_and_the_entry(
    published: Published, tmp_path: Path
) -> None:
    copy = _copy(published, tmp_path)
    target = entry_id(published.ledger, **KAIDIKE_JANUARY)
    text = (copy / "entries.csv").read_bytes()
    line_start = text.index(target.encode())
    at = text.index(b"131.355", line_start)
    (copy / "entries.csv").write_bytes(text[: at + 6] + b"6" + text[at + 7 :])  # 131.356
    result = verify(copy)
    assert not result.ok
    # The rebuild equals what the manifest records: the published file was changed.
    assert result.problems == [
        "output entries.csv changed since publication (SHA-256 differs)",
        f"first differing entry: {target}",
    ]
    assert result.first_difference == target
    assert "entries.csv changed" in str(result)
    assert str(result).startswith("NOT verified: ")
    assert verify(published.snapshot.path).ok  # the original is untouched


def test_verify_names_a_changed_parquet_byte(published: Published, tmp_path: Path) -> None:
    copy = _copy(published, tmp_path)
    data = (copy / "entries.parquet").read_bytes()
    # One byte of the schema: the column 'notes' becomes 'notez'; the file still reads, and
    # every row now differs from the rebuilt one, the first id first.
    at = data.index(b"notes") + 4
    (copy / "entries.parquet").write_bytes(data[:at] + b"z" + data[at + 1 :])
    result = verify(copy)
    first = min(published.ledger.entries.entry_id)
    assert result.problems == [
        "output entries.parquet changed since publication (SHA-256 differs)",
        f"first differing entry: {first}",
    ]
    assert result.first_difference == first
    # One byte of the trailing magic number: the file no longer reads at all.
    (copy / "entries.parquet").write_bytes(data[:-1] + b"2")
    result = verify(copy)
    assert result.problems == [
        "output entries.parquet changed since publication (SHA-256 differs)",
        "published entries.parquet cannot be read as entries",
    ]
    assert (result.ok, result.first_difference) == (False, None)


def test_verify_survives_a_damaged_csv_header_and_other_outputs(
    published: Published, tmp_path: Path
) -> None:
    copy = _copy(published, tmp_path)
    text = (copy / "entries.csv").read_bytes()
    (copy / "entries.csv").write_bytes(text.replace(b"entry_id", b"entry_ix", 1))
    nodes = (copy / "nodes.csv").read_bytes()
    (copy / "nodes.csv").write_bytes(nodes + b"\n")
    result = verify(copy)
    assert result.problems == [
        "output entries.csv changed since publication (SHA-256 differs)",
        "output nodes.csv changed since publication (SHA-256 differs)",
        "published entries.csv cannot be read as entries",
    ]
    assert result.first_difference is None


def test_verify_names_a_changed_or_missing_input(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    ledger = build(tmp_path, twin, shanghai)
    snapshot = ledger.publish(tmp_path / "snapshots")
    ledger.store.close()
    elec = tmp_path / "inputs" / "elec.csv"
    elec.write_text(ELECTRICITY.replace("300.5", "300.6"), encoding="utf-8")
    result = verify(snapshot.path)
    # A changed input is not the recorded one: nothing is rebuilt from it.
    assert not result
    (problem,) = result.problems
    assert re.fullmatch(
        r"input elec\.csv changed \(SHA-256 differs from the recorded [0-9a-f]{12}\.\.\.\) at "
        + re.escape(str(elec)),
        problem,
    )
    elec.unlink()
    result = verify(snapshot.path)
    assert result.problems == [
        f"input elec.csv ({snapshot.manifest['inputs'][0]['batch_id']}) is missing at {elec}; "
        "give the folder that holds it with --inputs"
    ] or "elec.csv" in result.problems[0]
    with pytest.raises(AuditError, match=r"input elec\.csv \(b_[0-9a-f]{16}\) is missing at"):
        replay(snapshot)


def test_replay_is_byte_identical_with_one_or_two_threads(tmp_path: Path) -> None:
    # The demo's two months (136 meters, hourly) are enough rows for DuckDB to work in parallel.
    from carbon.demo import build_demo

    result = build_demo(tmp_path / "demo", start="2024-01-01", end="2024-03-01")
    result.ledger.store.close()
    snapshot = result.snapshot
    assert snapshot.manifest["synthetic_inputs"] is True
    for threads in (1, 2):
        rebuilt = replay(snapshot, threads=threads)
        folder = tmp_path / f"threads{threads}"
        folder.mkdir()
        audit.write_entries(rebuilt.entries, folder)
        rebuilt.store.close()
        for name in ("entries.parquet", "entries.csv"):
            assert (folder / name).read_bytes() == (snapshot.path / name).read_bytes(), (
                threads,
                name,
            )


# --- closed entries in snapshots -------------------------------------------------------------


def test_closed_entries_keep_their_decimals(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    # 744 hours x 123456789.123457 kWh = 91851851107.852008 kWh in January: more digits than a
    # float holds (it reads back as 91851851107.852), so closed entries must stay DECIMAL.
    hours = (dt.datetime(2024, 1, 1) + dt.timedelta(hours=h) for h in range(744))
    big = "meter_id,timestamp,value\n" + "".join(
        f"E-KAIDIKE,{ts:%Y-%m-%d %H:%M},123456789.123457\n" for ts in hours
    )
    ledger = build(tmp_path, twin, shanghai, {"big.csv": big})
    out = tmp_path / "snapshots"
    ledger.publish(out, close_through=FEB)
    store = ledger.store
    feb = tmp_path / "inputs" / "feb.csv"
    feb.write_text("meter_id,timestamp,value\nE-KAIDIKE,2024-02-01 00:00,1\n", encoding="utf-8")
    store.ingest(feb, now=NOW)
    later = build_ledger(store, twin, shanghai, JAN, MAR)
    snapshot = later.publish(out)
    closed = pq.read_table(snapshot.path / "closed_entries.parquet").to_pandas()
    assert set(closed.amount) == {Decimal("91851851107.852008")}
    # 91851851107.852008 x 0.42 = 38577777465.29784336 -> 38577777465.298
    loc = closed[closed.method == "location"]
    assert loc.co2e_kg.tolist() == [Decimal("38577777465.298")]
    assert snapshot.manifest["closed_entries"] == "closed_entries.parquet"
    assert snapshot.manifest["outputs"]["closed_entries.parquet"] == sha256(
        snapshot.path / "closed_entries.parquet"
    )
    store.close()
    # The replay starts from the closed entries as published, so the rebuild matches.
    assert verify(snapshot.path).ok


# --- trace ----------------------------------------------------------------------------------


def test_trace_walks_to_readings_factor_and_inputs(published: Published) -> None:
    path, led = published.snapshot.path, published.ledger
    target = entry_id(led, **KAIDIKE_JANUARY)
    t = trace(path, target)
    assert t.entry["entry_id"] == target
    assert t.entry["co2e_kg"] == Decimal("131.355")
    # Two readings, 300.5 + 12.25 = 312.75 kWh, from local 1 Jan 00:00 to 1 Feb 00:00.
    r = t.readings
    assert r[["meter_id", "quality", "file_name", "line"]].values.tolist() == [
        ["E-KAIDIKE", "measured", "elec.csv", 2],
        ["E-KAIDIKE", "measured", "elec.csv", 3],
    ]
    assert r.amount.tolist() == [Decimal("300.5"), Decimal("12.25")]
    assert (t.totals["rows"], t.totals["amount"], t.totals["estimated_rows"]) == (
        2, Decimal("312.75"), 0
    )
    assert r.start.iloc[0] == pd.Timestamp("2024-01-01 00:00", tz="Asia/Shanghai")
    assert r.end.iloc[-1] == pd.Timestamp("2024-02-01 00:00", tz="Asia/Shanghai")
    assert t.deductions.empty and t.balance == 0
    assert t.factor["factor_id"] == "sh-eeb-2022.electricity"
    assert t.factor["co2e_per_unit"] == "0.42"
    assert "沪环气〔2022〕34号" in t.factor["citation"]
    assert [(b["file_name"], b["sha256"]) for b in t.batches] == [
        ("elec.csv", sha256(published.folder / "inputs" / "elec.csv"))
    ]
    gas = trace(path, entry_id(led, activity="natural_gas.combustion"))
    assert gas.readings[["meter_id", "line"]].values.tolist() == [["G-KAIDIKE", 3]]
    assert gas.readings.amount.tolist() == [Decimal("100.25")]
    assert gas.factor["factor_id"] == "cn-fuel.natural_gas"
    waste = trace(path, entry_id(led, activity="waste.msw.incineration"))
    assert waste.readings[["node_id", "activity", "line"]].values.tolist() == [
        ["shimen_erlu", "waste.msw.incineration", 2]
    ]
    assert waste.readings.amount.tolist() == [Decimal("2")]
    assert [b["file_name"] for b in waste.batches] == ["waste.csv"]


def test_trace_replays_when_the_store_is_gone(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    ledger = build(tmp_path, twin, shanghai)
    snapshot = ledger.publish(tmp_path / "snapshots")
    ledger.store.close()
    (tmp_path / "store.duckdb").unlink()
    target = entry_id(ledger, node_id="fengxian.fengxian_estate", method="market")
    t = trace(snapshot.path, target)
    # 100 + 23.4 = 123.4 kWh in two readings, replayed from the recorded inputs.
    assert t.source == "replay"
    assert t.readings[["meter_id", "line"]].values.tolist() == [
        ["E-FENGXIAN-FENGXIANESTATE", 5],
        ["E-FENGXIAN-FENGXIANESTATE", 6],
    ]
    assert t.totals["amount"] == Decimal("123.4") == t.entry["amount"]
    assert t.factor["factor_id"] == "mee-nbs-excl-market.2023.cn"


def test_trace_of_an_unknown_id_lists_close_ids(published: Published) -> None:
    target = entry_id(published.ledger, activity="natural_gas.combustion")
    wrong = target[:-1] + ("0" if target[-1] != "0" else "1")
    with pytest.raises(
        AuditError,
        match=rf"no entry '{wrong}' in snapshot {published.snapshot.id}; close ids: "
        rf"\['{target}'\]",
    ):
        trace(published.snapshot.path, wrong)


# --- diff and loading ------------------------------------------------------------------------


def test_diff_names_added_and_changed_entries_and_the_new_input(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    ledger = build(tmp_path, twin, shanghai, {"elec.csv": ELECTRICITY})
    out = tmp_path / "snapshots"
    before = ledger.publish(out)
    extra = tmp_path / "inputs" / "extra.csv"
    extra.write_text(
        "meter_id,timestamp,value\n"
        "E-KAIDIKE,2024-02-05 10:00,60\n"  # kaidike February: 40 + 60 = 100 kWh
        "E-JIAFA,2024-01-05 10:00,10\n",  # a new meter-month: 10 x 0.42 = 4.200 kg
        encoding="utf-8",
    )
    ledger.store.ingest(extra, now=NOW)
    after_ledger = build_ledger(ledger.store, twin, shanghai, JAN, MAR)
    after = after_ledger.publish(out)
    ledger.store.close()
    d = audit.diff(before.path, after.path)
    assert d["explanations"] == ["input added: extra.csv"]
    assert d["removed"].empty
    added = d["added"].set_index("method")
    assert set(added.node_id) == {"jiafa"}
    assert added.loc["location", "co2e_kg"] == Decimal("4.200")
    assert added.loc["market", "co2e_kg"] == Decimal("6.096")  # 10 x 0.6096
    changed = d["changed"].set_index("method")
    assert set(changed.node_id) == {"kaidike"} and set(changed.period_start) == {FEB}
    # 40 -> 100 kWh: x 0.42 16.800 -> 42.000; x 0.6096 24.384 -> 60.960.
    assert tuple(changed.loc["location", ["co2e_kg_old", "co2e_kg_new"]]) == (
        Decimal("16.800"),
        Decimal("42.000"),
    )
    assert tuple(changed.loc["market", ["co2e_kg_old", "co2e_kg_new"]]) == (
        Decimal("24.384"),
        Decimal("60.960"),
    )
    # The entries carry the change: 42.000 - 16.800 + 4.200 = 29.400 kg. The grid rows rest
    # on a few hourly readings, below the coverage threshold, so both snapshots key them NE
    # and their published BASIC (NE adds nothing) does not move.
    location = d.entries[d.entries.method == "location"]
    assert location.delta_t.sum() == pytest.approx((42.0 - 16.8 + 4.2) / 1000)  # 0.0294 t
    old, new = d["totals"]["2024.BASIC_location"]
    assert new == old


def test_loading_what_is_not_a_snapshot_raises(published: Published, tmp_path: Path) -> None:
    with pytest.raises(AuditError, match=r"is not a snapshot: no manifest\.json"):
        load_snapshot(tmp_path)
    with pytest.raises(AuditError, match=r"has no published snapshot \(no LATEST file\)"):
        latest_snapshot(tmp_path)
    copy = _copy(published, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = "carbon-twin/snapshot/0"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(AuditError, match="unknown snapshot format 'carbon-twin/snapshot/0'"):
        load_snapshot(copy)


def test_new_input_with_unchanged_entries_makes_a_new_snapshot(tmp_path: Path) -> None:
    # An input that adds nothing to the entries (here: only rows for an unknown meter, all
    # rejected) must still be recorded: a new snapshot id, the input in its manifest.
    twin = load_twin("shimen_erlu")
    factors = load_factor_set("shanghai-2022")
    good = tmp_path / "elec.csv"
    good.write_text("meter_id,timestamp,kwh\nE-KAIDIKE,2024-01-01 00:00,10\n", encoding="utf-8")
    noise = tmp_path / "noise.csv"
    noise.write_text("meter_id,timestamp,kwh\nE-NOWHERE,2024-01-01 00:00,10\n", encoding="utf-8")
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(good, twin=twin)
        first = build_ledger(store, twin, factors, "2024-01-01", "2024-02-01").publish(
            tmp_path / "o"
        )
        store.ingest(noise)
        second = build_ledger(store, twin, factors, "2024-01-01", "2024-02-01").publish(
            tmp_path / "o"
        )
    assert (first.path / "entries.parquet").read_bytes() == (
        second.path / "entries.parquet"
    ).read_bytes()
    assert second.id != first.id
    assert [i["file_name"] for i in second.manifest["inputs"]] == ["elec.csv", "noise.csv"]


def test_a_snapshot_of_an_unpackaged_twin_verifies(tmp_path: Path) -> None:
    # A twin loaded from a folder (e.g. a synthetic city) is replayed from that folder.
    folder = write_office_twin(tmp_path / "mini")
    elec = tmp_path / "elec.csv"
    elec.write_text("meter_id,timestamp,kwh\nM1,2024-01-01 00:00,100\n", encoding="utf-8")
    twin = load_twin(folder)
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(elec, twin=twin)
        ledger = build_ledger(
            store, twin, load_factor_set("shanghai-2022"), "2024-01-01", "2024-02-01"
        )
        snap = ledger.publish(tmp_path / "out")
    assert snap.manifest["environment"]["twin_folder"] == str(folder.resolve())
    result = verify(snap.path)
    assert result.ok, result.problems


def test_model_entries_without_a_script_are_not_verifiable(
    tmp_path: Path, twin: Twin, shanghai: FactorSet
) -> None:
    # Nothing recorded can rebuild amounts handed to build_ledger by hand: verify says so.
    ledger = build(tmp_path, twin, shanghai)
    extra = pd.DataFrame(
        {
            "kind": ["avoided"],
            "period_start": [JAN],
            "node_id": ["kaidike"],
            "gpc_ref": ["I.2.2"],
            "activity": ["electricity.grid"],
            "amount": [Decimal(100)],
        }
    )
    with_models = build_ledger(ledger.store, twin, shanghai, JAN, MAR, extra_entries=extra)
    snapshot = with_models.publish(tmp_path / "snapshots")
    ledger.store.close()
    result = verify(snapshot.path)
    assert not result
    assert result.problems[-1].endswith(
        "build it with a ledger script (carbon.pipeline) to make it verifiable"
    )
