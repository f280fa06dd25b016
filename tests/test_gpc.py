"""Tests of carbon.gpc: GPC reference numbers, classification of activities, totals.

The expected tables below are written out by hand from docs/research/gpc.md §1.2 (the GPC v1.1
sub-category table and "Totals to implement", confidence high), not derived from the code.
"""

from __future__ import annotations

import pytest

from carbon.activities import ACTIVITIES
from carbon.gpc import NOTATION_KEYS, REFS, TOTALS, classify, in_total

# docs/research/gpc.md §1.2: (scope, reporting level) of every GPC v1.1 sub-category (Table 4.1).
EXPECTED_REFS = {
    # I.{1,2,3,5,6}: .1 fuel combustion (1, BASIC), .2 grid energy (2, BASIC), .3 T&D (3, BASIC+)
    **{
        f"I.{s}.{n}": (n, "basic+" if n == 3 else "basic")
        for s in (1, 2, 3, 5, 6)
        for n in (1, 2, 3)
    },
    "I.4.1": (1, "basic"),  # energy industries: auxiliary use
    "I.4.2": (2, "basic"),
    "I.4.3": (3, "basic+"),
    "I.4.4": (1, "territorial"),  # generation supplied to the grid: territorial only
    "I.7.1": (1, "basic"),  # fugitive, coal
    "I.8.1": (1, "basic"),  # fugitive, oil and natural gas systems
    # II.{1..5}: .1 fuel (1, BASIC), .2 grid (2, BASIC), .3 transboundary (3, BASIC+); no II.5.3
    **{
        f"II.{s}.{n}": (n, "basic+" if n == 3 else "basic")
        for s in (1, 2, 3, 4, 5)
        for n in (1, 2, 3)
        if (s, n) != (5, 3)
    },
    # III.{1..4}: .1 inside/inside (1, BASIC), .2 inside/outside (3, BASIC),
    # .3 outside/inside (1, territorial only)
    **{
        f"III.{s}.{n}": {1: (1, "basic"), 2: (3, "basic"), 3: (1, "territorial")}[n]
        for s in (1, 2, 3, 4)
        for n in (1, 2, 3)
    },
    "IV.1": (1, "basic+"),  # IPPU: scope 1, BASIC+
    "IV.2": (1, "basic+"),
    "V.1": (1, "basic+"),  # AFOLU: scope 1, BASIC+
    "V.2": (1, "basic+"),
    "V.3": (1, "basic+"),
    "VI.1": (3, "other"),  # other scope 3: optional, in no total
}

# docs/research/gpc.md §1.2 "Totals to implement":
#   BASIC       = I.{1-6}.1 + I.7.1 + I.8.1 + I.{1-6}.2 + II.{1-5}.1 + II.{1-5}.2
#                 + III.{1-4}.1 + III.{1-4}.2
#   BASIC+      = BASIC + I.{1-6}.3 + II.{1-4}.3 + IV.1 + IV.2 + V.1 + V.2 + V.3
#   territorial = every scope 1 row, including I.4.4 and III.x.3, + IV + V
#   scope2      = I.{1-6}.2 + II.{1-5}.2
BASIC = (
    {f"I.{s}.{n}" for s in range(1, 7) for n in (1, 2)}
    | {"I.7.1", "I.8.1"}
    | {f"II.{s}.{n}" for s in range(1, 6) for n in (1, 2)}
    | {f"III.{s}.{n}" for s in range(1, 5) for n in (1, 2)}
)
EXPECTED_TOTALS = {
    "BASIC": BASIC,
    "BASIC+": BASIC
    | {f"I.{s}.3" for s in range(1, 7)}
    | {f"II.{s}.3" for s in range(1, 5)}
    | {"IV.1", "IV.2", "V.1", "V.2", "V.3"},
    "territorial": {ref for ref, (scope, _) in EXPECTED_REFS.items() if scope == 1},
    "scope2": {f"I.{s}.2" for s in range(1, 7)} | {f"II.{s}.2" for s in range(1, 6)},
}


def test_every_gpc_sub_category_is_a_row() -> None:
    # GPC v1.1 Table 4.1: 6 sectors; 53 rows (I: 21, II: 14, III: 12, IV: 2, V: 3, VI: 1).
    sectors = [r.sector for r in REFS.values()]
    assert {s: sectors.count(s) for s in dict.fromkeys(sectors)} == {
        "I": 21, "II": 14, "III": 12, "IV": 2, "V": 3, "VI": 1,
    }  # fmt: skip
    assert len(REFS) == 53


def test_refs_match_the_gpc_table() -> None:
    assert {ref: (r.scope, r.level) for ref, r in REFS.items()} == EXPECTED_REFS
    for ref, row in REFS.items():
        parts = ref.split(".")
        assert (row.ref, row.sector, row.subsector) == (ref, parts[0], ".".join(parts[:2]))
        assert row.name_en and row.name_zh


def test_totals_are_the_four_of_the_research_notes() -> None:
    assert set(TOTALS) == set(EXPECTED_TOTALS)


@pytest.mark.parametrize("total", sorted(EXPECTED_TOTALS))
@pytest.mark.parametrize("ref", sorted(EXPECTED_REFS))
def test_in_total_for_every_row(ref: str, total: str) -> None:
    assert in_total(ref, total) is (ref in EXPECTED_TOTALS[total])


def test_vi1_and_i44_are_kept_out_of_basic() -> None:
    # VI.1 (tap water, 'other') is in no total; I.4.4 only in the territorial one.
    assert [in_total("VI.1", t) for t in ("BASIC", "BASIC+", "territorial", "scope2")] == [
        False,
        False,
        False,
        False,
    ]
    assert [in_total("I.4.4", t) for t in ("BASIC", "BASIC+", "territorial", "scope2")] == [
        False,
        False,
        True,
        False,
    ]


def test_unknown_total_and_ref_raise() -> None:
    with pytest.raises(KeyError, match=r"Unknown total 'NET'; known: BASIC, BASIC\+, territorial"):
        in_total("I.1.2", "NET")
    with pytest.raises(KeyError, match=r"I\.9\.9"):
        in_total("I.9.9", "BASIC")


CLASSIFY = [
    # (activity, use type, GPC row)
    ("electricity.grid", "residential", "I.1.2"),
    ("electricity.grid", "office", "I.2.2"),
    ("electricity.grid", "retail", "I.2.2"),
    ("electricity.grid", "public", "I.2.2"),
    ("electricity.grid", "lighting", "I.2.2"),
    ("electricity.grid", "public_toilet", "I.2.2"),
    ("electricity.grid", None, "I.2.2"),
    ("electricity.grid", "ebike", "II.1.2"),
    ("electricity.green_certificate", "residential", "I.1.2"),
    ("electricity.green_certificate", "office", "I.2.2"),
    ("electricity.green_certificate", "ebike", "II.1.2"),
    ("heat.purchased", "residential", "I.1.2"),
    ("heat.purchased", "office", "I.2.2"),
    ("natural_gas.combustion", "residential", "I.1.1"),
    ("natural_gas.combustion", "office", "I.2.1"),
    ("natural_gas.combustion_energy", "retail", "I.2.1"),
    ("lpg.combustion", "residential", "I.1.1"),
    ("lpg.combustion_energy", "public", "I.2.1"),
    ("diesel.combustion_energy", "office", "I.2.1"),
    ("diesel.combustion_energy", "residential", "I.1.1"),
    ("diesel.mobile", None, "II.1.1"),
    ("gasoline.mobile", None, "II.1.1"),
    ("gasoline.mobile_energy", "residential", "II.1.1"),
    ("transport.vehicle_km", None, "II.1.1"),
    ("electricity.pv_exported", "residential", "I.4.4"),
    ("waste.msw.landfill", None, "III.1.2"),
    ("waste.msw.incineration", None, "III.3.2"),
    ("waste.msw.incineration.biogenic_co2", None, "III.3.2"),  # its memo item (GPC Ch. 8)
    ("waste.msw.biological", None, "III.2.2"),  # sorted wet waste digested outside
    ("wastewater.treatment", None, "III.4.2"),
    ("water.supply", "residential", "VI.1"),
    ("water.supply", "office", "VI.1"),
    ("removal.vegetation", None, "V.2"),  # sinks: docs/research/gpc.md §1.4
]


@pytest.mark.parametrize(("activity", "use_type", "ref"), CLASSIFY)
def test_classify(activity: str, use_type: str | None, ref: str) -> None:
    assert classify(activity, use_type) == ref
    assert ref in REFS


def test_every_catalogue_activity_has_a_row_but_self_consumed_pv() -> None:
    # Self-consumed PV is not grid-supplied: it only lowers the metered grid kWh
    # (docs/research/gpc.md §1.3), so it has no row of its own.
    covered = {a for a, _, _ in CLASSIFY}
    assert set(ACTIVITIES) - covered == {"electricity.pv_self_consumed"}
    with pytest.raises(KeyError, match=r"No GPC row for activity 'electricity\.pv_self_consumed'"):
        classify("electricity.pv_self_consumed", "residential")


def test_unknown_activity_raises() -> None:
    with pytest.raises(KeyError, match=r"No GPC row for activity 'coal\.briquettes'"):
        classify("coal.briquettes", "residential")


def test_notation_keys() -> None:
    # docs/research/gpc.md §1.5: the library stores the short codes only.
    assert set(NOTATION_KEYS) == {"NO", "IE", "NE", "C"}
    assert NOTATION_KEYS["NE"] == (
        "not estimated",
        "The emissions for this activity are not estimated",
    )
