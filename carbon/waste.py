"""Tier 1 emission factors of waste and wastewater, computed from IPCC 2006 Vol. 5 parameters.

The factors of ``factors/ipcc-2006-waste.toml`` are not typed in: the file holds the equation
parameters (each with its table) under ``[parameters]``, and the per-gas values of its
``[[factor]]`` entries are what the functions here compute from them, rounded to
:data:`PLACES`. ``tests/test_waste.py`` recomputes every factor from the file's parameters, so
a changed parameter with a stale factor fails the tests.

Incineration (IPCC 2006 Vol. 5 Ch. 5)
    Fossil CO2 by Eq. 5.2 over a stated composition of the incinerated (residual, "dry") waste:
    ``CO2 = Σ_j WF_j x dm_j x CF_j x FCF_j x OF x 44/12`` per tonne of wet waste, with the
    component defaults of Vol. 5 Ch. 2 Table 2.4 and the oxidation factor of Table 5.2. The
    biogenic share (``1 - FCF``) is computed alongside and kept out of the factor: GPC v1.1
    Ch. 8 reports biogenic CO2 separately, never in the totals. CH4 by Eq. 5.4 with the Table 5.3
    default (continuous stoker); N2O by Eq. 5.5 with the default for continuous MSW
    incinerators.
Biological treatment (IPCC 2006 Vol. 5 Ch. 4)
    ``CH4 = M x EF_CH4``, ``N2O = M x EF_N2O`` (Eq. 4.1 and 4.2, no recovery), with the
    Table 4.1 defaults on a wet-weight basis.
Wastewater (IPCC 2006 Vol. 5 Ch. 6)
    Per m3 of wastewater: ``TOW = BOD per person / wastewater per person`` (Eq. 6.3 divided by
    the volume; wastewater per person = water per person x :data:`WASTEWATER_RETURN_RATIO`),
    ``CH4 = TOW x B0 x MCF`` (Eq. 6.1 and 6.2, S = R = 0), and
    ``N2O = N_effluent x EF x 44/28`` (Eq. 6.7) with the effluent nitrogen given as a
    concentration.

Every parameter's source and confidence is in the factor file and docs/research/waste.md §1-§4.

References
----------
IPCC, *2006 IPCC Guidelines for National Greenhouse Gas Inventories*, Vol. 5 (Waste), Ch. 2-6.
WRI, C40 and ICLEI, *GPC* v1.1 (2021), Ch. 8 (waste).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from carbon.errors import CarbonError

__all__ = [
    "C_TO_CO2",
    "N2O_N_TO_N2O",
    "PLACES",
    "WASTEWATER_RETURN_RATIO",
    "WasteComponent",
    "WasteParameterError",
    "biological_factor",
    "factors_from_parameters",
    "incineration_co2",
    "incineration_factor",
    "load_parameters",
    "wastewater_factor",
]

C_TO_CO2 = Decimal(44) / Decimal(12)
"""Mass of CO2 per mass of carbon [dimensionless] (IPCC 2006 Vol. 5 Eq. 5.1)."""

N2O_N_TO_N2O = Decimal(44) / Decimal(28)
"""Mass of N2O per mass of N2O-N [dimensionless] (IPCC 2006 Vol. 5 Eq. 6.7)."""

PLACES = Decimal("1e-9")
"""Computed factors are rounded to nine decimals [kg gas / activity unit], half away from zero,
as the ledger keeps factors (DECIMAL(18, 9))."""

WASTEWATER_RETURN_RATIO = Decimal("0.9")
"""Wastewater returned to the sewer per unit of water supplied [dimensionless].

GB 50014-2021 《室外排水设计标准》 §4.1: the domestic sewage quota may be taken as 90 % of the
local water-use quota (80-90 % in the 2006 edition); docs/research/waste.md §4, medium. The
ledger derives ``wastewater.treatment`` from metered ``water.supply`` with it, and the
wastewater factor's ``return_ratio`` parameter must equal it (checked by the tests)."""


class WasteParameterError(CarbonError, ValueError):
    """A waste-parameter table that cannot give a factor (a missing or out-of-range value)."""


@dataclass(frozen=True)
class WasteComponent:
    """One component of a waste stream (IPCC 2006 Vol. 5 Ch. 2, Table 2.4).

    Attributes
    ----------
    share : wet-weight fraction of the stream [dimensionless].
    dry_matter : dry-matter content of the wet weight, ``dm`` [dimensionless].
    carbon_fraction : total carbon in dry matter, ``CF`` [dimensionless].
    fossil_fraction : fossil share of the total carbon, ``FCF`` [dimensionless].
    """

    share: Decimal
    dry_matter: Decimal
    carbon_fraction: Decimal
    fossil_fraction: Decimal


def _round(value: Decimal) -> Decimal:
    return value.quantize(PLACES, ROUND_HALF_UP).normalize()


def _dec(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise WasteParameterError(f"parameter {name!r} is not a number: {value!r}") from None


def incineration_co2(
    composition: Mapping[str, WasteComponent], oxidation: Decimal
) -> tuple[Decimal, Decimal]:
    """Fossil and biogenic CO2 of incinerating one tonne of wet waste (IPCC 2006 Vol. 5 Eq. 5.2).

    Parameters
    ----------
    composition : the stream's components by name; shares add up to 1 [dimensionless].
    oxidation : oxidation factor ``OF`` [dimensionless] (Table 5.2: 1 for incineration).

    Returns
    -------
    (fossil, biogenic) : [kg CO2 / t wet waste], unrounded.

    Raises
    ------
    WasteParameterError
        When the shares do not add up to 1 or a fraction is outside 0..1.
    """
    total = sum((c.share for c in composition.values()), Decimal(0))
    if total != 1:
        raise WasteParameterError(f"composition shares add up to {total}, not 1")
    fossil = biogenic = Decimal(0)
    for name, c in composition.items():
        for field in ("share", "dry_matter", "carbon_fraction", "fossil_fraction"):
            value = getattr(c, field)
            if not 0 <= value <= 1:
                raise WasteParameterError(f"{name}.{field} = {value} is outside 0..1")
        carbon = c.share * c.dry_matter * c.carbon_fraction * oxidation  # t C / t wet waste
        fossil += carbon * c.fossil_fraction
        biogenic += carbon * (1 - c.fossil_fraction)
    kg = Decimal(1000)
    return fossil * C_TO_CO2 * kg, biogenic * C_TO_CO2 * kg


def incineration_factor(
    composition: Mapping[str, WasteComponent],
    oxidation: Decimal,
    ch4_kg_per_gg: Decimal,
    n2o_g_per_t: Decimal,
) -> dict[str, Decimal]:
    """Per-gas factor of MSW incineration [kg gas / t wet waste] (IPCC 2006 Vol. 5 Ch. 5).

    Parameters
    ----------
    composition, oxidation : as in :func:`incineration_co2`.
    ch4_kg_per_gg : CH4 emission factor [kg CH4 / Gg wet waste] (Table 5.3; Eq. 5.4).
    n2o_g_per_t : N2O emission factor [g N2O / t wet waste] (Eq. 5.5).

    Returns
    -------
    dict
        ``{"CO2": fossil CO2, "CH4": ..., "N2O": ...}`` rounded to :data:`PLACES`; biogenic CO2
        is left out (GPC v1.1 Ch. 8: reported separately).
    """
    fossil, _ = incineration_co2(composition, oxidation)
    return {
        "CO2": _round(fossil),
        "CH4": _round(ch4_kg_per_gg / Decimal(1000)),  # 1 Gg = 1000 t
        "N2O": _round(n2o_g_per_t / Decimal(1000)),  # g -> kg
    }


def biological_factor(ch4_g_per_kg: Decimal, n2o_g_per_kg: Decimal) -> dict[str, Decimal]:
    """Per-gas factor of biological treatment [kg gas / t wet waste] (Vol. 5 Eq. 4.1, 4.2).

    Parameters
    ----------
    ch4_g_per_kg, n2o_g_per_kg : Table 4.1 factors on a wet-weight basis [g gas / kg waste];
        g/kg equals kg/t. No CH4 recovery is subtracted (``R = 0``).
    """
    return {"CH4": _round(ch4_g_per_kg), "N2O": _round(n2o_g_per_kg)}


def wastewater_factor(
    bod_g_per_person_day: Decimal,
    water_l_per_person_day: Decimal,
    return_ratio: Decimal,
    bo: Decimal,
    mcf: Decimal,
    effluent_n_mg_per_l: Decimal,
    ef_n2o: Decimal,
) -> dict[str, Decimal]:
    """Per-gas factor of domestic wastewater [kg gas / m3 wastewater] (IPCC 2006 Vol. 5 Ch. 6).

    Parameters
    ----------
    bod_g_per_person_day : BOD generated per person [g / person / day] (Table 6.4).
    water_l_per_person_day : water used per person [L / person / day].
    return_ratio : wastewater per unit of water [dimensionless].
    bo : maximum CH4 producing capacity ``B0`` [kg CH4 / kg BOD] (Table 6.2).
    mcf : methane correction factor of the treatment system [dimensionless] (Table 6.3).
    effluent_n_mg_per_l : nitrogen in the effluent discharged [mg N / L].
    ef_n2o : effluent emission factor [kg N2O-N / kg N] (Table 6.11).

    Returns
    -------
    dict
        ``{"CH4": TOW x B0 x MCF, "N2O": N x EF x 44/28}`` per m3, rounded to :data:`PLACES`.
    """
    wastewater_l = water_l_per_person_day * return_ratio
    if wastewater_l <= 0:
        raise WasteParameterError(f"wastewater per person is {wastewater_l} L/day, not > 0")
    tow = bod_g_per_person_day / wastewater_l  # g/L = kg BOD / m3 (Eq. 6.3 per m3)
    n_effluent = effluent_n_mg_per_l / Decimal(1000)  # mg/L = g/m3 -> kg N / m3
    return {"CH4": _round(tow * bo * mcf), "N2O": _round(n_effluent * ef_n2o * N2O_N_TO_N2O)}


def _composition(raw: Mapping[str, Any], where: str) -> dict[str, WasteComponent]:
    out = {}
    for name, c in raw.items():
        try:
            out[name] = WasteComponent(
                share=_dec(c["share"], f"{where}.{name}.share"),
                dry_matter=_dec(c["dry_matter"], f"{where}.{name}.dry_matter"),
                carbon_fraction=_dec(c["carbon_fraction"], f"{where}.{name}.carbon_fraction"),
                fossil_fraction=_dec(c["fossil_fraction"], f"{where}.{name}.fossil_fraction"),
            )
        except KeyError as exc:
            raise WasteParameterError(f"{where}.{name} lacks {exc.args[0]!r}") from None
    return out


def factors_from_parameters(parameters: Mapping[str, Any]) -> dict[str, dict[str, Decimal]]:
    """Every factor a ``[parameters]`` table defines, by factor id [kg gas / activity unit].

    Each sub-table names its ``factor`` id and ``method`` (``incineration``, ``biological`` or
    ``wastewater``) and carries that method's parameters (see the factor file).

    Raises
    ------
    WasteParameterError
        When a method is unknown or a parameter is missing.
    """
    out: dict[str, dict[str, Decimal]] = {}
    for key, p in parameters.items():
        try:
            method, factor = p["method"], p["factor"]

            def num(name: str, p: Mapping[str, Any] = p, key: str = key) -> Decimal:
                return _dec(p[name], f"{key}.{name}")

            if method == "incineration":
                composition = _composition(p["composition"], f"{key}.composition")
                out[factor] = incineration_factor(
                    composition,
                    num("oxidation_factor"),
                    num("ch4_kg_per_gg_wet"),
                    num("n2o_g_per_t_wet"),
                )
                if "biogenic_factor" in p:  # the memo factor: biogenic CO2, in no total
                    _, biogenic = incineration_co2(composition, num("oxidation_factor"))
                    out[p["biogenic_factor"]] = {"CO2": _round(biogenic)}
            elif method == "biological":
                out[factor] = biological_factor(num("ch4_g_per_kg_wet"), num("n2o_g_per_kg_wet"))
            elif method == "wastewater":
                out[factor] = wastewater_factor(
                    num("bod_g_per_person_day"),
                    num("water_l_per_person_day"),
                    num("return_ratio"),
                    num("bo_kg_ch4_per_kg_bod"),
                    num("mcf"),
                    num("effluent_n_mg_per_l"),
                    num("ef_kg_n2o_n_per_kg_n"),
                )
            else:
                raise WasteParameterError(
                    f"parameters.{key}: unknown method {method!r}; known: incineration, "
                    "biological, wastewater"
                )
        except KeyError as exc:
            raise WasteParameterError(f"parameters.{key} lacks {exc.args[0]!r}") from None
    return out


def load_parameters(path: str | Path) -> dict[str, Any]:
    """The ``[parameters]`` table of a factor file (empty when it has none)."""
    with open(path, "rb") as fh:
        return dict(tomllib.load(fh).get("parameters", {}))
