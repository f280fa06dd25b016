"""The wall server exposed: body limit, malformed callbacks, auth throttling, no version
strings, the health endpoint and the heartbeat, loud banners and the retry of a failed
snapshot.

The body-limit and malformed-callback tests run the real server (``carbon.dashboard.serve``,
waitress, as ``carbon wall`` runs it) in a subprocess on 127.0.0.1 and measure its memory with
psutil; the heartbeat test kills and restarts it under a real headless Chromium. The rest use
the Flask test client of the same app.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import logging
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from carbon.dashboard.app import render_status
from carbon.dashboard.data import SnapshotSource
from carbon.dashboard.server import (
    HEALTH_PATH,
    MAX_BODY_BYTES,
    SERVER_IDENT,
    AuthThrottle,
    create_app,
)
from carbon.dashboard.testing import CHROMIUM, chrome, write_synthetic_snapshot
from carbon.snapshot import latest_name

SERVE = ("import logging, sys; logging.basicConfig(level=logging.WARNING, "
         "format='%(levelname)s %(name)s %(message)s'); "
         "from carbon.dashboard.server import serve; "
         "serve(sys.argv[1], port=int(sys.argv[2]), poll_seconds=1, watch_seconds=0.5, "
         "threads=4)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(snapshots: Path, port: int, log: Path) -> subprocess.Popen:
    """The wall server in a subprocess, its stderr in ``log``; returns when it answers."""
    err = log.open("ab")
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(snapshots), str(port)],
                            stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"wall server did not start:\n{log.read_text()}") from None
            time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def wall_server(snapshots: Path, log: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    port = free_port()
    proc = start(snapshots, port, log)
    try:
        yield port, proc
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wall")
    write_synthetic_snapshot(out, sites=12, years=1, blocks=2, interventions=True)
    return out


# ------------------------------------------------------------------------------ real server
def post_streamed(port: int, size: int, chunked: bool = False) -> int:
    """POST ``size`` bytes of JSON-ish filler to the callback endpoint, streamed; the status
    the server answers (it may answer and close before the body is sent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", "/_dash-update-component")
    conn.putheader("Content-Type", "application/json")
    if chunked:
        conn.putheader("Transfer-Encoding", "chunked")
    else:
        conn.putheader("Content-Length", str(size))
    conn.endheaders()
    block = b"[" + b"0," * (512 * 1024 - 1) + b"0"
    sent = 0
    try:
        while sent < size:
            piece = block[: min(len(block), size - sent)]
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked:
            conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server said no and closed: read its answer
    try:
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_200_mb_post_gets_413_and_no_memory(snapshots: Path, tmp_path: Path) -> None:
    with wall_server(snapshots, tmp_path / "server.log") as (port, proc):
        server = psutil.Process(proc.pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30):
            pass  # the page once, so the first view is built
        before = server.memory_info().rss
        assert post_streamed(port, 200 * 1024 * 1024) == 413
        assert post_streamed(port, 200 * 1024 * 1024, chunked=True) == 413
        after = server.memory_info().rss
        # the bodies were never held: the server grew by less than a tenth of one of them
        assert after - before < 20 * 1024 * 1024, (before, after)
        # a body just under the limit is still read (and refused for its shape, not size)
        assert post_streamed(port, MAX_BODY_BYTES - 10) == 400


def test_malformed_callbacks_get_400_and_one_log_line(snapshots: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    bodies = [b"{not json", b"[1, 2]", json.dumps({"output": "x"}).encode(),
              json.dumps({"output": "nope.children", "outputs": {"id": "nope",
                          "property": "children"}, "inputs": [],
                          "changedPropIds": []}).encode(),
              json.dumps({"output": "title.children", "outputs": {"id": "title",
                          "property": "children"}, "inputs": "snap",
                          "changedPropIds": []}).encode()]
    with wall_server(snapshots, log) as (port, _):
        size = log.stat().st_size
        for body in bodies:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/_dash-update-component",
                                         body, {"Content-Type": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=10)
            assert err.value.code == 400
        time.sleep(0.3)
    lines = log.read_bytes()[size:].decode().splitlines()
    malformed = [x for x in lines if "malformed callback" in x]
    assert len(malformed) == len(bodies), lines
    assert not any("Traceback" in x for x in lines)


# ------------------------------------------------------------------------------ test client
def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_failed_logins_are_throttled_and_logged(snapshots: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(snapshots, auth=("wall", "s3cret"), watch_seconds=3600)
    client = app.server.test_client()
    assert client.get("/").status_code == 401  # no credentials: asked for, not a failure
    with caplog.at_level(logging.WARNING, logger="carbon.dashboard.server"):
        codes = [client.get("/", headers=basic("mallory", f"guess{i}")).status_code
                 for i in range(6)]
    assert codes == [401] * 5 + [401]  # the sixth failure earns a lock-out
    failed = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert len(failed) == 6 and "'mallory'" in failed[0] and "127.0.0.1" in failed[0]
    assert "locked out for 1 s" in failed[-1] and "guess" not in " ".join(failed)
    # while locked out, even the right password waits
    locked = client.get("/", headers=basic("wall", "s3cret"))
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    time.sleep(1.1)
    assert client.get("/", headers=basic("wall", "s3cret")).status_code == 200


def test_throttle_backs_off_exponentially_and_forgets() -> None:
    th = AuthThrottle(free=3, window=600, cap=60)
    locks = [th.failed("10.0.0.9", now=float(i))[1] for i in range(9)]
    assert locks == [0, 0, 0, 1, 2, 4, 8, 16, 32]
    assert th.failed("10.0.0.9", now=9.0)[1] == 60  # capped
    assert th.locked_for("10.0.0.9", now=10.0) == pytest.approx(59.0)
    assert th.locked_for("10.0.0.8", now=10.0) == 0  # per address
    assert th.failed("10.0.0.9", now=700.0) == (1, 0)  # the window passed: forgotten
    th.succeeded("10.0.0.9")
    assert th.locked_for("10.0.0.9", now=700.0) == 0


def test_no_version_strings(snapshots: Path) -> None:
    import dash
    import plotly

    app = create_app(snapshots, watch_seconds=3600)
    client = app.server.test_client()
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.headers["Server"] == SERVER_IDENT
    python = ".".join(map(str, sys.version_info[:3]))
    for version in (dash.__version__, dash.__version__.replace(".", "_"), plotly.__version__,
                    python, "GCC"):
        assert version not in html, version
    # the scripts still load, and stay cacheable
    import re

    scripts = re.findall(r'src="(/_dash-component-suites/[^"]+)"', html)
    assert scripts
    for src in scripts:
        r = client.get(src)
        assert r.status_code == 200 and "max-age" in r.headers.get("Cache-Control", ""), src


def test_health_answers_the_heartbeat(snapshots: Path) -> None:
    app = create_app(snapshots, watch_seconds=3600)
    r = app.server.test_client().get(HEALTH_PATH)
    body = r.get_json()
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert body["ok"] is True and len(body["boot"]) == 16
    assert body["snapshot"] == latest_name(snapshots) and body["problem"] is None


# ------------------------------------------------------------------------------ banners
def test_stale_real_data_dim_the_tiles_and_say_so(tmp_path: Path) -> None:
    folder = write_synthetic_snapshot(tmp_path, sites=8, years=1, blocks=2)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["synthetic_inputs"] = False  # as if metered: its age now matters
    (folder / "manifest.json").write_text(json.dumps(manifest))
    out = render_status(SnapshotSource(tmp_path, verify=False), "zh")
    assert out["screen.className"] == "screen stale"
    banners = out["status.children"][-1]
    assert banners.className == "banners"
    assert banners.children[0].className == "banner banner-stale"
    assert "数据已过期" in str(banners.children[0].children[0].children)


def test_a_synthetic_snapshot_is_a_fixed_historical_demo(tmp_path: Path) -> None:
    write_synthetic_snapshot(tmp_path, sites=8, years=2, blocks=2, start_year=2023)
    out = render_status(SnapshotSource(tmp_path), "zh")
    assert out["screen.className"] == "screen"  # not dimmed, no stale banner
    texts = [getattr(c, "children", "") for c in out["status.children"]]
    assert "演示数据(合成)· 固定历史时段 2023-01 至 2024-12 · 非实时" in texts
    assert not any("天前" in str(x) for x in texts)


def test_empty_latest_and_a_failed_snapshot_raise_banners(tmp_path: Path) -> None:
    write_synthetic_snapshot(tmp_path, sites=8, years=1, blocks=2, snapshot_id="good")
    source = SnapshotSource(tmp_path, retry_seconds=3600)
    assert source.refresh() and source.problem_kind is None
    (tmp_path / "LATEST").write_text("")
    source.refresh()
    out = render_status(source, "en")
    assert source.problem_kind == "latest"
    banner = out["status.children"][-1].children[0]
    assert banner.className == "banner banner-latest" and "LATEST" in str(banner.children)
    # a newer snapshot published with a damaged file
    bad = write_synthetic_snapshot(tmp_path, sites=8, years=1, blocks=2, seed=3,
                                   snapshot_id="bad")
    payload = (bad / "entries.parquet").read_bytes()
    (bad / "entries.parquet").write_bytes(b"PAR1 half-copied")
    source.refresh()
    assert source.problem_kind == "failed" and source.current().id.startswith("good")
    banner = render_status(source, "en")["status.children"][-1].children[0]
    assert banner.className == "banner banner-failed" and "still showing" in str(banner)
    # not retried while nothing changed...
    assert source.refresh() is False and source.problem_kind == "failed"
    # ...and retried as soon as the copy completes
    (bad / "entries.parquet").write_bytes(payload)
    assert source.refresh() is True
    assert source.current().id.startswith("bad") and source.problem_kind is None


def test_a_failed_snapshot_is_retried_after_a_while(tmp_path: Path) -> None:
    import os

    write_synthetic_snapshot(tmp_path, sites=8, years=1, blocks=2, snapshot_id="good")
    source = SnapshotSource(tmp_path, retry_seconds=0.5)
    source.refresh()
    bad = write_synthetic_snapshot(tmp_path, sites=8, years=1, blocks=2, seed=3,
                                   snapshot_id="bad")
    path = bad / "entries.parquet"
    payload, stat = path.read_bytes(), path.stat()
    path.write_bytes(b"\0" * len(payload))  # same size, same time: no visible change
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    source.refresh()
    assert source.problem_kind == "failed"
    path.write_bytes(payload)  # repaired behind the watcher's back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    source.refresh()
    assert source.problem_kind == "failed"  # not yet: nothing it can see changed
    time.sleep(0.6)
    assert source.refresh() is True and source.current().id.startswith("bad")


# ------------------------------------------------------------------------------ heartbeat
try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - the test extra installs selenium
    webdriver = None

HAVE_BROWSER = (webdriver is not None and Path(CHROMIUM).exists()
                and shutil.which("chromedriver") is not None)


def wait_for(check: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until ``check()`` is true."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if check():
                return time.monotonic() - t0
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_BROWSER, reason=f"needs {CHROMIUM} and chromedriver")
def test_a_dead_server_greys_the_screen_and_recovers(snapshots: Path, tmp_path: Path) -> None:
    driver = chrome()
    port = free_port()
    log = tmp_path / "server.log"
    proc = start(snapshots, port, log)
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        wait_for(lambda: driver.find_element(By.ID, "kpi-emissions-value").text.strip()
                 not in ("", "—"), 30, "the page")

        def offline() -> bool:
            return bool(driver.execute_script(
                "return document.body.classList.contains('wall-is-offline') && "
                "!!document.getElementById('wall-offline');"))

        assert not offline()
        stop(proc)
        took = wait_for(offline, 15, "the offline banner")
        assert took < 10  # 2 missed beats 3 s apart, each failing within 2.5 s
        banner = driver.find_element(By.ID, "wall-offline")
        assert "连接已中断" in banner.text and "Connection to the wall server lost" in banner.text
        assert banner.size["width"] > 1000  # large, not a pill
        proc = start(snapshots, port, log)  # back, on the same address
        wait_for(lambda: not offline(), 20, "the banner to go")
        wait_for(lambda: driver.find_element(By.ID, "kpi-emissions-value").text.strip()
                 not in ("", "—"), 30, "the page again")
    finally:
        driver.quit()
        stop(proc)


def test_cli_wall_takes_a_trusted_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from carbon.cli import app

    monkeypatch.delenv("CARBON_WALL_USER", raising=False)
    monkeypatch.delenv("CARBON_WALL_PASSWORD", raising=False)
    # the option parses; an exposed address still needs credentials (exit 2, one line)
    result = CliRunner().invoke(app, ["wall", str(tmp_path), "--host", "0.0.0.0",
                                      "--trusted-proxy", "127.0.0.1"])
    assert result.exit_code == 2
    assert "without authentication" in result.output and "Traceback" not in result.output
