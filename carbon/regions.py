"""Region codes for factor lookup and their fallback chains.

A factor, a twin node and a lookup name a region by code. Three kinds of code are known:

* **packaged regions** (``factors/regions.toml``): the MEE/NBS regional-grid division of China
  with its chain ``CN-SH -> CN-EAST-GRID -> CN -> GLOBAL``;
* **ISO 3166 codes**: any country (ISO 3166-1 alpha-2, ``US``) or subdivision (ISO 3166-2,
  ``US-CA``), read from the ISO 3166 tables of the ``pycountry`` package. Without a
  declaration a subdivision falls back to its ISO parent subdivision, if any, then to its
  country; a country falls back to ``GLOBAL``;
* **declared regions**: ``[[region]]`` tables in a profile or a factor file, each with its
  ``parent``; they name what ISO 3166 has no code for (an eGRID subregion, a utility's service
  area) and may give an ISO code another parent (``US-CA -> US-EGRID-CAMX -> US``).

A declared region may not change a packaged one, and two declarations of one id must agree.
An unknown code is an error that names it and says where regions are declared; it never falls
through to a silent ``GLOBAL``.

References
----------
ISO 3166-1:2020 and ISO 3166-2:2020, *Codes for the representation of names of countries and
their subdivisions* (via the iso-codes tables that ``pycountry`` ships).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carbon.data import packaged_dir
from carbon.errors import CarbonError, FactorFileError

__all__ = [
    "GLOBAL",
    "REGION_CODE",
    "Region",
    "UnknownRegionError",
    "declared_regions",
    "iso_region",
    "load_regions",
    "merge_regions",
    "region_chain",
    "resolve_region",
]

GLOBAL = "GLOBAL"
"""The top of every chain: global defaults (IPCC Tier 1, proxies)."""

REGION_CODE = r"^[A-Z0-9]+(-[A-Z0-9]+)*$"
"""The shape of every region code: upper-case letters and digits in hyphenated parts."""
_CODE = REGION_CODE
_ISO_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ISO_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


class UnknownRegionError(CarbonError, LookupError):
    """A region code that is neither packaged, ISO 3166 nor declared."""

    def __init__(self, region: str, where: str = "") -> None:
        self.region = region
        self.where = where
        super().__init__(region, where)

    def __str__(self) -> str:
        where = f" ({self.where})" if self.where else ""
        return (
            f"Unknown region {self.region!r}{where}: not an ISO 3166-1/-2 code, not in "
            "factors/regions.toml and not declared by a [[region]] table of the profile or its "
            "factor files. See docs/factors.md, 'Regions'."
        )


class Region(BaseModel):
    """A region code with its fallback parent.

    Attributes
    ----------
    id : e.g. ``"CN-SH"``, ``"US-CA"``, ``"US-EGRID-CAMX"`` (upper case, digits, hyphens).
    name_zh, name_en : display names (a declared region needs at least one).
    parent : next region in the fallback chain, or None at the top (``GLOBAL``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_CODE)
    name_zh: str | None = None
    name_en: str | None = None
    parent: str | None = Field(None, pattern=_CODE)

    @property
    def name(self) -> str:
        """The English name, else the Chinese one, else the id."""
        return self.name_en or self.name_zh or self.id


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise FactorFileError(path, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise FactorFileError(path, f"not valid TOML: {exc}") from None


def declared_regions(raw: Iterable[Mapping[str, Any]], path: Path) -> dict[str, Region]:
    """Validate ``[[region]]`` tables read from ``path``.

    Raises
    ------
    FactorFileError
        Naming the file, the region and the field: a bad code, no name, a duplicate id.
    """
    out: dict[str, Region] = {}
    for i, item in enumerate(raw):
        entry = str(item.get("id", f"region #{i + 1}"))
        try:
            region = Region(**item)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            shown = f" (got {first.get('input')!r})" if field else ""
            message = f"{first['msg']}{shown}"
            raise FactorFileError(path, message, entry=entry, field=field) from None
        if region.name_zh is None and region.name_en is None:
            raise FactorFileError(path, "a region needs name_en or name_zh", entry=entry)
        if region.id in out:
            raise FactorFileError(path, "region declared twice", entry=entry, field="id")
        out[region.id] = region
    return out


@functools.cache
def load_regions(path: Path | None = None) -> dict[str, Region]:
    """Load the packaged region codes and their fallback parents (``factors/regions.toml``)."""
    path = path or packaged_dir("factors") / "regions.toml"
    regions = declared_regions(_read(path).get("region", []), path)
    for region in regions.values():
        if region.parent is not None and region.parent not in regions:
            raise FactorFileError(
                path, f"unknown parent {region.parent!r}", entry=region.id, field="parent"
            )
    return regions


def merge_regions(
    base: Mapping[str, Region], extra: Mapping[str, Region], path: Path
) -> dict[str, Region]:
    """``base`` plus the regions ``path`` declares; a declaration may not contradict ``base``.

    Raises
    ------
    FactorFileError
        When ``path`` declares a region of ``base`` with another parent (packaged regions
        cannot be changed; two user files must agree).
    """
    out = dict(base)
    for rid, region in extra.items():
        known = out.get(rid)
        if known is not None and known.parent != region.parent:
            raise FactorFileError(
                path,
                f"region {rid!r} is already declared with parent {known.parent!r}; this "
                f"declaration gives {region.parent!r}",
                entry=rid,
                field="parent",
            )
        if known is None:
            out[rid] = region
    return out


@functools.cache
def iso_region(code: str) -> Region | None:
    """The region of an ISO 3166-1 alpha-2 or ISO 3166-2 code, or None when it is not one.

    A country's parent is ``GLOBAL``; a subdivision's parent is its ISO parent subdivision
    when it has one (``FR-75C -> FR-IDF``), else its country.
    """
    if not (_ISO_COUNTRY.match(code) or _ISO_SUBDIVISION.match(code)):
        return None
    import pycountry  # the ISO 3166 tables; read on first use only

    if _ISO_COUNTRY.match(code):
        country = pycountry.countries.get(alpha_2=code)
        return None if country is None else Region(id=code, name_en=country.name, parent=GLOBAL)
    sub = pycountry.subdivisions.get(code=code)
    if sub is None:
        return None
    parent = getattr(sub, "parent_code", None) or code[:2]
    return Region(id=code, name_en=sub.name, parent=parent)


def resolve_region(code: str, declared: Mapping[str, Region], where: str = "") -> Region:
    """The region of a code: declared (packaged or user) first, else ISO 3166.

    Raises
    ------
    UnknownRegionError
        When the code is none of these; ``where`` says who used it.
    """
    region = declared.get(code) or iso_region(code)
    if region is None:
        raise UnknownRegionError(code, where)
    return region


def region_chain(code: str, declared: Mapping[str, Region], where: str = "") -> list[str]:
    """The fallback chain of a region, itself first, ending at the top (``GLOBAL``).

    E.g. ``CN-SH, CN-EAST-GRID, CN, GLOBAL`` or ``US-CA, US-EGRID-CAMX, US, GLOBAL``.

    Raises
    ------
    UnknownRegionError
        When the code, or a parent on its chain, is unknown.
    """
    chain: list[str] = []
    current: str | None = code
    while current is not None and current not in chain:
        chain.append(current)
        current = resolve_region(
            current, declared, where if current == code else f"parent in the chain of {code!r}"
        ).parent
    return chain
