"""The intervention register of a community: ``sites/<site>/interventions.toml``.

:func:`load_register` reads the register and validates every intervention against the twin
once: the model kind, every field and parameter (units, dates), that the node and assets exist,
that the assets are of a kind the model acts on and sit on the node or below it, and that every
date, cost and parameter the register sets has a source or an assumption with its basis.
Errors are :class:`RegisterError` (a ``ValueError``) naming the file, the intervention id and
the field.

:func:`estimate_register` gives one row per intervention (for the wall screen's records and
suggestions); :func:`register_entries` gives the ledger extra entries of the interventions in
place.

File format
-----------
::

    [[intervention]]
    id = "kaidike_elevator_regen"
    kind = "elevator_regen"            # a key of MODELS
    name_zh = "..."
    name_en = "..."
    node = "kaidike"                   # twin node
    assets = ["kaidike.elevators"]     # twin assets
    status = "in_place"                # or "planned"
    commissioned = 2023-06-01
    lifetime_years = 15
    capex = "320000 CNY"
    opex_per_year = "2000 CNY/yr"
    source = "seed-001: ..."           # where the intervention is named
    parameters = { elevators = 4 }     # model parameters, with units
    ranges = { }                       # optional (low, high) overriding cited ranges
    sources = { elevators = "seed-001: 4 of 6 elevators upgraded" }
    assumptions = { commissioned = "basis ...", capex = "basis ..." }
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import ValidationError

from carbon.interventions.base import (
    ENTRY_FIELDS,
    Estimate,
    Intervention,
    InterventionError,
    RegisterError,
    to_entries,
)
from carbon.interventions.elevators import ElevatorRegenerativeDrive
from carbon.interventions.greening import Greening, GreenSpace
from carbon.interventions.lighting import LedRetrofit
from carbon.interventions.mobility import EbikeCharging
from carbon.interventions.pv import RooftopPV
from carbon.interventions.water import WaterSavingToilets

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.twin import Twin

__all__ = [
    "MODELS",
    "REGISTER_COLUMNS",
    "Register",
    "estimate_register",
    "load_register",
    "register_entries",
]

MODELS: dict[str, type[Intervention]] = {
    "led_lighting": LedRetrofit,
    "water_saving_toilets": WaterSavingToilets,
    "vertical_greening": Greening,
    "green_roof": Greening,
    "green_space": GreenSpace,
    "rooftop_pv": RooftopPV,
    "ebike_charging": EbikeCharging,
    "elevator_regen": ElevatorRegenerativeDrive,
}
"""Intervention kind -> model class."""

_NEEDS_BASIS = ("commissioned", "lifetime_years", "capex", "opex_per_year")
"""Fields the register must source or mark as assumptions (with parameters it sets)."""


@dataclass(frozen=True)
class Register:
    """A validated intervention register, bound to its twin.

    Attributes
    ----------
    site : the twin's name.
    path : the register file.
    sha256 : SHA-256 of the file [hex], for ledger manifests.
    interventions : by id, in file order, each bound to the twin (:meth:`Intervention.with_twin`).
    """

    site: str
    path: Path
    sha256: str
    interventions: dict[str, Intervention]

    def __len__(self) -> int:
        return len(self.interventions)

    def __iter__(self) -> Iterator[Intervention]:
        return iter(self.interventions.values())

    def __getitem__(self, intervention_id: str) -> Intervention:
        try:
            return self.interventions[intervention_id]
        except KeyError:
            raise KeyError(
                f"No intervention {intervention_id!r} in {self.path}; ids: "
                f"{', '.join(self.interventions)}"
            ) from None

    def in_place(self) -> list[Intervention]:
        """The interventions with status ``in_place``."""
        return [i for i in self if i.status == "in_place"]

    def to_frame(self) -> pd.DataFrame:
        """One row per intervention: ids, names, node, kind, status, dates and costs."""
        rows = []
        for i in self:
            rows.append(
                {
                    "intervention_id": i.id,
                    "kind": i.kind,
                    "name_zh": i.name_zh,
                    "name_en": i.name_en,
                    "node_id": i.node,
                    "assets": ",".join(i.assets),
                    "status": i.status,
                    "commissioned": i.commissioned,
                    "lifetime_years": i.lifetime_years,
                    "capex_cny": None if i.capex is None else float(i.capex.to("CNY").magnitude),
                    "opex_cny_per_yr": (
                        None
                        if i.opex_per_year is None
                        else float(i.opex_per_year.to("CNY/yr").magnitude)
                    ),
                    "assumptions": len(i.assumptions),
                }
            )
        return pd.DataFrame(rows)


def _error_field(loc: Sequence[Any], parameters: set[str]) -> str | None:
    if not loc:
        return None
    first = str(loc[0])
    prefix = "parameters." if first in parameters else ""
    return prefix + ".".join(str(x) for x in loc)


def _build(path: Path, raw: dict[str, Any], position: int, twin: Twin) -> Intervention:
    entry = raw.get("id") if isinstance(raw.get("id"), str) else f"#{position + 1}"
    if not isinstance(raw.get("id"), str):
        raise RegisterError(path, "every intervention needs a string id", entry=entry, field="id")
    kind = raw.get("kind")
    if kind not in MODELS:
        raise RegisterError(
            path,
            f"unknown kind {kind!r}; known kinds: {', '.join(sorted(MODELS))}",
            entry=entry,
            field="kind",
        )
    cls = MODELS[kind]
    data = {k: v for k, v in raw.items() if k != "parameters"}
    params = raw.get("parameters", {})
    if not isinstance(params, dict):
        raise RegisterError(path, "parameters must be a table", entry=entry, field="parameters")
    settable = sorted(set(cls.model_fields) - set(Intervention.model_fields))
    for name in params:
        if name in data:
            raise RegisterError(
                path,
                f"{name!r} is given twice (also outside parameters)",
                entry=entry,
                field=f"parameters.{name}",
            )
        if name not in settable:
            raise RegisterError(
                path,
                f"unknown parameter {name!r} for kind {kind}; known: {', '.join(settable)}",
                entry=entry,
                field=f"parameters.{name}",
            )
    data.update(params)
    try:
        model = cls(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first["msg"].removeprefix("Value error, ")
        value = first.get("input")
        shown = f" (got {value!r})" if isinstance(value, str | int | float) else ""
        raise RegisterError(
            path, msg + shown, entry=entry, field=_error_field(first["loc"], set(params))
        ) from None

    # against the twin
    if model.node not in twin.nodes:
        close = [n for n in twin.nodes if model.node.split(".")[-1] in n][:5]
        raise RegisterError(
            path,
            f"node {model.node!r} is not in twin {twin.name!r}"
            + (f"; close: {', '.join(close)}" if close else ""),
            entry=entry,
            field="node",
        )
    if not model.assets:
        raise RegisterError(
            path,
            "no assets: name the twin assets the intervention acts on",
            entry=entry,
            field="assets",
        )
    below = {model.node} | {n.id for n in twin.descendants(model.node)}
    for asset_id in model.assets:
        if asset_id not in twin.assets:
            raise RegisterError(
                path,
                f"asset {asset_id!r} is not in twin {twin.name!r}",
                entry=entry,
                field="assets",
            )
        asset = twin.assets[asset_id]
        if asset.kind not in model.asset_kinds():
            raise RegisterError(
                path,
                f"asset {asset_id!r} is a {asset.kind}; a {kind} intervention acts on "
                f"{' or '.join(model.asset_kinds())}",
                entry=entry,
                field="assets",
            )
        if asset.node not in below:
            raise RegisterError(
                path,
                f"asset {asset_id!r} sits on {asset.node!r}, which is "
                f"not {model.node!r} or below it",
                entry=entry,
                field="assets",
            )

    # provenance of every value the register sets
    needs = [f for f in _NEEDS_BASIS if f in raw] + list(params) + list(model.ranges)
    for name in needs:
        if name not in model.sources and name not in model.assumptions:
            raise RegisterError(
                path,
                f"{name} has neither a source nor an assumption with its "
                "basis; add it to `sources` or `assumptions`",
                entry=entry,
                field=f"assumptions.{name}",
            )
    try:
        return model.with_twin(twin)
    except InterventionError as exc:
        raise RegisterError(path, str(exc), entry=entry) from None


def load_register(twin: Twin, path: str | Path | None = None) -> Register:
    """Load and validate the intervention register of a twin.

    Parameters
    ----------
    twin : the community twin the register refers to.
    path : the register file; default ``<twin folder>/interventions.toml``.

    Returns
    -------
    Register

    Raises
    ------
    RegisterError
        Naming the file, the intervention id and the field: bad TOML, an unknown kind, a
        duplicate id, a parameter with the wrong unit, a bad date, an unknown node or asset, an
        asset of the wrong kind or outside the node, a value with no source or basis.
    """
    path = Path(path) if path is not None else twin.folder / "interventions.toml"
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise RegisterError(path, "file not found") from None
    try:
        data = tomllib.loads(blob.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RegisterError(path, f"not valid TOML: {exc}") from None
    raws = data.get("intervention", [])
    if not isinstance(raws, list) or not all(isinstance(r, dict) for r in raws):
        raise RegisterError(path, "expected [[intervention]] tables", field="intervention")
    out: dict[str, Intervention] = {}
    for position, raw in enumerate(raws):
        model = _build(path, raw, position, twin)
        if model.id in out:
            raise RegisterError(path, "duplicate intervention id", entry=model.id, field="id")
        out[model.id] = model
    return Register(
        site=twin.name, path=path, sha256=hashlib.sha256(blob).hexdigest(), interventions=out
    )


REGISTER_COLUMNS: dict[str, str] = {
    "intervention_id": "register id",
    "name_zh": "Chinese name",
    "name_en": "English name",
    "node_id": "twin node",
    "kind": "model kind",
    "status": "in_place | planned",
    "in_place": "status == in_place [bool]",
    "commissioned": "first day in service [date]",
    "estimated_t": "avoided over [start, end), months in service only, central [t CO2e]",
    "low_t": "low end of estimated_t [t CO2e]",
    "high_t": "high end of estimated_t [t CO2e]",
    "removal_t": "removals over [start, end), central [t CO2e]",
    "removal_low_t": "low end of removal_t [t CO2e]",
    "removal_high_t": "high end of removal_t [t CO2e]",
    "annual_t": "avoided in a typical year in service (potential, also for planned) [t CO2e/yr]",
    "annual_low_t": "low end of annual_t [t CO2e/yr]",
    "annual_high_t": "high end of annual_t [t CO2e/yr]",
    "annual_removal_t": "removals in a typical year [t CO2e/yr]",
    "lifetime_years": "service life [yr]",
    "lifetime_avoided_t": "annual_t x lifetime [t CO2e]",
    "lifetime_removal_t": "annual_removal_t x lifetime [t CO2e]",
    "capex_cny": "capital cost [CNY]",
    "opex_cny_per_yr": "operating cost [CNY/yr]",
    "lifetime_cost_cny": "capex + opex x lifetime [CNY]",
    "cost_per_t_cny": "levelised cost per tonne avoided or removed [CNY/t CO2e]",
    "assumptions": "number of register values that are assumptions",
}
"""Columns of :func:`estimate_register` (the wall screen's ``interventions.csv`` columns
``intervention_id, name_zh, name_en, node_id, kind, estimated_t, low_t, high_t,
cost_per_t_cny, in_place`` are among them)."""


def _estimates(
    register: Register, factors: FactorSet, start: str | dt.date, end: str | dt.date, method: str
) -> list[Estimate]:
    return [i.estimate(factors, start, end, method=method) for i in register]


def estimate_register(
    register: Register,
    factors: FactorSet,
    start: str | dt.date,
    end: str | dt.date,
    *,
    method: str = "location",
) -> pd.DataFrame:
    """Estimate every intervention of a register over ``[start, end)``.

    Parameters
    ----------
    register : from :func:`load_register`.
    factors : the factor set.
    start, end : the period [date].
    method : scope-2 method of the electricity factor.

    Returns
    -------
    pandas.DataFrame
        One row per intervention, columns :data:`REGISTER_COLUMNS`. Planned interventions
        (or ones commissioned after ``end``) have 0 in the period columns and their potential
        in the ``annual_*`` and lifetime columns.
    """
    rows = []
    for i, est in zip(register, _estimates(register, factors, start, end, method), strict=True):
        rows.append(
            {
                "intervention_id": i.id,
                "name_zh": i.name_zh,
                "name_en": i.name_en,
                "node_id": i.node,
                "kind": i.kind,
                "status": i.status,
                "in_place": i.status == "in_place",
                "commissioned": i.commissioned,
                "estimated_t": est.avoided_t,
                "low_t": est.avoided_low_t,
                "high_t": est.avoided_high_t,
                "removal_t": est.removal_t,
                "removal_low_t": float(est.monthly["removal_low_kg"].sum()) / 1000.0,
                "removal_high_t": float(est.monthly["removal_high_kg"].sum()) / 1000.0,
                "annual_t": est.annual["avoided_t"],
                "annual_low_t": est.annual["avoided_low_t"],
                "annual_high_t": est.annual["avoided_high_t"],
                "annual_removal_t": est.annual["removal_t"],
                "lifetime_years": i.lifetime_years,
                "lifetime_avoided_t": est.lifetime_avoided_t,
                "lifetime_removal_t": est.lifetime_removal_t,
                "capex_cny": None if i.capex is None else float(i.capex.to("CNY").magnitude),
                "opex_cny_per_yr": (
                    None
                    if i.opex_per_year is None
                    else float(i.opex_per_year.to("CNY/yr").magnitude)
                ),
                "lifetime_cost_cny": est.lifetime_cost_cny,
                "cost_per_t_cny": est.cost_per_t,
                "assumptions": len(i.assumptions),
            }
        )
    return pd.DataFrame(rows, columns=list(REGISTER_COLUMNS))


def register_entries(
    register: Register,
    factors: FactorSet,
    start: str | dt.date,
    end: str | dt.date,
    *,
    methods: Sequence[str] = ("location",),
) -> pd.DataFrame:
    """Ledger extra entries (``avoided``, ``removal``) of the interventions in place.

    Each saving is valued with one documented factor: saved grid electricity with the
    location-based factor of its region (``method = 'location'``), as the ex-post entries of
    :func:`carbon.mv.verified_entries` are, so an estimate and its verification compare like
    with like and no saving is claimed twice at two factors (docs/research/uncertainty.md §5).
    Other entries carry ``method = 'n/a'``. ``methods`` may add a ``market`` valuation for a
    planner's what-if; the ledger script does not.

    Returns
    -------
    pandas.DataFrame
        For ``carbon.build_ledger(..., extra_entries=...)``; see :func:`to_entries`.
    """
    if not methods:
        raise InterventionError("register_entries needs at least one scope-2 method")
    placed = [i for i in register if i.status == "in_place"]
    frames = []
    for k, method in enumerate(methods):
        entries = to_entries(i.estimate(factors, start, end, method=method) for i in placed)
        if k > 0:
            entries = entries[entries["method"] == method]
        frames.append(entries)
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(ENTRY_FIELDS))
    return pd.concat(frames, ignore_index=True)
