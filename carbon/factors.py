"""Typed emission factors with provenance, and factor sets chosen by named profiles.

Factor data live in the ``factors`` data package: one TOML file per published source, each
factor with its activity, region, half-open validity period, per-gas values with units as
published, method, source (publisher, document, number, year, table or clause) and confidence.
A *profile* (``factors/profiles/*.toml``, or a profile file in any folder) picks the factors that
apply to one jurisdiction and year; :func:`load_factor_set` loads it into a :class:`FactorSet`,
validated once and pinned by a content hash. A profile's includes are relative to the profile
file; it may name a units file (``units``, :func:`carbon.units.load_unit_file`) and declare
regions (``[[region]]``, :mod:`carbon.regions`). :meth:`FactorSet.lookup` returns exactly one
factor for an (activity, region, date), following the region fallback chain (``CN-SH ->
CN-EAST-GRID -> CN -> GLOBAL``; ``US-CA -> US -> GLOBAL``), or raises an error that names what
was asked and lists the candidates. A date past every published factor takes the newest
vintage along the chain, flagged (the vintage rule, :meth:`FactorSet.lookup`; docs/factors.md).

References
----------
GHG Protocol, *Global Protocol for Community-Scale GHG Emission Inventories* v1.1 (2021), §6.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import pint
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from carbon.activities import ACTIVITIES, get_activity
from carbon.data import packaged_dir
from carbon.errors import (
    AmbiguousFactorError,
    CarbonError,
    FactorFileError,
    FactorNotFoundError,
    UnknownFactorError,
    UnknownUnitError,
)
from carbon.regions import (
    Region,
    UnknownRegionError,
    declared_regions,
    load_regions,
    merge_regions,
    region_chain,
)
from carbon.units import Q_, conversion_factor, load_unit_file, parse_unit

__all__ = [
    "GAS_UNITS",
    "EmissionFactor",
    "FactorSet",
    "GasValue",
    "GwpTable",
    "Profile",
    "Region",
    "Source",
    "factor_file_schema",
    "factors_dir",
    "include_path",
    "list_profiles",
    "load_catalogue",
    "load_factor_file",
    "load_factor_set",
    "load_gwp_tables",
    "load_regions",
]

Gas = Literal["CO2e", "CO2", "CH4", "N2O"]
Confidence = Literal["high", "medium", "low", "assumption"]
Method = Literal["location", "market"]

GAS_UNITS: dict[str, str] = {"CO2e": "kgCO2e", "CO2": "kgCO2", "CH4": "kgCH4", "N2O": "kgN2O"}
"""The canonical mass unit of each gas (each gas is a pint dimension of its own)."""

OPEN_END = dt.date(9999, 12, 31)
"""Stand-in for an open-ended validity period (``valid_to`` omitted)."""

_SIGNIFICANT = 12  # canonical factor values are kept to 12 significant digits (see _to_decimal)


def _to_decimal(x: float) -> Decimal:
    """A float from a pint conversion as a Decimal with 12 significant digits.

    pint converts in binary floating point (4.2 tCO2/万kWh -> 0.42000000000000004 kgCO2/kWh);
    12 significant digits remove that noise while keeping every published digit.
    """
    return _plain(Decimal(format(x, f".{_SIGNIFICANT}g")))


def _plain(d: Decimal) -> Decimal:
    """Normalise a Decimal without switching to exponent notation (60, not 6E+1)."""
    d = d.normalize()
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d


class Source(BaseModel):
    """Where a number was published.

    Attributes
    ----------
    publisher : issuing body, e.g. ``"上海市生态环境局 (Shanghai EEB)"``.
    title : document title.
    number : document number, e.g. ``"沪环气〔2022〕34号"``.
    year : year of publication.
    table : table, clause or page the number is in.
    url : where it was read, if public.
    via : the repost or secondary source actually read, when not the original.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    publisher: str = Field(min_length=1)
    title: str = Field(min_length=1)
    number: str | None = None
    year: int = Field(ge=1900, le=2100)
    table: str | None = None
    url: str | None = None
    via: str | None = None

    def citation(self) -> str:
        """One-line citation: publisher, title, number, year, table."""
        parts = [self.publisher, f"《{self.title}》" if _is_cjk(self.title) else self.title]
        if self.number:
            parts.append(self.number)
        parts.append(str(self.year))
        if self.table:
            parts.append(self.table)
        text = ", ".join(parts)
        if self.via:
            text += f" (via {self.via})"
        return text


class _FieldError(ValueError):
    """A model-level validation error that knows which field it is about.

    pydantic reports errors from a model validator with an empty location; carrying the field
    here lets :func:`_pydantic_error` still name it in the :class:`FactorFileError`.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


class GasValue(BaseModel):
    """One gas's factor value, as published.

    Attributes
    ----------
    magnitude : the published number, exact.
    unit : the published unit, e.g. ``"tCO2/万kWh"`` [gas mass / activity unit].
    """

    model_config = ConfigDict(frozen=True)

    magnitude: Decimal
    unit: str

    @classmethod
    def parse(cls, text: str) -> GasValue:
        """Parse ``"<number> <unit>"``, keeping the number exact."""
        parts = str(text).strip().split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"expected '<number> <unit>', got {text!r}")
        try:
            magnitude = Decimal(parts[0].replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"not a number: {parts[0]!r} in {text!r}") from None
        return cls(magnitude=magnitude, unit=parts[1].strip())

    @property
    def quantity(self) -> pint.Quantity:
        """The value as a pint Quantity [gas mass / activity unit]."""
        return Q_(float(self.magnitude), self.unit)

    def __str__(self) -> str:
        return f"{self.magnitude} {self.unit}"


def _parse_gases(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            gas: GasValue.parse(str(v)) if isinstance(v, str | int | float) else v
            for gas, v in value.items()
        }
    return value


class EmissionFactor(BaseModel):
    """An emission factor with its provenance.

    Attributes
    ----------
    id : unique id, e.g. ``"sh-eeb-2022.electricity"``.
    activity : activity id from :data:`carbon.activities.ACTIVITIES`.
    region : region code: packaged (``factors/regions.toml``: ``CN-SH``, ``CN-EAST-GRID``,
        ``CN``), ISO 3166-1/-2 (``US``, ``US-CA``) or declared (:mod:`carbon.regions`).
    valid_from, valid_to : half-open validity period ``[valid_from, valid_to)``; ``valid_to``
        None means open-ended.
    gases : value per gas as published, e.g. ``{"CO2": "0.42 kgCO2/kWh"}`` [gas mass / unit].
    method : ``location`` or ``market`` (GHG Protocol Scope 2 Guidance, 2015).
    series : the published series it belongs to; two series are never mixed in one profile.
    source : the citation.
    confidence : ``high``, ``medium``, ``low`` or ``assumption`` (docs/research/factors.md §0).
    confidence_detail : the research note's own label and reason, kept verbatim.
    proxy : True when the value stands in for a missing local one (e.g. a UK factor).
    gwp_set : GWP set the publisher used to aggregate a CO2e value, if stated.
    notes : anything an auditor should know.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    activity: str
    region: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    gases: Annotated[dict[Gas, GasValue], Field(min_length=1)]
    method: Method = "location"
    series: str = Field(min_length=1)
    source: Source
    confidence: Confidence
    confidence_detail: str | None = None
    proxy: bool = False
    gwp_set: str | None = None
    notes: str | None = None
    file: str | None = Field(default=None, exclude=True)

    @field_validator("gases", mode="before")
    @classmethod
    def _parse_gases(cls, value: Any) -> Any:
        return _parse_gases(value)

    @field_validator("activity")
    @classmethod
    def _known_activity(cls, v: str) -> str:
        if v not in ACTIVITIES:
            raise ValueError(f"unknown activity {v!r}; known: {', '.join(sorted(ACTIVITIES))}")
        return v

    @model_validator(mode="after")
    def _check(self) -> EmissionFactor:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise _FieldError(
                "valid_to", f"valid_to {self.valid_to} is not after valid_from {self.valid_from}"
            )
        canonical = parse_unit(get_activity(self.activity).canonical_unit)
        for gas, value in self.gases.items():
            try:
                unit = parse_unit(value.unit)
            except UnknownUnitError as exc:
                raise _FieldError(f"gases.{gas}", f"gases.{gas}: {exc}") from None
            expected = parse_unit(GAS_UNITS[gas]) / canonical
            if unit.dimensionality != expected.dimensionality:
                raise _FieldError(
                    f"gases.{gas}",
                    f"gases.{gas}: unit {value.unit!r} has dimension {unit.dimensionality}, "
                    f"expected {GAS_UNITS[gas]} per {canonical:~P} for activity {self.activity!r}",
                )
        return self

    @property
    def end(self) -> dt.date:
        """``valid_to``, or :data:`OPEN_END` when open-ended."""
        return self.valid_to or OPEN_END

    def valid_on(self, on: dt.date) -> bool:
        """True when ``on`` is inside the half-open validity period."""
        return self.valid_from <= on < self.end

    def overlaps(self, other: EmissionFactor) -> bool:
        """True when the two validity periods share at least one day."""
        return self.valid_from < other.end and other.valid_from < self.end

    @property
    def canonical_unit(self) -> str:
        """The canonical unit of the factor's activity, e.g. ``"kWh"``."""
        return get_activity(self.activity).canonical_unit

    def per_canonical(self, gas: str) -> Decimal:
        """The value of one gas in kg of that gas per canonical activity unit.

        E.g. ``4.2 tCO2/万kWh`` -> ``Decimal("0.42")`` [kgCO2 / kWh].
        """
        value = self.gases[gas]  # type: ignore[index]
        target = f"{GAS_UNITS[gas]}/({self.canonical_unit})"
        return _to_decimal(float(value.magnitude) * conversion_factor(value.unit, target))

    def co2e_per_unit(self, gwp: GwpTable) -> Decimal:
        """CO2-equivalent factor [kgCO2e / canonical unit], summing gases weighted by GWP-100.

        Parameters
        ----------
        gwp : the GWP table to weigh CH4 and N2O with (CO2 and CO2e count 1).
        """
        total = Decimal(0)
        for gas in self.gases:
            total += self.per_canonical(gas) * gwp.factor(gas)
        return _plain(total)

    @property
    def value(self) -> pint.Quantity:
        """The factor as a Quantity, for a single-gas factor [gas mass / activity unit]."""
        if len(self.gases) != 1:
            raise CarbonError(
                f"Factor {self.id!r} has {len(self.gases)} gases; use .gases or .co2e_per_unit()."
            )
        return next(iter(self.gases.values())).quantity

    def citation(self) -> str:
        """The source's one-line citation."""
        return self.source.citation()


class GwpTable(BaseModel):
    """100-year global warming potentials of one IPCC assessment report.

    Attributes
    ----------
    name : ``AR4``, ``AR5``, ``AR6`` ...
    values : GWP-100 per gas [kgCO2e / kg gas]; CO2 is 1.
    source : the citation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    values: dict[str, Decimal]
    source: Source
    confidence: Confidence = "high"
    notes: str | None = None

    def factor(self, gas: str) -> Decimal:
        """GWP-100 of a gas [kgCO2e / kg gas]; 1 for CO2 and CO2e."""
        if gas in ("CO2", "CO2e"):
            return Decimal(1)
        return self.values[gas]


class ProfileInclude(BaseModel):
    """One factor file (optionally filtered by series) that a profile includes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    series: list[str] | None = None


class Profile(BaseModel):
    """A named choice of factors for a jurisdiction and year.

    Attributes
    ----------
    name : e.g. ``"shanghai-2022"``.
    title_zh, title_en, description : for people.
    gwp : GWP set used to weigh CH4 and N2O.
    include : the factor files (and series) the profile takes; a file is found relative to the
        profile's folder, then (for a profile in a ``profiles/`` folder) to that folder's parent,
        then by bare name among the packaged factor files (:func:`include_path`).
    carry_forward_until : when set, a date with no valid factor before this day takes the
        newest vintage along the region chain (official factors are published a year or two
        late; :meth:`FactorSet.lookup`); such entries are flagged ``carried_forward``.
    units : a unit-definition file relative to the profile's folder, loaded before the factor
        files (:func:`carbon.units.load_unit_file`); its SHA-256 is part of the content hash.
    region : regions the profile declares (``[[region]]``: id, names, parent), e.g. an eGRID
        subregion, or another parent for an ISO 3166 code (:mod:`carbon.regions`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title_zh: str
    title_en: str
    description: str
    gwp: str
    include: list[ProfileInclude] = Field(min_length=1)
    carry_forward_until: dt.date | None = None
    units: str | None = None
    region: list[Region] = Field(default_factory=list)


def factors_dir() -> Path:
    """The folder of the emission-factor files (``carbon/data/factors`` in a wheel, the
    repository's ``factors/`` in an editable install; see :func:`carbon.data.packaged_dir`)."""
    return packaged_dir("factors")


def _read_toml(path: Path, error: type[FactorFileError] = FactorFileError) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error(path, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, f"not valid TOML: {exc}") from None


def _pydantic_error(path: Path, entry: str | None, exc: ValidationError) -> FactorFileError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    cause = first.get("ctx", {}).get("error")
    if field is None and isinstance(cause, _FieldError):
        field = cause.field
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict) else ""
    return FactorFileError(path, f"{first['msg']}{shown}", entry=entry, field=field)


@functools.cache
def load_gwp_tables(path: Path | None = None) -> dict[str, GwpTable]:
    """Load the GWP-100 tables (``factors/gwp.toml``) by set name."""
    path = path or factors_dir() / "gwp.toml"
    data = _read_toml(path)
    tables = {}
    for name, raw in data.get("gwp", {}).items():
        try:
            tables[name] = GwpTable(name=name, **raw)
        except ValidationError as exc:
            raise _pydantic_error(path, name, exc) from None
    return tables


def load_factor_file(
    path: str | Path, *, regions: Mapping[str, Region] | None = None
) -> list[EmissionFactor]:
    """Load and validate one factor file.

    The file has a ``[source]`` table shared by its factors, ``[[factor]]`` entries and
    optionally ``[[region]]`` tables declaring the regions its factors use (an eGRID subregion;
    :mod:`carbon.regions`); a factor's own ``source`` table overrides single fields (typically
    ``table``). A factor's region is a packaged region, an ISO 3166-1/-2 code or a declared one.

    Parameters
    ----------
    path : path of the TOML file.
    regions : the regions known besides the file's own (default: the packaged ones); a
        profile passes its declared regions.

    Returns
    -------
    list of EmissionFactor

    Raises
    ------
    FactorFileError
        Naming the file, the entry and the field: bad TOML, a unit of the wrong dimension, a
        missing source, an unknown activity or region, or two factors of one series whose
        validity periods overlap.
    """
    return _read_factor_file(Path(path), load_regions() if regions is None else regions)[0]


def _read_factor_file(
    path: Path, known: Mapping[str, Region]
) -> tuple[list[EmissionFactor], dict[str, Region]]:
    """The factors of a file and the regions it declares (see :func:`load_factor_file`)."""
    data = _read_toml(path)
    file_source = data.get("source") or {}
    raw_factors = data.get("factor")
    if not raw_factors:
        raise FactorFileError(path, "no [[factor]] entries")
    own = declared_regions(data.get("region", []), path)
    regions = merge_regions(known, own, path)
    out: list[EmissionFactor] = []
    for i, raw in enumerate(raw_factors):
        entry = raw.get("id", f"#{i + 1}")
        merged = dict(raw)
        own_source = raw.get("source") or {}
        if not file_source and not own_source:
            raise FactorFileError(
                path, "no source: add [source] or factor.source", entry=entry, field="source"
            )
        merged["source"] = {**file_source, **own_source}
        merged.setdefault("series", data.get("series"))
        try:
            factor = EmissionFactor(**merged, file=path.name)
        except ValidationError as exc:
            raise _pydantic_error(path, entry, exc) from None
        try:
            region_chain(factor.region, regions)
        except UnknownRegionError as exc:
            raise FactorFileError(path, str(exc), entry=entry, field="region") from None
        out.append(factor)
    _check_unique_and_disjoint(path, out, key=("activity", "region", "method", "series"))
    return out, own


def _check_unique_and_disjoint(
    path: Path, factors: list[EmissionFactor], key: tuple[str, ...]
) -> None:
    seen: dict[str, EmissionFactor] = {}
    groups: dict[tuple[Any, ...], list[EmissionFactor]] = {}
    for f in factors:
        if f.id in seen:
            raise FactorFileError(
                path, f"duplicate id (also in {seen[f.id].file})", entry=f.id, field="id"
            )
        seen[f.id] = f
        groups.setdefault(tuple(getattr(f, k) for k in key), []).append(f)
    for group in groups.values():
        group.sort(key=lambda f: f.valid_from)
        for a, b in itertools.pairwise(group):
            if a.overlaps(b):
                raise FactorFileError(
                    path,
                    f"validity [{b.valid_from}, {b.valid_to or 'open'}) overlaps factor {a.id!r} "
                    f"[{a.valid_from}, {a.valid_to or 'open'}) for the same "
                    + ", ".join(f"{k}={getattr(b, k)}" for k in key),
                    entry=b.id,
                    field="valid_from",
                )


def _as_date(on: dt.date | dt.datetime | str | pd.Timestamp) -> dt.date:
    if isinstance(on, pd.Timestamp):
        return on.date()
    if isinstance(on, dt.datetime):
        return on.date()
    if isinstance(on, dt.date):
        return on
    return dt.date.fromisoformat(str(on)[:10])


class FactorSet:
    """A validated set of emission factors, with lookup along the region fallback chain.

    Build one with :func:`load_factor_set` (a profile) or :func:`load_catalogue` (every packaged
    factor, for browsing; lookups there may be ambiguous between series).

    Attributes
    ----------
    name : profile name, or ``"catalogue"``.
    gwp : the GWP table used for CO2e.
    content_hash : SHA-256 over the profile and every file it takes [hex].
    files : the factor files (and the profile's units file), as the profile names them, with
        their SHA-256.
    paths : where each of ``files`` was found [absolute path].
    regions : the declared regions (packaged and the profile's); ISO 3166 codes need none.
    source : the profile file's path when it was loaded from a path (not by name).
    """

    def __init__(
        self,
        name: str,
        factors: Iterable[EmissionFactor],
        *,
        gwp: GwpTable,
        regions: Mapping[str, Region],
        content_hash: str,
        files: Mapping[str, str],
        profile: Profile | None = None,
        source: str | None = None,
        paths: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._factors = sorted(factors, key=lambda f: (f.activity, f.region, f.valid_from, f.id))
        self._by_id = {f.id: f for f in self._factors}
        self.gwp = gwp
        self.regions = dict(regions)
        self.content_hash = content_hash
        self.files = dict(files)
        self.profile = profile
        self.source = source
        self.paths = dict(paths or {})

    def __len__(self) -> int:
        return len(self._factors)

    def __iter__(self) -> Iterator[EmissionFactor]:
        return iter(self._factors)

    def __contains__(self, factor_id: object) -> bool:
        return factor_id in self._by_id

    def __repr__(self) -> str:
        return (
            f"FactorSet({self.name!r}, {len(self)} factors, gwp={self.gwp.name}, "
            f"sha256={self.content_hash[:12]}…)"
        )

    def get(self, factor_id: str) -> EmissionFactor:
        """Return a factor by id.

        Raises
        ------
        UnknownFactorError
            When the set has no factor with that id; lists ids that start alike.
        """
        try:
            return self._by_id[factor_id]
        except KeyError:
            stem = factor_id.split(".")[0]
            close = [i for i in self._by_id if i.startswith(stem)][:8]
            raise UnknownFactorError(factor_id, self.name, close) from None

    def region_chain(self, region: str) -> list[str]:
        """The fallback chain of a region, itself first, e.g. ``CN-SH, CN-EAST-GRID, CN,
        GLOBAL`` or ``US-CA, US, GLOBAL`` (:func:`carbon.regions.region_chain`).

        Raises
        ------
        UnknownRegionError
            When the region is not packaged, not ISO 3166 and not declared by the profile.
        """
        return region_chain(region, self.regions, f"factor set {self.name!r}")

    def lookup(
        self,
        activity: str,
        region: str,
        on: dt.date | dt.datetime | str | pd.Timestamp,
        *,
        method: str = "location",
        series: str | None = None,
    ) -> EmissionFactor:
        """Return the one factor valid for an activity in a region on a date.

        Regions fall back along their chain (``CN-SH -> CN-EAST-GRID -> CN -> GLOBAL``,
        :meth:`region_chain`): the first level with any valid factor answers.

        **The vintage rule.** When no level has a factor valid on ``on`` and the profile sets
        ``carry_forward_until`` (later than ``on``), the newest vintage along the chain
        answers: the factor this lookup returns on the last day that any factor of the chain
        covered (the latest ``valid_to`` before ``on``, minus one day). So a year without a
        published factor continues the series of the last published year, whichever level of
        the chain that came from, and never steps back to an older vintage of a nearer level
        (under ``cn-mee-2023``, Shanghai 2024 takes the East China 2023 factor that 2023 used,
        not the Shanghai 2022 one). Check ``factor.valid_on(on)`` to tell; the ledger flags
        such entries ``carried_forward`` (docs/factors.md, 'The vintage rule').

        Parameters
        ----------
        activity : activity id, e.g. ``"electricity.grid"``.
        region : region code of the twin node, e.g. ``"CN-SH"``.
        on : the date the activity happened.
        method : ``"location"`` or ``"market"``.
        series : restrict to one published series.

        Raises
        ------
        FactorNotFoundError
            When no level of the chain has a factor valid on that date; lists the candidates.
        AmbiguousFactorError
            When one level has several valid factors (e.g. two series in the catalogue).
        UnknownRegionError
            When the region is unknown (:meth:`region_chain`).
        """
        get_activity(activity)
        day = _as_date(on)
        chain = self.region_chain(region)
        pool = [
            f
            for f in self._factors
            if f.activity == activity
            and f.method == method
            and (series is None or f.series == series)
        ]
        for level in chain:
            matches = [f for f in pool if f.region == level and f.valid_on(day)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise AmbiguousFactorError(
                    activity, level, day, self.name, [self._describe(f) for f in matches]
                )
        until = self.profile.carry_forward_until if self.profile else None
        if until is not None and day < until:
            ended = [f.end for f in pool if f.region in chain and f.end <= day]
            if ended:  # the vintage rule: what answered on the last day covered
                last = max(ended) - dt.timedelta(days=1)
                return self.lookup(activity, region, last, method=method, series=series)
        candidates = [self._describe(f) for f in self._factors if f.activity == activity]
        raise FactorNotFoundError(activity, region, day, self.name, chain, candidates)

    @staticmethod
    def _describe(f: EmissionFactor) -> str:
        return (
            f"{f.id} ({f.region}, {f.method}, [{f.valid_from}, {f.valid_to or 'open'}), "
            f"series {f.series})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per factor and gas, values converted to canonical units.

        Columns: ``factor_id, activity, region, valid_from, valid_to, method, series, gas,
        value, unit, value_canonical, canonical_unit, co2e_kg_per_unit, confidence, proxy,
        citation``.
        """
        rows = []
        for f in self._factors:
            co2e = f.co2e_per_unit(self.gwp)
            for gas, v in f.gases.items():
                rows.append(
                    {
                        "factor_id": f.id,
                        "activity": f.activity,
                        "region": f.region,
                        "valid_from": f.valid_from,
                        "valid_to": f.valid_to,
                        "method": f.method,
                        "series": f.series,
                        "gas": gas,
                        "value": float(v.magnitude),
                        "unit": v.unit,
                        "value_canonical": float(f.per_canonical(gas)),
                        "canonical_unit": f"{GAS_UNITS[gas]}/{f.canonical_unit}",
                        "co2e_kg_per_unit": float(co2e),
                        "confidence": f.confidence,
                        "proxy": f.proxy,
                        "citation": f.citation(),
                    }
                )
        return pd.DataFrame(rows)


def include_path(profile: Path, name: str) -> Path:
    """Where a profile's ``include`` file is.

    Looked for, in order: relative to the profile's own folder; for a profile in a folder
    named ``profiles`` (the layout of the packaged ``factors/profiles/``), relative to that
    folder's parent; and, for a bare file name, among the packaged factor files. The nearest
    wins, so a profile placed beside edited factor files takes them, never the packaged ones.
    The profile file itself is skipped (``profiles/x.toml`` including ``x.toml`` means the
    factor file of that name, not itself).

    Parameters
    ----------
    profile : the profile file.
    name : the file as the profile names it (relative, or absolute).

    Raises
    ------
    FactorFileError
        When no candidate exists; names every place looked in.
    """
    rel = Path(name)
    candidates = [profile.parent / rel]
    if profile.parent.name == "profiles":
        candidates.append(profile.parent.parent / rel)
    if not rel.is_absolute() and len(rel.parts) == 1:
        candidates.append(factors_dir() / rel)
    for candidate in candidates:  # the profile itself is never its own factor file
        if candidate.is_file() and candidate.resolve() != profile.resolve():
            return candidate
    raise FactorFileError(
        profile,
        f"file {name!r} not found; looked in "
        + ", ".join(str(c.parent) for c in dict.fromkeys(candidates)),
        field="include.file",
    )


def list_profiles() -> list[str]:
    """Names of the packaged profiles (``factors/profiles/*.toml``)."""
    return sorted(p.stem for p in (factors_dir() / "profiles").glob("*.toml"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _combined_hash(parts: Mapping[str, str]) -> str:
    blob = json.dumps(dict(sorted(parts.items())), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _refuse_negative(factors: Iterable[EmissionFactor], gwp: GwpTable) -> None:
    """Raise for a negative emission factor of an inventory activity (not ``removal.*``)."""
    for f in factors:
        if f.activity.startswith("removal."):
            continue
        value = f.co2e_per_unit(gwp)
        if value < 0:
            raise FactorFileError(
                Path(f.file or "?"),
                f"negative emission factor {_plain(value)} kgCO2e/{f.canonical_unit} for "
                f"inventory activity {f.activity!r}: an inventory reports the emissions that "
                "occur; book a credit (energy recovery, recycling) as an avoided entry",
                entry=f.id,
                field="gases",
            )


def load_factor_set(
    profile: str | Path = "shanghai-2022",
    *,
    expect_hash: str | None = None,
    refuse_negative: bool = True,
) -> FactorSet:
    """Load a named profile (or a profile TOML path) into a validated :class:`FactorSet`.

    Parameters
    ----------
    profile : a packaged profile name (see :func:`list_profiles`) or a path to a profile file
        in any folder; its ``include`` files are found relative to the profile file
        (:func:`include_path`), its ``units`` file is loaded first
        (:func:`carbon.units.load_unit_file`) and its ``[[region]]`` tables declare regions.
    expect_hash : the content hash the caller pinned; a different hash raises.
    refuse_negative : refuse a negative emission factor for an inventory activity (every
        activity but ``removal.*``; default). A GPC inventory row reports the emissions that
        occur (GPC v1.1 ch. 4: only AFOLU may carry net removals); a credit such as energy
        recovery is an ``avoided`` entry, never a negative factor. ``False`` loads such a set
        (to read an old whole-chain factor file); the inventory still refuses the negative
        entries it would make (:func:`carbon.inventory.check_no_negative`).

    Raises
    ------
    FactorFileError
        When the profile or any factor file is invalid, an include is missing, a region is
        unknown or declared twice with different parents, the GWP set is unknown, two included
        factors for the same activity, region and method overlap in time, or (unless
        ``refuse_negative`` is False) an inventory activity has a negative factor.
    UnitFileError
        When the profile's units file cannot be loaded.
    """
    path = Path(profile)
    if path.suffix != ".toml":
        path = factors_dir() / "profiles" / f"{profile}.toml"
        if not path.exists():
            raise FactorFileError(
                path, f"no profile named {str(profile)!r}; known: {', '.join(list_profiles())}"
            )
    raw = _read_toml(path)
    try:
        prof = Profile(**raw)
    except ValidationError as exc:
        raise _pydantic_error(path, raw.get("name"), exc) from None
    tables = load_gwp_tables()
    if prof.gwp not in tables:
        raise FactorFileError(
            path, f"unknown GWP set {prof.gwp!r}; known: {', '.join(tables)}", field="gwp"
        )
    parts = {
        "profile": _sha256(path),
        "gwp.toml": _sha256(factors_dir() / "gwp.toml"),
        "regions.toml": _sha256(factors_dir() / "regions.toml"),
    }
    chosen: list[EmissionFactor] = []
    files: dict[str, str] = {}
    paths: dict[str, str] = {}
    if prof.units is not None:  # before any factor file: their units may need it
        upath = path.parent / prof.units
        files[prof.units] = parts[prof.units] = load_unit_file(upath)
        paths[prof.units] = str(upath.resolve())
    regions = merge_regions(load_regions(), declared_regions(raw.get("region", []), path), path)
    for inc in prof.include:
        fpath = include_path(path, inc.file)
        factors, own = _read_factor_file(fpath, regions)
        regions = merge_regions(regions, own, fpath)
        if inc.series is not None:
            unknown = set(inc.series) - {f.series for f in factors}
            if unknown:
                raise FactorFileError(
                    path, f"series {sorted(unknown)} not in {inc.file}", field="include.series"
                )
            factors = [f for f in factors if f.series in inc.series]
        chosen.extend(factors)
        files[inc.file] = parts[inc.file] = _sha256(fpath)
        paths[inc.file] = str(fpath.resolve())
    for rid in regions:  # every declared parent resolves
        try:
            region_chain(rid, regions)
        except UnknownRegionError as exc:
            raise FactorFileError(path, str(exc), entry=rid, field="region.parent") from None
    _check_unique_and_disjoint(path, chosen, key=("activity", "region", "method"))
    if refuse_negative:
        _refuse_negative(chosen, tables[prof.gwp])
    content_hash = _combined_hash(parts)
    if expect_hash is not None and expect_hash != content_hash:
        raise FactorFileError(
            path,
            f"content hash {content_hash} differs from the pinned {expect_hash}: a factor file "
            "or the profile changed since it was pinned",
        )
    return FactorSet(
        prof.name,
        chosen,
        gwp=tables[prof.gwp],
        regions=regions,
        content_hash=content_hash,
        files=files,
        profile=prof,
        source=str(path.resolve()) if Path(profile).suffix == ".toml" else None,
        paths=paths,
    )


def load_catalogue(gwp: str = "AR5") -> FactorSet:
    """Every packaged factor in one set, for browsing (lookups may be ambiguous)."""
    parts: dict[str, str] = {}
    factors: list[EmissionFactor] = []
    for fpath in sorted(factors_dir().glob("*.toml")):
        if fpath.name in ("gwp.toml", "regions.toml"):
            continue
        factors.extend(load_factor_file(fpath))
        parts[fpath.name] = _sha256(fpath)
    return FactorSet(
        "catalogue",
        factors,
        gwp=load_gwp_tables()[gwp],
        regions=load_regions(),
        content_hash=_combined_hash(parts),
        files=parts,
    )


def factor_file_schema() -> dict[str, Any]:
    """JSON Schema of a factor file, exported from the pydantic models, for editors."""
    factor = EmissionFactor.model_json_schema(mode="validation")
    factor["properties"].pop("file", None)
    # A factor's own source overrides single fields of the file's [source] (load_factor_file),
    # so inside a factor no Source field is required on its own.
    factor["properties"]["source"] = {"$ref": "#/$defs/SourceOverride"}
    factor["properties"]["gases"] = {
        "type": "object",
        "description": "value per gas as published: '<number> <unit>', e.g. '4.2 tCO2/万kWh'",
        "propertyNames": {"enum": list(GAS_UNITS)},
        "additionalProperties": {"type": "string", "pattern": r"^-?[0-9.,]+(e-?[0-9]+)?\s+\S+"},
        "minProperties": 1,
    }
    factor["required"] = [r for r in factor.get("required", []) if r not in ("source", "series")]
    defs = factor.pop("$defs", {})
    defs.pop("GasValue", None)
    defs["SourceOverride"] = {
        **{k: v for k, v in defs["Source"].items() if k != "required"},
        "title": "SourceOverride",
        "description": "Fields of [source] that this factor overrides (any subset).",
    }
    region = Region.model_json_schema(mode="validation")
    region["description"] = (
        "A region the file's factors use that is neither packaged (factors/regions.toml) nor "
        "an ISO 3166-1/-2 code, e.g. an eGRID subregion; parent is the next level of its "
        "fallback chain."
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://carbon-twin.invalid/schema/factor-file-1.json",
        "title": "carbon-twin emission-factor file",
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "series": {"type": "string"},
            "source": {"$ref": "#/$defs/Source"},
            "region": {"type": "array", "items": {"$ref": "#/$defs/Region"}},
            "factor": {"type": "array", "items": {"$ref": "#/$defs/EmissionFactor"}, "minItems": 1},
        },
        "required": ["factor"],
        "$defs": {**defs, "Region": region, "EmissionFactor": factor},
    }
