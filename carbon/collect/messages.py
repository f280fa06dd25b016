"""Pushed messages: their bodies, errors, replies and the record of what a commit changed."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from carbon.errors import CarbonError
from carbon.ingest import ROWS_FIELDS, Batch, IngestError, guess_mapping

if TYPE_CHECKING:
    from carbon.collect.gateways import Gateway
    from carbon.store import Store

__all__ = [
    "CollectError",
    "Commit",
    "MessageError",
    "Reply",
    "changes_since",
    "check_scope",
    "parse_body",
    "push_batch_id",
]


class CollectError(CarbonError, RuntimeError):
    """The collector cannot start or go on (the store is held, a port is taken, ...)."""


class MessageError(CarbonError, ValueError):
    """A pushed message refused whole (nothing of it is stored).

    Parameters
    ----------
    status : the HTTP status it is answered with (400, 401, 403, 409, 413, 415, 503).
    message : what is wrong, with the offending value.
    """

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(status, message)

    def __str__(self) -> str:
        return self.message


def parse_body(body: bytes, content_type: str) -> tuple[pd.DataFrame, str | None]:
    """The rows and default unit of a push body.

    JSON (``application/json``)::

        {"unit": "kWh",
         "readings": [{"meter_id": "E-1", "timestamp": "2024-06-01T10:00:00+08:00",
                       "value": 1.25, "unit": "kWh"}]}

    (or the list of readings alone). ``unit`` is optional at both levels; numbers may be
    given as JSON numbers or strings and keep their written digits. CSV (``text/csv``): a
    header line naming the columns as a file's would (``meter_id,timestamp,value[,unit]``,
    or Chinese headers such as ``表号,时间,用电量(kWh)``; :func:`carbon.ingest.guess_mapping`),
    UTF-8.

    Returns
    -------
    tuple
        ``(rows, unit)``: a DataFrame of :data:`carbon.ingest.ROWS_FIELDS` (text) and the
        message's unit (None: each row's, else the meter's).

    Raises
    ------
    MessageError
        (400) for a body that does not parse, has no readings, a reading with an unknown
        field or a CSV of another kind than interval readings; (415) for another media type.
    """
    media = content_type.split(";")[0].strip().lower()
    if media in ("application/json", ""):
        return _parse_json(body)
    if media in ("text/csv", "application/csv"):
        return _parse_csv(body)
    raise MessageError(
        415, f"unsupported Content-Type {content_type!r}: send application/json or text/csv"
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _parse_json(body: bytes) -> tuple[pd.DataFrame, str | None]:
    try:
        # Numbers keep the digits the gateway wrote (no float round trip).
        data = json.loads(body.decode("utf-8"), parse_float=str, parse_int=str)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(400, f"the body is not UTF-8 JSON: {exc}") from None
    unit = None
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"readings", "unit", "idempotency_key", "token"})
        if unknown:
            raise MessageError(400, f"unknown fields {unknown}; a message has readings, unit")
        unit = _text(data.get("unit"))
        data = data.get("readings")
    if not isinstance(data, list) or not data:
        raise MessageError(400, 'no readings: send {"readings": [{...}, ...]}')
    columns: dict[str, list[str | None]] = {f: [] for f in ROWS_FIELDS}
    for i, reading in enumerate(data):
        if not isinstance(reading, dict):
            raise MessageError(400, f"readings[{i}] is not an object")
        unknown = sorted(set(reading) - set(ROWS_FIELDS))
        if unknown:
            raise MessageError(
                400, f"readings[{i}] has unknown fields {unknown}; fields: {list(ROWS_FIELDS)}"
            )
        for f in ROWS_FIELDS:
            columns[f].append(_text(reading.get(f)))
    return pd.DataFrame(columns, dtype=object), unit


def _parse_csv(body: bytes) -> tuple[pd.DataFrame, str | None]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MessageError(400, f"the CSV body is not UTF-8: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    lines = [line for line in reader if line]
    if len(lines) < 2:
        raise MessageError(400, "no readings: a CSV body needs a header line and rows")
    headers = [h.strip() for h in lines[0]]
    try:
        mapping = guess_mapping(headers, "(CSV body)")
    except IngestError as exc:
        raise MessageError(400, str(exc)) from None
    if mapping.kind != "interval":
        raise MessageError(
            400,
            f"the CSV holds {mapping.kind} rows; pushes carry interval readings "
            "(meter_id, timestamp, value[, unit]); send other kinds to the drop folder",
        )
    index = {f: headers.index(c) for f, c in mapping.columns.items()}
    columns: dict[str, list[str | None]] = {f: [] for f in ROWS_FIELDS}
    for line in lines[1:]:
        for f in ROWS_FIELDS:
            i = index.get(f)
            value = line[i] if i is not None and i < len(line) else None
            columns[f].append(value if value not in ("", None) else None)
    return pd.DataFrame(columns, dtype=object), mapping.unit


def check_scope(gateway: Gateway, rows: pd.DataFrame) -> None:
    meters = {str(m).strip() for m in rows["meter_id"].dropna().unique()}
    outside = sorted(m for m in meters if m and not gateway.allows(m))
    if outside:
        shown = ", ".join(outside[:10]) + (f" (+{len(outside) - 10})" if len(outside) > 10 else "")
        raise MessageError(
            403, f"gateway {gateway.id} may not write meters {shown}; nothing was stored"
        )


@dataclass(frozen=True)
class Reply:
    """The answer to a committed message.

    Attributes
    ----------
    gateway_id, message_key : who sent it, and its idempotency key.
    batch_id : the batch its rows landed in.
    first_row : the batch row number of its first row.
    read, accepted, rejected : row counts; ``read == accepted + rejected``.
    reasons : rejected rows per reason code.
    rejects : ``(row, reason, message)`` per rejected row (``row`` 1-based in the message).
    committed_at : when its transaction committed [UTC].
    replayed : True when this is the stored answer to a message sent again.
    """

    gateway_id: str
    message_key: str
    batch_id: str
    first_row: int
    read: int
    accepted: int
    rejected: int
    reasons: tuple[tuple[str, int], ...]
    rejects: tuple[tuple[int, str, str], ...]
    committed_at: dt.datetime
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        """The reply as the HTTP API sends it (see docs/collect.openapi.json)."""
        return {
            "gateway_id": self.gateway_id,
            "idempotency_key": self.message_key,
            "batch_id": self.batch_id,
            "first_row": self.first_row,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "reasons": dict(self.reasons),
            "rejects": [
                {"row": r, "batch_row": self.first_row + r - 1, "reason": c, "message": m}
                for r, c, m in self.rejects
            ],
            "committed_at": self.committed_at.astimezone(dt.UTC).isoformat(),
            "replayed": self.replayed,
        }


@dataclass(frozen=True)
class Commit:
    """What one commit of the collector changed (the argument of on_commit callbacks).

    Attributes
    ----------
    seq : the commit's sequence number in ``changes`` (rising, from 1).
    committed_at : when it committed [UTC].
    batches : the batches that got rows.
    changed : ``(batch_id, meter_id, month, readings)``: readings landed per batch, meter and
        local month (``month``: its first day).
    messages : pushed messages committed (0 for a file).
    newest : the latest interval start landed [UTC], None if none.
    """

    seq: int
    committed_at: dt.datetime
    batches: tuple[str, ...]
    changed: tuple[tuple[str, str, dt.date, int], ...]
    messages: int
    newest: dt.datetime | None


def push_batch_id(gateway_id: str, month: dt.date, after: str | None = None) -> str:
    """The id of the batch of a gateway's pushed rows received in one local month.

    Parameters
    ----------
    gateway_id : the gateway.
    month : the first day of the local month of receipt.
    after : the id of a voided batch of the same gateway and month (pushes after a void go to
        a new batch).

    Returns
    -------
    str
        ``"p_"`` + the first 16 hex digits of ``sha256("push\\n" + gateway + "\\n" + month
        [+ "\\n" + after])``.
    """
    key = f"push\n{gateway_id}\n{month.isoformat()}" + (f"\n{after}" if after else "")
    return "p_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def changes_since(store: Store, seq: int = 0) -> pd.DataFrame:
    """The readings landed after commit ``seq``, per meter and local month.

    Parameters
    ----------
    store : the store.
    seq : the last commit already accounted for (0: every recorded commit).

    Returns
    -------
    DataFrame with ``meter_id, month`` (first day of the local month), ``readings`` (how many
    landed) and ``last_seq`` (the latest commit that touched the pair), sorted.
    """
    return store.frame(
        """SELECT meter_id, month, CAST(sum(readings) AS BIGINT) AS readings,
                  max(seq) AS last_seq
           FROM changes WHERE seq > ? GROUP BY ALL ORDER BY meter_id, month""",
        [seq],
    )


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


def batch_to_json(b: Batch) -> dict[str, Any]:
    out = dataclasses.asdict(b)
    out["reasons"] = [list(r) for r in b.reasons]
    out["voided_at"] = iso(b.voided_at)
    return out


def batch_from_json(d: dict[str, Any]) -> Batch:
    d = dict(d)
    d["reasons"] = tuple((str(r), int(n)) for r, n in d.get("reasons", []))
    if d.get("voided_at"):
        d["voided_at"] = dt.datetime.fromisoformat(d["voided_at"])
    return Batch(**d)
