"""Scenarios: a portfolio of interventions adopted over years against business as usual.

A scenario file (``sites/<site>/scenarios/*.toml``) names a base year, the years to project,
targets, the business-as-usual (BAU) growth of each GPC sector, an optional grid
decarbonisation path, optional base-year emissions and the **measures**: intervention templates
of :mod:`carbon.interventions` applied to twin nodes or assets (or planned interventions of
the register) with an adoption schedule. :func:`load_scenario` validates the file against the
twin once; :func:`run_scenario` gives a :class:`ScenarioResult` with yearly trajectories, the
wedge of every measure, a marginal abatement cost curve (MACC) and plotly figures of each
(:func:`trajectory_figure`, :func:`wedges_figure`, :func:`macc_figure`, bilingual).

Model
-----
For a year ``y``, base year ``b``, GPC sector ``s`` with base-year emissions split into grid
electricity ``E_s`` and everything else ``O_s`` [t CO2e], annual BAU growth ``g_s`` and grid
index ``m(y)`` (see below)::

    BAU(y)      = sum_s (E_s * m(y) + O_s) * (1 + g_s)^(y - b)
    avoided(y)  = sum_k (a_k(y) - a_k(b)) * (G_k * m(y) + N_k)
    removal(y)  = sum_k (a_k(y) - a_k(b)) * R_k
    scenario(y) = BAU(y) - avoided(y)          (gross emissions; GPC keeps removals apart)
    net(y)      = scenario(y) - removal(y)

where, for measure ``k`` at full adoption, ``G_k`` is its avoided tonnes valued with the grid
electricity factor, ``N_k`` the other avoided tonnes (water, wastewater) and ``R_k`` its
removals, all [t CO2e / yr] of the base year: the interventions are estimated
(:meth:`carbon.interventions.Intervention.estimate`, location-based) over the base year's
calendar as if in service from its first day, and ``G_k`` is the sum of their ledger entries
whose factor is an ``electricity.grid`` factor (saved electricity, self-consumed PV, the
energy-intensity route of toilets), summed as amount x factor before the ledger's rounding to
the gram. ``a_k(y)`` is the adopted share. Only the gain over the
base year counts: what was adopted in the base year is already in the measured base-year
emissions.

Grid decarbonisation scales the electricity part of BAU and the grid-valued avoided tonnes by
the same index ``m(y)``, so a kWh saved in 2035 avoids less if the grid is cleaner. ``m(y)`` is
the path's factor in ``y`` over its factor in the base year: linear between the given points,
flat before the first, and falling by ``decline_per_year`` a year after the last (or from the
base year when no points are given). Only the path's *shape* is used: it is applied to the
factor the base emissions were computed with, so the base year is consistent whatever factor
set built the ledger. Factors of other activities are held at their base-year values.

Targets: the target line falls linearly from the base-year total (reduction 0) through each
target's ``(year, reduction)`` and stays at the last target's level afterwards.

MACC: per measure at full adoption in ``macc.year`` (default the base year), abatement
``A = G * m(year) + N + R`` [t CO2e / yr] and cost per tonne
``(sum_i capex_i * CRF(r_i, L_i) + opex_i - kWh * price) / A`` [CNY / t CO2e], with the
capital recovery factor ``CRF(r, L) = r / (1 - (1 + r)^-L)`` (``1 / L`` at ``r = 0``, as in
:class:`carbon.interventions.Estimate`) and the avoided electricity bill when an electricity
price is given (negative costs are savings). Sorted by cost per tonne ascending; the bar widths
are the abatements.

Simplifications (stated, not hidden): a share adopted in a year counts for the whole year;
interventions are replaced like for like at the end of their life (the annualised cost covers
it); adoption does not change BAU growth; the scenario is location-based only.

File format
-----------
::

    [scenario]
    id = "low_carbon_2035"
    base_year = 2023                  # first_year defaults to it
    last_year = 2035

    [[target]]                        # any number; linear from the base year between them
    year = 2030
    reduction = 0.2
    basis = "ASSUMPTION: ..."         # required: no community target is published

    [bau]
    growth = { I = 0.005, default = 0.0 }   # per GPC sector [1/yr]
    [bau.basis]
    I = "ASSUMPTION: ..."             # every rate needs its basis

    [grid]                            # optional; points and/or a decline after them
    decline_per_year = 0.021
    basis = "ASSUMPTION: ..."
    [[grid.point]]
    year = 2023
    factor = "0.5500 kgCO2/kWh"
    source = "MEE/NBS 2023 East China (docs/research/factors.md §1)"

    [base]                            # optional; or pass base_emissions= to run_scenario
    source = "..."
    emissions_t = { I = { electricity = 46384.3, other = 6504.7 } }

    [macc]                            # optional
    year = 2023                       # grid of this year values electricity on the MACC
    electricity_price = "0.617 CNY/kWh"
    source = "..."

    [[measure]]
    id = "office_led"
    kind = "led_lighting"             # a key of carbon.interventions.MODELS
    name_zh = "..."
    name_en = "..."
    nodes = { kind = "office_building", under = "central" }   # or a list of node ids,
    exclude = ["bohua_plaza"]         # or assets = [...] / {kind = "roof"}: one intervention
                                      # per asset; or interventions = [register ids]
    lifetime_years = 10
    capex = { per = "floor_area", value = "12 CNY/m2" }   # x the target's attribute
    opex_per_year = "0 CNY/yr"
    electricity_price = "0.85 CNY/kWh"                    # overrides [macc]
    adoption = { 2025 = 0.2, 2029 = 1.0 }   # or { start = 2025, ramp_years = 5, full_share = 1 }
    parameters = { fixtures = { per = "floor_area", value = "0.1 1/m2" }, old_power = "36 W" }
    [measure.assumptions]             # or [measure.sources]: every value set above, and the
    fixtures = "..."                  # adoption, needs one

References
----------
WRI, C40 and ICLEI, GPC v1.1 (2021): removals and avoided emissions are reported apart from
emissions (docs/research/gpc.md §1.4). MEE/NBS grid factors 2021-2023 (docs/research/factors.md §1):
national 0.5568 -> 0.5366 -> 0.5306, East China 0.5992 -> 0.5617 -> 0.5500 kgCO2/kWh; any later
value is an assumption. McKinsey & Company, *Pathways to a Low-Carbon Economy* (2009),
Exhibit 1 (the MACC form).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import pint
from pydantic import ValidationError

from carbon.errors import CarbonError, DataFileError, UnknownUnitError
from carbon.gpc import REFS, in_total
from carbon.interventions.base import Intervention, InterventionError
from carbon.interventions.register import MODELS
from carbon.units import Q_, parse_quantity, parse_unit
from carbon.warnings import QualityWarning, raise_if_strict

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from carbon.factors import FactorSet
    from carbon.interventions.register import Register
    from carbon.ledger import Ledger
    from carbon.twin import Asset, Node, Twin

__all__ = [
    "MACC_COLUMNS",
    "TRAJECTORY_COLUMNS",
    "WEDGE_COLUMNS",
    "Adoption",
    "BaseEmissions",
    "GridPath",
    "GridPoint",
    "Measure",
    "Scenario",
    "ScenarioError",
    "ScenarioFileError",
    "ScenarioResult",
    "Target",
    "load_scenario",
    "macc_figure",
    "run_scenario",
    "trajectory_figure",
    "wedges_figure",
]


class ScenarioError(CarbonError, ValueError):
    """A scenario that cannot be run as given (no base emissions, a sector without growth...)."""


class ScenarioFileError(DataFileError, ScenarioError):
    """A scenario file that fails validation; names the file, the measure (``entry``) and the
    field. Also a ``ValueError``."""


SECTORS = tuple(dict.fromkeys(r.sector for r in REFS.values()))
"""GPC sectors a base-emission row may name (``I``, ``II``, ``III``, ``V``, ``VI``)."""

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}

TRAJECTORY_COLUMNS: dict[str, str] = {
    "year": "calendar year",
    "grid_index": "grid factor relative to the base year, m(y) [dimensionless]",
    "electricity_factor_kg_per_kwh": "base-year grid factor of the factor set (1 July, site "
    "region, location-based) x grid_index [kg CO2e / kWh]",
    "bau_electricity_t": "business-as-usual emissions of grid electricity [t CO2e]",
    "bau_other_t": "business-as-usual emissions of everything else [t CO2e]",
    "bau_t": "business-as-usual emissions [t CO2e]",
    "avoided_t": "emissions the measures avoid beyond the base year's adoption [t CO2e]",
    "scenario_t": "bau_t - avoided_t: gross emissions of the scenario [t CO2e]",
    "removal_t": "removals by the measures beyond the base year's adoption [t CO2e]",
    "net_t": "scenario_t - removal_t [t CO2e]",
    "target_t": "the target line [t CO2e]",
}
"""Columns of :attr:`ScenarioResult.trajectory`."""

WEDGE_COLUMNS: dict[str, str] = {
    "year": "calendar year",
    "measure_id": "measure id",
    "name_zh": "Chinese name",
    "name_en": "English name",
    "adoption_share": "share adopted in the year a(y) [dimensionless]",
    "adoption_gain": "a(y) - a(base year) [dimensionless]",
    "avoided_t": "avoided emissions [t CO2e]",
    "removal_t": "removals [t CO2e]",
}
"""Columns of :attr:`ScenarioResult.wedges`."""

MACC_COLUMNS: dict[str, str] = {
    "rank": "position on the curve, cheapest first (1-based)",
    "measure_id": "measure id",
    "name_zh": "Chinese name",
    "name_en": "English name",
    "kind": "intervention kind",
    "targets": "twin nodes, assets or register interventions the measure acts on",
    "abatement_t_per_yr": "avoided + removed at full adoption in macc_year [t CO2e / yr]",
    "avoided_t_per_yr": "of which avoided [t CO2e / yr]",
    "removal_t_per_yr": "of which removed [t CO2e / yr]",
    "electricity_kwh_per_yr": "grid electricity saved or replaced by self-consumed PV [kWh / yr]",
    "annualised_cost_cny_per_yr": "sum of capex x CRF + opex [CNY / yr]; NaN without costs",
    "electricity_price_cny_per_kwh": "price of the avoided electricity [CNY / kWh]; NaN if none",
    "bill_savings_cny_per_yr": "electricity_kwh_per_yr x price [CNY / yr]",
    "cost_per_t_cny": "(annualised cost - bill savings) / abatement [CNY / t CO2e]; NaN without "
    "costs or abatement",
    "cumulative_start_t": "left edge of the measure's bar [t CO2e / yr]",
    "cumulative_end_t": "right edge of the measure's bar [t CO2e / yr]",
    "macc_year": "year whose grid index values the electricity",
}
"""Columns of :attr:`ScenarioResult.macc`."""

COMPONENT_COLUMNS: dict[str, str] = {
    "measure_id": "measure id",
    "intervention_id": "id of the intervention built for one target",
    "target": "the twin node, asset or register intervention",
    "node_id": "twin node of the intervention",
    "electricity_kwh_per_yr": "grid electricity saved or replaced, base year [kWh / yr]",
    "avoided_grid_t_per_yr": "avoided tonnes valued with the grid factor, base year, G",
    "avoided_other_t_per_yr": "other avoided tonnes, base year, N",
    "removal_t_per_yr": "removals, base year, R",
    "capex_cny": "capital cost [CNY]",
    "opex_cny_per_yr": "operating cost [CNY / yr]",
    "lifetime_years": "service life [yr]",
    "annualised_cost_cny_per_yr": "capex x CRF + opex [CNY / yr]",
}
"""Columns of :attr:`ScenarioResult.components`: the base-year figures behind every measure."""


# --------------------------------------------------------------------------- pieces
@dataclass(frozen=True)
class GridPoint:
    """One point of a grid path.

    Attributes
    ----------
    year : calendar year.
    factor : grid emission factor [kg CO2 / kWh] or [kg CO2e / kWh] (one unit per path).
    source : citation, or ``ASSUMPTION: ...`` with its basis.
    """

    year: int
    factor: float
    source: str


@dataclass(frozen=True)
class GridPath:
    """A grid decarbonisation path: points and/or an annual decline after them.

    Attributes
    ----------
    points : cited or assumed factors by year, ascending.
    decline_per_year : relative decline a year after the last point, or from the base year
        when there are no points [1 / yr].
    basis : source or basis of ``decline_per_year``.
    """

    points: tuple[GridPoint, ...] = ()
    decline_per_year: float = 0.0
    basis: str | None = None

    def factor(self, year: int) -> float | None:
        """The path's own factor in ``year`` [kg CO2(e) / kWh]; None without points."""
        if not self.points:
            return None
        first, last = self.points[0], self.points[-1]
        if year <= first.year:
            return first.factor
        if year >= last.year:
            return last.factor * (1.0 - self.decline_per_year) ** (year - last.year)
        for a, b in itertools.pairwise(self.points):
            if a.year <= year <= b.year:
                w = (year - a.year) / (b.year - a.year)
                return a.factor + w * (b.factor - a.factor)
        raise AssertionError("unreachable")  # pragma: no cover

    def index(self, year: int, base_year: int) -> float:
        """``m(y)``: the factor in ``year`` relative to ``base_year`` [dimensionless]."""
        if not self.points:
            return (1.0 - self.decline_per_year) ** (year - base_year)
        base = self.factor(base_year)
        value = self.factor(year)
        assert base is not None and value is not None
        return value / base


@dataclass(frozen=True)
class Adoption:
    """An adoption schedule: ``(year, share)`` points, linear between them.

    The share is 0 before the first point and stays at the last point's share after it.
    """

    points: tuple[tuple[int, float], ...]

    @classmethod
    def ramp(cls, start: int, years: int, full_share: float = 1.0) -> Adoption:
        """``full_share / years`` adopted in ``start``, rising linearly to ``full_share`` in
        ``start + years - 1``."""
        if years == 1:
            return cls(((start, full_share),))
        return cls(((start, full_share / years), (start + years - 1, full_share)))

    def share(self, year: int) -> float:
        """Share adopted in ``year`` [dimensionless]."""
        first, last = self.points[0], self.points[-1]
        if year < first[0]:
            return 0.0
        if year >= last[0]:
            return last[1]
        for (y0, s0), (y1, s1) in itertools.pairwise(self.points):
            if y0 <= year <= y1:
                return s0 + (year - y0) / (y1 - y0) * (s1 - s0)
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Target:
    """A reduction target against the base year.

    Attributes
    ----------
    year : target year.
    reduction : reduction of the base-year total [dimensionless, 0..1].
    basis : its source or, for an assumption, its basis (no numeric community target is
        published: docs/research/gpc.md §2, UNCONFIRMED).
    compare : ``gross`` (scenario_t) or ``net`` (net_t, after removals).
    """

    year: int
    reduction: float
    basis: str
    compare: Literal["gross", "net"] = "gross"


@dataclass(frozen=True)
class BaseEmissions:
    """Base-year emissions per GPC sector, split into grid electricity and the rest.

    Attributes
    ----------
    year : the base year.
    emissions : ``sector, electricity_t, other_t`` [t CO2e], one row per GPC sector.
    source : where the numbers come from.
    months : months of the year the numbers cover (12 for a whole year).
    warnings : data-quality warnings (a partial year).
    """

    year: int
    emissions: pd.DataFrame
    source: str
    months: int = 12
    warnings: tuple[QualityWarning, ...] = ()

    @property
    def total_t(self) -> float:
        """Base-year total [t CO2e]."""
        return float(self.emissions["electricity_t"].sum() + self.emissions["other_t"].sum())

    @classmethod
    def from_mapping(
        cls, emissions_t: Mapping[str, Mapping[str, float]], year: int, source: str
    ) -> BaseEmissions:
        """Explicit numbers: ``{"I": {"electricity": 46384.3, "other": 6504.7}, ...}`` [t CO2e].

        Raises
        ------
        ScenarioError
            For an unknown sector, a bare number (ambiguous: is it electricity?), an unknown
            carrier or a non-finite value.
        """
        rows = []
        for sector, split in emissions_t.items():
            if sector not in SECTORS:
                raise ScenarioError(
                    f"base emissions: unknown GPC sector {sector!r}; sectors: {', '.join(SECTORS)}"
                )
            if not isinstance(split, Mapping):
                raise ScenarioError(
                    f"base emissions of sector {sector}: give {{'electricity': t, 'other': t}}, "
                    f"not {split!r} (grid decarbonisation applies to the electricity part only)"
                )
            unknown = set(split) - {"electricity", "other"}
            if unknown:
                raise ScenarioError(
                    f"base emissions of sector {sector}: unknown part(s) {sorted(unknown)}; "
                    "parts: electricity, other"
                )
            values = {}
            for part in ("electricity", "other"):
                v = split.get(part, 0.0)
                if isinstance(v, bool) or not isinstance(v, int | float | Decimal):
                    raise ScenarioError(
                        f"base emissions of sector {sector}.{part}: expected t CO2e, got {v!r}"
                    )
                if not math.isfinite(float(v)):
                    raise ScenarioError(f"base emissions of sector {sector}.{part} is {v!r}")
                values[part] = float(v)
            rows.append(
                {
                    "sector": sector,
                    "electricity_t": values["electricity"],
                    "other_t": values["other"],
                }
            )
        if not rows:
            raise ScenarioError("base emissions: no sector given")
        frame = pd.DataFrame(rows, columns=["sector", "electricity_t", "other_t"])
        frame = frame.sort_values("sector", key=lambda s: s.map(_ROMAN), ignore_index=True)
        return cls(year=int(year), emissions=frame, source=source)

    @classmethod
    def from_entries(
        cls,
        entries: pd.DataFrame,
        year: int,
        source: str,
        *,
        total: str | None = None,
    ) -> BaseEmissions:
        """Sum ledger entries of ``year`` per GPC sector (location-based view).

        Parameters
        ----------
        entries : ledger entries (:attr:`carbon.ledger.Ledger.entries` or a snapshot's).
        year : the base year.
        source : description for :attr:`source`.
        total : restrict to the rows of a GPC total (``BASIC``...); default every
            ``emission`` and ``adjustment`` entry.

        Grid electricity is activity ``electricity.grid``; removals and avoided entries are
        never included (GPC v1.1; docs/research/gpc.md §1.4).
        """
        e = entries[
            entries["kind"].isin(["emission", "adjustment"])
            & entries["method"].isin(["location", "n/a"])
        ]
        e = e[pd.to_datetime(e["period_start"]).dt.year == int(year)]
        if total is not None:
            e = e[e["gpc_ref"].map(lambda r: in_total(r, total))]
        if e.empty:
            raise ScenarioError(
                f"{source}: no emission entries in {year}; the ledger covers "
                f"{_years_of(entries)}. Build the ledger over the base year."
            )
        months = int(pd.to_datetime(e["period_start"]).dt.month.nunique())
        mapping: dict[str, dict[str, float]] = {}
        for (sector, is_grid), kg in _sum_kg(e).items():
            part = "electricity" if is_grid else "other"
            mapping.setdefault(sector, {"electricity": 0.0, "other": 0.0})[part] = kg / 1000.0
        base = cls.from_mapping(mapping, year, source)
        warnings: tuple[QualityWarning, ...] = ()
        if months < 12:
            warnings = (
                QualityWarning(
                    "scenario.base_partial_year",
                    f"{source}: the base year {year} has entries in {months} of 12 months; the "
                    "base emissions are not a whole year's",
                    {"year": int(year), "months": months},
                ),
            )
        return replace(base, months=months, warnings=warnings)

    @classmethod
    def from_ledger(
        cls, ledger: Ledger, year: int | None = None, *, total: str | None = None
    ) -> BaseEmissions:
        """Base emissions from a built ledger (``year`` defaults to its first year)."""
        year = ledger.start.year if year is None else year
        source = f"ledger {ledger.twin.name} {ledger.start}..{ledger.end}, location-based"
        return cls.from_entries(ledger.entries, year, source, total=total)

    @classmethod
    def from_snapshot(
        cls, path: str | Path, year: int | None = None, *, total: str | None = None
    ) -> BaseEmissions:
        """Base emissions from a published snapshot (or a snapshots folder's ``LATEST``)."""
        from carbon.snapshot import load_snapshot

        snapshot = load_snapshot(path)
        entries = snapshot.entries()
        if year is None:
            year = int(pd.to_datetime(entries["period_start"]).dt.year.min())
        return cls.from_entries(
            entries, year, f"snapshot {snapshot.id}, location-based", total=total
        )


def _years_of(entries: pd.DataFrame) -> str:
    if entries.empty:
        return "no entries at all"
    years = pd.to_datetime(entries["period_start"]).dt.year
    return f"{int(years.min())}..{int(years.max())}"


def _sum_kg(entries: pd.DataFrame) -> dict[tuple[str, bool], float]:
    """kg CO2e per (GPC sector, is grid electricity), summed exactly as Decimal."""
    out: dict[tuple[str, bool], Decimal] = {}
    for sector, activity, kg in zip(
        entries["gpc_sector"], entries["activity"], entries["co2e_kg"], strict=True
    ):
        key = (str(sector), activity == "electricity.grid")
        out[key] = out.get(key, Decimal(0)) + Decimal(str(kg))
    return {k: float(v) for k, v in sorted(out.items())}


@dataclass(frozen=True)
class Measure:
    """An intervention template applied to twin targets, with an adoption schedule.

    Attributes
    ----------
    id : measure id.
    name_zh, name_en : names.
    kind : intervention kind (a key of :data:`carbon.interventions.MODELS`).
    adoption : the schedule.
    interventions : one intervention per target, bound to the twin, status ``planned``,
        commissioned on the base year's first day.
    targets : what each intervention acts on (node, asset or register id), same order.
    electricity_price : price of the electricity it avoids [CNY / kWh], overriding the
        scenario's.
    sources, assumptions : provenance of the values the file sets.
    """

    id: str
    name_zh: str
    name_en: str
    kind: str
    adoption: Adoption
    interventions: tuple[Intervention, ...]
    targets: tuple[str, ...]
    electricity_price: float | None = None
    sources: dict[str, str] = field(default_factory=dict)
    assumptions: dict[str, str] = field(default_factory=dict)
    notes: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, bound to its twin (see the module docstring for the model).

    Attributes
    ----------
    id, name_zh, name_en, description : of the scenario.
    site : the twin's name; ``twin_hash`` its content hash when loaded.
    path, sha256 : the file and its SHA-256 [hex].
    base_year, first_year, last_year : years; trajectories cover first..last inclusive.
    targets : reduction targets, by year.
    growth : annual BAU growth per GPC sector (``default`` for the others) [1 / yr].
    growth_basis : source or basis of each growth rate.
    grid : the grid path, or None for a constant grid factor.
    base : base-year emissions from the file, or None (then pass them to :func:`run_scenario`).
    measures : in file order.
    macc_year : year whose grid index values electricity on the MACC.
    electricity_price : [CNY / kWh] for bill savings on the MACC, or None.
    electricity_price_source : its source or basis.
    """

    id: str
    name_zh: str
    name_en: str
    site: str
    twin_hash: str
    path: Path
    sha256: str
    base_year: int
    first_year: int
    last_year: int
    targets: tuple[Target, ...]
    growth: dict[str, float]
    growth_basis: dict[str, str]
    grid: GridPath | None
    base: BaseEmissions | None
    measures: tuple[Measure, ...]
    macc_year: int
    electricity_price: float | None = None
    electricity_price_source: str | None = None
    description: str | None = None

    @property
    def years(self) -> list[int]:
        """The projected years, first..last inclusive."""
        return list(range(self.first_year, self.last_year + 1))

    def grid_index(self, year: int) -> float:
        """``m(y)`` [dimensionless]: 1 without a grid path."""
        return 1.0 if self.grid is None else self.grid.index(year, self.base_year)

    def target_reduction(self, year: int) -> float:
        """Reduction of the target line in ``year`` [dimensionless]; 0 without targets."""
        if not self.targets:
            return 0.0
        points = [(self.base_year, 0.0)] + [(t.year, t.reduction) for t in self.targets]
        if year >= points[-1][0]:
            return points[-1][1]
        for (y0, r0), (y1, r1) in itertools.pairwise(points):
            if y0 <= year <= y1:
                return r0 + (year - y0) / (y1 - y0) * (r1 - r0)
        return 0.0


# --------------------------------------------------------------------------- loading
_TOP_KEYS = ("scenario", "target", "bau", "grid", "base", "macc", "measure")
_SCENARIO_KEYS = (
    "id",
    "name_zh",
    "name_en",
    "site",
    "base_year",
    "first_year",
    "last_year",
    "description",
)
_MEASURE_KEYS = (
    "id",
    "kind",
    "name_zh",
    "name_en",
    "nodes",
    "assets",
    "interventions",
    "exclude",
    "parameters",
    "lifetime_years",
    "capex",
    "opex_per_year",
    "discount_rate",
    "ranges",
    "adoption",
    "electricity_price",
    "sources",
    "assumptions",
    "notes",
)
_SCENARIO_ONLY = ("adoption", "electricity_price")
"""Measure values that are the scenario's, not the intervention model's."""
_NEEDS_BASIS = ("lifetime_years", "capex", "opex_per_year", "discount_rate", "electricity_price")


class _File:
    """Error helper bound to one scenario file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(
        self, message: str, entry: str | None = None, field: str | None = None
    ) -> ScenarioFileError:
        return ScenarioFileError(self.path, message, entry=entry, field=field)

    def table(self, raw: Any, name: str, entry: str | None = None) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.error(f"expected a table, got {raw!r}", entry, name)
        return raw

    def text(
        self, raw: Any, name: str, entry: str | None = None, required: bool = True
    ) -> str | None:
        if raw is None and not required:
            return None
        if not isinstance(raw, str) or not raw.strip():
            raise self.error(f"expected non-empty text, got {raw!r}", entry, name)
        return raw

    def year(self, raw: Any, name: str, entry: str | None = None) -> int:
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1990 <= raw <= 2100:
            raise self.error(f"expected a year 1990..2100, got {raw!r}", entry, name)
        return raw

    def number(
        self, raw: Any, name: str, entry: str | None = None, *, low: float, high: float
    ) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise self.error(f"expected a number, got {raw!r}", entry, name)
        value = float(raw)
        if not (math.isfinite(value) and low <= value <= high):
            raise self.error(f"{raw!r} is outside {low:g}..{high:g}", entry, name)
        return value

    def quantity(self, raw: Any, unit: str, name: str, entry: str | None = None) -> float:
        """A quantity string converted to ``unit`` (a bare number is refused)."""
        if isinstance(raw, bool) or not isinstance(raw, str):
            raise self.error(
                f"write a quantity with its unit, e.g. '1 {unit}'; got {raw!r}", entry, name
            )
        try:
            q = parse_quantity(raw)
            value = float(q.to(parse_unit(unit)).magnitude)
        except (
            UnknownUnitError,
            pint.DimensionalityError,
            pint.UndefinedUnitError,
            ValueError,
            TypeError,
        ) as exc:
            raise self.error(f"{raw!r} is not a quantity in {unit}: {exc}", entry, name) from None
        if not math.isfinite(value) or value < 0:
            raise self.error(f"{raw!r} must be finite and non-negative", entry, name)
        return value

    def unknown(
        self, raw: dict[str, Any], known: Iterable[str], name: str, entry: str | None = None
    ) -> None:
        extra = [k for k in raw if k not in known]
        if extra:
            prefix = f"{name}." if name else ""
            raise self.error(
                f"unknown key {extra[0]!r}; known: {', '.join(known)}", entry, prefix + extra[0]
            )


def load_scenario(path: str | Path, twin: Twin, *, register: Register | None = None) -> Scenario:
    """Load and validate a scenario file against a twin.

    Parameters
    ----------
    path : the scenario TOML (see ``sites/shimen_erlu/scenarios/`` for an example).
    twin : the community twin the measures act on.
    register : the intervention register, for measures that adopt planned register
        interventions (``interventions = [...]``); loaded from the twin's folder when needed.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioFileError
        Naming the file, the measure and the field: bad TOML, an unknown key, a year outside
        the projection, a target without a basis, a growth rate or grid point without a source
        or basis, an unknown node or asset, an asset of the wrong kind, a parameter with the
        wrong unit, a ``per`` attribute the target lacks, an adoption share outside 0..1, a
        value with neither a source nor an assumption.
    """
    path = Path(path)
    f = _File(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise f.error("file not found") from None
    try:
        data = tomllib.loads(blob.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise f.error(f"not valid TOML: {exc}") from None
    f.unknown(data, _TOP_KEYS, "")

    head = f.table(data.get("scenario"), "scenario")
    if not head:
        raise f.error("missing the [scenario] table", field="scenario")
    f.unknown(head, _SCENARIO_KEYS, "scenario")
    scenario_id = f.text(head.get("id"), "scenario.id")
    assert scenario_id is not None
    site = head.get("site", twin.name)
    if site != twin.name:
        raise f.error(
            f"the scenario is for site {site!r}, not twin {twin.name!r}", field="scenario.site"
        )
    base_year = f.year(head.get("base_year"), "scenario.base_year")
    first_year = f.year(head.get("first_year", base_year), "scenario.first_year")
    last_year = f.year(head.get("last_year"), "scenario.last_year")
    if first_year < base_year:
        raise f.error(
            f"first_year {first_year} is before base_year {base_year}", field="scenario.first_year"
        )
    if last_year < first_year:
        raise f.error(
            f"last_year {last_year} is before first_year {first_year}", field="scenario.last_year"
        )

    targets = _targets(f, data.get("target", []), base_year, last_year)
    growth, growth_basis = _bau(f, f.table(data.get("bau"), "bau"))
    grid = _grid(f, data.get("grid"))
    base = _base(f, data.get("base"), base_year)
    macc = f.table(data.get("macc"), "macc")
    f.unknown(macc, ("year", "electricity_price", "source"), "macc")
    macc_year = f.year(macc.get("year", base_year), "macc.year")
    if macc_year < base_year:
        raise f.error(f"macc.year {macc_year} is before base_year {base_year}", field="macc.year")
    price = None
    price_source = None
    if "electricity_price" in macc:
        price = f.quantity(macc["electricity_price"], "CNY/kWh", "macc.electricity_price")
        price_source = f.text(macc.get("source"), "macc.source")

    raws = data.get("measure", [])
    if not isinstance(raws, list) or not all(isinstance(r, dict) for r in raws):
        raise f.error("expected [[measure]] tables", field="measure")
    if register is None and any("interventions" in raw for raw in raws):
        from carbon.interventions.register import load_register

        register = load_register(twin)
    measures: list[Measure] = []
    for position, raw in enumerate(raws):
        m = _measure(f, raw, position, twin, base_year, register)
        if any(m.id == other.id for other in measures):
            raise f.error("duplicate measure id", m.id, "id")
        measures.append(m)

    return Scenario(
        id=scenario_id,
        name_zh=f.text(head.get("name_zh", scenario_id), "scenario.name_zh") or scenario_id,
        name_en=f.text(head.get("name_en", scenario_id), "scenario.name_en") or scenario_id,
        site=twin.name,
        twin_hash=twin.content_hash,
        path=path,
        sha256=hashlib.sha256(blob).hexdigest(),
        base_year=base_year,
        first_year=first_year,
        last_year=last_year,
        targets=targets,
        growth=growth,
        growth_basis=growth_basis,
        grid=grid,
        base=base,
        measures=tuple(measures),
        macc_year=macc_year,
        electricity_price=price,
        electricity_price_source=price_source,
        description=f.text(head.get("description"), "scenario.description", required=False),
    )


def _targets(f: _File, raw: Any, base_year: int, last_year: int) -> tuple[Target, ...]:
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise f.error("expected [[target]] tables", field="target")
    out: list[Target] = []
    for k, t in enumerate(raw):
        where = f"target[{k}]"
        f.unknown(t, ("year", "reduction", "basis", "compare"), where)
        year = f.year(t.get("year"), f"{where}.year")
        if not base_year < year <= last_year:
            raise f.error(
                f"target year {year} must be after the base year {base_year} and "
                f"not after last_year {last_year}",
                field=f"{where}.year",
            )
        reduction = f.number(t.get("reduction"), f"{where}.reduction", low=0.0, high=1.0)
        basis = t.get("basis")
        if not isinstance(basis, str) or not basis.strip():
            raise f.error(
                "a target needs its basis: the document that sets it, or "
                "'ASSUMPTION: ...' (no numeric community target is published, "
                "docs/research/gpc.md §2)",
                field=f"{where}.basis",
            )
        compare = t.get("compare", "gross")
        if compare not in ("gross", "net"):
            raise f.error(
                f"compare must be 'gross' or 'net', not {compare!r}", field=f"{where}.compare"
            )
        out.append(Target(year, reduction, basis, compare))
    out.sort(key=lambda t: t.year)
    for a, b in itertools.pairwise(out):
        if a.year == b.year:
            raise f.error(f"two targets for {a.year}", field="target.year")
    return tuple(out)


def _bau(f: _File, raw: dict[str, Any]) -> tuple[dict[str, float], dict[str, str]]:
    f.unknown(raw, ("growth", "basis"), "bau")
    growth_raw = f.table(raw.get("growth"), "bau.growth")
    basis = f.table(raw.get("basis"), "bau.basis")
    growth: dict[str, float] = {}
    for sector, rate in growth_raw.items():
        if sector not in (*SECTORS, "default"):
            raise f.error(
                f"unknown GPC sector {sector!r}; sectors: {', '.join(SECTORS)} or default",
                field=f"bau.growth.{sector}",
            )
        growth[sector] = f.number(rate, f"bau.growth.{sector}", low=-0.5, high=0.5)
        text = basis.get(sector)
        if not isinstance(text, str) or not text.strip():
            raise f.error(
                f"growth of sector {sector} has no basis; add it to [bau.basis] "
                "(a source, or 'ASSUMPTION: ...')",
                field=f"bau.basis.{sector}",
            )
    return growth, {k: str(v) for k, v in basis.items()}


def _grid(f: _File, raw: Any) -> GridPath | None:
    if raw is None:
        return None
    raw = f.table(raw, "grid")
    f.unknown(raw, ("point", "decline_per_year", "basis"), "grid")
    points_raw = raw.get("point", [])
    if not isinstance(points_raw, list) or not all(isinstance(p, dict) for p in points_raw):
        raise f.error("expected [[grid.point]] tables", field="grid.point")
    points: list[GridPoint] = []
    dimension = None
    for k, p in enumerate(points_raw):
        where = f"grid.point[{k}]"
        f.unknown(p, ("year", "factor", "source"), where)
        year = f.year(p.get("year"), f"{where}.year")
        text = p.get("factor")
        unit = "kgCO2e/kWh" if isinstance(text, str) and "CO2e" in text else "kgCO2/kWh"
        value = f.quantity(text, unit, f"{where}.factor")
        if value <= 0:
            raise f.error(f"a grid factor must be positive, got {text!r}", field=f"{where}.factor")
        if dimension is not None and unit != dimension:
            raise f.error(f"{text!r} mixes kgCO2 and kgCO2e in one path", field=f"{where}.factor")
        dimension = unit
        source = p.get("source")
        if not isinstance(source, str) or not source.strip():
            raise f.error(
                "a grid point needs its source (or 'ASSUMPTION: ...')", field=f"{where}.source"
            )
        points.append(GridPoint(year, value, source))
    points.sort(key=lambda p: p.year)
    for a, b in itertools.pairwise(points):
        if a.year == b.year:
            raise f.error(f"two grid points for {a.year}", field="grid.point.year")
    decline = 0.0
    basis = None
    if "decline_per_year" in raw:
        decline = f.number(raw["decline_per_year"], "grid.decline_per_year", low=0.0, high=0.5)
        basis = raw.get("basis")
        if not isinstance(basis, str) or not basis.strip():
            raise f.error(
                "decline_per_year needs its basis (a source, or 'ASSUMPTION: ...')",
                field="grid.basis",
            )
    if not points and "decline_per_year" not in raw:
        raise f.error("a grid path needs [[grid.point]] entries or decline_per_year", field="grid")
    return GridPath(tuple(points), decline, basis)


def _base(f: _File, raw: Any, base_year: int) -> BaseEmissions | None:
    if raw is None:
        return None
    raw = f.table(raw, "base")
    f.unknown(raw, ("source", "emissions_t"), "base")
    source = f.text(raw.get("source"), "base.source")
    assert source is not None
    emissions = f.table(raw.get("emissions_t"), "base.emissions_t")
    try:
        return BaseEmissions.from_mapping(emissions, base_year, source)
    except ScenarioError as exc:
        raise f.error(str(exc), field="base.emissions_t") from None


def _adoption(f: _File, raw: Any, entry: str) -> Adoption:
    if not isinstance(raw, dict) or not raw:
        raise f.error(
            "adoption must be a table: {2025 = 0.3, 2030 = 1.0} or {start = 2025, ramp_years = 4}",
            entry,
            "adoption",
        )
    if "start" in raw:
        f.unknown(raw, ("start", "ramp_years", "full_share"), "adoption", entry)
        start = f.year(raw["start"], "adoption.start", entry)
        years = raw.get("ramp_years", 1)
        if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 50:
            raise f.error(
                f"ramp_years must be a whole number 1..50, got {years!r}",
                entry,
                "adoption.ramp_years",
            )
        full = f.number(raw.get("full_share", 1.0), "adoption.full_share", entry, low=0.0, high=1.0)
        return Adoption.ramp(start, years, full)
    points = []
    for key, share in raw.items():
        year = f.year(key, f"adoption.{key}", entry)
        points.append((year, f.number(share, f"adoption.{key}", entry, low=0.0, high=1.0)))
    return Adoption(tuple(sorted(points)))


def _selection(
    f: _File,
    raw: Any,
    what: Literal["nodes", "assets"],
    twin: Twin,
    entry: str,
    exclude: list[str],
) -> list[str]:
    """Ids chosen by a list or by ``{kind = ..., under = ...}``."""
    pool: dict[str, Any] = twin.nodes if what == "nodes" else twin.assets
    if isinstance(raw, list):
        ids = raw
        for i in ids:
            if not isinstance(i, str) or i not in pool:
                close = [p for p in pool if isinstance(i, str) and i.split(".")[-1] in p][:5]
                raise f.error(
                    f"{what[:-1]} {i!r} is not in twin {twin.name!r}"
                    + (f"; close: {', '.join(close)}" if close else ""),
                    entry,
                    what,
                )
    elif isinstance(raw, dict):
        f.unknown(raw, ("kind", "under"), what, entry)
        kind = raw.get("kind")
        under = raw.get("under", twin.root.id)
        if under not in twin.nodes:
            raise f.error(f"node {under!r} is not in twin {twin.name!r}", entry, f"{what}.under")
        below = {under} | {n.id for n in twin.descendants(under)}
        if what == "nodes":
            ids = [n.id for n in twin.nodes.values() if n.kind == kind and n.id in below]
        else:
            ids = [a.id for a in twin.assets.values() if a.kind == kind and a.node in below]
    else:
        raise f.error(f"{what} must be a list of ids or {{kind = ..., under = ...}}", entry, what)
    for x in exclude:
        if x not in ids:
            raise f.error(f"{x!r} is excluded but not selected", entry, "exclude")
    ids = [i for i in ids if i not in exclude]
    if not ids:
        raise f.error(
            f"the selection {raw!r} matches no {what[:-1]} of twin {twin.name!r}", entry, what
        )
    if len(set(ids)) != len(ids):
        raise f.error("an id is selected twice", entry, what)
    return ids


def _parameter(f: _File, value: Any, entity: Any, name: str, entry: str) -> Any:
    """A parameter value; ``{per = attribute, value = q}`` scales q by the target's attribute."""
    if not isinstance(value, dict):
        return value
    f.unknown(value, ("per", "value"), name, entry)
    attribute = value.get("per")
    if attribute not in entity.attributes:
        raise f.error(
            f"{entity.id!r} has no attribute {attribute!r} to scale by; it has "
            f"{', '.join(entity.attributes) or 'none'}",
            entry,
            f"{name}.per",
        )
    q = value.get("value")
    try:
        if isinstance(q, str):
            per = parse_quantity(q)
        elif isinstance(q, int | float) and not isinstance(q, bool):
            per = Q_(float(q))
        else:
            raise TypeError("expected a quantity such as '0.5' or '12 CNY/m2'")
    except (UnknownUnitError, TypeError, ValueError) as exc:
        raise f.error(f"{q!r} is not a quantity: {exc}", entry, f"{name}.value") from None
    return per * entity.quantity(attribute)


def _measure(
    f: _File,
    raw: dict[str, Any],
    position: int,
    twin: Twin,
    base_year: int,
    register: Register | None,
) -> Measure:
    entry = raw.get("id") if isinstance(raw.get("id"), str) else f"#{position + 1}"
    assert isinstance(entry, str)
    if not isinstance(raw.get("id"), str) or not re.fullmatch(r"[a-z0-9_]+", raw["id"]):
        raise f.error("every measure needs an id of lower-case letters, digits and _", entry, "id")
    f.unknown(raw, _MEASURE_KEYS, "", entry)
    name_zh = f.text(raw.get("name_zh"), "name_zh", entry)
    name_en = f.text(raw.get("name_en"), "name_en", entry)
    assert name_zh is not None and name_en is not None
    sources = {str(k): str(v) for k, v in f.table(raw.get("sources"), "sources", entry).items()}
    assumptions = {
        str(k): str(v) for k, v in f.table(raw.get("assumptions"), "assumptions", entry).items()
    }
    adoption = _adoption(f, raw.get("adoption"), entry)
    price = None
    if "electricity_price" in raw:
        price = f.quantity(raw["electricity_price"], "CNY/kWh", "electricity_price", entry)
    chosen = [k for k in ("nodes", "assets", "interventions") if k in raw]
    if len(chosen) != 1:
        raise f.error(
            "name the targets with exactly one of nodes, assets or interventions",
            entry,
            chosen[1] if len(chosen) > 1 else "nodes",
        )
    start = dt.date(base_year, 1, 1)

    needs = ["adoption"] + [k for k in _NEEDS_BASIS if k in raw]
    if chosen[0] == "interventions":
        built, targets, kind = _from_register(f, raw, twin, register, entry, start, base_year)
    else:
        params = f.table(raw.get("parameters"), "parameters", entry)
        ranges = f.table(raw.get("ranges"), "ranges", entry)
        needs += list(params) + list(ranges)
        built, targets, kind = _from_template(
            f, raw, chosen[0], params, twin, entry, start, sources, assumptions
        )
    for name in needs:
        if name not in sources and name not in assumptions:
            raise f.error(
                f"{name} has neither a source nor an assumption with its basis; add "
                "it to `sources` or `assumptions`",
                entry,
                f"assumptions.{name}",
            )
    return Measure(
        id=entry,
        name_zh=name_zh,
        name_en=name_en,
        kind=kind,
        adoption=adoption,
        interventions=tuple(built),
        targets=tuple(targets),
        electricity_price=price,
        sources=sources,
        assumptions=assumptions,
        notes=raw.get("notes"),
    )


def _from_template(
    f: _File,
    raw: dict[str, Any],
    what: str,
    params: dict[str, Any],
    twin: Twin,
    entry: str,
    start: dt.date,
    sources: dict[str, str],
    assumptions: dict[str, str],
) -> tuple[list[Intervention], list[str], str]:
    kind = raw.get("kind")
    if kind not in MODELS:
        raise f.error(
            f"unknown kind {kind!r}; known kinds: {', '.join(sorted(MODELS))}", entry, "kind"
        )
    cls = MODELS[kind]
    settable = sorted(set(cls.model_fields) - set(Intervention.model_fields))
    for name in params:
        if name not in settable:
            raise f.error(
                f"unknown parameter {name!r} for kind {kind}; known: {', '.join(settable)}",
                entry,
                f"parameters.{name}",
            )
    if "lifetime_years" not in raw:
        raise f.error(
            "lifetime_years is required (it annualises the cost)", entry, "lifetime_years"
        )
    exclude = raw.get("exclude", [])
    if not isinstance(exclude, list):
        raise f.error("exclude must be a list of ids", entry, "exclude")
    ids = _selection(f, raw[what], what, twin, entry, exclude)  # type: ignore[arg-type]
    model_sources = {k: v for k, v in sources.items() if k not in _SCENARIO_ONLY}
    model_assumptions = {k: v for k, v in assumptions.items() if k not in _SCENARIO_ONLY}
    built, targets = [], []
    for target in ids:
        entity: Node | Asset
        if what == "nodes":
            entity, node = twin.nodes[target], target
        else:
            entity = twin.assets[target]
            node = entity.node
        data: dict[str, Any] = {
            "id": f"{entry}.{target}",
            "kind": kind,
            "name_zh": f"{raw['name_zh']}·{entity.name_zh}",
            "name_en": f"{raw['name_en']}: {entity.name_en}",
            "node": node,
            "assets": (target,) if what == "assets" else (),
            "status": "planned",
            "commissioned": start,
            "ranges": raw.get("ranges", {}),
            "sources": model_sources,
            "assumptions": model_assumptions,
            "source": f"scenario measure {entry}",
            "notes": raw.get("notes"),
        }
        for key in ("lifetime_years", "capex", "opex_per_year", "discount_rate"):
            if key in raw:
                data[key] = _parameter(f, raw[key], entity, key, entry)
        for name, value in params.items():
            data[name] = _parameter(f, value, entity, f"parameters.{name}", entry)
        try:
            model = cls(**data)
        except ValidationError as exc:
            first = exc.errors()[0]
            msg = first["msg"].removeprefix("Value error, ")
            loc = ".".join(str(x) for x in first["loc"])
            field = f"parameters.{loc}" if first["loc"] and first["loc"][0] in params else loc
            raise f.error(f"{msg} (target {target})", entry, field or None) from None
        try:
            built.append(model.with_twin(twin))
        except InterventionError as exc:
            raise f.error(str(exc), entry, what) from None
        targets.append(target)
    return built, targets, kind


def _from_register(
    f: _File,
    raw: dict[str, Any],
    twin: Twin,
    register: Register | None,
    entry: str,
    start: dt.date,
    base_year: int,
) -> tuple[list[Intervention], list[str], str]:
    for key in (
        "parameters",
        "ranges",
        "lifetime_years",
        "capex",
        "opex_per_year",
        "discount_rate",
        "nodes",
        "assets",
        "exclude",
    ):
        if key in raw:
            raise f.error(f"{key} of register interventions are set in the register", entry, key)
    ids = raw["interventions"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise f.error("interventions must be a list of register ids", entry, "interventions")
    reg = register
    assert reg is not None  # loaded by load_scenario
    built, kinds = [], []
    for rid in ids:
        if rid not in reg.interventions:
            raise f.error(
                f"no intervention {rid!r} in {reg.path}; ids: {', '.join(reg.interventions)}",
                entry,
                "interventions",
            )
        iv = reg.interventions[rid]
        if iv.status == "in_place" and iv.commissioned < dt.date(base_year + 1, 1, 1):
            raise f.error(
                f"{rid!r} is in place since {iv.commissioned}, so its savings are "
                f"already in the base-year ({base_year}) emissions",
                entry,
                "interventions",
            )
        built.append(
            iv.model_copy(
                update={"id": f"{entry}.{rid}", "commissioned": start, "status": "planned"}
            )
        )
        kinds.append(iv.kind)
    kind = raw.get("kind", kinds[0])
    if any(k != kind for k in kinds):
        raise f.error(
            f"interventions of different kinds {sorted(set(kinds))} in one measure; "
            f"kind is {kind!r}",
            entry,
            "kind",
        )
    return built, list(ids), kind


# --------------------------------------------------------------------------- running
def _crf(rate: float, life: float) -> float:
    """Capital recovery factor [1 / yr] (1 / L at r = 0)."""
    return 1.0 / life if rate == 0 else rate / (1.0 - (1.0 + rate) ** (-life))


def _money(q: pint.Quantity | None, unit: str) -> float | None:
    return None if q is None else float(q.to(parse_unit(unit)).magnitude)


def _components(
    scenario: Scenario, factors: FactorSet, warnings: list[QualityWarning]
) -> pd.DataFrame:
    """Base-year figures of every intervention of every measure (see the module docstring)."""
    start = dt.date(scenario.base_year, 1, 1)
    end = dt.date(scenario.base_year + 1, 1, 1)
    rows = []
    grid_ids: dict[str, bool] = {}
    for m in scenario.measures:
        for iv, target in zip(m.interventions, m.targets, strict=True):
            est = iv.estimate(factors, start, end, method="location")
            warnings.extend(est.warnings)
            grid_kg, other_kg, removal_kg = Decimal(0), Decimal(0), Decimal(0)
            e = est.entries
            for kind, factor_id, amount, factor in zip(
                e["kind"], e["factor_id"], e["amount"], e["factor_co2e"], strict=True
            ):
                kg = amount * factor  # not co2e_kg: that is rounded to the gram per month
                if kind == "removal":
                    removal_kg += kg
                    continue
                if factor_id not in grid_ids:
                    grid_ids[factor_id] = bool(factor_id) and (
                        factors.get(factor_id).activity == "electricity.grid"
                    )
                if grid_ids[factor_id]:
                    grid_kg += kg
                else:
                    other_kg += kg
            kwh = float(
                est.monthly["electricity_saved_kwh"].sum()
                + est.monthly["pv_self_consumed_kwh"].sum()
            )
            capex = _money(iv.capex, "CNY")
            opex = _money(iv.opex_per_year, "CNY/yr")
            cost = (
                None
                if capex is None or opex is None
                else capex * _crf(iv.discount_rate, iv.lifetime_years) + opex
            )
            rows.append(
                {
                    "measure_id": m.id,
                    "intervention_id": iv.id,
                    "target": target,
                    "node_id": iv.node,
                    "electricity_kwh_per_yr": kwh,
                    "avoided_grid_t_per_yr": float(grid_kg) / 1000.0,
                    "avoided_other_t_per_yr": float(other_kg) / 1000.0,
                    "removal_t_per_yr": float(removal_kg) / 1000.0,
                    "capex_cny": capex,
                    "opex_cny_per_yr": opex,
                    "lifetime_years": iv.lifetime_years,
                    "annualised_cost_cny_per_yr": cost,
                }
            )
    frame = pd.DataFrame(rows, columns=list(COMPONENT_COLUMNS))
    for col in ("capex_cny", "opex_cny_per_yr", "annualised_cost_cny_per_yr"):
        frame[col] = frame[col].astype(float)
    return frame


def _coerce_base(scenario: Scenario, base_emissions: Any) -> BaseEmissions:
    from carbon.ledger import Ledger

    b = scenario.base_year
    if base_emissions is None:
        if scenario.base is None:
            raise ScenarioError(
                f"{scenario.path}: no base emissions; add a [base] table to the file or pass "
                "base_emissions= (a Ledger, a snapshot path, a BaseEmissions or "
                "{sector: {'electricity': t, 'other': t}})"
            )
        return scenario.base
    if isinstance(base_emissions, BaseEmissions):
        base = base_emissions
    elif isinstance(base_emissions, Ledger):
        base = BaseEmissions.from_ledger(base_emissions, b)
    elif isinstance(base_emissions, str | Path):
        base = BaseEmissions.from_snapshot(base_emissions, b)
    elif isinstance(base_emissions, Mapping):
        base = BaseEmissions.from_mapping(base_emissions, b, "given by the caller")
    else:
        raise ScenarioError(
            f"base_emissions must be a Ledger, a snapshot path, a BaseEmissions or a mapping, "
            f"not {type(base_emissions).__name__}"
        )
    if base.year != b:
        raise ScenarioError(
            f"base emissions are of {base.year}, the scenario's base year is {b} ({scenario.path})"
        )
    return base


def run_scenario(
    scenario: Scenario,
    twin: Twin,
    factors: FactorSet,
    *,
    base_emissions: Ledger | str | Path | BaseEmissions | Mapping[str, Any] | None = None,
    strict: bool = False,
) -> ScenarioResult:
    """Project BAU and the scenario year by year, with wedges and a MACC.

    Parameters
    ----------
    scenario : from :func:`load_scenario`.
    twin : the twin it was loaded with (checked by content hash).
    factors : the factor set that values the measures' savings in the base year
        (location-based); its grid factor is scaled by the grid path.
    base_emissions : base-year emissions: a :class:`carbon.ledger.Ledger` (its location-based
        emission and adjustment entries of the base year, summed per GPC sector), a snapshot
        path, a :class:`BaseEmissions`, or ``{sector: {"electricity": t, "other": t}}``
        [t CO2e]; default the file's ``[base]`` table.
    strict : raise :class:`carbon.warnings.QualityError` on any warning.

    Returns
    -------
    ScenarioResult

    Raises
    ------
    ScenarioError
        When there are no base emissions, they are of another year, a base sector has no
        growth rate, or the twin is not the one the scenario was loaded with.
    FactorNotFoundError
        When a saved activity has no factor in the base year.
    """
    if twin.name != scenario.site or twin.content_hash != scenario.twin_hash:
        raise ScenarioError(
            f"{scenario.path} was loaded with twin {scenario.site!r} "
            f"(hash {scenario.twin_hash[:12]}), not {twin.name!r} (hash "
            f"{twin.content_hash[:12]}); load it again with this twin"
        )
    base = _coerce_base(scenario, base_emissions)
    warnings: list[QualityWarning] = list(base.warnings)
    rates = {}
    for sector in base.emissions["sector"]:
        rate = scenario.growth.get(sector, scenario.growth.get("default"))
        if rate is None:
            raise ScenarioError(
                f"{scenario.path}: base emissions have sector {sector} but [bau.growth] has no "
                f"rate for it (nor a default); rates: {scenario.growth}"
            )
        rates[sector] = rate

    b = scenario.base_year
    grid_factor = float(
        factors.lookup(
            "electricity.grid", twin.region_of(twin.root.id), dt.date(b, 7, 1)
        ).co2e_per_unit(factors.gwp)
    )
    components = _components(scenario, factors, warnings)
    per_measure = {m.id: components[components["measure_id"] == m.id] for m in scenario.measures}

    trajectory_rows, wedge_rows = [], []
    for year in scenario.years:
        index = scenario.grid_index(year)
        bau_elec = bau_other = 0.0
        for sector, e_t, o_t in zip(
            base.emissions["sector"],
            base.emissions["electricity_t"],
            base.emissions["other_t"],
            strict=True,
        ):
            growth = (1.0 + rates[sector]) ** (year - b)
            bau_elec += e_t * index * growth
            bau_other += o_t * growth
        avoided = removal = 0.0
        for m in scenario.measures:
            c = per_measure[m.id]
            share = m.adoption.share(year)
            gain = share - m.adoption.share(b)
            m_avoided = gain * (
                float(c["avoided_grid_t_per_yr"].sum()) * index
                + float(c["avoided_other_t_per_yr"].sum())
            )
            m_removal = gain * float(c["removal_t_per_yr"].sum())
            avoided += m_avoided
            removal += m_removal
            wedge_rows.append(
                {
                    "year": year,
                    "measure_id": m.id,
                    "name_zh": m.name_zh,
                    "name_en": m.name_en,
                    "adoption_share": share,
                    "adoption_gain": gain,
                    "avoided_t": m_avoided,
                    "removal_t": m_removal,
                }
            )
        bau = bau_elec + bau_other
        trajectory_rows.append(
            {
                "year": year,
                "grid_index": index,
                "electricity_factor_kg_per_kwh": grid_factor * index,
                "bau_electricity_t": bau_elec,
                "bau_other_t": bau_other,
                "bau_t": bau,
                "avoided_t": avoided,
                "scenario_t": bau - avoided,
                "removal_t": removal,
                "net_t": bau - avoided - removal,
                "target_t": base.total_t * (1.0 - scenario.target_reduction(year))
                if scenario.targets
                else math.nan,
            }
        )
    trajectory = pd.DataFrame(trajectory_rows, columns=list(TRAJECTORY_COLUMNS))
    trajectory["year"] = trajectory["year"].astype("int64")
    wedges = pd.DataFrame(wedge_rows, columns=list(WEDGE_COLUMNS))
    wedges["year"] = wedges["year"].astype("int64")

    negative = trajectory[trajectory["scenario_t"] < 0]
    if len(negative):
        warnings.append(
            QualityWarning(
                "scenario.negative_emissions",
                f"the measures avoid more than the BAU emissions in {len(negative)} year(s) "
                f"(first {int(negative['year'].iloc[0])}); check their scale against the base",
                {"years": [int(y) for y in negative["year"]]},
            )
        )
    macc = _macc(scenario, components, warnings)
    unique: list[QualityWarning] = []
    for w in warnings:
        if all((w.code, w.message) != (u.code, u.message) for u in unique):
            unique.append(w)
    raise_if_strict(unique, strict)
    return ScenarioResult(
        scenario=scenario,
        base=base,
        trajectory=trajectory,
        wedges=wedges,
        macc=macc,
        components=components,
        targets=_target_check(scenario, trajectory, base),
        provenance={
            "scenario": str(scenario.path),
            "scenario_sha256": scenario.sha256,
            "twin": twin.name,
            "twin_sha256": twin.content_hash,
            "factor_set": factors.name,
            "factor_set_sha256": factors.content_hash,
            "base": base.source,
        },
        warnings=unique,
    )


def _macc(
    scenario: Scenario, components: pd.DataFrame, warnings: list[QualityWarning]
) -> pd.DataFrame:
    index = scenario.grid_index(scenario.macc_year)
    rows = []
    for m in scenario.measures:
        c = components[components["measure_id"] == m.id]
        avoided = float(c["avoided_grid_t_per_yr"].sum()) * index + float(
            c["avoided_other_t_per_yr"].sum()
        )
        removed = float(c["removal_t_per_yr"].sum())
        abatement = avoided + removed
        kwh = float(c["electricity_kwh_per_yr"].sum())
        costs = c["annualised_cost_cny_per_yr"]
        cost = math.nan if costs.isna().any() else float(costs.sum())
        price = (
            m.electricity_price if m.electricity_price is not None else (scenario.electricity_price)
        )
        bill = kwh * price if price is not None else 0.0
        per_t = (cost - bill) / abatement if abatement > 0 and math.isfinite(cost) else math.nan
        if math.isnan(per_t):
            why = "no capex or opex" if not math.isfinite(cost) else "no abatement"
            warnings.append(
                QualityWarning(
                    "scenario.macc_no_cost",
                    f"measure {m.id}: no cost per tonne ({why}); it is left off the MACC",
                    {"measure_id": m.id},
                )
            )
        rows.append(
            {
                "measure_id": m.id,
                "name_zh": m.name_zh,
                "name_en": m.name_en,
                "kind": m.kind,
                "targets": len(m.targets),
                "abatement_t_per_yr": abatement,
                "avoided_t_per_yr": avoided,
                "removal_t_per_yr": removed,
                "electricity_kwh_per_yr": kwh,
                "annualised_cost_cny_per_yr": cost,
                "electricity_price_cny_per_kwh": math.nan if price is None else price,
                "bill_savings_cny_per_yr": bill,
                "cost_per_t_cny": per_t,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(MACC_COLUMNS))
    frame["_order"] = range(len(frame))
    frame = frame.sort_values(
        ["cost_per_t_cny", "_order"], na_position="last", kind="stable", ignore_index=True
    ).drop(columns="_order")
    costed = frame["cost_per_t_cny"].notna()
    widths = frame["abatement_t_per_yr"].where(costed, 0.0)
    frame["cumulative_end_t"] = widths.cumsum()
    frame["cumulative_start_t"] = frame["cumulative_end_t"] - widths
    frame.loc[~costed, ["cumulative_start_t", "cumulative_end_t"]] = math.nan
    frame["rank"] = range(1, len(frame) + 1)
    frame["macc_year"] = scenario.macc_year
    return frame[list(MACC_COLUMNS)]


def _target_check(
    scenario: Scenario, trajectory: pd.DataFrame, base: BaseEmissions
) -> pd.DataFrame:
    rows = []
    for t in scenario.targets:
        row = trajectory[trajectory["year"] == t.year].iloc[0]
        value = float(row["scenario_t"] if t.compare == "gross" else row["net_t"])
        target_t = base.total_t * (1.0 - t.reduction)
        rows.append(
            {
                "year": t.year,
                "reduction": t.reduction,
                "compare": t.compare,
                "target_t": target_t,
                "value_t": value,
                "gap_t": value - target_t,
                "met": value <= target_t,
                "basis": t.basis,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["year", "reduction", "compare", "target_t", "value_t", "gap_t", "met", "basis"],
    )


@dataclass(frozen=True)
class ScenarioResult:
    """What :func:`run_scenario` returns.

    Attributes
    ----------
    scenario : the scenario run.
    base : the base-year emissions used.
    trajectory : one row per year, columns :data:`TRAJECTORY_COLUMNS`.
    wedges : one row per year and measure, columns :data:`WEDGE_COLUMNS`.
    macc : one row per measure, cheapest per tonne first, columns :data:`MACC_COLUMNS`.
    components : the base-year figures of every intervention behind the measures
        (:data:`COMPONENT_COLUMNS`), for tracing a wedge back to its targets.
    targets : per target: ``year, reduction, compare, target_t, value_t, gap_t`` [t CO2e]
        (gap > 0: above the target), ``met``, ``basis``.
    provenance : what the run depends on, to reproduce it: the scenario file and its SHA-256,
        the twin and its content hash, the factor set and its content hash, the base source.
    warnings : data-quality warnings (partial base year, carried-forward factors, measures
        without costs, negative emissions).
    """

    scenario: Scenario
    base: BaseEmissions
    trajectory: pd.DataFrame
    wedges: pd.DataFrame
    macc: pd.DataFrame
    components: pd.DataFrame
    targets: pd.DataFrame
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[QualityWarning] = field(default_factory=list)

    def figure_trajectory(self, lang: str = "zh") -> go.Figure:
        """:func:`trajectory_figure` of :attr:`trajectory`."""
        return trajectory_figure(self.trajectory, lang, title=self._title(lang))

    def figure_wedges(self, lang: str = "zh") -> go.Figure:
        """:func:`wedges_figure` of :attr:`wedges`."""
        return wedges_figure(self.wedges, lang, title=self._title(lang))

    def figure_macc(self, lang: str = "zh") -> go.Figure:
        """:func:`macc_figure` of :attr:`macc`."""
        return macc_figure(self.macc, lang, title=self._title(lang))

    def write_figures(self, folder: str | Path, lang: str = "zh") -> dict[str, Path]:
        """Write the three figures as self-contained HTML (plotly.js inlined, no CDN: DESIGN
        decision 9) to ``folder`` (created if missing).

        Returns
        -------
        dict
            ``{"trajectory": path, "wedges": path, "macc": path}``.
        """
        _lang(lang)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for name, fig in (
            ("trajectory", self.figure_trajectory(lang)),
            ("wedges", self.figure_wedges(lang)),
            ("macc", self.figure_macc(lang)),
        ):
            path = folder / f"{self.scenario.id}_{name}_{lang}.html"
            fig.write_html(path, include_plotlyjs=True)
            out[name] = path
        return out

    def _title(self, lang: str) -> str:
        s = self.scenario
        return s.name_zh if _lang(lang) == "zh" else s.name_en


# --------------------------------------------------------------------------- figures
_TEXT: dict[str, tuple[str, str]] = {
    "trajectory": (
        "排放轨迹：基准情景与规划情景",
        "Emission trajectory: business as usual vs scenario",
    ),
    "wedges": ("各措施减排楔形", "Abatement wedges by measure"),
    "macc": ("边际减排成本曲线", "Marginal abatement cost curve"),
    "bau": ("基准情景(BAU)", "Business as usual"),
    "scenario": ("规划情景", "Scenario"),
    "net": ("扣除碳汇后", "Net of removals"),
    "target": ("目标", "Target"),
    "year": ("年份", "Year"),
    "t_per_yr": ("吨CO₂e/年", "t CO₂e / yr"),
    "t_avoided": ("减排量(吨CO₂e/年)", "Avoided (t CO₂e / yr)"),
    "cumulative": ("累计年减排潜力(吨CO₂e/年)", "Cumulative abatement (t CO₂e / yr)"),
    "cny_per_t": ("单位减排成本(元/吨CO₂e)", "Cost (CNY / t CO₂e)"),
    "removal": ("碳汇", "removal"),
}

_COLOURS = (
    "#37a2da",
    "#32c5e9",
    "#67e0e3",
    "#9fe6b8",
    "#ffdb5c",
    "#ff9f7f",
    "#fb7293",
    "#e690d1",
    "#9d96f5",
    "#8378ea",
)
"""Series palette (the wall screen's DataV palette, then more)."""


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise ScenarioError(f"lang must be 'zh' or 'en', not {lang!r}")
    return lang


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return zh if _lang(lang) == "zh" else en


def _name(row: Mapping[str, Any], lang: str) -> str:
    return str(row["name_zh"] if lang == "zh" else row["name_en"])


def _layout(title: str, x: str, y: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.01},
        "xaxis": {"title": {"text": x}},
        "yaxis": {"title": {"text": y}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.2},
        "template": "plotly_white",
        "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
    }


def _title(key: str, lang: str, title: str | None) -> str:
    return _t(key, lang) + (f" · {title}" if title else "")


def trajectory_figure(
    trajectory: pd.DataFrame, lang: str = "zh", title: str | None = None
) -> go.Figure:
    """BAU, scenario, net (when there are removals) and target lines by year.

    Parameters
    ----------
    trajectory : :attr:`ScenarioResult.trajectory` (``year, bau_t, scenario_t, removal_t,
        net_t, target_t`` [t CO2e]).
    lang : ``zh`` or ``en``.
    title : appended to the chart's title (e.g. the scenario's name).
    """
    import plotly.graph_objects as go

    years = [int(y) for y in trajectory["year"]]
    fig = go.Figure(
        layout=_layout(_title("trajectory", lang, title), _t("year", lang), _t("t_per_yr", lang))
    )
    fig.add_scatter(
        x=years,
        y=list(trajectory["bau_t"]),
        name=_t("bau", lang),
        mode="lines",
        line={"color": "#7f7f7f", "dash": "dash"},
    )
    fig.add_scatter(
        x=years,
        y=list(trajectory["scenario_t"]),
        name=_t("scenario", lang),
        mode="lines+markers",
        line={"color": "#37a2da", "width": 3},
    )
    if (trajectory["removal_t"] != 0).any():
        fig.add_scatter(
            x=years,
            y=list(trajectory["net_t"]),
            name=_t("net", lang),
            mode="lines",
            line={"color": "#3ddc84", "dash": "dot"},
        )
    if trajectory["target_t"].notna().any():
        fig.add_scatter(
            x=years,
            y=list(trajectory["target_t"]),
            name=_t("target", lang),
            mode="lines",
            line={"color": "#ef3b3b", "dash": "dashdot"},
        )
    return fig


def wedges_figure(wedges: pd.DataFrame, lang: str = "zh", title: str | None = None) -> go.Figure:
    """Stacked areas: avoided tonnes of each measure by year (removals stacked apart).

    Parameters
    ----------
    wedges : :attr:`ScenarioResult.wedges` (``year, measure_id, name_zh, name_en, avoided_t,
        removal_t`` [t CO2e]).
    lang : ``zh`` or ``en``.
    title : appended to the chart's title.
    """
    import plotly.graph_objects as go

    fig = go.Figure(
        layout=_layout(_title("wedges", lang, title), _t("year", lang), _t("t_avoided", lang))
    )
    order = list(dict.fromkeys(wedges["measure_id"]))
    for k, measure_id in enumerate(order):
        w = wedges[wedges["measure_id"] == measure_id]
        name = _name(w.iloc[0], lang)
        colour = _COLOURS[k % len(_COLOURS)]
        years = [int(y) for y in w["year"]]
        if (w["avoided_t"] != 0).any() or not (w["removal_t"] != 0).any():
            fig.add_scatter(
                x=years,
                y=list(w["avoided_t"]),
                name=name,
                stackgroup="avoided",
                mode="lines",
                line={"color": colour},
                legendgroup=measure_id,
            )
        if (w["removal_t"] != 0).any():
            label = f"{name} ({_t('removal', lang)})"
            fig.add_scatter(
                x=years,
                y=list(w["removal_t"]),
                name=label,
                stackgroup="removal",
                mode="lines",
                line={"color": colour, "dash": "dot"},
                legendgroup=measure_id,
            )
    return fig


def macc_figure(macc: pd.DataFrame, lang: str = "zh", title: str | None = None) -> go.Figure:
    """The marginal abatement cost curve: one bar (and legend entry) per measure, width its
    abatement, height its cost per tonne, cheapest first; measures without a cost are left off.

    Parameters
    ----------
    macc : :attr:`ScenarioResult.macc` (``abatement_t_per_yr`` [t CO2e / yr],
        ``cost_per_t_cny`` [CNY / t CO2e], ``cumulative_start_t``, names).
    lang : ``zh`` or ``en``.
    title : appended to the chart's title.

    References
    ----------
    McKinsey & Company, *Pathways to a Low-Carbon Economy*, 2009, Exhibit 1.
    """
    import plotly.graph_objects as go

    m = macc[macc["cost_per_t_cny"].notna()].sort_values("cost_per_t_cny", kind="stable")
    fig = go.Figure(
        layout=_layout(_title("macc", lang, title), _t("cumulative", lang), _t("cny_per_t", lang))
    )
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_yaxes(rangemode="normal", zeroline=True, zerolinecolor="#333333")
    for k, row in enumerate(m.to_dict("records")):
        width = float(row["abatement_t_per_yr"])
        left = float(row["cumulative_start_t"])
        name = _name(row, lang)
        fig.add_bar(
            x=[left + width / 2],
            y=[float(row["cost_per_t_cny"])],
            width=[width],
            name=name,
            hovertext=[name],
            marker={"color": _COLOURS[k % len(_COLOURS)], "line": {"color": "#333333", "width": 1}},
            hovertemplate="%{hovertext}<br>%{width:,.1f} t/yr · %{y:,.0f} CNY/t<extra></extra>",
        )
    return fig
