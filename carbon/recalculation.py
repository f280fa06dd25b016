"""Base year and recalculation policy: when a restatement must recalculate the base year.

A community that tracks a target against a base year keeps the base-year inventory comparable
with later years. When the inventory of the base year changes (a correction of its data, a
change of boundary or method, a factor restated), the base year is recalculated only when the
change is *significant*: its cumulative effect on the base-year total reaches the policy's
threshold. Below the threshold, the change is recorded and the published base year stands.

The rules
---------
* **Policy** (:class:`RecalculationPolicy`): the base year, the significance threshold as a
  share of the base-year total [dimensionless, default 0.05 = 5 %] and the basis of the choice.
  The GPC asks cities to state a base year and to recalculate it for structural or method
  changes (GPC v1.1 Ch. 11-12, following the GHG Protocol Corporate Standard Ch. 5); neither
  fixes a number, and 5 % is the common practice threshold (docs/research/uncertainty.md §4).
* **Compared**: the location-based BASIC total of the base year (:func:`carbon.inventory.
  inventory_totals`, the headline) before and after; the change is the sum of all changes
  (cumulative), so many small corrections add up.
* **Triggered** when ``|after - before| >= threshold * |before|``, or when a BASIC row of the
  base year changes its notation key (a row that was ``NE`` is now estimated, or the reverse):
  that is a change of boundary or completeness, which the policy treats as significant whatever
  its size, because the base year would otherwise not cover what later years cover.
* **Why**: every changed row with its before/after value and every key change is listed.

Two entry points: :func:`assess_recalculation` compares two sets of entries (two snapshots);
:func:`assess_restatement` compares a ledger's entries as first published (``emission``) with
the same entries after its ``adjustment`` entries (a ledger restated after a closed period).

References
----------
WRI, C40, ICLEI, GPC v1.1 (2021), Ch. 11-12 (goal tracking, base year and recalculation).
WRI, WBCSD, *The GHG Protocol Corporate Accounting and Reporting Standard*, revised 2004,
Ch. 5 (tracking emissions over time: base-year recalculation, significance threshold).
Summarised in docs/research/uncertainty.md §4.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from carbon.errors import CarbonError
from carbon.inventory import InventoryContext, gpc_inventory, inventory_totals

if TYPE_CHECKING:
    from carbon.snapshot import Snapshot
    from carbon.twin import Twin

__all__ = [
    "DEFAULT_THRESHOLD",
    "Recalculation",
    "RecalculationError",
    "RecalculationPolicy",
    "assess_recalculation",
    "assess_restatement",
]

DEFAULT_THRESHOLD = 0.05
"""Significance threshold: 5 % of the base-year total [dimensionless] (common practice under
the GHG Protocol Corporate Standard Ch. 5; docs/research/uncertainty.md §4)."""


class RecalculationError(CarbonError, ValueError):
    """A policy that cannot be applied (a threshold outside (0, 1))."""


@dataclass(frozen=True)
class RecalculationPolicy:
    """A base year and the threshold of a significant change.

    Attributes
    ----------
    base_year : the calendar year of the base inventory.
    significance_threshold : share of the base-year BASIC total at or above which a change
        triggers a recalculation [dimensionless, 0..1].
    basis : why this base year and threshold (a plan, a clause).
    """

    base_year: int
    significance_threshold: float = DEFAULT_THRESHOLD
    basis: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.significance_threshold < 1:
            raise RecalculationError(
                f"significance_threshold must be a share in (0, 1), not "
                f"{self.significance_threshold!r} (0.05 = 5 % of the base-year total)"
            )


@dataclass(frozen=True)
class Recalculation:
    """Whether a change of the base-year inventory triggers a recalculation, and why.

    Attributes
    ----------
    base_year, threshold : the policy applied.
    in_period : whether the entries cover the base year at all; when not, nothing is assessed.
    before_t, after_t : location-based BASIC of the base year [t CO2e] before and after.
    change_t : after - before [t CO2e].
    change_share : |change| / |before| [dimensionless]; None when before is 0.
    triggered : whether the base year must be recalculated.
    reasons : why (or why not), one sentence each.
    rows : GPC row -> {before_t, after_t, before_key, after_key} for every changed row.
    """

    base_year: int
    threshold: float
    in_period: bool
    before_t: float | None = None
    after_t: float | None = None
    change_t: float | None = None
    change_share: float | None = None
    triggered: bool = False
    reasons: list[str] = field(default_factory=list)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the manifest's ``policy.assessment``), floats rounded to 6 decimals."""
        out = asdict(self)
        for k in ("before_t", "after_t", "change_t", "change_share"):
            if out[k] is not None:
                out[k] = round(float(out[k]), 6)
        return out


def _years(entries: pd.DataFrame) -> set[int]:
    if not len(entries):
        return set()
    return {int(y) for y in pd.to_datetime(entries["period_start"]).dt.year.unique()}


def assess_recalculation(
    before: pd.DataFrame,
    after: pd.DataFrame,
    twin_or_nodes: Twin | Snapshot | pd.DataFrame | InventoryContext,
    policy: RecalculationPolicy,
    ne_threshold: float = 0.5,
) -> Recalculation:
    """Compare the base-year inventory of two sets of entries under a policy.

    Parameters
    ----------
    before : the entries as published (e.g. the earlier snapshot's).
    after : the restated entries (e.g. the later snapshot's).
    twin_or_nodes : the twin, snapshot, nodes frame or context (as for
        :func:`carbon.inventory.gpc_inventory`).
    policy : base year and threshold.
    ne_threshold : data coverage below which a row shows ``NE`` [dimensionless].

    Returns
    -------
    Recalculation
    """
    year, threshold = policy.base_year, policy.significance_threshold
    if year not in _years(before) or year not in _years(after):
        return Recalculation(
            year,
            threshold,
            in_period=False,
            reasons=[f"the entries do not cover the base year {year}: nothing to assess"],
        )
    ctx = InventoryContext.of(twin_or_nodes)
    t0 = inventory_totals(before, ctx, year, ne_threshold=ne_threshold)
    t1 = inventory_totals(after, ctx, year, ne_threshold=ne_threshold)
    r0 = gpc_inventory(before, ctx, year, ne_threshold=ne_threshold).set_index("gpc_ref")
    r1 = gpc_inventory(after, ctx, year, ne_threshold=ne_threshold).set_index("gpc_ref")
    rows: dict[str, dict[str, Any]] = {}
    reasons: list[str] = []
    key_change = False
    for ref in r0.index:
        a, b = r0.loc[ref], r1.loc[ref]
        ka, kb = (
            None if pd.isna(k) or not k else str(k) for k in (a["notation_key"], b["notation_key"])
        )
        va = None if pd.isna(a["co2e_t"]) else round(float(a["co2e_t"]), 6)
        vb = None if pd.isna(b["co2e_t"]) else round(float(b["co2e_t"]), 6)
        if (ka, va) == (kb, vb):
            continue
        rows[ref] = {"before_t": va, "after_t": vb, "before_key": ka, "after_key": kb}
        if ka != kb and a["level"] == "basic":
            key_change = True
            reasons.append(
                f"BASIC row {ref} changed from {ka or 'a value'} to {kb or 'a value'}: a change "
                "of boundary or completeness of the base year"
            )
    change = t1.basic_t - t0.basic_t
    share = abs(change) / abs(t0.basic_t) if t0.basic_t else None
    significant = share is not None and share >= threshold
    if t0.basic_t == 0 and change != 0:
        significant = True
    if rows:
        reasons.insert(
            0,
            f"BASIC {year} {t0.basic_t:,.3f} t -> {t1.basic_t:,.3f} t "
            f"({change:+,.3f} t"
            + (f", {share:.2%} of the base year" if share is not None else "")
            + f"); threshold {threshold:.0%}: "
            + ("significant" if significant else "below the threshold"),
        )
    else:
        reasons.insert(0, f"the base-year {year} inventory is unchanged")
    return Recalculation(
        year,
        threshold,
        in_period=True,
        before_t=t0.basic_t,
        after_t=t1.basic_t,
        change_t=change,
        change_share=share,
        triggered=bool(significant or key_change),
        reasons=reasons,
        rows=rows,
    )


def assess_restatement(
    entries: pd.DataFrame,
    twin_or_nodes: Twin | Snapshot | pd.DataFrame | InventoryContext,
    policy: RecalculationPolicy,
    ne_threshold: float = 0.5,
) -> Recalculation:
    """Whether a ledger's ``adjustment`` entries restate its base year significantly.

    The ledger as first published is its entries without adjustments; restated, with them
    (DESIGN decision 5: a correction after a period is closed is an adjusting entry).
    Parameters are those of :func:`assess_recalculation`.
    """
    published = entries[entries["kind"] != "adjustment"]
    return assess_recalculation(published, entries, twin_or_nodes, policy, ne_threshold)
