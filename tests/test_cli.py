"""Every ``carbon`` command, run on real data: the packaged Shimen Erlu twin, the factor
profiles, small ``carbon synth`` outputs, a scenario file and a wall screen on a free port.

Each command has at least one test of what it prints or writes and, where input can be wrong,
one of its error: a clear line, a non-zero exit status and no stack trace.

``carbon ledger build|verify|trace|diff``, ``carbon ingest`` and ``carbon demo`` are being
redesigned and are tested elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import run_cli, write_office_twin

from carbon import cli
from carbon.twin import sites_dir

SCENARIO = sites_dir() / "shimen_erlu" / "scenarios" / "low_carbon_2035.toml"
GROUPS = tuple(g.name for g in cli.app.registered_groups if g.name)
COMMANDS = (*(c.name or c.callback.__name__ for c in cli.app.registered_commands), *GROUPS)


pytestmark = pytest.mark.usefixtures("wide_console")
run = run_cli


def error_line(result: Result) -> str:
    """The one error line of a failed command (library errors, exit status 2)."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def usage_error(result: Result) -> str:
    """A bad option value: click's usage message on stderr (exit status 2)."""
    assert "Usage: carbon" in result.stderr
    return " ".join(result.stderr.split())


# ------------------------------------------------------------------------------ the app
def test_help_lists_every_command() -> None:
    # what the app registers, at least the commands the README names
    assert {"synth", "ingest", "demo", "wall", "report"} <= set(COMMANDS)
    assert {"factors", "twin", "site", "ledger", "interventions", "scenario"} <= set(GROUPS)
    out = run("--help").stdout
    for name in COMMANDS:
        assert f" {name} " in out
    for group in GROUPS:
        assert "Commands" in run(group, "--help").stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate", code=2)
    assert "No such command 'frobnicate'" in usage_error(result)


def test_verbose_flag_is_accepted() -> None:
    assert "shimen_erlu" in run("-v", "twin", "show", "--depth", "1").stdout


# ------------------------------------------------------------------------------ factors
def test_factors_list_profile() -> None:
    out = run("factors", "list", "--profile", "shanghai-2022").stdout
    first = out.splitlines()[0]
    assert first.startswith("shanghai-2022 · ") and "GWP AR5" in first and "sha256 " in first
    assert "sh-eeb-2022.electricity" in out
    assert "0.42 /kWh" in out  # 4.2 tCO2/万kWh, canonical
    assert "Profiles:" not in out  # only the catalogue lists the profiles


def test_factors_list_catalogue_filtered_by_activity() -> None:
    out = run("factors", "list", "--activity", "electricity.grid").stdout
    assert out.startswith("catalogue · ")
    assert "sh-eeb-2022.electricity" in out and "mee-nbs.2023" in out
    assert "diesel" not in out
    assert "Profiles: cn-ets-2023, cn-mee-2023, shanghai-2022 (use --profile)." in out


def test_factors_list_unknown_profile() -> None:
    line = error_line(run("factors", "list", "-p", "nope", code=2))
    assert "no profile named 'nope'" in line and "shanghai-2022" in line


def test_factors_show() -> None:
    out = run("factors", "show", "sh-eeb-2022.electricity").stdout
    assert out.splitlines()[0].strip() == "sh-eeb-2022.electricity"
    for text in ("electricity.grid (canonical unit kWh)", "CN-SH", "4.2 tCO2/万kWh",
                 "0.42 kgCO2/kWh", "0.42 kgCO2e/kWh", "沪环气〔2022〕34号", "high",
                 "factors/sh-eeb-2022.toml"):
        assert text in out


def test_factors_show_from_a_user_profile() -> None:
    profile = Path(__file__).parents[1] / "examples" / "us_city" / "profile.toml"
    out = run("factors", "show", "egrid-2022.camx", "--profile", str(profile)).stdout
    assert out.splitlines()[0].strip() == "egrid-2022.camx"
    assert "US-EGRID-CAMX" in out and "egrid-2022-camx.toml" in out
    # Not in the packaged catalogue: without the profile it is unknown.
    assert "No factor with id 'egrid-2022.camx'" in error_line(
        run("factors", "show", "egrid-2022.camx", code=2))


def test_factors_show_unknown_id() -> None:
    line = error_line(run("factors", "show", "nope.x", code=2))
    assert "No factor with id 'nope.x'" in line


# ------------------------------------------------------------------------------ twin
def test_twin_show_packaged() -> None:
    out = run("twin", "show", "shimen_erlu").stdout
    assert out.startswith("石门二路街道 Shimen Erlu Subdistrict (shimen_erlu)")
    assert "block" in out and "meter(s)" in out and "residents=" in out
    assert "street blocks      │ 3      │ 3" in out
    assert "office buildings   │ 31     │ 31" in out


def test_twin_show_depth_and_folder(tmp_path: Path) -> None:
    shallow = run("twin", "show", "--depth", "1").stdout
    assert "residential_area" not in shallow.split("totals")[0]
    folder = write_office_twin(tmp_path / "mini", office="hq", meter="M-HQ")
    out = run("twin", "show", folder).stdout
    assert "小社区 Mini (mini)" in out and "1 meter(s)" in out
    assert "meters             │ 1" in out


def test_twin_show_errors(tmp_path: Path) -> None:
    line = error_line(run("twin", "show", "nowhere", code=2))
    assert "nowhere" in line and "shimen_erlu" in line
    folder = write_office_twin(tmp_path / "broken")
    with (folder / "meters.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[meter]]\nid = "M2"\nnode = "ghost"\nmeasure = "electricity"\n'
                 'unit = "kWh"\nreading = "interval"\ninterval = "1h"\n')
    line = error_line(run("twin", "show", folder, code=2))
    assert "meters.toml" in line and "ghost" in line
    assert "'--depth'" in usage_error(run("twin", "show", "--depth", "x", code=2))


# ------------------------------------------------------------------------------ synth
@pytest.fixture(scope="module")
def january(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """One month of synthetic Shimen Erlu exports, and what ``carbon synth`` printed."""
    out = tmp_path_factory.mktemp("synth") / "jan"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli.console, "width", 200)
        result = run("synth", "--out", out, "--start", "2024-01-01", "--end", "2024-02-01")
    return out, result


def test_synth_writes_what_it_prints(january: tuple[Path, Result]) -> None:
    out, result = january
    manifest = json.loads((out / "synthetic_manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True and manifest["seed"] == 42
    assert (manifest["start"], manifest["end"]) == ("2024-01-01", "2024-02-01")
    assert manifest["faults"] == []
    text = result.stdout
    assert "SYNTHETIC data written" in text and "Injected faults" not in text
    names = {f["name"] for f in manifest["files"]}
    assert "synthetic_electricity_hourly.csv" in names
    for f in manifest["files"]:
        path = out / f["name"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"]
        assert f"│ {f['name']}" in text and f["sha256"][:16] in text and f"{f['rows']:,}" in text
    hourly = next(f for f in manifest["files"] if f["name"] == "synthetic_electricity_hourly.csv")
    meters = manifest["twin"]["meters"]
    assert 0 < hourly["rows"] <= 31 * 24 * meters


def test_synth_same_seed_same_bytes(january: tuple[Path, Result], tmp_path: Path) -> None:
    _, result = january
    again = run("synth", "--out", tmp_path, "--start", "2024-01-01", "--end", "2024-02-01")
    assert again.stdout == result.stdout  # same files, rows and SHA-256


def test_synth_faults_and_parquet(tmp_path: Path) -> None:
    text = run("synth", "--out", tmp_path, "--start", "2024-01-01", "--end", "2024-01-08",
               "--faults", "--format", "parquet", "--seed", "7").stdout
    manifest = json.loads((tmp_path / "synthetic_manifest.json").read_text(encoding="utf-8"))
    assert manifest["faults"] and manifest["seed"] == 7
    assert "Injected faults" in text
    for fault in manifest["faults"]:
        assert fault["kind"] in text
    assert (tmp_path / "synthetic_electricity_hourly.parquet").is_file()
    assert not (tmp_path / "synthetic_electricity_hourly.csv").exists()


def test_synth_city(tmp_path: Path) -> None:
    text = run("synth", "--out", tmp_path, "--city", "2", "--start", "2024-01-01",
               "--end", "2024-01-03").stdout
    assert "SYNTHETIC city written" in text and "2 (twins/)" in text
    assert f"carbon ledger build {tmp_path / 'ledger.toml'}" in " ".join(text.split())
    assert sorted(p.name for p in (tmp_path / "twins").iterdir()) == [
        "shimen_erlu_c001", "shimen_erlu_c002"]
    assert (tmp_path / "ledger.toml").is_file()
    # the city twin it wrote is a twin the CLI can show
    city = next(p.parent for p in tmp_path.glob("*/site.toml") if p.parent.name != "twins")
    shown = run("twin", "show", city, "--depth", "1").stdout
    assert shown.count("Shimen Erlu") >= 2


def test_synth_bad_input(tmp_path: Path) -> None:
    msg = usage_error(run("synth", "--out", tmp_path, "--start", "2024-02-01",
                          "--end", "2024-01-01", code=2))
    assert "--end 2024-01-01 must be after --start 2024-02-01" in msg
    msg = usage_error(run("synth", "--out", tmp_path, "--start", "2024-13-01", code=2))
    assert "dates must be YYYY-MM-DD" in msg
    assert "--city" in usage_error(run("synth", "--out", tmp_path, "--city", "0", code=2))
    line = error_line(run("synth", "nowhere", "--out", tmp_path, "--end", "2024-01-02",
                          code=2))
    assert "nowhere" in line and "site.toml" in line
    line = error_line(run("synth", "--out", tmp_path, "--format", "xml", "--end",
                          "2024-01-02", code=2))
    assert "'csv' or 'parquet'" in line and "'xml'" in line


# ------------------------------------------------------------------------------ interventions
def test_interventions_list() -> None:
    out = run("interventions", "list").stdout
    assert "interventions.toml · 2024-01-01 .. 2025-01-01 · shanghai-2022" in out
    for text in ("rooftop_pv", "elevator_regen", "in place", "planned", "CNY/t"):
        assert text in out
    assert "period t: avoided in the period" in " ".join(out.split())


def test_interventions_list_period_and_profile() -> None:
    out = run("interventions", "list", "-p", "cn-mee-2023", "--start", "2024-01-01",
              "--end", "2024-03-01").stdout
    assert "2024-01-01 .. 2024-03-01 · cn-mee-2023" in out


def test_interventions_list_bad_input() -> None:
    line = error_line(run("interventions", "list", "-p", "nope", code=2))
    assert "no profile named 'nope'" in line
    line = error_line(run("interventions", "list", "--twin", "nowhere", code=2))
    assert "nowhere" in line
    msg = usage_error(run("interventions", "list", "--start", "2024-05-01", "--end",
                          "2024-01-01", code=2))
    assert "must be after" in msg


# ------------------------------------------------------------------------------ scenario
def test_scenario_run_with_figures(tmp_path: Path) -> None:
    out = run("scenario", "run", SCENARIO, "--html", tmp_path, "--lang", "en").stdout
    assert "Shimen Erlu low-carbon scenario" in out
    assert "Base 2023:" in out and "t CO2e" in out
    assert "Trajectory, t CO2e" in out and "│ 2035 │" in out
    assert "Target 2030: -20% vs 2023" in out
    assert "Marginal abatement cost curve" in out and "Rooftop PV" in out
    figures = sorted(p.name for p in tmp_path.glob("*.html"))
    assert figures == ["low_carbon_2035_macc_en.html", "low_carbon_2035_trajectory_en.html",
                       "low_carbon_2035_wedges_en.html"]
    for name in figures:
        assert f"Figure: {tmp_path / name}" in out


def test_scenario_run_base_from_snapshot(tmp_path: Path) -> None:
    from carbon.dashboard.testing import write_synthetic_snapshot

    snap = write_synthetic_snapshot(tmp_path / "snapshots", sites=8, blocks=2, start_year=2023)
    out = run("scenario", "run", SCENARIO, "--base", tmp_path / "snapshots").stdout
    assert "Base 2023: " in out and f"snapshot {snap.name}, location-based" in out


def test_scenario_run_bad_input(tmp_path: Path) -> None:
    assert "file not found" in error_line(run("scenario", "run", tmp_path / "no.toml", code=2))
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 1\n", encoding="utf-8")
    line = error_line(run("scenario", "run", bad, code=2))
    assert "bad.toml" in line and "unknown key 'name'" in line
    line = error_line(run("scenario", "run", SCENARIO, "--base", tmp_path, code=2))
    assert "not a snapshot" in line
    msg = usage_error(run("scenario", "run", SCENARIO, "--lang", "fr", code=2))
    assert "--lang must be zh or en, not 'fr'" in msg


# ------------------------------------------------------------------------------ wall
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _wall(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``carbon wall *args --port <free>`` in a subprocess; yields its URL and process."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from carbon.cli import main; main()", "wall", *args,
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise AssertionError(f"wall did not start: {proc.communicate()}") from None
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def test_wall_serves_the_page(tmp_path: Path) -> None:
    from carbon.dashboard.testing import write_synthetic_snapshot

    write_synthetic_snapshot(tmp_path, sites=8, blocks=2)
    with _wall(str(tmp_path), "--lang", "en") as (url, proc):
        status, page = _get(url)
        assert status == 200
        assert b"<title>carbon-twin wall</title>" in page and b"wall.css" in page
        _, layout = _get(url + "_dash-layout")
        assert b'"id":"lang","data":"en"' in layout
        # plotly.js comes from the packaged basic bundle, not the internet or Dash's full one
        _, js = _get(url + "_dash-component-suites/plotly/package_data/plotly.min.js")
        vendor = Path(cli.__file__).parent / "dashboard" / "vendor" / "plotly-basic.min.js"
        assert js == vendor.read_bytes()
    stdout, _ = proc.communicate(timeout=10)
    assert f"Wall screen: {url}" in stdout


def test_wall_refuses_open_host_without_auth(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARBON_WALL_USER", raising=False)
    monkeypatch.delenv("CARBON_WALL_PASSWORD", raising=False)
    line = error_line(run("wall", tmp_path, "--host", "0.0.0.0", code=2))
    assert "Refusing to serve the wall screen on '0.0.0.0' without authentication" in line
    assert "'--port'" in usage_error(run("wall", tmp_path, "--port", "abc", code=2))
