"""carbon.today on a small store made by formula, checked against hand-computed values.

The twin: subdistrict ``mini`` with blocks ``b1`` (office ``o1``: meters E1, E2) and ``b2``
(office ``c2``: E3, E5, the hourly H1, and E4 that never reported). Readings are 15-minute
(H1 hourly) electricity from 2024-04-01 (nine weeks and a day before today) in Asia/Shanghai
(no daylight saving time), ingested from a real CSV into a real DuckDB store:

=====  ====================================================  ============================
meter  kWh per 15 min                                        last reading ends (today)
=====  ====================================================  ============================
E1     1                                                     12:00
E2     0.5 x (1 + w), w = whole weeks before today           10:00
E3     2                                                     10:00
E5     1                                                     08:00
H1     4 per hour                                            07:00
=====  ====================================================  ============================

Today is Tuesday 2024-06-04; the grid factor of profile shanghai-2022 is 0.42 kg CO2e/kWh
(沪环气〔2022〕34号).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from typer.testing import CliRunner

from carbon import cli
from carbon.factors import load_factor_set
from carbon.store import Store
from carbon.today import FILE_NAME, Today, TodayError, compute_today, publish_today, read_today
from carbon.twin import load_twin

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2024, 6, 4)
FIRST = dt.date(2024, 4, 1)
GRID = 0.42  # kg CO2e / kWh, sh-eeb-2022.electricity (沪环气〔2022〕34号)
NOW = dt.datetime(2024, 6, 4, 10, 0, tzinfo=TZ)


def _twin(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.toml").write_text(
        '[site]\nid = "mini"\nname_zh = "小社区"\nname_en = "Mini"\nregion = "CN-SH"\n'
        'timezone = "Asia/Shanghai"\nroot = "mini"\n',
        encoding="utf-8",
    )
    nodes = [
        ("mini", None, "subdistrict", "小社区", "Mini"),
        ("b1", "mini", "block", "一街区", "Block 1"),
        ("o1", "b1", "office_building", "大楼", "Office"),
        ("b2", "mini", "block", "二街区", "Block 2"),
        ("c2", "b2", "office_building", "二号楼", "Office 2"),
    ]
    text = ""
    for nid, parent, kind, zh, en in nodes:
        text += f'[[node]]\nid = "{nid}"\nkind = "{kind}"\nname_zh = "{zh}"\nname_en = "{en}"\n'
        text += f'parent = "{parent}"\n\n' if parent else "\n"
    (folder / "nodes.toml").write_text(text, encoding="utf-8")
    meters = [
        ("E1", "o1", "15min"),
        ("E2", "o1", "15min"),
        ("E3", "c2", "15min"),
        ("E4", "c2", "15min"),
        ("E5", "c2", "15min"),
        ("H1", "c2", "1h"),
    ]
    (folder / "meters.toml").write_text(
        "".join(
            f'[[meter]]\nid = "{m}"\nnode = "{n}"\nmeasure = "electricity"\nunit = "kWh"\n'
            f'reading = "interval"\ninterval = "{i}"\n\n'
            for m, n, i in meters
        ),
        encoding="utf-8",
    )
    return folder


def _readings(path: Path) -> Path:
    """The CSV of the table in the module docstring (interval starts, local time)."""
    rows = ["meter_id,timestamp,value,unit"]
    last = {
        "E1": dt.time(12),
        "E2": dt.time(10),
        "E3": dt.time(10),
        "E5": dt.time(8),
        "H1": dt.time(7),
    }
    day = FIRST
    while day <= TODAY:
        w = (TODAY - day).days // 7
        for meter, end in last.items():
            step = 60 if meter == "H1" else 15
            for minute in range(0, 24 * 60, step):
                start = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
                if day == TODAY and (start + dt.timedelta(minutes=step)).time() > end:
                    break
                value = {"E1": 1, "E2": 0.5 * (1 + w), "E3": 2, "E5": 1, "H1": 4}[meter]
                rows.append(f"{meter},{start:%Y-%m-%d %H:%M},{value},kWh")
        day += dt.timedelta(days=1)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, object]:
    tmp = tmp_path_factory.mktemp("today")
    twin = load_twin(_twin(tmp / "mini"))
    path = tmp / "mini.duckdb"
    with Store(path) as store:
        store.sync_twin(twin)
        batch = store.ingest(_readings(tmp / "readings.csv"), twin=twin)
        assert batch.rejected == 0, store.rejects()
    return path, twin, load_factor_set("shanghai-2022")


@pytest.fixture(scope="module")
def at_ten(world: tuple[Path, object, object]) -> Today:
    path, twin, factors = world
    with Store(path, read_only=True) as store:
        return compute_today(store, twin, factors, NOW)  # type: ignore[arg-type]


def _row(today: Today, node: str) -> dict[str, object]:
    return today.node(node)


# ------------------------------------------------------------------------------ so far
def test_so_far_by_block_counts_readings_ended_by_now(at_ten: Today) -> None:
    # b1: E1 40 x 1 + E2 40 x 0.5 = 60; b2: E3 40 x 2 + E5 32 x 1 + H1 7 x 4 = 140
    assert at_ten.day == TODAY and at_ten.as_of == NOW
    assert [_row(at_ten, n)["energy_kwh"] for n in ("mini", "b1", "b2")] == [200, 60, 140]
    assert list(at_ten.nodes["node_id"]) == ["mini", "b1", "b2"]
    assert _row(at_ten, "b2")["parent_id"] == "mini"


def test_emissions_are_kwh_times_the_grid_factor(at_ten: Today) -> None:
    assert _row(at_ten, "mini")["co2e_kg"] == pytest.approx(200 * GRID)  # 84.0
    assert _row(at_ten, "b1")["co2e_kg"] == pytest.approx(60 * GRID)  # 25.2
    assert _row(at_ten, "b2")["co2e_kg"] == pytest.approx(140 * GRID)  # 58.8
    f = at_ten.factors.iloc[0]
    assert (f["factor_id"], f["co2e_kg_per_unit"], f["unit"]) == (
        "sh-eeb-2022.electricity",
        GRID,
        "kWh",
    )
    carrier = at_ten.carriers.set_index("node_id").loc["mini"]
    assert (carrier["activity"], carrier["amount"]) == ("electricity.grid", 200)


def test_usual_is_the_mean_of_eight_same_weekdays_with_a_min_max_band(at_ten: Today) -> None:
    # day k weeks back, to 10:00: E1 40 + E2 20 (1 + k) (b1) and E3 80 + E5 40 + H1 40 (b2);
    # k = 1..8: b1 mean 40 + 20 x 5.5 = 150, min 80, max 220; b2 160; the 9th week is ignored
    assert at_ten.history_days == tuple(TODAY - dt.timedelta(weeks=k) for k in range(8, 0, -1))
    b1, b2, root = (_row(at_ten, n) for n in ("b1", "b2", "mini"))
    assert (b1["usual_energy_kwh"], b1["usual_min_energy_kwh"], b1["usual_max_energy_kwh"]) == (
        150,
        80,
        220,
    )
    assert (b2["usual_energy_kwh"], b2["usual_min_energy_kwh"], b2["usual_max_energy_kwh"]) == (
        160,
        160,
        160,
    )
    assert root["usual_co2e_kg"] == pytest.approx(310 * GRID)  # 130.2
    assert root["usual_min_co2e_kg"] == pytest.approx(240 * GRID)
    assert root["usual_max_co2e_kg"] == pytest.approx(380 * GRID)
    assert root["share_of_usual"] == pytest.approx(200 / 310)  # 0.645


def test_intraday_curve_is_cumulative_and_stops_at_now(at_ten: Today) -> None:
    curve = at_ten.node_curve("mini").set_index("minutes")
    assert len(curve) == 97  # 00:00, 00:15, ..., 24:00
    # 01:00: E1 4 + E2 2 + E3 8 + E5 4 + H1 4 = 22 kWh
    assert curve.loc[60, "energy_kwh"] == 22
    assert curve.loc[600, "energy_kwh"] == 200 and pd.isna(curve.loc[615, "energy_kwh"])
    assert curve.loc[600, "co2e_kg"] == pytest.approx(84)
    # the usual runs to midnight: E1 96 + E2 0.5 x 5.5 x 96 + E3 192 + E5 96 + H1 96 = 744
    assert curve.loc[1440, "usual_energy_kwh"] == 744
    assert curve.loc[1440, "usual_min_energy_kwh"] == 96 + 96 + 384  # k = 1
    assert curve.loc[1440, "usual_max_energy_kwh"] == 96 + 432 + 384  # k = 8
    assert curve.loc[600, "usual_energy_kwh"] == 310
    assert (curve["usual_energy_kwh"].diff().dropna() >= 0).all()


# ------------------------------------------------------------------------------ silent
def test_silent_meters_at_ten(at_ten: Today) -> None:
    # E5 ended 08:00: 2 h = 8 intervals > 4. H1 ended 07:00: 3 of its own hours, not silent.
    # E4 never reported: not installed, not silent.
    silent = at_ten.silent
    assert list(silent["meter_id"]) == ["E5"]
    row = silent.iloc[0]
    assert (row["node_id"], row["group_id"], row["intervals_missed"], row["silent_minutes"]) == (
        "c2",
        "b2",
        8,
        120,
    )
    assert row["last_end"] == dt.datetime(2024, 6, 4, 8, 0, tzinfo=TZ)
    assert (row["name_zh"], row["name_en"]) == ("二号楼", "Office 2")
    b2 = _row(at_ten, "b2")
    assert (b2["meters"], b2["reporting"], b2["silent"]) == (3, 3, 1)  # E3, E5, H1
    assert _row(at_ten, "mini")["meters"] == 5
    assert at_ten.newest_reading == NOW  # E1's 12:00 reading is after now


def test_now_defaults_to_the_newest_reading(world: tuple[Path, object, object]) -> None:
    path, twin, factors = world
    with Store(path, read_only=True) as store:
        today = compute_today(store, twin, factors)  # type: ignore[arg-type]
    noon = dt.datetime(2024, 6, 4, 12, 0, tzinfo=TZ)
    assert today.as_of == noon and today.newest_reading == noon
    assert _row(today, "mini")["energy_kwh"] == 48 + 20 + 80 + 32 + 28
    # at 12:00: E5 16 intervals, E2 and E3 8 (15 min), H1 5 (hours): longest silent first
    assert list(zip(today.silent["meter_id"], today.silent["intervals_missed"], strict=True)) == [
        ("H1", 5),
        ("E5", 16),
        ("E2", 8),
        ("E3", 8),
    ]
    assert today.historical and not today.synthetic  # 2024, and a hand-made CSV


def test_midnight_closes_the_day_before(world: tuple[Path, object, object]) -> None:
    path, twin, factors = world
    with Store(path, read_only=True) as store:
        today = compute_today(store, twin, factors, "2024-06-04T00:00+08:00")  # type: ignore
    monday = TODAY - dt.timedelta(days=1)  # w = 0 for Monday: E2 0.5 x 96 = 48
    assert today.day == monday
    assert _row(today, "mini")["energy_kwh"] == 96 + 48 + 192 + 96 + 96


def test_a_day_before_the_data_has_no_usual(world: tuple[Path, object, object]) -> None:
    path, twin, factors = world
    with Store(path, read_only=True) as store:
        today = compute_today(store, twin, factors, "2024-03-01 09:00")  # type: ignore
    root = _row(today, "mini")
    assert root["energy_kwh"] == 0 and pd.isna(root["usual_energy_kwh"])
    assert pd.isna(root["share_of_usual"]) and today.history_days == ()
    assert today.newest_reading is None and len(today.silent) == 0


def test_bad_parameters(world: tuple[Path, object, object], tmp_path: Path) -> None:
    path, twin, factors = world
    with Store(path, read_only=True) as store:
        with pytest.raises(TodayError, match="not an ISO 8601 time"):
            compute_today(store, twin, factors, "yesterday")  # type: ignore[arg-type]
        with pytest.raises(TodayError, match="must be a positive part of a day"):
            compute_today(
                store,
                twin,
                factors,
                NOW,  # type: ignore[arg-type]
                interval=dt.timedelta(minutes=7),
            )
        with pytest.raises(TodayError, match="must be at least 1"):
            compute_today(store, twin, factors, NOW, silent_after=0)  # type: ignore[arg-type]
    with (
        Store(tmp_path / "empty.duckdb") as empty,
        pytest.raises(TodayError, match="has no readings of the sub-daily meters"),
    ):
        compute_today(empty, twin, factors)  # type: ignore[arg-type]


def test_pv_and_a_missing_factor(tmp_path: Path) -> None:
    # E1 grid electricity in Shanghai, X1 in Beijing (no factor in shanghai-2022), P1 exported
    # PV: 1 kWh per 15 min each, today 00:00-10:00 (40 readings)
    folder = _twin(tmp_path / "pv")
    (folder / "nodes.toml").write_text(
        (folder / "nodes.toml")
        .read_text(encoding="utf-8")
        .replace('id = "c2"\n', 'id = "c2"\nregion = "CN-BJ"\n'),
        encoding="utf-8",
    )
    (folder / "meters.toml").write_text(
        "".join(
            f'[[meter]]\nid = "{m}"\nnode = "{n}"\nmeasure = "electricity"\n{a}unit = "kWh"\n'
            'reading = "interval"\ninterval = "15min"\n\n'
            for m, n, a in (
                ("E1", "o1", ""),
                ("X1", "c2", ""),
                ("P1", "o1", 'activity = "electricity.pv_exported"\n'),
            )
        ),
        encoding="utf-8",
    )
    twin = load_twin(folder)
    rows = ["meter_id,timestamp,value,unit"] + [
        f"{m},2024-06-04 {q // 4:02d}:{q % 4 * 15:02d},1,kWh"
        for m in ("E1", "X1", "P1")
        for q in range(40)
    ]
    (tmp_path / "pv.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with Store(tmp_path / "pv.duckdb") as store:
        store.sync_twin(twin)
        assert store.ingest(tmp_path / "pv.csv", twin=twin).rejected == 0
        today = compute_today(store, twin, load_factor_set("shanghai-2022"), NOW)
    root = today.node("mini")
    assert root["energy_kwh"] == 80  # E1 + X1; exported PV is not use
    assert root["co2e_kg"] == pytest.approx(40 * GRID)  # X1 has no factor: left out
    carriers = today.carriers.set_index(["node_id", "activity"])
    assert carriers.loc[("mini", "electricity.pv_exported"), "co2e_kg"] == 0
    assert pd.isna(carriers.loc[("b2", "electricity.grid"), "co2e_kg"])
    assert [w.code for w in today.warnings] == ["today.no_factor"]
    assert "electricity.grid in CN-BJ" in today.warnings[0].message


# ------------------------------------------------------------------------------ file
def test_write_read_round_trip(at_ten: Today, tmp_path: Path) -> None:
    path = at_ten.write(tmp_path / "snaps")
    assert path == tmp_path / "snaps" / FILE_NAME
    assert [p.name for p in path.parent.iterdir()] == [FILE_NAME]  # no temporary file left
    back = read_today(path.parent)
    for name in ("nodes", "carriers", "curve", "silent", "factors"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(at_ten, name))
    for name in (
        "twin",
        "factor_set",
        "factor_set_sha256",
        "timezone",
        "day",
        "as_of",
        "computed_at",
        "newest_reading",
        "historical",
        "synthetic",
        "interval",
        "silent_after",
        "history_weeks",
        "history_days",
    ):
        assert getattr(back, name) == getattr(at_ten, name), name
    body = json.loads(path.read_text(encoding="utf-8"))
    assert body["format"] == "carbon-twin today v1"
    assert body["as_of"] == "2024-06-04T10:00:00+08:00" and body["historical"] is True


def test_publish_and_bad_files(world: tuple[Path, object, object], tmp_path: Path) -> None:
    path, twin, factors = world
    with Store(path, read_only=True) as store:
        out = publish_today(store, twin, factors, tmp_path, NOW)  # type: ignore[arg-type]
    assert read_today(out).node("b1")["energy_kwh"] == 60
    with pytest.raises(TodayError, match="Cannot read"):
        read_today(tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / FILE_NAME).write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(TodayError, match=r"is not a today\.json"):
        read_today(tmp_path / "bad")
    with pytest.raises(TodayError, match="No node 'zz'"):
        read_today(out).node("zz")


# ------------------------------------------------------------------------------ CLI
def test_cli_today_prints_and_writes(
    world: tuple[Path, object, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, twin, _ = world
    monkeypatch.setattr(cli.console, "width", 200)
    result = CliRunner().invoke(
        cli.app,
        [
            "today",
            str(path),
            "--twin",
            str(twin.folder),
            "--now",
            "2024-06-04T10:00+08:00",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "today 2024-06-04 up to 10:00 (Asia/Shanghai) · historical" in out
    assert "mean of 8 Tuesdays" in out
    row = next(line for line in out.splitlines() if "小社区 mini" in line)
    cells = [c.strip() for c in row.split("│")]
    # root: 200 kWh, 84 kg against 310 kWh, 130.2 kg (100.8..159.6), 65 % of usual
    assert cells[2:10] == ["5/5", "200", "310", "84", "130", "101..160", "65%", "1"]
    assert "Silent meters (1)" in out and "E5" in out and "2024-06-04 08:00" in out
    assert "Newest reading: 2024-06-04 10:00" in out
    assert read_today(tmp_path).node("mini")["co2e_kg"] == pytest.approx(84)


def test_cli_today_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["today", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "error: Store" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.output
