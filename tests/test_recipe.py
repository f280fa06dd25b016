"""The ledger script is the whole recipe, and the published record proves itself.

Issue 12's "done when", run as an auditor would: the demo's script rebuilds the demo's
snapshot id; verify re-runs the recipe and names every tampered field; moved inputs are found
by hash; a damaged folder is replaced by a rebuild; provenance, not names, says what is
synthetic. Every store is a real DuckDB file, every snapshot a real folder.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carbon import audit
from carbon.cli import app
from carbon.demo import build_demo
from carbon.pipeline import load_script, run, write_script
from carbon.snapshot import (
    SnapshotError,
    load_snapshot,
    manifest_digest,
    read_manifest,
    sha256_file,
)

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-month demo (script, store, synthetic inputs, snapshot) built once."""
    out = tmp_path_factory.mktemp("recipe") / "demo"
    result = build_demo(out, start="2024-01-01", end="2024-03-01")
    result.ledger.store.close()
    return out


def copy_demo(small: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the demo folder; returns (folder, its snapshot)."""
    folder = tmp_path / "demo"
    shutil.copytree(small, folder)
    name = (folder / "snapshots" / "LATEST").read_text().strip()
    return folder, folder / "snapshots" / name


def test_the_full_demo_script_rebuilds_the_same_snapshot_id(tmp_path: Path) -> None:
    # Exactly the walk: carbon demo, then carbon ledger build of its script elsewhere.
    code, out = invoke("demo", "--out", str(tmp_path / "D"), "--no-serve")
    assert code == 0, out
    first = load_snapshot(tmp_path / "D" / "snapshots")
    code, out = invoke(
        "ledger", "build", str(tmp_path / "D" / "ledger.toml"), "--out", str(tmp_path / "D2")
    )
    assert code == 0, out
    second = load_snapshot(tmp_path / "D2")
    assert second.id == first.id
    assert {p.name: sha256_file(p) for p in first.path.iterdir()} == {
        p.name: sha256_file(p) for p in second.path.iterdir()
    }
    # The recipe carries the models: avoided and removal entries, the interventions, the target.
    m = second.manifest
    assert m["counts"]["avoided"] > 0 and m["counts"]["removal"] > 0
    assert "interventions.csv" in m["outputs"] and m["target"]["reduction"] == 0.2
    assert [v["intervention"] for v in m["verifications"]] == [
        "hengfeng_mailbox_led",
        "kaidike_elevator_regen",
    ]
    assert m["recipe"]["ledger"]["batches"] == "named" and m["synthetic_inputs"] is True
    for snap in (first, second):
        code, out = invoke("ledger", "verify", str(snap.path))
        assert code == 0, out
        assert "verified: the rebuild is byte-identical" in out


def test_the_script_is_written_by_tomli_w_and_reads_back(small: Path, tmp_path: Path) -> None:
    script = load_script(small / "ledger.toml")
    again = write_script(script, tmp_path / "again.toml")
    assert load_script(again).recipe() == script.recipe()
    text = (small / "ledger.toml").read_text()
    assert text.startswith("# Ledger script of the carbon-twin demo")
    assert "[[verify]]" in text and "[target]" in text and "[interventions]" in text
    for spec in script.input:  # every input pinned by its hash
        assert spec.sha256 == sha256_file(small / spec.file)


def test_verify_result_is_falsy_when_not_verified(small: Path, tmp_path: Path) -> None:
    _, snap = copy_demo(small, tmp_path)
    assert audit.verify(snap)
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["totals_t"]["2024"]["BASIC_location"] += 1.0
    (snap / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = audit.verify(snap)
    assert not result and result.ok is False
    assert "totals_t.2024.BASIC_location" in result.fields
    assert any("does not hash to its snapshot id" in p for p in result.problems)


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda m: m["params"].update(ne_threshold=0.1), "params.ne_threshold"),
        (lambda m: m.update(synthetic_inputs=False), "synthetic_inputs"),
        (lambda m: m["inputs"][1]["rows"].update(read=1), "inputs[1].rows.read"),
        # the recipe drives the rebuild: its edit is named through the field digests
        (lambda m: m["recipe"]["ledger"].update(fill_gaps=False), "recipe"),
        (lambda m: m["counts"].update(avoided=1), "counts.avoided"),
    ],
    ids=["params", "synthetic_inputs", "rows", "recipe", "counts"],
)
def test_verify_names_each_edited_manifest_field(
    small: Path, tmp_path: Path, edit: object, named: str
) -> None:
    _, snap = copy_demo(small, tmp_path)
    manifest = json.loads((snap / "manifest.json").read_text())
    edit(manifest)  # type: ignore[operator]
    (snap / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = audit.verify(snap)
    assert not result
    assert named in result.fields
    assert f"manifest field {named} differs from the rebuild" in result.problems or (
        f"edited: {named.split('.')[0]}" in result.problems[0]
    )


def test_an_edited_code_version_is_caught_by_the_id(small: Path, tmp_path: Path) -> None:
    # carbon_version and git_commit cannot be recomputed; the id covers them.
    _, snap = copy_demo(small, tmp_path)
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["carbon_version"] = "9.9.9"
    (snap / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = audit.verify(snap)
    assert not result
    assert result.problems == [
        "the manifest does not hash to its snapshot id (edited: carbon_version)"
    ]
    assert result.fields == ["carbon_version"]


def test_a_changed_entries_byte_names_the_entry(small: Path, tmp_path: Path) -> None:
    _, snap = copy_demo(small, tmp_path)
    csv = snap / "entries.csv"
    lines = csv.read_text().splitlines(keepends=True)
    entry = lines[5].split(",")[0]
    for a, b in ((",L,", ",M,"), (",H,", ",L,"), (",M,", ",L,")):
        if a in lines[5]:
            lines[5] = lines[5].replace(a, b, 1)
            break
    else:
        raise AssertionError(f"no grade to change in {lines[5]!r}")
    csv.write_text("".join(lines))
    result = audit.verify(snap)
    assert not result
    assert "output entries.csv changed since publication (SHA-256 differs)" in result.problems
    assert result.first_difference == entry


def test_a_deleted_input_fails_in_one_line_and_moved_inputs_verify(
    small: Path, tmp_path: Path
) -> None:
    folder, snap = copy_demo(small, tmp_path)
    # The copy's manifest still points at the original folder: take that hint away too.
    moved = tmp_path / "elsewhere"
    shutil.move(folder / "synthetic", moved)
    manifest = read_manifest(snap)
    env = manifest["environment"]
    env["script_folder"] = str(folder)
    env["inputs"] = {k: str(folder / "synthetic" / Path(v).name) for k, v in env["inputs"].items()}
    (snap / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    code, out = invoke("ledger", "verify", str(snap))
    assert code == 1 and "Traceback" not in out
    assert "is missing" in out and "--inputs" in out
    code, out = invoke("ledger", "verify", str(snap), "--inputs", str(moved))
    assert code == 0, out
    # Renamed files are found by their hash alone.
    for p in moved.glob("*.csv"):
        p.rename(p.with_name("renamed_" + p.name))
    assert audit.verify(snap, inputs=moved)


def test_a_corrupted_folder_is_replaced_by_a_rebuild(small: Path, tmp_path: Path) -> None:
    folder, snap = copy_demo(small, tmp_path)
    # the copy's script and store: re-point the script's relative paths by running it there
    (snap / "entries.csv").write_text("garbage\n")
    (snap / "rejects.csv").unlink()
    assert load_snapshot(snap).damaged()
    result = run(folder / "ledger.toml", folder / "snapshots")
    result.ledger.store.close()
    assert result.snapshot.id == snap.name
    assert load_snapshot(snap).damaged() == []
    assert audit.verify(snap)


def test_stale_temp_folders_go_and_published_files_are_world_readable(
    small: Path, tmp_path: Path
) -> None:
    folder, snap = copy_demo(small, tmp_path)
    stale = folder / "snapshots" / ".tmp-snapshot-999999999-dead"
    stale.mkdir()
    (stale / "entries.csv").write_text("half")
    shutil.rmtree(snap)
    result = run(folder / "ledger.toml", folder / "snapshots")
    result.ledger.store.close()
    assert not stale.exists()
    assert stat.S_IMODE(os.stat(result.snapshot.path).st_mode) == 0o755
    for p in result.snapshot.path.iterdir():
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o644, p.name


def test_a_malformed_manifest_is_a_one_line_error(small: Path, tmp_path: Path) -> None:
    _, snap = copy_demo(small, tmp_path)
    (snap / "manifest.json").write_text('{"format": "carbon-twin/snapshot/2", ')
    with pytest.raises(SnapshotError, match=r"manifest.json: not valid JSON \(line 1"):
        audit.verify(snap)
    for args in (("ledger", "verify", str(snap)), ("ledger", "trace", str(snap), "E0")):
        code, out = invoke(*args)
        assert code == 2 and "Traceback" not in out
        assert "not valid JSON" in " ".join(out.split())
    (snap / "manifest.json").write_text("[1, 2]")
    code, out = invoke("ledger", "verify", str(snap))
    assert code == 2 and "a JSON object is expected" in " ".join(out.split())


def test_the_ledger_uses_exactly_the_named_inputs(small: Path, tmp_path: Path) -> None:
    folder, snap = copy_demo(small, tmp_path)
    script = load_script(folder / "ledger.toml")
    before = load_snapshot(snap)
    water = [i for i in script.input if "water_monthly.csv" in str(i.file)]
    script.input = [i for i in script.input if i not in water]
    path = write_script(script, folder / "no_water.toml")
    result = run(path, tmp_path / "out")
    result.ledger.store.close()
    after = result.snapshot
    assert after.id != before.id
    names = {i["file_name"] for i in after.manifest["inputs"]}
    assert "synthetic_water_monthly.csv" not in names
    assert "synthetic_water_monthly.csv" in {i["file_name"] for i in before.manifest["inputs"]}
    # The store still holds the water batch; the ledger did not use it.
    e_before, e_after = before.entries(), after.entries()
    assert len(e_after[e_after.activity == "water.supply"]) < len(
        e_before[e_before.activity == "water.supply"]
    )
    # "every batch in the store" is said explicitly, and recorded
    script.ledger.batches = "all"
    result = run(write_script(script, folder / "all.toml"), tmp_path / "all")
    result.ledger.store.close()
    assert result.snapshot.manifest["params"]["batches"] == "all"
    assert result.snapshot.manifest["inputs"] and len(result.snapshot.manifest["inputs"]) > len(
        after.manifest["inputs"]
    )


def test_synthetic_comes_from_provenance_not_names(small: Path, tmp_path: Path) -> None:
    folder, _ = copy_demo(small, tmp_path)
    script = load_script(folder / "ledger.toml")
    elec = next(i for i in script.input if "electricity" in str(i.file))
    # a synthetic file renamed to look real is still synthetic
    disguised = folder / "synthetic" / "sgcc_export_2024.csv"
    shutil.copyfile(folder / elec.file, disguised)
    # a file named synthetic that the generator did not write is not
    frame = pd.read_csv(folder / elec.file, dtype=str, keep_default_na=False).head(500)
    real = folder / "exports" / "synthetic_looking_name.csv"
    real.parent.mkdir()
    frame.to_csv(real, index=False)
    for file, expected in ((disguised, True), (real, False)):
        spec = elec.model_copy(update={"file": file.relative_to(folder), "sha256": None})
        s = script.model_copy(update={"input": [spec], "verify": [], "interventions": None})
        s.ledger = s.ledger.model_copy(update={"store": Path(f"{file.stem}.duckdb")})
        result = run(s, tmp_path / file.stem)
        result.ledger.store.close()
        m = result.snapshot.manifest
        assert m["synthetic_inputs"] is expected, file.name
        assert m["inputs"][0]["provenance"]["synthetic"] is expected


def test_the_id_is_the_manifest_digest(small: Path) -> None:
    snap = load_snapshot(small / "snapshots")
    assert snap.id.endswith("_" + manifest_digest(snap.manifest)[:12])
    assert snap.path.name == snap.id and not snap.damaged()


ELEC = "meter_id,timestamp,value\n" + "".join(
    f"E-KAIDIKE,2024-{m:02d}-{d:02d} 10:00,{v}\n"
    for m, d, v in ((1, 5, "750"), (1, 6, "250"), (2, 7, "400"))
)


def test_a_wrong_unit_ingest_corrected_restates_closed_entries(tmp_path: Path) -> None:
    # The exported values are kWh; the first script said MWh. January is closed with the wrong
    # amounts; the corrected script voids the wrong batch, and the ledger books adjustments that
    # diff names as restatements, with their deltas.
    (tmp_path / "elec.csv").write_text(ELEC, encoding="utf-8")
    script = (
        '[ledger]\nstore = "s.duckdb"\nstart = 2024-01-01\nend = 2024-03-01\n'
        "close_through = 2024-02-01\n"
        '[[input]]\nfile = "elec.csv"\nmapping = {kind = "interval", unit = "%s"}\n'
    )
    (tmp_path / "wrong.toml").write_text(script % "MWh", encoding="utf-8")
    wrong = run(tmp_path / "wrong.toml", tmp_path / "out")
    wrong.ledger.store.close()
    jan = wrong.ledger.entries[
        (wrong.ledger.entries.method == "location")
        & (wrong.ledger.entries.period_start.astype(str) == "2024-01-01")
    ]
    assert [str(a) for a in jan.amount] == ["1000000.000000"]  # 1,000 "MWh" = 1,000,000 kWh
    (tmp_path / "fixed.toml").write_text(
        (script % "kWh") + "corrects = true\n", encoding="utf-8"
    )
    fixed = run(tmp_path / "fixed.toml", tmp_path / "out")
    batches = fixed.ledger.store.batches()
    fixed.ledger.store.close()
    wrong_batch = wrong.snapshot.manifest["inputs"][0]["batch_id"]
    voided = batches.set_index("batch_id").loc[wrong_batch]
    assert voided.voided_by == fixed.snapshot.manifest["inputs"][0]["batch_id"]
    assert "corrected by the ledger script input elec.csv" in voided.void_reason
    e = fixed.ledger.entries
    loc = e[e.method == "location"]
    # January stays as closed (1,000,000 kWh x 0.42 = 420,000 kg) and is corrected by an
    # adjustment of (1,000 - 1,000,000) kWh x 0.42 = -419,580 kg; February is simply right.
    adj = loc[loc.kind == "adjustment"]
    assert [str(x) for x in adj.co2e_kg] == ["-419580.000"]
    assert [str(x) for x in adj.amount] == ["-999000.000000"]
    feb = loc[(loc.kind == "emission") & (loc.period_start.astype(str) == "2024-02-01")]
    assert [str(x) for x in feb.co2e_kg] == ["168.000"]  # 400 kWh x 0.42
    d = audit.diff(wrong.snapshot.path, fixed.snapshot.path)
    restated = d.entries[d.entries.cause == "restatement"]
    assert len(restated) >= 1
    row = restated[restated.method == "location"].iloc[0]
    assert row.delta_t == pytest.approx(-419.58)
    assert any("re-ingested with other options: elec.csv" in w for w in d.explanations)
    assert any("unit 'MWh' -> 'kWh'" in w for w in d.explanations)
    # The corrected snapshot verifies: its rebuild ingests the file as the script now says.
    assert audit.verify(fixed.snapshot.path)


def test_gap_fill_follows_the_named_inputs(small: Path, tmp_path: Path) -> None:
    # A second script over the same store with fewer inputs: its gaps are those of its own
    # inputs, filled from them, as a rebuild in a fresh store fills them (and verifies).
    folder, snap = copy_demo(small, tmp_path)
    script = load_script(folder / "ledger.toml")
    script.input = [i for i in script.input if "water_monthly.csv" not in str(i.file)]
    result = run(write_script(script, folder / "fewer.toml"), tmp_path / "fewer")
    result.ledger.store.close()
    estimates = [i for i in result.snapshot.manifest["inputs"] if i["kind"] == "estimate"]
    first = [i for i in load_snapshot(snap).manifest["inputs"] if i["kind"] == "estimate"]
    assert estimates and first
    assert estimates[0]["rows"]["accepted"] == first[0]["rows"]["accepted"]
    assert audit.verify(result.snapshot.path)
