"""Read-only access to published ledger snapshots for the wall screen.

The wall never touches the store or the ledger: it reads the immutable snapshot folders that
:func:`carbon.audit.publish` writes (DESIGN decision 8). A snapshot is loaded whole, checked
against the SHA-256 of every file its ``manifest.json`` lists, and turned into small
pre-aggregated frames; the app's callbacks then only select from them and hand the frames to
the pure figure functions of :mod:`dashboard.figures`. No SQL, no path and no file name ever
comes from the browser: the snapshots folder is fixed when the server starts, and a snapshot is
looked up by an id only among those already loaded.

:class:`SnapshotSource` follows a snapshots folder: it re-reads ``LATEST`` when asked (the
server asks every few seconds from a background thread), loads the newer snapshot completely
before it swaps the reference, and keeps showing the previous one when the newer one fails its
checks. A snapshot folder given directly (one with ``manifest.json``) is pinned.

In a notebook::

    from carbon.dashboard import data, figures
    snap = data.load_snapshot("demo/snapshots")          # the LATEST one
    figures.trend_figure(snap.monthly("shimen_erlu", "location", by="sector"))

Numbers shown are sums of ledger entries (kinds ``emission`` and ``adjustment``, the rows
:func:`carbon.gpc.in_total` puts in BASIC, scope-2 entries of one view plus the ``n/a`` rows);
they are converted from DECIMAL kilograms to float tonnes for display only. The headline BASIC
of the year and the per-capita figures come from :mod:`carbon.inventory` (the rules the CLI and
the snapshot's totals use), so the wall and the CLI print the same annual figures.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from carbon.errors import CarbonError
from carbon.gpc import REFS, in_total
from carbon.snapshot import SnapshotError, latest_name
from carbon.snapshot import load_snapshot as read_snapshot
from carbon.summary import Memo, Summary, SummaryData

__all__ = [
    "METHODS",
    "METRICS",
    "RANK_KINDS",
    "Kpis",
    "MapData",
    "Provenance",
    "SnapshotSource",
    "WallDataError",
    "WallSnapshot",
    "load_snapshot",
]

log = logging.getLogger(__name__)

METHODS = ("location", "market")
"""Scope-2 views (GPC v1.1 §6.3 and the GHG Protocol Scope 2 Guidance, dual reporting)."""

METRICS = ("emissions", "intensity")
"""What the map colours: emissions [t CO2e] or intensity [kg CO2e / m2 floor area]."""

BREAKDOWNS = ("sector", "scope")
"""How the monthly trend is split."""

RANK_KINDS = ("compound", "office_building", "street")
"""Node kinds ranked against each other (buildings join when a compound is selected)."""

_FLOAT_COLUMNS = ("amount", "co2e_kg", "completeness", "co2_kg", "ch4_kg", "n2o_kg")
_READ_COLUMNS = ("kind", "period_start", "period_end", "node_id", "node_path", "node_kind",
                 "gpc_ref", "gpc_sector", "scope", "method", "activity", "amount", "unit",
                 "factor_id", "co2_kg", "ch4_kg", "n2o_kg", "co2e_kg", "dq_activity",
                 "dq_factor", "completeness", "meters", "readings", "estimated", "notes")
_OPTIONAL_TABLES = ("interventions.csv", "scenarios.csv", "meters.csv")
_INTERVENTION_COLUMNS = ("intervention_id", "name_zh", "name_en", "node_id", "kind",
                         "estimated_t", "verified_t", "low_t", "high_t", "cost_per_t_cny",
                         "in_place")

FRESH_DAYS = 35
"""Data up to this many days old is 'fresh' [d] (a monthly ledger closes a month at a time)."""
AGEING_DAYS = 70
"""Data older than this is 'stale' [d]; in between it is 'ageing'."""

ALERT_DEPARTURE = 0.3
"""A month departing from the meter's own baseline by more than this share raises an alert
[dimensionless]."""
MEMO_SIZE = 4096
"""Query results kept per loaded snapshot."""

WARM_DELAY_SECONDS = 5.0
"""A newly shown snapshot's views are warmed in the background after this long [s]."""

RETRY_SECONDS = 30.0
"""A snapshot that failed to load is tried again after this long [s] (sooner when its files
change)."""

ALERT_COMPLETENESS = 0.9
"""A meter-month below this completeness raises a gap alert [dimensionless]."""


class WallDataError(CarbonError, RuntimeError):
    """A snapshot the wall screen cannot show (missing, unreadable or failing its checksums)."""


# ------------------------------------------------------------------------------ helpers
def _read_entries(path: Path) -> pd.DataFrame:
    """Entries with DECIMAL columns cast to float64 (display only) and dates as datetimes."""
    schema = pq.read_schema(path)
    columns = [c for c in _READ_COLUMNS if c in schema.names]
    table = pq.read_table(path, columns=columns)
    for name in _FLOAT_COLUMNS:
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, name, pc.cast(table[name], pa.float64(), safe=False))
    frame = table.to_pandas()
    for col in ("period_start", "period_end"):
        frame[col] = pd.to_datetime(frame[col])
    for col in ("notes", "factor_id", "activity", "unit", "method", "gpc_ref", "gpc_sector"):
        if col in frame:
            frame[col] = frame[col].fillna("").astype(str)
    return frame


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _bool(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip().str.lower().isin(["true", "1", "yes", "y"])


def _top_down(nodes: pd.DataFrame, children: dict[str, list[str]], root: str, column: str
              ) -> tuple[dict[str, float], dict[str, bool]]:
    """A node's own value of an attribute, or else the sum of its children's (recursively).

    Taking the highest node of each branch that has the attribute avoids counting residents
    twice when both an area and its compounds carry them. Also returns, per node, whether any
    contributing value is an estimate (the node's ``estimated`` list names the attribute).
    """
    own = _num(nodes[column]) if column in nodes else pd.Series(np.nan, index=nodes.index)
    attr = column.removesuffix("_m2").removesuffix("_km2")
    est = nodes.get("estimated", pd.Series("", index=nodes.index)).astype(str)
    own_est = est.map(lambda s: attr in s.replace(" ", "").split(","))
    value: dict[str, float] = {}
    estimated: dict[str, bool] = {}
    order: list[str] = []
    stack = [root]
    while stack:
        nid = stack.pop()
        order.append(nid)
        stack.extend(children.get(nid, []))
    for nid in reversed(order):
        v = own.get(nid, np.nan)
        if pd.notna(v):
            value[nid], estimated[nid] = float(v), bool(own_est.get(nid, False))
            continue
        kids = [k for k in children.get(nid, []) if not math.isnan(value.get(k, math.nan))]
        if kids:
            value[nid] = float(sum(value[k] for k in kids))
            estimated[nid] = any(estimated[k] for k in kids)
        else:
            value[nid], estimated[nid] = math.nan, False
    return value, estimated


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Kpis:
    """The headline numbers of one node in one scope-2 view.

    Everything the CLI also prints (BASIC, its uncertainty, the change, the intensities,
    avoided, removals, realisation, target) is copied from :func:`carbon.summary.summarize`
    (kept whole in :attr:`summary`); the wall adds what only a screen shows (PV, meters,
    completeness, the main factor).

    Attributes
    ----------
    node_id : the node.
    method : ``location`` or ``market``.
    year : the latest calendar year with entries; None when there are none.
    months : months of ``year`` with entries [month].
    emissions_t : GPC BASIC emissions of ``year`` [t CO2e]
        (:func:`carbon.inventory.inventory_totals`: rows keyed NE add nothing).
    basic_complete : False while a BASIC row of ``year`` is keyed NE (BASIC is then labelled
        incomplete); None when there is no year.
    uncertainty_pct : Approach 1 uncertainty of BASIC [%, half the 95 % interval].
    last_year : the year before, when the snapshot has it.
    last_year_t : BASIC emissions of the same months of ``last_year`` [t CO2e].
    change : emissions_t / last_year_t - 1 [dimensionless].
    residents : residents of the node (twin attribute) [person].
    residents_estimated : True when the twin marks the residents as an estimate.
    per_capita_t : annual emissions of residential buildings (GPC I.1) per resident
        [t CO2e / person / a], annualised for a partial year (:func:`carbon.inventory.intensity`,
        the figure the CLI prints).
    per_service_population_t : annual BASIC per resident and office worker
        [t CO2e / person / a].
    per_m2_kg : annual stationary-energy emissions per m2 of floor area [kg CO2e / m2 / a].
    avoided_estimated_t, avoided_verified_t : avoided by interventions [t CO2e]; None when the
        snapshot holds no intervention results.
    avoided_low_t, avoided_high_t : the range of the estimate, where the records give one
        [t CO2e].
    avoided_realisation : verified / the estimate of the same interventions and months
        [dimensionless] (:class:`carbon.summary.Avoided`).
    removals_t : removals by green space [t CO2e]; None when the snapshot holds none.
    pv_kwh : rooftop PV generation recorded in the ledger [kWh]; None when there is none.
    target : the manifest's target, or None.
    target_progress : share of the targeted reduction achieved [dimensionless].
    completeness : present / expected meter intervals of ``year`` [dimensionless].
    meters : meters behind the node (from the snapshot's meter mapping).
    estimated_share : estimated / present intervals [dimensionless].
    factor_note : the factor behind most of the tonnes, with its short source.
    summary : the :class:`carbon.summary.Summary` the figures above come from.
    """

    node_id: str
    method: str
    year: int | None = None
    months: int = 0
    emissions_t: float | None = None
    last_year: int | None = None
    last_year_t: float | None = None
    change: float | None = None
    residents: float | None = None
    residents_estimated: bool = False
    per_capita_t: float | None = None
    per_service_population_t: float | None = None
    per_m2_kg: float | None = None
    basic_complete: bool | None = None
    avoided_estimated_t: float | None = None
    avoided_verified_t: float | None = None
    avoided_low_t: float | None = None
    avoided_high_t: float | None = None
    avoided_realisation: float | None = None
    removals_t: float | None = None
    pv_kwh: float | None = None
    target: dict[str, Any] | None = None
    target_progress: float | None = None
    target_base_missing: bool = False
    completeness: float | None = None
    meters: int = 0
    estimated_share: float | None = None
    factor_note: str = ""
    uncertainty_pct: float | None = None
    summary: Summary | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class MapData:
    """What the map draws for a selection.

    Attributes
    ----------
    selected : the selected node.
    focus : the node whose children are drawn (the selection, or its parent for a leaf).
    items : one row per drawn node: ``node_id, name_zh, name_en, kind, geometry_type,
        co2e_t`` [t CO2e], ``floor_area_m2`` [m2], ``intensity_kg_m2`` [kg CO2e / m2].
    features : GeoJSON geometry of every drawn node, and of ``focus`` and the root as context.
    root : the root node id.
    context : the streets and rivers of the twin's geometry (GeoJSON Features whose
        ``properties`` hold ``context``, ``name_zh``, ``name_en``), drawn for orientation.
    approximate : True when the twin marks its geometry approximate or schematic.
    """

    selected: str
    focus: str
    items: pd.DataFrame
    features: dict[str, dict[str, Any]]
    root: str
    context: tuple[dict[str, Any], ...] = ()
    approximate: bool = False


@dataclass(frozen=True)
class Provenance:
    """Where one number on the screen comes from.

    Attributes
    ----------
    key : which number (``emissions``, ``per_capita``, ``avoided``, ``removals``, ``pv``,
        ``target``, ``completeness``).
    node_id, method, year : what it was computed for.
    factors : ``factor_id, co2e_t, share, value, unit, confidence, citation, url`` of every
        factor behind it, largest first.
    meters : ``meter_id, node_id, activity`` of the meters behind it.
    entries : number of ledger entries behind it.
    inputs : ``file_name, kind, sha256`` of the snapshot's input files.
    attributes : twin attributes used (``name, value, estimated``).
    records : intervention records behind it (avoided), if any.
    coverage : ``(present, expected)`` intervals, for completeness.
    """

    key: str
    node_id: str
    method: str
    year: int | None
    factors: pd.DataFrame
    meters: pd.DataFrame
    entries: int
    inputs: pd.DataFrame
    attributes: list[dict[str, Any]] = field(default_factory=list)
    records: pd.DataFrame | None = None
    coverage: tuple[float, float] | None = None


# ------------------------------------------------------------------------------ snapshot
class WallSnapshot:
    """One published snapshot, loaded and pre-aggregated for the wall (read-only).

    Build it with :func:`load_snapshot`. Every query takes a node id that must be one of
    :attr:`node_ids` (use :meth:`valid_node`), returns a fresh frame, and is memoised per
    snapshot (a snapshot never changes).
    """

    def __init__(self, path: Path, manifest: dict[str, Any], tables: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self.id: str = str(manifest["snapshot_id"])
        self.nodes: pd.DataFrame = tables["nodes"]
        self.geometry: dict[str, dict[str, Any]] = tables["geometry"]
        self.map_context: tuple[dict[str, Any], ...] = tables.get("map_context", ())
        self.map_approximate: bool = tables.get("map_approximate", False)
        self.coverage: pd.DataFrame = tables["coverage"]
        self.rejects: pd.DataFrame = tables["rejects"]
        self.factors: pd.DataFrame = tables["factors"]
        self.gpc: pd.DataFrame = tables["gpc"]
        self.interventions: pd.DataFrame = tables["interventions"]
        self.scenarios: pd.DataFrame = tables["scenarios"]
        self.meter_map: pd.DataFrame = tables["meter_map"]
        self._node_of_meter: dict[str, str] = dict(zip(self.meter_map["meter_id"],
                                                       self.meter_map["node_id"], strict=True))
        self._memo = Memo(MEMO_SIZE)
        self._prepare(tables["entries"])

    def __repr__(self) -> str:
        return f"WallSnapshot({self.id!r}, {len(self.nodes)} nodes, {self.n_entries} entries)"

    # ---------------------------------------------------------------- preparation
    def _prepare(self, e: pd.DataFrame) -> None:
        nodes = self.nodes
        roots = nodes.index[nodes["parent"].fillna("") == ""]
        if len(roots) != 1:
            raise WallDataError(f"{self.path}: nodes.csv must have exactly one root, found "
                                f"{len(roots)}")
        self.root: str = str(roots[0])
        self.node_ids: frozenset[str] = frozenset(nodes.index)
        children: dict[str, list[str]] = {}
        for nid, parent in nodes["parent"].items():
            if parent:
                children.setdefault(parent, []).append(str(nid))
        self.children_of = children
        self.kind_of: dict[str, str] = {str(k): str(v) for k, v in
                                        nodes.get("kind", pd.Series(dtype=str)).items()}
        self.parent_of: dict[str, str] = {str(k): str(v) for k, v in nodes["parent"].items()}
        self._prepare_coverage()
        self.residents, self.residents_est = _top_down(nodes, children, self.root, "residents")
        self.floor_area, self.floor_area_est = _top_down(nodes, children, self.root,
                                                         "floor_area_m2")
        self.n_entries = len(e)
        # the headline numbers (carbon.summary: the inventory rules, avoided, realisation)
        # read the entries themselves; the CLI prints the same
        self.summary_data = SummaryData(self.id, e, nodes, self.manifest, self.meter_map,
                                        self.interventions)
        years = self.summary_data.years
        # credits beside the inventory (carbon.credits: recovered energy) are no intervention's
        # saving; the wall's avoided figures are the interventions'
        e = e[~((e["kind"] == "avoided") & e["notes"].str.startswith("credit "))].copy()
        e["co2e_t"] = e["co2e_kg"] / 1000.0
        e["basic"] = e["gpc_ref"].isin([ref for ref in REFS if in_total(ref, "BASIC")])
        e["month"] = e["period_start"].dt.to_period("M").dt.to_timestamp()
        e["year"] = e["period_start"].dt.year.astype("int32")
        e["pv"] = e["activity"].str.startswith("electricity.pv")
        e["amount_pv_kwh"] = np.where(e["pv"], e["amount"], 0.0)
        # verified (ex-post, carbon.mv) avoided entries vs ex-ante estimates
        e["est_verified"] = e["notes"].str.contains(r"\bex_post\b|verified", regex=True)
        e["readings"] = e["readings"].astype("float64")
        e["estimated"] = e["estimated"].astype("float64")
        e["n"] = 1
        self.months: list[pd.Timestamp] = sorted(e["month"].unique())
        self.latest_year: int | None = years[-1] if years else None  # the summary's year
        self.data_end: dt.date | None = (
            (e["period_end"].max() - pd.Timedelta(days=1)).date() if len(e) else None)
        self.data_start: dt.date | None = e["period_start"].min().date() if len(e) else None
        # one row per (view, entry): n/a rows count in both scope-2 views
        views = [e[e["method"].isin([m, "n/a"])].assign(view=m) for m in METHODS]
        ev = pd.concat(views, ignore_index=True)
        keys = ["view", "node_path", "kind", "year", "month", "gpc_sector", "scope", "basic",
                "pv", "factor_id", "est_verified"]
        vals = ["co2e_t", "amount_pv_kwh", "readings", "estimated", "n"]
        base = ev.groupby(keys, observed=True, sort=False)[vals].sum().reset_index()
        paths = pd.DataFrame({"node_path": base["node_path"].unique()})
        paths["anc"] = paths["node_path"].str.split("/")
        paths = paths.explode("anc")
        cube = base.merge(paths, on="node_path").drop(columns="node_path")
        keys = ["anc", *[k for k in keys if k != "node_path"]]
        cube = cube.groupby(keys, observed=True, sort=False)[vals].sum().reset_index()
        for col in ("anc", "view", "kind", "gpc_sector", "factor_id"):
            cube[col] = cube[col].astype("category")
        self._cube = cube
        self._cube_index: dict[str, np.ndarray] = {
            str(k): v for k, v in cube.groupby("anc", observed=True).indices.items()}
        basic = cube[cube["kind"].isin(["emission", "adjustment"]) & cube["basic"]
                     & cube["year"].eq(self.latest_year)]
        sums = basic.groupby(["view", "anc"], observed=True)["co2e_t"].sum()
        self._year_totals: dict[str, pd.Series] = {
            m: sums.xs(m, level="view") if m in sums.index.get_level_values("view")
            else pd.Series(dtype=float) for m in METHODS}
        # node-level monthly activity of emissions, for meter alerts (location view)
        loc = e[e["kind"].eq("emission") & e["method"].isin(["location", "n/a"])]
        self._series = (loc.groupby(["node_id", "node_path", "activity", "month"],
                                    observed=True)["amount"].sum().reset_index())
        self._departures_all = self._all_departures()

    def _prepare_coverage(self) -> None:
        """Per-ancestor monthly coverage sums and per-meter totals (meters of a node are
        those of its subtree, via the meter -> node mapping)."""
        cov, mm = self.coverage, self.meter_map
        mm = mm[mm["node_id"].isin(self.node_ids)] if not mm.empty else mm
        if mm.empty:  # no mapping: every meter counts for the root only
            anc = pd.DataFrame({"anc": self.root, "meter_id": cov["meter_id"].unique()})
        else:
            anc = mm[["meter_id", "node_id"]].drop_duplicates("meter_id").copy()
            anc["anc"] = anc["node_id"].map(lambda n: self.ancestors(n))
            anc = anc.explode("anc")[["anc", "meter_id"]]
        self._meter_index: dict[str, np.ndarray] = {
            str(k): anc["meter_id"].to_numpy()[v]
            for k, v in anc.groupby("anc").indices.items()}
        cols = ["expected", "present", "estimated"]
        if cov.empty:
            self._cov_anc = pd.DataFrame(columns=["anc", "month", *cols])
            self._cov_index: dict[str, np.ndarray] = {}
            self._cov_meter = pd.DataFrame(columns=["meter_id", *cols, "last_present",
                                                    "last_completeness"])
            return
        merged = cov.merge(anc, on="meter_id")
        by_anc = merged.groupby(["anc", "month"], as_index=False)[cols].sum()
        self._cov_anc = by_anc
        self._cov_index = {str(k): v for k, v in by_anc.groupby("anc").indices.items()}
        last = cov["month"].max()
        per = cov.groupby("meter_id")[cols].sum()
        per["last_present"] = cov[cov["present"] > 0].groupby("meter_id")["month"].max()
        latest = cov[cov["month"] == last].set_index("meter_id")
        per["last_completeness"] = latest["completeness"].reindex(per.index)
        self._cov_meter = per
        self.coverage_first, self.coverage_last = cov["month"].min(), last

    # ---------------------------------------------------------------- tree
    def valid_node(self, node_id: object) -> str:
        """``node_id`` when it names a node of this snapshot, else the root."""
        return node_id if isinstance(node_id, str) and node_id in self.node_ids else self.root

    def node(self, node_id: str) -> dict[str, Any]:
        """A node's row of ``nodes.csv`` as a dict (with ``id``)."""
        row = self.nodes.loc[node_id].to_dict()
        row["id"] = node_id
        return row

    def children(self, node_id: str) -> list[str]:
        """The children of a node, in twin order."""
        return list(self.children_of.get(node_id, []))

    def ancestors(self, node_id: str) -> list[str]:
        """Ids from the root down to the node (inclusive)."""
        out = [node_id]
        while self.parent_of.get(out[-1], ""):
            out.append(self.parent_of[out[-1]])
        return out[::-1]

    def subtree(self, node_id: str) -> list[str]:
        """The node and all its descendants."""
        out, stack = [], [node_id]
        while stack:
            nid = stack.pop()
            out.append(nid)
            stack.extend(self.children_of.get(nid, []))
        return out

    def tour(self) -> list[str]:
        """The carousel's views: the root, then each of its children with entries."""
        return [self.root, *[c for c in self.children(self.root) if c in self._cube_index]]

    def _rows(self, node_id: str) -> pd.DataFrame:
        idx = self._cube_index.get(node_id)
        if idx is None:
            return self._cube.iloc[0:0]
        return self._cube.take(idx)

    def _memoised(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """A query's result, computed once per snapshot (:class:`carbon.summary.Memo`: the
        least recently used dropped past :data:`MEMO_SIZE` results, stored frozen and handed
        out as fresh frames, one computation per key, two at a time)."""
        return self._memo.get(key, build)

    def warm(self, limit: int = 200, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Compute the answers of the likely first clicks ahead of them: the root, then its
        children, breadth first, up to ``limit`` nodes (headline numbers, map, ranking, trend,
        quality, alerts and suggestions, location view), while ``keep_going()`` is true.
        Returns the nodes done. A node's first answers cost 0.1-0.3 s (the inventory rules of
        :mod:`carbon.summary`); after this they are memoised."""
        with contextlib.suppress(AttributeError, OSError):  # lowest CPU priority (Linux)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        done, queue = 0, [self.root]
        while queue and done < limit and keep_going():
            node = queue.pop(0)
            queue.extend(self.children(node))
            try:
                self.kpis(node, "location")
                self.map_data(node, "location")
                self.ranking(node, "location")
                self.monthly(node, "location", "sector")
                self.quality(node)
                self.alerts(node, limit=5)
                self.suggestions(node)
            except Exception as exc:  # warming is best effort; a click will say what fails
                log.warning("wall: warming %s failed: %s: %s", node, type(exc).__name__, exc)
            done += 1
            time.sleep(0.005)  # let request threads in between nodes
        return done

    # ---------------------------------------------------------------- freshness
    def freshness(self, today: dt.date | None = None) -> dict[str, Any]:
        """How old the data are: ``data_start`` and ``data_end`` (first and last day with
        entries), ``age_days`` [d], ``level`` (``fresh``, ``ageing``, ``stale``; thresholds
        :data:`FRESH_DAYS`, :data:`AGEING_DAYS`) and ``demo``: True for a snapshot built from
        synthetic inputs (``synthetic_inputs`` in its manifest), whose period is fixed history
        chosen when it was built, so its age says nothing about a feed having stopped."""
        demo = bool(self.manifest.get("synthetic_inputs"))
        if self.data_end is None:
            return {"data_start": None, "data_end": None, "age_days": None, "level": "stale",
                    "demo": demo}
        today = today or dt.date.today()
        age = (today - self.data_end).days
        level = "fresh" if age <= FRESH_DAYS else "ageing" if age <= AGEING_DAYS else "stale"
        return {"data_start": self.data_start, "data_end": self.data_end, "age_days": age,
                "level": level, "demo": demo}

    # ---------------------------------------------------------------- KPIs
    def _emission_rows(self, node_id: str, method: str) -> pd.DataFrame:
        r = self._rows(node_id)
        return r[(r["view"] == method) & r["kind"].isin(["emission", "adjustment"])
                 & r["basic"]]

    def _meters_under(self, node_id: str) -> pd.DataFrame:
        """Meter mapping rows of the meters in a node's subtree."""
        mm = self.meter_map
        if mm.empty:
            return mm
        ids = self._meter_index.get(node_id)
        return mm[mm["meter_id"].isin(ids)] if ids is not None else mm.iloc[0:0]

    def _coverage_months(self, node_id: str) -> pd.DataFrame | None:
        """Monthly ``expected, present, estimated`` intervals of the meters under a node;
        None when the snapshot cannot tell which meters those are."""
        if self.meter_map.empty and node_id != self.root:
            return None
        idx = self._cov_index.get(node_id)
        return self._cov_anc.take(idx) if idx is not None else self._cov_anc.iloc[0:0]

    def _coverage_meters(self, node_id: str) -> pd.DataFrame:
        """Per-meter coverage totals of the meters under a node (index ``meter_id``)."""
        ids = self._meter_index.get(node_id)
        if ids is None or self._cov_meter.empty:
            return self._cov_meter.iloc[0:0]
        return self._cov_meter.reindex(ids).dropna(subset=["expected"])

    def summary(self, node_id: str, method: str = "location") -> Summary:
        """The node's :class:`carbon.summary.Summary` of the latest year (what the CLI prints;
        the KPI tiles and the interventions panel show it)."""
        node_id = self.valid_node(node_id)
        method = method if method in METHODS else "location"
        return self.summary_data.summary(node_id, None, method)

    def kpis(self, node_id: str, method: str = "location") -> Kpis:
        """The headline numbers of a node (see :class:`Kpis`)."""
        node_id = self.valid_node(node_id)
        method = method if method in METHODS else "location"
        return self._memoised(("kpis", node_id, method), lambda: self._kpis(node_id, method))

    def _kpis(self, node_id: str, method: str) -> Kpis:
        s = self.summary(node_id, method)
        out: dict[str, Any] = {"node_id": node_id, "method": method, "summary": s,
                               "year": s.year, "months": s.months}
        if s.totals is not None:
            out.update(emissions_t=s.totals.basic_t, basic_complete=s.totals.complete,
                       uncertainty_pct=s.totals.uncertainty_pct, last_year=s.last_year,
                       last_year_t=s.last_year_t, change=s.change)
        i = s.intensity
        if i is not None:
            out.update(per_capita_t=i.per_resident_t,
                       per_service_population_t=i.per_service_population_t,
                       per_m2_kg=i.per_m2_kg)
        residents = self.residents.get(node_id, math.nan)
        if residents and not math.isnan(residents):
            out["residents"] = residents
            out["residents_estimated"] = self.residents_est.get(node_id, False)
        a = s.avoided
        out.update(avoided_estimated_t=a.estimated_t, avoided_verified_t=a.verified_t,
                   avoided_low_t=a.low_t, avoided_high_t=a.high_t,
                   avoided_realisation=a.realisation, removals_t=a.removals_t)
        target = self.manifest.get("target")
        out["target"] = target if isinstance(target, dict) else None
        if s.target is not None:
            out["target_progress"] = s.target.progress
            out["target_base_missing"] = s.target.base_t is None
        year = s.year
        if year is not None:
            this = self._emission_rows(node_id, method)
            this = this[this["year"] == year]
            if len(this):
                by_factor = this.groupby("factor_id", observed=True)["co2e_t"].sum()
                top = str(by_factor.idxmax()) if len(by_factor) else ""
                out["factor_note"] = self._factor_short(top)
        r = self._rows(node_id)
        r = r[r["view"] == method]
        if year is not None:
            r = r[r["year"] == year]
        pv = r[r["pv"]]
        if len(pv):
            out["pv_kwh"] = float(pv["amount_pv_kwh"].sum())
        cov = self._coverage_months(node_id)
        if cov is not None and len(cov):
            if year is not None:
                cov = cov[cov["month"].dt.year == year]
            expected, present = float(cov["expected"].sum()), float(cov["present"].sum())
            out["completeness"] = present / expected if expected else None
            out["estimated_share"] = float(cov["estimated"].sum()) / present if present else None
            out["meters"] = len(self._coverage_meters(node_id))
        return Kpis(**out)

    def _factor_short(self, factor_id: str) -> str:
        f = self.factors
        if not factor_id or f.empty or factor_id not in set(f["factor_id"]):
            return factor_id
        row = f[f["factor_id"] == factor_id].iloc[0]
        value = _num(pd.Series([row.get("co2e_per_unit", "")])).iloc[0]
        unit = row.get("unit", "")
        series = row.get("series", "") or factor_id
        return f"{series} {value:.4g} {unit}" if pd.notna(value) else series

    # ---------------------------------------------------------------- trend
    def monthly(self, node_id: str, method: str = "location", by: str = "sector"
                ) -> pd.DataFrame:
        """Monthly BASIC emissions of a node split by GPC sector or scope.

        Returns
        -------
        DataFrame
            ``month`` (first day), ``group`` (sector ``I``.. or scope ``1``..), ``co2e_t``
            [t CO2e], ``estimated_share`` [dimensionless] (estimated / all readings).
        """
        node_id = self.valid_node(node_id)
        method = method if method in METHODS else "location"
        by = by if by in BREAKDOWNS else "sector"
        return self._memoised(("monthly", node_id, method, by),
                              lambda: self._monthly(node_id, method, by))

    def _monthly(self, node_id: str, method: str, by: str) -> pd.DataFrame:
        rows = self._emission_rows(node_id, method)
        col = "gpc_sector" if by == "sector" else "scope"
        g = (rows.groupby(["month", col], observed=True)[["co2e_t", "readings", "estimated"]]
             .sum().reset_index().rename(columns={col: "group"}))
        g["group"] = g["group"].astype(str)
        g["estimated_share"] = np.where(g["readings"] > 0, g["estimated"] / g["readings"], 0.0)
        return g[["month", "group", "co2e_t", "estimated_share"]].sort_values(
            ["month", "group"], ignore_index=True)

    # ---------------------------------------------------------------- map and ranking
    def _totals(self, ids: Iterable[str], method: str) -> pd.DataFrame:
        ids = list(ids)
        nodes = self.nodes.reindex(ids)
        out = pd.DataFrame({
            "node_id": ids,
            "name_zh": nodes.get("name_zh", pd.Series(ids, index=ids)).to_numpy(),
            "name_en": nodes.get("name_en", pd.Series(ids, index=ids)).to_numpy(),
            "kind": nodes.get("kind", pd.Series("", index=ids)).to_numpy(),
        })
        totals = self._year_totals.get(method, pd.Series(dtype=float))
        out["co2e_t"] = totals.reindex(ids).to_numpy(dtype=float)
        out["floor_area_m2"] = [self.floor_area.get(i, math.nan) for i in ids]
        area = out["floor_area_m2"].where(out["floor_area_m2"] > 0)
        out["intensity_kg_m2"] = out["co2e_t"] * 1000.0 / area
        return out

    def map_focus(self, node_id: str) -> str:
        """The node whose children the map draws (:func:`map_focus_of`)."""
        return map_focus_of(self.valid_node(node_id), self.children, self.parent_of,
                            self.geometry)

    def map_data(self, node_id: str, method: str = "location") -> MapData:
        """What the map draws for a selection (see :class:`MapData`)."""
        node_id = self.valid_node(node_id)
        method = method if method in METHODS else "location"
        return self._memoised(("map", node_id, method), lambda: self._map(node_id, method))

    def _map(self, node_id: str, method: str) -> MapData:
        focus = self.map_focus(node_id)
        ids = [c for c in self.children(focus) if c in self.geometry]
        items = self._totals(ids, method)
        items["geometry_type"] = [self.geometry[i].get("type", "") for i in ids]
        features = {i: self.geometry[i] for i in ids}
        for ctx in (self.root, focus):
            if ctx in self.geometry:
                features[ctx] = self.geometry[ctx]
        return MapData(node_id, focus, items, features, self.root, self.map_context,
                       self.map_approximate)

    def ranking(self, node_id: str, method: str = "location", limit: int = 10) -> pd.DataFrame:
        """The highest-emitting compounds, office buildings and street frontages under a node
        (under its parent when it has none), this year.

        Returns
        -------
        DataFrame
            ``node_id, name_zh, name_en, kind, co2e_t`` [t CO2e], ``floor_area_m2`` [m2],
            ``intensity_kg_m2`` [kg CO2e / m2], ``selected`` (bool), largest first.
        """
        node_id = self.valid_node(node_id)
        method = method if method in METHODS else "location"
        return self._memoised(("ranking", node_id, method, int(limit)),
                              lambda: self._ranking(node_id, method, int(limit)))

    def _ranking(self, node_id: str, method: str, limit: int) -> pd.DataFrame:
        def rankable(scope: str) -> list[str]:
            kinds = set(RANK_KINDS)
            if self.kind_of.get(scope) in ("compound", "building"):
                kinds.add("building")
            return [n for n in self.subtree(scope)
                    if n != scope and self.kind_of.get(n) in kinds]

        scope = node_id
        ids = rankable(scope)
        while not ids and self.parent_of.get(scope, ""):
            scope = self.parent_of[scope]
            ids = rankable(scope)
        out = self._totals(ids, method).dropna(subset=["co2e_t"])
        out = out.sort_values("co2e_t", ascending=False, ignore_index=True).head(limit)
        out["selected"] = out["node_id"].eq(node_id)
        return out

    # ---------------------------------------------------------------- interventions
    def _records(self, node_id: str, table: pd.DataFrame) -> pd.DataFrame:
        if table.empty:
            return table
        if node_id == self.root:
            return table
        return table[table["node_id"].isin(set(self.subtree(node_id)))]

    def interventions_frame(self, node_id: str) -> pd.DataFrame:
        """Intervention records under a node (``interventions.csv``), with ``realisation``
        (verified / the estimate over the same months) [dimensionless]; empty when the
        snapshot has none."""
        node_id = self.valid_node(node_id)
        recs = self._records(node_id, self.interventions).copy()
        if len(recs):
            basis = recs["verified_basis_t"]
            recs["realisation"] = recs["verified_t"] / basis.where(basis > 0)
        return recs.reset_index(drop=True)

    def macc_frame(self, node_id: str) -> pd.DataFrame:
        """Measures for a marginal abatement cost curve: scenario rows (or intervention rows)
        with an estimate and a cost, cheapest tonne first; empty when there are none.

        Returns
        -------
        DataFrame
            ``intervention_id, name_zh, name_en, abatement_t`` [t CO2e / yr] (``annual_t``
            where the table has it, else ``estimated_t``), ``cost_per_t_cny``
            [CNY / t CO2e], ``in_place``.
        """
        node_id = self.valid_node(node_id)
        table = self.scenarios if not self.scenarios.empty else self.interventions
        recs = self._records(node_id, table)
        if recs.empty:
            return recs
        recs = recs.dropna(subset=["abatement_t", "cost_per_t_cny"])
        recs = recs[recs["abatement_t"] > 0]
        return recs.sort_values("cost_per_t_cny", kind="stable", ignore_index=True)

    def suggestions(self, node_id: str, limit: int = 3) -> pd.DataFrame:
        """The interventions with the most tonnes avoided per yuan that are not yet in place
        under a node (from ``interventions.csv`` and ``scenarios.csv``; a measure already in
        place on a node, by name, is not suggested there again).

        Returns
        -------
        DataFrame
            ``intervention_id, name_zh, name_en, node_id, abatement_t`` [t CO2e / yr],
            ``cost_per_t_cny`` [CNY / t CO2e], ``t_per_10k_cny`` [t CO2e / 10^4 CNY]; at most
            ``limit`` rows, best first; empty when there are no candidates.
        """
        node_id = self.valid_node(node_id)
        frames = [self._records(node_id, t) for t in (self.interventions, self.scenarios)]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return pd.DataFrame(columns=[*_INTERVENTION_COLUMNS, "abatement_t",
                                         "t_per_10k_cny"])
        recs = pd.concat(frames, ignore_index=True)
        placed = recs[recs["in_place"]]
        done = set(zip(placed["node_id"], placed["name_en"].where(placed["name_en"] != "",
                                                                  placed["name_zh"]),
                       strict=True))
        label = recs["name_en"].where(recs["name_en"] != "", recs["name_zh"])
        already = pd.Series([(n, lab) in done for n, lab in zip(recs["node_id"], label,
                                                                 strict=True)], index=recs.index)
        recs = recs[~recs["in_place"] & ~already].dropna(subset=["cost_per_t_cny",
                                                                  "abatement_t"])
        recs = recs[recs["abatement_t"] > 0]
        recs = (recs.assign(_label=label).drop_duplicates(["node_id", "_label"])
                .drop(columns="_label"))
        recs = recs.sort_values(["cost_per_t_cny", "abatement_t"], ascending=[True, False],
                                ignore_index=True)
        cost = recs["cost_per_t_cny"]
        recs["t_per_10k_cny"] = np.where(cost > 0, 1e4 / cost.where(cost > 0), np.inf)
        return recs.head(limit)

    # ---------------------------------------------------------------- data quality
    def quality(self, node_id: str) -> dict[str, Any]:
        """The data-quality panel of a node.

        Returns
        -------
        dict
            ``monthly``: ``month, completeness`` [dimensionless] of the node's meters;
            ``gaps``: meters with missing intervals (``meter_id, node_id, missing,
            completeness``), worst first; ``rejects``: rejected rows by reason (whole
            snapshot); ``notation``: GPC rows of the node (or its block) with a notation key
            (``gpc_ref, name_zh, name_en, notation_key, explanation``); ``notation_node``: the
            node whose GPC table that is; ``warnings``: the ledger's warnings.
        """
        node_id = self.valid_node(node_id)
        return self._memoised(("quality", node_id), lambda: self._quality(node_id))

    def _quality(self, node_id: str) -> dict[str, Any]:
        cov = self._coverage_months(node_id)
        monthly = pd.DataFrame(columns=["month", "completeness"])
        gaps = pd.DataFrame(columns=["meter_id", "node_id", "missing", "completeness"])
        if cov is not None and len(cov):
            m = cov.sort_values("month")
            monthly = pd.DataFrame({
                "month": m["month"].to_numpy(),
                "completeness": (m["present"] / m["expected"].where(m["expected"] > 0))
                .to_numpy()})
            per = self._coverage_meters(node_id).reset_index()
            per["missing"] = per["expected"] - per["present"]
            per["completeness"] = per["present"] / per["expected"].where(per["expected"] > 0)
            per = per[per["missing"] > 0].sort_values(["missing", "meter_id"],
                                                      ascending=[False, True])
            per["node_id"] = per["meter_id"].map(self._node_of_meter).fillna("")
            gaps = per[["meter_id", "node_id", "missing", "completeness"]].reset_index(drop=True)
        rejects = self.rejects.copy()
        if len(rejects):
            rejects["rows"] = _num(rejects["rows"]).fillna(0).astype(int)
            rejects = (rejects.groupby("reason", as_index=False)["rows"].sum()
                       .sort_values("rows", ascending=False, ignore_index=True))
        notation_node = next((a for a in reversed(self.ancestors(node_id))
                              if a in set(self.gpc.get("node_id", pd.Series(dtype=str)))), None)
        notation = pd.DataFrame(columns=["gpc_ref", "name_zh", "name_en", "notation_key",
                                         "explanation"])
        if notation_node is not None:
            g = self.gpc[(self.gpc["node_id"] == notation_node)
                         & (self.gpc["method"] == "location") & (self.gpc["notation_key"] != "")]
            notation = g[list(notation.columns)].reset_index(drop=True)
        warnings = [w for w in self.manifest.get("warnings", []) if isinstance(w, dict)]
        return {"monthly": monthly, "gaps": gaps, "rejects": rejects, "notation": notation,
                "notation_node": notation_node, "warnings": warnings}

    # ---------------------------------------------------------------- alerts
    def alerts(self, node_id: str, limit: int = 8) -> pd.DataFrame:
        """Meters under a node that stopped reporting, have gaps in the latest month, or whose
        latest month departs from their own baseline.

        The baseline of a node's monthly activity is the same month a year earlier when the
        snapshot has it, else its median over the preceding months scaled by the seasonal
        movement shared by every node of that activity (the median ratio of the latest month
        to the preceding median across nodes), so a cold December does not alert every gas
        meter. A departure beyond :data:`ALERT_DEPARTURE` alerts.

        Returns
        -------
        DataFrame
            ``kind`` (``stopped``, ``gap``, ``high``, ``low``), ``meter_id``, ``node_id``,
            ``activity``, ``month``, ``value`` (completeness, or departure [dimensionless]),
            at most ``limit`` rows, most severe first.
        """
        node_id = self.valid_node(node_id)
        return self._memoised(("alerts", node_id, int(limit)),
                              lambda: self._alerts(node_id, int(limit)))

    def _alerts(self, node_id: str, limit: int) -> pd.DataFrame:
        cols = ["kind", "meter_id", "node_id", "activity", "month", "value", "severity"]
        out: list[dict[str, Any]] = []
        per = self._coverage_meters(node_id)
        node_of = self._node_of_meter
        if len(per):
            last = self.coverage_last
            silent = per[per["last_present"].isna() | (per["last_present"] < last)]
            for meter, seen in sorted(silent["last_present"].items()):
                since = (self.coverage_first if pd.isna(seen)
                         else seen + pd.offsets.MonthBegin(1))
                out.append({"kind": "stopped", "meter_id": meter,
                            "node_id": node_of.get(meter, ""), "activity": "",
                            "month": since, "value": 0.0, "severity": 3.0})
            low = per[(per["last_completeness"] > 0)
                      & (per["last_completeness"] < ALERT_COMPLETENESS)]
            for meter, share in sorted(low["last_completeness"].items()):
                out.append({"kind": "gap", "meter_id": meter,
                            "node_id": node_of.get(meter, ""), "activity": "",
                            "month": last, "value": float(share),
                            "severity": 2.0 + (1.0 - float(share))})
        out.extend(self._departures(node_id))
        frame = pd.DataFrame(out, columns=cols)
        return (frame.sort_values("severity", ascending=False, ignore_index=True)
                .head(limit).drop(columns="severity"))

    def _departures(self, node_id: str) -> list[dict[str, Any]]:
        departure = self._departures_all
        if departure.empty:
            return []
        last = self._series["month"].max()
        if node_id != self.root:
            under = set(self.subtree(node_id))
            departure = departure[[n in under for n in departure.index.get_level_values(0)]]
        meters = self.meter_map
        out = []
        for (nid, activity), value in departure.items():
            ids = []
            if not meters.empty:
                m = meters[meters["node_id"] == nid]
                if "activity" in m and (m["activity"] == activity).any():
                    m = m[m["activity"] == activity]
                ids = sorted(m["meter_id"])
            out.append({"kind": "high" if value > 0 else "low", "meter_id": ",".join(ids),
                        "node_id": nid, "activity": activity, "month": last,
                        "value": float(value), "severity": 1.0 + abs(float(value))})
        return out

    def _all_departures(self) -> pd.Series:
        s = self._series
        if s.empty:
            return pd.Series(dtype=float)
        last = s["month"].max()
        wide = s.pivot_table(index=["node_id", "activity"], columns="month", values="amount",
                             aggfunc="sum")
        if last not in wide.columns or wide.shape[1] < 4:
            return pd.Series(dtype=float)
        latest = wide[last]
        year_ago = last - pd.DateOffset(years=1)
        if year_ago in wide.columns:
            baseline = wide[year_ago]
        else:
            prior = wide[[c for c in wide.columns if c < last][-12:]]
            median = prior.median(axis=1)
            ratio = latest / median.where(median > 0)
            season = ratio.groupby(level="activity").transform("median")
            baseline = median * season
        departure = latest / baseline.where(baseline > 0) - 1.0
        return departure[departure.abs() > ALERT_DEPARTURE].dropna()

    # ---------------------------------------------------------------- provenance
    def provenance(self, key: str, node_id: str, method: str = "location") -> Provenance:
        """Where a number of the KPI row comes from: its factors with their sources, its
        meters, its entries and the snapshot's inputs (see :class:`Provenance`).

        Parameters
        ----------
        key : ``emissions``, ``per_capita``, ``target``, ``avoided``, ``removals``, ``pv`` or
            ``completeness``; anything else is treated as ``emissions``.
        """
        node_id = self.valid_node(node_id)
        method = method if method in METHODS else "location"
        keys = ("emissions", "per_capita", "target", "avoided", "removals", "pv",
                "completeness")
        key = key if key in keys else "emissions"
        return self._memoised(("prov", key, node_id, method),
                              lambda: self._provenance(key, node_id, method))

    def _provenance(self, key: str, node_id: str, method: str) -> Provenance:
        year = self.latest_year
        r = self._rows(node_id)
        r = r[(r["view"] == method) & (r["year"] == year)]
        if key in ("emissions", "per_capita", "target", "completeness"):
            r = r[r["kind"].isin(["emission", "adjustment"]) & r["basic"]]
        elif key == "avoided":
            r = r[r["kind"] == "avoided"]
        elif key == "removals":
            r = r[r["kind"] == "removal"]
        elif key == "pv":
            r = r[r["pv"]]
        by = (r.groupby("factor_id", observed=True)
              .agg(co2e_t=("co2e_t", "sum"), n=("n", "sum")).reset_index())
        by = by[(by["factor_id"].astype(str) != "") & (by["n"] > 0)]
        total = by["co2e_t"].sum()
        by["share"] = by["co2e_t"] / total if total else np.nan
        f = self.factors
        fcols = ["value_as_published", "co2e_per_unit", "unit", "confidence", "citation", "url"]
        if not f.empty:
            by = by.merge(f[["factor_id", *[c for c in fcols if c in f]]], on="factor_id",
                          how="left")
        by = by.sort_values("co2e_t", ascending=False, ignore_index=True)
        meters = self._meters_under(node_id)
        if key != "completeness" and "activity" in f and "activity" in meters and len(by):
            behind = set(f.loc[f["factor_id"].isin(set(by["factor_id"])), "activity"])
            meters = meters[meters["activity"].isin(behind)]
        elif key == "pv" and "activity" in meters:
            meters = meters[meters["activity"].astype(str).str.startswith("electricity.pv")]
        inputs = pd.DataFrame([
            {"file_name": i.get("file_name", ""), "kind": i.get("kind", ""),
             "sha256": str(i.get("sha256", ""))[:12]}
            for i in self.manifest.get("inputs", []) if isinstance(i, dict)],
            columns=["file_name", "kind", "sha256"])
        attributes = []
        if key == "per_capita":
            attributes.append({"name": "residents",
                               "value": self.residents.get(node_id, math.nan),
                               "estimated": self.residents_est.get(node_id, False)})
        records = (self.summary(node_id, method).avoided.interventions if key == "avoided"
                   else None)
        coverage = None
        if key == "completeness":
            cov = self._coverage_months(node_id)
            if cov is not None and len(cov):
                if year is not None:
                    cov = cov[cov["month"].dt.year == year]
                coverage = (float(cov["present"].sum()), float(cov["expected"].sum()))
        return Provenance(key, node_id, method, year, by, meters.reset_index(drop=True),
                          int(r["n"].sum()), inputs, attributes, records, coverage)


# ------------------------------------------------------------------------------ loading
def _intervention_table(path: Path) -> pd.DataFrame:
    frame = _csv(path)
    missing = [c for c in ("intervention_id", "node_id", "estimated_t") if c not in frame]
    if missing:
        raise WallDataError(f"{path}: missing columns {missing}; expected "
                            f"{', '.join(_INTERVENTION_COLUMNS)}")
    for col in _INTERVENTION_COLUMNS:
        if col not in frame:
            frame[col] = ""
    for col in ("estimated_t", "verified_t", "low_t", "high_t", "cost_per_t_cny", "annual_t",
                "realisation_rate"):
        if col in frame:
            frame[col] = _num(frame[col])
    frame["in_place"] = _bool(frame["in_place"])
    # what a measure avoids in a year (its potential, also for planned ones) [t CO2e / yr]
    annual = frame["annual_t"] if "annual_t" in frame else pd.Series(np.nan, frame.index)
    frame["abatement_t"] = annual.where(annual > 0, frame["estimated_t"])
    # the estimate a verified value is compared with: over the same months when the table
    # gives the realisation rate (carbon.mv), else the record's estimate
    rate = frame["realisation_rate"] if "realisation_rate" in frame else pd.Series(
        np.nan, frame.index)
    same_months = frame["verified_t"] / rate.where(rate > 0)
    frame["verified_basis_t"] = same_months.where(same_months.notna(), frame["estimated_t"])
    frame.loc[frame["verified_t"].isna(), "verified_basis_t"] = np.nan
    return frame


def _meter_map(path: Path, listed: set[str]) -> pd.DataFrame:
    """Meter -> node, from the snapshot's ``meters.csv`` (the twin as published)."""
    frame = _csv(path / "meters.csv") if "meters.csv" in listed else pd.DataFrame()
    if not {"meter_id", "node_id"} <= set(frame.columns):
        return pd.DataFrame(columns=["meter_id", "node_id", "activity"])
    if "activity" not in frame:
        frame["activity"] = ""
    return frame[["meter_id", "node_id", "activity"]]


def map_focus_of(node_id: str, children: Callable[[str], Sequence[str]],
                 parent_of: Mapping[str, str], drawn: Container[str]) -> str:
    """The node whose children the map draws when ``node_id`` is selected.

    The selection when it has children with geometry, else its parent; then a level with a
    single drawn child is skipped downwards (a subdistrict of one block shows the block's
    residential areas, not one shape filling the map), and a level that would still show a
    single shape is replaced by its parent, where the selection is seen among its siblings.

    Parameters
    ----------
    node_id : the selected node (valid).
    children : a node's children, in the twin's order.
    parent_of : a node's parent (``""`` for the root).
    drawn : the nodes with geometry.
    """
    def drawn_children(node: str) -> list[str]:
        return [c for c in children(node) if c in drawn]

    focus = node_id if drawn_children(node_id) else (parent_of.get(node_id, "") or node_id)
    seen = {focus}
    while len(kids := drawn_children(focus)) == 1 and drawn_children(kids[0]) \
            and kids[0] not in seen:
        focus = kids[0]
        seen.add(focus)
    parent = parent_of.get(focus, "")
    if len(drawn_children(focus)) == 1 and parent and len(drawn_children(parent)) > 1:
        focus = parent
    return focus


def load_snapshot(path: str | Path, *, verify: bool = True) -> WallSnapshot:
    """Load a published snapshot for the wall (a snapshot folder, or a snapshots folder's
    ``LATEST``).

    Parameters
    ----------
    path : the snapshot folder, or the snapshots folder holding ``LATEST``.
    verify : check every file read against the SHA-256 in ``manifest.json`` (a snapshot is
        only shown whole; DESIGN decision 8).

    Raises
    ------
    WallDataError
        When the folder is not a snapshot, a file is missing, unreadable or does not match its
        checksum.
    """
    try:
        snap = read_snapshot(path)
    except SnapshotError as exc:
        raise WallDataError(f"{exc}. Publish one with `carbon ledger build` or `carbon demo`."
                            ) from None
    folder, manifest = snap.path, snap.manifest
    listed = set(snap.outputs)
    if "entries.parquet" not in listed:
        raise WallDataError(f"{folder}/manifest.json: lists no entries.parquet")
    problems = snap.damaged() if verify else [
        f"output {n} is missing" for n in listed if not (folder / n).is_file()]
    if problems:
        raise WallDataError(f"{folder}: {problems[0]}; not shown")
    try:
        tables = _read_tables(folder, manifest, listed)
    except WallDataError:
        raise
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise WallDataError(f"{folder}: cannot read the snapshot ({type(exc).__name__}: "
                            f"{exc})") from None
    return WallSnapshot(folder, manifest, tables)


def _read_tables(folder: Path, manifest: dict[str, Any], listed: set[str]) -> dict[str, Any]:
    def optional_csv(name: str, columns: list[str]) -> pd.DataFrame:
        return _csv(folder / name) if name in listed else pd.DataFrame(columns=columns)

    entries = _read_entries(folder / "entries.parquet")
    if "nodes.csv" in listed:
        nodes = _csv(folder / "nodes.csv").set_index("id", drop=False)
    else:  # a bare snapshot: the tree from the entries' paths
        paths = entries["node_path"].unique()
        ids: dict[str, str] = {}
        for p in paths:
            parts = p.split("/")
            for i, part in enumerate(parts):
                ids.setdefault(part, parts[i - 1] if i else "")
        nodes = pd.DataFrame({"id": list(ids), "parent": list(ids.values())})
        nodes["kind"], nodes["name_zh"], nodes["name_en"] = "", nodes["id"], nodes["id"]
        nodes = nodes.set_index("id", drop=False)
    nodes["parent"] = nodes["parent"].fillna("").astype(str)
    geometry: dict[str, dict[str, Any]] = {}
    map_context: list[dict[str, Any]] = []  # streets and rivers (carbon.twin, geometry.geojson)
    map_approximate = False
    if "geometry.geojson" in listed:
        gj = json.loads((folder / "geometry.geojson").read_text(encoding="utf-8"))
        for feat in gj.get("features", []):
            props = feat.get("properties") or {}
            fid = props.get("id")
            map_approximate |= bool(props.get("approximate") or props.get("schematic"))
            if props.get("context") and feat.get("geometry"):
                map_context.append(feat)
            elif fid in nodes.index and feat.get("geometry"):
                geometry[str(fid)] = feat["geometry"]
    if "coverage.parquet" in listed:
        coverage = pq.read_table(folder / "coverage.parquet").to_pandas()
        coverage["month"] = pd.to_datetime(coverage["month"])
        for col in ("expected", "present", "estimated", "completeness"):
            coverage[col] = _num(coverage[col]).fillna(0.0).astype(float)
    else:
        coverage = pd.DataFrame(columns=["meter_id", "month", "expected", "present",
                                         "estimated", "completeness"])
    gpc = optional_csv("gpc_table.csv", ["node_id", "method", "gpc_ref", "name_zh", "name_en",
                                         "notation_key", "explanation"])
    empty_iv = pd.DataFrame(columns=list(_INTERVENTION_COLUMNS))
    return {
        "entries": entries,
        "nodes": nodes,
        "geometry": geometry,
        "map_context": tuple(map_context),
        "map_approximate": map_approximate,
        "coverage": coverage,
        "rejects": optional_csv("rejects.csv", ["batch_id", "file_name", "reason", "rows"]),
        "factors": optional_csv("factors.csv", ["factor_id"]),
        "gpc": gpc,
        "interventions": (_intervention_table(folder / "interventions.csv")
                          if "interventions.csv" in listed else empty_iv),
        "scenarios": (_intervention_table(folder / "scenarios.csv")
                      if "scenarios.csv" in listed else empty_iv),
        "meter_map": _meter_map(folder, listed),
    }


# ------------------------------------------------------------------------------ source
class SnapshotSource:
    """The snapshot the wall shows, following a snapshots folder's ``LATEST``.

    Parameters
    ----------
    path : a snapshots folder (followed) or one snapshot folder (pinned).
    cache_size : loaded snapshots kept in memory, keyed by snapshot id.
    verify : check checksums when loading (see :func:`load_snapshot`).
    retry_seconds : a snapshot that failed to load is tried again after this long [s], and
        at once when any of its files changes (a snapshot copied in file by file fails until
        it is complete).
    warm_nodes : after a snapshot is loaded, a background thread computes the views of this
        many nodes (root first, breadth first; :meth:`WallSnapshot.warm`); 0 for none.

    Notes
    -----
    :meth:`refresh` is cheap when nothing changed (it reads the few bytes of ``LATEST``); a new
    snapshot is loaded completely before :meth:`current` returns it, so a reader sees the old
    one or the new one, never a mixture. A failed load keeps the previous snapshot and records
    the problem in :attr:`problem` and its kind in :attr:`problem_kind` (``latest``: ``LATEST``
    is missing, empty or names no folder; ``failed``: the snapshot it names cannot be shown).
    """

    def __init__(self, path: str | Path, *, cache_size: int = 2, verify: bool = True,
                 retry_seconds: float = RETRY_SECONDS, warm_nodes: int = 0) -> None:
        self.path = Path(path)
        self.warm_nodes = warm_nodes
        self.verify = verify
        self.cache_size = max(1, cache_size)
        self.retry_seconds = retry_seconds
        self._cache: OrderedDict[str, WallSnapshot] = OrderedDict()
        self._current: WallSnapshot | None = None
        self._latest_name: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.problem: str | None = None
        self.problem_kind: str | None = None
        self.failed_name: str | None = None
        self._failed_at = 0.0
        self._failed_signature: tuple[Any, ...] = ()

    @property
    def pinned(self) -> bool:
        """True when the source is one snapshot folder (no ``LATEST`` to follow)."""
        return (self.path / "manifest.json").exists()

    def _target_name(self) -> str:
        if self.pinned:
            return self.path.name
        try:
            return latest_name(self.path)
        except SnapshotError as exc:
            raise WallDataError(str(exc)) from None
        except OSError as exc:
            raise WallDataError(f"{self.path}/LATEST cannot be read ({exc})") from None

    def _folder(self, name: str) -> Path:
        return self.path if self.pinned else self.path / name

    @staticmethod
    def _signature(folder: Path) -> tuple[Any, ...]:
        """Names, sizes and modification times of a folder's files (a few stat calls)."""
        try:
            return tuple(sorted((p.name, st.st_size, st.st_mtime_ns) for p in folder.iterdir()
                                if (st := p.stat())))
        except OSError:
            return ()

    def refresh(self) -> bool:
        """Load the newest published snapshot if it changed; True when the shown one changed.

        Never raises for a bad snapshot: the problem is kept in :attr:`problem` and the
        previous snapshot stays current. A snapshot that failed is retried when its files
        change or :attr:`retry_seconds` have passed.
        """
        with self._lock:
            try:
                name = self._target_name()
            except WallDataError as exc:
                self.problem, self.problem_kind = str(exc), "latest"
                return False
            if name == self._latest_name:
                if self.problem_kind == "latest":  # LATEST is back to what is shown
                    self.problem = self.problem_kind = None
                return False
            folder = self._folder(name)
            if name == self.failed_name:
                signature = self._signature(folder)
                due = time.monotonic() - self._failed_at >= self.retry_seconds
                if signature == self._failed_signature and not due:
                    return False
            try:
                snap = load_snapshot(folder, verify=self.verify)
            except Exception as exc:  # a snapshot must never take the wall down
                self._failed(name, folder, exc)
                return False
            self._cache[snap.id] = snap
            self._cache.move_to_end(snap.id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            changed = self._current is None or self._current.id != snap.id
            self._current, self._latest_name = snap, name
            self.problem = self.problem_kind = self.failed_name = None
            log.info("wall: showing snapshot %s", snap.id)
            if self.warm_nodes > 0:
                threading.Thread(target=self._warm, args=(snap,), name="wall-warm",
                                 daemon=True).start()
            return changed

    def _warm(self, snap: WallSnapshot) -> None:
        """Warm a newly shown snapshot after :data:`WARM_DELAY_SECONDS` (the first page is
        drawn first), while it is still the one shown."""
        if self._stop.wait(WARM_DELAY_SECONDS):
            return
        snap.warm(self.warm_nodes, lambda: self._current is snap and not self._stop.is_set())

    def _failed(self, name: str, folder: Path, exc: Exception) -> None:
        first = name != self.failed_name
        self.problem = str(exc) if isinstance(exc, WallDataError) else (
            f"{type(exc).__name__}: {exc}")
        self.problem_kind, self.failed_name = "failed", name
        self._failed_at = time.monotonic()
        self._failed_signature = self._signature(folder)
        if not isinstance(exc, WallDataError):
            log.error("wall: snapshot %s could not be loaded: %s: %s", name,
                      type(exc).__name__, exc)
        elif first:
            log.warning("wall: snapshot %s not shown: %s", name, exc)

    def current(self) -> WallSnapshot:
        """The snapshot to show.

        Raises
        ------
        WallDataError
            When no snapshot could be loaded yet (the message says why).
        """
        snap = self._current
        if snap is None:
            self.refresh()
            snap = self._current
        if snap is None:
            raise WallDataError(self.problem or f"{self.path}: no snapshot loaded")
        return snap

    def get(self, snapshot_id: object) -> WallSnapshot | None:
        """A loaded snapshot by id (only among those in memory; never a path)."""
        return self._cache.get(snapshot_id) if isinstance(snapshot_id, str) else None

    def watch(self, interval_s: float = 2.0) -> None:
        """Start a daemon thread that calls :meth:`refresh` every ``interval_s`` [s]."""
        if self._thread is not None or self.pinned:
            return

        def run() -> None:
            while not self._stop.wait(interval_s):
                self.refresh()

        self._thread = threading.Thread(target=run, name="wall-snapshot-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the watcher thread (if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
