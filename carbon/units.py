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

import functools
import re
from importlib import resources
from typing import Any

import pint

from carbon.errors import UnitConversionError, UnknownUnitError

__all__ = [
    "Q_",
    "conversion_factor",
    "parse_quantity",
    "parse_unit",
    "registry",
    "to_canonical",
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
