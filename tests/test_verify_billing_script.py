"""A ledger script's ``[[verify]] method = "billing"``: measured savings on monthly bills
(CalTRACK billing, carbon.mv_billing) through the recipe, with the temperature column named.

The packaged twin is copied beside the script and given a monthly meter on the Kaidike Building;
its bills use exactly 100 kWh a day before the intervention (commissioned 2023-09-01) and 80
after, whatever the weather, so the intercept-only billing model predicts 100 kWh/day and the
avoided energy over the reporting year 2023-09-01 .. 2024-09-01 (366 days) is 20 x 366 = 7,320
kWh by hand.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import shutil
from pathlib import Path

import pytest

from carbon.pipeline import run
from carbon.twin import sites_dir

COMMISSIONED = dt.date(2023, 9, 1)


def _months(start: dt.date, n: int) -> list[dt.date]:
    out = [start]
    for _ in range(n):
        d = out[-1]
        out.append(dt.date(d.year + d.month // 12, d.month % 12 + 1, 1))
    return out


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("billing")
    twin = folder / "shimen"
    shutil.copytree(sites_dir() / "shimen_erlu", twin)
    with open(twin / "meters.toml", "a", encoding="utf-8") as fh:
        fh.write(
            '\n[[meter]]\nid = "E-KAIDIKE-BILL"\nnode = "kaidike"\nmeasure = "electricity"\n'
            'unit = "kWh"\nreading = "interval"\ninterval = "1mo"\n'
            'notes = "A monthly bill (test)."\n'
        )
    months = _months(dt.date(2022, 9, 1), 24)
    lines = ["meter_id,timestamp,value,unit"]
    for a, b in itertools.pairwise(months):
        per_day = 100 if a < COMMISSIONED else 80
        lines.append(f"E-KAIDIKE-BILL,{a:%Y-%m},{per_day * (b - a).days},kWh")
    (folder / "bills.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    temps = ["日期,日平均气温"]
    day = dt.date(2022, 8, 1)
    while day < dt.date(2024, 10, 1):
        temps.append(f"{day},{17 + 11 * math.sin((day.timetuple().tm_yday - 110) / 58.1):.2f}")
        day += dt.timedelta(days=1)
    (folder / "weather.csv").write_text("\n".join(temps) + "\n", encoding="utf-8")
    path = folder / "ledger.toml"
    path.write_text(
        '[ledger]\nstore = "store.duckdb"\nstart = 2022-09-01\nend = 2024-09-01\n'
        'twin = "shimen"\nprofile = "shanghai-2022"\n\n'
        '[[input]]\nfile = "bills.csv"\n\n'
        '[[verify]]\nintervention = "kaidike_elevator_regen"\nmeter = "E-KAIDIKE-BILL"\n'
        'temperature = "weather.csv"\ntemperature_column = "日平均气温"\nmethod = "billing"\n',
        encoding="utf-8",
    )
    return path


def test_billing_verification_through_the_ledger_script(script: Path, tmp_path: Path) -> None:
    result = run(script, tmp_path / "out")
    try:
        (v,) = result.snapshot.manifest["verifications"]
        assert v["intervention"] == "kaidike_elevator_regen" and v["meter"] == "E-KAIDIKE-BILL"
        assert v["avoided_kwh"] == pytest.approx(20 * 366, rel=1e-6)
        e = result.ledger.entries
        post = e[(e.kind == "avoided") & e.notes.str.contains("ex_post")]
        assert len(post) and float(post.amount.map(float).sum()) == pytest.approx(7320, rel=1e-6)
    finally:
        result.ledger.store.close()
