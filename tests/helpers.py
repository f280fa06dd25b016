"""Test data and helpers shared by several test modules."""

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner


def run_cli(*args: str | Path, code: int = 0) -> Result:
    """``carbon *args`` in-process (typer's CliRunner); checks the exit status, and that
    nothing crashed and no stack trace was printed."""
    from carbon import cli

    result = CliRunner().invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r}\n{result.output}"
    )
    assert "Traceback" not in result.output
    return result

MID_FACTORS = """series = "test-mid-month"
[source]
publisher = "Test"
title = "A factor that changes on 15 January"
year = 2024

[[factor]]
id = "t.before"
activity = "electricity.grid"
region = "CN-SH"
valid_from = 2024-01-01
valid_to = 2024-01-15
gases = { CO2 = "0.5123 kgCO2/kWh" }
confidence = "high"

[[factor]]
id = "t.after"
activity = "electricity.grid"
region = "CN-SH"
valid_from = 2024-01-15
gases = { CO2 = "0.4321 kgCO2/kWh" }
confidence = "high"
"""
MID_PROFILE = """name = "test-mid-month"
title_zh = "测试"
title_en = "Test"
description = "A mid-month factor change"
gwp = "AR5"

[[include]]
file = "mid-month.toml"

[[include]]
file = "cn-fuel-defaults.toml"

[[include]]
file = "water.toml"
"""


def write_office_twin(
    folder: Path, *, office: str = "o", meter: str = "M1", attributes: str = ""
) -> Path:
    """Write a one-office twin (subdistrict 'mini' -> block 'b1' -> office -> one hourly
    electricity meter) into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.toml").write_text(
        '[site]\nid = "mini"\nname_zh = "小社区"\nname_en = "Mini"\nregion = "CN-SH"\n'
        'timezone = "Asia/Shanghai"\nroot = "mini"\n',
        encoding="utf-8",
    )
    (folder / "nodes.toml").write_text(
        '[[node]]\nid = "mini"\nkind = "subdistrict"\nname_zh = "小社区"\nname_en = "Mini"\n\n'
        '[[node]]\nid = "b1"\nparent = "mini"\nkind = "block"\nname_zh = "一街区"\n'
        'name_en = "Block 1"\n\n'
        f'[[node]]\nid = "{office}"\nparent = "b1"\nkind = "office_building"\n'
        f'use_type = "office"\nname_zh = "大楼"\nname_en = "Office"\n{attributes}\n',
        encoding="utf-8",
    )
    (folder / "meters.toml").write_text(
        f'[[meter]]\nid = "{meter}"\nnode = "{office}"\nmeasure = "electricity"\nunit = "kWh"\n'
        'reading = "interval"\ninterval = "1h"\n',
        encoding="utf-8",
    )
    return folder
