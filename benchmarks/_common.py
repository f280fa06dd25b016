"""Helpers shared by the benchmark scripts: a synthetic city twin and child-process timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_city_twin(folder: Path, meters: int, per_building: int = 1) -> Path:
    """Write a synthetic twin folder: one subdistrict, 10 blocks, one office per meter."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.toml").write_text(
        '[site]\nid = "bench_city"\nname_zh = "基准城区"\nname_en = "Benchmark city (synthetic)"\n'
        'region = "CN-SH"\nroot = "city"\n', encoding="utf-8")
    nodes = ['[[node]]\nid = "city"\nkind = "subdistrict"\nname_zh = "城区"\nname_en = "City"\n']
    for b in range(10):
        nodes.append(f'[[node]]\nid = "b{b}"\nparent = "city"\nkind = "block"\n'
                     f'name_zh = "街区{b}"\nname_en = "Block {b}"\n')
    lines = []
    for i in range(meters // per_building):
        nodes.append(f'[[node]]\nid = "o{i}"\nparent = "b{i % 10}"\nkind = "office_building"\n'
                     f'use_type = "office"\nname_zh = "楼{i}"\nname_en = "Office {i}"\n')
        for j in range(per_building):
            lines.append(f'[[meter]]\nid = "M{i * per_building + j}"\nnode = "o{i}"\n'
                         'measure = "electricity"\nunit = "kWh"\n')
    (folder / "nodes.toml").write_text("\n".join(nodes), encoding="utf-8")
    (folder / "meters.toml").write_text("\n".join(lines), encoding="utf-8")
    return folder


def run_child(code: str, *args: str) -> dict:
    """Run Python code in a fresh process; return its JSON result plus wall time and peak RSS.

    The child prints one JSON object on its last stdout line. Peak RSS [MB] is that child's own
    maximum resident set size, from ``os.wait4`` (RUSAGE_CHILDREN would report the largest of
    all children so far).
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err,
                                env={**os.environ, "PYTHONHASHSEED": "0"})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(stderr[-3000:])
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result
