"""An auditor's ledger script, start to finish.

1. build the demo ledger from seeded SYNTHETIC exports: `build_demo` writes the ledger script
   (OUT_DIR/ledger.toml, the whole recipe) and runs it;
2. re-run the script elsewhere: the same snapshot id;
3. verify the published snapshot: re-run the recipe in a fresh store, compare every manifest
   field and file;
4. trace one entry to its readings, input files and factor citation;
5. change one byte, then one manifest field, of a copy and watch verification fail, naming
   the entry and the field.

See docs/audit.md for the whole workflow.

Run: python examples/audit_ledger.py [OUT_DIR]
"""

import json
import shutil
import sys
from pathlib import Path

from carbon import audit
from carbon.demo import build_demo
from carbon.pipeline import run

out = Path(sys.argv[1] if len(sys.argv) > 1 else "audit-demo")
result = build_demo(out)                       # synthetic data -> ingest -> ledger -> snapshot
ledger, snapshot = result.ledger, result.snapshot
ledger.store.close()
print(f"published {snapshot.id}: {len(ledger.entries)} entries, "
      f"BASIC 2024 {ledger.total('location', year=2024):,.1f} t CO2e (location-based)")

print("inputs recorded in the manifest:")
for inp in snapshot.manifest["inputs"]:
    print(f"  {inp['file_name']:40s} sha256 {inp['sha256'][:16]}…  rows {inp['rows']}")

again = run(out / "ledger.toml", out / "rebuilt")   # the script is the whole recipe
again.ledger.store.close()
print(f"re-run of {out / 'ledger.toml'}: {again.snapshot.id} (same id: "
      f"{again.snapshot.id == snapshot.id})")

check = audit.verify(snapshot.path)            # re-runs the recipe in a fresh store
print(check)
assert check                                   # falsy when not verified

entry_id = ledger.entries.sort_values("co2e_kg").entry_id.iloc[-1]   # the largest entry
t = audit.trace(snapshot.path, entry_id)
print(f"trace {entry_id}: {t.entry['node_path']} {t.entry['period_start']} "
      f"{t.entry['activity']} {t.entry['co2e_kg']} kgCO2e")
print(t.readings.to_string(index=False))
print("factor:", t.factor["factor_id"], "—", t.factor["citation"])

# Tamper with a copy: one byte of entries.csv.
tampered = out / "tampered" / snapshot.id
shutil.rmtree(tampered.parent, ignore_errors=True)
shutil.copytree(snapshot.path, tampered)
csv = tampered / "entries.csv"
data = bytearray(csv.read_bytes())
data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
csv.write_bytes(bytes(data))
print(audit.verify(tampered))

# Tamper with another copy: a manifest total.
edited = out / "edited" / snapshot.id
shutil.rmtree(edited.parent, ignore_errors=True)
shutil.copytree(snapshot.path, edited)
manifest = json.loads((edited / "manifest.json").read_text(encoding="utf-8"))
manifest["totals_t"]["2024"]["BASIC_location"] -= 1000
(edited / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
result = audit.verify(edited)
print(result.fields)                           # ['totals_t.2024.BASIC_location']
