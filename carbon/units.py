"""The one unit registry of carbon-twin, and conversion to canonical activity units.

The registry is pint's default registry extended with the definitions in ``carbon/units.txt``:
CO2e and each greenhouse gas as dimensions of their own, standard coal equivalent (kgce,
GB/T 2589-2020), Chinese unit names (万kWh, 千瓦时, 度, 立方米, 方, 吨, 吨标准煤, 元) and money.
It is built lazily on first use: importing :mod:`carbon.units` reads no file.

Examples
--------
>>> from carbon.units import Q_, to_canonical
>>> to_canonical(Q_(5, "万kWh"), "electricity.grid")
<Quantity(50000.0, 'kilowatt_hour')>
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import logging
import math
import re
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any

import pint

from carbon.errors import UnitConversionError, UnitFileError, UnknownUnitError

log = logging.getLogger(__name__)

__all__ = [
    "Q_",
    "UNIT_ALIASES",
    "conversion_factor",
    "load_unit_file",
    "parse_quantity",
    "parse_unit",
    "registry",
    "resolve_unit",
    "suggest_units",
    "to_canonical",
    "unit_key",
]

# Units written the way Chinese utility exports and factor tables write them: "m3", "m2",
# "tCO2/MWh". pint parses "m3" as a unit named "m3", which does not exist; we rewrite a
# letter run followed by a bare exponent digit (m3, km2) into pint's power syntax.
_BARE_POWER = re.compile(r"(?<![\w.])(m|cm|mm|km)([23])(?![\w.])")


@functools.cache
def registry() -> pint.UnitRegistry:
    """Return the package's unit registry, building it on first call.

    Returns
    -------
    pint.UnitRegistry
        The registry with carbon-twin's definitions loaded.
    """
    ureg: pint.UnitRegistry = pint.UnitRegistry(
        autoconvert_offset_to_baseunit=True, cache_folder=None
    )
    defs = resources.files("carbon").joinpath("units.txt")
    with resources.as_file(defs) as path:
        ureg.load_definitions(str(path))
    ureg.formatter.default_format = "~P"
    return ureg


def Q_(value: Any, unit: str | None = None) -> pint.Quantity:
    """Make a Quantity in the package registry.

    Parameters
    ----------
    value : magnitude, or a string such as ``"5 万kWh"`` when ``unit`` is None.
    unit : unit string, e.g. ``"kWh"``, ``"m3"``, ``"tCO2/万kWh"``.
    """
    if unit is None:
        if isinstance(value, str):
            return parse_quantity(value)
        if isinstance(value, pint.Quantity):
            return registry().Quantity(value.magnitude, str(value.units))
        return registry().Quantity(value)
    return registry().Quantity(value, parse_unit(unit))


def _normalise(unit: str) -> str:
    text = unit.strip().replace("³", "3").replace("²", "2").replace("·", "*")
    return _BARE_POWER.sub(r"\1**\2", text)


@functools.cache
def parse_unit(unit: str) -> pint.Unit:
    """Parse a unit string into a registry unit.

    Parameters
    ----------
    unit : e.g. ``"kWh"``, ``"万千瓦时"``, ``"m3"``, ``"kgCO2e/kWh"``.

    Raises
    ------
    UnknownUnitError
        When the string does not name a unit of the registry.
    """
    try:
        return registry().Unit(_normalise(unit))
    except (pint.UndefinedUnitError, pint.DefinitionSyntaxError, AttributeError, TypeError) as exc:
        raise UnknownUnitError(unit, str(exc)) from None
    except Exception as exc:  # pint raises a variety of parse errors (tokenize, syntax)
        raise UnknownUnitError(unit, type(exc).__name__) from None


def parse_quantity(text: str) -> pint.Quantity:
    """Parse ``"<number> <unit>"`` (e.g. ``"4.2 tCO2/万kWh"``) into a Quantity.

    Raises
    ------
    UnknownUnitError
        When the number or the unit cannot be parsed.
    """
    parts = text.strip().split(None, 1)
    try:
        magnitude = float(parts[0].replace(",", ""))
    except (IndexError, ValueError):
        raise UnknownUnitError(text, "expected '<number> <unit>'") from None
    unit = parts[1] if len(parts) > 1 else "dimensionless"
    return registry().Quantity(magnitude, parse_unit(unit))


@functools.cache
def conversion_factor(from_unit: str, to_unit: str) -> float:
    """Return the scalar that converts a magnitude in ``from_unit`` to ``to_unit``.

    Computed once per pair and cached; the ingestion SQL applies it as a scalar
    (DESIGN decision 2).

    Parameters
    ----------
    from_unit : unit of the incoming data, e.g. ``"万kWh"``.
    to_unit : target unit, e.g. ``"kWh"``.

    Returns
    -------
    float
        ``x [from_unit] * factor == y [to_unit]``.

    Raises
    ------
    UnitConversionError
        When the two units have different dimensions.
    """
    src, dst = parse_unit(from_unit), parse_unit(to_unit)
    if src.dimensionality != dst.dimensionality:
        raise UnitConversionError(from_unit, to_unit)
    return float(registry().Quantity(1.0, src).to(dst).magnitude)


def to_canonical(quantity: pint.Quantity | str, activity: str) -> pint.Quantity:
    """Convert a quantity to the canonical unit of an activity.

    Parameters
    ----------
    quantity : a Quantity, or a string such as ``"3 万千瓦时"``.
    activity : activity id from :data:`carbon.activities.ACTIVITIES`, e.g. ``"water.supply"``.

    Returns
    -------
    pint.Quantity
        The same amount in the activity's canonical unit (kWh, m3, t, GJ, kg, km, m2).

    Raises
    ------
    UnknownActivityError
        When the activity is not in the catalogue.
    UnitConversionError
        When the quantity's unit has another dimension than the canonical unit; the message
        names both units and the activity.
    """
    from carbon.activities import get_activity

    canonical = get_activity(activity).canonical_unit
    q = parse_quantity(quantity) if isinstance(quantity, str) else Q_(quantity)
    if q.units.dimensionality != parse_unit(canonical).dimensionality:
        raise UnitConversionError(f"{q.units:~P}", canonical, context=f"activity {activity!r}")
    return q.to(parse_unit(canonical))


# ------------------------------------------------------------------- user unit definitions
_DIRECTIVE = re.compile(r"^\s*@")
_NAME = re.compile(r"^[^\W\d]\w*$")


def _same_unit(ureg: pint.UnitRegistry, name: str, expression: str) -> bool:
    """True when ``name`` already names exactly the unit ``expression`` defines."""
    if expression.startswith("["):  # a base dimension of its own, e.g. "[co2]"
        return bool(ureg.get_dimensionality(name) == ureg.get_dimensionality(expression))
    try:
        known = ureg.Quantity(1, name).to_base_units()
        parsed = ureg.parse_expression(expression)
        new: Any = ureg.Quantity(parsed).to_base_units()
    except (pint.PintError, ValueError, TypeError, AttributeError):
        return False
    return bool(
        known.units == new.units and math.isclose(known.magnitude, new.magnitude, rel_tol=1e-12)
    )


def _base(ureg: pint.UnitRegistry, name: str) -> str:
    """What ``name`` means, in base units (for messages)."""
    try:
        return f"1 {name} = {ureg.Quantity(1, name).to_base_units():~P}"
    except Exception:  # a unit that does not reduce still has a name to show
        return f"{name} is defined"


def _known(ureg: pint.UnitRegistry, name: str) -> bool:
    try:
        ureg.Unit(name)
    except (pint.PintError, AttributeError, TypeError, ValueError):
        return False
    return True


def load_unit_file(path: str | Path) -> str:
    """Add the unit definitions of a user file to the one registry; return its SHA-256.

    The file has pint's definition syntax, one definition per line (``#`` starts a comment)::

        pound_CO2 = 0.45359237 * kilogram_CO2 = lbCO2
        million_Btu = 1e6 * Btu = MMBtu = mmBtu

    A units file *adds* units: a name that the registry already has is accepted only when it
    means exactly the same unit (so loading a file twice, or two files that agree, is
    harmless); any other redefinition is refused, because it would silently change every
    number already expressed in that unit. Directives (``@group``, ``@context``, ``@system``)
    are refused too. A profile (``units = "units.txt"``) and a ledger script (``[ledger]
    units``) name such a file; the factor set's content hash and the snapshot manifest record
    its SHA-256, so ``carbon ledger build`` and ``verify`` load the same definitions.

    Parameters
    ----------
    path : the definitions file (UTF-8).

    Returns
    -------
    str
        The file's SHA-256 [hex].

    Raises
    ------
    UnitFileError
        Naming the file, the unit and the line: a missing file, a directive, a line that is not
        ``name = definition [= symbol] [= alias ...]``, a definition pint cannot read, or a
        name the registry already has with another meaning.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnitFileError(path, "units file not found") from None
    except IsADirectoryError:
        raise UnitFileError(path, "is a folder, not a units file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnitFileError(path, f"not UTF-8 text: {exc}") from None
    ureg = registry()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"line {number}"
        if _DIRECTIVE.match(line):
            raise UnitFileError(
                path,
                f"directive {line.split()[0]!r}: a units file holds one definition per line",
                field=where,
            )
        parts = [p.strip() for p in line.split("=")]
        if len(parts) < 2 or not all(parts[:2]) or not _NAME.match(parts[0]):
            raise UnitFileError(
                path,
                f"expected 'name = definition [= symbol] [= alias ...]', got {line!r}",
                field=where,
            )
        name, expression, aliases = parts[0], parts[1], [a for a in parts[2:] if a != "_"]
        new: list[str] = []
        for each in (name, *aliases):
            if not _known(ureg, each):
                new.append(each)
            elif not _same_unit(ureg, each, expression):
                raise UnitFileError(
                    path,
                    f"{each!r} is already a unit ({_base(ureg, each)}); a units file adds "
                    "units, it never redefines one: pick another name",
                    entry=each,
                    field=where,
                )
        if name not in new:  # the name is already this very unit: nothing to add
            if new:
                log.info("%s %s: %s already defined; aliases %s not added", path, where, name, new)
            continue
        definition = " = ".join([name, expression, *[a for a in new if a != name]])
        try:
            if not expression.startswith("["):  # refuse before defining anything
                ureg.parse_expression(expression)
            ureg.define(definition)
        except Exception as exc:  # pint raises many kinds of parse errors
            raise UnitFileError(
                path, f"cannot define {name!r}: {exc}", entry=name, field=where
            ) from None
        log.debug("%s %s: defined %s", path, where, definition)
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------- spellings in exports
UNIT_ALIASES: dict[str, str] = {
    # energy
    "kwh": "kWh",
    "千瓦时": "kWh",
    "度": "kWh",
    "mwh": "MWh",
    "兆瓦时": "MWh",
    "gwh": "GWh",
    "wh": "Wh",
    "万kwh": "万kWh",
    "万千瓦时": "万kWh",
    "万度": "万kWh",
    "gj": "GJ",
    "吉焦": "GJ",
    "mj": "MJ",
    "tce": "tce",
    "吨标准煤": "tce",
    "kgce": "kgce",
    # volume
    "m3": "m3",
    "立方米": "m3",
    "立方": "m3",
    "方": "m3",
    "nm3": "Nm3",
    "标方": "Nm3",
    "标立方米": "Nm3",
    "万m3": "万立方米",
    "万立方米": "万立方米",
    "万方": "万立方米",
    "l": "L",
    "升": "L",
    # mass, area, length
    "t": "t",
    "吨": "t",
    "kg": "kg",
    "公斤": "kg",
    "千克": "kg",
    "m2": "m2",
    "平方米": "m2",
    "km": "km",
    "公里": "km",
}
"""Unit spellings of utility exports -> the registry's unit, keyed by :func:`unit_key`.

Exports write ``kwh``, ``KWH``, ``kW·h``, ``千瓦时``, ``度``, ``m³``, ``nm3`` for units the
registry spells ``kWh``, ``m3``, ``Nm3``. A spelling in this table wins over pint's own
reading of the text, on purpose: pint reads ``nm3`` as cubic nanometres (10^-27 m3) and
``mWh`` as milliwatt-hours (10^-9 MWh), units no utility bills in: silent errors. So ``mwh``
in any case is MWh and ``nm3`` is a normal cubic metre.
"""

_KEY_DROP = re.compile(r"[\s·⋅•.*_]")


def unit_key(text: str) -> str:
    """The lookup key of a unit spelling.

    Its NFKC form (full-width letters and ``³`` become ASCII), case-folded, without spaces and
    the dots or stars written between ``kW`` and ``h``.
    """
    return _KEY_DROP.sub("", unicodedata.normalize("NFKC", text).casefold())


def resolve_unit(text: str) -> str:
    """The registry's spelling of a unit as an export writes it (:data:`UNIT_ALIASES`).

    Parameters
    ----------
    text : the unit as written, e.g. ``"kwh"``, ``"KW·H"``, ``"千瓦时"``.

    Returns
    -------
    str
        The registry unit for a known spelling (``"kWh"``), else ``text`` unchanged (for
        pint to read, or to reject).
    """
    return UNIT_ALIASES.get(unit_key(text), text)


def suggest_units(text: str, n: int = 3) -> list[str]:
    """Registry units whose export spellings are close to an unknown unit ("did you mean").

    Parameters
    ----------
    text : an unknown unit, e.g. ``"kwhr"``.
    n : at most this many suggestions.

    Returns
    -------
    list of str
        Registry spellings, closest first (``["kWh"]``); empty when nothing is close.
    """
    close = difflib.get_close_matches(unit_key(text), list(UNIT_ALIASES), n=n * 3, cutoff=0.6)
    return list(dict.fromkeys(UNIT_ALIASES[c] for c in close))[:n]
