"""Valuation: an activity amount times the factor in force, made into ledger entries.

This module is the one place where an amount becomes kilograms (DESIGN decision 11): the
factor lookup and its fallback policy, the per-gas split, the rounding rule, the data-quality
grades and the entry id. The ledger's SQL values metered amounts with the factor segments of
:func:`factor_segments` and the same rounding rule; the models (:mod:`carbon.interventions`,
:mod:`carbon.mv`) hand over *amounts* (:data:`AMOUNT_COLUMNS`), which the ledger values with
:func:`value_amounts` when it stamps them.

The rules
---------
* **Factor in force.** :meth:`carbon.factors.FactorSet.lookup` on the day valued, along the
  region's fallback chain. A market-based lookup that finds no market factor takes the
  location factor (flag ``market_fallback_location``); a factor used past its validity is
  flagged ``carried_forward`` (the vintage rule: a day past every published factor takes the
  newest vintage along the region chain, never an older one of a nearer level); a proxy
  ``proxy_factor``; a negative factor ``net_credit``.
* **Rounding.** Masses are rounded to the gram, half away from zero (:data:`ROUNDING`):
  ``Decimal.quantize(GRAM, ROUND_HALF_UP)`` in Python, which is what ``round(x, 3)`` does to
  a DECIMAL in DuckDB and Spark (HALF_UP). Amounts carry 6 decimals, factors 9.
* **Data quality** (GPC v1.1 Table 5.1 grades H / M / L): a factor is H when it is for the
  entry's own region with high confidence, L when it is a proxy, global, of low confidence or
  an assumption, else M (:func:`dq_factor`); activity data are H at >= 90 % completeness
  without estimates, M at >= 50 %, else L (:func:`dq_activity`). **Synthetic data are L**:
  activity data from inputs whose provenance is synthetic (:func:`carbon.synth.provenance`)
  are "highly-modelled" data in the GPC's words, whatever their completeness, so they are
  capped at L (:func:`dq_activity` ``synthetic=True``, :func:`grade_synthetic`); no fourth
  grade is added, so every face that knows H / M / L reads them (docs/research/gpc.md §1.6,
  docs/research/uncertainty.md §2).
* **Entry id.** ``E`` + the first 20 hex digits of SHA-256 over ``kind|node|period start|GPC
  reference|activity|method|factor id|notes`` (:func:`entry_id`); the SQL of the ledger
  computes the same digits for metered entries (``notes`` is left out there).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from carbon.activities import ACTIVITIES
from carbon.errors import FactorNotFoundError
from carbon.gpc import REFS, classify
from carbon.snapshot import ENTRY_COLUMNS
from carbon.warnings import QualityWarning
from carbon.waste import WASTEWATER_RETURN_RATIO

if TYPE_CHECKING:
    from carbon.factors import EmissionFactor, FactorSet
    from carbon.twin import Twin

__all__ = [
    "AMOUNT_COLUMNS",
    "BIOGENIC_SUFFIX",
    "DIRECT",
    "DQ_HIGH",
    "DQ_MEDIUM",
    "GRAM",
    "MICRO",
    "ROUNDING",
    "UNVALUED",
    "Valued",
    "biogenic_memo",
    "dq_activity",
    "dq_factor",
    "entry_id",
    "factor_segments",
    "grade_synthetic",
    "round_kg",
    "value_amounts",
    "value_factor",
    "wastewater_from_water",
]

ROUNDING = ROUND_HALF_UP
"""The one rounding rule of masses: half away from zero (Decimal's ROUND_HALF_UP)."""

GRAM = Decimal("0.001")
"""Masses are kept to the gram [kg]."""

MICRO = Decimal("0.000001")
"""Amounts are kept to six decimals [canonical unit]."""

FACTOR = Decimal("1e-9")
"""Factors are kept to nine decimals [kg / canonical unit] (DECIMAL(18, 9) in the ledger)."""

DQ_HIGH = 0.9
"""Completeness at or above which activity data are graded H (when nothing is estimated): the
library's mapping of the GPC v1.1 Table 5.1 grades onto meter coverage, an ASSUMPTION
(docs/research/gpc.md §1.6)."""

DQ_MEDIUM = 0.5
"""Completeness at or above which activity data are graded M (likewise an ASSUMPTION)."""

DIRECT = "direct"
"""``factor_activity`` of an amount that already is kg CO2 (removals)."""

UNVALUED = "none"
"""``factor_activity`` of an amount recorded at 0 kg (informational, e.g. exported PV)."""

AMOUNT_COLUMNS: dict[str, str] = {
    "kind": "avoided | removal",
    "period_start": "first local day of the month [date]",
    "node_id": "twin node the amount belongs to",
    "gpc_ref": "GPC reference number",
    "activity": "the entry's activity id",
    "factor_activity": "the activity whose factor values the amount; 'direct' = kg CO2 as "
    "given; 'none' = recorded at 0 kg",
    "method": "location | market for scope-2 amounts, n/a otherwise",
    "amount": "the amount [canonical unit, Decimal]",
    "unit": "canonical unit of the activity",
    "region": "factor region of the node",
    "valued_on": "the day whose factor values the amount (default period_start) [date]",
    "dq_activity": "H / M / L",
    "notes": "model tags: 'ex_ante intervention=...', 'ex_post intervention=...'",
}
"""What a model hands the ledger: amounts, never kilograms. Optional columns: ``valued_on``,
``factor_multiplier`` (units of ``factor_activity`` per unit of the amount, e.g. the grid kWh
per m3 of water pumped; the factor applied is the product, rounded to 9 decimals),
``dq_factor`` (overrides the factor grade, for direct amounts), ``completeness``, ``meters``,
``readings``, ``estimated``."""


def round_kg(value: Decimal) -> Decimal:
    """A mass rounded to the gram by :data:`ROUNDING` [kg]."""
    return value.quantize(GRAM, ROUNDING)


def dq_factor(factor: EmissionFactor, region: str) -> str:
    """GPC data quality of a factor for an entry in ``region``: H, M or L (module docstring).

    The Shanghai local grid factor is H, an MEE regional factor M, an IPCC default L
    (docs/research/gpc.md §1.6).
    """
    if factor.proxy or factor.confidence in ("low", "assumption") or factor.region == "GLOBAL":
        return "L"
    if factor.region == region and factor.confidence == "high":
        return "H"
    return "M"


def dq_activity(
    completeness: float, estimated: int = 0, meters: int = 1, synthetic: bool = False
) -> str:
    """GPC data quality of activity data from completeness [0..1]: H, M or L.

    Activity rows without meters (bills, registers) are H; metered data are H at or above
    :data:`DQ_HIGH` with no estimated reading, M at or above :data:`DQ_MEDIUM`, else L.
    Synthetic data (``synthetic=True``) are L whatever their completeness (module docstring).
    """
    if synthetic:
        return "L"
    if meters == 0:
        return "H"
    if estimated == 0 and completeness >= DQ_HIGH:
        return "H"
    return "M" if completeness >= DQ_MEDIUM else "L"


def dq_activity_sql(completeness: str, estimated: str, meters: str) -> str:
    """:func:`dq_activity` as a SQL CASE over three column expressions."""
    return (
        f"CASE WHEN {meters} = 0 THEN 'H' "
        f"WHEN {estimated} = 0 AND {completeness} >= {DQ_HIGH} THEN 'H' "
        f"WHEN {completeness} >= {DQ_MEDIUM} THEN 'M' ELSE 'L' END"
    )


def grade_synthetic(
    entries: pd.DataFrame, synthetic: Iterable[str], neutral: Iterable[str] = ()
) -> pd.DataFrame:
    """Entries with the activity grade ``L`` where their data are synthetic.

    An entry's data are synthetic when it has source batches, at least one of them is in
    ``synthetic`` and every other one is in ``neutral`` (gap-fill estimates made from them).
    Entries without source batches (model amounts) keep their grade.

    Parameters
    ----------
    entries : ledger entries (:data:`carbon.snapshot.ENTRY_COLUMNS`).
    synthetic : ids of batches whose provenance is synthetic.
    neutral : ids of batches that neither make nor unmake synthetic data (gap fills).

    Returns
    -------
    pandas.DataFrame
        A copy with ``dq_activity`` set to ``L`` on the synthetic entries.
    """
    synthetic, neutral = set(synthetic), set(neutral)
    if not synthetic or not len(entries):
        return entries

    def is_synthetic(batches: Any) -> bool:
        ids = {b for b in str(batches or "").split(",") if b}
        return bool(ids & synthetic) and ids <= synthetic | neutral

    mask = entries["source_batches"].map(is_synthetic).astype(bool)
    if not mask.any():
        return entries
    out = entries.copy()
    out.loc[mask, "dq_activity"] = dq_activity(1.0, synthetic=True)
    return out


def entry_id(*key: Any) -> str:
    """The id of an entry: ``E`` + 20 hex digits of SHA-256 over its key joined by ``|``."""
    return "E" + hashlib.sha256("|".join(map(str, key)).encode()).hexdigest()[:20]


# ------------------------------------------------------------------------------ factors
@dataclass(frozen=True)
class Valued:
    """The factor that values one activity in one region on one day.

    Attributes
    ----------
    factor : the factor found.
    co2e : kg CO2e per canonical unit, GWP-weighted, to :data:`FACTOR` decimals.
    co2, ch4, n2o : kg of each gas per unit (likewise); ``co2`` is None for a CO2e-only
        factor.
    dq : the factor's data-quality grade for the region.
    notes : flags (``market_fallback_location``, ``carried_forward``, ``proxy_factor``,
        ``net_credit``).
    """

    factor: EmissionFactor
    co2e: Decimal
    co2: Decimal | None
    ch4: Decimal
    n2o: Decimal
    dq: str
    notes: tuple[str, ...]

    @property
    def factor_id(self) -> str:
        """The factor's id."""
        return self.factor.id


def _factor(value: Decimal) -> Decimal:
    return Decimal(value).quantize(FACTOR, ROUNDING)


def value_factor(
    factors: FactorSet, activity: str, region: str, on: dt.date, method: str = "location"
) -> Valued:
    """The factor in force for an activity, by the one fallback policy (module docstring).

    Parameters
    ----------
    factors : the factor set.
    activity : the activity whose factor is looked up.
    region : the entry's region.
    on : the day valued [local date].
    method : ``location``, ``market`` or ``n/a`` (looked up as location).

    Raises
    ------
    FactorNotFoundError
        When no factor is in force, not even a location factor for a market lookup.
    """
    notes = []
    use = "location" if method == "n/a" else method
    try:
        f = factors.lookup(activity, region, on, method=use)
    except FactorNotFoundError:
        if use != "market":
            raise
        f = factors.lookup(activity, region, on, method="location")
        notes.append("market_fallback_location")
    if not f.valid_on(on):
        notes.append("carried_forward")
    if f.proxy:
        notes.append("proxy_factor")
    co2e = _factor(f.co2e_per_unit(factors.gwp))
    if co2e < 0:
        notes.append("net_credit")
    gases = {g: _factor(f.per_canonical(g)) for g in f.gases}
    split = set(gases) != {"CO2e"}  # CO2e-only factors have no per-gas split
    return Valued(
        factor=f,
        co2e=co2e,
        co2=gases.get("CO2", Decimal(0)) if split else None,
        ch4=gases.get("CH4", Decimal(0)),
        n2o=gases.get("N2O", Decimal(0)),
        dq=dq_factor(f, region),
        notes=tuple(notes),
    )


def factor_segments(
    factors: FactorSet,
    needs: Iterable[tuple[str, str]],
    start: dt.date,
    end: dt.date,
) -> tuple[pd.DataFrame, list[QualityWarning]]:
    """The factor in force for each (activity, region, method), as half-open day segments.

    Breakpoints are every ``valid_from`` / ``valid_to`` inside ``[start, end)`` of a factor of
    the activity; each segment is valued with :func:`value_factor` at its first day.
    Scope-2 activities get a ``market`` segment too.

    Returns
    -------
    (DataFrame, warnings)
        Columns ``activity, region, method, valid_from, valid_to, factor_id, f_co2e, f_co2,
        f_ch4, f_n2o, dq_factor, notes``; factor values [kg gas / canonical unit] as Decimal.
    """
    rows, warnings = [], []
    for activity, region in sorted(set(needs)):
        scope2 = REFS[classify(activity, None)].scope == 2
        methods = ("location", "market") if scope2 else ("n/a",)
        if activity == "electricity.green_certificate":
            methods = ("market",)
        cuts = {start, end}
        for f in factors:
            if f.activity == activity:
                cuts |= {d for d in (f.valid_from, f.valid_to) if d and start < d < end}
        bounds = sorted(cuts)
        for method in methods:
            for a, b in itertools.pairwise(bounds):
                try:
                    if activity == "electricity.green_certificate":
                        v = value_factor(factors, activity, region, a, "market")
                        v = Valued(v.factor, v.co2e, v.co2, v.ch4, v.n2o, v.dq,
                                   tuple(n for n in v.notes if n != "market_fallback_location"))
                    else:
                        v = value_factor(factors, activity, region, a, method)
                except FactorNotFoundError:
                    if activity == "electricity.green_certificate":
                        warnings.append(
                            QualityWarning(
                                "gec.no_factor",
                                f"green-power certificates in {region} cannot be claimed for "
                                f"{a}..{b}: no certificate factor is in force",
                                {"from": str(a), "to": str(b)},
                            )
                        )
                        continue
                    raise
                f = v.factor
                if "carried_forward" in v.notes:
                    warnings.append(
                        QualityWarning(
                            "factor.carried_forward",
                            f"{f.id} ({f.region}, valid to {f.valid_to}) carried forward to "
                            f"{a}..{b} for {activity} in {region}: the newest vintage along "
                            "the region chain (docs/factors.md, 'The vintage rule')",
                            {"factor_id": f.id, "from": str(a), "to": str(b)},
                        )
                    )
                if "net_credit" in v.notes:
                    warnings.append(
                        QualityWarning(
                            "factor.net_credit",
                            f"{f.id} is negative ({v.co2e.normalize()} "
                            f"kgCO2e/{f.canonical_unit}): a whole-chain factor that nets an "
                            "energy-recovery credit into the waste row",
                            {"factor_id": f.id},
                        )
                    )
                rows.append(
                    {
                        "activity": activity,
                        "region": region,
                        "method": method,
                        "valid_from": a,
                        "valid_to": b,
                        "factor_id": f.id,
                        "f_co2e": v.co2e,
                        "f_co2": v.co2,
                        "f_ch4": v.ch4,
                        "f_n2o": v.n2o,
                        "dq_factor": v.dq,
                        "notes": ",".join(v.notes),
                    }
                )
    return pd.DataFrame(rows), warnings


# ------------------------------------------------------------------------------ amounts
def _next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def _dec(value: Any, quantum: Decimal = MICRO) -> Decimal:
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return d.quantize(quantum, ROUNDING)


def _scaled(v: Valued, multiplier: Decimal) -> Valued:
    """A factor times a multiplier, each gas rounded to :data:`FACTOR` decimals."""

    def q(x: Decimal) -> Decimal:
        return (x * multiplier).quantize(FACTOR, ROUNDING)

    return Valued(
        factor=v.factor,
        co2e=q(v.co2e),
        co2=q(v.co2) if v.co2 is not None else None,
        ch4=q(v.ch4),
        n2o=q(v.n2o),
        dq=v.dq,
        notes=v.notes,
    )


def value_amounts(
    amounts: pd.DataFrame, factors: FactorSet, twin: Twin | None = None
) -> pd.DataFrame:
    """Value model amounts into ledger entries: factor, gases, rounding, grades, ids.

    Parameters
    ----------
    amounts : rows of :data:`AMOUNT_COLUMNS` (from :mod:`carbon.interventions` or
        :mod:`carbon.mv`). ``region`` may be left out when ``twin`` is given.
    factors : the factor set.
    twin : the twin, for node paths, kinds and regions; without it those columns are empty.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`carbon.snapshot.ENTRY_COLUMNS`, amounts and masses as Decimal.

    Raises
    ------
    FactorNotFoundError
        When no factor is in force for an amount.
    ValueError
        When a required column is missing or a kind is not ``avoided`` / ``removal``.
    """
    need = {"kind", "period_start", "node_id", "gpc_ref", "activity", "amount"}
    missing = need - set(amounts)
    if missing:
        raise ValueError(f"amounts lack columns {sorted(missing)}")
    bad = set(amounts.kind) - {"avoided", "removal"}
    if bad:
        raise ValueError(f"model amounts may only be 'avoided' or 'removal', not {sorted(bad)}")
    cache: dict[tuple[str, str, dt.date, str], Valued] = {}
    rows = []
    for r in amounts.to_dict("records"):
        get = lambda key, default=None, r=r: default if _missing(r.get(key)) else r[key]  # noqa: E731
        node = r["node_id"]
        period = r["period_start"]
        if isinstance(period, pd.Timestamp | dt.datetime):
            period = period.date()
        method = get("method", "n/a")
        amount = _dec(r["amount"])
        factor_activity = get("factor_activity", r["activity"])
        notes = get("notes", "") or ""
        region = get("region") or (twin.region_of(node) if twin is not None else "")
        if factor_activity == DIRECT:
            fid, fco2e = "", Decimal(1)
            co2: Decimal | None = round_kg(amount)
            ch4 = n2o = round_kg(Decimal(0))
            co2e = round_kg(amount)
            dqf = get("dq_factor", "L")
        elif factor_activity == UNVALUED:
            fid, fco2e = "", Decimal(0)
            co2 = ch4 = n2o = co2e = round_kg(Decimal(0))
            dqf = get("dq_factor", "L")
        else:
            on = get("valued_on", period)
            on = on.date() if isinstance(on, pd.Timestamp | dt.datetime) else on
            key = (factor_activity, region, on, method)
            v = cache.get(key)
            if v is None:
                v = cache[key] = value_factor(factors, factor_activity, region, on, method)
            mult = get("factor_multiplier")
            if mult is not None:
                v = _scaled(v, _dec(mult, FACTOR))
            fid, fco2e = v.factor_id, v.co2e
            co2 = round_kg(amount * v.co2) if v.co2 is not None else None
            ch4, n2o = round_kg(amount * v.ch4), round_kg(amount * v.n2o)
            co2e = round_kg(amount * v.co2e)
            dqf = get("dq_factor", v.dq)
            flags = ",".join(n for n in v.notes if n not in notes)
            notes = f"{notes} {flags}".strip() if flags else notes
        gpc = r["gpc_ref"]
        completeness = get("completeness", Decimal(1))
        meters = int(get("meters", 0))
        estimated = int(get("estimated", 0))
        rows.append(
            {
                "entry_id": entry_id(r["kind"], node, period, gpc, r["activity"], method, fid,
                                     notes),
                "kind": r["kind"],
                "period_start": period,
                "period_end": _next_month(period),
                "node_id": node,
                "node_path": twin.path(node) if twin is not None else "",
                "node_kind": twin.node(node).kind if twin is not None else "",
                "gpc_ref": gpc,
                "gpc_sector": gpc.split(".")[0],
                "scope": REFS[gpc].scope,
                "method": method,
                "activity": r["activity"],
                "amount": amount,
                "unit": get("unit", ""),
                "factor_id": fid,
                "factor_co2e": fco2e,
                "co2_kg": co2,
                "ch4_kg": ch4,
                "n2o_kg": n2o,
                "co2e_kg": co2e,
                "dq_activity": get("dq_activity")
                or dq_activity(float(completeness), estimated, meters),
                "dq_factor": dqf,
                "completeness": _dec(completeness),
                "meters": meters,
                "readings": int(get("readings", 0)),
                "estimated": estimated,
                "source_batches": "",
                "adjusts": None,
                "notes": notes or None,
            }
        )
    return pd.DataFrame(rows, columns=list(ENTRY_COLUMNS))


# ------------------------------------------------------------------------------ derived
WASTEWATER = "wastewater.treatment"
"""The activity :func:`wastewater_from_water` derives from metered ``water.supply``."""


def wastewater_from_water(
    entries: pd.DataFrame,
    factors: FactorSet,
    twin: Twin,
    ratio: Decimal = WASTEWATER_RETURN_RATIO,
) -> tuple[pd.DataFrame, list[QualityWarning]]:
    """Wastewater entries (GPC III.4) derived from the metered water of each node and month.

    The water a building uses returns to the sewer and is treated outside the subdistrict:
    the wastewater of a node-month is its metered ``water.supply`` times ``ratio``
    (:data:`carbon.waste.WASTEWATER_RETURN_RATIO`, GB 50014-2021 §4.1), valued with the
    ``wastewater.treatment`` factor in force on the month's first day (IPCC 2006 Vol. 5 Ch. 6
    CH4 and N2O per m3; ``factors/ipcc-2006-waste.toml``). A node-month that already has a
    reported ``wastewater.treatment`` entry gets none (reported data win, nothing is counted
    twice). The entry keeps the water entry's completeness, readings, batches and activity
    grade; its id is computed as the ledger's SQL computes metered ids.

    Parameters
    ----------
    entries : the metered and activity ``emission`` entries of a build
        (:data:`carbon.snapshot.ENTRY_COLUMNS`).
    factors : the factor set.
    twin : the twin, for regions and use types.
    ratio : wastewater per m3 of water [dimensionless].

    Returns
    -------
    (DataFrame, warnings)
        The derived entries (:data:`carbon.snapshot.ENTRY_COLUMNS`) and a
        ``wastewater.no_factor`` warning per region without a wastewater factor.
    """
    emissions = entries[entries.kind == "emission"]
    water = emissions[emissions.activity == "water.supply"]
    if not len(water):
        return pd.DataFrame(columns=list(ENTRY_COLUMNS)), []
    own = emissions[emissions.activity == WASTEWATER]
    reported = set(zip(own.node_id, own.period_start, strict=True))
    groups: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for r in water.to_dict("records"):
        key = (r["node_id"], r["period_start"])
        if key not in reported:
            groups.setdefault(key, []).append(r)
    rows, warnings, missing = [], [], set()
    for (node, period), parts in sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        first = parts[0]
        day = period.date() if isinstance(period, pd.Timestamp | dt.datetime) else period
        region = twin.region_of(node)
        try:
            v = value_factor(factors, WASTEWATER, region, day)
        except FactorNotFoundError:
            if region not in missing:
                missing.add(region)
                warnings.append(
                    QualityWarning(
                        "wastewater.no_factor",
                        f"no {WASTEWATER} factor in force in {region} on {day}: the wastewater "
                        f"of metered water (GPC III.4) is not estimated in profile "
                        f"{factors.name!r}",
                        {"region": region, "on": str(day)},
                    )
                )
            continue
        water_m3 = sum((Decimal(p["amount"]) for p in parts), Decimal(0))
        amount = _dec(water_m3 * ratio)
        gpc = classify(WASTEWATER, twin.use_type_of(node))
        batches = sorted({b for p in parts for b in (p["source_batches"] or "").split(",") if b})
        notes = ",".join([f"derived from water.supply x {ratio}", *v.notes])
        rows.append(
            {
                **first,
                "entry_id": entry_id("emission", node, day, gpc, WASTEWATER, "n/a", v.factor_id),
                "gpc_ref": gpc,
                "gpc_sector": gpc.split(".")[0],
                "scope": REFS[gpc].scope,
                "method": "n/a",
                "activity": WASTEWATER,
                "amount": amount,
                "unit": "m3",
                "factor_id": v.factor_id,
                "factor_co2e": v.co2e,
                "co2_kg": round_kg(amount * v.co2) if v.co2 is not None else None,
                "ch4_kg": round_kg(amount * v.ch4),
                "n2o_kg": round_kg(amount * v.n2o),
                "co2e_kg": round_kg(amount * v.co2e),
                "dq_factor": v.dq,
                "readings": sum(int(p["readings"]) for p in parts),
                "estimated": sum(int(p["estimated"]) for p in parts),
                "source_batches": ",".join(batches),
                "adjusts": None,
                "notes": notes,
            }
        )
    frame = pd.DataFrame(rows, columns=list(ENTRY_COLUMNS))
    if len(frame):
        frame = frame.astype(entries.dtypes.to_dict())
    return frame, warnings


BIOGENIC_SUFFIX = ".biogenic_co2"
"""An activity ``A + BIOGENIC_SUFFIX`` is the memo item of ``A``: its biogenic CO2."""


def biogenic_memo(
    entries: pd.DataFrame, factors: FactorSet, twin: Twin
) -> tuple[pd.DataFrame, list[QualityWarning]]:
    """Biogenic-CO2 memo entries beside the emission entries of activities that have one.

    GPC v1.1 reports the CO2 of burning biomass and the biogenic share of waste apart from the
    inventory, never in a total (Ch. 8; the separate biogenic-CO2 column of its reporting
    tables). For each ``emission`` entry whose activity ``A`` has a catalogue activity
    ``A.biogenic_co2`` (e.g. ``waste.msw.incineration.biogenic_co2``, IPCC 2006 Vol. 5 Eq. 5.2
    with ``1 - FCF``), this books an entry of kind ``memo`` with the same amount, node, month,
    GPC row, readings and batches, valued with the memo activity's factor in force on the
    month's first day. Every total of the library sums only ``emission`` and ``adjustment``
    entries, so a memo entry is in none; :func:`carbon.inventory.gpc_inventory` shows it in the
    ``biogenic_co2_t`` column.

    Parameters
    ----------
    entries : the ``emission`` entries of a build (:data:`carbon.snapshot.ENTRY_COLUMNS`).
    factors : the factor set.
    twin : the twin, for regions.

    Returns
    -------
    (DataFrame, warnings)
        The memo entries (:data:`carbon.snapshot.ENTRY_COLUMNS`) and a ``biogenic.no_factor``
        warning per memo activity and region without a factor (its biogenic CO2 is then NE).
    """
    emissions = entries[entries.kind == "emission"]
    memo_of = {
        a: a + BIOGENIC_SUFFIX for a in set(emissions.activity) if a + BIOGENIC_SUFFIX in ACTIVITIES
    }
    parents = emissions[emissions.activity.isin(list(memo_of))]
    rows: list[dict[str, Any]] = []
    warnings: list[QualityWarning] = []
    missing: set[tuple[str, str]] = set()
    for r in parents.to_dict("records"):
        memo = memo_of[r["activity"]]
        period = r["period_start"]
        day = period.date() if isinstance(period, pd.Timestamp | dt.datetime) else period
        region = twin.region_of(r["node_id"])
        try:
            v = value_factor(factors, memo, region, day)
        except FactorNotFoundError:
            if (memo, region) not in missing:
                missing.add((memo, region))
                warnings.append(
                    QualityWarning(
                        "biogenic.no_factor",
                        f"no {memo} factor in force in {region} on {day}: the biogenic CO2 of "
                        f"{r['activity']} is not estimated (NE) in profile {factors.name!r}",
                        {"activity": memo, "region": region, "on": str(day)},
                    )
                )
            continue
        amount = Decimal(r["amount"])
        co2 = round_kg(amount * v.co2) if v.co2 is not None else round_kg(amount * v.co2e)
        rows.append(
            {
                **r,
                "entry_id": entry_id("memo", r["entry_id"], v.factor_id),
                "kind": "memo",
                "method": "n/a",
                "activity": memo,
                "factor_id": v.factor_id,
                "factor_co2e": v.co2e,
                "co2_kg": co2,
                "ch4_kg": None,
                "n2o_kg": None,
                "co2e_kg": co2,
                "dq_factor": v.dq,
                "adjusts": None,
                "notes": ",".join(["biogenic_co2", "memo: in no total", *v.notes]),
            }
        )
    frame = pd.DataFrame(rows, columns=list(ENTRY_COLUMNS))
    if len(frame):
        frame = frame.astype(entries.dtypes.to_dict())
    return frame, warnings
