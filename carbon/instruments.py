"""The register of green-electricity instruments of a community (scope 2).

A site may keep ``sites/<site>/instruments.toml`` (or ``instruments.csv``): one entry per
contractual instrument its nodes hold, with what a verifier asks for (GHG Protocol Scope 2
Guidance, 2015, ch. 7 "Scope 2 Quality Criteria"; 沪环气候〔2023〕89号 §4(2)): the type, the
id, the buyer node, the seller and plant, the production period, the volume, the settlement
date and the evidence (contract, settlement statement, 绿色电力消费凭证, retirement id).

Types
-----
``bundled_green_power``
    绿电: electricity bought with its certificate through a green-power trade on an exchange
    (e.g. the Beijing Power Exchange Center platform, ``exchange = "beijing-px"``); the GEC
    moves to the buyer on settlement (docs/research/gpc.md §4.1).
``gec_unbundled``
    绿证 bought apart from the electricity (发改能源〔2023〕1044号; 1 GEC = 1,000 kWh).
``i-rec``
    an International REC.

This module only describes and validates; which instrument counts in which scope-2 view is an
accounting rule (:mod:`carbon.scope2`). :func:`activity_rows` maps the register onto the
``electricity.green_certificate`` activity rows the ledger already values in its market-based
view, so the ledger's SQL (shared by DuckDB and Spark) is unchanged.

Example ``instruments.toml``::

    [[instrument]]
    id = "BJPX-2024-000123"
    type = "bundled_green_power"
    buyer = "kaidike"
    seller = "内蒙古某风电场"
    seller_region = "CN-NM"
    exchange = "beijing-px"
    trade = "inter-provincial"
    period_start = 2024-01-01
    period_end = 2024-02-01        # exclusive
    volume_kwh = 120000
    settlement_date = 2024-02-20
    [instrument.evidence]
    settlement_statement = "BJPX-JS-2024-01-0456"
    consumption_voucher = "GEC-VOUCHER-2024-0001"
"""

from __future__ import annotations

import csv
import datetime as dt
import tomllib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from carbon.errors import DataFileError

if TYPE_CHECKING:
    from carbon.twin import Twin

__all__ = [
    "INSTRUMENT_TYPES",
    "Evidence",
    "Instrument",
    "InstrumentFileError",
    "InstrumentRegister",
    "activity_rows",
    "load_instruments",
    "monthly_volumes",
    "write_activity_rows",
]

InstrumentType = Literal["bundled_green_power", "gec_unbundled", "i-rec"]
INSTRUMENT_TYPES: tuple[str, ...] = ("bundled_green_power", "gec_unbundled", "i-rec")
FILE_NAMES = ("instruments.toml", "instruments.csv")
GEC_ACTIVITY = "electricity.green_certificate"


class InstrumentFileError(DataFileError):
    """An instrument register that fails validation (names the file, entry and field)."""


class Evidence(BaseModel):
    """Documents behind an instrument (ids or file names; any may be absent).

    Attributes
    ----------
    contract : the trade contract (交易合同).
    settlement_statement : the exchange's settlement record (交易结算依据).
    consumption_voucher : the 绿色电力消费凭证 issued to the buyer.
    retirement_id : the certificate retirement or claim record (GEC / I-REC registry).
    bill : the electricity bill (外购电力账单).
    document : any other document id.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    contract: str | None = None
    settlement_statement: str | None = None
    consumption_voucher: str | None = None
    retirement_id: str | None = None
    bill: str | None = None
    document: str | None = None

    def documents(self) -> dict[str, str]:
        """The documents given (name -> id)."""
        return {k: v for k, v in self.model_dump().items() if v}

    @property
    def settles(self) -> bool:
        """True when a settlement record or a consumption voucher is on file (the settlement
        evidence of 沪环气候〔2023〕89号 §4(2))."""
        return bool(self.settlement_statement or self.consumption_voucher)

    @property
    def retires(self) -> bool:
        """True when a retirement/claim record or a consumption voucher is on file."""
        return bool(self.retirement_id or self.consumption_voucher)


class Instrument(BaseModel):
    """One green-electricity instrument held by a node of the twin.

    Attributes
    ----------
    id : the instrument's id (trade id, GEC serial range, I-REC id); unique in the register.
    type : ``bundled_green_power`` (绿电), ``gec_unbundled`` (绿证) or ``i-rec``.
    buyer : the twin node that holds and uses it.
    seller : the seller or generator.
    plant : the generating plant, if named apart from the seller.
    seller_region : region code of the plant (``CN-NM``), for the inter-provincial test.
    exchange : where it was traded (``beijing-px`` = 北京电力交易中心绿色电力交易平台).
    trade : ``inter-provincial`` (省间) or ``intra-provincial`` (省内).
    period_start, period_end : production (delivery) period ``[start, end)`` [local dates].
    volume_kwh : volume [kWh] (a GEC is 1,000 kWh).
    settlement_date : the day the trade was settled or the certificate retired.
    evidence : the documents behind it.
    certificate_ids : GEC serials, when known (a serial may appear once in the register).
    notes : anything a verifier should know.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    type: InstrumentType
    buyer: str = Field(min_length=1)
    seller: str | None = None
    plant: str | None = None
    seller_region: str | None = None
    exchange: str | None = None
    trade: Literal["inter-provincial", "intra-provincial"] | None = None
    period_start: dt.date
    period_end: dt.date
    volume_kwh: Decimal = Field(gt=0)
    settlement_date: dt.date | None = None
    evidence: Evidence = Field(default_factory=Evidence)
    certificate_ids: tuple[str, ...] = ()
    notes: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Instrument:
        if self.period_end <= self.period_start:
            raise ValueError(
                f"period_end {self.period_end} is not after period_start {self.period_start} "
                "(the production period is half-open [start, end))"
            )
        return self


class InstrumentRegister(BaseModel):
    """The instruments of one site, validated once (ids unique, serials claimed once)."""

    model_config = ConfigDict(frozen=True)

    instruments: tuple[Instrument, ...] = ()
    source: str | None = None

    def __iter__(self) -> Iterator[Instrument]:  # type: ignore[override]
        return iter(self.instruments)

    def __len__(self) -> int:
        return len(self.instruments)

    def to_frame(self) -> pd.DataFrame:
        """One row per instrument (evidence flattened to ``evidence_<name>``)."""
        rows = []
        for i in self.instruments:
            row = i.model_dump(exclude={"evidence", "certificate_ids"})
            row.update({f"evidence_{k}": v for k, v in i.evidence.model_dump().items()})
            row["certificate_ids"] = ",".join(i.certificate_ids)
            rows.append(row)
        return pd.DataFrame(rows)


def _error(path: Path, entry: str | None, exc: ValidationError) -> InstrumentFileError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict) else ""
    return InstrumentFileError(path, f"{first['msg']}{shown}", entry=entry, field=field)


def _read_entries(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            out = []
            for row in csv.DictReader(fh):
                entry: dict[str, Any] = {}
                evidence: dict[str, str] = {}
                for key, value in row.items():
                    if key is None or value is None or value.strip() == "":
                        continue
                    key, value = key.strip(), value.strip()
                    if key.startswith("evidence_"):
                        evidence[key.removeprefix("evidence_")] = value
                    elif key == "certificate_ids":
                        entry[key] = [v.strip() for v in value.split(",") if v.strip()]
                    else:
                        entry[key] = value
                if evidence:
                    entry["evidence"] = evidence
                out.append(entry)
            return out
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentFileError(path, f"not valid TOML: {exc}") from None
    extra = set(data) - {"instrument"}
    if extra:
        raise InstrumentFileError(
            path, f"unknown top-level keys {sorted(extra)}; entries go in [[instrument]]"
        )
    entries = data.get("instrument", [])
    if not isinstance(entries, list):
        raise InstrumentFileError(path, "instrument must be an array of tables ([[instrument]])")
    return entries


def load_instruments(
    source: str | Path | Twin, *, twin: Twin | None = None
) -> InstrumentRegister | None:
    """Load and validate a register of green-electricity instruments.

    Parameters
    ----------
    source : a register file (``.toml`` or ``.csv``), a site folder, or a twin (its folder's
        ``instruments.toml`` / ``instruments.csv``).
    twin : check every buyer against the twin's nodes (taken from ``source`` when it is one).

    Returns
    -------
    InstrumentRegister, or None when a folder or twin has no register (it is optional).

    Raises
    ------
    InstrumentFileError
        A file that is missing (when named), not TOML/CSV, or has an invalid entry; the message
        names the file, the entry (its id, or its position) and the field. Also a duplicate id,
        a GEC serial claimed twice, or a buyer that is not a node of the twin.
    """
    if not isinstance(source, (str, Path)):
        twin = twin or source
        source = Path(source.folder)
    path = Path(source)
    if path.is_dir():
        found = [path / n for n in FILE_NAMES if (path / n).is_file()]
        if not found:
            return None
        if len(found) > 1:
            raise InstrumentFileError(
                found[1], f"two registers in {path}: keep one of {', '.join(FILE_NAMES)}"
            )
        path = found[0]
    if not path.is_file():
        raise InstrumentFileError(path, "file not found")
    if path.suffix not in (".toml", ".csv"):
        raise InstrumentFileError(path, "a register is a .toml or a .csv file")
    instruments: list[Instrument] = []
    seen: dict[str, int] = {}
    serials: dict[str, str] = {}
    for n, raw in enumerate(_read_entries(path), start=1):
        entry = str(raw.get("id") or f"#{n}") if isinstance(raw, dict) else f"#{n}"
        try:
            instrument = Instrument.model_validate(raw)
        except ValidationError as exc:
            raise _error(path, entry, exc) from None
        if instrument.id in seen:
            raise InstrumentFileError(
                path, f"duplicate id (also entry #{seen[instrument.id]})", entry=entry, field="id"
            )
        seen[instrument.id] = n
        for serial in instrument.certificate_ids:
            if serial in serials:
                raise InstrumentFileError(
                    path,
                    f"certificate {serial!r} is already claimed by {serials[serial]!r} "
                    "(a certificate is claimed once)",
                    entry=entry,
                    field="certificate_ids",
                )
            serials[serial] = instrument.id
        if twin is not None and instrument.buyer not in twin.nodes:
            raise InstrumentFileError(
                path,
                f"buyer {instrument.buyer!r} is not a node of the twin {twin.name!r}",
                entry=entry,
                field="buyer",
            )
        instruments.append(instrument)
    return InstrumentRegister(instruments=tuple(instruments), source=str(path))


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months, current = [], dt.date(start.year, start.month, 1)
    while current < end:
        months.append(current)
        current = dt.date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def monthly_volumes(instruments: Iterable[Instrument]) -> pd.DataFrame:
    """Spread each instrument's volume over the calendar months of its production period.

    The volume is shared by days [kWh], rounded to 0.001 kWh; the last month takes the
    remainder, so the months add up to the volume exactly.

    Returns
    -------
    DataFrame ``instrument_id, type, node_id, month, volume_kwh`` (``volume_kwh`` Decimal).
    """
    rows = []
    for i in instruments:
        days = (i.period_end - i.period_start).days
        months = _month_starts(i.period_start, i.period_end)
        left = i.volume_kwh
        for k, month in enumerate(months):
            nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
            overlap = (min(nxt, i.period_end) - max(month, i.period_start)).days
            if k == len(months) - 1:
                share = left
            else:
                share = (i.volume_kwh * overlap / days).quantize(Decimal("0.001"))
                left -= share
            rows.append(
                {
                    "instrument_id": i.id,
                    "type": i.type,
                    "node_id": i.buyer,
                    "month": month,
                    "volume_kwh": share,
                }
            )
    return pd.DataFrame(rows, columns=["instrument_id", "type", "node_id", "month", "volume_kwh"])


def activity_rows(register: InstrumentRegister, *, evidenced_only: bool = True) -> pd.DataFrame:
    """The register as ``electricity.green_certificate`` activity rows (one per node-month).

    These are the rows the ledger's market-based view already values (certificate-covered kWh
    at 0, capped at the node-month's metered grid kWh; docs/research/gpc.md §4.2). Ingest them
    (``store.ingest`` of the CSV written from this frame) instead of hand-made certificate
    rows, so that the market-based view rests on the register.

    Parameters
    ----------
    register : the site's register.
    evidenced_only : keep only instruments with settlement or retirement evidence and a
        settlement date (GHG Protocol Scope 2 Guidance, 2015, ch. 7 quality criteria: the
        instrument is retired or cancelled on the user's behalf).

    Returns
    -------
    DataFrame ``node_id, activity, period_start, period_end, amount, unit`` (kWh).
    """
    kept = [
        i
        for i in register
        if not evidenced_only
        or (i.settlement_date is not None and (i.evidence.settles or i.evidence.retires))
    ]
    m = monthly_volumes(kept)
    cols = ["node_id", "activity", "period_start", "period_end", "amount", "unit"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    m = m.groupby(["node_id", "month"], as_index=False, sort=True)["volume_kwh"].sum()
    return pd.DataFrame(
        {
            "node_id": m.node_id,
            "activity": GEC_ACTIVITY,
            "period_start": m.month,
            "period_end": [dt.date(d.year + d.month // 12, d.month % 12 + 1, 1) for d in m.month],
            "amount": [str(v) for v in m.volume_kwh],
            "unit": "kWh",
        }
    )[cols]


def write_activity_rows(register: InstrumentRegister, folder: str | Path) -> Path | None:
    """Write the register's :func:`activity_rows` as a CSV the ledger can ingest.

    The file is named by the SHA-256 of its content (``instruments-<12 hex>.csv``) and written
    byte-identically for the same register, so a rebuild or a verify replay ingests the same
    batch id. :func:`carbon.pipeline.build` calls this for every site that keeps a register:
    the market-based view then rests on the register, with no hand-made certificate rows.

    Parameters
    ----------
    register : the site's register.
    folder : where to write (created when missing).

    Returns
    -------
    Path of the CSV, or None when no instrument has settlement or retirement evidence.
    """
    import hashlib

    rows = activity_rows(register)
    if rows.empty:
        return None
    text = rows.to_csv(index=False, lineterminator="\n")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    path = Path(folder) / f"instruments-{digest}.csv"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    return path
