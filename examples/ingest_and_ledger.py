"""Ingest utility exports into a store and build a ledger, the Python way.

Run: python examples/ingest_and_ledger.py
"""

import tempfile
from pathlib import Path

import carbon
from carbon.ledger import build_ledger
from carbon.store import Store
from carbon.synth import generate

twin = carbon.load_twin("shimen_erlu")
factors = carbon.load_factor_set("shanghai-2022")
work = Path(tempfile.mkdtemp(prefix="carbon-example-"))

# Two months of seeded SYNTHETIC exports, with injected faults.
synth = generate(twin, work / "exports", start="2024-01-01", end="2024-03-01", seed=7,
                 faults=True)

with Store(work / "shimen.duckdb") as store:
    store.sync_twin(twin)
    for key in ("events", "gas", "water", "water_gbk", "electricity"):
        if key in synth.files:
            batch = store.ingest(synth.files[key])
            print(f"{batch.file:70s} read {batch.read:>7,} = accepted {batch.accepted:>7,}"
                  f" + rejected {batch.rejected:>4,} {dict(batch.reasons)}")
    print(store.rejects()[["row_number", "reason", "message"]].head(10).to_string(index=False))

    ledger = build_ledger(store, twin, factors, "2024-01-01", "2024-03-01")
    print(ledger)
    print(ledger.rollup("block")[["name_zh", "gpc_sector", "scope", "co2e_t"]])
    print(ledger.gpc_table()[["gpc_ref", "name_en", "co2e_t", "notation_key"]])
