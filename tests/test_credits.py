"""The energy-recovery credit: avoided electricity beside the inventory, never netted.

Hand values (shanghai-2022): grid 0.42 kgCO2/kWh; kWh exported per wet tonne incinerated
(500 kWh/t gross x 72.7 % exported = 363.5 kWh/t, an assumption; docs/research/waste.md §5).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from carbon.credits import EXPORT_KWH_PER_T
from carbon.inventory import inventory_totals, memo_items
from carbon.pipeline import run

SCRIPT = """[ledger]
store = "s.duckdb"
start = 2024-01-01
end = 2024-02-01

[[input]]
file = "waste.csv"
"""
WASTE = (
    "node_id,activity,period_start,period_end,amount,unit\n"
    "kaidike,waste.msw.incineration,2024-01-01,2024-02-01,10,t\n"
)


def test_the_energy_recovery_credit_is_avoided_and_never_in_a_total(tmp_path: Path) -> None:
    assert EXPORT_KWH_PER_T == Decimal("363.5")
    (tmp_path / "waste.csv").write_text(WASTE, encoding="utf-8")
    (tmp_path / "ledger.toml").write_text(SCRIPT, encoding="utf-8")
    result = run(tmp_path / "ledger.toml", tmp_path / "out")
    result.ledger.store.close()
    e = result.ledger.entries
    (credit,) = e[e.kind == "avoided"].itertuples()
    # 10 t x 363.5 kWh/t = 3,635 kWh; x 0.42 kgCO2/kWh = 1,526.7 kg avoided
    assert (credit.amount, credit.co2e_kg) == (Decimal("3635.000000"), Decimal("1526.700"))
    assert (credit.gpc_ref, credit.activity, credit.method) == (
        "III.3.2",
        "electricity.grid",
        "location",
    )
    assert credit.notes.startswith("credit energy_recovery 10 t x 363.5 kWh/t")
    # The waste row keeps its own, positive emission; the credit is in no total.
    waste = e[(e.kind == "emission") & (e.activity == "waste.msw.incineration")]
    assert len(waste) == 1 and waste.co2e_kg.iloc[0] > 0
    totals = inventory_totals(e, result.ledger.twin, 2024)
    assert totals.basic_t == pytest.approx(float(waste.co2e_kg.iloc[0]) / 1000)
    memo = memo_items(e, 2024)
    assert list(memo[memo.kind == "avoided"].basis) == ["credit"]
    assert result.snapshot.manifest["energy_recovery"]["export_kwh_per_t"] == "363.5"
