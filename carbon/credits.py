"""Credits reported beside the inventory: the electricity recovered from incinerated waste.

GPC v1.1 admits no negative value in a waste row: the electricity an incinerator exports is not
netted into III.3, it is an **avoided** amount reported apart (DESIGN decision 6). This module
hands the ledger that amount; the ledger values it with the grid factor like every other
amount (:func:`carbon.valuation.value_amounts`) and keeps it out of every total.

The export per tonne is derived from two published plant figures (docs/research/waste.md §5):
Shanghai's Laogang Renewable Energy Utilisation Centre, about 1.5 billion kWh a year from
3 million t of waste a year (Xinhua, 2019-07-01; medium), i.e. 500 kWh of gross generation per
wet tonne; and the share a Shanghai incinerator exports of what it generates, 43.89 of
60.41 million kWh in Pudong's Yuqiao plant's first months (China.org.cn, 2003-01-29; low),
i.e. 72.7 %. The product, 363.5 kWh exported per tonne, is an ASSUMPTION with that basis.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd

from carbon.store import current_relations
from carbon.valuation import AMOUNT_COLUMNS, MICRO

if TYPE_CHECKING:
    from carbon.store import Store
    from carbon.twin import Twin

__all__ = ["EXPORTED_SHARE", "EXPORT_KWH_PER_T", "GROSS_KWH_PER_T", "energy_recovery_amounts"]

GROSS_KWH_PER_T = Decimal("500")
"""Gross generation per wet tonne incinerated [kWh / t]: Laogang, 1.5e9 kWh / 3e6 t a year
(Xinhua, 2019-07-01, https://jp.xinhuanet.com/2019-07/01/c_138188164.htm; medium)."""

EXPORTED_SHARE = Decimal("0.727")
"""Share of the generation exported to the grid [dimensionless]: Yuqiao (Pudong), 43.89 of
60.41 million kWh (China.org.cn, 2003-01-29; low)."""

EXPORT_KWH_PER_T = GROSS_KWH_PER_T * EXPORTED_SHARE
"""Electricity exported per wet tonne incinerated [kWh / t]: 363.5, an ASSUMPTION with the basis
above (docs/research/waste.md §5)."""


def _plain(value: Decimal) -> str:
    """A decimal without trailing zeros or an exponent (``10``, ``363.5``)."""
    return f"{value.normalize():f}"


def energy_recovery_amounts(
    store: Store,
    twin: Twin,
    start: dt.date,
    end: dt.date,
    *,
    batches: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Avoided grid electricity of the waste each node sends to incineration, per month.

    Parameters
    ----------
    store : the store holding the ``waste.msw.incineration`` activity rows.
    twin : the twin (for regions).
    start, end : the ledger period ``[start, end)`` [local dates].
    batches : the batches the ledger is built from (None: every batch).

    Returns
    -------
    pandas.DataFrame
        Amounts of :data:`carbon.valuation.AMOUNT_COLUMNS`: kind ``avoided``, activity
        ``electricity.grid`` [kWh] = incinerated t x :data:`EXPORT_KWH_PER_T`, GPC row III.3.2
        (the row the waste is reported in; never in its total), method ``location``, notes
        ``credit energy_recovery`` with the tonnage and the rate (``credit``: not an
        intervention's saving; the wall's intervention figures leave it out).
    """
    source = current_relations(store.con, batches)["activities"]
    rows = store.con.execute(
        f"SELECT node_id, period_start, sum(amount) AS t FROM {source} "
        "WHERE activity = 'waste.msw.incineration' AND period_start >= ? AND period_start < ? "
        "GROUP BY ALL ORDER BY ALL",
        [start, end],
    ).fetchall()
    out = []
    for node_id, period, tonnes in rows:
        if node_id not in twin.nodes or not tonnes or tonnes <= 0:
            continue
        month = dt.date(period.year, period.month, 1)
        out.append(
            {
                "kind": "avoided",
                "period_start": month,
                "node_id": node_id,
                "gpc_ref": "III.3.2",
                "activity": "electricity.grid",
                "factor_activity": "electricity.grid",
                "method": "location",
                "amount": (Decimal(tonnes) * EXPORT_KWH_PER_T).quantize(MICRO),
                "unit": "kWh",
                "region": twin.region_of(node_id),
                "valued_on": month,
                "dq_activity": "L",
                "notes": f"credit energy_recovery {_plain(Decimal(tonnes))} t x "
                f"{_plain(EXPORT_KWH_PER_T)} kWh/t exported "
                "(ASSUMPTION, docs/research/waste.md §5)",
            }
        )
    return pd.DataFrame(out, columns=list(AMOUNT_COLUMNS))
