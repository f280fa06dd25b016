"""The carbon ledger: readings and activity data times factors, in SQL, with provenance.

:func:`build_ledger` turns the store's current readings and activity data into monthly ledger
entries for every metered node of the twin. Rows never loop in Python: readings are aggregated
per meter and local day, range-joined (half-open validity, with an equality key; never ASOF:
docs/research/stack.md §2) to the factor segments valid on those days, and multiplied in DECIMAL
arithmetic. Factor segments come from :meth:`carbon.factors.FactorSet.lookup`, so the region
fallback chain and carry-forward rules live in one place.

One SQL, two engines (DESIGN decision 7): the SQL is written once, in DuckDB's dialect, and
runs on the store's DuckDB (the default) or on Apache Spark, transpiled by sqlglot; both give
byte-identical entries. See :mod:`carbon.engines` and docs/spark.md.

Kinds of entries are kept apart (DESIGN decision 6; GPC): ``emission``, ``removal``,
``avoided`` (from intervention models) and ``adjustment`` (corrections of closed periods).
Scope 2 is computed location-based and market-based side by side (``method``); entries of other
scopes carry ``method = 'n/a'`` and count in both views.

Append-only: once a period is closed (:meth:`Ledger.publish` with ``close_through``), its
entries are recorded in the store; a later build never edits them but adds ``adjustment``
entries for any difference.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from carbon.activities import ACTIVITIES
from carbon.engines import local_month_sql, local_time_sql, month_starts_sql, period_start_sql
from carbon.errors import CarbonError
from carbon.gpc import REFS, classify
from carbon.inventory import (
    Inventories,
    InventoryContext,
    InventoryTotals,
    gpc_inventory,
    inventories,
    inventory_totals,
)
from carbon.snapshot import ENTRY_COLUMNS, Snapshot, publish_ledger
from carbon.valuation import (
    FACTOR,
    ROUNDING,
    biogenic_memo,
    dq_activity_sql,
    factor_segments,
    grade_synthetic,
    value_amounts,
    wastewater_from_water,
)
from carbon.warnings import QualityWarning, raise_if_strict

if TYPE_CHECKING:
    from carbon.engines import Engine
    from carbon.factors import FactorSet
    from carbon.store import Store
    from carbon.twin import Twin

__all__ = ["ENTRY_COLUMNS", "Ledger", "LedgerError", "build_ledger"]

log = logging.getLogger(__name__)



class LedgerError(CarbonError, ValueError):
    """The ledger cannot be built with these inputs."""


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months, current = [], dt.date(start.year, start.month, 1)
    while current < end:
        months.append(current)
        current = dt.date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


@dataclass
class Ledger:
    """A built ledger: entries plus what they were built from.

    Attributes
    ----------
    entries : one row per entry, columns :data:`ENTRY_COLUMNS`, sorted by ``entry_id``.
    coverage : completeness per meter and month (``meter_id, month, expected, present,
        estimated, completeness``).
    twin, factors : the twin and factor set used.
    start, end : the accounting period ``[start, end)`` [local dates].
    batches : the store batches behind the entries (for the manifest).
    warnings : data-quality warnings (carried-forward factors, low coverage, unused GECs).
    store : the store it was built from.
    engine : what ran the SQL (``name``, ``version``, Spark ``master``, Parquet ``inputs``),
        for the manifest; see :mod:`carbon.engines`.
    """

    entries: pd.DataFrame
    coverage: pd.DataFrame
    twin: Twin
    factors: FactorSet
    start: dt.date
    end: dt.date
    batches: pd.DataFrame
    store: Store
    warnings: list[QualityWarning] = field(default_factory=list)
    ne_threshold: float = 0.5
    engine: dict[str, Any] = field(default_factory=lambda: {"name": "duckdb"})
    named_batches: bool = False
    _context: InventoryContext | None = field(default=None, init=False, repr=False)

    def __repr__(self) -> str:
        return (
            f"Ledger({self.twin.name!r}, {self.start}..{self.end}, {len(self.entries)} entries)"
        )

    # ------------------------------------------------------------------ selections
    def select(
        self, method: str = "location", kinds: Iterable[str] = ("emission", "adjustment")
    ) -> pd.DataFrame:
        """Entries of some kinds in one scope-2 view (``location`` or ``market``)."""
        if method not in ("location", "market"):
            raise LedgerError(f"method must be 'location' or 'market', not {method!r}")
        e = self.entries
        return e[e.kind.isin(list(kinds)) & e.method.isin([method, "n/a"])]

    def years(self) -> list[int]:
        """The calendar years the accounting period ``[start, end)`` touches."""
        last = self.end - dt.timedelta(days=1)
        return list(range(self.start.year, last.year + 1))

    def _year(self, year: int | None) -> int:
        """``year``, or the ledger's one calendar year (a GPC inventory covers one)."""
        years = self.years()
        if year is None:
            if len(years) == 1:
                return years[0]
            raise LedgerError(
                f"the ledger spans the calendar years {', '.join(map(str, years))}; a GPC "
                "inventory covers one: pass year="
            )
        if int(year) not in years:
            raise LedgerError(
                f"year {year} is outside the ledger's period {self.start}..{self.end} "
                f"(years {', '.join(map(str, years))})"
            )
        return int(year)

    def inventory_context(self) -> InventoryContext:
        """What the inventory rules need from the twin (built once per ledger)."""
        if self._context is None:
            self._context = InventoryContext.from_twin(self.twin)
        return self._context

    def totals(self, year: int | None = None, method: str = "location") -> InventoryTotals:
        """The GPC totals of one calendar year with their completeness
        (:func:`carbon.inventory.inventory_totals`)."""
        if method not in ("location", "market"):
            raise LedgerError(f"method must be 'location' or 'market', not {method!r}")
        return inventory_totals(
            self.entries,
            self.inventory_context(),
            self._year(year),
            method,
            ne_threshold=self.ne_threshold,
        )

    def total(
        self, method: str = "location", total: str = "BASIC", year: int | None = None
    ) -> float:
        """A GPC total of one calendar year [t CO2e] (``BASIC``, ``BASIC+``, ``territorial``,
        ``scope2``), summed from the rows of :meth:`gpc_table` (rows keyed NE add nothing):
        see :func:`carbon.inventory.inventory_totals`. ``year`` defaults to the ledger's one
        calendar year."""
        return self.totals(year, method).total(total)

    def rollup(
        self,
        by: str = "block",
        method: str = "location",
        kinds: Iterable[str] = ("emission", "adjustment"),
    ) -> pd.DataFrame:
        """Roll entries up the twin to one level, with intensities.

        Parameters
        ----------
        by : ``subdistrict``, ``block`` or ``unit`` (residential area / office building /
            street frontage), or ``node`` (the metered node itself).
        method : scope-2 view.
        kinds : entry kinds to include.

        Returns
        -------
        DataFrame with ``node_id, name_zh, name_en, gpc_sector, scope, co2e_t`` [t CO2e] and,
        per node, ``residents``, ``floor_area_m2``, ``co2e_t_per_capita``,
        ``co2e_kg_per_m2``.
        """
        depth = {"subdistrict": 0, "block": 1, "unit": 2}
        e = self.select(method, kinds).copy()
        if by == "node":
            e["group"] = e.node_id
        elif by in depth:
            e["group"] = e.node_path.str.split("/").str[depth[by]]
            e["group"] = e["group"].fillna(e.node_id)
        else:
            raise LedgerError(f"by must be subdistrict, block, unit or node, not {by!r}")
        e["co2e_t"] = e.co2e_kg.map(float) / 1000.0
        out = (
            e.groupby(["group", "gpc_sector", "scope"], as_index=False)["co2e_t"]
            .sum()
            .rename(columns={"group": "node_id"})
        )
        twin = self.twin
        sizes = []
        for node_id in out.node_id.unique():
            sub = [twin.node(node_id), *twin.descendants(node_id)]
            res = sum(n.attributes.get("residents", 0) for n in sub if n.kind == "residential_area")
            if twin.node(node_id).kind == "subdistrict":
                res = twin.node(node_id).attributes.get("residents", res)
            area = sum(
                n.magnitude("floor_area")
                for n in sub
                if "floor_area" in n.attributes and n.kind != "building"
            )
            sizes.append(
                {
                    "node_id": node_id,
                    "name_zh": twin.node(node_id).name_zh,
                    "name_en": twin.node(node_id).name_en,
                    "residents": res,
                    "floor_area_m2": area,
                }
            )
        out = out.merge(pd.DataFrame(sizes), on="node_id", how="left")
        node_total = out.groupby("node_id").co2e_t.transform("sum")
        out["co2e_t_per_capita"] = (node_total / out.residents).where(out.residents > 0)
        out["co2e_kg_per_m2"] = (node_total * 1000 / out.floor_area_m2).where(out.floor_area_m2 > 0)
        return out.sort_values(["node_id", "gpc_sector", "scope"]).reset_index(drop=True)

    def monthly(self, method: str = "location") -> pd.DataFrame:
        """t CO2e per month, GPC sector and scope (all nodes)."""
        e = self.select(method).copy()
        e["co2e_t"] = e.co2e_kg.map(float) / 1000.0
        return e.groupby(["period_start", "gpc_sector", "scope"], as_index=False).co2e_t.sum()

    def gpc_table(
        self, node_id: str | None = None, method: str = "location", year: int | None = None
    ) -> pd.DataFrame:
        """The GPC inventory table of one calendar year for a node (default: the subdistrict).

        Every GPC v1.1 sub-category with a value or a notation key, per-gas columns (``NE``
        where a gas was not estimated), biogenic CO2 apart, scope, level, data quality and an
        explanation: :func:`carbon.inventory.gpc_inventory`. ``year`` defaults to the ledger's
        one calendar year; a ledger spanning several raises a :class:`LedgerError` listing
        them.
        """
        node_id = node_id or self.twin.root.id
        self.twin.node(node_id)
        if method not in ("location", "market"):
            raise LedgerError(f"method must be 'location' or 'market', not {method!r}")
        return gpc_inventory(
            self.entries,
            self.inventory_context(),
            self._year(year),
            method,
            node_id,
            self.ne_threshold,
        )

    # ------------------------------------------------------------------ publishing
    def gpc_tables(self) -> pd.DataFrame:
        """The GPC table of every calendar year, of the root and of every block, in both
        scope-2 views.

        Returns
        -------
        pandas.DataFrame
            :meth:`gpc_table` rows (``year`` among them) with ``node_id`` and ``method`` in
            front.
        """
        return self.inventories().table

    def inventories(self) -> Inventories:
        """The tables of :meth:`gpc_tables` with the GPC totals of each
        (:func:`carbon.inventory.inventories`: one pass over the entries), as a snapshot
        publishes them."""
        twin = self.twin
        return inventories(
            self.entries,
            self.inventory_context(),
            self.years(),
            [twin.root.id, *(c.id for c in twin.children(twin.root.id))],
            ("location", "market"),
            self.ne_threshold,
        )

    def publish(
        self,
        out: str | Path,
        *,
        close_through: dt.date | str | None = None,
        recipe: Any = None,
        models: Any = None,
        provenance: dict[str, dict[str, Any]] | None = None,
        located: dict[str, str] | None = None,
        tables: dict[str, pd.DataFrame] | None = None,
        meta: dict[str, Any] | None = None,
        latest: bool = True,
        arrow: pa.Table | None = None,
    ) -> Snapshot:
        """Publish an immutable snapshot folder (see :mod:`carbon.snapshot`).

        Parameters
        ----------
        out : the snapshots folder; the snapshot goes to ``out/<snapshot_id>`` and
            ``out/LATEST`` names it.
        close_through : close every period ending on or before this date: its entries are
            recorded in the store (append-only) and later builds add adjustments instead of
            changing them.
        recipe : the ledger script (:class:`carbon.pipeline.LedgerScript`) the ledger was built
            by; the manifest records it.
        models : the :class:`carbon.pipeline.ModelOutput` whose side tables and manifest facts
            are published.
        provenance : batch id -> provenance recorded at ingest (synthetic or not).
        located : batch id -> the file's absolute path (a hint in ``environment``).
        tables, meta : extra side tables and manifest facts.
        latest : point ``out/LATEST`` at the snapshot.
        arrow : the entries as an Arrow table of :data:`carbon.snapshot.ENTRY_SCHEMA`, when
            the caller has them (the same rows as :attr:`entries`): written as they are.

        The manifest's ``environment`` records the engine that ran the build. Engines give
        identical entries, so the snapshot id and every output file are the same whichever
        ran it.
        """
        env: dict[str, Any] = {"inputs": dict(sorted((located or {}).items()))}
        data = None
        if recipe is not None:
            data = recipe.recipe()
            env["script_folder"] = str(Path(recipe.base).resolve())
        snapshot = publish_ledger(
            self,
            out,
            recipe=data,
            tables={**(models.tables if models else {}), **(tables or {})},
            meta={**(models.meta if models else {}), **(meta or {})},
            provenance=provenance,
            environment=env,
            latest=latest,
            arrow=arrow,
        )
        if close_through is not None:
            self.close(snapshot.id, close_through)
        return snapshot

    def close(self, snapshot_id: str, through: dt.date | str) -> int:
        """Record the entries of periods ending on or before ``through`` as closed.

        Closed entries are kept as published; later builds add ``adjustment`` entries for any
        difference (DESIGN decision 5). Returns the number of entries newly closed.
        """
        from carbon.snapshot import entries_table

        through_d = _as_date(through)
        table = entries_table(self.entries[self.entries.period_end <= through_d])
        con = self.store.con
        before = con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0]
        con.register("_closing", table)
        try:
            con.execute(
                "INSERT INTO ledger_entries SELECT c.*, ?, now() FROM _closing c "
                "WHERE c.entry_id NOT IN (SELECT entry_id FROM ledger_entries)",
                [snapshot_id],
            )
        finally:
            con.unregister("_closing")
        return int(con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0] - before)


def _as_date(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def build_ledger(
    store: Store,
    twin: Twin,
    factors: FactorSet,
    start: str | dt.date,
    end: str | dt.date,
    *,
    ne_threshold: float = 0.5,
    extra_entries: pd.DataFrame | None = None,
    strict: bool = False,
    engine: str = "duckdb",
    master: str | None = None,
    readings: str | Sequence[str] | None = None,
    activities: str | Sequence[str] | None = None,
    spark_config: dict[str, str] | None = None,
    batches: Sequence[str] | None = None,
    synthetic_batches: Iterable[str] = (),
) -> Ledger:
    """Build the ledger of a twin over ``[start, end)`` from the store.

    Parameters
    ----------
    store : the store with readings and activity data.
    twin : the community twin (its meters are synced into the store).
    factors : the factor set (a profile).
    start, end : first day and day after the last day, local time; whole months.
    ne_threshold : coverage below which a GPC row shows ``NE`` [0..1].
    extra_entries : entries made by models (``avoided`` or ``removal`` kinds) to stamp and
        include; see :mod:`carbon.interventions`.
    strict : turn data-quality warnings into a :class:`carbon.warnings.QualityError`.
    engine : ``duckdb`` (embedded, default) or ``spark``: where the ledger SQL runs. Both give
        identical entries (DESIGN decision 7; :mod:`carbon.engines`).
    master : Spark master URL (default ``local[2]``).
    readings, activities : Parquet files (or globs, or URLs the Spark executors can read) of
        current readings and activity rows, in the schema of
        :func:`carbon.engines.export_inputs`, read instead of the store's. Spark on a cluster
        needs them; batches, closed entries and the manifest still come from the store.
    spark_config : extra Spark settings (object-storage credentials, memory...).
    batches : build from exactly these store batches (a ledger script's inputs); None = every
        batch in the store. The manifest records which.
    synthetic_batches : ids of batches whose provenance is synthetic
        (:func:`carbon.synth.provenance`); the activity data of an entry whose source batches
        are all synthetic (gap-fill estimates aside) are graded ``L``
        (:func:`carbon.valuation.grade_synthetic`).

    Returns
    -------
    Ledger

    Raises
    ------
    LedgerError
        When ``start``/``end`` are not whole months or are in the wrong order.
    FactorNotFoundError
        When an activity present in the data has no factor in force.
    carbon.engines.EngineError
        When the engine cannot run (pyspark or Java missing, unreadable inputs).
    """
    from carbon.engines import open_engine

    start_d, end_d = _as_date(start), _as_date(end)
    if start_d.day != 1 or end_d.day != 1 or end_d <= start_d:
        raise LedgerError(
            f"start {start_d} and end {end_d} must be first days of months, start before end"
        )
    store.sync_twin(twin)
    tz = twin.site.timezone.replace("'", "")
    with open_engine(
        engine,
        store,
        master=master,
        readings=readings,
        activities=activities,
        start=start_d,
        end=end_d,
        spark_config=spark_config,
        batches=batches,
    ) as sql:
        entries, coverage, unused, warnings = _run_sql(sql, twin, factors, tz, start_d, end_d)
        described = sql.describe()
    # GPC III.4: the wastewater of the metered water (IPCC 2006 Vol. 5 Ch. 6), in entry order.
    wastewater, more = wastewater_from_water(entries, factors, twin)
    warnings += more
    # GPC v1.1 Ch. 8: biogenic CO2 as memo entries, in no total.
    memo, more = biogenic_memo(pd.concat([entries, wastewater]), factors, twin)
    warnings += more
    if len(wastewater) or len(memo):
        entries = pd.concat([entries, wastewater, memo], ignore_index=True)
        entries = entries.sort_values("entry_id", kind="stable").reset_index(drop=True)
    synthetic = set(synthetic_batches)
    if synthetic:  # after the SQL, so that DuckDB and Spark give the same entries
        fills = store.con.execute(
            "SELECT batch_id FROM batches WHERE kind = 'estimate'"
        ).fetchall()
        entries = grade_synthetic(entries, synthetic, {str(b) for (b,) in fills})

    if len(unused):
        warnings.append(
            QualityWarning(
                "gec.unused",
                f"{len(unused)} node-months hold green-power certificates beyond their metered "
                "electricity; the excess is not claimed",
                {"node_months": unused.astype(str).values.tolist()[:50]},
            )
        )
    built = entries  # in entry_id order (the SQL's ORDER BY)
    if extra_entries is not None and len(extra_entries):
        entries = pd.concat([entries, _stamp(extra_entries, twin, factors)], ignore_index=True)
    entries = _adjust_closed(store, entries, start_d, end_d)
    # DuckDB's ORDER BY is byte order, as pandas'; other engines' results are checked.
    if (
        entries is not built or engine != "duckdb"
    ) and not entries.entry_id.is_monotonic_increasing:
        entries = entries.sort_values("entry_id", kind="stable")
    entries = entries.reset_index(drop=True)
    low = coverage[coverage.completeness < ne_threshold]
    if len(low):
        warnings.append(
            QualityWarning(
                "coverage.low",
                f"{len(low)} meter-months below {ne_threshold:.0%} coverage",
                {"meter_months": low[["meter_id", "month"]].astype(str).values.tolist()[:50]},
            )
        )
    raise_if_strict(warnings, strict)
    used = store.frame(
        "SELECT * FROM batches WHERE ? IS NULL OR list_contains(?, batch_id) "
        "ORDER BY started_at, batch_id",
        [None if batches is None else 1, list(batches or [])],
    )
    return Ledger(
        entries=entries,
        coverage=coverage,
        twin=twin,
        factors=factors,
        start=start_d,
        end=end_d,
        batches=used,
        store=store,
        warnings=warnings,
        ne_threshold=ne_threshold,
        engine=described,
        named_batches=batches is not None,
    )


# ---------------------------------------------------------------------------------- the SQL
# Written once, in DuckDB's dialect; carbon.engines runs it on DuckDB as is and on Spark
# through sqlglot. Portable on purpose: range joins with half-open validity (never ASOF),
# literals instead of parameters, utc_to_local / local_to_utc for time zones
# (carbon.engines.FUNCTIONS), explicit casts wherever a type reaches the entries.


def _run_sql(
    sql: Engine, twin: Twin, factors: FactorSet, tz: str, start: dt.date, end: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[QualityWarning]]:
    """Run the ledger's SQL on an engine: (entries, coverage, unused GECs, warnings)."""
    meters = twin.meters_frame()
    pairs = [
        (a, None if pd.isna(u) else u)
        for a, u in zip(meters.activity.tolist(), meters.use_type.tolist(), strict=True)
    ]
    refs = {p: classify(*p) for p in set(pairs)}
    tree = twin.tree_frame()
    regions = tree.set_index("id")["region"]
    meter_info = pd.DataFrame(
        {
            "meter_id": meters.meter_id,
            "node_id": meters.node_id,
            "activity": meters.activity,
            "region": regions.reindex(meters.node_id).to_numpy(),
            "gpc_ref": [refs[p] for p in pairs],
            "meter_interval": meters["interval"],
        }
    )
    period = f"period_start >= {_date(start)} AND period_start < {_date(end)}"
    acts = sql.arrow(
        f"SELECT DISTINCT node_id, activity FROM _in_activities WHERE {period} "
        "AND activity <> 'electricity.green_certificate' ORDER BY node_id, activity"
    ).to_pylist()
    pairs_in = meter_info[["activity", "region"]].drop_duplicates()
    needs = set(zip(pairs_in.activity.tolist(), pairs_in.region.tolist(), strict=True))
    needs |= {(a["activity"], twin.region_of(a["node_id"])) for a in acts}
    has_gec = sql.arrow(
        f"SELECT count(*) AS n FROM _in_activities WHERE {period} "
        "AND activity = 'electricity.green_certificate'"
    ).to_pylist()[0]["n"]
    if has_gec:
        needs |= {("electricity.green_certificate", twin.site.region)}
    segments, warnings = factor_segments(factors, needs, start, end)
    bounds = set(segments.valid_from) | set(segments.valid_to) if len(segments) else set()
    monthly = all(b.day == 1 for b in bounds)
    node_frame = tree[["id", "path", "kind"]].rename(
        columns={"id": "node_id", "path": "node_path", "kind": "node_kind"}
    )
    # GPC row and region of the (node, activity) pairs that occur in the activity data only
    # (a cross product of every node and activity costs seconds on a city twin).
    act_refs = _frame(
        [
            {
                "node_id": a["node_id"],
                "activity": a["activity"],
                "gpc_ref": classify(a["activity"], twin.use_type_of(a["node_id"])),
                "region": twin.region_of(a["node_id"]),
            }
            for a in acts
            if a["node_id"] in twin.nodes
            and a["activity"] in ACTIVITIES
            and a["activity"] != "electricity.pv_self_consumed"
        ],
        ["node_id", "activity", "gpc_ref", "region"],
    )
    months = _month_starts(start, end)
    ends = [*months[1:], end]
    sql.load("_meter_info", _arrow(meter_info))
    sql.load("_segments_in", _segments_arrow(segments))
    sql.load("_node_frame", _arrow(node_frame))
    sql.load("_act_refs", _arrow(act_refs))
    sql.load(
        "_activity_units",
        pa.table(
            {
                "activity": pa.array(list(ACTIVITIES), pa.string()),
                "unit": pa.array([a.canonical_unit for a in ACTIVITIES.values()], pa.string()),
            }
        ),
    )
    sql.load(
        "_ref_scopes",
        pa.table(
            {
                "gpc_ref": pa.array(list(REFS), pa.string()),
                "scope": pa.array([r.scope for r in REFS.values()], pa.int64()),
                "gpc_sector": pa.array([ref.split(".")[0] for ref in REFS], pa.string()),
            }
        ),
    )
    sql.load(
        "_months",
        pa.table(
            {
                "month": pa.array(months, pa.date32()),
                "days": pa.array(
                    [(b - a).days for a, b in zip(months, ends, strict=True)], pa.int32()
                ),
            }
        ),
    )
    for name, query in _steps(tz, start, end, monthly):
        sql.create(name, query)
    ids = sql.arrow(
        f"SELECT DISTINCT batch_id FROM _per_batch UNION SELECT DISTINCT batch_id "
        f"FROM _in_activities WHERE {period}"
    ).column("batch_id")
    batch_ids = sorted(str(b) for b in ids.to_pylist())
    words = max(1, -(-len(batch_ids) // _BITS_PER_WORD))
    sql.load(
        "_bidx",
        pa.table(
            {
                "batch_id": pa.array(batch_ids, pa.string()),
                "word": pa.array([i // _BITS_PER_WORD for i in range(len(batch_ids))], pa.int64()),
                "bit": pa.array(
                    [1 << (i % _BITS_PER_WORD) for i in range(len(batch_ids))], pa.int64()
                ),
            }
        ),
    )
    unique = not meter_info.duplicated(["node_id", "gpc_ref", "activity"]).any()
    for name, query in _later_steps(
        start, end, words, monthly=monthly, unique=unique, gec=bool(has_gec)
    ):
        sql.create(name, query)
    mask_list = ", ".join(f"m{w}" for w in range(words))
    masks = sql.arrow(f"SELECT DISTINCT {mask_list} FROM _raw_entries")
    names = [
        ",".join(
            batch_ids[w * _BITS_PER_WORD + b]
            for w in range(words)
            for b in range(_BITS_PER_WORD)
            if (row[f"m{w}"] or 0) >> b & 1
        )
        for row in masks.to_pylist()
    ]
    sql.load("_mask_names", masks.append_column("source_batches", pa.array(names, pa.string())))
    entries = arrow_to_pandas(sql.arrow(_entries_sql(words)))[list(ENTRY_COLUMNS)]
    coverage = sql.arrow(
        "SELECT meter_id, month, expected, present, estimated, "
        "CAST(completeness AS DOUBLE) AS completeness FROM _coverage ORDER BY meter_id, month"
    ).to_pandas()
    coverage["month"] = pd.to_datetime(coverage["month"]).astype("datetime64[us]")
    unused = sql.arrow(_UNUSED_GEC_SQL).to_pandas()
    return entries, coverage, unused, warnings


def _steps(tz: str, start: dt.date, end: dt.date, monthly: bool) -> list[tuple[str, str]]:
    """The first steps of the ledger's SQL: factor segments and readings per batch.

    Readings are aggregated per meter, day and batch, or per month when every factor segment
    starts and ends on the first of a month (the factors are constant within them;
    docs/research/stack.md §2 b5). This is the one pass over the readings. A reading's local day
    or month comes from integer arithmetic on its instant
    (:func:`carbon.engines.local_time_sql`), never from a per-row time-zone conversion: over at
    most twelve months the aggregation groups by the local month's number and names the months
    after it (the scan 14 % faster at 100 M readings); over longer spans by the months' first
    instants (:func:`carbon.engines.period_start_sql`).
    """
    months = _month_starts(start, end)
    zone = ZoneInfo(tz)
    span = [dt.datetime.combine(d, dt.time(), zone).astimezone(dt.UTC) for d in (start, end)]
    first, stop = (f"local_to_utc(CAST({_date(d)} AS TIMESTAMP), '{tz}')" for d in (start, end))
    where = f"FROM _in_readings r WHERE r.ts_start >= {first} AND r.ts_start < {stop}"
    sums = """sum(r.amount) AS amount, count(*) AS n,
                   sum(CAST(r.quality = 'estimated' AS INTEGER)) AS n_est"""
    if monthly and len(months) <= 12:
        per_batch = f"""SELECT p.meter_id, {month_starts_sql("p.month", months)} AS day,
                   p.batch_id, p.amount, p.n, p.n_est
            FROM (SELECT r.meter_id, {local_month_sql("r.ts_start", tz, span[0], span[1])}
                         AS month, r.batch_id, {sums}
                  {where} GROUP BY ALL) p"""
    else:
        bucket = (
            period_start_sql("r.ts_start", tz, months)
            if monthly
            else f"CAST({local_time_sql('r.ts_start', tz, span[0], span[1])} AS DATE)"
        )
        per_batch = f"""SELECT r.meter_id, {bucket} AS day, r.batch_id, {sums}
            {where} GROUP BY ALL"""
    return [
        (
            "_seg",
            """SELECT CAST(seg AS BIGINT) AS seg, activity, region, method,
                CAST(valid_from AS DATE) AS valid_from, CAST(valid_to AS DATE) AS valid_to,
                factor_id, CAST(f_co2e AS DECIMAL(18, 9)) AS f_co2e,
                CAST(f_co2 AS DECIMAL(18, 9)) AS f_co2, CAST(f_ch4 AS DECIMAL(18, 9)) AS f_ch4,
                CAST(f_n2o AS DECIMAL(18, 9)) AS f_n2o, dq_factor, notes FROM _segments_in""",
        ),
        ("_per_batch", per_batch),
    ]


# Source batches travel as bit masks: each batch of the build has a bit (word, bit) in
# ``_bidx``; a row's batches are the OR of its readings' bits, one BIGINT per 62 batches.
# bit_or is as cheap as a sum, where list aggregates of batch ids cost a third of the build
# after the scan of the readings. The masks are spelled out once per distinct mask at the end.
_BITS_PER_WORD = 62


def _masks(words: int, source: str = "b") -> str:
    """SQL: the mask aggregates ``m0, m1, ...`` over rows with ``word`` and ``bit`` columns."""
    return ", ".join(
        f"bit_or(CASE WHEN {source}.word = {w} THEN {source}.bit ELSE CAST(0 AS BIGINT) END) "
        f"AS m{w}"
        for w in range(words)
    )


def _mask_cols(words: int, alias: str) -> str:
    return ", ".join(f"{alias}.m{w}" for w in range(words))


def _or_masks(words: int, alias: str) -> str:
    return ", ".join(f"bit_or({alias}.m{w}) AS m{w}" for w in range(words))


def _later_steps(
    start: dt.date, end: dt.date, words: int, *, monthly: bool, unique: bool, gec: bool
) -> list[tuple[str, str]]:
    """The rest of the ledger's SQL, over ``_per_batch`` and the batch bits ``_bidx``.

    Non-metered activity rows count in the month their period starts. Rows are keyed by
    factor segment id (``seg``) and joined to the segment's factor columns once, at the end.
    ``monthly``: readings were bucketed by month (see :func:`_steps`); ``unique``: no node has
    two meters of one activity and GPC row (nothing to add up per node); ``gec``: the period
    holds green-power certificates (else the market rows need no certificate matching).
    """
    period = f"period_start >= {_date(start)} AND period_start < {_date(end)}"
    covered_masks = ", ".join(
        f"CASE WHEN k.gec_kwh > 0 THEN k.g{w} ELSE k.m{w} END AS m{w}" for w in range(words)
    )
    gec_masks = ", ".join(f"gc.m{w} AS g{w}" for w in range(words))
    # Monthly buckets are months already; daily ones add up to them.
    present = (
        """
                SELECT meter_id, day AS month, n AS present, n_est AS estimated FROM _daily"""
        if monthly
        else """
                SELECT meter_id, CAST(date_trunc('month', day) AS DATE) AS month,
                       sum(n) AS present, sum(n_est) AS estimated
                FROM _daily GROUP BY ALL"""
    )
    combined = f"""combined AS (
                SELECT 0 AS src, m.node_id, m.gpc_ref, m.activity, m.seg, m.period_start,
                       m.amount, m.readings, m.estimated, g.completeness, g.meters,
                       {_mask_cols(words, "m")}
                FROM _metered m
                LEFT JOIN _groups g ON g.node_id = m.node_id AND g.gpc_ref = m.gpc_ref
                     AND g.activity = m.activity AND g.month = m.period_start
                UNION ALL
                SELECT 1, a.node_id, a.gpc_ref, a.activity, a.seg, a.period_start, a.amount,
                       a.readings, 0, CAST(1 AS DECIMAL(9, 6)), 0, {_mask_cols(words, "a")}
                FROM _acts_in a
            )"""
    return [
        (
            "_daily",
            f"""SELECT p.meter_id, p.day, sum(p.amount) AS amount, sum(p.n) AS n,
                   sum(p.n_est) AS n_est, {_masks(words)}
            FROM _per_batch p JOIN _bidx b ON b.batch_id = p.batch_id
            GROUP BY p.meter_id, p.day""",
        ),
        (
            "_coverage",
            f"""WITH months AS (
                SELECT i.meter_id, m.month,
                       CASE i.meter_interval WHEN '1h' THEN 24 * m.days
                                             WHEN '15min' THEN 96 * m.days
                                             WHEN '1d' THEN m.days ELSE 1 END AS expected
                FROM _meter_info i CROSS JOIN _months m
            ), present AS ({present}
            )
            SELECT m.meter_id, m.month, CAST(m.expected AS BIGINT) AS expected,
                   CAST(coalesce(p.present, 0) AS BIGINT) AS present,
                   CAST(coalesce(p.estimated, 0) AS BIGINT) AS estimated,
                   CAST(least(1, coalesce(p.present, 0) / m.expected) AS DECIMAL(9, 6))
                       AS completeness
            FROM months m LEFT JOIN present p ON p.meter_id = m.meter_id
                 AND p.month = m.month""",
        ),
        (
            "_groups",
            """SELECT i.node_id, i.gpc_ref, i.activity, c.month, c.completeness,
                   CAST(1 AS BIGINT) AS meters
            FROM _coverage c JOIN _meter_info i ON i.meter_id = c.meter_id"""
            if unique
            else """SELECT i.node_id, i.gpc_ref, i.activity, c.month,
                   CAST(least(1, sum(c.present) / sum(c.expected)) AS DECIMAL(9, 6))
                       AS completeness,
                   count(*) AS meters
            FROM _coverage c JOIN _meter_info i ON i.meter_id = c.meter_id GROUP BY ALL""",
        ),
        # Per node first (a node's meters of one activity and GPC row add up), then the
        # factor segment: monthly buckets fall in one segment each, so no second aggregation.
        (
            "_node_day",
            f"""SELECT i.node_id, i.gpc_ref, i.activity, i.region, d.day, d.amount,
                   d.n AS readings, d.n_est AS estimated, {_mask_cols(words, "d")}
            FROM _daily d JOIN _meter_info i ON i.meter_id = d.meter_id"""
            if unique
            else f"""SELECT i.node_id, i.gpc_ref, i.activity, i.region, d.day,
                   sum(d.amount) AS amount, sum(d.n) AS readings, sum(d.n_est) AS estimated,
                   {_or_masks(words, "d")}
            FROM _daily d JOIN _meter_info i ON i.meter_id = d.meter_id
            GROUP BY i.node_id, i.gpc_ref, i.activity, i.region, d.day""",
        ),
        (
            "_metered",
            f"""SELECT d.node_id, d.gpc_ref, d.activity, s.seg, d.day AS period_start,
                   d.amount, d.readings, d.estimated, {_mask_cols(words, "d")}
            FROM _node_day d
            JOIN _seg s ON s.activity = d.activity AND s.region = d.region
                 AND d.day >= s.valid_from AND d.day < s.valid_to"""
            if monthly
            else f"""SELECT d.node_id, d.gpc_ref, d.activity, s.seg,
                   CAST(date_trunc('month', d.day) AS DATE) AS period_start,
                   sum(d.amount) AS amount, sum(d.readings) AS readings,
                   sum(d.estimated) AS estimated, {_or_masks(words, "d")}
            FROM _node_day d
            JOIN _seg s ON s.activity = d.activity AND s.region = d.region
                 AND d.day >= s.valid_from AND d.day < s.valid_to
            GROUP BY d.node_id, d.gpc_ref, d.activity, s.seg,
                     CAST(date_trunc('month', d.day) AS DATE)""",
        ),
        (
            "_acts_in",
            f"""SELECT a.node_id, r.gpc_ref, a.activity, s.seg,
                   CAST(date_trunc('month', a.period_start) AS DATE) AS period_start,
                   sum(a.amount) AS amount, count(*) AS readings, {_masks(words)}
            FROM _in_activities a
            JOIN _act_refs r ON r.node_id = a.node_id AND r.activity = a.activity
            JOIN _seg s ON s.activity = a.activity AND s.region = r.region
                 AND a.period_start >= s.valid_from AND a.period_start < s.valid_to
            JOIN _bidx b ON b.batch_id = a.batch_id
            WHERE a.{period}
            GROUP BY a.node_id, r.gpc_ref, a.activity, s.seg,
                     CAST(date_trunc('month', a.period_start) AS DATE)""",
        ),
        # Market-based: kWh covered by green-power certificates on the node take the GEC
        # factor; the rest keep the residual-like factor. Certificates apply to the node's
        # largest market row of the month (ties by factor id), never beyond its consumption.
        (
            "_gec",
            f"""SELECT a.node_id,
                   CAST(date_trunc('month', a.period_start) AS DATE) AS period_start,
                   sum(a.amount) AS kwh, {_masks(words)}
            FROM _in_activities a
            JOIN _bidx b ON b.batch_id = a.batch_id
            -- only certificates a certificate factor covers can be claimed (gec.no_factor)
            SEMI JOIN _seg s ON s.activity = a.activity
                 AND a.period_start >= s.valid_from AND a.period_start < s.valid_to
            WHERE a.activity = 'electricity.green_certificate' AND a.{period}
            GROUP BY a.node_id, CAST(date_trunc('month', a.period_start) AS DATE)""",
        ),
        (
            "_raw_entries",
            f"""WITH {combined}
            SELECT c.node_id, c.gpc_ref, c.activity, s.method, c.period_start, s.factor_id,
                   s.f_co2e, s.f_co2, s.f_ch4, s.f_n2o, s.dq_factor, s.notes, c.amount,
                   c.readings, c.estimated, c.completeness, c.meters, {_mask_cols(words, "c")}
            FROM combined c JOIN _seg s ON s.seg = c.seg"""
            if not gec
            else f"""WITH {combined}, keyed AS (
                SELECT c.*, s.method, s.factor_id, s.f_co2e, s.f_co2, s.f_ch4, s.f_n2o,
                       s.dq_factor, s.notes
                FROM combined c JOIN _seg s ON s.seg = c.seg
            ), ranked AS (
                -- only market grid rows of node-months with certificates compete for them
                SELECT k.src, k.node_id, k.gpc_ref, k.seg, k.period_start,
                       row_number() OVER (PARTITION BY k.node_id, k.period_start
                                          ORDER BY k.amount DESC, k.factor_id) AS rank_in_month
                FROM keyed k SEMI JOIN _gec gc ON gc.node_id = k.node_id
                     AND gc.period_start = k.period_start
                WHERE k.method = 'market' AND k.activity = 'electricity.grid'
            ), covered AS (
                SELECT k.*, CASE WHEN r.rank_in_month = 1 THEN least(gc.kwh, k.amount)
                                 ELSE 0 END AS gec_kwh, {gec_masks}
                FROM keyed k
                LEFT JOIN ranked r ON r.src = k.src AND r.node_id = k.node_id
                     AND r.gpc_ref = k.gpc_ref AND r.seg = k.seg
                     AND r.period_start = k.period_start AND r.rank_in_month = 1
                LEFT JOIN _gec gc ON r.rank_in_month = 1 AND gc.node_id = k.node_id
                     AND gc.period_start = k.period_start
            )
            SELECT node_id, gpc_ref, activity, method, period_start, factor_id, f_co2e, f_co2,
                   f_ch4, f_n2o, dq_factor,
                   CASE WHEN gec_kwh > 0 THEN concat_ws(',', nullif(notes, ''), 'gec_covered')
                        ELSE notes END AS notes,
                   amount - gec_kwh AS amount, readings, estimated, completeness, meters,
                   {_mask_cols(words, "covered")}
            FROM covered
            UNION ALL
            SELECT k.node_id, k.gpc_ref, 'electricity.green_certificate', 'market',
                   k.period_start, s.factor_id, s.f_co2e, s.f_co2, s.f_ch4, s.f_n2o,
                   s.dq_factor, 'gec_covered', k.gec_kwh, 0, 0, k.completeness, k.meters,
                   {covered_masks}
            FROM covered k JOIN _seg s ON s.activity = 'electricity.green_certificate'
                 AND s.method = 'market' AND k.period_start >= s.valid_from
                 AND k.period_start < s.valid_to
            WHERE k.gec_kwh > 0""",
        ),
    ]


def _entries_sql(words: int) -> str:
    """The final query: entries in their published columns and order.

    Entry ids: SHA-256 over the entry's key joined by '|'; DATE cast to text is 'YYYY-MM-DD'
    in both engines. Amounts: DECIMAL(38, 6) x DECIMAL(18, 9) at scale 15, rounded to the
    gram half away from zero (DuckDB ROUND on DECIMAL; Spark ROUND is HALF_UP, the same rule).
    A gas whose factor is 0 weighs 0.000 kg and CO2 equal to CO2e is the same number, without
    the multiplication.
    """
    on = " AND ".join(f"k.m{w} = e.m{w}" for w in range(words)) or "TRUE"
    return f"""
SELECT 'E' || substr(sha256(concat_ws('|', 'emission', e.node_id,
                                      CAST(e.period_start AS VARCHAR), e.gpc_ref,
                                      e.activity, e.method, e.factor_id)), 1, 20) AS entry_id,
       'emission' AS kind, e.period_start,
       CAST(e.period_start + INTERVAL 1 MONTH AS DATE) AS period_end,
       e.node_id, n.node_path, n.node_kind, e.gpc_ref,
       g.gpc_sector,
       e.method, e.activity, CAST(e.amount AS DECIMAL(38, 6)) AS amount, u.unit, g.scope,
       e.factor_id, e.f_co2e AS factor_co2e,
       CASE WHEN e.f_co2 = e.f_co2e THEN e.co2e_kg
            ELSE CAST(round(CAST(e.amount AS DECIMAL(38, 6)) * e.f_co2, 3) AS DECIMAL(38, 3))
            END AS co2_kg,
       CASE WHEN e.f_ch4 = 0 THEN CAST(0 AS DECIMAL(38, 3))
            ELSE CAST(round(CAST(e.amount AS DECIMAL(38, 6)) * e.f_ch4, 3) AS DECIMAL(38, 3))
            END AS ch4_kg,
       CASE WHEN e.f_n2o = 0 THEN CAST(0 AS DECIMAL(38, 3))
            ELSE CAST(round(CAST(e.amount AS DECIMAL(38, 6)) * e.f_n2o, 3) AS DECIMAL(38, 3))
            END AS n2o_kg,
       e.co2e_kg,
       {dq_activity_sql("e.completeness", "e.estimated", "e.meters")} AS dq_activity,
       e.dq_factor, e.completeness, CAST(e.meters AS BIGINT) AS meters,
       CAST(e.readings AS BIGINT) AS readings, CAST(e.estimated AS BIGINT) AS estimated,
       k.source_batches, CAST(NULL AS VARCHAR) AS adjusts, nullif(e.notes, '') AS notes
FROM (SELECT r.*,
             CAST(round(CAST(r.amount AS DECIMAL(38, 6)) * r.f_co2e, 3) AS DECIMAL(38, 3))
                 AS co2e_kg
      FROM _raw_entries r
      WHERE r.amount <> 0 OR r.activity = 'electricity.green_certificate') e
JOIN _node_frame n ON n.node_id = e.node_id
JOIN _activity_units u ON u.activity = e.activity JOIN _ref_scopes g ON g.gpc_ref = e.gpc_ref
LEFT JOIN _mask_names k ON {on}
ORDER BY entry_id"""


_UNUSED_GEC_SQL = """
SELECT g.node_id, g.period_start, g.kwh AS certificates_kwh,
       coalesce(sum(e.amount), 0) AS covered_kwh
FROM _gec g LEFT JOIN _raw_entries e ON e.node_id = g.node_id
     AND e.period_start = g.period_start AND e.activity = 'electricity.green_certificate'
GROUP BY g.node_id, g.period_start, g.kwh HAVING g.kwh > coalesce(sum(e.amount), 0)
ORDER BY g.node_id, g.period_start"""


def _date(value: dt.date) -> str:
    """A DATE literal both engines read (the value is a date, never user text)."""
    return f"DATE '{value.isoformat()}'"


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a frame, DECIMAL columns as :class:`~decimal.Decimal` objects.

    As ``table.to_pandas()``, with the same values and exponents (``Decimal('1.500')`` for
    1.5 at scale 3), made faster: see :func:`_decimal_objects`. A column equal to one already
    made (CO2 is CO2e where a factor is all CO2) gets a copy of its array of the same
    (immutable) objects. Building the Decimals is most of the cost of handing 10^5 entries to
    pandas (0.27 s with pyarrow's conversion and dictionary encoding, about 0.2 s this way,
    for the 273,600 entries of benchmarks/ledger_build.py, inside the build).
    """
    decimals = [f.name for f in table.schema if pa.types.is_decimal(f.type)]
    if not decimals or table.num_rows == 0:
        return table.to_pandas()
    rest = table.drop_columns(decimals).to_pandas()
    made: dict[str, np.ndarray] = {}
    done: list[tuple[pa.ChunkedArray, np.ndarray]] = []
    for name in decimals:
        column = table.column(name)
        same = [values for other, values in done if other.equals(column)]
        if same:
            made[name] = same[0].copy()  # a new array of the same objects
            continue
        made[name] = (
            np.concatenate([_decimal_objects(c) for c in column.chunks])
            if column.num_chunks != 1
            else _decimal_objects(column.chunk(0))
        )
        done.append((column, made[name]))
    return pd.DataFrame(
        {c: made[c] if c in made else rest[c] for c in table.column_names}, copy=False
    )


_EXACT = decimal.Context(prec=40)  # more digits than an int64 has: products stay exact


def _decimal_objects(array: pa.Array) -> np.ndarray:
    """A DECIMAL Arrow array as an object array of :class:`~decimal.Decimal` (None for nulls).

    Where the unscaled values fit 64 bits (always, for ledger amounts below 9.2e12 at scale
    6), each Decimal is its integer times ``10 ** -scale`` in exact arithmetic, which gives the
    exponent pyarrow gives (``Decimal('1.500')``), at 3/4 of its cost; a column of one value
    makes one object, and a column with repeated values one object per distinct value
    (found by sorting the integers). Otherwise pyarrow converts it.
    """
    n = len(array)
    if n == 0 or pa.types.is_decimal256(array.type):
        return array.to_numpy(zero_copy_only=False)
    words = np.frombuffer(array.buffers()[1], dtype=np.int64, count=2 * (array.offset + n))
    low, high = words[2 * array.offset :: 2], words[2 * array.offset + 1 :: 2]
    if not np.array_equal(high, low >> 63):  # a value beyond 64 bits
        return array.to_numpy(zero_copy_only=False)
    unit = Decimal(1).scaleb(-array.type.scale)
    valid = None if array.null_count == 0 else np.asarray(array.is_valid())
    present = low if valid is None else low[valid]
    out = np.empty(n, dtype=object)
    with decimal.localcontext(_EXACT):
        if len(present) == 0 or present.min() == present.max():
            out[:] = Decimal(int(present[0]) if len(present) else 0) * unit
        else:
            distinct, index = np.unique(low, return_inverse=True)
            if len(distinct) * 3 > n * 2:  # nearly a value per row
                out[:] = [Decimal(i) * unit for i in low.tolist()]
            else:
                pool = np.empty(len(distinct), dtype=object)
                pool[:] = [Decimal(i) * unit for i in distinct.tolist()]
                out[:] = pool[index]
    if valid is not None:
        out[~valid] = None
    return out


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Rows as a frame with these columns, also when there are none."""
    return pd.DataFrame(rows, columns=columns)


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """A small frame of text columns as Arrow, every column plain ``string``."""
    return pa.table({c: pa.Array.from_pandas(frame[c]).cast(pa.string()) for c in frame.columns})


_SEGMENT_TYPES: dict[str, pa.DataType] = {
    "activity": pa.string(),
    "region": pa.string(),
    "method": pa.string(),
    "valid_from": pa.date32(),
    "valid_to": pa.date32(),
    "factor_id": pa.string(),
    "f_co2e": pa.decimal128(18, 9),
    "f_co2": pa.decimal128(18, 9),
    "f_ch4": pa.decimal128(18, 9),
    "f_n2o": pa.decimal128(18, 9),
    "dq_factor": pa.string(),
    "notes": pa.string(),
}


def _segments_arrow(segments: pd.DataFrame) -> pa.Table:
    """Factor segments as Arrow: dates as DATE, factors as DECIMAL(18, 9) [kg / unit].

    Factors come rounded to 9 decimals by :func:`carbon.valuation.value_factor`; quantizing
    again here only guards the DECIMAL(18, 9) type, by the same rule.
    """
    quantum = FACTOR
    cols: dict[str, pa.Array] = {"seg": pa.array(range(len(segments)), pa.int64())}
    for name, kind in _SEGMENT_TYPES.items():
        values = segments[name].tolist() if name in segments else []
        if pa.types.is_decimal(kind):
            values = [
                None if v is None else Decimal(v).quantize(quantum, ROUNDING) for v in values
            ]
        cols[name] = pa.array(values, kind)
    return pa.table(cols)


def _stamp(extra: pd.DataFrame, twin: Twin, factors: FactorSet) -> pd.DataFrame:
    """Value the amounts models hand over (avoided, removal) into entries.

    The models' own valued columns are ignored: the ledger values every amount itself with
    :func:`carbon.valuation.value_amounts`, the one valuation.
    """
    try:
        return value_amounts(extra, factors, twin)
    except ValueError as exc:
        raise LedgerError(f"extra entries: {exc}") from None


def _adjust_closed(
    store: Store, entries: pd.DataFrame, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Keep closed entries as published and add adjustments for any difference."""
    # Through Arrow, not store.frame (.df()): DECIMAL must stay Decimal and DATE stay date, as
    # in the fresh entries (a float co2e_kg never equals its Decimal; Timestamp vs date raises).
    closed = (
        store.con.sql(
            "SELECT * EXCLUDE (snapshot_id, closed_at) FROM ledger_entries "
            "WHERE period_start >= ? AND period_start < ? ORDER BY entry_id",
            params=[start, end],
        )
        .to_arrow_table()
        .to_pandas()
    )
    if closed.empty:
        return entries
    closed_end = closed.period_end.max()
    fresh_open = entries[entries.period_start >= closed_end]
    fresh_closed = entries[entries.period_start < closed_end]
    originals = closed[closed.kind != "adjustment"].set_index("entry_id")
    booked = closed.groupby(closed.adjusts.fillna(closed.entry_id)).co2e_kg.apply(
        lambda s: sum(s, Decimal(0))
    )
    adjustments = []
    fresh_ids = set(fresh_closed.entry_id)
    for _, row in fresh_closed.iterrows():
        before = booked.get(row.entry_id, Decimal(0))
        if row.co2e_kg != before:
            adjustments.append(
                _adjustment(
                    row,
                    row.co2e_kg - before,
                    row.amount
                    - (
                        originals.loc[row.entry_id, "amount"]
                        if row.entry_id in originals.index
                        else Decimal(0)
                    ),
                )
            )
    for entry_id, orig in originals.iterrows():
        if entry_id not in fresh_ids and booked.get(entry_id, Decimal(0)) != 0:
            vanished = orig.copy()
            vanished["entry_id"] = entry_id
            adjustments.append(_adjustment(vanished, -booked[entry_id], -orig.amount))
    adj = pd.DataFrame(adjustments, columns=list(ENTRY_COLUMNS))
    return pd.concat([closed[list(ENTRY_COLUMNS)], adj, fresh_open], ignore_index=True)


def _adjustment(row: pd.Series, delta_co2e: Decimal, delta_amount: Decimal) -> dict[str, Any]:
    key = f"adjustment|{row.entry_id}|{delta_co2e}|{row.source_batches}"
    out = row.to_dict()
    out.update(
        {
            "entry_id": "A" + hashlib.sha256(key.encode()).hexdigest()[:20],
            "kind": "adjustment",
            "adjusts": row.entry_id,
            "amount": delta_amount,
            "co2e_kg": delta_co2e,
            "co2_kg": Decimal(0),
            "ch4_kg": Decimal(0),
            "n2o_kg": Decimal(0),
            "notes": "correction of a closed period",
        }
    )
    return out
