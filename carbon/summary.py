"""The headline numbers of one node of a published snapshot, written once.

``carbon demo`` and ``carbon ledger build`` print them and the wall screen's KPI tiles and
interventions panel show them (DESIGN decision 11: the CLI summary and the wall tiles call the
same function). :func:`summarize` takes a snapshot (or a :class:`SummaryData` prepared from
one), a node, a calendar year and a scope-2 view and returns a :class:`Summary`:

* **Emissions of the year** by the inventory rules of :mod:`carbon.inventory`: BASIC with its
  complete / incomplete label and its Approach 1 uncertainty (IPCC 2006 Vol. 1 Ch. 3, Eq. 3.1
  and 3.2; :attr:`carbon.inventory.InventoryTotals.uncertainty_pct`), scope 2 in both views
  (location-based is the headline: GPC v1.1 ch. 6), and BASIC of the same months a year
  earlier.
* **Scope-2 detail** of the root only: the Shanghai 89号 view (上海市生态环境局,
  沪环气候〔2023〕89号) and the sensitivity of Shanghai's 0.42 kgCO2/kWh against MEE/NBS's
  0.5849 kgCO2/kWh, as the snapshot's manifest records them (:mod:`carbon.scope2` computes
  them at publication for the whole community; below the root :attr:`Summary.scope2` is None
  and :attr:`Summary.scope2_note` says why).
* **Intensities** (:func:`carbon.inventory.intensity`): per resident, per service population,
  per m2, annualised for a partial year.
* **Avoided emissions and removals** (:class:`Avoided`) from the ledger's ``avoided`` and
  ``removal`` entries of the year booked under the node (never netted into the inventory: GPC
  v1.1 ch. 4, DESIGN decision 6): the ex-ante estimate, the ex-post verified value, and the
  **realisation rate** = verified / the estimate *of the same interventions and months*
  (a verified value is never compared with months it does not cover). A rate above 100 % is
  flagged (:attr:`Avoided.verified_exceeds_estimate`): the measured saving is larger than the
  model said, which is news, not a success to colour green. Credits reported beside the
  inventory (:mod:`carbon.credits`, notes ``credit ...``) are no intervention's saving and are
  left out.
* **Why there is nothing**: :attr:`Avoided.none` names the reason (:data:`NONE_REASONS`), so a
  face never says "none in this snapshot" where only this node has none.
* **The target** (root only): progress towards the manifest's target, comparing BASIC of the
  year with BASIC of the same months of the base year.

The per-intervention rows (:attr:`Avoided.interventions`) add up to the totals, so a panel that
draws them and a tile that shows the totals cannot disagree.

References
----------
WRI, C40 and ICLEI, *GPC* v1.1 (2021), ch. 4 (BASIC; avoided emissions reported apart) and
ch. 6 (scope 2); docs/research/gpc.md §1.2, §5. IPCC, *2006 Guidelines*, Vol. 1 Ch. 3,
Approach 1; docs/research/uncertainty.md §3. 上海市生态环境局, 沪环气候〔2023〕89号;
docs/research/gpc.md §4.1.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbon.errors import CarbonError
from carbon.inventory import (
    Intensity,
    InventoryContext,
    InventoryError,
    InventoryTotals,
    intensity,
    inventory_totals,
)
from carbon.snapshot import Snapshot, load_snapshot

__all__ = [
    "METHODS",
    "NONE_REASONS",
    "SUMMARY_ENTRY_COLUMNS",
    "Avoided",
    "Memo",
    "Scope2Detail",
    "Summary",
    "SummaryData",
    "SummaryError",
    "Target",
    "freeze",
    "summarize",
    "thaw",
]

METHODS = ("location", "market")
"""Scope-2 views (GPC v1.1 ch. 6; location-based is the headline)."""

NONE_REASONS: dict[str, str] = {
    "none_in_snapshot": "the snapshot holds no intervention results at all",
    "none_at_node": "no intervention is registered or booked at this node or below it",
    "planned_only": "the interventions at this node are planned, not yet in place",
    "none_in_year": "the interventions at this node have no entries in this year",
}
"""Why :class:`Avoided` holds no result, by key (a face translates the key)."""

SUMMARY_ENTRY_COLUMNS = (
    "kind", "period_start", "node_id", "node_path", "gpc_ref", "method", "activity",
    "factor_id", "co2_kg", "ch4_kg", "n2o_kg", "co2e_kg", "dq_activity", "dq_factor",
    "completeness", "meters", "notes",
)
"""The entry columns a summary reads (the inventory rules need the gases and DQ grades)."""

_INVENTORY_KINDS = ("emission", "adjustment", "memo")
_INTERVENTION = re.compile(r"intervention=([^\s,]+)")
_EX_POST = re.compile(r"\bex_post\b")
_RECORD_COLUMNS = ("intervention_id", "name_zh", "name_en", "node_id", "kind", "status",
                   "in_place", "estimated_t", "low_t", "high_t", "cost_per_t_cny", "annual_t",
                   "verified_t", "realisation_rate", "removal_t")
_RECORD_NUMBERS = ("estimated_t", "low_t", "high_t", "cost_per_t_cny", "annual_t", "verified_t",
                   "realisation_rate", "removal_t")
_MEMO_SIZE = 2048
UNATTRIBUTED = "(unattributed)"
"""The intervention id of an avoided or removal entry whose notes name none."""


class SummaryError(CarbonError, ValueError):
    """A summary that cannot be made (a year the snapshot does not cover, a bad view)."""


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Scope2Detail:
    """The scope-2 views of the community in one year, as the manifest records them.

    Attributes
    ----------
    year : the calendar year.
    location_t, market_t : scope 2 location-based (the headline) and market-based [t CO2e].
    shanghai_t : the Shanghai 89号 view [t CO2e] (沪环气候〔2023〕89号: qualifying green power
        at 0); ``zero_rated_kwh`` [kWh] is the green power it zero-rates.
    rule : the notice behind the Shanghai view.
    grid_kwh : location-based grid electricity [kWh].
    headline_factor_id, headline_kg_per_kwh : the headline grid factor (Shanghai's 0.42
        [kg CO2 / kWh], 沪环气〔2022〕34号) and ``headline_t`` [t CO2] of the grid kWh with it.
    alternative_factor_id, alternative_kg_per_kwh, alternative_t : the same with MEE/NBS's
        provincial factor (0.5849 [kg CO2 / kWh]).
    change_pct : how much grid scope 2 would change with the alternative [%].
    """

    year: int
    location_t: float | None
    market_t: float | None
    shanghai_t: float | None
    zero_rated_kwh: float | None
    rule: str
    grid_kwh: float | None
    headline_factor_id: str
    headline_kg_per_kwh: float | None
    headline_t: float | None
    alternative_factor_id: str
    alternative_kg_per_kwh: float | None
    alternative_t: float | None
    change_pct: float | None


@dataclass(frozen=True)
class Avoided:
    """Avoided emissions and removals of interventions under one node in one year.

    Attributes
    ----------
    year : the calendar year.
    period : ``year`` (from the ledger's entries of the year) or ``snapshot`` (a snapshot
        whose ledger holds no avoided or removal entries at all: the figures of
        ``interventions.csv``, over the snapshot's whole period).
    method : the scope-2 view the avoided entries are read in (the ledger books the savings
        of electricity in the location view; a market view without avoided entries of its own
        reads those).
    estimated_t : ex-ante estimate [t CO2e]; None when there are no avoided entries.
    verified_t : ex-post verified (M&V, :mod:`carbon.mv`) [t CO2e]; None when none is
        verified.
    compared_estimated_t : the ex-ante estimate of the same interventions and months as the
        verified value [t CO2e].
    realisation : verified_t / compared_estimated_t [dimensionless]; None when nothing is
        verified or the compared estimate is not positive.
    low_t, high_t : the range of the estimate [t CO2e]: each intervention's published range
        (``interventions.csv``, over the snapshot's period) scaled to its estimate of the year;
        an intervention without a range adds its estimate to both ends.
    removals_t : removals by green space, as a positive number [t CO2e]; None when there are
        no removal entries.
    interventions : one row per intervention with entries or a record under the node:
        ``intervention_id, name_zh, name_en, kind, status, in_place, node_id, estimated_t,
        verified_t, verified_basis_t`` (the compared estimate), ``realisation, low_t, high_t,
        removal_t`` [t CO2e] and ``cost_per_t_cny`` [CNY / t CO2e]; the avoided columns add
        up to the totals above.
    planned : interventions under the node that are not yet in place.
    none : why there is no result (a key of :data:`NONE_REASONS`), or None.
    """

    year: int | None
    method: str
    period: str = "year"
    estimated_t: float | None = None
    verified_t: float | None = None
    compared_estimated_t: float | None = None
    realisation: float | None = None
    low_t: float | None = None
    high_t: float | None = None
    removals_t: float | None = None
    interventions: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    planned: int = 0
    none: str | None = None

    @property
    def verified_exceeds_estimate(self) -> bool:
        """True when the verified value is larger than the estimate it is compared with."""
        return self.realisation is not None and self.realisation > 1.0


@dataclass(frozen=True)
class Target:
    """Progress towards the community's target (the manifest's ``target``; root only).

    Attributes
    ----------
    base_year, target_year : the years of the target.
    reduction : the reduction aimed at, as a share of the base year [dimensionless].
    basis : where the target comes from (``ASSUMPTION ...`` when it is assumed).
    base_t : BASIC of the base year over the months the summary's year has [t CO2e]; None when
        the snapshot lacks the base year (then the manifest's ``base_t`` is used, annualised).
    current_t : BASIC of the summary's year over the same months [t CO2e].
    change : current_t / base_t - 1 [dimensionless] (negative is a cut).
    progress : the share of the targeted cut achieved, (base - current) / (base x reduction)
        [dimensionless]; negative when emissions rose.
    """

    base_year: int
    target_year: int | None
    reduction: float
    basis: str
    base_t: float | None = None
    current_t: float | None = None
    change: float | None = None
    progress: float | None = None

    @property
    def assumed(self) -> bool:
        """True when the target is an assumption (its basis says so)."""
        return "ASSUMPTION" in self.basis.upper()


@dataclass(frozen=True)
class Summary:
    """The headline numbers of one node in one year and scope-2 view.

    Attributes
    ----------
    snapshot_id : the snapshot.
    node_id, root : the node summarised and the root of the twin.
    year : the calendar year (default: the latest with entries); None for an empty snapshot.
    years : the calendar years of the snapshot's inventory (emission, adjustment and memo
        entries; ex-post savings may reach back before the ledger's period).
    months : months of ``year`` with inventory entries in the snapshot [month].
    method : the scope-2 view of ``totals`` and ``intensity``.
    totals : GPC totals of the year in ``method`` (:class:`carbon.inventory.InventoryTotals`:
        ``basic_t``, ``complete``, ``incomplete_rows``, ``uncertainty_pct``...).
    scope2_t : scope 2 of the node in each view, ``{"location": .., "market": ..}`` [t CO2e]:
        ``method``'s from ``totals``; the other view's at the root (the manifest records it),
        None below the root (ask the summary of the other view: it costs a second pass of the
        inventory rules, which a tile does not need).
    last_year : ``year - 1`` when the snapshot has it; ``last_year_t``: its BASIC over the
        months ``year`` has [t CO2e]; ``change`` = BASIC / last_year_t - 1 [dimensionless].
    intensity : annual intensities (:class:`carbon.inventory.Intensity`).
    scope2 : the scope-2 views of the community (root only, else None).
    scope2_note : why ``scope2`` is None (``root_only``, ``not_recorded``), or "".
    avoided : avoided emissions and removals (:class:`Avoided`).
    target : progress towards the target (root only, when the manifest has one).
    problems : why a part could not be computed (e.g. an entry breaking an inventory rule).
    """

    snapshot_id: str
    node_id: str
    root: str
    year: int | None
    years: tuple[int, ...]
    months: int
    method: str
    totals: InventoryTotals | None
    scope2_t: dict[str, float | None]
    last_year: int | None
    last_year_t: float | None
    change: float | None
    intensity: Intensity | None
    scope2: Scope2Detail | None
    scope2_note: str
    avoided: Avoided
    target: Target | None
    problems: tuple[str, ...] = ()

    @property
    def basic_t(self) -> float | None:
        """BASIC of the year [t CO2e] (rows keyed NE add nothing)."""
        return None if self.totals is None else self.totals.basic_t

    @property
    def basic_label(self) -> str:
        """``BASIC`` or ``BASIC (incomplete)``."""
        return "BASIC" if self.totals is None else self.totals.label


# ------------------------------------------------------------------------------ data
@dataclass(frozen=True)
class _FrozenFrame:
    """A frame's columns as arrays, outside pandas' bookkeeping (see :func:`freeze`)."""

    columns: tuple[Any, ...]
    arrays: tuple[Any, ...]
    index: Any
    index_name: Any
    series_name: Any = None
    is_series: bool = False


def _frozen_index(index: pd.Index) -> Any:
    if isinstance(index, pd.RangeIndex):
        return ("range", index.start, index.stop, index.step)
    return ("values", index.array.copy())


def _thawed_index(frozen: Any, name: Any) -> pd.Index:
    if frozen[0] == "range":
        return pd.RangeIndex(frozen[1], frozen[2], frozen[3], name=name)
    return pd.Index(frozen[1], name=name, copy=True)


def freeze(value: Any) -> Any:
    """``value`` with every pandas frame and series in it (also inside dicts and dataclasses)
    stored as plain arrays; :func:`thaw` rebuilds them. Other values are kept as they are.

    A memo that keeps pandas frames and hands them (or copies of them) out grows without bound
    in a long-running server: every view or copy taken of a long-lived frame leaves a weak
    reference in its blocks and index (pandas copy-on-write bookkeeping), and pandas drops them
    only after hundreds have piled up, per block and per index. Arrays outside a frame carry no
    such list, so a memo of frozen values stays the size of its data (benchmarks/RESULTS.md,
    the wall soak)."""
    if isinstance(value, pd.DataFrame):
        return _FrozenFrame(tuple(value.columns),
                            tuple(value.iloc[:, i].array.copy()
                                  for i in range(value.shape[1])),
                            _frozen_index(value.index), value.index.name)
    if isinstance(value, pd.Series):
        return _FrozenFrame((), (value.array.copy(),), _frozen_index(value.index),
                            value.index.name, value.name, True)
    if isinstance(value, dict):
        return {k: freeze(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type | _FrozenFrame):
        return _replace_fields(value, freeze)
    return value


def thaw(value: Any) -> Any:
    """The frames of a :func:`freeze` d value, rebuilt (fresh copies on every call)."""
    if isinstance(value, _FrozenFrame):
        index = _thawed_index(value.index, value.index_name)
        if value.is_series:
            return pd.Series(value.arrays[0], index=index, name=value.series_name, copy=True)
        frame = pd.DataFrame({i: a for i, a in enumerate(value.arrays)}, index=index, copy=True)
        frame.columns = pd.Index(value.columns) if value.columns else frame.columns[:0]
        return frame
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _replace_fields(value, thaw)
    return value


def _replace_fields(value: Any, how: Callable[[Any], Any]) -> Any:
    changes = {}
    for f in dataclasses.fields(value):
        if not f.init:
            continue
        old = getattr(value, f.name)
        new = how(old)
        if new is not old:
            changes[f.name] = new
    return dataclasses.replace(value, **changes) if changes else value


class Memo:
    """A bounded, thread-safe memo of query results over one immutable snapshot.

    Values are kept frozen (:func:`freeze`) and handed out thawed, so a long-running server's
    memory stays the size of the data; the least recently used are dropped past ``size``. A
    key asked by several threads at once is computed once (the others wait for it), and at
    most ``concurrency`` computations run at a time, however many request threads ask: each
    holds a pass over the snapshot's entries in memory, and on a two-core machine more of them
    only queue for the interpreter lock (benchmarks/RESULTS.md, the wall under load).

    Parameters
    ----------
    size : results kept.
    concurrency : computations running at once (a computation that asks the memo for another
        key runs that one inside its own turn).
    """

    def __init__(self, size: int, concurrency: int = 2) -> None:
        self.size = size
        self._data: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._pending: dict[tuple[Any, ...], threading.Event] = {}
        self._lock = threading.Lock()
        self._gate = threading.BoundedSemaphore(max(1, concurrency))
        self._local = threading.local()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """The result for ``key``, from ``build()`` the first time."""
        while True:
            with self._lock:
                if key in self._data:
                    self._data.move_to_end(key)
                    return thaw(self._data[key])
                pending = self._pending.get(key)
                if pending is None:
                    self._pending[key] = threading.Event()
                    break
            pending.wait()  # another thread computes it; then it is in _data (or failed)
        try:
            depth = getattr(self._local, "depth", 0)
            if depth == 0:
                self._gate.acquire()
            self._local.depth = depth + 1
            try:
                value = freeze(build())
            finally:
                self._local.depth = depth
                if depth == 0:
                    self._gate.release()
            with self._lock:
                self._data[key] = value
                while len(self._data) > self.size:
                    self._data.popitem(last=False)
        finally:
            with self._lock:
                self._pending.pop(key).set()
        return thaw(value)


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("float64")


def _records(frame: pd.DataFrame | None) -> pd.DataFrame:
    """``interventions.csv`` with numbers as floats and ``in_place`` as bool."""
    if frame is None or frame.empty or "intervention_id" not in frame:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _RECORD_COLUMNS})
    out = frame.copy()
    for col in _RECORD_COLUMNS:
        if col not in out:
            out[col] = np.nan if col in _RECORD_NUMBERS else ""
    for col in _RECORD_NUMBERS:
        out[col] = _num(out[col])
    place = out["in_place"].astype(str).str.strip().str.lower()
    out["in_place"] = place.isin(["true", "1", "yes", "y"])
    for col in ("intervention_id", "name_zh", "name_en", "node_id", "kind", "status"):
        out[col] = out[col].fillna("").astype(str)
    return out.drop_duplicates("intervention_id").reset_index(drop=True)


class SummaryData:
    """A snapshot read once for summaries of any node, year and view.

    Build it with :meth:`of` (a snapshot or its folder) or :meth:`from_frames` (frames already
    read, as the wall screen has them). Summaries are memoised (a snapshot never changes), at
    most a bounded number of them; the object is safe to share between threads.

    Parameters
    ----------
    snapshot_id : the snapshot's id.
    entries : ledger entries (DECIMAL or float amounts) with at least
        :data:`SUMMARY_ENTRY_COLUMNS`.
    nodes : the twin's nodes (``nodes.csv``: ``id, parent, kind`` and attribute columns).
    manifest : the snapshot's manifest (``params``, ``scope2``, ``totals_t``, ``target``).
    meters : the twin's meters (``meters.csv``), or None.
    interventions : the snapshot's ``interventions.csv``, or None.
    """

    def __init__(self, snapshot_id: str, entries: pd.DataFrame, nodes: pd.DataFrame,
                 manifest: dict[str, Any], meters: pd.DataFrame | None = None,
                 interventions: pd.DataFrame | None = None) -> None:
        self.snapshot_id = snapshot_id
        self.manifest = manifest
        self.context = InventoryContext.from_frames(nodes, meters, manifest.get("boundary"))
        self.root = self.context.root
        self.ne_threshold = float((manifest.get("params") or {}).get("ne_threshold", 0.5))
        self.records = _records(interventions)
        children: dict[str, list[str]] = {}
        for nid, parent in self.context.nodes["parent"].items():
            if parent:
                children.setdefault(str(parent), []).append(str(nid))
        self._children = children
        cols = [c for c in SUMMARY_ENTRY_COLUMNS if c in entries.columns]
        e = entries[cols].reset_index(drop=True)
        start = pd.to_datetime(e["period_start"])
        year = start.dt.year.to_numpy()
        inventory = e["kind"].isin(_INVENTORY_KINDS).to_numpy()
        # the inventory's calendar years (verified savings may reach back before them)
        self.years: tuple[int, ...] = tuple(sorted(int(y) for y in np.unique(
            year[inventory] if inventory.any() else year)))
        self._months: dict[int, list[int]] = {
            y: sorted(int(m) for m in np.unique(start.dt.month.to_numpy()[
                (year == y) & (inventory if inventory.any() else True)]))
            for y in self.years}
        # entries per node (every ancestor on the path), for the inventory rules
        self._entries = e[inventory].reset_index(drop=True)
        self._node_rows = self._index(self._entries)
        self._savings = self._savings_frame(e[~inventory], start[~inventory])
        self._saving_rows = self._index(self._savings)
        self._memo = Memo(_MEMO_SIZE)

    def __repr__(self) -> str:
        return f"SummaryData({self.snapshot_id!r}, {len(self.context.nodes)} nodes)"

    @classmethod
    def of(cls, snapshot: Snapshot | str | Path) -> SummaryData:
        """Read a published snapshot (or its folder, or a snapshots folder's ``LATEST``)."""
        snap = snapshot if isinstance(snapshot, Snapshot) else load_snapshot(snapshot)
        entries = snap.entries()
        meters = snap.table("meters") if snap.has("meters.csv") else None
        records = snap.table("interventions") if snap.has("interventions.csv") else None
        if snap.has("nodes.csv"):
            nodes = snap.table("nodes")
        else:
            raise SummaryError(f"{snap.path}: the snapshot lists no nodes.csv; a summary needs "
                               "the twin's nodes (republish it with this release)")
        return cls(snap.id, entries, nodes, snap.manifest, meters, records)

    @staticmethod
    def _index(e: pd.DataFrame) -> dict[str, np.ndarray]:
        """Row positions of the entries under each node (the node on its own path)."""
        if e.empty:
            return {}
        paths = pd.DataFrame({"node_path": e["node_path"].astype(str).to_numpy(),
                              "row": np.arange(len(e))})
        paths["anc"] = paths["node_path"].str.split("/")
        paths = paths.explode("anc")
        return {str(k): np.sort(paths["row"].to_numpy()[v].astype(np.int64))
                for k, v in paths.groupby("anc").indices.items()}

    @staticmethod
    def _savings_frame(e: pd.DataFrame, start: pd.Series) -> pd.DataFrame:
        """Avoided and removal entries of interventions as floats with their basis."""
        e = e[e["kind"].isin(["avoided", "removal"])]
        notes = e["notes"].fillna("").astype(str) if "notes" in e else pd.Series(
            "", index=e.index, dtype=str)
        keep = ~notes.str.startswith("credit ")  # carbon.credits: beside the inventory
        e, notes = e[keep], notes[keep]
        return pd.DataFrame({
            "kind": e["kind"].astype(str).to_numpy(),
            "month": start[e.index].dt.to_period("M").dt.to_timestamp().to_numpy(),
            "year": start[e.index].dt.year.to_numpy(),
            "node_id": e["node_id"].astype(str).to_numpy(),
            "node_path": e["node_path"].astype(str).to_numpy(),
            "method": e["method"].fillna("n/a").astype(str).to_numpy(),
            "intervention_id": notes.str.extract(_INTERVENTION, expand=False)
            .fillna(UNATTRIBUTED).to_numpy(),
            "ex_post": notes.str.contains(_EX_POST).to_numpy(),
            "co2e_t": pd.to_numeric(e["co2e_kg"], errors="coerce").astype("float64")
            .fillna(0.0).to_numpy() / 1000.0,
        })

    # ---------------------------------------------------------------- helpers
    def subtree(self, node_id: str) -> list[str]:
        """The node and every node below it."""
        out, stack = [], [node_id]
        while stack:
            nid = stack.pop()
            out.append(nid)
            stack.extend(self._children.get(nid, []))
        return out

    def memoised(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """``build()`` once per key (:class:`Memo`: bounded, frozen, single flight)."""
        return self._memo.get(key, build)

    def entries_under(self, node_id: str) -> pd.DataFrame:
        """Inventory entries of the node and below it."""
        if node_id == self.root:
            return self._entries
        rows = self._node_rows.get(node_id)
        return self._entries.iloc[rows] if rows is not None else self._entries.iloc[0:0]

    def _totals(self, node_id: str, year: int, method: str,
                months: tuple[int, ...] | None = None) -> InventoryTotals:
        def build() -> InventoryTotals:
            e = self.entries_under(node_id)
            if months is not None:
                e = e[pd.to_datetime(e["period_start"]).dt.month.isin(months)]
            return inventory_totals(e, self.context, year, method, node_id, self.ne_threshold)

        return self.memoised(("totals", node_id, year, method, months), build)

    # ---------------------------------------------------------------- the summary
    def summary(self, node_id: str | None = None, year: int | None = None,
                method: str = "location") -> Summary:
        """See :func:`summarize`."""
        if method not in METHODS:
            raise SummaryError(f"method must be 'location' or 'market', not {method!r}")
        node = self.context.check_node(node_id)
        if year is None:
            year = self.years[-1] if self.years else None
        elif int(year) not in self.years:
            covered = ", ".join(map(str, self.years)) or "no year"
            raise SummaryError(f"snapshot {self.snapshot_id} has no entries in {year}; it "
                               f"covers {covered}")
        y = None if year is None else int(year)
        return self.memoised(("summary", node, y, method),
                             lambda: self._summary(node, y, method))

    def _summary(self, node: str, year: int | None, method: str) -> Summary:
        problems: list[str] = []
        totals = None
        scope2: dict[str, float | None] = {m: None for m in METHODS}
        last_year = last_t = change = None
        inten = None
        months = self._months.get(year, []) if year is not None else []
        if year is not None:
            try:
                totals = self._totals(node, year, method)
                scope2[method] = totals.scope2_t
                if node == self.root:  # the other view, as published for the whole community
                    recorded = ((self.manifest.get("totals_t") or {}).get(str(year)) or {})
                    for m in METHODS:
                        if m != method and recorded.get(f"scope2_{m}") is not None:
                            scope2[m] = float(recorded[f"scope2_{m}"])
                inten = self.memoised(("intensity", node, year, method), lambda: intensity(
                    self.entries_under(node), self.context, year, method, node,
                    self.ne_threshold))
                if year - 1 in self.years:
                    last_year = year - 1
                    last_t = self._totals(node, year - 1, method, tuple(months)).basic_t
                    if last_t:
                        change = totals.basic_t / last_t - 1.0
            except InventoryError as exc:
                problems.append(str(exc))
        detail, note = self._scope2(node, year)
        return Summary(
            snapshot_id=self.snapshot_id, node_id=node, root=self.root, year=year,
            years=self.years, months=len(months), method=method, totals=totals,
            scope2_t=scope2, last_year=last_year, last_year_t=last_t, change=change,
            intensity=inten, scope2=detail, scope2_note=note,
            avoided=self._avoided(node, year, method),
            target=self._target(node, year, method, months, problems),
            problems=tuple(problems))

    def _scope2(self, node: str, year: int | None) -> tuple[Scope2Detail | None, str]:
        if node != self.root:
            return None, "root_only"
        views = (self.manifest.get("scope2") or {}).get(str(year))
        totals = (self.manifest.get("totals_t") or {}).get(str(year)) or {}
        if not isinstance(views, dict) or year is None:
            return None, "not_recorded"
        sh = views.get("shanghai_89") or {}
        fs = views.get("factor_sensitivity") or {}

        def f(d: dict[str, Any], key: str) -> float | None:
            v = d.get(key)
            return None if v is None else float(v)

        return Scope2Detail(
            year=year, location_t=f(totals, "scope2_location"),
            market_t=f(totals, "scope2_market"), shanghai_t=f(sh, "shanghai_t"),
            zero_rated_kwh=f(sh, "zero_rated_kwh"), rule=str(sh.get("rule", "")),
            grid_kwh=f(fs, "grid_kwh"), headline_factor_id=str(fs.get("headline_factor_id", "")),
            headline_kg_per_kwh=f(fs, "headline_kg_per_kwh"), headline_t=f(fs, "headline_t"),
            alternative_factor_id=str(fs.get("alternative_factor_id", "")),
            alternative_kg_per_kwh=f(fs, "alternative_kg_per_kwh"),
            alternative_t=f(fs, "alternative_t"), change_pct=f(fs, "change_pct")), ""

    def _target(self, node: str, year: int | None, method: str, months: list[int],
                problems: list[str]) -> Target | None:
        target = self.manifest.get("target")
        if node != self.root or not isinstance(target, dict) or year is None:
            return None
        try:
            base_year, reduction = int(target["base_year"]), float(target["reduction"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"the manifest's target is not usable: {target!r}")
            return None
        ty = target.get("target_year")
        out = Target(base_year=base_year, target_year=None if ty is None else int(ty),
                     reduction=reduction, basis=str(target.get("basis", "")))
        try:
            current = self._totals(node, year, method).basic_t
            if base_year in self.years:
                base: float | None = self._totals(node, base_year, method,
                                                  tuple(months)).basic_t
            elif target.get("base_t") is not None:  # annual: compare a year's worth
                base = float(target["base_t"]) * len(months) / 12.0
            else:
                base = None
        except InventoryError as exc:
            problems.append(str(exc))
            return out
        if base is None or base <= 0:
            return Target(**{**out.__dict__, "current_t": current})
        progress = (base - current) / (base * reduction) if reduction > 0 else None
        return Target(**{**out.__dict__, "base_t": base, "current_t": current,
                         "change": current / base - 1.0, "progress": progress})

    def _avoided(self, node: str, year: int | None, method: str) -> Avoided:
        memo = self._savings
        rows = self._saving_rows.get(node) if node != self.root else None
        under = memo if node == self.root else (
            memo.iloc[rows] if rows is not None else memo.iloc[0:0])
        nodes = set(self.subtree(node))
        records = self.records[self.records["node_id"].isin(nodes)]
        if memo.empty and self.records.empty:
            return Avoided(year, method, none="none_in_snapshot")
        ids = set(records["intervention_id"]) | set(under["intervention_id"])
        planned = int((~records["in_place"]).sum()) if len(records) else 0
        if not ids and under.empty:
            return Avoided(year, method, none="none_at_node")
        if memo.empty:
            return self._avoided_records(records, year, method, planned)
        # the view: the avoided entries of `method`, else the location view's (n/a always)
        view = method if (memo["method"] == method).any() else "location"
        e = under[(under["year"] == year) & under["method"].isin([view, "n/a"])]
        if e.empty:
            reason = ("planned_only" if len(records) and not records["in_place"].any()
                      and under.empty else "none_in_year")
            frame = self._intervention_rows(records, e)
            return Avoided(year, view, interventions=frame, planned=planned, none=reason)
        frame = self._intervention_rows(records, e)
        avoided = e[e["kind"] == "avoided"]
        removal = e[e["kind"] == "removal"]
        est = avoided.loc[~avoided["ex_post"], "co2e_t"]
        ver = avoided.loc[avoided["ex_post"], "co2e_t"]
        compared = frame["verified_basis_t"].sum(min_count=1)
        realisation = None
        if len(ver) and pd.notna(compared) and compared > 0:
            realisation = float(ver.sum()) / float(compared)
        low, high = frame["low_t"].sum(min_count=1), frame["high_t"].sum(min_count=1)
        return Avoided(
            year=year, method=view,
            estimated_t=float(est.sum()) if len(avoided) else None,
            verified_t=float(ver.sum()) if len(ver) else None,
            compared_estimated_t=float(compared) if len(ver) and pd.notna(compared) else None,
            realisation=realisation,
            low_t=float(low) if len(avoided) and pd.notna(low) else None,
            high_t=float(high) if len(avoided) and pd.notna(high) else None,
            removals_t=abs(float(removal["co2e_t"].sum())) if len(removal) else None,
            interventions=frame, planned=planned, none=None)

    def _avoided_records(self, records: pd.DataFrame, year: int | None, method: str,
                         planned: int) -> Avoided:
        """Avoided figures of ``interventions.csv`` alone (a ledger without avoided entries),
        over the snapshot's period; in-place records only."""
        placed = records[records["in_place"]]
        if placed.empty:
            return Avoided(year, method, "snapshot", planned=planned, none="planned_only")
        frame = placed[["intervention_id", "name_zh", "name_en", "kind", "status", "node_id",
                        "in_place", "estimated_t", "verified_t", "low_t", "high_t",
                        "removal_t", "cost_per_t_cny"]].reset_index(drop=True)
        rate = placed["realisation_rate"].to_numpy(dtype="float64")
        ver = frame["verified_t"].to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            same = np.where(rate > 0, ver / rate, frame["estimated_t"].to_numpy("float64"))
        frame["verified_basis_t"] = np.where(np.isnan(ver), np.nan, same)
        basis = frame["verified_basis_t"]
        frame["realisation"] = frame["verified_t"] / basis.where(basis > 0)

        def total(col: str) -> float | None:
            v = frame[col].sum(min_count=1)
            return None if pd.isna(v) else float(v)

        compared, verified = total("verified_basis_t"), total("verified_t")
        realisation = (verified / compared if verified is not None and compared else None)
        removals = total("removal_t")
        return Avoided(year, method, "snapshot", estimated_t=total("estimated_t"),
                       verified_t=verified, compared_estimated_t=compared,
                       realisation=realisation, low_t=total("low_t"), high_t=total("high_t"),
                       removals_t=removals or None, interventions=frame, planned=planned)

    def _intervention_rows(self, records: pd.DataFrame, e: pd.DataFrame) -> pd.DataFrame:
        """One row per intervention: the year's entries under the node, with the record's
        names, status, range and cost."""
        avoided = e[e["kind"] == "avoided"]
        est = avoided[~avoided["ex_post"]]
        ver = avoided[avoided["ex_post"]]
        est_by = est.groupby("intervention_id")["co2e_t"].sum()
        ver_by = ver.groupby("intervention_id")["co2e_t"].sum()
        # the estimate of the months that were verified, intervention by intervention
        keys = ver[["intervention_id", "month"]].drop_duplicates()
        same = est.merge(keys, on=["intervention_id", "month"])
        basis_by = same.groupby("intervention_id")["co2e_t"].sum()
        removal_by = e[e["kind"] == "removal"].groupby("intervention_id")["co2e_t"].sum().abs()
        ids = list(dict.fromkeys([*e["intervention_id"], *records["intervention_id"]]))
        rec = self.records.set_index("intervention_id")
        out = pd.DataFrame({"intervention_id": ids})
        for col in ("name_zh", "name_en", "kind", "status", "node_id"):
            out[col] = [str(rec.at[i, col]) if i in rec.index else i if col.startswith("name")
                        else "" for i in ids]
        out["in_place"] = [bool(rec.at[i, "in_place"]) if i in rec.index else True for i in ids]
        has_est = set(est["intervention_id"])
        out["estimated_t"] = [float(est_by[i]) if i in has_est else np.nan for i in ids]
        out["verified_t"] = [float(ver_by[i]) if i in ver_by.index else np.nan for i in ids]
        out["verified_basis_t"] = [float(basis_by.get(i, 0.0)) if i in ver_by.index else np.nan
                                   for i in ids]
        basis = out["verified_basis_t"]
        out["realisation"] = out["verified_t"] / basis.where(basis > 0)
        period = np.array([rec.at[i, "estimated_t"] if i in rec.index else np.nan for i in ids],
                          dtype="float64")
        low = np.array([rec.at[i, "low_t"] if i in rec.index else np.nan for i in ids],
                       dtype="float64")
        high = np.array([rec.at[i, "high_t"] if i in rec.index else np.nan for i in ids],
                        dtype="float64")
        est_arr = out["estimated_t"].to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            ranged = (period > 0) & ~np.isnan(low) & ~np.isnan(high)
            out["low_t"] = np.where(ranged, low / period * est_arr, est_arr)
            out["high_t"] = np.where(ranged, high / period * est_arr, est_arr)
        out["removal_t"] = [float(removal_by[i]) if i in removal_by.index else np.nan
                            for i in ids]
        out["cost_per_t_cny"] = [rec.at[i, "cost_per_t_cny"] if i in rec.index else np.nan
                                 for i in ids]
        return out


def summarize(source: SummaryData | Snapshot | str | Path, node_id: str | None = None,
              year: int | None = None, method: str = "location") -> Summary:
    """The headline numbers of a node of a published snapshot (see :class:`Summary`).

    Parameters
    ----------
    source : a :class:`SummaryData` (prepared once, fast for many calls), a
        :class:`carbon.snapshot.Snapshot`, or a snapshot folder (or a snapshots folder's
        ``LATEST``).
    node_id : the node; default the root.
    year : the calendar year; default the latest with entries.
    method : the scope-2 view of the totals and intensities, ``location`` (the headline) or
        ``market``.

    Returns
    -------
    Summary

    Raises
    ------
    SummaryError
        For a year the snapshot does not cover or an unknown view.
    carbon.inventory.InventoryError
        For a node the twin does not have (the message lists close ids).

    Examples
    --------
    >>> s = summarize("demo/snapshots")                       # doctest: +SKIP
    >>> s.totals.basic_t, s.totals.uncertainty_pct, s.avoided.realisation  # doctest: +SKIP
    """
    data = source if isinstance(source, SummaryData) else SummaryData.of(source)
    return data.summary(node_id, year, method)
