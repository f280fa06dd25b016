"""Scope 2 views beside the headline: the Shanghai 89号 view, the market method note, and the
sensitivity of the Shanghai factor.

The headline of every inventory is **location-based** scope 2 (GPC v1.1 ch. 6: cities report
scope 2 location-based; the GHG Protocol Scope 2 Guidance, 2015, ch. 4, asks for both methods,
location first). The ledger carries the location and market views as entries; this module adds,
over those entries and the site's instrument register (:mod:`carbon.instruments`):

1. **The Shanghai view** (:func:`shanghai_scope2`), per 上海市生态环境局,
   沪环气候〔2023〕89号 (2023-06-07), §2-§4: only electricity bought inter-provincially through
   the Beijing Power Exchange Center green-power platform, actually executed and settled, and
   evidenced (contract, settlement record, 绿色电力消费凭证, bill) counts at 0 tCO2/10⁴ kWh; all
   other purchased electricity keeps the location factor (4.2 tCO2/10⁴ kWh in the shanghai-2022
   profile, 沪环气〔2022〕34号). An unbundled certificate (绿证) is not admitted: the notice names
   green-power trades only (docs/research/gpc.md §4.1, §7).
2. **The market-based method note** (:func:`market_method_note`): which residual-mix stand-in the
   profile uses, its geography and vintage, and the double-count risk: the MEE/NBS national
   factor "excluding market-traded non-fossil electricity" removes the non-fossil kWh sold in
   market trades, not the kWh of unbundled certificates, so a certificate claimed at 0 against
   it is counted again in the residual (docs/research/gpc.md §4.2, §7).
3. **The sensitivity of 0.42** (:func:`factor_sensitivity`): location-based grid electricity
   [kWh] × Shanghai's administrative 0.42 kgCO2/kWh (沪环气〔2022〕34号) against × MEE/NBS's
   provincial Shanghai 2022 factor 0.5849 kgCO2/kWh (docs/research/factors.md §1), with the
   difference in per cent.

Rows never loop in Python beyond the (node, month) groups of the grid entries and the register's
few instruments; amounts stay Decimal and emissions are rounded to the gram as in the ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from carbon.errors import CarbonError, FactorNotFoundError
from carbon.factors import EmissionFactor, factors_dir, load_factor_file
from carbon.instruments import Instrument, InstrumentRegister, monthly_volumes
from carbon.inventory import entry_years

if TYPE_CHECKING:
    from carbon.factors import FactorSet

__all__ = [
    "SHANGHAI_89_FROM",
    "FactorSensitivity",
    "Scope2Error",
    "ShanghaiScope2",
    "applies_in_shanghai",
    "factor_sensitivity",
    "grid_electricity",
    "market_method_note",
    "shanghai_89_status",
    "shanghai_scope2",
]

SHANGHAI_89_FROM = dt.date(2023, 6, 7)
"""The date of 沪环气候〔2023〕89号; green power delivered before it is not zero-rated."""
SHANGHAI_89 = "上海市生态环境局, 沪环气候〔2023〕89号 (2023-06-07)"
BEIJING_PX = "beijing-px"
"""Exchange code of 北京电力交易中心绿色电力交易平台 in the register."""

HEADLINE_FACTOR = ("sh-eeb-2022.toml", "sh-eeb-2022.electricity")
"""Shanghai's administrative 0.42 kgCO2/kWh (沪环气〔2022〕34号)."""
ALTERNATIVE_FACTOR = ("cn-mee-nbs-grid.toml", "mee-nbs.2022.cn-sh")
"""MEE/NBS provincial Shanghai factor for 2022, 0.5849 kgCO2/kWh (latest published for CN-SH)."""

_INVENTORY_KINDS = ("emission", "adjustment")
_GRID = "electricity.grid"
_GRAM = Decimal("0.001")
_ZERO = Decimal(0)
_NO_GRID = pd.DataFrame(columns=["node_id", "month", "amount_kwh", "co2e_kg"])


class Scope2Error(CarbonError, ValueError):
    """A scope-2 view cannot be computed with these inputs."""


def applies_in_shanghai(region: str | None) -> bool:
    """Whether the Shanghai views apply to a community in ``region``: the 沪环气候〔2023〕89号
    view of green power and the sensitivity of Shanghai's 0.42 kgCO2/kWh against MEE's
    provincial factor are Shanghai's rules, so a snapshot and its summary carry them only for
    ``CN-SH`` and the regions below it (``CN-SH-...``).

    Examples
    --------
    >>> applies_in_shanghai("CN-SH"), applies_in_shanghai("CN-SH-JA"), applies_in_shanghai("US-CA")
    (True, True, False)
    """
    return bool(region) and (region == "CN-SH" or str(region).startswith("CN-SH-"))


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _gram(kg: Decimal) -> Decimal:
    return kg.quantize(_GRAM, rounding=ROUND_HALF_UP)


def _tonnes(kg: Decimal) -> float:
    return round(float(kg) / 1000.0, 6)


def grid_electricity(entries: pd.DataFrame, year: int, method: str = "location") -> pd.DataFrame:
    """Scope-2 grid electricity of one calendar year, per node and month.

    Parameters
    ----------
    entries : ledger entries (:data:`carbon.snapshot.ENTRY_COLUMNS`).
    year : calendar year of ``period_start``.
    method : scope-2 view of the entries (``location`` or ``market``).

    Returns
    -------
    DataFrame ``node_id, month, amount_kwh, co2e_kg`` (Decimal, exact sums) of the
    ``emission`` and ``adjustment`` entries of activity ``electricity.grid``, sorted by node
    and month.
    """
    e = _grid_entries(entries, year, method)
    cols = ["node_id", "month", "amount_kwh", "co2e_kg"]
    if e.empty:
        return pd.DataFrame(columns=cols)
    out: dict[tuple[str, dt.date], list[Decimal]] = {}
    for node, start, amount, co2e in zip(
        e["node_id"].astype(str).tolist(),
        _dates(e["period_start"]),
        e["amount"].tolist(),
        e["co2e_kg"].tolist(),
        strict=True,
    ):
        acc = out.setdefault((node, start), [_ZERO, _ZERO])
        acc[0] += _decimal(amount)
        acc[1] += _decimal(co2e)
    return pd.DataFrame([(n, m, a, c) for (n, m), (a, c) in sorted(out.items())], columns=cols)


def _grid_entries(entries: pd.DataFrame, year: int, method: str) -> pd.DataFrame:
    """The scope-2 ``emission`` and ``adjustment`` entries of ``electricity.grid`` of one
    calendar year and view."""
    e = entries
    return e[
        (entry_years(e["period_start"]) == int(year))
        & e["kind"].isin(_INVENTORY_KINDS)
        & (e["method"] == method)
        & (e["activity"] == _GRID)
        & (e["scope"].astype(int) == 2)
    ]


def _dates(column: pd.Series) -> np.ndarray:
    """``period_start`` values as :class:`datetime.date` objects, converted once per value."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return np.asarray(pd.to_datetime(pd.Series(uniques, dtype=column.dtype)).dt.date)[codes]


# ------------------------------------------------------------------ the Shanghai 89号 view
def shanghai_89_status(instrument: Instrument) -> tuple[bool, str]:
    """Whether an instrument counts at zero under 沪环气候〔2023〕89号, and why (not).

    Parameters
    ----------
    instrument : a register entry.

    Returns
    -------
    (qualifies, reason) : ``reason`` names the first unmet condition, or ``qualifies``.

    References
    ----------
    沪环气候〔2023〕89号 §2 (scope: inter-provincial trades on the Beijing Power Exchange Center
    green-power platform, actually executed and settled), §3 (0 tCO2/10⁴ kWh for that
    electricity, 4.2 for all other purchased electricity), §4(2) (keep the contract, the
    settlement record, the 绿色电力消费凭证 and the bills). The notice is dated 2023-06-07;
    delivery before that day is not zero-rated (library rule).
    """
    if instrument.type != "bundled_green_power":
        return False, (
            f"{instrument.type}: 89号 admits only green power bought through the exchange, "
            "not certificates bought apart"
        )
    if instrument.exchange != BEIJING_PX:
        return False, f"not bought on the Beijing Power Exchange Center ({instrument.exchange})"
    if instrument.trade != "inter-provincial":
        return False, f"not an inter-provincial trade ({instrument.trade})"
    if instrument.settlement_date is None:
        return False, "not settled (no settlement_date)"
    if not instrument.evidence.settles:
        return False, "no settlement record or 绿色电力消费凭证 in evidence"
    if instrument.period_start < SHANGHAI_89_FROM:
        return False, f"delivered from {instrument.period_start}, before {SHANGHAI_89_FROM}"
    return True, "qualifies"


@dataclass(frozen=True)
class ShanghaiScope2:
    """Scope 2 of one year in the Shanghai 89号 view.

    Attributes
    ----------
    year : the calendar year.
    location_t : the location-based scope-2 total it starts from [t CO2e].
    shanghai_t : the Shanghai view [t CO2e]: location minus the qualifying kWh valued at
        their node-month's location factor.
    zero_rated_kwh : qualifying green power applied [kWh], capped at each node-month's grid
        electricity.
    instruments : one row per instrument of the register with ``qualifies`` and ``reason``.
    """

    year: int
    location_t: float
    shanghai_t: float
    zero_rated_kwh: float
    instruments: pd.DataFrame = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The figures for a manifest (no instrument table)."""
        return {
            "year": self.year,
            "location_t": self.location_t,
            "shanghai_t": self.shanghai_t,
            "zero_rated_kwh": self.zero_rated_kwh,
            "rule": SHANGHAI_89,
        }


def shanghai_scope2(
    entries: pd.DataFrame,
    register: InstrumentRegister | None,
    year: int,
    *,
    location_scope2_t: float | None = None,
) -> ShanghaiScope2:
    """Scope 2 of one calendar year per 沪环气候〔2023〕89号.

    Qualifying bundled green power (:func:`shanghai_89_status`) of a node and month is valued
    at zero up to that node-month's location-based grid electricity; every other kWh, including
    kWh covered by unbundled certificates, keeps its location-based value.

    Parameters
    ----------
    entries : ledger entries.
    register : the site's instrument register (None: nothing qualifies).
    year : calendar year.
    location_scope2_t : the location-based scope-2 total to start from [t CO2e] (e.g. the
        inventory's, where rows keyed NE add nothing); default: the sum of the year's
        location-based scope-2 emission and adjustment entries.

    Returns
    -------
    ShanghaiScope2
    """
    if location_scope2_t is None:
        e = entries
        years = entry_years(e["period_start"])
        sel = e[
            (years == int(year))
            & e["kind"].isin(_INVENTORY_KINDS)
            & (e["method"] == "location")
            & (e["scope"].astype(int) == 2)
        ]
        location_scope2_t = _tonnes(sum((_decimal(v) for v in sel["co2e_kg"].tolist()), _ZERO))
    instruments = list(register or [])
    status = [shanghai_89_status(i) for i in instruments]
    table = pd.DataFrame(
        {
            "instrument_id": [i.id for i in instruments],
            "type": [i.type for i in instruments],
            "buyer": [i.buyer for i in instruments],
            "volume_kwh": [i.volume_kwh for i in instruments],
            "qualifies": [q for q, _ in status],
            "reason": [r for _, r in status],
        }
    )
    qualifying = [i for i, (q, _) in zip(instruments, status, strict=True) if q]
    monthly = monthly_volumes(qualifying)
    claimed: dict[tuple[str, dt.date], Decimal] = {}
    for node, month, kwh in zip(
        monthly["node_id"], monthly["month"], monthly["volume_kwh"], strict=True
    ):
        if month.year == int(year):
            claimed[(node, month)] = claimed.get((node, month), Decimal(0)) + kwh
    zero_kwh, relief_kg = Decimal(0), Decimal(0)
    # the node-months' grid electricity, only when green power is claimed in the year
    grid = grid_electricity(entries, year, "location") if claimed else _NO_GRID
    for node, month, amount, co2e in grid.itertuples(index=False):
        green = claimed.get((node, month))
        if not green or amount <= 0:
            continue
        used = min(green, amount)
        zero_kwh += used
        relief_kg += _gram(co2e * used / amount)
    return ShanghaiScope2(
        year=int(year),
        location_t=round(float(location_scope2_t), 6),
        shanghai_t=round(float(location_scope2_t) - float(relief_kg) / 1000.0, 6),
        zero_rated_kwh=float(zero_kwh),
        instruments=table,
    )


# ------------------------------------------------------------------ the market method note
def market_method_note(factors: FactorSet, year: int, region: str) -> dict[str, Any]:
    """State the market-based method of a profile for one year: the residual mix used, its
    geography and vintage, and the double-count risk.

    Parameters
    ----------
    factors : the factor set (profile) the ledger was built with.
    year : calendar year.
    region : the site's region (``CN-SH``).

    Returns
    -------
    dict with ``instruments`` (what is claimed at 0), ``residual_factor_id``,
    ``residual_kg_per_kwh`` [kg CO2 / kWh], ``residual_geography``, ``residual_vintage``,
    ``carried_forward``, ``residual_source``, ``double_count_risk``; ``residual_factor_id`` is
    None when the profile has no market-based grid factor.

    References
    ----------
    GHG Protocol Scope 2 Guidance (2015) ch. 6 (market-based hierarchy, residual mix);
    MEE/NBS power CO2 factor notices (national factor excluding market-traded non-fossil
    power); docs/research/gpc.md §4.2, §7.
    """
    on = dt.date(int(year), 7, 1)
    note: dict[str, Any] = {
        "method": "GHG Protocol Scope 2 Guidance (2015) market-based hierarchy",
        "instruments": "electricity.green_certificate rows (from the instrument register when "
        "the site has one): bundled green power and unbundled certificates with settlement or "
        "retirement evidence, at 0 kgCO2/kWh, capped at each node-month's grid kWh",
        "residual_factor_id": None,
    }
    try:
        factor = factors.lookup(_GRID, region, on, method="market")
    except FactorNotFoundError:
        note["residual_note"] = "no market-based grid factor in the profile"
        return note
    note.update(
        {
            "residual_factor_id": factor.id,
            "residual_kg_per_kwh": float(factor.per_canonical(next(iter(factor.gases)))),
            "residual_geography": factor.region,
            "residual_vintage": factor.valid_from.year,
            "carried_forward": factor.valid_from.year < int(year),
            "residual_source": factor.citation(),
            "double_count_risk": (
                "The residual stand-in removes only non-fossil kWh sold in market trades "
                "(bundled green power); kWh of unbundled certificates stay in it, so a "
                "certificate claimed at 0 is counted a second time in the residual: the "
                "market-based total is understated by about the certificate kWh times the "
                "non-fossil share of the grid. The residual is national while the location "
                "factor is Shanghai's: the two views differ in geography as well as in method."
            ),
        }
    )
    return note


# ------------------------------------------------------------------ sensitivity of 0.42
@dataclass(frozen=True)
class FactorSensitivity:
    """Location-based grid electricity of one year under two factors.

    Attributes
    ----------
    year : the calendar year.
    grid_kwh : location-based grid electricity [kWh].
    headline_factor_id, alternative_factor_id : the factors compared.
    headline_kg_per_kwh, alternative_kg_per_kwh : their values [kg CO2 / kWh].
    headline_t, alternative_t : grid electricity × each factor [t CO2].
    change_pct : (alternative − headline) / headline [%]: how much scope 2 from grid
        electricity would rise with the alternative factor.
    gap_pct : (headline − alternative) / alternative [%]: how far the headline factor is
        below the alternative.
    """

    year: int
    grid_kwh: float
    headline_factor_id: str
    headline_kg_per_kwh: float
    headline_t: float
    alternative_factor_id: str
    alternative_kg_per_kwh: float
    alternative_t: float
    change_pct: float
    gap_pct: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _packaged_factor(ref: tuple[str, str]) -> EmissionFactor:
    file, factor_id = ref
    for f in load_factor_file(factors_dir() / file):
        if f.id == factor_id:
            return f
    raise Scope2Error(f"no factor {factor_id!r} in factors/{file}")


def factor_sensitivity(
    entries: pd.DataFrame,
    year: int,
    *,
    headline: EmissionFactor | None = None,
    alternative: EmissionFactor | None = None,
) -> FactorSensitivity:
    """Scope 2 from grid electricity under Shanghai's 0.42 and MEE's provincial factor.

    Parameters
    ----------
    entries : ledger entries.
    year : calendar year.
    headline : the factor of the headline; default ``sh-eeb-2022.electricity``,
        0.42 kgCO2/kWh (上海市生态环境局, 沪环气〔2022〕34号).
    alternative : the factor to compare with; default ``mee-nbs.2022.cn-sh``, 0.5849
        kgCO2/kWh (MEE/NBS 2022 provincial factor for Shanghai, the latest published for
        CN-SH; docs/research/factors.md §1).

    Returns
    -------
    FactorSensitivity
    """
    h = headline or _packaged_factor(HEADLINE_FACTOR)
    a = alternative or _packaged_factor(ALTERNATIVE_FACTOR)
    hv, av = h.per_canonical("CO2"), a.per_canonical("CO2")
    # the sum of grid_electricity()'s amounts, without grouping them (the same exact sum)
    amounts = _grid_entries(entries, year, "location")["amount"].tolist()
    kwh = sum((_decimal(v) for v in amounts), _ZERO)
    ht, at = _gram(kwh * hv), _gram(kwh * av)
    return FactorSensitivity(
        year=int(year),
        grid_kwh=float(kwh),
        headline_factor_id=h.id,
        headline_kg_per_kwh=float(hv),
        headline_t=_tonnes(ht),
        alternative_factor_id=a.id,
        alternative_kg_per_kwh=float(av),
        alternative_t=_tonnes(at),
        change_pct=round(float((av - hv) / hv * 100), 2),
        gap_pct=round(float((hv - av) / av * 100), 2),
    )
