"""An auditor's ledger script, start to finish.

1. build the demo ledger from seeded SYNTHETIC exports (or point CONFIG at your own script);
2. verify the published snapshot: rebuild from the recorded inputs, compare byte for byte;
3. trace one entry to its readings, input files and factor citation;
4. change one byte of the snapshot and watch verification fail, naming the entry.

Run: python examples/audit_ledger.py [OUT_DIR]
"""

import shutil
import sys
from pathlib import Path

from carbon import audit
from carbon.demo import build_demo

out = Path(sys.argv[1] if len(sys.argv) > 1 else "audit-demo")
result = build_demo(out)                       # synthetic data -> ingest -> ledger -> snapshot
ledger, snapshot = result.ledger, result.snapshot
ledger.store.close()
print(f"published {snapshot.id}: {len(ledger.entries)} entries, "
      f"BASIC {ledger.total('location'):,.1f} t CO2e (location-based)")

print("inputs recorded in the manifest:")
for inp in snapshot.manifest["inputs"]:
    print(f"  {inp['file_name']:40s} sha256 {inp['sha256'][:16]}…  rows {inp['rows']}")

check = audit.verify(snapshot.path)            # replays every input into a fresh store
print(check)

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
