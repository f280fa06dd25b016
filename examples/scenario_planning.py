"""Scenario planning for Shimen Erlu: measures adopted over 2023-2035 against business as usual.

Loads the twin, the intervention register and the example scenario
(sites/shimen_erlu/scenarios/low_carbon_2035.toml: LED lighting, elevator energy feedback,
the register's two planned rooftop PV systems and a green roof, an East China grid path and
the demo's -20 % by 2030 target, an ASSUMPTION), runs it, and prints the trajectory, the
target check, the marginal abatement cost curve and the grid's effect; writes the three
figures as self-contained HTML (no CDN) to a temporary folder.

Run: python examples/scenario_planning.py [SNAPSHOT]
(SNAPSHOT: a published ledger snapshot, or a snapshots folder, whose 2023 location-based
emissions replace the scenario file's base numbers, which are SYNTHETIC demo figures).
"""

import dataclasses
import sys
import tempfile
from pathlib import Path

import pandas as pd

import carbon
from carbon.interventions import estimate_register, load_register
from carbon.scenario import load_scenario, run_scenario

SCENARIO = Path(__file__).parents[1] / "sites/shimen_erlu/scenarios/low_carbon_2035.toml"
pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 20)

twin = carbon.load_twin("shimen_erlu")
factors = carbon.load_factor_set("shanghai-2022")

# 1. The register: what is in place (already in the measured emissions) and what is planned.
register = load_register(twin)
table = estimate_register(register, factors, "2023-01-01", "2024-01-01")
print(f"Register {register.path.name}: {len(register)} interventions")
print(
    table[["intervention_id", "status", "annual_t", "annual_removal_t", "cost_per_t_cny"]]
    .round(2)
    .to_string(index=False)
)

# 2. The scenario, validated against the twin (and the register, for the planned PV).
scenario = load_scenario(SCENARIO, twin, register=register)
base = sys.argv[1] if len(sys.argv) > 1 else None
result = run_scenario(scenario, twin, factors, base_emissions=base)
print(f"\n{scenario.name_en} ({scenario.name_zh})")
print(f"Base {result.base.year}: {result.base.total_t:,.1f} t CO2e — {result.base.source}")

t = result.trajectory
print("\nTrajectory [t CO2e]")
print(
    t[["year", "grid_index", "bau_t", "avoided_t", "scenario_t", "removal_t", "target_t"]]
    .round(
        {
            "grid_index": 3,
            "bau_t": 1,
            "avoided_t": 1,
            "scenario_t": 1,
            "removal_t": 2,
            "target_t": 1,
        }
    )
    .to_string(index=False)
)

for row in result.targets.itertuples():
    verdict = "met" if row.met else f"missed by {row.gap_t:,.1f} t"
    print(
        f"\nTarget {row.year}: -{row.reduction:.0%} vs {scenario.base_year} = "
        f"{row.target_t:,.1f} t; scenario {row.value_t:,.1f} t: {verdict}"
    )
    print(f"  ({row.basis})")

print(
    f"\nMarginal abatement cost curve (full adoption, grid of {scenario.macc_year}), cheapest first"
)
m = result.macc
print(
    m[
        [
            "rank",
            "measure_id",
            "targets",
            "abatement_t_per_yr",
            "electricity_kwh_per_yr",
            "annualised_cost_cny_per_yr",
            "bill_savings_cny_per_yr",
            "cost_per_t_cny",
        ]
    ]
    .round(1)
    .to_string(index=False)
)

# 3. What the grid path does: the same measures on a grid that stays at its 2023 factor.
flat = run_scenario(dataclasses.replace(scenario, grid=None), twin, factors, base_emissions=base)
last = scenario.last_year
by_year = t.set_index("year")
flat_year = flat.trajectory.set_index("year")
print(
    f"\nIn {last}: BAU {by_year.bau_t[last]:,.1f} t with the grid path vs "
    f"{flat_year.bau_t[last]:,.1f} t on a flat grid; the measures avoid "
    f"{by_year.avoided_t[last]:,.1f} t vs {flat_year.avoided_t[last]:,.1f} t "
    "(a kWh saved on a cleaner grid avoids less)."
)

for w in result.warnings:
    print(f"warning: {w}")

# 4. The figures as offline HTML (Chinese titles; lang="en" for English).
paths = result.write_figures(tempfile.mkdtemp(prefix="carbon-scenario-"), lang="zh")
print("\nFigures: " + ", ".join(str(p) for p in paths.values()))
