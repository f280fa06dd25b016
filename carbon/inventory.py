"""GPC inventory rules, written once: the table of a calendar year, its totals, memo items and
intensities.

Every face (the CLI summary, the wall screen, the snapshot's ``gpc_table.csv`` and manifest
totals, the documents) calls these functions (DESIGN decision 11). They read ledger entries (a
frame of :data:`carbon.snapshot.ENTRY_COLUMNS`, DECIMAL or float), so they give the same numbers
on a built :class:`carbon.ledger.Ledger` and on a published snapshot.

The rules
---------
* **One calendar year** (GPC v1.1 ch. 3: a continuous 12-month reporting period; here the
  calendar year): entries are selected by the year of ``period_start``.
* **Every sub-sector** of GPC v1.1 ch. 4 (:data:`carbon.gpc.REFS`) is listed, with a value
  or a notation key (NO, IE, NE, C: GPC v1.1 notation keys; docs/research/gpc.md §1.5), and
  an explanation for a key.
  A row with entries whose weighted data coverage is below ``ne_threshold`` shows ``NE`` and
  its partial value is not reported anywhere. A row without entries takes the key of the site's
  boundary statement (:class:`carbon.twin.Boundary`), else ``NO`` for generation supplied to
  the grid when the twin has no generation asset, else ``NE`` with the reason.
* **Totals only from their parts** (GPC v1.1 ch. 4; docs/research/gpc.md §1.2):
  BASIC, BASIC+, territorial and scope 2 sum the *reported* rows of the table with
  :func:`carbon.gpc.in_total`; a row keyed ``NE`` adds nothing, and a total is labelled
  incomplete exactly while one of its rows is ``NE`` (:class:`InventoryTotals`).
* **No negative emission.** An ``emission`` entry below zero, or a row that sums below zero, is
  an :class:`InventoryError`: the GPC reports the emissions that occur; a credit (energy
  recovery, recycling) is an ``avoided`` entry, and removals are their own kind.
* **Avoided and removals apart** (GPC v1.1 ch. 4: offsets and avoided emissions are not netted
  into the inventory; docs/research/gpc.md §5): they are never in a row or a total;
  :func:`memo_items` lists them.
* **Gases** (GPC v1.1 ch. 4: gases reported separately where estimated): a
  per-gas column is ``NE`` where the gas was never estimated: every gas of a row holding an
  entry valued with a CO2e-only factor (its ``co2_kg`` is empty), and CH4 or N2O where no entry
  of the row carries a mass of that gas (the factor gives none: a factor that lists a gas
  gives it a mass for any non-zero amount).
* **Biogenic CO2** (GPC v1.1 ch. 8 and IPCC 2006 Vol. 5 ch. 5: reported
  separately, outside the totals): ``memo`` entries
  (:func:`carbon.valuation.biogenic_memo`, e.g. the biogenic CO2 of incinerated waste), entries
  of an activity ending in ``.biogenic_co2``, or flagged ``biogenic_co2`` in their notes, are taken
  out of their row and totals and shown in the ``biogenic_co2_t`` column; a waste row
  without such entries shows ``NE`` there.
* **Uncertainty** (IPCC 2006 Vol. 1 Ch. 3 Approach 1; docs/research/uncertainty.md §3): each
  entry takes the default uncertainty of its activity-data grade and of its factor grade
  (:data:`ACTIVITY_UNCERTAINTY_PCT`, :data:`FACTOR_UNCERTAINTY_PCT`, ASSUMPTIONS anchored on the
  IPCC's ranges), combined as a product with Eq. 3.1; the entries of one row and one grade pair
  are one source category (their errors fully correlated: the same kind of data and factor),
  categories and rows are summed as independent with Eq. 3.2, for the row's
  ``uncertainty_pct`` and for each total (:attr:`InventoryTotals.uncertainty_pct`).
* **Intensity** (:func:`intensity`): residential-building emissions (GPC I.1) per resident,
  BASIC per service population (residents + office workers), stationary energy per m2 of
  floor area; annualised for a partial year (docs/research/gpc.md §5).

References
----------
WRI, C40 and ICLEI, *Global Protocol for Community-Scale Greenhouse Gas Emission Inventories*,
v1.1 (2021): ch. 3 (boundary, reporting period), ch. 4 (sectors, sub-sectors and scopes;
BASIC, BASIC+; notation keys; gases), ch. 5 (data quality), ch. 8 (waste, biogenic CO2);
summarised in docs/research/gpc.md §1.2, §1.5 and §5.
IPCC, *2006 IPCC Guidelines for National Greenhouse Gas Inventories*, Vol. 1 Ch. 3
(uncertainties), §3.2.3.1 Approach 1, Eq. 3.1 and 3.2; docs/research/uncertainty.md §1, §3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from carbon.errors import CarbonError
from carbon.gpc import REFS, classify, in_total

if TYPE_CHECKING:
    from carbon.snapshot import Snapshot
    from carbon.twin import Twin

__all__ = [
    "ACTIVITY_UNCERTAINTY_PCT",
    "FACTOR_UNCERTAINTY_PCT",
    "INVENTORY_COLUMNS",
    "MEMO_COLUMNS",
    "Intensity",
    "Inventories",
    "InventoryContext",
    "InventoryError",
    "InventoryTotals",
    "check_no_negative",
    "combine_product",
    "combine_sum",
    "entry_years",
    "gpc_inventories",
    "gpc_inventory",
    "intensity",
    "inventories",
    "inventory_totals",
    "inventory_years",
    "memo_items",
]

INVENTORY_COLUMNS: dict[str, str] = {
    "year": "calendar year of the inventory",
    "gpc_ref": "GPC v1.1 reference number (ch. 4)",
    "sector": "GPC sector (I .. VI)",
    "subsector": "GPC sub-sector, e.g. I.1",
    "name_en": "what the row holds",
    "name_zh": "what the row holds, in Chinese",
    "scope": "GPC scope 1, 2 or 3",
    "level": "basic, basic+, territorial or other (GPC v1.1 ch. 4)",
    "co2e_t": "t CO2e; empty where the row has a notation key",
    "co2_t": "t CO2, or NE where not estimated (or the row's key)",
    "ch4_t": "t CH4, or NE where not estimated (or the row's key)",
    "n2o_t": "t N2O, or NE where not estimated (or the row's key)",
    "biogenic_co2_t": "t biogenic CO2, reported apart and in no total; NE where not estimated",
    "notation_key": "NO, IE, NE or C (GPC v1.1 notation keys); empty where there is a value",
    "explanation": "why the key applies, and which gases are not estimated",
    "completeness": "coverage of the row's meter data, weighted by meters [0..1]",
    "data_quality": "activity-data / emission-factor quality, H / M / L (GPC v1.1 Table 5.1)",
    "uncertainty_pct": "half the 95 % interval of co2e_t, in % of it (IPCC 2006 Vol. 1 Ch. 3 "
    "Approach 1); empty where the row has a notation key",
    "entries": "ledger entries behind the row",
}
"""Every column of :func:`gpc_inventory`, with its meaning and unit."""

ACTIVITY_UNCERTAINTY_PCT: dict[str, float] = {"H": 5.0, "M": 15.0, "L": 30.0}
"""Default uncertainty of activity data by GPC grade [%, half the 95 % interval].

ASSUMPTIONS (docs/research/uncertainty.md §2): H (metered, complete) takes the IPCC's default
for fuel statistics without better information, +-5 %; M (modelled with robust assumptions)
+-15 % and L (highly modelled, or synthetic) +-30 % are the project's judgement within the
ranges IPCC 2006 Vol. 1 Ch. 3 §3.2.2 asks to be set by expert judgement when no data exist."""

FACTOR_UNCERTAINTY_PCT: dict[str, float] = {"H": 5.0, "M": 10.0, "L": 50.0}
"""Default uncertainty of emission factors by GPC grade [%, half the 95 % interval].

ASSUMPTIONS (docs/research/uncertainty.md §2): H (the region's own published factor) +-5 %,
M (a more general factor: the regional grid, a national default) +-10 %, L (an IPCC default,
a proxy) +-50 %, the width of typical IPCC Tier 1 CH4 / N2O and waste default ranges."""

_INVENTORY_KINDS = ("emission", "adjustment")
_BIOGENIC = "biogenic_co2"
_GASES = ("co2", "ch4", "n2o")


class InventoryError(CarbonError, ValueError):
    """Ledger entries that cannot make a GPC inventory (a negative emission, an unknown year or
    node, an ambiguous period)."""


# ------------------------------------------------------------------------------ context
@dataclass(frozen=True)
class InventoryContext:
    """What an inventory needs to know about the community besides its entries.

    Build it with :meth:`of` from a :class:`carbon.twin.Twin`, a published
    :class:`carbon.snapshot.Snapshot`, or a nodes frame (:meth:`carbon.twin.Twin.to_frame`,
    the snapshot's ``nodes.csv``).

    Attributes
    ----------
    root : id of the root node (the subdistrict).
    nodes : one row per node, indexed by id, with ``parent, kind`` and the numeric columns
        ``residents``, ``office_workers`` [person], ``floor_area_m2`` [m2] (NaN where absent)
        and ``estimated`` (attribute names, comma-separated).
    metered_refs : GPC rows the twin has meters for (a row without entries is then ``NE``
        because readings are missing, not because nothing is measured).
    notation_keys : GPC row -> (key, explanation) for rows without entries: the site's boundary
        statement, plus ``I.4.4`` ``NO`` when the twin has no generation asset.
    """

    root: str
    nodes: pd.DataFrame
    metered_refs: frozenset[str] = frozenset()
    notation_keys: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, source: Twin | Snapshot | pd.DataFrame | InventoryContext) -> InventoryContext:
        """The context of a twin, a snapshot, a nodes frame, or itself."""
        if isinstance(source, InventoryContext):
            return source
        if isinstance(source, pd.DataFrame):
            return cls.from_frames(source)
        if hasattr(source, "manifest") and hasattr(source, "table"):
            return cls.from_snapshot(source)  # type: ignore[arg-type]
        return cls.from_twin(source)

    @classmethod
    def from_twin(cls, twin: Twin) -> InventoryContext:
        """The context of a twin: its nodes, the rows its meters fill, its boundary keys."""
        meters = twin.meters_frame()
        refs = set()
        for activity, use in zip(meters.activity.tolist(), meters.use_type.tolist(), strict=True):
            try:
                refs.add(classify(activity, None if pd.isna(use) else use))
            except KeyError:
                continue
        keys = notation_keys(twin)
        return cls(twin.root.id, _node_frame(twin.to_frame()), frozenset(refs), keys)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> InventoryContext:
        """The context a published snapshot records: ``nodes.csv``, ``meters.csv`` and the
        manifest's ``boundary`` (its resolved ``notation_keys``)."""
        nodes = snapshot.table("nodes")
        meters = snapshot.table("meters") if snapshot.has("meters.csv") else None
        return cls.from_frames(nodes, meters, snapshot.manifest.get("boundary"))

    @classmethod
    def from_frames(
        cls,
        nodes: pd.DataFrame,
        meters: pd.DataFrame | None = None,
        boundary: Mapping[str, Any] | None = None,
    ) -> InventoryContext:
        """The context of a nodes frame (``id, parent, kind, use_type`` and attribute columns),
        optionally a meters frame (``meter_id, node_id, activity``) and a published boundary
        (a mapping with ``notation_keys``: row -> ``{key, explanation}``)."""
        frame = _node_frame(nodes)
        roots = frame.index[frame["parent"] == ""]
        if len(roots) != 1:
            raise InventoryError(f"the nodes must have exactly one root, found {len(roots)}")
        refs: set[str] = set()
        if meters is not None and len(meters):
            use = frame["use_type"].reindex(meters["node_id"]).tolist()
            for activity, u in zip(meters["activity"].tolist(), use, strict=True):
                try:
                    refs.add(classify(str(activity), u if isinstance(u, str) and u else None))
                except KeyError:
                    continue
        keys = {
            str(ref): (str(v["key"]), str(v["explanation"]))
            for ref, v in ((boundary or {}).get("notation_keys") or {}).items()
        }
        return cls(str(roots[0]), frame, frozenset(refs), keys)

    def subtree(self, node_id: str) -> list[str]:
        """The node and every node below it."""
        children: dict[str, list[str]] = {}
        for nid, parent in self.nodes["parent"].items():
            children.setdefault(str(parent), []).append(str(nid))
        out, stack = [], [node_id]
        while stack:
            nid = stack.pop()
            out.append(nid)
            stack.extend(children.get(nid, []))
        return out

    def check_node(self, node_id: str | None) -> str:
        """``node_id`` (default: the root) when the twin has it."""
        node_id = node_id or self.root
        if node_id not in self.nodes.index:
            close = [n for n in self.nodes.index if node_id.split(".")[-1] in str(n)][:5]
            raise InventoryError(f"No node {node_id!r} in the twin; close: {close}")
        return node_id


def notation_keys(twin: Twin) -> dict[str, tuple[str, str]]:
    """Notation keys for rows without entries: the boundary statement's, and ``I.4.4`` ``NO``
    when the twin has no generation asset (docs/research/gpc.md §1.3)."""
    keys: dict[str, tuple[str, str]] = {}
    if not any(a.kind == "pv_array" for a in twin.assets.values()):
        keys["I.4.4"] = ("NO", "no generation assets (PV arrays) in the twin")
    boundary = getattr(twin, "boundary", None)
    if boundary is not None:
        for ref, nk in boundary.notation_keys.items():
            keys[ref] = (nk.key, nk.explanation)
    return dict(sorted(keys.items()))


_NODE_NUMBERS = ("residents", "office_workers", "floor_area_m2")


def _node_frame(nodes: pd.DataFrame) -> pd.DataFrame:
    frame = nodes.copy()
    if "id" in frame.columns:
        frame = frame.set_index(frame["id"].astype(str), drop=False)
    frame.index = frame.index.astype(str)
    frame["parent"] = frame["parent"].fillna("").astype(str).replace({"None": "", "nan": ""})
    for col in ("kind", "use_type", "estimated"):
        if col not in frame:
            frame[col] = ""
        frame[col] = frame[col].fillna("").astype(str).replace({"None": "", "nan": ""})
    for col in _NODE_NUMBERS:
        if col in frame:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        else:
            frame[col] = np.nan
    return frame[["parent", "kind", "use_type", "estimated", *_NODE_NUMBERS]]


# ------------------------------------------------------------------------------ selection
def _by_value(column: pd.Series, compute: Callable[[pd.Series], Any]) -> np.ndarray:
    """``compute`` (an element-wise function of a Series) over the distinct values of a
    column, spread back to its rows: a ledger's entries share few months, paths and notes, so
    this does the work once per value instead of once per entry."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    values = np.asarray(compute(pd.Series(uniques, dtype=column.dtype)))
    return values[codes]


def entry_years(period_start: pd.Series) -> pd.Series:
    """The calendar year of each entry's ``period_start`` (dates, timestamps or ISO text).

    Converted once per distinct value: a ledger's entries share a few months.
    """
    years = _by_value(period_start, lambda u: pd.to_datetime(u).dt.year)
    return pd.Series(years, index=period_start.index)


def inventory_years(entries: pd.DataFrame) -> list[int]:
    """The calendar years the entries cover (by ``period_start``), ascending."""
    if len(entries) == 0:
        return []
    return sorted(int(y) for y in entry_years(entries["period_start"]).unique())


def _grams(column: pd.Series) -> np.ndarray:
    """Kilograms at gram precision (DECIMAL or float) as exact integer grams; NaN -> 0.

    A DECIMAL(38, 3) value below 9e12 kg is exact as a float to the gram, so the DECIMAL and
    float readings of a snapshot give the same integers.
    """
    values = column.astype("float64").to_numpy()
    return np.where(np.isnan(values), 0, np.rint(values * 1000.0)).astype(np.int64)


def _flags(entries: pd.DataFrame) -> pd.Series:
    notes = entries["notes"] if "notes" in entries else pd.Series("", index=entries.index)
    return notes.fillna("").astype(str)


def _is_biogenic(entries: pd.DataFrame) -> pd.Series:
    memo = entries["kind"].eq("memo") if "kind" in entries else False
    activity = entries.get("activity", pd.Series("", index=entries.index)).fillna("").astype(str)
    flagged = _by_value(
        _flags(entries), lambda u: u.str.contains(rf"\b{_BIOGENIC}\b", regex=True)
    ).astype(bool)
    ends = _by_value(activity, lambda u: u.str.endswith("." + _BIOGENIC)).astype(bool)
    return memo | pd.Series(ends | flagged, index=entries.index)


def _in_node(entries: pd.DataFrame, node_id: str, root: str) -> pd.Series:
    if node_id == root:
        return pd.Series(True, index=entries.index)
    below = _by_value(
        entries["node_path"],
        lambda u: ("/" + u.astype(str) + "/").str.contains(f"/{node_id}/", regex=False),
    )
    return pd.Series(below.astype(bool), index=entries.index) | (entries["node_id"] == node_id)


def _check_method(method: str) -> None:
    if method not in ("location", "market"):
        raise InventoryError(f"method must be 'location' or 'market', not {method!r}")


def _selected(entries: pd.DataFrame, year: int, method: str, node_id: str, root: str) -> np.ndarray:
    """Which entries count in the inventory of one year, view and node [boolean mask]."""
    _check_method(method)
    mask = (
        (entry_years(entries["period_start"]) == year)
        & entries["kind"].isin((*_INVENTORY_KINDS, "memo"))
        & entries["method"].isin([method, "n/a"])
    ).to_numpy()
    return mask & _in_node(entries, node_id, root).to_numpy()


def _select(entries: pd.DataFrame, year: int, method: str, node_id: str, root: str) -> pd.DataFrame:
    return entries[_selected(entries, year, method, node_id, root)]


def check_no_negative(entries: pd.DataFrame) -> None:
    """Raise when an ``emission`` entry is negative: an inventory row reports emissions that
    occur; a credit is an ``avoided`` entry (GPC v1.1 ch. 4: only AFOLU may carry net removals,
    and those are ``removal`` entries here).

    Raises
    ------
    InventoryError
        Naming up to five entries (id, activity, factor, row, month) and how many there are.
    """
    e = entries[entries["kind"] == "emission"]
    negative = e[_grams(e["co2e_kg"]) < 0]
    if len(negative) == 0:
        return
    shown = "; ".join(
        f"{r.get('entry_id', '?')} ({r.get('activity', '?')}, factor {r.get('factor_id', '?')}, "
        f"{r.get('gpc_ref', '?')}, {str(r.get('period_start', '?'))[:7]}, "
        f"{float(r['co2e_kg']):,.3f} kg)"
        for r in negative.head(5).to_dict("records")
    )
    factors = sorted(set(negative.get("factor_id", pd.Series(dtype=str)).astype(str)))
    raise InventoryError(
        f"{len(negative)} emission entries are negative, which no GPC inventory row admits: "
        f"{shown}. Factors: {', '.join(factors)}. A net credit (energy recovery, recycling) "
        "must be booked as an 'avoided' entry and the factor must give the emissions that "
        "occur (see carbon.factors.load_factor_set(refuse_negative=True))."
    )


# ------------------------------------------------------------------------------ uncertainty
def combine_product(*uncertainties_pct: float) -> float:
    """The uncertainty of a product of independent quantities [%] (IPCC 2006 Vol. 1 Ch. 3,
    Eq. 3.1): the square root of the sum of the squared percentage uncertainties."""
    return float(np.sqrt(sum(u * u for u in uncertainties_pct)))


def combine_sum(parts: Iterable[tuple[float, float]]) -> float | None:
    """The uncertainty of a sum of independent quantities [%] (IPCC 2006 Vol. 1 Ch. 3, Eq. 3.2).

    Parameters
    ----------
    parts : (value, uncertainty [%]) of each quantity; values in any one unit.

    Returns
    -------
    float or None
        sqrt(sum((U_i x_i)^2)) / |sum x_i|; None when the sum is zero.
    """
    pairs = list(parts)
    total = sum(x for x, _ in pairs)
    if total == 0:
        return None
    return float(np.sqrt(sum((u * x) ** 2 for x, u in pairs)) / abs(total))


# ------------------------------------------------------------------------------ the table
_TABLE_COLUMNS = frozenset(
    (
        "period_start",
        "kind",
        "method",
        "gpc_ref",
        "node_id",
        "node_path",
        "activity",
        "notes",
        "co2e_kg",
        "co2_kg",
        "ch4_kg",
        "n2o_kg",
        "meters",
        "completeness",
        "dq_activity",
        "dq_factor",
    )
)
"""The entry columns the table reads."""
_GRADES = ("H", "L", "M")
"""GPC grades in sorted order: the (activity, factor) grade pairs of a row are combined in
this order, as a sorted group-by of the two grades would list them."""
_PAIR_PCT = [
    combine_product(ACTIVITY_UNCERTAINTY_PCT[a], FACTOR_UNCERTAINTY_PCT[f])
    for a in _GRADES
    for f in _GRADES
]


def _grade_codes(entries: pd.DataFrame, column: str) -> np.ndarray:
    """Index of each entry's grade in :data:`_GRADES`; an unknown grade counts as L."""
    if column not in entries:
        return np.full(len(entries), _GRADES.index("L"), dtype=np.int64)
    known = {g: i for i, g in enumerate(_GRADES)}
    return _by_value(
        entries[column],
        lambda u: [known.get(v, known["L"]) if isinstance(v, str) else known["L"] for v in u],
    ).astype(np.int64)


class _Prepared:
    """The per-entry numbers the table needs, computed once for a frame of entries: a GPC
    table of one (year, view, node) works on a positional subset of them, so the tables of
    every year, node and view (:func:`gpc_inventories`) share the conversions (DECIMAL to
    grams, dates to years, text tests) instead of redoing them per table.

    Every figure is summed over a row's entries in their order in the frame, the order a
    group-by of the frame keeps, so the table is the same whichever way it is built.
    """

    def __init__(self, entries: pd.DataFrame, rows: np.ndarray | None = None) -> None:
        self.source = entries
        self.positions = np.arange(len(entries)) if rows is None else rows
        # only the columns the table reads, and only the rows asked for
        e = entries[[c for c in entries.columns if c in _TABLE_COLUMNS]]
        e = e if rows is None else e.iloc[rows]
        self.year = entry_years(e["period_start"]).to_numpy()
        self.emission = (e["kind"] == "emission").to_numpy()
        self.biogenic = _is_biogenic(e).to_numpy()
        self.method = e["method"]
        codes, refs = pd.factorize(e["gpc_ref"])
        self.ref_codes, self.refs = codes, [str(r) for r in refs]
        self.path_codes, paths = pd.factorize(e["node_path"], use_na_sentinel=False)
        self.paths = pd.Series(paths, dtype=e["node_path"].dtype)
        self.node_codes, nodes = pd.factorize(e["node_id"])
        self.nodes = {str(n): i for i, n in enumerate(nodes)}
        self.grams = _grams(e["co2e_kg"])
        self.gas = {g: _grams(e[f"{g}_kg"]) for g in _GASES if f"{g}_kg" in e}
        self.co2_missing = e["co2_kg"].isna().to_numpy() if "co2_kg" in e else None
        ones = pd.Series(1.0, index=e.index)
        meters = e["meters"].astype("float64").clip(lower=1) if "meters" in e else ones
        comp = e["completeness"].astype("float64") if "completeness" in e else ones
        weighted = (comp * meters).to_numpy()
        # pandas sums skip NaN: the same as adding 0
        self.weighted = np.where(np.isnan(weighted), 0.0, weighted)
        self.meters = np.where(np.isnan(meters.to_numpy()), 0.0, meters.to_numpy())
        self.dq: tuple[tuple[np.ndarray, list[Any]], ...] | None = None
        if "dq_activity" in e and "dq_factor" in e:
            self.dq = tuple(
                (c, list(u))
                for c, u in (pd.factorize(e[col]) for col in ("dq_activity", "dq_factor"))
            )
        self.pair = _grade_codes(e, "dq_activity") * len(_GRADES) + _grade_codes(e, "dq_factor")

    def in_node(self, node_id: str, root: str) -> np.ndarray:
        """Entries of the node and below it (as :func:`_in_node`, once per distinct path)."""
        if node_id == root:
            return np.ones(len(self.year), dtype=bool)
        below = ("/" + self.paths.astype(str) + "/").str.contains(f"/{node_id}/", regex=False)
        own = self.node_codes == self.nodes.get(node_id, -2)
        return np.asarray(below, dtype=bool)[self.path_codes] | own

    def view(self, method: str) -> np.ndarray:
        """Entries counted in a scope-2 view (its own and ``n/a``)."""
        return self.method.isin([method, "n/a"]).to_numpy()

    def _groups(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Positions by GPC row, each in frame order."""
        codes = self.ref_codes[index]
        order = np.argsort(codes, kind="stable")
        codes, index = codes[order], index[order]
        cuts = np.flatnonzero(np.diff(codes)) + 1
        return {
            self.refs[part_codes[0]]: part
            for part_codes, part in zip(np.split(codes, cuts), np.split(index, cuts), strict=True)
            if len(part) and part_codes[0] >= 0
        }

    def _uncertainty(self, sub: np.ndarray) -> float | None:
        """Approach 1 uncertainty of a row [%]: Eq. 3.1 per grade pair, Eq. 3.2 over the pairs
        (in sorted grade order). An unknown grade counts as L."""
        pairs = self.pair[sub]
        sums = np.zeros(len(_PAIR_PCT), dtype=np.int64)
        np.add.at(sums, pairs, self.grams[sub])
        present = np.bincount(pairs, minlength=len(_PAIR_PCT)) > 0
        u = combine_sum((float(sums[p]), _PAIR_PCT[p]) for p in range(len(_PAIR_PCT)) if present[p])
        return None if u is None else round(u, 6)

    def _gas_cells(self, sub: np.ndarray) -> tuple[dict[str, Any], list[str]]:
        """Per-gas tonnes of a reported row, ``NE`` where the gas was not estimated."""
        emissions = sub[self.emission[sub]]
        cells: dict[str, Any] = {}
        missing: list[str] = []
        co2e_only = self.co2_missing is None or bool(self.co2_missing[emissions].any())
        for gas in _GASES:
            grams = self.gas.get(gas)
            if co2e_only or grams is None:
                cells[f"{gas}_t"] = "NE"
                missing.append(gas.upper())
                continue
            if gas != "co2" and not (grams[emissions] != 0).any():
                cells[f"{gas}_t"] = "NE"
                missing.append(gas.upper())
                continue
            cells[f"{gas}_t"] = int(grams[sub].sum()) / 1e6
        return cells, missing

    def _data_quality(self, parts: list[np.ndarray]) -> str | None:
        if not parts or self.dq is None:
            return None
        index = np.concatenate(parts)
        return "/".join(
            _dq(values[c] for c in np.unique(codes[index]) if c >= 0) for codes, values in self.dq
        )

    def rows(
        self,
        index: np.ndarray,
        ctx: InventoryContext,
        year: int,
        ne_threshold: float,
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The rows of the table of the entries at ``index`` (positions, ascending: the
        selection of one year, view and node) and, per reported row, its integer grams CO2e."""
        if (self.emission[index] & (self.grams[index] < 0)).any():
            # raises, naming the entries
            check_no_negative(self.source.iloc[self.positions[index]])
        bio = self.biogenic[index]
        groups = self._groups(index[~bio])
        bio_groups = self._groups(index[bio])
        rows, reported = [], {}
        for ref, row in REFS.items():
            sub = groups.get(ref)
            key, why = "", ""
            completeness = None
            total_g = 0
            if sub is not None:
                total_g = int(self.grams[sub].sum())
                completeness = float(self.weighted[sub].sum() / self.meters[sub].sum())
                if completeness < ne_threshold:
                    key = "NE"
                    why = (
                        f"data coverage {completeness:.0%} is below the {ne_threshold:.0%} "
                        "threshold; partial value not reported and not in any total"
                    )
                elif total_g < 0:
                    raise InventoryError(
                        f"GPC row {ref} of {year} sums to {total_g / 1000:,.3f} kg CO2e after "
                        "adjustments: no inventory row may be negative"
                    )
            elif ref in ctx.notation_keys:
                key, why = ctx.notation_keys[ref]
            elif ref in ctx.metered_refs:
                key, why = "NE", f"meters exist but no readings fall in {year}"
            elif ref.startswith("I.") and ref.endswith(".3"):
                key, why = "NE", "T&D losses are not estimated (no loss factor in the set)"
            else:
                key, why = "NE", f"no activity data for this row in {year}"
            cells: dict[str, Any]
            if key or sub is None:
                cells = {f"{g}_t": key for g in _GASES}
            else:
                cells, missing = self._gas_cells(sub)
                if missing:
                    why = f"{', '.join(missing)} not estimated: the factor gives " + (
                        "CO2e only" if len(missing) == 3 else "no value for them"
                    )
                reported[ref] = total_g
            bsub = bio_groups.get(ref)
            if bsub is not None:
                bio_cell: Any = int(self.grams[bsub].sum()) / 1e6
            elif row.sector == "III" and not key:
                bio_cell = "NE"
            else:
                bio_cell = None
            both = [s for s in (sub, bsub) if s is not None]
            rows.append(
                {
                    "year": year,
                    "gpc_ref": ref,
                    "sector": row.sector,
                    "subsector": row.subsector,
                    "name_en": row.name_en,
                    "name_zh": row.name_zh,
                    "scope": row.scope,
                    "level": row.level,
                    "co2e_t": total_g / 1e6 if not key else None,
                    **cells,
                    "biogenic_co2_t": bio_cell,
                    "notation_key": key or None,
                    "explanation": why or None,
                    "completeness": completeness,
                    "data_quality": self._data_quality(both),
                    "uncertainty_pct": None if key or sub is None else self._uncertainty(sub),
                    "entries": int(sum(len(s) for s in both)),
                }
            )
        return rows, reported


def _dq(values: Iterable[Any]) -> str:
    return "".join(sorted({str(v) for v in values if isinstance(v, str) and v}))


def _rows(
    entries: pd.DataFrame,
    ctx: InventoryContext,
    year: int,
    method: str,
    node_id: str,
    ne_threshold: float,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The rows of the table and, per reported row, its integer grams CO2e."""
    rows = np.flatnonzero(_selected(entries, year, method, node_id, ctx.root))
    return _Prepared(entries, rows).rows(np.arange(len(rows)), ctx, year, ne_threshold)


def _year_of(entries: pd.DataFrame, year: int | None) -> int:
    years = inventory_years(entries)
    if year is None:
        if len(years) == 1:
            return years[0]
        raise InventoryError(
            "a GPC inventory covers one calendar year; the entries span "
            + (", ".join(map(str, years)) if years else "no year")
            + ": pass year="
        )
    return int(year)


def gpc_inventory(
    entries: pd.DataFrame,
    twin_or_nodes: Twin | Snapshot | pd.DataFrame | InventoryContext,
    year: int | None = None,
    method: str = "location",
    node_id: str | None = None,
    ne_threshold: float = 0.5,
) -> pd.DataFrame:
    """The GPC inventory table of one calendar year: every sub-sector, a value or a key.

    Parameters
    ----------
    entries : ledger entries (:data:`carbon.snapshot.ENTRY_COLUMNS`; DECIMAL or float amounts).
    twin_or_nodes : the twin, the published snapshot, its nodes frame, or an
        :class:`InventoryContext`.
    year : the calendar year; None when the entries cover exactly one.
    method : scope-2 view, ``location`` (the headline) or ``market``.
    node_id : a node's own inventory (its subtree); default the whole community.
    ne_threshold : data coverage below which a row shows ``NE`` [dimensionless, 0..1].

    Returns
    -------
    pandas.DataFrame
        One row per GPC v1.1 sub-category (:data:`carbon.gpc.REFS` order), columns
        :data:`INVENTORY_COLUMNS`.

    Raises
    ------
    InventoryError
        A negative emission entry or row, an unknown node or method, or ``year=None`` on
        entries of several years (the message lists them).

    References
    ----------
    GPC v1.1, ch. 4 (rows, notation keys, gases); docs/research/gpc.md §1.2, §1.5.
    """
    ctx = InventoryContext.of(twin_or_nodes)
    node = ctx.check_node(node_id)
    rows, _ = _rows(entries, ctx, _year_of(entries, year), method, node, ne_threshold)
    return pd.DataFrame(rows, columns=list(INVENTORY_COLUMNS))


def gpc_inventories(
    entries: pd.DataFrame,
    twin_or_nodes: Twin | Snapshot | pd.DataFrame | InventoryContext,
    years: Iterable[int] | None = None,
    node_ids: Iterable[str] | None = None,
    methods: Iterable[str] = ("location", "market"),
    ne_threshold: float = 0.5,
) -> pd.DataFrame:
    """The GPC inventory tables of several years, nodes and scope-2 views, in one pass.

    The same tables as :func:`gpc_inventory` called for each year, node and view in turn, but
    the entries are converted (amounts to grams, dates to years, flags) once for all of them.

    Parameters
    ----------
    entries : ledger entries (:data:`carbon.snapshot.ENTRY_COLUMNS`).
    twin_or_nodes : as for :func:`gpc_inventory`.
    years : calendar years; default every year the entries cover.
    node_ids : nodes; default the whole community (the root).
    methods : scope-2 views, ``location`` and/or ``market``.
    ne_threshold : data coverage below which a row shows ``NE`` [dimensionless, 0..1].

    Returns
    -------
    pandas.DataFrame
        Columns ``node_id, method`` and :data:`INVENTORY_COLUMNS`; the tables one after the
        other, by year, then node (in the order given), then view.

    Raises
    ------
    InventoryError
        As :func:`gpc_inventory`.
    """
    return inventories(entries, twin_or_nodes, years, node_ids, methods, ne_threshold).table


@dataclass(frozen=True)
class Inventories:
    """GPC tables of several years, nodes and views, with their totals (:func:`inventories`).

    Attributes
    ----------
    table : the tables, as :func:`gpc_inventories` gives them.
    totals : (year, node_id, method) -> the totals of that table, as
        :func:`inventory_totals` gives them.
    """

    table: pd.DataFrame
    totals: dict[tuple[int, str, str], InventoryTotals]


def inventories(
    entries: pd.DataFrame,
    twin_or_nodes: Twin | Snapshot | pd.DataFrame | InventoryContext,
    years: Iterable[int] | None = None,
    node_ids: Iterable[str] | None = None,
    methods: Iterable[str] = ("location", "market"),
    ne_threshold: float = 0.5,
) -> Inventories:
    """:func:`gpc_inventories` and the :func:`inventory_totals` of each of its tables, from
    one pass over the entries (what a published snapshot records: the tables and the totals).

    Parameters are those of :func:`gpc_inventories`.
    """
    ctx = InventoryContext.of(twin_or_nodes)
    nodes = [ctx.check_node(n) for n in (node_ids or [ctx.root])]
    views = list(methods)
    for method in views:
        _check_method(method)
    wanted = inventory_years(entries) if years is None else [int(y) for y in years]
    counted = (
        entries["kind"].isin((*_INVENTORY_KINDS, "memo"))
        & entries["method"].isin([*views, "n/a"])
        & entry_years(entries["period_start"]).isin(wanted)
    )
    prepared = _Prepared(entries, np.flatnonzero(counted.to_numpy()))
    in_view = {m: prepared.view(m) for m in views}
    parts, totals = [], {}
    for year in wanted:
        in_year = prepared.year == year
        for node in nodes:
            selected = in_year & prepared.in_node(node, ctx.root)
            for method in views:
                rows, reported = prepared.rows(
                    np.flatnonzero(selected & in_view[method]), ctx, year, ne_threshold
                )
                totals[year, node, method] = _totals(rows, reported, year, method, node)
                table = pd.DataFrame(rows, columns=list(INVENTORY_COLUMNS))
                table.insert(0, "method", method)
                table.insert(0, "node_id", node)
                parts.append(table)
    if not parts:
        return Inventories(pd.DataFrame(columns=["node_id", "method", *INVENTORY_COLUMNS]), {})
    return Inventories(pd.concat(parts, ignore_index=True), totals)


# ------------------------------------------------------------------------------ totals
@dataclass(frozen=True)
class InventoryTotals:
    """The GPC totals of one calendar year, summed from the rows of :func:`gpc_inventory`.

    Attributes
    ----------
    year, method, node_id : what the totals are of.
    basic_t, basic_plus_t, territorial_t, scope2_t : the totals [t CO2e] (GPC v1.1 ch. 4;
        docs/research/gpc.md §1.2); a row keyed ``NE`` adds nothing.
    complete : True when no BASIC row is ``NE``; otherwise BASIC is labelled incomplete.
    incomplete_rows : the BASIC rows keyed ``NE``.
    basic_plus_complete : True when no BASIC+ row is ``NE``.
    basic_plus_incomplete_rows : the BASIC+ rows keyed ``NE`` (BASIC's among them).
    biogenic_co2_t : biogenic CO2 reported apart [t]; None when no entry carries it.
    uncertainty_pct : Approach 1 uncertainty of BASIC [%, half the 95 % interval]: the rows'
        ``uncertainty_pct`` summed with IPCC 2006 Vol. 1 Ch. 3 Eq. 3.2; None when BASIC is 0.
    basic_plus_uncertainty_pct : likewise of BASIC+ [%].
    """

    year: int
    method: str
    node_id: str
    basic_t: float
    basic_plus_t: float
    territorial_t: float
    scope2_t: float
    complete: bool
    incomplete_rows: list[str]
    basic_plus_complete: bool
    basic_plus_incomplete_rows: list[str]
    biogenic_co2_t: float | None = None
    uncertainty_pct: float | None = None
    basic_plus_uncertainty_pct: float | None = None

    @property
    def label(self) -> str:
        """``BASIC`` or ``BASIC (incomplete)``, as a total must be shown."""
        return "BASIC" if self.complete else "BASIC (incomplete)"

    def total(self, name: str) -> float:
        """A total by its GPC name (``BASIC``, ``BASIC+``, ``territorial``, ``scope2``)."""
        values = {
            "BASIC": self.basic_t,
            "BASIC+": self.basic_plus_t,
            "territorial": self.territorial_t,
            "scope2": self.scope2_t,
        }
        if name not in values:
            in_total("I.1.1", name)  # raises GpcError naming the known totals
        return values[name]


def _totals(
    rows: list[dict[str, Any]], reported: dict[str, int], year: int, method: str, node: str
) -> InventoryTotals:
    def grams(total: str) -> int:
        return sum(g for ref, g in reported.items() if in_total(ref, total))

    def ne_rows(total: str) -> list[str]:
        return [
            r["gpc_ref"]
            for r in rows
            if r["notation_key"] == "NE" and in_total(r["gpc_ref"], total)
        ]

    def uncertainty(total: str) -> float | None:
        u = combine_sum(
            (g, r["uncertainty_pct"] or 0.0)
            for r in rows
            if (g := reported.get(r["gpc_ref"])) is not None and in_total(r["gpc_ref"], total)
        )
        return None if u is None else round(u, 6)

    bio = [r["biogenic_co2_t"] for r in rows if isinstance(r["biogenic_co2_t"], float)]
    return InventoryTotals(
        year=year,
        method=method,
        node_id=node,
        basic_t=grams("BASIC") / 1e6,
        basic_plus_t=grams("BASIC+") / 1e6,
        territorial_t=grams("territorial") / 1e6,
        scope2_t=grams("scope2") / 1e6,
        complete=not ne_rows("BASIC"),
        incomplete_rows=ne_rows("BASIC"),
        basic_plus_complete=not ne_rows("BASIC+"),
        basic_plus_incomplete_rows=ne_rows("BASIC+"),
        biogenic_co2_t=sum(bio) if bio else None,
        uncertainty_pct=uncertainty("BASIC"),
        basic_plus_uncertainty_pct=uncertainty("BASIC+"),
    )


def inventory_totals(
    entries: pd.DataFrame,
    twin_or_nodes: Twin | Snapshot | pd.DataFrame | InventoryContext,
    year: int | None = None,
    method: str = "location",
    node_id: str | None = None,
    ne_threshold: float = 0.5,
) -> InventoryTotals:
    """BASIC, BASIC+, territorial and scope-2 totals of one calendar year, from the rows of
    :func:`gpc_inventory` (the same rule for the table and its totals).

    Parameters are those of :func:`gpc_inventory`.

    References
    ----------
    GPC v1.1, ch. 4 (BASIC, BASIC+); docs/research/gpc.md §1.2 ("Totals to implement").
    """
    ctx = InventoryContext.of(twin_or_nodes)
    node = ctx.check_node(node_id)
    y = _year_of(entries, year)
    rows, reported = _rows(entries, ctx, y, method, node, ne_threshold)
    return _totals(rows, reported, y, method, node)


# ------------------------------------------------------------------------------ memo items
MEMO_COLUMNS: dict[str, str] = {
    "year": "calendar year",
    "kind": "avoided or removal",
    "basis": "ex_ante (estimated) or ex_post (verified) for avoided; n/a for removals",
    "intervention_id": "the intervention of an avoided entry (from its notes)",
    "node_id": "the node of the entries",
    "gpc_ref": "the GPC row the avoided or removed emissions relate to",
    "method": "scope-2 view (location, market) or n/a",
    "co2e_t": "t CO2e avoided (positive) or removed (negative, as booked)",
    "entries": "entries behind the line",
}
"""Every column of :func:`memo_items`."""

_INTERVENTION = re.compile(r"intervention=([^\s,]+)")


def memo_items(entries: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """Avoided emissions and removals of a calendar year, listed apart from the inventory.

    Avoided entries are grouped by intervention, basis (``ex_ante`` estimate or ``ex_post``
    verified) and scope-2 view; removals by node and view. They are in no row and no total
    (GPC v1.1 ch. 4; docs/research/gpc.md §5; DESIGN decision 6).

    Parameters
    ----------
    entries : ledger entries.
    year : the calendar year; None when the entries cover exactly one.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MEMO_COLUMNS`, avoided lines first.
    """
    y = _year_of(entries, year)
    e = entries[
        (entry_years(entries["period_start"]) == y) & entries["kind"].isin(["avoided", "removal"])
    ]
    e = e.assign(
        _g=_grams(e["co2e_kg"]),
        basis=np.where(
            e["kind"] == "removal",
            "n/a",
            np.where(
                _flags(e).str.contains(r"\bex_post\b", regex=True),
                "ex_post",
                # credits reported beside the inventory (carbon.credits), not interventions
                np.where(_flags(e).str.startswith("credit "), "credit", "ex_ante"),
            ),
        ),
        intervention_id=_flags(e).str.extract(_INTERVENTION, expand=False).fillna(""),
    )
    e.loc[e["kind"] == "removal", "intervention_id"] = ""
    avoided = e[e["kind"] == "avoided"].assign(node_id="")
    removals = e[e["kind"] == "removal"]
    keys = ["kind", "basis", "intervention_id", "node_id", "gpc_ref", "method"]
    parts = [
        part.groupby(keys, as_index=False).agg(_g=("_g", "sum"), entries=("_g", "size"))
        for part in (avoided, removals)
        if len(part)
    ]
    if not parts:
        return pd.DataFrame(columns=list(MEMO_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["co2e_t"] = out["_g"] / 1e6
    out["year"] = y
    return out[list(MEMO_COLUMNS)].reset_index(drop=True)


# ------------------------------------------------------------------------------ intensity
@dataclass(frozen=True)
class Intensity:
    """Annual emission intensities of a node in one calendar year.

    Attributes
    ----------
    year, method, node_id : what they are of.
    months : months of the year with entries [month]; ``annualised`` when fewer than 12.
    scale : 12 / months, the factor applied to the year's sums [dimensionless].
    residential_t : residential buildings, GPC I.1 rows of BASIC, annualised [t CO2e / a].
    basic_t : BASIC, annualised [t CO2e / a].
    stationary_t : stationary energy, GPC I rows of BASIC, annualised [t CO2e / a].
    residents : residents of the node [person]; ``residents_estimated`` when the twin marks
        any contributing value as an estimate.
    office_workers : daily office workers of the node [person] (likewise estimated or not).
    service_population : residents + office workers [person].
    floor_area_m2 : floor area of the node's buildings [m2].
    per_resident_t : residential_t / residents [t CO2e / person / a].
    per_service_population_t : basic_t / service_population [t CO2e / person / a].
    per_m2_kg : stationary_t / floor_area_m2 [kg CO2e / m2 / a].
    complete : whether BASIC is complete (:class:`InventoryTotals`).
    """

    year: int
    method: str
    node_id: str
    months: int
    scale: float
    residential_t: float
    basic_t: float
    stationary_t: float
    residents: float | None
    residents_estimated: bool
    office_workers: float | None
    office_workers_estimated: bool
    service_population: float | None
    floor_area_m2: float | None
    floor_area_estimated: bool
    per_resident_t: float | None
    per_service_population_t: float | None
    per_m2_kg: float | None
    complete: bool

    @property
    def annualised(self) -> bool:
        """True when the year has fewer than 12 months of entries."""
        return self.months < 12


def _top_down(ctx: InventoryContext, node_id: str, column: str) -> tuple[float | None, bool]:
    """A node's own value of an attribute, or else the sum over its children (recursively):
    the highest node of each branch that has the attribute counts, so residents given on an
    area and on its compounds are not counted twice. Also whether any value is an estimate."""
    nodes = ctx.nodes
    attribute = column.removesuffix("_m2")
    children: dict[str, list[str]] = {}
    for nid, parent in nodes["parent"].items():
        children.setdefault(str(parent), []).append(str(nid))

    def walk(nid: str) -> tuple[float | None, bool]:
        own = nodes.at[nid, column]
        if not np.isnan(own):
            estimated = attribute in nodes.at[nid, "estimated"].replace(" ", "").split(",")
            return float(own), estimated
        values = [walk(c) for c in children.get(nid, [])]
        values = [v for v in values if v[0] is not None]
        if not values:
            return None, False
        return float(sum(v for v, _ in values)), any(est for _, est in values)  # type: ignore[misc]

    return walk(node_id)


def intensity(
    entries: pd.DataFrame,
    twin_or_nodes: Twin | Snapshot | pd.DataFrame | InventoryContext,
    year: int | None = None,
    method: str = "location",
    node_id: str | None = None,
    ne_threshold: float = 0.5,
) -> Intensity:
    """Annual per-resident, per-service-population and per-m2 intensities of one year.

    * per resident: GPC I.1 (residential buildings) rows of BASIC / residents, so office
      towers do not weigh on the residents' figure;
    * per service population: BASIC / (residents + daily office workers);
    * per m2: stationary energy (GPC I rows of BASIC) / the buildings' floor area.

    Sums follow :func:`gpc_inventory` (rows keyed NE add nothing). A year with fewer than 12
    months of entries is annualised by 12 / months (a plain scaling, blind to seasons; the
    result says how many months it rests on). Denominators are the twin's attributes: a node's
    own value, else the sum of its children's (docs/research/gpc.md §5).

    Parameters are those of :func:`gpc_inventory`.

    Returns
    -------
    Intensity
    """
    ctx = InventoryContext.of(twin_or_nodes)
    node = ctx.check_node(node_id)
    y = _year_of(entries, year)
    rows, reported = _rows(entries, ctx, y, method, node, ne_threshold)
    totals = _totals(rows, reported, y, method, node)
    e = _select(entries, y, method, node, ctx.root)
    months = int(pd.to_datetime(e["period_start"]).dt.month.nunique()) if len(e) else 0
    scale = 12.0 / months if months else 0.0

    def basic_grams(prefix: str) -> int:
        return sum(
            g for ref, g in reported.items() if ref.startswith(prefix) and in_total(ref, "BASIC")
        )

    residential = basic_grams("I.1.") / 1e6 * scale
    stationary = basic_grams("I.") / 1e6 * scale
    basic = totals.basic_t * scale
    residents, residents_est = _top_down(ctx, node, "residents")
    workers, workers_est = _top_down(ctx, node, "office_workers")
    area, area_est = _top_down(ctx, node, "floor_area_m2")
    service = (residents or 0.0) + (workers or 0.0)
    return Intensity(
        year=y,
        method=method,
        node_id=node,
        months=months,
        scale=scale,
        residential_t=residential,
        basic_t=basic,
        stationary_t=stationary,
        residents=residents,
        residents_estimated=residents_est,
        office_workers=workers,
        office_workers_estimated=workers_est,
        service_population=service or None,
        floor_area_m2=area,
        floor_area_estimated=area_est,
        per_resident_t=residential / residents if residents and months else None,
        per_service_population_t=basic / service if service and months else None,
        per_m2_kg=stationary * 1000.0 / area if area and months else None,
        complete=totals.complete,
    )
