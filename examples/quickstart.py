"""Quick start: units, factors and the Shimen Erlu twin in a few lines.

Run: python examples/quickstart.py
"""

import carbon
from carbon.units import Q_

twin = carbon.load_twin("shimen_erlu")
factors = carbon.load_factor_set("shanghai-2022")
print(twin)
print(factors)

# The grid factor for an office in the subdistrict, with its citation.
grid = factors.lookup("electricity.grid", twin.region_of("kaidike"), "2024-06-01")
print(f"{grid.id}: {grid.value} = {grid.per_canonical('CO2')} kgCO2/kWh")
print("  ", grid.citation(), "| confidence:", grid.confidence)

# Units are checked: 3 万千瓦时 is 30,000 kWh; cubic metres are not electricity.
energy = carbon.to_canonical(Q_(3, "万千瓦时"), "electricity.grid")
print(energy, "->", (energy * grid.value).to("tCO2"))
try:
    carbon.to_canonical(Q_(3, "m3"), "electricity.grid")
except carbon.UnitConversionError as exc:
    print("refused:", exc)

# The twin as a frame: residents by residential area (estimates are flagged).
frame = twin.to_frame()
areas = frame[frame.kind == "residential_area"][["name_zh", "name_en", "residents", "estimated"]]
print(areas.to_string(index=False))
