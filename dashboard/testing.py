"""Synthetic ledger snapshots for the wall screen's tests and benchmarks.

:func:`write_synthetic_snapshot` writes a snapshot folder through
:func:`carbon.snapshot.write_snapshot`, the one writer of the format (``entries.parquet`` with
:data:`carbon.snapshot.ENTRY_SCHEMA`,
``nodes.csv``, ``geometry.geojson``, ``coverage.parquet``, ``rejects.csv``, ``factors.csv``,
``gpc_table.csv``, ``meters.csv`` and a ``manifest.json`` holding the SHA-256 of every file)
without going through ingestion: a made-up twin of ``sites`` metered sites in a grid of blocks,
with seasonal monthly activity, one meter that stops reporting and one that spikes in the last
month. Everything it writes says SYNTHETIC. The numbers are invented; only the format is real.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from carbon.snapshot import ENTRY_SCHEMA, write_snapshot

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "FACTORS", "chrome", "write_synthetic_snapshot"]

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (packages ``chromium`` and ``chromium-driver``) for browser tests."""

CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars", "--window-size=1920,1080")
"""Headless, offline Chromium flags (docs/research/stack.md §4)."""


def chrome(width: int | None = 1920, height: int = 1080, *, console_log: bool = False) -> Any:
    """A headless Chromium (selenium ``webdriver.Chrome``) for browser tests and screenshots.

    Parameters
    ----------
    width, height : the page's size [CSS px] (device metrics override, scale 1); ``None``
        leaves the window's size.
    console_log : keep the browser's console messages (``driver.get_log("browser")``).
    """
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options)
    if width is not None:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return driver

FACTORS = {
    # factor_id: (activity, method, kg CO2e per unit, unit, series, confidence)
    "syn.grid.location": ("electricity.grid", "location", 0.42, "kWh", "syn-grid", "high"),
    "syn.grid.market": ("electricity.grid", "market", 0.6096, "kWh", "syn-grid-market",
                        "high"),
    "syn.gas": ("natural_gas.combustion", "n/a", 2.1622, "m3", "syn-gas", "medium"),
    "syn.water": ("water.supply", "n/a", 0.168, "m3", "syn-water", "low"),
}
"""The synthetic factors (values borrowed from the demo's factor set, for realism only)."""

_ORIGIN = (121.4545, 31.2330)  # the demo's schematic frame, south-west corner [degrees]


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _grid(n: int) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(n)))
    return cols, max(1, math.ceil(n / cols))


def _cells(n: int, x0: float, y0: float, x1: float, y1: float, gap: float = 0.08
           ) -> list[tuple[float, float, float, float]]:
    cols, rows = _grid(n)
    w, h = (x1 - x0) / cols, (y1 - y0) / rows
    out = []
    for i in range(n):
        c, r = i % cols, i // cols
        out.append((x0 + c * w + gap * w, y1 - (r + 1) * h + gap * h,
                    x0 + (c + 1) * w - gap * w, y1 - r * h - gap * h))
    return out


def _twin(sites: int, blocks: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Nodes and geometry: root -> blocks -> (residential areas -> compounds, offices, one
    street frontage per block)."""
    nodes: list[dict[str, Any]] = [{
        "id": "synth", "parent": "", "kind": "subdistrict", "name_zh": "合成街道",
        "name_en": "Synthetic Subdistrict", "use_type": "", "residents": 0,
        "floor_area_m2": np.nan, "estimated": ""}]
    size = 0.0105 * max(1.0, math.sqrt(sites / 60))
    geometry = {"synth": _rect(_ORIGIN[0], _ORIGIN[1], _ORIGIN[0] + size, _ORIGIN[1] + size)}
    per_block = [sites // blocks + (1 if b < sites % blocks else 0) for b in range(blocks)]
    block_cells = _cells(blocks, _ORIGIN[0], _ORIGIN[1], _ORIGIN[0] + size, _ORIGIN[1] + size,
                         gap=0.03)
    residents_total = 0
    for b, (n_sites, cell) in enumerate(zip(per_block, block_cells, strict=True)):
        bid = f"b{b:02d}"
        nodes.append({"id": bid, "parent": "synth", "kind": "block",
                      "name_zh": f"第{b + 1}街区", "name_en": f"Block {b + 1}", "use_type": "",
                      "residents": np.nan, "floor_area_m2": np.nan, "estimated": ""})
        geometry[bid] = _rect(*cell)
        n_compounds = n_sites // 2
        n_offices = n_sites - n_compounds
        n_areas = max(1, math.ceil(n_compounds / 10)) if n_compounds else 0
        units = n_areas + n_offices
        bx0, by0, bx1, by1 = cell
        street_y = by0 + (by1 - by0) * 0.06
        unit_cells = _cells(units, bx0, street_y + (by1 - by0) * 0.04, bx1, by1)
        sid = f"{bid}.street"
        nodes.append({"id": sid, "parent": bid, "kind": "street",
                      "name_zh": f"第{b + 1}街区沿街商铺", "name_en": f"Block {b + 1} frontage",
                      "use_type": "retail", "residents": np.nan, "floor_area_m2": 2400.0,
                      "estimated": "floor_area"})
        geometry[sid] = {"type": "LineString",
                         "coordinates": [[bx0 + 0.02 * (bx1 - bx0), street_y],
                                         [bx1 - 0.02 * (bx1 - bx0), street_y]]}
        k = 0
        for a in range(n_areas):
            aid = f"{bid}.ra{a:02d}"
            members = min(10, n_compounds - a * 10)
            residents = 180 * members
            residents_total += residents
            nodes.append({"id": aid, "parent": bid, "kind": "residential_area",
                          "name_zh": f"{b + 1}-{a + 1}居民区", "name_en": f"Area {b + 1}-{a + 1}",
                          "use_type": "residential", "residents": residents,
                          "floor_area_m2": residents / 2.3 * 60, "estimated": "residents"})
            geometry[aid] = _rect(*unit_cells[k])
            comp_cells = _cells(members, *unit_cells[k])
            k += 1
            for c in range(members):
                cid = f"{aid}.c{c:02d}"
                nodes.append({"id": cid, "parent": aid, "kind": "compound",
                              "name_zh": f"{b + 1}-{a + 1}-{c + 1}小区",
                              "name_en": f"Compound {b + 1}-{a + 1}-{c + 1}",
                              "use_type": "residential", "residents": np.nan,
                              "floor_area_m2": np.nan, "estimated": ""})
                geometry[cid] = _rect(*comp_cells[c])
            fid = f"{aid}.ebike"
            nodes.append({"id": fid, "parent": aid, "kind": "facility",
                          "name_zh": f"{b + 1}-{a + 1}充电棚",
                          "name_en": f"E-bike shed {b + 1}-{a + 1}",
                          "use_type": "ebike", "residents": np.nan, "floor_area_m2": np.nan,
                          "estimated": ""})
            area_x1, area_y0 = unit_cells[k - 1][2], unit_cells[k - 1][1]
            geometry[fid] = {"type": "Point", "coordinates": [area_x1, area_y0]}
        for o in range(n_offices):
            oid = f"{bid}.o{o:02d}"
            nodes.append({"id": oid, "parent": bid, "kind": "office_building",
                          "name_zh": f"{b + 1}号街区商务楼宇{o + 1}",
                          "name_en": f"Office {b + 1}-{o + 1}", "use_type": "office",
                          "residents": np.nan, "floor_area_m2": 15000.0 + 900 * (o % 25),
                          "estimated": "floor_area"})
            geometry[oid] = _rect(*unit_cells[k])
            k += 1
    nodes[0]["residents"] = residents_total
    return nodes, geometry


def _paths(nodes: list[dict[str, Any]]) -> dict[str, str]:
    parent = {n["id"]: n["parent"] for n in nodes}
    out: dict[str, str] = {}
    for nid in parent:
        chain, cur = [], nid
        while cur:
            chain.append(cur)
            cur = parent[cur]
        out[nid] = "/".join(reversed(chain))
    return out


def write_synthetic_snapshot(
    out: str | Path,
    *,
    sites: int = 40,
    years: int = 1,
    start_year: int = 2024,
    seed: int = 0,
    blocks: int | None = None,
    scale: float = 1.0,
    interventions: bool = False,
    target: dict[str, Any] | None = None,
    snapshot_id: str | None = None,
    latest: bool = True,
) -> Path:
    """Write a synthetic snapshot folder under ``out`` and (optionally) point ``LATEST`` at it.

    Parameters
    ----------
    out : the snapshots folder.
    sites : metered sites (compounds and office buildings).
    years : calendar years of monthly entries, from ``start_year``.
    start_year : the first year.
    seed : random seed.
    blocks : street blocks (default about sqrt(sites) / 3, at least 2).
    scale : multiplies every activity amount [dimensionless] (to make a visibly different
        snapshot).
    interventions : also write ``interventions.csv`` and ``scenarios.csv``.
    target : a ``target`` for the manifest, e.g. ``{"base_year": 2024, "reduction": 0.2,
        "target_year": 2030}``.
    snapshot_id : the readable part of the id (default ``synthetic_<sites>x<years>_s<seed>``);
        the folder is ``<snapshot_id>_<12 hex digits of the manifest>``.
    latest : write ``out/LATEST`` (atomically) naming the new snapshot.

    Returns
    -------
    Path
        The snapshot folder.
    """
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    blocks = blocks or max(2, round(math.sqrt(sites) / 3))
    nodes, geometry = _twin(sites, blocks)
    paths = _paths(nodes)
    kind = {n["id"]: n["kind"] for n in nodes}
    use = {n["id"]: n["use_type"] for n in nodes}
    metered = [n["id"] for n in nodes if n["kind"] in ("compound", "office_building", "street",
                                                          "facility")]
    meters = []
    for nid in metered:
        tag = nid.upper().replace(".", "-")
        meters.append((f"E-{tag}", nid, "electricity.grid"))
        if kind[nid] in ("compound", "office_building"):
            meters.append((f"G-{tag}", nid, "natural_gas.combustion"))
            meters.append((f"W-{tag}", nid, "water.supply"))
    mframe = pd.DataFrame(meters, columns=["meter_id", "node_id", "activity"])
    months = pd.date_range(f"{start_year}-01-01", periods=12 * years, freq="MS")
    m = np.arange(len(months))
    season_e = 1 + 0.22 * np.cos(2 * np.pi * (m % 12 - 7) / 12)
    season_g = 1 + 0.45 * np.cos(2 * np.pi * (m % 12 - 0.5) / 12)
    trend = (1 - 0.03) ** (m / 12)
    base = {"electricity.grid": {"compound": 60000.0, "office_building": 180000.0,
                                 "street": 9000.0, "facility": 2500.0},
            "natural_gas.combustion": {"compound": 2500.0, "office_building": 400.0},
            "water.supply": {"compound": 3500.0, "office_building": 2400.0}}
    stopped = mframe["meter_id"].iloc[0]
    spiking = mframe["meter_id"].iloc[min(3, len(mframe) - 1)]
    hours = np.array([(mo + pd.offsets.MonthBegin(1) - mo).days * 24 for mo in months])
    cov_rows, rows = [], []
    for meter_id, nid, activity in mframe.itertuples(index=False):
        level = base[activity][kind[nid]] * rng.uniform(0.6, 1.4) * scale
        season = season_e if activity == "electricity.grid" else (
            season_g if activity.startswith("natural") else np.ones(len(m)))
        amount = level * season * trend * rng.normal(1.0, 0.03, len(m))
        expected = hours if activity == "electricity.grid" else np.ones(len(m), dtype=int)
        present = expected.astype(float).copy()
        if meter_id == stopped and len(m) > 3:
            present[-2:] = 0.0
            amount[-2:] = 0.0
        if meter_id == spiking:
            amount[-1] *= 1.8
        estimated = np.where(rng.random(len(m)) < 0.05, np.minimum(3, present), 0.0)
        for i, month in enumerate(months):
            cov_rows.append((meter_id, month, int(expected[i]), present[i], estimated[i],
                             present[i] / expected[i]))
            if present[i] == 0:
                continue
            rows.append((nid, activity, month, amount[i], present[i], estimated[i],
                         present[i] / expected[i]))
    act = pd.DataFrame(rows, columns=["node_id", "activity", "month", "amount", "readings",
                                      "estimated", "completeness"])
    act = act.groupby(["node_id", "activity", "month"], as_index=False).agg(
        amount=("amount", "sum"), readings=("readings", "sum"), estimated=("estimated", "sum"),
        completeness=("completeness", "mean"), meters=("amount", "size"))
    parts = []
    for fid, (activity, method, value, unit, _series, _conf) in FACTORS.items():
        sel = act[act["activity"] == activity].copy()
        sel["method"], sel["factor_id"], sel["factor_co2e"], sel["unit"] = (method, fid, value,
                                                                            unit)
        parts.append(sel)
    e = pd.concat(parts, ignore_index=True)
    res = e["node_id"].map(use).eq("residential") | e["node_id"].map(kind).eq("compound")
    ebike = e["node_id"].map(use).eq("ebike")
    ref = np.select(
        [e["activity"].eq("water.supply"), ebike,
         e["activity"].eq("electricity.grid") & res, e["activity"].eq("electricity.grid"),
         res], ["VI.1", "II.1.2", "I.1.2", "I.2.2", "I.1.1"], "I.2.1")
    e["gpc_ref"] = ref
    e["gpc_sector"] = e["gpc_ref"].str.split(".").str[0]
    e["scope"] = np.select([e["gpc_ref"].str.endswith(".2") & ~e["gpc_ref"].eq("VI.1"),
                            e["gpc_ref"].eq("VI.1")], [2, 3], 1).astype("int32")
    e["co2e_kg"] = (e["amount"] * e["factor_co2e"]).round(3)
    e["kind"] = "emission"
    e["period_start"] = e["month"].dt.date
    e["period_end"] = (e["month"] + pd.offsets.MonthBegin(1)).dt.date
    e["node_path"] = e["node_id"].map(paths)
    e["node_kind"] = e["node_id"].map(kind)
    key = (e["node_id"] + "|" + e["activity"] + "|" + e["method"] + "|"
           + e["month"].dt.strftime("%Y-%m"))
    e["entry_id"] = "E" + key.map(lambda s: hashlib.sha256(s.encode()).hexdigest()[:20])
    e["dq_activity"], e["dq_factor"] = "H", "M"
    e["source_batches"], e["adjusts"] = "b_synthetic", ""
    e["notes"] = np.where(e["estimated"] > 0, "synthetic;gap_filled", "synthetic")
    e = e.sort_values("entry_id", ignore_index=True)
    columns: dict[str, Any] = {}
    for f in ENTRY_SCHEMA:
        if f.name in ("co2_kg",):
            values = e["co2e_kg"]
        elif f.name in ("ch4_kg", "n2o_kg"):
            values = pd.Series(0.0, index=e.index)
        else:
            values = e[f.name]
        if pa.types.is_decimal(f.type):
            columns[f.name] = pc.cast(pa.array(values.astype(float).round(f.type.scale)),
                                      f.type, safe=False)
        elif f.type == pa.int64() or f.type == pa.int32():
            columns[f.name] = pa.array(values.astype("int64"), type=f.type)
        else:
            columns[f.name] = pa.array(values, type=f.type)
    table = pa.table(columns, schema=ENTRY_SCHEMA)

    snapshot_id = snapshot_id or f"synthetic_{sites}x{years}_s{seed}"
    tmp = Path(tempfile.mkdtemp(prefix="carbon-synthetic-"))
    pq.write_table(table, tmp / "entries.parquet", compression="zstd")
    nframe = pd.DataFrame(nodes)
    nframe.insert(5, "depth", nframe["id"].map(lambda i: paths[i].count("/")))
    nframe.insert(6, "path", nframe["id"].map(paths))
    nframe["meters"] = nframe["id"].map(mframe["node_id"].value_counts()).fillna(0).astype(int)
    nframe.to_csv(tmp / "nodes.csv", index=False, lineterminator="\n")
    mframe.to_csv(tmp / "meters.csv", index=False, lineterminator="\n")
    feats = [{"type": "Feature", "properties": {"id": k}, "geometry": v}
             for k, v in geometry.items()]
    (tmp / "geometry.geojson").write_text(json.dumps(
        {"type": "FeatureCollection", "name": "SYNTHETIC grid", "features": feats}),
        encoding="utf-8")
    cov = pd.DataFrame(cov_rows, columns=["meter_id", "month", "expected", "present",
                                          "estimated", "completeness"])
    pq.write_table(pa.Table.from_pandas(cov, preserve_index=False), tmp / "coverage.parquet")
    pd.DataFrame([
        {"batch_id": "b_synthetic", "file_name": "synthetic_electricity.csv",
         "reason": "duplicate_row", "rows": 4, "first_row": 120, "example": "repeats row 119"},
        {"batch_id": "b_synthetic", "file_name": "synthetic_electricity.csv",
         "reason": "spike", "rows": 1, "first_row": 9001, "example": "value over 20 x median"},
    ]).to_csv(tmp / "rejects.csv", index=False, lineterminator="\n")
    pd.DataFrame([
        {"factor_id": fid, "activity": a, "region": "CN-SH", "valid_from": "2020-01-01",
         "valid_to": "", "method": mth, "series": series,
         "value_as_published": f"CO2: {v} kgCO2/{u}", "co2e_per_unit": str(v),
         "unit": f"kgCO2e/{u}", "confidence": conf, "confidence_detail": "", "proxy": False,
         "citation": f"SYNTHETIC factor {series} (value borrowed from the demo factor set)",
         "url": "", "file": ""}
        for fid, (a, mth, v, u, series, conf) in FACTORS.items()
    ]).to_csv(tmp / "factors.csv", index=False, lineterminator="\n")
    gpc_rows = []
    for nid in ["synth", *[n["id"] for n in nodes if n["kind"] == "block"]]:
        for method in ("location", "market"):
            gpc_rows += [
                {"node_id": nid, "method": method, "gpc_ref": "I.1.3", "name_en": "T&D losses",
                 "name_zh": "居住建筑:输配损耗", "notation_key": "NE",
                 "explanation": "not estimated (synthetic)"},
                {"node_id": nid, "method": method, "gpc_ref": "V.2", "name_en": "removals",
                 "name_zh": "境内土地(绿地碳汇)", "notation_key": "IE",
                 "explanation": "reported apart"},
            ]
    pd.DataFrame(gpc_rows).to_csv(tmp / "gpc_table.csv", index=False, lineterminator="\n")
    if interventions:
        compounds = [n["id"] for n in nodes if n["kind"] == "compound"][:6]
        offices = [n["id"] for n in nodes if n["kind"] == "office_building"][:4]
        recs = []
        for i, nid in enumerate(compounds + offices):
            # the columns of carbon.interventions.estimate_register plus the M&V results:
            # planned measures avoid nothing in the period but have a yearly potential
            est = 20.0 + 7 * i
            placed = i % 2 == 0
            verified = round(est * 0.82, 2) if placed and i % 4 == 0 else None
            recs.append({
                "intervention_id": f"IV{i:02d}", "name_zh": ["LED照明改造", "节水器具", "屋顶光伏",
                                                          "立体绿化"][i % 4],
                "name_en": ["LED retrofit", "Water-saving fixtures", "Rooftop PV",
                            "Green wall"][i % 4],
                "node_id": nid, "kind": "led" if i % 4 == 0 else "other",
                "status": "in_place" if placed else "planned",
                "estimated_t": est if placed else 0.0, "annual_t": est,
                "low_t": round(est * 0.8, 2) if placed else 0.0,
                "high_t": round(est * 1.2, 2) if placed else 0.0,
                "verified_t": verified if verified is not None else "",
                # the estimate over the verified months is 90 % of the period's
                "realisation_rate": round(verified / (est * 0.9), 6) if verified else "",
                "cost_per_t_cny": [-120, 80, 450, 900][i % 4] + 10 * i,
                "in_place": placed})
        pd.DataFrame(recs).to_csv(tmp / "interventions.csv", index=False, lineterminator="\n")
        scen = pd.DataFrame(recs)
        scen["intervention_id"] = "S" + scen["intervention_id"]
        scen["in_place"] = False
        scen.to_csv(tmp / "scenarios.csv", index=False, lineterminator="\n")
    totals = {}
    for method in ("location", "market"):
        view = e[e["method"].isin([method, "n/a"]) & ~e["gpc_ref"].eq("VI.1")]
        totals[f"BASIC_{method}"] = round(float(view["co2e_kg"].sum()) / 1000, 6)
    manifest: dict[str, Any] = {
        "carbon_version": "synthetic",
        "period": {"start": f"{start_year}-01-01", "end": f"{start_year + years}-01-01"},
        "twin": {"name": "synthetic", "content_hash": "", "timezone": "Asia/Shanghai"},
        "inputs": [{"batch_id": "b_synthetic", "kind": "interval",
                    "file_name": "synthetic_electricity.csv", "sha256": "0" * 64}],
        "synthetic_inputs": True, "counts": {"emission": len(e)},
        "totals_t": totals,
        "warnings": [{"code": "synthetic", "message": "SYNTHETIC snapshot for tests and "
                      "benchmarks"}],
    }
    if target is not None:
        manifest["target"] = target

    def write(folder: Path) -> None:
        for p in sorted(tmp.iterdir()):
            shutil.move(p, folder / p.name)

    try:
        final = write_snapshot(out, snapshot_id, write, manifest, latest=latest).path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
