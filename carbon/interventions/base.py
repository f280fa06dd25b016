"""The common interface of the intervention models: cited parameters, estimates, ledger entries.

Every model is a pydantic :class:`Intervention` whose physical parameters are pint Quantities
(their dimension checked when the model is built) and whose defaults are :class:`Cited` rows of
the project's research notes, with source, confidence and, for assumptions, the basis. A model
knows the twin assets it acts on, its commissioning date, lifetime and costs, and
:meth:`Intervention.estimate` returns an :class:`Estimate`: monthly savings (electricity,
water, PV generation), avoided emissions and removals with a low/high range, ledger entries,
and the cost per tonne over the lifetime.

Where the range comes from
--------------------------
A parameter has a range when the research gives one (e.g. 15-45 % recoverable elevator
energy, docs/research/factors.md §7f): :meth:`Intervention.range_of` takes it from the default's
``low``/``high`` when the default is used (or when an estimated twin attribute stands in for
it), from the ``ranges`` field when the caller gives one, and collapses to the value itself
otherwise. The estimate is evaluated at every corner of the parameter box (2^k evaluations for
k ranged parameters) and the low/high of each month are the minimum and maximum over the
corners. Emission-factor uncertainty is not part of the range.

Sign convention
---------------
Avoided emissions and removals are **positive** numbers: kg CO2e not emitted because of the
intervention (``avoided``), or CO2 taken up by vegetation (``removal``). They are ledger
entries of their own kinds and never enter an emission total (:meth:`carbon.ledger.Ledger.total`
selects ``emission`` and ``adjustment`` entries only; GPC v1.1 keeps removals and avoided
emissions apart, docs/research/gpc.md §1.4).

Claims only on evidence
-----------------------
A flow a model can estimate but the project will not claim without evidence
(:meth:`Intervention.unclaimed`: e-bike charging without a verifying meter, green-wall plant
uptake) is still estimated and shown (its kWh or kg CO2 in the ``amount``), but booked at 0 kg
(``factor_activity = 'none'``, a note ``informational: <why>``) and left out of the avoided and
removal columns of the estimate (docs/research/uncertainty.md §5).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
import pint
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from carbon.errors import CarbonError, DataFileError, UnknownUnitError
from carbon.gpc import REFS, classify
from carbon.units import Q_, parse_quantity, parse_unit
from carbon.valuation import DIRECT, MICRO, ROUNDING, UNVALUED, Valued, value_amounts, value_factor
from carbon.warnings import QualityWarning

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.twin import Twin

__all__ = [
    "ESTIMATE_COLUMNS",
    "FLOWS",
    "Cited",
    "Estimate",
    "Intervention",
    "InterventionError",
    "RegisterError",
    "Unit",
    "month_starts",
    "to_entries",
]

Confidence = Literal["high", "medium-high", "medium", "low-medium", "low", "derived", "assumption"]


class InterventionError(CarbonError, ValueError):
    """An intervention that cannot be estimated as given (a missing parameter, no region...)."""


class RegisterError(DataFileError):
    """An intervention register (``sites/<site>/interventions.toml``) that fails validation.

    Carries the file, the intervention id (``entry``) and the field, like every
    :class:`carbon.errors.DataFileError`; it is also a ``ValueError``.
    """


# --------------------------------------------------------------------------- cited values
@dataclass(frozen=True)
class Cited:
    """A default parameter value with its source.

    Values are written as text (``"0.47"``, ``"40 kWh/d"``) and parsed on use, so importing a
    model reads no file.

    Attributes
    ----------
    value : the central value, a quantity string.
    source : where it comes from (the research row, with its own citation).
    confidence : ``high`` ... ``low``, ``derived`` or ``assumption`` (UNCONFIRMED research
        values are assumptions and say so in ``basis``).
    low, high : the range the research gives, as quantity strings, if any.
    basis : for derived values and assumptions, how the value was chosen.
    """

    value: str
    source: str
    confidence: Confidence
    low: str | None = None
    high: str | None = None
    basis: str | None = None

    @property
    def quantity(self) -> pint.Quantity:
        """The central value as a Quantity."""
        return parse_quantity(self.value)

    @property
    def range(self) -> tuple[pint.Quantity, pint.Quantity]:
        """(low, high) as Quantities; the value itself where the research gives no range."""
        low = parse_quantity(self.low) if self.low else self.quantity
        high = parse_quantity(self.high) if self.high else self.quantity
        return low, high

    @property
    def is_assumption(self) -> bool:
        """True for assumptions (including UNCONFIRMED research values)."""
        return self.confidence == "assumption"


@dataclass(frozen=True)
class Unit:
    """Annotation marker of a quantity parameter: the unit the model computes it in."""

    unit: str


def _coerce(value: Any, unit: str) -> pint.Quantity | None:
    """Parse a parameter into a Quantity of ``unit``'s dimension (None passes through)."""
    if value is None:
        return None
    target = parse_unit(unit)
    if isinstance(value, pint.Quantity):
        q = Q_(value)
    elif isinstance(value, str):
        try:
            q = parse_quantity(value)
        except UnknownUnitError as exc:
            raise ValueError(str(exc)) from None
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if not target.dimensionless:
            raise ValueError(
                f"a bare number {value!r} has no unit; write it with one, e.g. '{value} {unit}'"
            )
        q = Q_(float(value))
    else:
        raise ValueError(f"expected a quantity such as '1 {unit}', got {value!r}")
    if q.units.dimensionality != target.dimensionality:
        raise ValueError(
            f"{value!r} has the wrong unit: expected a unit of {target.dimensionality} such "
            f"as {unit}"
        )
    if not math.isfinite(float(q.magnitude)) or float(q.magnitude) < 0:
        raise ValueError(f"{value!r} must be a finite, non-negative quantity")
    return q


def _validator(unit: str) -> BeforeValidator:
    return BeforeValidator(functools.partial(_coerce, unit=unit))


def _format(q: pint.Quantity | None) -> str | None:
    return None if q is None else f"{q.magnitude:g} {q.units:~P}"


_SERIAL = PlainSerializer(_format, return_type=str | None)

# Quantity parameter types: the marker says the unit the model computes in; the validator
# enforces its dimension (a bare number is refused unless the unit is dimensionless).
Dimensionless = Annotated[pint.Quantity | None, Unit(""), _validator(""), _SERIAL]
Power = Annotated[pint.Quantity | None, Unit("W"), _validator("W"), _SERIAL]
HoursPerDay = Annotated[pint.Quantity | None, Unit("h/d"), _validator("h/d"), _SERIAL]
Volume = Annotated[pint.Quantity | None, Unit("L"), _validator("L"), _SERIAL]
PerDay = Annotated[pint.Quantity | None, Unit("1/d"), _validator("1/d"), _SERIAL]
PerWeek = Annotated[pint.Quantity | None, Unit("1/week"), _validator("1/week"), _SERIAL]
Area = Annotated[pint.Quantity | None, Unit("m2"), _validator("m2"), _SERIAL]
Angle = Annotated[pint.Quantity | None, Unit("deg"), _validator("deg"), _SERIAL]
Capacity = Annotated[pint.Quantity | None, Unit("kWp"), _validator("kWp"), _SERIAL]
Energy = Annotated[pint.Quantity | None, Unit("kWh"), _validator("kWh"), _SERIAL]
EnergyPerDay = Annotated[pint.Quantity | None, Unit("kWh/d"), _validator("kWh/d"), _SERIAL]
EnergyPerVolume = Annotated[pint.Quantity | None, Unit("kWh/m3"), _validator("kWh/m3"), _SERIAL]
PowerDensity = Annotated[pint.Quantity | None, Unit("kWp/m2"), _validator("kWp/m2"), _SERIAL]
EnergyPerAreaYear = Annotated[
    pint.Quantity | None, Unit("kWh/m2/yr"), _validator("kWh/m2/yr"), _SERIAL
]
CO2PerAreaYear = Annotated[
    pint.Quantity | None, Unit("kgCO2/m2/yr"), _validator("kgCO2/m2/yr"), _SERIAL
]
CarbonPerAreaYear = Annotated[
    pint.Quantity | None, Unit("kgC/m2/yr"), _validator("kgC/m2/yr"), _SERIAL
]
PerKelvin = Annotated[pint.Quantity | None, Unit("1/K"), _validator("1/K"), _SERIAL]
Money = Annotated[pint.Quantity | None, Unit("CNY"), _validator("CNY"), _SERIAL]
MoneyPerYear = Annotated[pint.Quantity | None, Unit("CNY/yr"), _validator("CNY/yr"), _SERIAL]
Speed = Annotated[pint.Quantity | None, Unit("m/s"), _validator("m/s"), _SERIAL]

# Flows a model can produce, per month. Each avoided flow names the activity whose
# emissions it avoids (for the factor) and the activity the ledger entry carries.
FLOWS: dict[str, dict[str, Any]] = {
    "electricity": {
        "column": "electricity_saved_kwh",
        "factor_activity": "electricity.grid",
        "entry_activity": "electricity.grid",
        "unit": "kWh",
        "scope2": True,
    },
    "water": {
        "column": "water_saved_m3",
        "factor_activity": "water.supply",
        "entry_activity": "water.supply",
        "unit": "m3",
        "scope2": False,
    },
    "wastewater": {
        "column": "wastewater_avoided_m3",
        "factor_activity": "wastewater.treatment",
        "entry_activity": "wastewater.treatment",
        "unit": "m3",
        "scope2": False,
    },
    "pv_self_consumed": {
        "column": "pv_self_consumed_kwh",
        "factor_activity": "electricity.grid",
        "entry_activity": "electricity.pv_self_consumed",
        "unit": "kWh",
        "scope2": True,
    },
}
"""Avoided flows: monthly column, the activity whose factor values it, the entry activity."""

INFO_FLOWS = {
    "pv_generation": "pv_generation_kwh",
    "pv_exported": "pv_exported_kwh",
}
"""Flows reported without a factor (PV generation; export is recorded in GPC I.4.4 at 0 t)."""

ESTIMATE_COLUMNS: dict[str, str] = {
    "period_start": "first day of the month [date]",
    "days": "days in the month [d]",
    "electricity_saved_kwh": "grid electricity saved [kWh]",
    "water_saved_m3": "tap water saved [m3]",
    "wastewater_avoided_m3": "wastewater not treated [m3]",
    "pv_generation_kwh": "rooftop PV generation, AC [kWh]",
    "pv_self_consumed_kwh": "PV used on site, replacing grid electricity [kWh]",
    "pv_exported_kwh": "PV exported to the grid (GPC I.4.4, 0 t) [kWh]",
    "avoided_co2e_kg": "avoided emissions, central [kg CO2e], float",
    "avoided_low_kg": "avoided emissions, low end of the parameter ranges [kg CO2e]",
    "avoided_high_kg": "avoided emissions, high end [kg CO2e]",
    "removal_co2e_kg": "CO2 removed by vegetation, central [kg CO2e], float",
    "removal_low_kg": "removal, low end [kg CO2e]",
    "removal_high_kg": "removal, high end [kg CO2e]",
}
"""Columns of :attr:`Estimate.monthly` (floats; every model fills every column, 0 where a flow
does not apply). Ledger entries carry Decimal amounts instead, see :attr:`Estimate.entries`."""

REFERENCE_YEAR = 2023
"""The non-leap calendar year of a 'typical year' (lifetime and cost per tonne)."""


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the months that begin in ``[start, end)``."""
    months, current = [], dt.date(start.year, start.month, 1)
    if current < start:
        current = _next_month(current)
    while current < end:
        months.append(current)
        current = _next_month(current)
    return months


def _next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _as_date(value: str | dt.date | dt.datetime | pd.Timestamp) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _dq_confidence(confidence: str) -> str:
    return {"high": "H", "medium-high": "M", "medium": "M"}.get(confidence, "L")


@dataclass(frozen=True)
class Allocation:
    """Share of an intervention's flows that belongs to one twin node.

    Attributes
    ----------
    node : twin node id the entries go to.
    share : share of every flow [dimensionless, 0..1].
    use_type : the node's use type, for the GPC row of electricity.
    """

    node: str
    share: float
    use_type: str | None = None


# --------------------------------------------------------------------------- the estimate
@dataclass(frozen=True)
class Estimate:
    """The ex-ante estimate of one intervention over ``[start, end)``.

    Attributes
    ----------
    intervention_id, kind, status : of the intervention.
    start, end : the period asked for; only months from commissioning on are estimated.
    method : scope-2 method of the electricity factors (``location`` or ``market``).
    monthly : one row per month, columns :data:`ESTIMATE_COLUMNS` (floats).
    entries : ledger extra entries (kinds ``avoided`` and ``removal``; Decimal amounts and
        kg CO2e rounded to the gram), ready for ``build_ledger(extra_entries=...)``.
    annual : a typical year (12 months of a non-leap year at the factors in force in the
        last month of the period): ``avoided_t, avoided_low_t, avoided_high_t, removal_t,
        removal_low_t, removal_high_t`` [t CO2e / yr].
    lifetime_years : service life [yr].
    lifetime_cost_cny : capex + opex x lifetime, undiscounted [CNY]; None when costs are
        unknown.
    cost_per_t : levelised cost per tonne avoided or removed [CNY / t CO2e]:
        ``(capex x CRF(r, L) + opex) / annual tonnes``; with ``discount_rate`` r = 0 this is
        lifetime cost / lifetime tonnes. None when costs are unknown or nothing is avoided.
    parameters : the parameter table (value, range, origin, source, confidence, basis).
    warnings : data-quality warnings (proxy or carried-forward factors, FAO default
        Ångström coefficients...).
    """

    intervention_id: str
    kind: str
    status: str
    start: dt.date
    end: dt.date
    method: str
    monthly: pd.DataFrame
    entries: pd.DataFrame
    annual: dict[str, float]
    lifetime_years: float
    lifetime_cost_cny: float | None
    cost_per_t: float | None
    parameters: pd.DataFrame
    warnings: list[QualityWarning] = field(default_factory=list)

    @property
    def avoided_t(self) -> float:
        """Avoided emissions over the period, central [t CO2e]."""
        return float(self.monthly["avoided_co2e_kg"].sum()) / 1000.0

    @property
    def avoided_low_t(self) -> float:
        """Low end of the avoided emissions over the period [t CO2e]."""
        return float(self.monthly["avoided_low_kg"].sum()) / 1000.0

    @property
    def avoided_high_t(self) -> float:
        """High end of the avoided emissions over the period [t CO2e]."""
        return float(self.monthly["avoided_high_kg"].sum()) / 1000.0

    @property
    def removal_t(self) -> float:
        """Removals over the period, central [t CO2e]."""
        return float(self.monthly["removal_co2e_kg"].sum()) / 1000.0

    @property
    def lifetime_avoided_t(self) -> float:
        """Avoided emissions over the service life (typical year x lifetime) [t CO2e]."""
        return self.annual["avoided_t"] * self.lifetime_years

    @property
    def lifetime_removal_t(self) -> float:
        """Removals over the service life (typical year x lifetime) [t CO2e]."""
        return self.annual["removal_t"] * self.lifetime_years

    def to_entries(self) -> pd.DataFrame:
        """The ledger extra entries (a copy of :attr:`entries`)."""
        return self.entries.copy()


ENTRY_FIELDS = (
    "entry_id",
    "kind",
    "period_start",
    "node_id",
    "gpc_ref",
    "activity",
    "method",
    "amount",
    "unit",
    "factor_id",
    "factor_co2e",
    "co2_kg",
    "ch4_kg",
    "n2o_kg",
    "co2e_kg",
    "dq_activity",
    "dq_factor",
    "notes",
    "factor_activity",
    "factor_multiplier",
    "region",
    "valued_on",
)
"""Columns of a model's entries: the valued entry and the amount it was valued from
(``factor_activity``, ``region``, ``valued_on``; see :data:`carbon.valuation.AMOUNT_COLUMNS`)."""


def to_entries(estimates: Iterable[Estimate]) -> pd.DataFrame:
    """Concatenate the ledger entries of several estimates.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, period_start, node_id, gpc_ref, activity, method, amount, unit,
        factor_id, factor_co2e, co2_kg, ch4_kg, n2o_kg, co2e_kg, dq_activity, dq_factor,
        notes`` (Decimal amounts and kg), for ``build_ledger(extra_entries=...)``.
    """
    frames = [e.entries for e in estimates if len(e.entries)]
    if not frames:
        return pd.DataFrame(columns=list(ENTRY_FIELDS))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- the model
class Intervention(BaseModel):
    """An intervention on twin assets, with cited parameters and an ex-ante estimate.

    Subclasses declare their physical parameters as Quantity fields (``Power``, ``Area``...),
    their cited defaults in :attr:`DEFAULTS`, the asset kinds they act on in
    :attr:`ASSET_KINDS`, and their physics in :meth:`_flows`.

    Attributes
    ----------
    id : register id, e.g. ``"hengfeng_mailbox_led"``.
    kind : model kind (``led_lighting``, ``water_saving_toilets``, ``vertical_greening``,
        ``green_roof``, ``green_space``, ``rooftop_pv``, ``ebike_charging``,
        ``elevator_regen``).
    name_zh, name_en : names.
    node : twin node the intervention belongs to.
    assets : twin asset ids it acts on.
    status : ``in_place`` or ``planned``.
    commissioned : first day in service [date]; estimates start with its month.
    lifetime_years : service life [yr].
    capex : capital cost [CNY].
    opex_per_year : operating cost [CNY / yr].
    discount_rate : for the levelised cost per tonne [1/yr]; 0 = undiscounted.
    region : region code for factor lookup (filled from the twin by :meth:`with_twin`).
    use_type : the node's use type, for the GPC row (filled from the twin).
    allocation : node shares of the flows (filled from the assets' nodes by
        :meth:`with_twin`; empty = everything on ``node``).
    ranges : explicit (low, high) of parameters, overriding the cited ranges.
    sources : field or parameter -> citation, for values the register takes from a source.
    assumptions : field or parameter -> basis, for values that are assumptions.
    asset_values : parameter -> asset attribute it was filled from (set by :meth:`with_twin`).
    source : the document that names the intervention (e.g. a seed article).
    notes : free text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    KIND: ClassVar[str] = ""
    ASSET_KINDS: ClassVar[tuple[str, ...]] = ()
    DEFAULTS: ClassVar[dict[str, Cited]] = {}
    COST_BASIS: ClassVar[str] = ""

    id: str = Field(min_length=1, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    kind: str
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    node: str = Field(min_length=1)
    assets: tuple[str, ...] = ()
    status: Literal["in_place", "planned"] = "in_place"
    commissioned: dt.date
    lifetime_years: float = Field(gt=0, le=100)
    capex: Money = None
    opex_per_year: MoneyPerYear = None
    discount_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    region: str | None = None
    use_type: str | None = None
    allocation: tuple[Allocation, ...] = ()
    ranges: dict[str, tuple[Any, Any]] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)
    assumptions: dict[str, str] = Field(default_factory=dict)
    asset_values: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    notes: str | None = None

    # ------------------------------------------------------------------ validation
    @field_validator("commissioned")
    @classmethod
    def _sane_date(cls, v: dt.date) -> dt.date:
        if not dt.date(1990, 1, 1) <= v <= dt.date(2100, 12, 31):
            raise ValueError(f"commissioning date {v} is outside 1990-01-01..2100-12-31")
        return v

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.KIND and self.kind != self.KIND:
            raise ValueError(
                f"kind {self.kind!r} does not fit {type(self).__name__} (kind {self.KIND!r})"
            )
        units = self.parameter_units()
        for name, pair in self.ranges.items():
            if name not in units:
                raise ValueError(
                    f"ranges: {name!r} is not a parameter of {self.kind}; "
                    f"parameters: {', '.join(sorted(units))}"
                )
            if len(pair) != 2:
                raise ValueError(f"ranges.{name}: expected [low, high]")
            low, high = (_coerce(x, units[name]) for x in pair)
            assert low is not None and high is not None
            if low.to(high.units).magnitude > high.magnitude:
                raise ValueError(f"ranges.{name}: low {pair[0]!r} is above high {pair[1]!r}")
        known = set(type(self).model_fields) | set(units)
        for table in ("sources", "assumptions"):
            for key in getattr(self, table):
                if key.split(".")[0] not in known:
                    raise ValueError(
                        f"{table}: {key!r} is neither a field nor a parameter of {self.kind}"
                    )
        return self

    # ------------------------------------------------------------------ parameters
    @classmethod
    def parameter_units(cls) -> dict[str, str]:
        """The model's quantity parameters and the unit each is computed in."""
        out: dict[str, str] = {}
        for name, info in cls.model_fields.items():
            if name in ("capex", "opex_per_year"):
                continue
            for meta in info.metadata:
                if isinstance(meta, Unit):
                    out[name] = meta.unit
        return out

    def default(self, name: str) -> Cited | None:
        """The cited default of a parameter (may depend on other settings), or None."""
        return self.DEFAULTS.get(name)

    def origin(self, name: str) -> str:
        """Where a parameter's value comes from: ``given``, ``asset``, ``default`` or ``unset``."""
        if name in self.asset_values:
            return "asset"
        if getattr(self, name) is not None:
            return "given"
        return "default" if self.default(name) is not None else "unset"

    def value(self, name: str) -> pint.Quantity:
        """A parameter's value: given, from an asset, or the cited default.

        Raises
        ------
        InterventionError
            When the parameter has no value and no default.
        """
        q = getattr(self, name)
        if q is not None:
            return q
        cited = self.default(name)
        if cited is None:
            raise InterventionError(
                f"Intervention {self.id!r} ({self.kind}): parameter {name!r} is not set and has "
                "no default; give it, or load the intervention with its twin assets "
                "(`with_twin`) so it is read from them."
            )
        return cited.quantity

    def range_of(self, name: str) -> tuple[pint.Quantity, pint.Quantity]:
        """(low, high) of a parameter (see the module docstring for the rules)."""
        unit = self.parameter_units()[name]
        if name in self.ranges:
            low, high = (_coerce(x, unit) for x in self.ranges[name])
            assert low is not None and high is not None
            return low, high
        value = self.value(name)
        cited = self.default(name)
        origin = self.origin(name)
        use_cited = cited is not None and (
            origin == "default" or (origin == "asset" and "estimated" in self.asset_values[name])
        )
        if not use_cited:
            return value, value
        assert cited is not None
        low, high = cited.range
        target = parse_unit(unit)
        lo = min(low.to(target).magnitude, value.to(target).magnitude)
        hi = max(high.to(target).magnitude, value.to(target).magnitude)
        return Q_(lo, unit), Q_(hi, unit)

    def _unused(self) -> set[str]:
        """Parameters the current settings make irrelevant (not evaluated, not ranged)."""
        return set()

    def _magnitudes(self) -> dict[str, float]:
        """Central values of every set parameter, as magnitudes in their computing unit."""
        out: dict[str, float] = {}
        unused = self._unused()
        for name, unit in self.parameter_units().items():
            if name in unused:
                continue
            try:
                q = self.value(name)
            except InterventionError:
                continue
            out[name] = float(q.to(parse_unit(unit)).magnitude)
        return out

    def _corners(self) -> list[dict[str, float]]:
        """Every corner of the box of ranged parameters (the centre first)."""
        centre = self._magnitudes()
        ranged: dict[str, tuple[float, float]] = {}
        for name, unit in self.parameter_units().items():
            if name not in centre:
                continue
            low, high = self.range_of(name)
            lo = float(low.to(parse_unit(unit)).magnitude)
            hi = float(high.to(parse_unit(unit)).magnitude)
            if lo != hi:
                ranged[name] = (lo, hi)
        corners = [centre]
        for combo in itertools.product(*ranged.values()):
            corners.append({**centre, **dict(zip(ranged, combo, strict=True))})
        return corners

    def parameter_table(self) -> pd.DataFrame:
        """Every parameter with its value, range, origin, source, confidence and basis.

        Returns
        -------
        pandas.DataFrame
            ``parameter, value, unit, low, high, origin, source, confidence, basis``.
        """
        rows = []
        unused = self._unused()
        for name, unit in self.parameter_units().items():
            if name in unused:
                continue
            try:
                value = self.value(name)
            except InterventionError:
                continue
            low, high = self.range_of(name)
            target = parse_unit(unit)
            cited = self.default(name)
            origin = self.origin(name)
            source: str
            confidence: str
            if origin == "default" and cited is not None:
                source, confidence, basis = cited.source, cited.confidence, cited.basis or ""
            elif origin == "asset":
                source, confidence = f"twin asset {self.asset_values[name]}", "asset"
                basis = self.assumptions.get(name, "")
            else:
                source = self.sources.get(name, "given by the caller")
                confidence = "assumption" if name in self.assumptions else "given"
                basis = self.assumptions.get(name, "")
            rows.append(
                {
                    "parameter": name,
                    "value": float(value.to(target).magnitude),
                    "unit": unit or "1",
                    "low": float(low.to(target).magnitude),
                    "high": float(high.to(target).magnitude),
                    "origin": origin,
                    "source": source,
                    "confidence": confidence,
                    "basis": basis,
                }
            )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ twin
    def asset_kinds(self) -> tuple[str, ...]:
        """The twin asset kinds this intervention can act on."""
        return self.ASSET_KINDS

    def _asset_defaults(self, twin: Twin) -> dict[str, tuple[pint.Quantity, str]]:
        """Parameters the assets provide: name -> (value, description of the attribute)."""
        return {}

    def _asset_weight(self, twin: Twin, asset_id: str) -> float:
        """How much of the flows belongs to one asset (count, area...); equal by default."""
        return 1.0

    def _use_type(self, twin: Twin, node_id: str) -> str | None:
        return twin.use_type_of(node_id)

    def with_twin(self, twin: Twin) -> Self:
        """A copy with region, use type, node allocation and asset parameters from the twin.

        Parameters the caller gave are kept; unset ones the assets provide are filled (and
        recorded in :attr:`asset_values`, marked ``estimated`` when the twin marks the
        attribute as an estimate).

        Raises
        ------
        InterventionError
            When the node or an asset is not in the twin, or an asset has the wrong kind.
        """
        if self.node not in twin.nodes:
            raise InterventionError(
                f"Intervention {self.id!r}: node {self.node!r} is not in twin {twin.name!r}"
            )
        for asset_id in self.assets:
            if asset_id not in twin.assets:
                raise InterventionError(
                    f"Intervention {self.id!r}: asset {asset_id!r} is not in twin {twin.name!r}"
                )
            kind = twin.assets[asset_id].kind
            if kind not in self.asset_kinds():
                raise InterventionError(
                    f"Intervention {self.id!r} ({self.kind}): asset {asset_id!r} is a {kind}; "
                    f"expected {' or '.join(self.asset_kinds())}"
                )
        update: dict[str, Any] = {}
        asset_values = dict(self.asset_values)
        for name, (value, described) in self._asset_defaults(twin).items():
            if getattr(self, name) is None and name not in asset_values:
                update[name] = value
                asset_values[name] = described
        update["asset_values"] = asset_values
        if self.region is None:
            update["region"] = twin.region_of(self.node)
        if self.use_type is None:
            update["use_type"] = self._use_type(twin, self.node)
        if not self.allocation:
            weights: dict[str, float] = {}
            for asset_id in self.assets:
                node = twin.assets[asset_id].node
                weights[node] = weights.get(node, 0.0) + self._asset_weight(twin, asset_id)
            total = sum(weights.values())
            if total > 0 and set(weights) != {self.node}:
                update["allocation"] = tuple(
                    Allocation(n, w / total, self._use_type(twin, n)) for n, w in weights.items()
                )
        return self.model_copy(update=update)

    # ------------------------------------------------------------------ physics
    def _flows(self, p: Mapping[str, float], months: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        """Monthly flows for one set of parameter magnitudes.

        Returns flows among :data:`FLOWS` (avoided), ``removal`` [kg CO2] and
        :data:`INFO_FLOWS`, each an array over ``months``.
        """
        raise NotImplementedError

    def _warnings(self) -> list[QualityWarning]:
        return []

    def _valuation(
        self,
        flow: str,
        on: dt.date,
        factors: FactorSet,
        region: str,
        method: str,
    ) -> Valued:
        """The factor that values one avoided flow in one month (:func:`value_factor`)."""
        use = method if FLOWS[flow]["scope2"] else "location"
        return value_factor(factors, FLOWS[flow]["factor_activity"], region, on, use)

    def _factor_route(self, flow: str) -> tuple[str, Decimal | None, str]:
        """How an avoided flow is valued: the factor's activity, a multiplier of the amount
        (canonical units of that activity per unit of the flow; None = 1) and a note."""
        return FLOWS[flow]["factor_activity"], None, ""

    def _removal_confidence(self) -> str:
        return "low"

    def unclaimed(self) -> dict[str, str]:
        """Flows estimated but not claimed, with the reason: booked at 0 kg (module docstring).

        None by default; a model overrides it (:class:`carbon.interventions.EbikeCharging`
        without a meter, vertical greening's uptake)."""
        return {}

    def _gpc(self, flow: str, use_type: str | None) -> str:
        if flow in ("electricity", "pv_self_consumed"):
            return classify("electricity.grid", use_type)
        if flow == "pv_exported":
            return "I.4.4"
        if flow == "removal":
            return "V.2"
        return classify(FLOWS[flow]["factor_activity"], use_type)

    def _shares(self) -> tuple[Allocation, ...]:
        return self.allocation or (Allocation(self.node, 1.0, self.use_type),)

    # ------------------------------------------------------------------ estimate
    def estimate(
        self,
        factors: FactorSet,
        start: str | dt.date,
        end: str | dt.date,
        *,
        region: str | None = None,
        method: str = "location",
    ) -> Estimate:
        """Estimate (ex ante) the savings, avoided emissions and removals over ``[start, end)``.

        Parameters
        ----------
        factors : the factor set that values the saved activities.
        start, end : first day and day after the last day [date]; months that begin in the
            period and not before the commissioning month are estimated.
        region : region code for factor lookup; default the one bound from the twin.
        method : scope-2 method of the electricity factor, ``location`` or ``market``.

        Returns
        -------
        Estimate

        Raises
        ------
        InterventionError
            When a parameter is missing, no region is known or the period is empty.
        FactorNotFoundError
            When a saved activity has no factor in force in a month.
        """
        start_d, end_d = _as_date(start), _as_date(end)
        if end_d <= start_d:
            raise InterventionError(f"Intervention {self.id!r}: empty period {start_d}..{end_d}")
        if method not in ("location", "market"):
            raise InterventionError(f"method must be 'location' or 'market', not {method!r}")
        region = region or self.region
        if region is None:
            raise InterventionError(
                f"Intervention {self.id!r}: no region for factor lookup; pass region= or bind "
                "the twin with `with_twin(twin)`."
            )
        first = dt.date(self.commissioned.year, self.commissioned.month, 1)
        months = [m for m in month_starts(start_d, end_d) if m >= first]
        corners = self._corners()
        index = pd.DatetimeIndex(pd.to_datetime(months))
        warnings = list(self._warnings())

        monthly, _ = self._evaluate(
            corners, index, [[m] for m in months], factors, region, method, warnings
        )
        monthly.insert(0, "period_start", months)
        monthly.insert(
            1,
            "days",
            np.asarray(index.days_in_month, dtype="int64")
            if len(index)
            else np.zeros(0, dtype="int64"),
        )
        entries = self._entries(corners[0], index, months, factors, region, method)

        last = month_starts(start_d, end_d)[-1] if month_starts(start_d, end_d) else start_d
        typical = pd.date_range(f"{REFERENCE_YEAR}-01-01", periods=12, freq="MS")
        year, _ = self._evaluate(corners, typical, [[last]] * 12, factors, region, method, warnings)
        annual = {
            "avoided_t": float(year["avoided_co2e_kg"].sum()) / 1000.0,
            "avoided_low_t": float(year["avoided_low_kg"].sum()) / 1000.0,
            "avoided_high_t": float(year["avoided_high_kg"].sum()) / 1000.0,
            "removal_t": float(year["removal_co2e_kg"].sum()) / 1000.0,
            "removal_low_t": float(year["removal_low_kg"].sum()) / 1000.0,
            "removal_high_t": float(year["removal_high_kg"].sum()) / 1000.0,
        }
        lifetime_cost, cost_per_t = self._costs(annual["avoided_t"] + annual["removal_t"])
        unique: list[QualityWarning] = []
        for w in warnings:
            if all((w.code, w.message) != (u.code, u.message) for u in unique):
                unique.append(w)
        return Estimate(
            intervention_id=self.id,
            kind=self.kind,
            status=self.status,
            start=start_d,
            end=end_d,
            method=method,
            monthly=monthly,
            entries=entries,
            annual=annual,
            lifetime_years=self.lifetime_years,
            lifetime_cost_cny=lifetime_cost,
            cost_per_t=cost_per_t,
            parameters=self.parameter_table(),
            warnings=unique,
        )

    def _evaluate(
        self,
        corners: list[dict[str, float]],
        index: pd.DatetimeIndex,
        factor_dates: list[list[dt.date]],
        factors: FactorSet,
        region: str,
        method: str,
        warnings: list[QualityWarning],
    ) -> tuple[pd.DataFrame, dict[tuple[str, int], Valued]]:
        """Flows and kg CO2e at every corner; the frame holds the centre and the min/max."""
        n = len(index)
        valued: dict[tuple[str, int], Valued] = {}
        avoided = np.zeros((len(corners), n))
        removal = np.zeros((len(corners), n))
        centre: dict[str, np.ndarray] = {}
        unclaimed = self.unclaimed()
        for k, p in enumerate(corners):
            flows = self._flows(p, index) if n else {}
            if k == 0:
                centre = flows
            for flow, values in flows.items():
                if flow == "removal":
                    if flow not in unclaimed:
                        removal[k] += values
                    continue
                if flow not in FLOWS or flow in unclaimed:
                    continue
                for i in range(n):
                    key = (flow, i)
                    if key not in valued:
                        valued[key] = self._valuation(
                            flow, factor_dates[i][0], factors, region, method
                        )
                        v = valued[key]
                        if "carried_forward" in v.notes or "proxy_factor" in v.notes:
                            code = (
                                "factor.carried_forward"
                                if "carried_forward" in v.notes
                                else "factor.proxy"
                            )
                            warnings.append(
                                QualityWarning(
                                    code,
                                    f"{v.factor_id} values {flow} of {self.id} "
                                    f"({','.join(v.notes)})",
                                    {"factor_id": v.factor_id, "intervention": self.id},
                                )
                            )
                    avoided[k, i] += float(values[i]) * float(valued[key].co2e)
        frame = pd.DataFrame(index=range(n))
        for flow, spec in FLOWS.items():
            frame[spec["column"]] = np.asarray(centre.get(flow, np.zeros(n)), dtype=float)
        for flow, column in INFO_FLOWS.items():
            frame[column] = np.asarray(centre.get(flow, np.zeros(n)), dtype=float)
        frame["avoided_co2e_kg"] = avoided[0]
        frame["avoided_low_kg"] = avoided.min(axis=0) if n else []
        frame["avoided_high_kg"] = avoided.max(axis=0) if n else []
        frame["removal_co2e_kg"] = removal[0]
        frame["removal_low_kg"] = removal.min(axis=0) if n else []
        frame["removal_high_kg"] = removal.max(axis=0) if n else []
        order = [c for c in ESTIMATE_COLUMNS if c in frame]
        return frame[order], valued

    def _entries(
        self,
        centre: dict[str, float],
        index: pd.DatetimeIndex,
        months: list[dt.date],
        factors: FactorSet,
        region: str,
        method: str,
    ) -> pd.DataFrame:
        """The central estimate as amounts per flow, month and node share, valued by
        :func:`carbon.valuation.value_amounts` (the ledger values them again the same way)."""
        if not months:
            return pd.DataFrame(columns=list(ENTRY_FIELDS))
        flows = self._flows(centre, index)
        rows = []
        tag = f"ex_ante intervention={self.id}"
        unclaimed = self.unclaimed()
        for share in self._shares():
            for flow, values in flows.items():
                if flow == "pv_generation":
                    continue
                for i, month in enumerate(months):
                    amount = Decimal(repr(float(values[i]) * share.share)).quantize(MICRO, ROUNDING)
                    if amount <= 0:
                        continue
                    gpc = self._gpc(flow, share.use_type)
                    row: dict[str, Any] = {
                        "period_start": month,
                        "node_id": share.node,
                        "gpc_ref": gpc,
                        "amount": amount,
                        "region": region,
                        "valued_on": month,
                        "dq_activity": "L",
                    }
                    if flow == "removal":
                        row.update(
                            kind="removal",
                            activity="removal.vegetation",
                            factor_activity=UNVALUED if flow in unclaimed else DIRECT,
                            method="n/a",
                            unit="kgCO2",
                            dq_factor=_dq_confidence(self._removal_confidence()),
                            notes=f"{tag} flow=removal"
                            + (f" informational: {unclaimed[flow]}" if flow in unclaimed else ""),
                        )
                    elif flow == "pv_exported":
                        row.update(
                            kind="avoided",
                            activity="electricity.pv_exported",
                            factor_activity=UNVALUED,
                            method="n/a",
                            unit="kWh",
                            dq_factor="L",
                            notes=f"{tag} flow=pv_exported informational: exported generation "
                            "is recorded in GPC I.4.4 at 0 t (docs/research/gpc.md §1.3)",
                        )
                    elif flow in unclaimed:
                        spec = FLOWS[flow]
                        row.update(
                            kind="avoided",
                            activity=spec["entry_activity"],
                            factor_activity=UNVALUED,
                            method=method if REFS[gpc].scope == 2 else "n/a",
                            unit=spec["unit"],
                            dq_factor="L",
                            notes=f"{tag} flow={flow} informational: {unclaimed[flow]}",
                        )
                    else:
                        spec = FLOWS[flow]
                        activity, multiplier, note = self._factor_route(flow)
                        row.update(
                            kind="avoided",
                            activity=spec["entry_activity"],
                            factor_activity=activity,
                            factor_multiplier=multiplier,
                            method=method if REFS[gpc].scope == 2 else "n/a",
                            unit=spec["unit"],
                            notes=f"{tag} flow={flow}" + (f" {note}" if note else ""),
                        )
                    rows.append(row)
        if not rows:
            return pd.DataFrame(columns=list(ENTRY_FIELDS))
        amounts = pd.DataFrame(rows)
        valued = value_amounts(amounts, factors)
        for col in ("factor_activity", "factor_multiplier", "region", "valued_on"):
            valued[col] = amounts[col].to_numpy() if col in amounts else None
        return valued[list(ENTRY_FIELDS)]

    def _costs(self, annual_t: float) -> tuple[float | None, float | None]:
        """Lifetime cost [CNY] and levelised cost per tonne [CNY / t CO2e]."""
        if self.capex is None or self.opex_per_year is None:
            return None, None
        capex = float(self.capex.to(parse_unit("CNY")).magnitude)
        opex = float(self.opex_per_year.to(parse_unit("CNY/yr")).magnitude)
        life = self.lifetime_years
        lifetime_cost = capex + opex * life
        if annual_t <= 0:
            return lifetime_cost, None
        r = self.discount_rate
        crf = 1.0 / life if r == 0 else r / (1.0 - (1.0 + r) ** (-life))
        return lifetime_cost, (capex * crf + opex) / annual_t


def days_of(index: pd.DatetimeIndex) -> np.ndarray:
    """Days in each month of a month-start index [d]."""
    return np.asarray(index.days_in_month, dtype=float)
