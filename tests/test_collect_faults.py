"""Faults of the collector: kill -9 during pushes, gateways with skewed clocks.

The collector runs as a real ``carbon collect`` process that the test kills with SIGKILL at
random moments (seeded) while a gateway pushes and retries until acknowledged, and while
utility exports are dropped into its folder; after each kill it is started again. At the end
every acknowledged reading is in the store exactly once, no message is stored twice, every
batch's counts agree with its messages, and every dropped file was ingested once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from collect_helpers import TOKENS, free_port, push, write_gateways, write_meter_twin

from carbon.collect import Collector, load_gateways
from carbon.store import Store
from carbon.twin import load_twin

METERS = [f"M{i:02d}" for i in range(20)]
BASE = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def start(args: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start ``carbon collect`` and wait until it answers."""
    with open(log, "ab") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "carbon.cli", "collect", *args, "--port", str(port)],
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"collector exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            import http.client

            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/v1/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("collector did not start")


def message(i: int) -> dict[str, object]:
    """Message i: one 15-minute reading of every meter, interval i; value = meter + i / 100."""
    ts = (BASE + dt.timedelta(minutes=15 * i)).isoformat()
    return {
        "unit": "kWh",
        "readings": [
            {"meter_id": m, "timestamp": ts, "value": f"{k + i / 100:.2f}"}
            for k, m in enumerate(METERS)
        ],
    }


def push_until_acknowledged(
    url: str, key: str, body: dict[str, object], retries: list[int] | None = None
) -> dict[str, object]:
    """What a gateway does: send, and send again with the same key until a reply comes."""
    while True:
        try:
            status, reply = push(url, TOKENS["gw1"], key, body, timeout=10)
        except OSError:  # refused, reset, timed out: the collector is down or restarting
            if retries is not None:
                retries.append(1)
            time.sleep(0.05)
            continue
        if status == 200:
            return reply
        assert status == 503, (status, reply)
        time.sleep(0.05)


def _pushed_once(one: Callable[[str], object], n_messages: int) -> None:
    """Every pushed reading (batches ``p_…``) is in the store, and no interval twice."""
    assert one("SELECT count(*) FROM readings WHERE batch_id LIKE 'p\\_%' ESCAPE '\\'") == (
        n_messages * len(METERS)
    )
    duplicated = ("SELECT count(*) FROM (SELECT 1 FROM readings GROUP BY meter_id, ts_start "
                  "HAVING count(*) > 1)")
    assert one(duplicated) == 0


@pytest.mark.slow
def test_kill_9_during_pushes_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    twin_dir = write_meter_twin(tmp_path / "twin", {m: ("interval", "15min") for m in METERS})
    gateways = write_gateways(tmp_path / "gateways.toml", {"gw1": ["M*"]})
    store, drop, log = tmp_path / "s.duckdb", tmp_path / "drop", tmp_path / "collector.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(store), "--twin", str(twin_dir), "--gateways", str(gateways), "--drop", str(drop)]
    rng = random.Random(16)
    proc = start(args, port, log)
    replies: dict[str, dict[str, object]] = {}
    n_messages = 100
    done = threading.Event()
    retries: list[int] = []

    def gateway() -> None:
        for i in range(n_messages):
            replies[f"m{i}"] = push_until_acknowledged(url, f"m{i}", message(i), retries)
        done.set()

    thread = threading.Thread(target=gateway)
    thread.start()
    kills, files = 0, []
    try:
        while not done.is_set() and kills < 4:
            time.sleep(rng.uniform(0.2, 1.0))
            if done.is_set():
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            # An export dropped while the collector is down (written, then renamed in).
            day = BASE - dt.timedelta(days=kills)
            name = f"export_{kills}.csv"
            (drop / f"{name}.part").write_text(
                "meter_id,timestamp,value\n"
                + "".join(f"{m},{day:%Y-%m-%d %H:%M},1.0\n" for m in METERS[:5]),
                "utf-8",
            )
            os.replace(drop / f"{name}.part", drop / name)
            files.append(name)
            proc = start(args, port, log)
        thread.join(timeout=240)
        assert done.is_set(), "the gateway did not get every message acknowledged"
        # A message acknowledged just before a kill, sent again after the restart.
        again = push_until_acknowledged(url, "m0", message(0))
        assert again == {**replies["m0"], "replayed": True}
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start(args, port, log)
        again = push_until_acknowledged(url, f"m{n_messages - 1}", message(n_messages - 1))
        assert again["replayed"] is True
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(drop.glob("export_*.csv")):
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert kills == 4, "the seeded kills must fall during the pushes"
    assert retries, "some pushes met a killed collector and were sent again"
    with Store(store) as s:

        def one(sql: str) -> object:
            return s.con.execute(sql).fetchall()[0][0]

        # Every acknowledged reading, exactly once.
        _pushed_once(one, n_messages)
        expected = {
            (m, BASE + dt.timedelta(minutes=15 * i), round(k + i / 100, 2))
            for i in range(n_messages)
            for k, m in enumerate(METERS)
        }
        got = s.con.execute(
            "SELECT meter_id, ts_start, CAST(amount AS DOUBLE) FROM readings "
            "WHERE batch_id LIKE 'p\\_%' ESCAPE '\\'"
        ).fetchall()
        assert {(m, t, round(a, 2)) for m, t, a in got} == expected
        # One stored message per key, with the counts its reply gave.
        stored = s.con.execute(
            "SELECT message_key, rows_read, rows_accepted, batch_id, first_row FROM messages"
        ).fetchall()
        assert len(stored) == n_messages
        assert {k: (r, a, b, f) for k, r, a, b, f in stored} == {
            k: (v["read"], v["accepted"], v["batch_id"], v["first_row"]) for k, v in replies.items()
        }
        # Each push batch agrees with its messages: rows numbered without gap or overlap.
        for batch_id, read, accepted, rejected in s.con.execute(
            "SELECT batch_id, rows_read, rows_accepted, rows_rejected FROM batches "
            "WHERE batch_id LIKE 'p\\_%' ESCAPE '\\'"
        ).fetchall():
            assert read == accepted + rejected
            spans = sorted(
                s.con.execute(
                    "SELECT first_row, rows_read FROM messages WHERE batch_id = ?", [batch_id]
                ).fetchall()
            )
            assert spans[0][0] == 1
            assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(spans))
            assert spans[-1][0] + spans[-1][1] - 1 == read
        # Every dropped export ingested once, with a receipt.
        assert sorted(p.name.split("_", 1)[1] for p in (drop / "done").glob("*.csv")) == sorted(
            files
        )
        assert len(list((drop / "done").glob("*.csv.json"))) == len(files)
        assert one("SELECT count(*) FROM batches WHERE batch_id LIKE 'b\\_%' ESCAPE '\\'") == len(
            files
        )
        assert one("SELECT count(*) FROM readings WHERE batch_id LIKE 'b\\_%' ESCAPE '\\'") == (
            5 * len(files)
        )
    print(f"{kills} kills, {n_messages} messages, {len(retries)} failed sends, {len(files)} files")


def test_a_gateway_with_a_fast_clock_gets_its_future_readings_quarantined(
    tmp_path: Path,
) -> None:
    twin = load_twin(write_meter_twin(tmp_path / "twin", {"M00": ("interval", "15min")}))
    gateways = load_gateways(write_gateways(tmp_path / "g.toml", {"gw1": ["M*"]}))
    now = dt.datetime.now(dt.UTC)
    # The gateway's clock runs 2 hours fast: it stamps its last intervals in our future.
    skewed = [now + dt.timedelta(hours=2) - dt.timedelta(minutes=15 * k) for k in range(12)]
    body = {
        "readings": [{"meter_id": "M00", "timestamp": t.isoformat(), "value": "1"} for t in skewed]
    }
    with Collector(tmp_path / "s.duckdb", twin, gateways, port=0) as c:
        status, reply = push(c.url, TOKENS["gw1"], "skew", body)
    assert status == 200
    future = [t for t in skewed if t > now]
    assert reply["reasons"] == {"future_timestamp": len(future)}
    assert len(future) >= 7  # 2 h ahead: the 8 intervals stamped after now (7 at the edge)
    with Store(tmp_path / "s.duckdb") as s:
        stored = [r[0] for r in s.con.execute("SELECT ts_start FROM readings").fetchall()]
        assert sorted(stored) == sorted(t for t in skewed if t <= now)
        quarantined = s.con.execute(
            "SELECT count(*) FROM rejects WHERE reason = 'future_timestamp'"
        ).fetchall()[0][0]
        assert quarantined == len(future)
        raw = json.loads(s.con.execute("SELECT raw FROM rejects LIMIT 1").fetchall()[0][0])
        assert raw["meter_id"] == "M00"


def health(port: int) -> dict[str, object]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/v1/health")
        return dict(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.skipif(
    not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()),
    reason="needs the Mosquitto broker (Debian package mosquitto; make test installs it)",
)
def test_kill_9_during_mqtt_pushes_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """The same as over HTTP, with a gateway that publishes to a real Mosquitto broker: it
    sends each message again (same key) until a reply comes; the broker keeps the collector's
    unacknowledged messages (persistent session) and delivers them again after each restart."""
    import paho.mqtt.client as mqtt
    from collect_helpers import start_mosquitto

    broker, mqtt_port = start_mosquitto(tmp_path)
    twin_dir = write_meter_twin(tmp_path / "twin", {m: ("interval", "15min") for m in METERS})
    gateways = write_gateways(tmp_path / "gateways.toml", {"gw1": ["M*"]})
    store, drop, log = tmp_path / "s.duckdb", tmp_path / "drop", tmp_path / "collector.log"
    port = free_port()
    args = [
        str(store),
        "--twin",
        str(twin_dir),
        "--gateways",
        str(gateways),
        "--drop",
        str(drop),
        "--mqtt",
        f"127.0.0.1:{mqtt_port}",
    ]
    rng = random.Random(17)
    replies: dict[str, list[dict[str, object]]] = {}
    got = threading.Condition()
    gw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw1-faults")

    def on_message(client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        reply = json.loads(msg.payload)
        with got:
            replies.setdefault(str(reply.get("idempotency_key")), []).append(reply)
            got.notify_all()

    gw.on_message = on_message
    gw.connect("127.0.0.1", mqtt_port)
    gw.subscribe("carbon/gw1/replies", qos=1)
    gw.loop_start()
    proc = start(args, port, log)
    n_messages = 60
    sends: list[int] = []
    done = threading.Event()
    try:
        deadline = time.monotonic() + 30
        while not health(port)["mqtt_connected"] and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the collector's subscription, made once: its session keeps it

        def gateway() -> None:
            for i in range(n_messages):
                payload = {"idempotency_key": f"m{i}", "token": TOKENS["gw1"], **message(i)}
                while True:  # send, and send again with the same key until a reply comes
                    gw.publish("carbon/gw1/readings", json.dumps(payload), qos=1)
                    sends.append(i)
                    with got:
                        if got.wait_for(lambda: f"m{i}" in replies, timeout=1):  # noqa: B023
                            break
            done.set()

        thread = threading.Thread(target=gateway)
        thread.start()
        kills, files = 0, []
        while not done.is_set() and kills < 3:
            time.sleep(rng.uniform(0.3, 1.5))
            if done.is_set():
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            name = f"export_{kills}.csv"  # dropped while the collector is down
            day = BASE - dt.timedelta(days=kills)
            (drop / f"{name}.part").write_text(
                "meter_id,timestamp,value\n"
                + "".join(f"{m},{day:%Y-%m-%d %H:%M},1.0\n" for m in METERS[:5]),
                "utf-8",
            )
            os.replace(drop / f"{name}.part", drop / name)
            files.append(name)
            proc = start(args, port, log)
        thread.join(timeout=300)
        assert done.is_set(), "the gateway did not get every message acknowledged"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            any(drop.glob("export_*.csv")) or health(port)["queue"]
        ):
            time.sleep(0.1)
        time.sleep(1.0)  # copies the broker still delivers are answered as replays
    finally:
        gw.loop_stop()
        gw.disconnect()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        broker.kill()
        broker.wait()
    assert kills == 3, "the seeded kills must fall during the pushes"
    assert len(sends) > n_messages, "some messages met a killed collector and were sent again"
    first = {k: v[0] for k, v in replies.items()}
    assert all(r["status"] == 200 for v in replies.values() for r in v)
    # every copy after the first reply is the stored reply, replayed
    assert all(r["replayed"] for v in replies.values() for r in v[1:])
    with Store(store) as s:

        def one(sql: str) -> object:
            return s.con.execute(sql).fetchall()[0][0]

        _pushed_once(one, n_messages)
        stored = s.con.execute(
            "SELECT message_key, channel, rows_read, rows_accepted, first_row FROM messages"
        ).fetchall()
        assert len(stored) == n_messages
        assert {k: (c, r, a, f) for k, c, r, a, f in stored} == {
            k: ("mqtt", v["read"], v["accepted"], v["first_row"]) for k, v in first.items()
        }
        assert one("SELECT count(*) FROM readings WHERE batch_id LIKE 'b\\_%' ESCAPE '\\'") == (
            5 * len(files)
        )
    print(f"{kills} kills, {n_messages} messages, {len(sends)} sends, {len(files)} files")
