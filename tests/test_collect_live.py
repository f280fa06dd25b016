"""The live collector: pushes published as provisional snapshots (carbon.live.Publisher), equal
to a full rebuild of the same store; a grown push batch seen by changed_months; the retention of
the ``messages`` table; ``carbon collect --publish``.

Real collectors on real DuckDB files, real HTTP pushes, real snapshots on disk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from collect_helpers import TOKENS, push, write_gateways, write_meter_twin
from typer.testing import CliRunner

from carbon.cli import app
from carbon.collect import CollectError, Collector, load_gateways, push_batch_id, running_collector
from carbon.errors import CarbonError
from carbon.factors import FactorSet, load_factor_set
from carbon.incremental import changed_months, update
from carbon.ledger import build_ledger
from carbon.live import Publisher, current_period
from carbon.snapshot import latest_snapshot, read_manifest
from carbon.store import Store
from carbon.twin import Twin, load_twin

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
"""The collectors' clock: 2024-06-01 12:00 in Shanghai."""
YEAR, JULY = dt.date(2024, 1, 1), dt.date(2024, 7, 1)


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Twin:
    meters = {"M1": ("interval", "15min"), "M2": ("interval", "1h")}
    return load_twin(write_meter_twin(tmp_path_factory.mktemp("twin"), meters))


@pytest.fixture(scope="module")
def factors() -> FactorSet:
    return load_factor_set("shanghai-2022")


@pytest.fixture
def gateways(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    return load_gateways(write_gateways(tmp_path / "gateways.toml", {"gw1": ["M*"]}))


def wait_for(predicate: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def readings(day: str, hours: range, meters: tuple[str, ...] = ("M1", "M2")) -> dict:  # type: ignore[type-arg]
    """One reading per meter and hour of a local day; value = hour + 0.25 [kWh]."""
    return {
        "unit": "kWh",
        "readings": [
            {"meter_id": m, "timestamp": f"{day} {h:02d}:00", "value": f"{h + 0.25}"}
            for m in meters
            for h in hours
        ],
    }


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_current_period_is_the_local_year_up_to_the_open_month() -> None:
    assert current_period(NOW, "Asia/Shanghai") == (YEAR, JULY)
    # 31 Dec 17:00 UTC is 1 Jan 01:00 in Shanghai: a new year
    new_year = dt.datetime(2024, 12, 31, 17, tzinfo=dt.UTC)
    assert current_period(new_year, "Asia/Shanghai") == (dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    december = dt.datetime(2024, 12, 15, tzinfo=dt.UTC)
    assert current_period(december, "Asia/Shanghai") == (
        dt.date(2024, 12, 1).replace(month=1),
        dt.date(2025, 1, 1),
    )


def test_pushes_are_published_as_a_full_rebuild_would_publish_them(
    tmp_path: Path,
    twin: Twin,
    factors: FactorSet,
    gateways: dict,  # type: ignore[type-arg]
) -> None:
    store, snaps = tmp_path / "s.duckdb", tmp_path / "snaps"
    with Collector(store, twin, gateways, port=0, clock=lambda: NOW) as c:
        publisher = Publisher(c, factors, snaps, every=0.1)
        publisher.start()
        # the first run at start: an empty store, nothing to publish
        wait_for(lambda: publisher.last is not None)
        assert publisher.last is not None and publisher.last.seq == 0
        assert publisher.last.snapshot is None and not (snaps / "LATEST").exists()

        # May and June readings in one message (both land in June's push batch)
        status, reply = push(c.url, TOKENS["gw1"], "k1", readings("2024-05-20", range(24)))
        assert status == 200 and reply["accepted"] == 48
        status, reply = push(c.url, TOKENS["gw1"], "k2", readings("2024-06-01", range(10)))
        assert status == 200 and reply["accepted"] == 20
        wait_for(lambda: publisher.last is not None and publisher.last.seq == c.seq)
        first = publisher.last
        assert first is not None and first.snapshot is not None
        # the first snapshot is a full build (January to June); May and June re-valued since
        assert {m for r in publisher.runs for m in r.months} == {
            dt.date(2024, m, 1) for m in range(1, 7)
        }
        snap = latest_snapshot(snaps)
        assert snap.id == first.snapshot
        assert snap.manifest["status"] == "provisional"
        assert snap.manifest["period"]["start"] == "2024-01-01"
        assert snap.manifest["period"]["end"] == "2024-07-01"
        (batch,) = [i for i in snap.manifest["inputs"] if i["batch_id"].startswith("p_")]
        assert (batch["batch_id"], batch["rows"]["read"]) == (push_batch_id("gw1", JUNE), 68)

        # a later push of June only: June alone is re-valued, May's entries are reused
        push(c.url, TOKENS["gw1"], "k3", readings("2024-06-01", range(10, 12)))
        wait_for(lambda: publisher.last is not None and publisher.last.seq == c.seq)
        second = publisher.last
        assert second is not None and second.months == (JUNE,)
        assert latest_snapshot(snaps).manifest["incremental"]["revalued"] == ["2024-06-01"]
        live = latest_snapshot(snaps).path
    assert not publisher._thread or not publisher._thread.is_alive()  # stopped with the collector
    # the same store rebuilt in full: the same entries, coverage and GPC table, byte for byte
    with Store(store) as s:
        full = build_ledger(s, twin, factors, YEAR, JULY).publish(tmp_path / "full", latest=False)
    for name in ("entries.parquet", "entries.csv", "coverage.parquet", "gpc_table.csv"):
        if (full.path / name).exists():
            assert sha(live / name) == sha(full.path / name), name


JUNE = dt.date(2024, 6, 1)


def test_a_grown_push_batch_is_a_changed_month(
    tmp_path: Path,
    twin: Twin,
    factors: FactorSet,
    gateways: dict,  # type: ignore[type-arg]
) -> None:
    store = tmp_path / "s.duckdb"
    with Collector(store, twin, gateways, port=0, clock=lambda: NOW) as c:
        push(c.url, TOKENS["gw1"], "a", readings("2024-06-01", range(3)))
    with Store(store) as s:
        before = update(s, twin, factors, YEAR, JULY, tmp_path / "snaps").snapshot
        assert changed_months(s, before, YEAR, JULY, twin.site.timezone) == []
    # the same gateway, the same month of receipt: the same batch grows (rows 7..8, March)
    with Collector(store, twin, gateways, port=0, clock=lambda: NOW) as c:
        status, reply = push(
            c.url,
            TOKENS["gw1"],
            "b",
            readings(
                "2024-03-05",
                range(1),
            ),
        )
        assert (status, reply["batch_id"], reply["first_row"]) == (
            200,
            push_batch_id("gw1", JUNE),
            7,
        )
    with Store(store) as s:
        (recorded,) = [i for i in before.manifest["inputs"] if i["batch_id"] == reply["batch_id"]]
        ((now_sha, now_read),) = s.con.execute(
            "SELECT sha256, rows_read FROM batches WHERE batch_id = ?", [reply["batch_id"]]
        ).fetchall()
        assert recorded["sha256"] != now_sha and (recorded["rows"]["read"], now_read) == (6, 8)
        # only the month of the rows numbered past the 6 the snapshot read: March, not June
        assert changed_months(s, before, YEAR, JULY, twin.site.timezone) == [dt.date(2024, 3, 1)]


def test_messages_are_pruned_after_the_retention(
    tmp_path: Path,
    twin: Twin,
    gateways: dict,  # type: ignore[type-arg]
) -> None:
    clock = [NOW]
    store = tmp_path / "s.duckdb"
    with Collector(store, twin, gateways, port=0, clock=lambda: clock[0]) as c:
        assert push(c.url, TOKENS["gw1"], "old", readings("2024-06-01", range(2)))[0] == 200
        clock[0] = NOW + dt.timedelta(days=2, minutes=1)  # past the 2-day retention
        assert push(c.url, TOKENS["gw1"], "new", readings("2024-06-01", range(2, 3)))[0] == 200
        wait_for(lambda: c.stats["messages_pruned"])  # after the reply, in the writer thread
        assert c.stats["messages_pruned"] == 1
        # "old" sent again: its key is forgotten, so it is a new message whose rows meet the
        # stored ones: nothing stored twice
        status, again = push(c.url, TOKENS["gw1"], "old", readings("2024-06-01", range(2)))
        assert (status, again["replayed"], again["accepted"]) == (200, False, 0)
        assert again["reasons"] == {"already_stored": 4}
    with Store(store) as s:
        keys = s.con.execute("SELECT message_key FROM messages ORDER BY committed_at").fetchall()
        assert keys == [("new",), ("old",)]
        assert s.con.execute("SELECT count(*) FROM readings").fetchall()[0][0] == 6
        # the batch keeps every row's count: 4 + 2 + 4 read
        assert s.con.execute("SELECT rows_read, rows_accepted FROM batches").fetchall() == [(10, 6)]
    with pytest.raises(CollectError, match="shorter than the key window"):
        Collector(store, twin, gateways, message_retention=dt.timedelta(hours=24))


def test_a_publisher_refuses_a_negative_every_and_a_stopped_collector(
    tmp_path: Path,
    twin: Twin,
    factors: FactorSet,
    gateways: dict,  # type: ignore[type-arg]
) -> None:
    c = Collector(tmp_path / "s.duckdb", twin, gateways, port=0)
    with pytest.raises(CarbonError, match="cannot be negative"):
        Publisher(c, factors, tmp_path / "snaps", every=-1)
    with pytest.raises(CarbonError, match="start the collector before its publisher"):
        Publisher(c, factors, tmp_path / "snaps").start()


def test_collect_cli_publishes_the_live_ledger(tmp_path: Path, twin: Twin) -> None:
    store, snaps = tmp_path / "s.duckdb", tmp_path / "snaps"
    gateways = write_gateways(tmp_path / "gateways.toml", {"gw1": ["M*"]})
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    local = now.astimezone(dt.timezone(dt.timedelta(hours=8)))
    answers: list[tuple[int, dict]] = []  # type: ignore[type-arg]
    seen: list[dict] = []  # type: ignore[type-arg]

    def gateway() -> None:
        try:
            wait_for(lambda: running_collector(store) is not None)
            info = running_collector(store)
            assert info is not None
            answers.append(
                push(
                    info.url,
                    TOKENS["gw1"],
                    "cli",
                    readings(f"{local:%Y-%m-%d}", range(local.hour, local.hour + 1)),
                )
            )

            def published() -> bool:
                if not (snaps / "LATEST").exists():
                    return False
                m = read_manifest(latest_snapshot(snaps).path)
                return any(i["batch_id"].startswith("p_") for i in m["inputs"])

            wait_for(published)
            seen.append(read_manifest(latest_snapshot(snaps).path))
        finally:
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
            "--publish",
            str(snaps),
            "--every",
            "0.2",
        ],
    )
    thread.join()
    assert result.exit_code == 0, result.output
    assert "publishing to" in " ".join(result.output.split())
    assert answers[0][0] == 200 and answers[0][1]["accepted"] == 2
    (manifest,) = seen
    assert manifest["status"] == "provisional"
    assert manifest["period"]["start"] == f"{local.year}-01-01"
    assert json.dumps(manifest["incremental"]["revalued"]).count(f"{local:%Y-%m}-01") == 1


def test_collect_cli_refuses_a_negative_every(tmp_path: Path, twin: Twin) -> None:
    result = CliRunner().invoke(
        app,
        [
            "collect",
            str(tmp_path / "s.duckdb"),
            "--twin",
            str(twin.folder),
            "--port",
            "0",
            "--publish",
            str(tmp_path / "snaps"),
            "--every",
            "-1",
        ],
    )
    assert result.exit_code == 2
    assert "--every -1.0: the time between runs cannot be negative" in result.output
