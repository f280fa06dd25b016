"""Tests of carbon.pipeline: ledger-script configs and their errors, and run(): inputs in
order, already-seen inputs skipped, identical bytes on a re-run.

Every file is written here; every store is a real DuckDB file in tmp_path. Hand values
(shanghai-2022): electricity 0.42 kgCO2/kWh; tap water 0.1913 kgCO2e/m3.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from carbon.errors import CarbonError
from carbon.pipeline import ConfigError, LedgerConfig, load_config, run

LEDGER = '[ledger]\nstore = "data/store.duckdb"\nstart = 2024-01-01\nend = 2024-02-01\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BAD_CONFIGS = {
    "no [ledger] table": ('[[input]]\nfile = "x.csv"\n', r"field 'ledger': Field required"),
    "bad date": (
        '[ledger]\nstore = "s.duckdb"\nstart = "2024-1-1"\nend = 2024-02-01\n',
        r"field 'ledger\.start': Input should be a valid date",
    ),
    "unknown ledger key": (
        LEDGER + "threds = 2\n",
        r"field 'ledger\.threds': Extra inputs are not permitted",
    ),
    "unknown input key": (
        LEDGER + '[[input]]\nfile = "x.csv"\nmaping = "m.toml"\n',
        r"field 'input\.0\.maping': Extra inputs are not permitted",
    ),
    "base set by the file": (
        'base = "/elsewhere"\n' + LEDGER,
        r"field 'base': Extra inputs are not permitted",
    ),
    "threshold above 1": (
        LEDGER + "ne_threshold = 1.5\n",
        r"field 'ledger\.ne_threshold': Input should be less than or equal to 1",
    ),
    "not TOML": ("[ledger\n", r"not valid TOML"),
}


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=list(BAD_CONFIGS))
def test_bad_configs_name_the_file_and_field(tmp_path: Path, case: str) -> None:
    text, message = BAD_CONFIGS[case]
    path = write(tmp_path / "ledger.toml", text)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: ") + message) as info:
        load_config(path)
    assert isinstance(info.value, CarbonError) and isinstance(info.value, ValueError)


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=re.escape(f"{path}: no such ledger script")):
        load_config(path)


def test_config_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    path = write(
        tmp_path / "cfg" / "ledger.toml",
        LEDGER + '[[input]]\nfile = "in/a.csv"\nmapping = "maps/a.toml"\n'
        '[[input]]\nfile = "/abs/b.csv"\nsupersede = true\n',
    )
    cfg = load_config(path)
    assert cfg.base == (tmp_path / "cfg").resolve()
    assert cfg.resolve(cfg.ledger.store) == cfg.base / "data" / "store.duckdb"
    assert [cfg.resolve(i.file) for i in cfg.input] == [
        cfg.base / "in" / "a.csv",
        Path("/abs/b.csv"),
    ]
    assert cfg.input[0].mapping == Path("maps/a.toml")
    assert [i.supersede for i in cfg.input] == [False, True]
    # Defaults of the [ledger] table.
    s = cfg.ledger
    assert (s.twin, s.profile, s.ne_threshold, s.fill_gaps, s.close_through, s.threads) == (
        "shimen_erlu",
        "shanghai-2022",
        0.5,
        False,
        None,
        None,
    )


EVENTS = (
    "meter_id,date,event,old_final_reading,new_initial_reading\n"
    "W-KAIDIKE,2024-01-20,replacement,1020,5\n"
)
WATER = "meter_id,read_at,reading\nW-KAIDIKE,2024-01-01,1000\nW-KAIDIKE,2024-02-01,12\n"
ELECTRICITY = "meter,start,kwh_value\nE-KAIDIKE,2024-01-10 10:00,50\n"
MAPPING = (
    '[mapping]\nkind = "interval"\nunit = "kWh"\n'
    '[mapping.columns]\nmeter_id = "meter"\ntimestamp = "start"\nvalue = "kwh_value"\n'
)


def script(folder: Path, order: tuple[str, ...] = ("events", "water", "elec")) -> Path:
    """A ledger script with its inputs under ``folder`` (relative paths), in ``order``."""
    write(folder / "inputs" / "events.csv", EVENTS)
    write(folder / "inputs" / "water.csv", WATER)
    write(folder / "inputs" / "elec.csv", ELECTRICITY)
    write(folder / "mappings" / "elec.toml", MAPPING)
    inputs = {
        "events": '[[input]]\nfile = "inputs/events.csv"\n',
        "water": '[[input]]\nfile = "inputs/water.csv"\n',
        "elec": '[[input]]\nfile = "inputs/elec.csv"\nmapping = "mappings/elec.toml"\n',
    }
    return write(folder / "ledger.toml", LEDGER + "".join(inputs[k] for k in order))


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_run_ingests_in_order_builds_and_publishes(tmp_path: Path) -> None:
    config = script(tmp_path / "cfg")
    stages: list[tuple[str, int, int]] = []
    result = run(config, tmp_path / "out", progress=lambda s, d, t: stages.append((s, d, t)))
    result.ledger.store.close()
    assert stages == [
        ("events.csv", 0, 3),
        ("water.csv", 1, 3),
        ("elec.csv", 2, 3),
        ("ledger", 3, 3),
    ]
    assert [(b.kind, b.accepted, b.rejected, b.skipped) for b in result.batches] == [
        ("events", 1, 0, False),
        ("register", 2, 0, False),
        ("interval", 1, 0, False),
    ]
    assert (tmp_path / "cfg" / "data" / "store.duckdb").exists()
    e = result.ledger.entries
    water = e[e.activity == "water.supply"]
    # The replacement is known before the reads: (1020 - 1000) on the old meter + (12 - 5) on
    # the new = 27 m3; x 0.1913 = 5.1651 -> 5.165 kg.
    assert [(str(r.amount), str(r.co2e_kg)) for r in water.itertuples()] == [("27.000000", "5.165")]
    # The inline mapping file (relative to the config) read the odd headers: 50 kWh x 0.42.
    loc = e[(e.activity == "electricity.grid") & (e.method == "location")]
    assert [(r.node_id, str(r.co2e_kg)) for r in loc.itertuples()] == [("kaidike", "21.000")]
    assert result.snapshot.path.parent == tmp_path / "out"
    assert [i["file_name"] for i in result.snapshot.manifest["inputs"]] == [
        "events.csv",
        "water.csv",
        "elec.csv",
    ]


def test_registers_before_their_events_lose_the_delta(tmp_path: Path) -> None:
    # The order of [[input]] is the order of ingestion: reads before the replacement event see
    # 1000 -> 12 as a negative delta.
    config = script(tmp_path / "cfg", order=("water", "events", "elec"))
    result = run(config, tmp_path / "out")
    result.ledger.store.close()
    water = result.batches[0]
    assert (water.kind, water.rejected, dict(water.reasons)) == (
        "register",
        1,
        {"negative_delta": 1},
    )
    assert "water.supply" not in set(result.ledger.entries.activity)


def test_a_rerun_skips_seen_inputs_and_publishes_identical_bytes(tmp_path: Path) -> None:
    config = script(tmp_path / "cfg")
    first = run(load_config(config), tmp_path / "out")
    first.ledger.store.close()
    again = run(config, tmp_path / "out")
    again.ledger.store.close()
    assert [b.skipped for b in again.batches] == [True, True, True]
    assert [b.batch_id for b in again.batches] == [b.batch_id for b in first.batches]
    assert again.snapshot.id == first.snapshot.id
    # Published afresh elsewhere, every file is byte for byte the same.
    elsewhere = run(config, tmp_path / "elsewhere")
    elsewhere.ledger.store.close()
    assert files_of(elsewhere.snapshot.path) == files_of(first.snapshot.path)


def test_run_accepts_a_config_object_and_reports_bad_inputs(tmp_path: Path) -> None:
    config = load_config(script(tmp_path / "cfg"))
    assert isinstance(config, LedgerConfig)
    gone = config.input[0].model_copy(update={"file": Path("inputs/gone.csv")})
    missing = config.model_copy(update={"input": [*config.input, gone]})
    with pytest.raises(ConfigError, match=r"input inputs/gone\.csv is missing \(looked in "):
        run(missing, tmp_path / "out")
    assert not (tmp_path / "out").exists()
