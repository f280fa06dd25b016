"""Today: what the community has used and emitted so far today, against a usual day.

The operations centre's view of the present (issue 16): for the whole community and each of
its top-level parts (the blocks of Shimen Erlu), the use and emissions so far today against
the same weekday's usual profile from the store's own history, the meters that went quiet, and
the time of the newest reading. :func:`compute_today` computes it, :func:`publish_today` writes
it as ``today.json`` beside the wall's snapshots (the collector holds the store's lock, so the
wall cannot read the store itself), :func:`read_today` reads it back.

The rules
---------
* **Which meters.** The twin's meters with a sub-daily interval (``15min``, ``1h``): a monthly
  register meter says nothing about today. Readings are the store's current ones
  (``current_readings``: highest revision, voided batches left out).
* **Now and today.** ``now`` defaults to the end of the newest reading of those meters, so a
  historical store (the demo) gives a meaningful "today". Today is the local calendar day
  (``twin.site.timezone``) of ``now``, from local midnight up to ``now``; a ``now`` at local
  midnight exactly closes the day before (today is the whole day that ends at ``now``).
* **So far.** A reading counts when it starts on the day and has ended by ``now``
  (``ts_end <= now``): an interval still under way is not used yet.
* **Usual.** The same weekday of each of the previous ``history_weeks`` weeks, each taken up to
  the same local clock time as ``now``; a past day on which none of the meters has a reading is
  left out (the store did not reach back that far). The usual is the mean over the days kept;
  the band is their minimum and maximum (with 8 days, a p10-p90 band would be nearly the same
  days). A node without readings on a kept day counts 0 for it.
* **Emissions** are the amounts times the location-based factor the ledger values that day
  with (:func:`carbon.valuation.value_factor`, the one fallback policy: region chain, vintage
  rule), per activity and the region of the meter's node. The usual is valued with today's
  factor, so today and the usual differ only by use. These are indicative figures for the wall,
  not ledger entries: the ledger of the closed month remains the record.
* **Energy** [kWh] adds up the activities measured in an energy unit (kWh, GJ; 1 GJ =
  277.78 kWh by definition); water and gas by volume are shown per carrier only. Exported PV is
  not use and is left out of the energy total; PV (self-consumed or exported) emits 0 kg, as in
  the ledger. An activity with no factor in force keeps NaN kilograms in its carrier row, is
  left out of the totals and is named in a ``today.no_factor`` warning.
* **Silent meters.** A meter is silent when its newest reading ended more than
  ``silent_after`` of its intervals before ``now``; its interval is the longer of ``interval``
  and the meter's own declared one. Intervals missed = whole intervals between that end and
  ``now``. Meters with no reading at all in the history window (from the first usual day to
  ``now``) are taken as not installed and are not reported.
* **Flags.** ``historical`` when ``as_of`` lies more than :data:`HISTORICAL_AFTER` before the
  wall clock at computation; ``synthetic`` when a batch behind today's readings was written by
  :func:`carbon.synth.generate` (:func:`carbon.synth.provenance`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from carbon.errors import CarbonError, FactorNotFoundError
from carbon.valuation import value_factor
from carbon.warnings import QualityWarning

if TYPE_CHECKING:
    from carbon.factors import FactorSet
    from carbon.store import Store
    from carbon.twin import Twin

__all__ = [
    "CARRIER_COLUMNS",
    "CURVE_COLUMNS",
    "FILE_NAME",
    "FORMAT",
    "HISTORICAL_AFTER",
    "NODE_COLUMNS",
    "SILENT_COLUMNS",
    "Today",
    "TodayError",
    "compute_today",
    "publish_today",
    "read_today",
]

log = logging.getLogger(__name__)

FILE_NAME = "today.json"
"""The file :func:`publish_today` writes in the wall's snapshots folder."""

FORMAT = "carbon-twin today v1"
"""The ``format`` field of ``today.json``."""

HISTORICAL_AFTER = dt.timedelta(days=1)
"""``as_of`` older than this at computation marks the figures ``historical``. ASSUMPTION: a
live feed lags the wall clock by minutes (one meter interval and the push delay); a day
behind is no longer "today"."""

SUB_DAILY = {"15min": dt.timedelta(minutes=15), "1h": dt.timedelta(hours=1)}
"""Meter intervals that describe the course of a day, and their lengths."""

ENERGY_TO_KWH = {"kWh": 1.0, "GJ": 1e9 / 3.6e6}
"""kWh per canonical unit of the energy carriers (1 GJ = 10^9 J / 3.6·10^6 J per kWh, exact
by the definitions of the joule and the kilowatt-hour)."""

NOT_USE = frozenset({"electricity.pv_exported"})
"""Activities that are metered but are not use (they leave the community)."""

NO_EMISSIONS = frozenset({"electricity.pv_self_consumed", "electricity.pv_exported"})
"""Metered activities valued at 0 kg, as the ledger books no emissions for them: on-site PV used
on site or exported (GPC I.4.4, an information item)."""

NODE_COLUMNS = {
    "node_id": "the node (the root, or one of its children)",
    "parent_id": "its parent ('' for the root)",
    "kind": "its kind (subdistrict, block, ...)",
    "name_zh": "Chinese name",
    "name_en": "English name",
    "meters": "sub-daily meters under it with a reading in the history window",
    "reporting": "of those, meters with a reading today",
    "silent": "of those, silent meters",
    "energy_kwh": "energy used so far today [kWh]",
    "usual_energy_kwh": "mean of the usual days up to the same clock time [kWh]",
    "usual_min_energy_kwh": "lowest usual day [kWh]",
    "usual_max_energy_kwh": "highest usual day [kWh]",
    "co2e_kg": "emissions so far today [kg CO2e]",
    "usual_co2e_kg": "mean of the usual days [kg CO2e]",
    "usual_min_co2e_kg": "lowest usual day [kg CO2e]",
    "usual_max_co2e_kg": "highest usual day [kg CO2e]",
    "share_of_usual": "co2e_kg / usual_co2e_kg [dimensionless]; NaN without a usual",
}
"""Columns of :attr:`Today.nodes`: one row per node, the root first."""

CARRIER_COLUMNS = {
    "node_id": "the node",
    "activity": "the activity (energy carrier, water, ...)",
    "unit": "its canonical unit",
    "amount": "used so far today [unit]",
    "usual_amount": "mean of the usual days [unit]",
    "usual_min_amount": "lowest usual day [unit]",
    "usual_max_amount": "highest usual day [unit]",
    "co2e_kg": "emissions so far [kg CO2e]; NaN when no factor is in force",
    "usual_co2e_kg": "usual emissions [kg CO2e]",
}
"""Columns of :attr:`Today.carriers`: one row per node and activity."""

CURVE_COLUMNS = {
    "node_id": "the node",
    "minutes": "end of the interval, minutes after local midnight [min]",
    "energy_kwh": "cumulative energy today [kWh]; NaN after now",
    "usual_energy_kwh": "cumulative usual energy [kWh]",
    "usual_min_energy_kwh": "lowest usual day, cumulative [kWh]",
    "usual_max_energy_kwh": "highest usual day, cumulative [kWh]",
    "co2e_kg": "cumulative emissions today [kg CO2e]; NaN after now",
    "usual_co2e_kg": "cumulative usual emissions [kg CO2e]",
    "usual_min_co2e_kg": "lowest usual day, cumulative [kg CO2e]",
    "usual_max_co2e_kg": "highest usual day, cumulative [kg CO2e]",
}
"""Columns of :attr:`Today.curve`: per node, one row per interval boundary of the whole day."""

SILENT_COLUMNS = {
    "meter_id": "the meter",
    "node_id": "its node",
    "name_zh": "its node's Chinese name",
    "name_en": "its node's English name",
    "group_id": "the node of :attr:`Today.nodes` it belongs to ('' when only the root)",
    "activity": "its activity",
    "last_end": "end of its newest reading [local time]",
    "intervals_missed": "whole intervals since then",
    "silent_minutes": "minutes since then [min]",
}
"""Columns of :attr:`Today.silent`: the silent meters, longest silent first."""

_ROUND = 3
"""Decimals kept of kWh, kg and amounts (the gram, as the ledger keeps masses)."""


class TodayError(CarbonError, ValueError):
    """Today cannot be computed or read (no readings, a bad parameter, a bad file)."""


@dataclass(frozen=True, eq=False)
class Today:
    """Use and emissions so far today, the usual day, silent meters (module docstring).

    Attributes
    ----------
    twin : the twin's name.
    factor_set : the factor set's name; ``factor_set_sha256`` its content hash.
    timezone : the community's time zone.
    day : today [local date].
    as_of : ``now`` [local time, tz-aware].
    computed_at : when it was computed [UTC, tz-aware].
    newest_reading : end of the newest reading up to ``now`` [local time], or None.
    historical, synthetic : see the module docstring.
    interval : the interval of the curve and of the silence rule [timedelta].
    silent_after : intervals without a reading after which a meter is silent.
    history_weeks : weeks looked back for the usual day.
    history_days : the usual days kept (those with readings) [local dates].
    nodes, carriers, curve, silent : frames of :data:`NODE_COLUMNS`, :data:`CARRIER_COLUMNS`,
        :data:`CURVE_COLUMNS`, :data:`SILENT_COLUMNS`.
    factors : the factors used: ``activity, region, factor_id, co2e_kg_per_unit, unit``.
    warnings : data-quality warnings (an activity without a factor in force).
    """

    twin: str
    factor_set: str
    factor_set_sha256: str
    timezone: str
    day: dt.date
    as_of: dt.datetime
    computed_at: dt.datetime
    newest_reading: dt.datetime | None
    historical: bool
    synthetic: bool
    interval: dt.timedelta
    silent_after: int
    history_weeks: int
    history_days: tuple[dt.date, ...]
    nodes: pd.DataFrame
    carriers: pd.DataFrame
    curve: pd.DataFrame
    silent: pd.DataFrame
    factors: pd.DataFrame
    warnings: tuple[QualityWarning, ...] = field(default_factory=tuple)

    # ------------------------------------------------------------------ access
    @property
    def root(self) -> str:
        """The root node's id (the first row of :attr:`nodes`)."""
        return str(self.nodes["node_id"].iloc[0]) if len(self.nodes) else ""

    def node(self, node_id: str) -> dict[str, Any]:
        """One row of :attr:`nodes` as a dict.

        Raises
        ------
        TodayError
            When the node is not one of :attr:`nodes`.
        """
        rows = self.nodes[self.nodes["node_id"] == node_id]
        if not len(rows):
            known = ", ".join(self.nodes["node_id"].astype(str))
            raise TodayError(f"No node {node_id!r} in today's figures; they have: {known}")
        return dict(rows.iloc[0])

    def node_curve(self, node_id: str) -> pd.DataFrame:
        """The rows of :attr:`curve` of one node, by time of day."""
        self.node(node_id)
        return self.curve[self.curve["node_id"] == node_id].reset_index(drop=True)

    # ------------------------------------------------------------------ file
    def to_json(self) -> str:
        """The figures as JSON text (the ``today.json`` format, :data:`FORMAT`)."""
        silent = self.silent.copy()
        silent["last_end"] = [_iso(v) for v in silent["last_end"]]
        body = {
            "format": FORMAT,
            "twin": self.twin,
            "factor_set": self.factor_set,
            "factor_set_sha256": self.factor_set_sha256,
            "timezone": self.timezone,
            "day": self.day.isoformat(),
            "as_of": _iso(self.as_of),
            "computed_at": _iso(self.computed_at),
            "newest_reading": _iso(self.newest_reading),
            "historical": self.historical,
            "synthetic": self.synthetic,
            "interval_minutes": self.interval.total_seconds() / 60,
            "silent_after": self.silent_after,
            "history_weeks": self.history_weeks,
            "history_days": [d.isoformat() for d in self.history_days],
            "warnings": [
                {"code": w.code, "message": w.message, "data": w.data} for w in self.warnings
            ],
            "factors": _records(self.factors),
            "nodes": _records(self.nodes),
            "carriers": _records(self.carriers),
            "silent": _records(silent),
            "curve": _records(self.curve),
        }
        return json.dumps(body, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "today.json") -> Today:
        """Read the figures from JSON text written by :meth:`to_json`.

        Raises
        ------
        TodayError
            When the text is not a ``today.json`` of this format (``source`` names it).
        """
        try:
            body = json.loads(text)
            if not isinstance(body, dict) or body.get("format") != FORMAT:
                raise ValueError(
                    f"format is {body.get('format')!r}, expected {FORMAT!r}"
                    if isinstance(body, dict)
                    else "not a JSON object"
                )
            tz = ZoneInfo(body["timezone"])
            silent = _frame(
                [{**r, "last_end": _parse(r["last_end"], tz)} for r in body["silent"]],
                SILENT_COLUMNS,
            )
            return cls(
                twin=str(body["twin"]),
                factor_set=str(body["factor_set"]),
                factor_set_sha256=str(body["factor_set_sha256"]),
                timezone=str(body["timezone"]),
                day=dt.date.fromisoformat(body["day"]),
                as_of=_parse(body["as_of"], tz),
                computed_at=_parse(body["computed_at"], dt.UTC),
                newest_reading=_parse(body["newest_reading"], tz)
                if body["newest_reading"]
                else None,
                historical=bool(body["historical"]),
                synthetic=bool(body["synthetic"]),
                interval=dt.timedelta(minutes=float(body["interval_minutes"])),
                silent_after=int(body["silent_after"]),
                history_weeks=int(body["history_weeks"]),
                history_days=tuple(dt.date.fromisoformat(d) for d in body["history_days"]),
                nodes=_frame(body["nodes"], NODE_COLUMNS),
                carriers=_frame(body["carriers"], CARRIER_COLUMNS),
                curve=_frame(body["curve"], CURVE_COLUMNS),
                silent=silent,
                factors=_frame(body["factors"], _FACTOR_COLUMNS),
                warnings=tuple(
                    QualityWarning(w["code"], w["message"], w.get("data", {}))
                    for w in body["warnings"]
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TodayError(f"{source} is not a today.json ({FORMAT}): {exc}") from None

    def write(self, folder: str | Path) -> Path:
        """Write ``folder/today.json`` atomically (a temporary file, then ``os.replace``), so
        a reader sees the old file or the new one, never half of one; return its path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        tmp = folder / f".{FILE_NAME}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path


_FACTOR_COLUMNS = {
    "activity": "",
    "region": "",
    "factor_id": "",
    "co2e_kg_per_unit": "",
    "unit": "",
}


def read_today(path: str | Path) -> Today:
    """Read ``today.json`` (``path`` is the file or the folder holding it).

    Raises
    ------
    TodayError
        When the file is missing or is not a ``today.json``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise TodayError(f"Cannot read {path}: {exc.strerror or exc}") from None
    return Today.from_json(text, str(path))


def publish_today(
    store: Store,
    twin: Twin,
    factors: FactorSet,
    folder: str | Path,
    now: dt.datetime | str | None = None,
    **kw: Any,
) -> Path:
    """Compute today's figures and write ``folder/today.json`` atomically; return its path.

    ``kw`` are :func:`compute_today`'s keyword arguments.
    """
    return compute_today(store, twin, factors, now, **kw).write(folder)


# ------------------------------------------------------------------------------ compute
def compute_today(
    store: Store,
    twin: Twin,
    factors: FactorSet,
    now: dt.datetime | str | None = None,
    *,
    interval: dt.timedelta = dt.timedelta(minutes=15),
    silent_after: int = 4,
    history_weeks: int = 8,
) -> Today:
    """Use and emissions so far today, the usual day, silent meters (rules: module docstring).

    Parameters
    ----------
    store : the store (read only; a read-only connection will do).
    twin : the community; its sub-daily meters are read.
    factors : the factor set valuing the emissions.
    now : the instant up to which "today" runs [tz-aware datetime or ISO 8601 text; naive
        means local time]; default the end of the newest reading.
    interval : the curve's step and the shortest meter interval of the silence rule
        [timedelta]; must divide a day. Default 15 min, the shortest interval a twin's meter
        can declare.
    silent_after : intervals without a reading after which a meter is reported silent
        [dimensionless]. ASSUMPTION: 4, one hour at 15 min; long enough to ride out a late
        push or one lost message, short enough to be acted on the same shift.
    history_weeks : how many previous same weekdays make the usual day [weeks]. ASSUMPTION:
        8, two months: enough days for a band, recent enough to follow the season.

    Returns
    -------
    Today

    Raises
    ------
    TodayError
        When a parameter is out of range, ``now`` is not a time, or (``now`` omitted) the store
        has no reading of a sub-daily meter.
    """
    if (
        not isinstance(interval, dt.timedelta)
        or interval <= dt.timedelta(0)
        or dt.timedelta(days=1) % interval
    ):
        raise TodayError(
            f"interval {interval!r} must be a positive part of a day (e.g. 15 min, 1 h)"
        )
    if int(silent_after) < 1 or int(history_weeks) < 1:
        raise TodayError(
            f"silent_after ({silent_after}) and history_weeks ({history_weeks}) must be at least 1"
        )
    computed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    tz = ZoneInfo(twin.site.timezone)
    groups = _groups(twin)
    meters = _sub_daily_meters(twin)
    meters["group_id"] = meters["node_id"].map(groups["of_node"]).fillna("")
    con = store.con
    if now is None:
        con.register("_today_meters", meters[["meter_id"]])
        try:
            rows = con.execute(
                "SELECT max(r.ts_end) FROM current_readings r JOIN _today_meters m USING (meter_id)"
            ).fetchall()
        finally:
            con.unregister("_today_meters")
        if not rows or rows[0][0] is None:
            raise TodayError(
                f"The store {store.path or ':memory:'} has no readings of the sub-daily "
                f"meters of twin {twin.name!r}: give now= to compute an empty day"
            )
        as_of = rows[0][0].astimezone(tz)
    else:
        as_of = _as_instant(now, tz)
    day, clock = _day_and_clock(as_of, tz)
    days = _days(day, clock, tz, int(history_weeks))
    valued, factor_rows, warnings = _value(meters, twin, factors, day)
    con.register("_today_meters", valued)
    try:
        raw, newest, last, today_rows = _query(con, days, as_of, interval, twin.site.timezone)
    finally:
        con.unregister("_today_meters")
    kept = tuple(sorted({int(k) for k in raw["k"].unique() if k > 0}))
    history_days = tuple(day - dt.timedelta(weeks=k) for k in sorted(kept, reverse=True))
    long = _by_group(raw, groups["root"])
    silent = _silent(meters, last, as_of, interval, int(silent_after), tz)
    silent["name_zh"] = [twin.node(n).name_zh for n in silent["node_id"]]
    silent["name_en"] = [twin.node(n).name_en for n in silent["node_id"]]
    silent = silent[list(SILENT_COLUMNS)]
    installed = set(last["meter_id"])
    reporting = set(today_rows["meter_id"])
    nodes = _nodes(long, kept, groups, meters, installed, reporting, silent)
    carriers = _carriers(long, kept, groups)
    n_slots = int(dt.timedelta(days=1) / interval)
    curve = _curve(long, kept, groups, n_slots, interval, clock)
    return Today(
        twin=twin.name,
        factor_set=factors.name,
        factor_set_sha256=factors.content_hash,
        timezone=twin.site.timezone,
        day=day,
        as_of=as_of,
        computed_at=computed_at,
        newest_reading=newest.astimezone(tz) if newest is not None else None,
        historical=computed_at - as_of > HISTORICAL_AFTER,
        synthetic=_synthetic(store, sorted(set(today_rows["batch_id"]))),
        interval=interval,
        silent_after=int(silent_after),
        history_weeks=int(history_weeks),
        history_days=history_days,
        # through the records the file holds, so a frame read back equals the one computed
        nodes=_frame(_records(nodes), NODE_COLUMNS),
        carriers=_frame(_records(carriers), CARRIER_COLUMNS),
        curve=_frame(_records(curve), CURVE_COLUMNS),
        silent=_frame(_records(silent), SILENT_COLUMNS),
        factors=_frame(_records(factor_rows), _FACTOR_COLUMNS),
        warnings=tuple(warnings),
    )


def _sub_daily_meters(twin: Twin) -> pd.DataFrame:
    frame = twin.meters_frame()
    frame = frame[frame["interval"].isin(list(SUB_DAILY))].reset_index(drop=True)
    frame["step_s"] = frame["interval"].map({k: v.total_seconds() for k, v in SUB_DAILY.items()})
    return frame[["meter_id", "node_id", "activity", "step_s"]].copy()


def _as_instant(now: dt.datetime | str, tz: ZoneInfo) -> dt.datetime:
    if isinstance(now, str):
        try:
            now = dt.datetime.fromisoformat(now)
        except ValueError:
            raise TodayError(
                f"now={now!r} is not an ISO 8601 time, e.g. 2024-12-31T10:30+08:00"
            ) from None
    if not isinstance(now, dt.datetime):
        raise TodayError(f"now={now!r} is not a datetime")
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    return now.astimezone(tz)


def _day_and_clock(as_of: dt.datetime, tz: ZoneInfo) -> tuple[dt.date, dt.timedelta]:
    """Today's local date and the time elapsed on its local clock (24 h at midnight)."""
    day = as_of.date()
    clock = dt.timedelta(
        hours=as_of.hour, minutes=as_of.minute, seconds=as_of.second, microseconds=as_of.microsecond
    )
    if clock == dt.timedelta(0):  # local midnight closes the day before
        day -= dt.timedelta(days=1)
        clock = dt.timedelta(days=1)
    return day, clock


def _days(day: dt.date, clock: dt.timedelta, tz: ZoneInfo, weeks: int) -> pd.DataFrame:
    """Today (k = 0) and the same weekday k weeks before: start, cut-off and end [UTC]."""
    rows = []
    for k in range(weeks + 1):
        d = day - dt.timedelta(weeks=k)
        start = dt.datetime.combine(d, dt.time(0), tzinfo=tz)
        end = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        if clock >= dt.timedelta(days=1):
            cutoff = end
        else:  # the same local clock time (wall time, so a DST change keeps the clock)
            cutoff = dt.datetime.combine(d, (dt.datetime.min + clock).time(), tzinfo=tz)
        rows.append(
            {
                "k": k,
                "day": d,
                "day_start": start.astimezone(dt.UTC),
                "cutoff": cutoff.astimezone(dt.UTC),
                "day_end": end.astimezone(dt.UTC),
            }
        )
    return pd.DataFrame(rows)


def _query(
    con: Any, days: pd.DataFrame, as_of: dt.datetime, interval: dt.timedelta, tz: str
) -> tuple[pd.DataFrame, dt.datetime | None, pd.DataFrame, pd.DataFrame]:
    """Readings summed by day, group, activity and interval slot (amount, kWh and kg, all of
    the day and up to its cut-off); each meter's newest end in the history window and the
    newest of all; the meters and batches behind today's readings.

    ``_today_meters`` holds each meter's group, activity, factor and kWh per unit (NULL factor:
    none in force, ``no_factor``)."""
    step = interval.total_seconds()
    first, now = days["day_start"].min(), as_of.astimezone(dt.UTC)
    con.register("_today_days", days)
    try:
        raw = con.execute(
            f"""WITH r AS (
                  SELECT d.k, m.group_id, m.activity, m.f_co2e, m.kwh_per_unit,
                         CAST(ceil(epoch(r.ts_end - d.day_start) / {step}) AS INTEGER) AS slot,
                         CAST(r.amount AS DOUBLE) AS amount,
                         CASE WHEN r.ts_end <= d.cutoff THEN CAST(r.amount AS DOUBLE)
                              ELSE 0 END AS so_far
                  FROM current_readings r
                  JOIN _today_meters m USING (meter_id)
                  -- an equality join on the local day: a hash join, not a range join
                  JOIN _today_days d
                    ON d.day = CAST(timezone('{tz}', r.ts_start) AS DATE)
                   AND r.ts_end <= d.day_end
                  WHERE r.ts_start >= ? AND r.ts_end <= ?
                    -- today stops at now; a past day runs to its end (the whole usual curve)
                    AND (d.k > 0 OR r.ts_end <= d.cutoff))
                SELECT k, group_id, activity, slot, sum(amount) AS amount,
                       sum(so_far) AS so_far,
                       sum(amount * kwh_per_unit) AS energy,
                       sum(so_far * kwh_per_unit) AS energy_so_far,
                       coalesce(sum(amount * f_co2e), 0) AS co2e,
                       coalesce(sum(so_far * f_co2e), 0) AS co2e_so_far,
                       bool_or(f_co2e IS NULL) AS no_factor
                FROM r GROUP BY ALL""",
            [first, days["day_end"].max()],
        ).df()
        last = con.execute(
            """SELECT r.meter_id, max(r.ts_end) AS last_end FROM current_readings r
               JOIN _today_meters m USING (meter_id)
               WHERE r.ts_start >= ? AND r.ts_end <= ? GROUP BY r.meter_id""",
            [first, now],
        ).df()
        today_rows = con.execute(
            """SELECT DISTINCT r.meter_id, r.batch_id FROM current_readings r
               JOIN _today_meters m USING (meter_id)
               WHERE r.ts_start >= ? AND r.ts_end <= ?""",
            [days["day_start"].iloc[0], now],
        ).df()
    finally:
        con.unregister("_today_days")
    newest = None
    if len(last):
        newest = pd.Timestamp(last["last_end"].max()).to_pydatetime()
    raw["k"] = raw["k"].astype("int64")
    raw["slot"] = raw["slot"].astype("int64")
    raw["no_factor"] = raw["no_factor"].astype(bool)
    return raw, newest, last, today_rows


def _groups(twin: Twin) -> dict[str, Any]:
    """The root, its children (the nodes reported) and, for every node, the child it is in."""
    root = twin.root
    children = twin.children(root.id)
    of_node: dict[str, str] = {}
    for child in children:
        of_node[child.id] = child.id
        for n in twin.descendants(child.id):
            of_node[n.id] = child.id
    info = [
        {
            "node_id": n.id,
            "parent_id": n.parent or "",
            "kind": n.kind,
            "name_zh": n.name_zh,
            "name_en": n.name_en,
        }
        for n in (root, *children)
    ]
    return {"root": root.id, "ids": [i["node_id"] for i in info], "info": info, "of_node": of_node}


def _value(
    meters: pd.DataFrame, twin: Twin, factors: FactorSet, day: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame, list[QualityWarning]]:
    """Each meter's factor [kg CO2e / unit] and kWh per unit; the factors used; warnings."""
    from carbon.activities import ACTIVITIES

    region = {n: twin.region_of(n) for n in meters["node_id"].unique()}
    meters = meters.assign(region=meters["node_id"].map(region))
    rows: list[dict[str, Any]] = []
    warnings: list[QualityWarning] = []
    f_co2e: dict[tuple[str, str], float | None] = {}
    for activity, reg in sorted(set(zip(meters["activity"], meters["region"], strict=True))):
        unit = ACTIVITIES[activity].canonical_unit if activity in ACTIVITIES else ""
        if activity in NO_EMISSIONS:
            f_co2e[(activity, reg)] = 0.0
            continue
        try:
            v = value_factor(factors, activity, reg, day, "location")
        except FactorNotFoundError as exc:
            f_co2e[(activity, reg)] = None
            warnings.append(
                QualityWarning(
                    "today.no_factor",
                    f"no factor for {activity} in {reg} on {day} in factor set {factors.name!r}: "
                    "its emissions are left out of today's totals",
                    {"activity": activity, "region": reg, "error": str(exc)},
                )
            )
            continue
        f_co2e[(activity, reg)] = float(v.co2e)
        rows.append(
            {
                "activity": activity,
                "region": reg,
                "factor_id": v.factor_id,
                "co2e_kg_per_unit": float(v.co2e),
                "unit": unit,
            }
        )
    units = {
        a: ACTIVITIES[a].canonical_unit if a in ACTIVITIES else ""
        for a in meters["activity"].unique()
    }
    out = pd.DataFrame(
        {
            "meter_id": meters["meter_id"],
            "group_id": meters["group_id"],
            "activity": meters["activity"],
            # NULL in SQL where no factor is in force
            "f_co2e": pd.array(
                [f_co2e[p] for p in zip(meters["activity"], meters["region"], strict=True)],
                dtype="Float64",
            ),
            "kwh_per_unit": [
                0.0 if a in NOT_USE else ENERGY_TO_KWH.get(units[a], 0.0)
                for a in meters["activity"]
            ],
        }
    )
    return out, _frame(rows, _FACTOR_COLUMNS), warnings


def _by_group(raw: pd.DataFrame, root: str) -> pd.DataFrame:
    """Every row once for the root and once for its group (the root's other children), with
    the activity's canonical unit."""
    from carbon.activities import ACTIVITIES

    units = {
        a: ACTIVITIES[a].canonical_unit if a in ACTIVITIES else "" for a in set(raw["activity"])
    }
    raw = raw.assign(unit=raw["activity"].map(units))
    grouped = raw[raw["group_id"] != ""]
    return pd.concat(
        [raw.assign(node_id=root), grouped.assign(node_id=grouped["group_id"])], ignore_index=True
    )


def _stats(table: pd.DataFrame, kept: tuple[int, ...], index: pd.Index) -> dict[str, pd.Series]:
    """Today (column 0) and the mean, min and max over the kept days of a table whose columns
    are day numbers k, rows reindexed to ``index`` (absent = 0)."""
    table = table.reindex(index=index, columns=[0, *kept], fill_value=0.0).fillna(0.0)
    if kept:
        usual = table[list(kept)]
        mean, low, high = usual.mean(axis=1), usual.min(axis=1), usual.max(axis=1)
    else:
        mean = low = high = pd.Series(np.nan, index=index)
    return {"today": table[0], "mean": mean, "min": low, "max": high}


def _nodes(
    long: pd.DataFrame,
    kept: tuple[int, ...],
    groups: dict[str, Any],
    meters: pd.DataFrame,
    installed: set[str],
    reporting: set[str],
    silent: pd.DataFrame,
) -> pd.DataFrame:
    index = pd.Index(groups["ids"], name="node_id")
    out = pd.DataFrame(groups["info"]).set_index("node_id")
    silent_ids = set(silent["meter_id"])
    root = groups["root"]
    for name, ids in (("meters", installed), ("reporting", reporting), ("silent", silent_ids)):
        chosen = meters[meters["meter_id"].isin(ids)]
        counts = chosen["group_id"].value_counts()
        out[name] = [len(chosen) if n == root else int(counts.get(n, 0)) for n in index]
    for quantity, column in (("energy", "energy_kwh"), ("co2e", "co2e_kg")):
        table = (
            long.groupby(["node_id", "k"])[f"{quantity}_so_far"].sum().unstack("k")
            if len(long)
            else pd.DataFrame(index=index)
        )
        s = _stats(table, kept, index)
        out[column] = s["today"]
        out[f"usual_{column}"] = s["mean"]
        out[f"usual_min_{column}"] = s["min"]
        out[f"usual_max_{column}"] = s["max"]
    out = _rounded(out)
    usual = out["usual_co2e_kg"]
    out["share_of_usual"] = (out["co2e_kg"] / usual).where(usual > 0)
    return out.reset_index()[list(NODE_COLUMNS)]


def _carriers(long: pd.DataFrame, kept: tuple[int, ...], groups: dict[str, Any]) -> pd.DataFrame:
    if not len(long):
        return _frame([], CARRIER_COLUMNS)
    keys = ["node_id", "activity", "unit"]
    amounts = long.groupby([*keys, "k"])["so_far"].sum().unstack("k")
    # a carrier without a factor keeps NaN kilograms (min_count: a sum of NaN is NaN)
    co2e = long.groupby([*keys, "k"])["co2e_so_far"].sum(min_count=1).unstack("k")
    index = amounts.index
    a, c = _stats(amounts, kept, index), _stats(co2e, kept, index)
    nan = long.groupby(keys)["no_factor"].any().reindex(index)
    out = pd.DataFrame(
        {
            "amount": a["today"],
            "usual_amount": a["mean"],
            "usual_min_amount": a["min"],
            "usual_max_amount": a["max"],
            "co2e_kg": c["today"].mask(nan),
            "usual_co2e_kg": c["mean"].mask(nan),
        },
        index=index,
    ).reset_index()
    order = {n: i for i, n in enumerate(groups["ids"])}
    out = out.sort_values(
        ["node_id", "activity"],
        key=lambda s: s.map(order) if s.name == "node_id" else s,
        kind="stable",
    )
    return _rounded(out.reset_index(drop=True)[list(CARRIER_COLUMNS)])


def _curve(
    long: pd.DataFrame,
    kept: tuple[int, ...],
    groups: dict[str, Any],
    n_slots: int,
    interval: dt.timedelta,
    clock: dt.timedelta,
) -> pd.DataFrame:
    """Cumulative energy and emissions at every interval boundary, today and usual."""
    nodes = groups["ids"]
    days = [0, *kept]
    width = n_slots + 1
    slots = np.arange(width)
    after_now = np.array([s * interval > clock for s in range(width)])
    parts: dict[str, Any] = {
        "node_id": np.repeat(nodes, width),
        "minutes": np.tile(slots * interval.total_seconds() / 60, len(nodes)),
    }
    # one cell per (node, day, slot): the amounts ended in that slot, then summed along the day
    node = pd.Categorical(long["node_id"], categories=nodes).codes
    day = pd.Categorical(long["k"], categories=days).codes
    slot = np.clip(long["slot"].to_numpy(), 0, n_slots)
    for quantity, column in (("energy", "energy_kwh"), ("co2e", "co2e_kg")):
        cells = np.zeros((len(nodes), len(days), width))
        np.add.at(cells, (node, day, slot), np.nan_to_num(long[quantity].to_numpy(float)))
        cumulative = cells.cumsum(axis=2)
        today = cumulative[:, 0, :].copy()
        today[:, after_now] = np.nan
        parts[column] = today.ravel()
        usual = cumulative[:, 1:, :]
        for tag, stat in (("", np.mean), ("min_", np.min), ("max_", np.max)):
            values = stat(usual, axis=1) if kept else np.full((len(nodes), width), np.nan)
            parts[f"usual_{tag}{column}"] = values.ravel()
    return _rounded(pd.DataFrame(parts)[list(CURVE_COLUMNS)])


def _silent(
    meters: pd.DataFrame,
    last: pd.DataFrame,
    as_of: dt.datetime,
    interval: dt.timedelta,
    silent_after: int,
    tz: ZoneInfo,
) -> pd.DataFrame:
    """The installed meters whose newest reading ended more than ``silent_after`` of their
    intervals before ``as_of``."""
    if not len(last):
        return _frame([], {k: v for k, v in SILENT_COLUMNS.items() if not k.startswith("name")})
    seen = last.merge(meters, on="meter_id")
    ends = pd.to_datetime(seen["last_end"], utc=True)
    gap = (pd.Timestamp(as_of).tz_convert("UTC") - ends).dt.total_seconds()
    step = np.maximum(seen["step_s"].to_numpy(), interval.total_seconds())
    silent = gap.to_numpy() > silent_after * step
    out = pd.DataFrame(
        {
            "meter_id": seen["meter_id"],
            "node_id": seen["node_id"],
            "group_id": seen["group_id"],
            "activity": seen["activity"],
            "last_end": pd.Series([e.to_pydatetime().astimezone(tz) for e in ends], dtype=object),
            "intervals_missed": np.floor(gap / step).astype("int64"),
            "silent_minutes": np.floor(gap / 60).astype("int64"),
            "_gap": gap,
        }
    )[silent]
    out = out.sort_values(["_gap", "meter_id"], ascending=[False, True], kind="stable")
    return out.drop(columns="_gap").reset_index(drop=True)


def _synthetic(store: Store, batches: list[str]) -> bool:
    """Whether a batch behind today's readings was written by carbon.synth."""
    if not batches:
        return False
    from carbon.store import sql_list
    from carbon.synth import provenance

    rows = store.con.execute(
        f"SELECT source_path, sha256 FROM batches WHERE list_contains({sql_list(batches)}, "
        "batch_id)"
    ).fetchall()
    return any(provenance(path, sha) for path, sha in rows if path and sha)


# ------------------------------------------------------------------------------ helpers
def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    floats = frame.select_dtypes("float").columns
    if len(floats):
        frame[floats] = frame[floats].round(_ROUND)
    return frame


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(text: str, tz: dt.tzinfo) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return value.astimezone(tz)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values, NaN as None."""
    columns = {
        c: [None if isinstance(v, float) and v != v else v for v in frame[c].tolist()]
        for c in frame.columns
    }
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    """A frame of records with the given columns (in order), None read as NaN in numbers."""
    frame = pd.DataFrame.from_records(rows, columns=list(columns))
    for col in frame.columns:
        if (
            frame[col].dtype == object
            and len(frame)
            and frame[col]
            .map(lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool)))
            .all()
        ):
            frame[col] = (
                pd.to_numeric(frame[col])
                if frame[col].notna().any()
                else frame[col].astype("float64")
            )
    return frame
