"""Time zones as integer offsets: the UTC offsets of a zone over a span of instants.

Pure Python (``zoneinfo``), no database: the ledger and ingestion turn these offsets into
integer arithmetic in SQL (:func:`carbon.engines.local_time_sql`,
:func:`carbon.engines.period_start_sql`, the ingestion of naive local timestamps), so that no
row goes through a per-row time-zone conversion, which costs more than the aggregation the
ledger runs over the readings (benchmarks/RESULTS.md). Offsets come from the IANA tz
database that ``zoneinfo`` reads (the system's, or the ``tzdata`` package).
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

__all__ = ["EPOCH", "micros", "offset_span", "utc_offsets"]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
"""The instant microsecond counts start from."""


def micros(t: dt.datetime) -> int:
    """An aware instant as microseconds since 1970-01-01 UTC [µs]."""
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def utc_offsets(tz: str, first: dt.datetime, stop: dt.datetime) -> list[tuple[int, int]]:
    """The UTC offsets of zone ``tz`` over the instants ``[first, stop)``.

    Parameters
    ----------
    tz : IANA time zone, e.g. ``Asia/Shanghai``.
    first, stop : timezone-aware instants bounding the span.

    Returns
    -------
    list of (since, offset)
        ``since`` the first instant an offset holds [µs since 1970-01-01 UTC], ``offset`` the
        zone's UTC offset from then on [µs]; the first pair starts at ``first``. Asia/Shanghai
        has one offset (+08:00) since 1991; a zone with summer time has two changes a year.

    Notes
    -----
    Changes are found by stepping one day at a time and bisecting each day in which the offset
    differs, to the second (offset changes in the tz database fall on whole seconds). Two
    changes less than a day apart would be seen as one (or, cancelling out, as none); zones
    change their clocks months apart.
    """
    zone = ZoneInfo(tz)

    def offset(t: dt.datetime) -> int:
        delta = t.astimezone(zone).utcoffset()
        assert delta is not None
        return delta // dt.timedelta(microseconds=1)

    out = [(micros(first), offset(first))]
    t = first
    while t < stop:
        nxt = min(t + dt.timedelta(days=1), stop)
        if offset(nxt) != out[-1][1]:
            lo, hi = t, nxt  # offset(lo) == current, offset(hi) differs
            while hi - lo > dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if mid <= lo:
                    break
                if offset(mid) == out[-1][1]:
                    lo = mid
                else:
                    hi = mid
            if hi < stop:
                out.append((micros(hi), offset(hi)))
        t = nxt
    return out


@functools.lru_cache(maxsize=64)
def offset_span(tz: str, year: int) -> tuple[int, int, int]:
    """The span around 1 July of ``year`` in which zone ``tz`` keeps one UTC offset.

    Returns
    -------
    (since, until, offset)
        Instants [µs since 1970-01-01 UTC] and the offset [µs], searched 10 years back and 10
        forward: Asia/Shanghai gives the 20 years around ``year`` at +08:00 (its last summer
        time ended in 1991); a zone with summer time gives the current half year.
    """
    middle = dt.datetime(year, 7, 1, tzinfo=dt.UTC)
    first = dt.datetime(year - 10, 1, 1, tzinfo=dt.UTC)
    stop = dt.datetime(year + 10, 1, 1, tzinfo=dt.UTC)
    pieces = utc_offsets(tz, first, stop)
    ends = [since for since, _ in pieces[1:]] + [micros(stop)]
    at = micros(middle)
    for (since, offset), until in zip(pieces, ends, strict=True):
        if since <= at < until:
            return since, until, offset
    raise AssertionError("unreachable: the pieces cover the span")  # pragma: no cover
