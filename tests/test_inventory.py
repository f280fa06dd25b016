"""Tests of carbon.inventory: the GPC inventory of a calendar year, its totals, memo items and
intensities.

Expected values are worked by hand from the entries each test writes; the GPC rules they check
are those of docs/research/gpc.md §1.2 (rows, BASIC, BASIC+), §1.5 (notation keys) and §5
(one calendar year, intensity).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_office_twin

from carbon.errors import FactorFileError
from carbon.factors import load_factor_set
from carbon.gpc import REFS, in_total
from carbon.inventory import (
    INVENTORY_COLUMNS,
    InventoryContext,
    InventoryError,
    gpc_inventory,
    intensity,
    inventory_totals,
    inventory_years,
    memo_items,
)
from carbon.ledger import Ledger, LedgerError
from carbon.twin import load_twin

NODES = pd.DataFrame(
    {
        "id": ["mini", "b1", "ra", "ra.c", "o"],
        "parent": ["", "mini", "b1", "ra", "b1"],
        "kind": ["subdistrict", "block", "residential_area", "compound", "office_building"],
        "use_type": ["", "", "residential", "residential", "office"],
        "residents": [None, None, 100, None, None],
        "office_workers": [None, None, None, None, 40],
        "floor_area_m2": [None, None, 3000, None, 2000],
        "estimated": ["", "", "residents", "", ""],
    }
)
PATHS = {"ra.c": "mini/b1/ra/ra.c", "o": "mini/b1/o", "mini": "mini", "b1": "mini/b1"}


def entry(
    ref: str,
    co2e_kg: str,
    month: str = "2024-01",
    *,
    kind: str = "emission",
    node: str = "o",
    method: str = "n/a",
    co2: str | None = "same",
    ch4: str = "0",
    n2o: str = "0",
    completeness: str = "1",
    activity: str = "x",
    notes: str | None = None,
    entry_id: str | None = None,
) -> dict[str, Any]:
    start = dt.date.fromisoformat(month + "-01")
    return {
        "entry_id": entry_id or f"E{ref}{month}{node}{method}{kind}{activity}",
        "kind": kind,
        "period_start": start,
        "period_end": dt.date(start.year + start.month // 12, start.month % 12 + 1, 1),
        "node_id": node,
        "node_path": PATHS[node],
        "gpc_ref": ref,
        "gpc_sector": ref.split(".")[0],
        "scope": REFS[ref].scope,
        "method": method,
        "activity": activity,
        "factor_id": "f." + activity,
        "co2_kg": None if co2 is None else Decimal(co2e_kg if co2 == "same" else co2),
        "ch4_kg": Decimal(ch4),
        "n2o_kg": Decimal(n2o),
        "co2e_kg": Decimal(co2e_kg),
        "dq_activity": "H",
        "dq_factor": "M",
        "completeness": Decimal(completeness),
        "meters": 1,
        "notes": notes,
    }


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


CTX = InventoryContext.from_frames(NODES)


# ------------------------------------------------------------------------------ the table
def test_every_sub_sector_is_listed_with_a_value_or_a_key() -> None:
    e = frame(entry("I.2.2", "420.000", method="location"))
    table = gpc_inventory(e, CTX, 2024)
    assert list(table.columns) == list(INVENTORY_COLUMNS)
    assert list(table.gpc_ref) == list(REFS)  # all 53 GPC v1.1 rows, in order
    valued = table.co2e_t.notna()
    assert (valued ^ table.notation_key.notna()).all()  # a value or a key, never both
    assert table.loc[valued, "gpc_ref"].tolist() == ["I.2.2"]
    assert table.notation_key.dropna().isin(["NO", "IE", "NE", "C"]).all()
    assert table.loc[~valued, "explanation"].notna().all()  # every key is explained
    row = table.set_index("gpc_ref").loc["I.2.2"]
    assert (row.co2e_t, row.scope, row.level, row.data_quality) == (0.42, 2, "basic", "H/M")


def test_one_table_per_calendar_year() -> None:
    # 24 months: 100 kg a month in 2023, 200 kg a month in 2024 (I.2.1, gas).
    e = frame(
        *(entry("I.2.1", "100.000", f"2023-{m:02d}") for m in range(1, 13)),
        *(entry("I.2.1", "200.000", f"2024-{m:02d}") for m in range(1, 13)),
    )
    assert inventory_years(e) == [2023, 2024]
    for year, expected in ((2023, 1.2), (2024, 2.4)):
        table = gpc_inventory(e, CTX, year).set_index("gpc_ref")
        assert set(table.year) == {year}
        assert table.loc["I.2.1", "co2e_t"] == pytest.approx(expected, abs=1e-12)
        assert inventory_totals(e, CTX, year).basic_t == pytest.approx(expected, abs=1e-12)
    with pytest.raises(InventoryError, match=r"one calendar year; the entries span 2023, 2024"):
        gpc_inventory(e, CTX)


def test_basic_is_incomplete_exactly_while_a_basic_row_is_ne() -> None:
    basic = [ref for ref in REFS if in_total(ref, "BASIC")]
    e = frame(entry("I.2.2", "420.000", method="location"))
    # Every BASIC row without data keyed NO by the boundary statement: complete.
    keys = {ref: ("NO", "does not occur (test)") for ref in basic if ref != "I.2.2"}
    complete = InventoryContext.from_frames(
        NODES,
        boundary={"notation_keys": {r: {"key": k, "explanation": x} for r, (k, x) in keys.items()}},
    )
    t = inventory_totals(e, complete, 2024)
    assert (t.complete, t.incomplete_rows, t.label) == (True, [], "BASIC")
    # One BASIC row left without a key becomes NE: incomplete, and it is named.
    del keys["II.1.1"]
    partial = InventoryContext("mini", complete.nodes, notation_keys=keys)
    t = inventory_totals(e, partial, 2024)
    assert (t.complete, t.incomplete_rows, t.label) == (False, ["II.1.1"], "BASIC (incomplete)")
    # A row with data below the coverage threshold is NE too.
    low = frame(entry("I.2.2", "420.000", method="location", completeness="0.25"))
    t = inventory_totals(low, complete, 2024)
    assert (t.complete, t.incomplete_rows) == (False, ["I.2.2"])


def test_ne_rows_add_nothing_to_the_totals() -> None:
    e = frame(
        entry("I.2.2", "420.000", method="location"),
        entry("I.1.2", "156.240", node="ra.c", method="location", completeness="0.25"),
    )
    row = gpc_inventory(e, CTX, 2024).set_index("gpc_ref").loc["I.1.2"]
    assert row.notation_key == "NE" and pd.isna(row.co2e_t)
    assert row.explanation.startswith("data coverage 25% is below the 50% threshold")
    t = inventory_totals(e, CTX, 2024)
    assert t.basic_t == pytest.approx(0.42, abs=1e-12)  # 156.240 kg of the NE row left out
    assert t.scope2_t == pytest.approx(0.42, abs=1e-12)
    # A lower threshold reports it: 420 + 156.240 kg.
    assert inventory_totals(e, CTX, 2024, ne_threshold=0.2).basic_t == pytest.approx(0.57624)


def test_basic_plus_adds_its_own_rows() -> None:
    e = frame(
        entry("I.2.2", "420.000", method="location"),
        entry("I.2.3", "21.000", activity="td_loss"),  # T&D losses, BASIC+ only
        entry("IV.2", "5.500", activity="refrigerant"),  # product use, BASIC+ only
        entry("VI.1", "19.130", activity="water.supply"),  # other scope 3: in no total
    )
    t = inventory_totals(e, CTX, 2024)
    assert t.basic_t == pytest.approx(0.42, abs=1e-12)
    assert t.basic_plus_t == pytest.approx(0.42 + 0.021 + 0.0055, abs=1e-12)
    assert t.basic_plus_t > t.basic_t
    assert t.territorial_t == pytest.approx(0.0055, abs=1e-12)  # IV.2 is scope 1
    assert "IV.2" not in t.basic_plus_incomplete_rows


def test_a_negative_emission_entry_raises() -> None:
    e = frame(
        entry("I.2.2", "420.000", method="location"),
        entry(
            "III.3.2",
            "-1301.200",
            node="mini",
            activity="waste.msw.incineration",
            co2=None,
            entry_id="Eneg1",
        ),
    )
    with pytest.raises(
        InventoryError,
        match=r"1 emission entries are negative.*Eneg1 "
        r"\(waste\.msw\.incineration, factor f\.waste\.msw\.incineration, "
        r"III\.3\.2, 2024-01, -1,301\.200 kg\).*'avoided' entry",
    ):
        gpc_inventory(e, CTX, 2024)
    with pytest.raises(InventoryError, match="negative"):
        inventory_totals(e, CTX, 2024)
    # A correction may lower a row, never below zero.
    adjusted = frame(
        entry("I.2.2", "420.000", method="location"),
        entry("I.2.2", "-500.000", method="location", kind="adjustment"),
    )
    with pytest.raises(InventoryError, match=r"row I\.2\.2 of 2024 sums to -80\.000 kg"):
        gpc_inventory(adjusted, CTX, 2024)


def test_gases_not_estimated_are_ne() -> None:
    e = frame(
        # a CO2e-only factor (co2_kg empty): every gas NE
        entry("III.1.2", "1372.780", node="mini", activity="waste.msw.landfill", co2=None),
        # a CO2-only grid factor: CO2 reported, CH4 and N2O NE
        entry("I.2.2", "420.000", method="location"),
        # a factor with all three gases
        entry("I.2.1", "21.700", co2="21.600", ch4="0.002", n2o="0.001"),
    )
    table = gpc_inventory(e, CTX, 2024).set_index("gpc_ref")
    assert tuple(table.loc["III.1.2", ["co2_t", "ch4_t", "n2o_t"]]) == ("NE", "NE", "NE")
    assert (
        table.loc["III.1.2", "explanation"] == "CO2, CH4, N2O not estimated: the factor "
        "gives CO2e only"
    )
    assert tuple(table.loc["I.2.2", ["co2_t", "ch4_t", "n2o_t"]]) == (0.42, "NE", "NE")
    assert tuple(table.loc["I.2.1", ["co2_t", "ch4_t", "n2o_t"]]) == pytest.approx(
        (0.0216, 0.000002, 0.000001)
    )
    # A row with a key shows its key in the gas columns.
    assert tuple(table.loc["IV.1", ["co2_t", "ch4_t", "n2o_t"]]) == ("NE", "NE", "NE")


def test_biogenic_co2_is_reported_apart() -> None:
    e = frame(
        entry("III.3.2", "50.000", node="mini", activity="waste.msw.incineration"),
        entry("III.3.2", "80.000", node="mini", activity="waste.msw.incineration.biogenic_co2"),
        entry("III.1.2", "10.000", node="mini", activity="waste.msw.landfill"),
    )
    table = gpc_inventory(e, CTX, 2024).set_index("gpc_ref")
    assert table.loc["III.3.2", "co2e_t"] == pytest.approx(0.05)
    assert table.loc["III.3.2", "biogenic_co2_t"] == pytest.approx(0.08)
    assert table.loc["III.1.2", "biogenic_co2_t"] == "NE"  # a waste row without the line
    t = inventory_totals(e, CTX, 2024)
    assert t.basic_t == pytest.approx(0.06, abs=1e-12)  # biogenic CO2 is in no total
    assert t.biogenic_co2_t == pytest.approx(0.08)


def test_avoided_and_removals_are_memo_items_never_in_a_total() -> None:
    e = frame(
        entry("I.2.2", "420.000", method="location"),
        entry("I.2.2", "30.000", kind="avoided", notes="ex_ante intervention=led"),
        entry("I.2.2", "20.000", kind="avoided", month="2024-02", notes="ex_ante intervention=led"),
        entry("I.2.2", "12.000", kind="avoided", notes="ex_post intervention=led"),
        entry("V.2", "-12.500", kind="removal", node="b1", activity="removal.vegetation"),
        entry("I.2.2", "99.000", kind="avoided", month="2023-12", notes="ex_ante intervention=led"),
    )
    assert inventory_totals(e, CTX, 2024).basic_plus_t == pytest.approx(0.42, abs=1e-12)
    v2 = gpc_inventory(e, CTX, 2024).set_index("gpc_ref").loc["V.2"]
    assert v2.notation_key == "NE"  # the removal is not netted into V.2
    memo = memo_items(e, 2024)
    got = {
        (r.kind, r.basis, r.intervention_id, r.node_id): (r.co2e_t, r.entries)
        for r in memo.itertuples()
    }
    assert got == {
        ("avoided", "ex_ante", "led", ""): (pytest.approx(0.05), 2),
        ("avoided", "ex_post", "led", ""): (pytest.approx(0.012), 1),
        ("removal", "n/a", "", "b1"): (pytest.approx(-0.0125), 1),
    }


# ------------------------------------------------------------------------------ intensity
def _tiny_twin(folder: Path) -> Path:
    write_office_twin(
        folder,
        attributes='attributes = { office_workers = 40, floor_area = "2000 m2" }\n'
        'estimated = { office_workers = "test" }',
    )
    with open(folder / "nodes.toml", "a", encoding="utf-8") as fh:
        fh.write(
            '\n[[node]]\nid = "ra"\nparent = "b1"\nkind = "residential_area"\n'
            'use_type = "residential"\nname_zh = "居民区"\nname_en = "Area"\n'
            'attributes = { residents = 100, floor_area = "3000 m2" }\n\n'
            '[[node]]\nid = "ra.c"\nparent = "ra"\nkind = "compound"\nname_zh = "小区"\n'
            'name_en = "Compound"\n'
        )
    return folder


def test_intensity_by_hand_on_a_tiny_twin(tmp_path: Path) -> None:
    twin = load_twin(_tiny_twin(tmp_path / "mini"))
    # Six months of 2024: homes 150 kg grid + 50 kg gas a month, the office 1,000 kg a month.
    e = frame(
        *(
            entry("I.1.2", "150.000", f"2024-{m:02d}", node="ra.c", method="location")
            for m in range(1, 7)
        ),
        *(entry("I.1.1", "50.000", f"2024-{m:02d}", node="ra.c") for m in range(1, 7)),
        *(entry("I.2.2", "1000.000", f"2024-{m:02d}", method="location") for m in range(1, 7)),
    )
    i = intensity(e, twin, 2024)
    assert (i.months, i.scale, i.annualised) == (6, 2.0, True)
    # residential: (150 + 50) x 6 = 1,200 kg, annualised x 2 = 2.4 t, / 100 residents
    assert i.residential_t == pytest.approx(2.4)
    assert i.per_resident_t == pytest.approx(0.024)
    # BASIC: 1,200 + 6,000 = 7,200 kg -> 14.4 t a year, / (100 residents + 40 workers)
    assert i.basic_t == pytest.approx(14.4)
    assert (i.residents, i.office_workers, i.service_population) == (100, 40, 140)
    assert i.per_service_population_t == pytest.approx(14.4 / 140)
    # stationary energy 14.4 t / (3,000 + 2,000 m2) = 2.88 kg / m2 / a
    assert (i.floor_area_m2, i.per_m2_kg) == (5000, pytest.approx(2.88))
    assert (i.residents_estimated, i.office_workers_estimated) == (False, True)
    # The office alone: no residents, so no per-resident figure.
    office = intensity(e, twin, 2024, node_id="o")
    assert office.per_resident_t is None
    assert office.per_service_population_t == pytest.approx(12.0 / 40)
    with pytest.raises(InventoryError, match="No node 'atlantis'"):
        intensity(e, twin, 2024, node_id="atlantis")


# ------------------------------------------------------------------------------ the ledger
def test_ledger_gpc_table_asks_for_a_year_when_it_spans_several(tmp_path: Path) -> None:
    twin = load_twin(_tiny_twin(tmp_path / "mini"))
    e = frame(
        entry("I.2.2", "100.000", "2023-12", method="location"),
        entry("I.2.2", "200.000", "2024-01", method="location"),
    )
    ledger = Ledger(
        e,
        pd.DataFrame(),
        twin,
        None,
        dt.date(2023, 12, 1),  # type: ignore[arg-type]
        dt.date(2024, 2, 1),
        pd.DataFrame(),
        None,
    )  # type: ignore[arg-type]
    assert ledger.years() == [2023, 2024]
    with pytest.raises(LedgerError, match=r"spans the calendar years 2023, 2024.*pass year="):
        ledger.gpc_table()
    with pytest.raises(LedgerError, match="spans the calendar years"):
        ledger.total()
    assert ledger.total(year=2024) == pytest.approx(0.2, abs=1e-12)
    assert ledger.gpc_table(year=2023).set_index("gpc_ref").loc["I.2.2", "co2e_t"] == 0.1
    tables = ledger.gpc_tables()
    assert set(tables.year) == {2023, 2024}
    assert len(tables) == 2 * 2 * 2 * len(REFS)  # years x (root, block) x views x rows
    with pytest.raises(LedgerError, match="year 2022 is outside"):
        ledger.total(year=2022)


# ------------------------------------------------------------------------------ factors
def test_the_factor_loader_can_refuse_negative_factors(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "neg.toml").write_text(
        'series = "neg"\n[source]\npublisher = "Test"\ntitle = "A net credit"\nyear = 2024\n\n'
        '[[factor]]\nid = "neg.incineration"\nactivity = "waste.msw.incineration"\n'
        'region = "CN"\nvalid_from = 2020-01-01\ngases = { CO2e = "-130.12 kgCO2e/t" }\n'
        'confidence = "medium"\n',
        encoding="utf-8",
    )
    profile = tmp_path / "profiles" / "neg.toml"
    profile.write_text(
        'name = "neg"\ntitle_zh = "负"\ntitle_en = "Negative"\ndescription = "test"\n'
        'gwp = "AR5"\n\n[[include]]\nfile = "neg.toml"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        FactorFileError,
        match=r"entry 'neg\.incineration', field 'gases'.*"
        r"negative emission factor -130\.12 kgCO2e/t for inventory activity "
        r"'waste\.msw\.incineration'.*avoided entry",
    ):
        load_factor_set(profile)  # refused by default
    assert len(load_factor_set(profile, refuse_negative=False)) == 1  # read, on request


# ------------------------------------------------------------------------------ the demo
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from carbon.demo import build_demo

    result = build_demo(tmp_path_factory.mktemp("demo"), start="2024-01-01", end="2024-03-01")
    yield result
    result.ledger.store.close()


def test_the_demo_inventory_follows_the_rules(demo: Any) -> None:
    ledger, snapshot = demo.ledger, demo.snapshot
    entries = snapshot.entries()
    # no negative inventory entry
    emissions = entries[entries.kind == "emission"]
    assert (emissions.co2e_kg >= 0).all()
    # one GPC table per calendar year, every sub-sector of every (node, view) in it
    gpc = snapshot.table("gpc_table")
    assert set(gpc.year) == {"2024"}
    for (_, _, _), part in gpc.groupby(["year", "node_id", "method"]):
        assert part.gpc_ref.tolist() == list(REFS)
        assert ((part.co2e_t != "") ^ (part.notation_key != "")).all()
    # the snapshot's context keys the rows as the ledger did
    table = ledger.gpc_table()
    again = gpc_inventory(entries, snapshot, 2024, ne_threshold=ledger.ne_threshold)
    pd.testing.assert_frame_equal(table, again)
    # BASIC labelled incomplete exactly while a BASIC row is NE
    ne_basic = table[
        (table.notation_key == "NE") & table.gpc_ref.map(lambda r: in_total(r, "BASIC"))
    ].gpc_ref.tolist()
    totals = ledger.totals()
    assert totals.incomplete_rows == ne_basic and totals.complete is (not ne_basic)
    m = snapshot.manifest["totals_t"]
    assert list(m) == ["2024"]
    assert m["2024"]["BASIC_location"] == round(totals.basic_t, 6)
    assert m["2024"]["BASIC_complete_location"] is totals.complete
    assert m["2024"]["BASIC_incomplete_rows_location"] == ne_basic
    # the boundary statement is published with the keys it gives
    boundary = snapshot.manifest["boundary"]
    assert boundary["notation_keys"]["IV.1"]["key"] == "NO"
    assert any("Metro" in item["what"] for item in boundary["excluded"])


def test_cli_and_wall_print_the_same_annual_per_capita(demo: Any) -> None:
    from carbon.cli import console, print_ledger_summary
    from carbon.dashboard.data import load_snapshot

    ledger, snapshot = demo.ledger, demo.snapshot
    from_ledger = intensity(ledger.entries, ledger.inventory_context(), 2024)
    from_snapshot = intensity(snapshot.entries(), snapshot, 2024)
    wall = load_snapshot(snapshot.path).kpis("shimen_erlu", "location")
    assert (from_ledger.months, from_ledger.annualised) == (2, True)
    assert from_ledger.per_resident_t is not None and from_ledger.per_resident_t > 0
    assert wall.per_capita_t == from_ledger.per_resident_t == from_snapshot.per_resident_t
    assert wall.per_service_population_t == from_ledger.per_service_population_t
    assert wall.emissions_t == ledger.total()
    with console.capture() as captured:
        print_ledger_summary(demo)
    text = " ".join(captured.get().split())
    assert f"{wall.per_capita_t:.2f} t / resident / a" in text
    assert "annualised from 2 months" in text
    assert "BASIC (incomplete)" in text or totals_complete(ledger)
    # the phantom root row is gone from the block table (the root is no block)
    assert not re.search(r"^│ 石门二路街道\s*│", captured.get(), re.MULTILINE)
    assert "Booked on the subdistrict as a whole, in no block" in text


def totals_complete(ledger: Ledger) -> bool:
    return ledger.totals().complete


def test_bad_inputs_raise() -> None:
    e = frame(entry("I.2.2", "420.000", method="location"))
    with pytest.raises(InventoryError, match="method must be 'location' or 'market', not 'avg'"):
        gpc_inventory(e, CTX, 2024, method="avg")
    with pytest.raises(InventoryError, match="the nodes must have exactly one root, found 5"):
        InventoryContext.from_frames(NODES.assign(parent=""))
    with pytest.raises(InventoryError, match="the entries span no year"):
        gpc_inventory(e.iloc[0:0], CTX)


# --- uncertainty (IPCC 2006 Vol. 1 Ch. 3, Approach 1) ------------------------------------------
def test_approach_1_uncertainty_of_a_row_and_of_basic_by_hand() -> None:
    from carbon.inventory import combine_product, combine_sum

    # docs/research/uncertainty.md §3: 420 kg at H/H and 100 kg at L/L in one row.
    # Eq. 3.1: H/H sqrt(5^2 + 5^2) = 7.0711 %; L/L sqrt(30^2 + 50^2) = 58.3095 %.
    # Eq. 3.2: sqrt((420 x 7.0711)^2 + (100 x 58.3095)^2) / 520 = 6,543.70 / 520 = 12.5840 %.
    assert combine_product(5, 5) == pytest.approx(7.0710678)
    assert combine_product(30, 50) == pytest.approx(58.3095189)
    low = entry("I.2.2", "100.000", method="location", activity="y")
    low.update(dq_activity="L", dq_factor="L")
    high = entry("I.2.2", "420.000", method="location")
    high.update(dq_factor="H")
    e = frame(high, low)
    row = gpc_inventory(e, CTX, 2024).set_index("gpc_ref").loc["I.2.2"]
    hand = (8_820_000 + 34_000_000) ** 0.5 / 520
    assert row["uncertainty_pct"] == pytest.approx(hand, abs=1e-6)
    assert round(hand, 4) == 12.584
    # A second row at M/M (sqrt(15^2 + 10^2) = 18.0278 %) of 200 kg; BASIC by Eq. 3.2 over rows.
    gas = entry("I.2.1", "200.000", activity="natural_gas.pipeline")
    gas.update(dq_activity="M", dq_factor="M")
    t = inventory_totals(frame(high, low, gas), CTX, 2024)
    by_hand = ((hand * 520) ** 2 + (200 * 325**0.5) ** 2) ** 0.5 / 720
    assert t.uncertainty_pct == pytest.approx(by_hand, abs=1e-6)
    assert combine_sum([(520, hand), (200, 325**0.5)]) == pytest.approx(by_hand)
    # A keyed row has no uncertainty; an empty sum has none either.
    keyed = gpc_inventory(e, CTX, 2024).set_index("gpc_ref").loc["I.1.1"]
    assert keyed["notation_key"] == "NE" and pd.isna(keyed["uncertainty_pct"])
    assert combine_sum([]) is None


def test_synthetic_activity_data_are_graded_l() -> None:
    from carbon.valuation import dq_activity, grade_synthetic

    assert dq_activity(1.0, 0, 1) == "H"
    assert dq_activity(1.0, 0, 1, synthetic=True) == "L"
    e = frame(*(entry("I.2.2", f"{k}.000", entry_id=f"e{k}") for k in range(1, 5)))
    e["source_batches"] = ["S1", "S1,FILL", "S1,REAL", ""]
    graded = grade_synthetic(e, {"S1"}, {"FILL"})
    # all synthetic -> L; synthetic + its gap fill -> L; mixed with real data -> kept; none -> kept
    assert graded.dq_activity.tolist() == ["L", "L", "H", "H"]
    assert e.dq_activity.tolist() == ["H"] * 4  # a copy, the input is untouched


# ------------------------------------------------------------------------------ one pass
def _mixed_entries() -> pd.DataFrame:
    """Two years, two nodes, both views and n/a, memo and biogenic entries, a missing
    completeness, an unknown grade, a CO2e-only factor and an adjustment."""
    rows = []
    for year in (2023, 2024):
        for m in (1, 6):
            month = f"{year}-{m:02d}"
            rows += [
                entry("I.2.2", "420.000", month, method="location"),
                entry("I.2.2", "609.600", month, method="market"),
                entry("I.1.2", "84.000", month, node="ra.c", method="location"),
                entry("I.1.2", "121.920", month, node="ra.c", method="market"),
                entry("I.1.1", "30.500", month, node="ra.c", ch4="0.002", activity="gas"),
                entry("III.1.2", "12.000", month, node="o", co2=None, activity="waste"),
                entry("III.1.2", "5.000", month, kind="memo", activity="waste.biogenic_co2"),
            ]
    odd = entry("I.2.1", "7.000", "2024-06", completeness="1", activity="lpg")
    odd.update(completeness=None, dq_activity="X")
    adjustment = entry("I.2.2", "-20.000", "2024-01", kind="adjustment", method="location")
    return frame(*rows, odd, entry("I.2.1", "3.000", "2024-06", activity="lpg2"), adjustment)


def test_inventories_in_one_pass_equal_the_tables_one_by_one() -> None:
    from carbon.inventory import gpc_inventories, inventories

    e = _mixed_entries()
    nodes = ["mini", "b1", "ra", "o"]
    one_pass = inventories(e, CTX, [2023, 2024], nodes)
    parts = []
    for year in (2023, 2024):
        for node in nodes:
            for method in ("location", "market"):
                t = gpc_inventory(e, CTX, year, method, node)
                t.insert(0, "method", method)
                t.insert(0, "node_id", node)
                parts.append(t)
                totals = inventory_totals(e, CTX, year, method, node)
                assert one_pass.totals[year, node, method] == totals
    by_one = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(one_pass.table, by_one)
    assert one_pass.table.to_csv(index=False) == by_one.to_csv(index=False)
    pd.testing.assert_frame_equal(gpc_inventories(e, CTX, [2023, 2024], nodes), by_one)
    # the default: every year of the entries, the root only
    assert set(gpc_inventories(e, CTX).node_id) == {"mini"}


def test_a_missing_completeness_counts_zero_and_an_unknown_grade_counts_l() -> None:
    # I.2.1 of 2024: 7 kg with no completeness (counts 0) and grade X/M, 3 kg complete at H/M.
    # completeness (0 x 1 + 1 x 1) / 2 = 0.5, not below the 0.5 threshold: reported, 10 kg.
    # Eq. 3.1: X counts as L: L/M sqrt(30^2 + 10^2) = 31.6228 %; H/M sqrt(5^2 + 10^2) = 11.1803 %
    # Eq. 3.2: sqrt((7 x 31.6228)^2 + (3 x 11.1803)^2) / 10 = sqrt(49000 + 1125) / 10
    row = gpc_inventory(_mixed_entries(), CTX, 2024).set_index("gpc_ref").loc["I.2.1"]
    assert row["completeness"] == 0.5 and row["co2e_t"] == pytest.approx(0.010, abs=1e-12)
    assert row["uncertainty_pct"] == pytest.approx(50_125**0.5 / 10, abs=1e-6)
    assert row["data_quality"] == "HX/M"


def test_entry_years_of_dates_text_and_timestamps() -> None:
    from carbon.inventory import entry_years

    dates = pd.Series([dt.date(2023, 12, 1), dt.date(2024, 1, 1), dt.date(2023, 12, 1)])
    assert entry_years(dates).tolist() == [2023, 2024, 2023]
    assert entry_years(pd.Series(["2024-03-01", "2022-01-01"])).tolist() == [2024, 2022]
    stamps = pd.Series(pd.to_datetime(["2025-07-01", "2024-02-01"]), index=[7, 3])
    years = entry_years(stamps)
    assert years.tolist() == [2025, 2024] and years.index.tolist() == [7, 3]
