"""Exception hierarchy of carbon-twin.

Every error raised on purpose by the library derives from :class:`CarbonError` and also from the
matching built-in exception, so ``except LookupError`` still catches a missing factor (the pint
model: a dimensionality error is also a ``TypeError``). Errors keep their structured fields and
say what was wrong, show the offending value, and say where to look.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AmbiguousFactorError",
    "CarbonError",
    "DataFileError",
    "FactorFileError",
    "FactorNotFoundError",
    "TwinError",
    "UnitConversionError",
    "UnitFileError",
    "UnknownActivityError",
    "UnknownFactorError",
    "UnknownUnitError",
]


class CarbonError(Exception):
    """Root of every error raised on purpose by carbon-twin."""


class UnknownUnitError(CarbonError, ValueError):
    """A unit string that the carbon unit registry cannot parse."""

    def __init__(self, unit: str, detail: str = "") -> None:
        self.unit = unit
        self.detail = detail
        super().__init__(unit, detail)

    def __str__(self) -> str:
        extra = f" ({self.detail})" if self.detail else ""
        return (
            f"Unknown unit {self.unit!r}{extra}. Units are defined in carbon/units.txt and in "
            "the units file a profile or ledger script names (`units = ...`, docs/factors.md); "
            "see `carbon.units.registry()`."
        )


class UnitConversionError(CarbonError, TypeError):
    """A quantity whose unit cannot be converted to the unit asked for (wrong dimension)."""

    def __init__(self, from_unit: str, to_unit: str, context: str = "") -> None:
        self.from_unit = from_unit
        self.to_unit = to_unit
        self.context = context
        super().__init__(from_unit, to_unit, context)

    def __str__(self) -> str:
        where = f" for {self.context}" if self.context else ""
        return (
            f"Cannot convert {self.from_unit!r} to {self.to_unit!r}{where}: "
            "the dimensions differ."
        )


class UnknownActivityError(CarbonError, KeyError):
    """An activity id that is not in the activity catalogue."""

    def __init__(self, activity: str, known: Sequence[str]) -> None:
        self.activity = activity
        self.known = list(known)
        super().__init__(activity)

    def __str__(self) -> str:
        return (
            f"Unknown activity {self.activity!r}. Known activities: "
            f"{', '.join(sorted(self.known))}. See `carbon.activities.ACTIVITIES`."
        )


class DataFileError(CarbonError, ValueError):
    """A data file (factor set, profile, twin) that fails validation.

    Parameters
    ----------
    path : path of the offending file.
    entry : id of the offending entry (factor id, node id, ...), if any.
    field : name of the offending field, if any.
    message : what is wrong, with the offending value.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.entry = entry
        self.field = field
        self.message = message
        super().__init__(str(path), message, entry, field)

    def __str__(self) -> str:
        where = str(self.path)
        if self.entry is not None:
            where += f", entry {self.entry!r}"
        if self.field is not None:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class FactorFileError(DataFileError):
    """An emission-factor file or profile that fails validation."""


class TwinError(DataFileError):
    """A digital-twin file (site tree, meters, assets, geometry) that fails validation."""


class UnitFileError(DataFileError):
    """A user unit-definition file that cannot be loaded (a bad line, a redefined unit)."""


class FactorNotFoundError(CarbonError, LookupError):
    """No emission factor matches an (activity, region, date) request."""

    def __init__(
        self,
        activity: str,
        region: str,
        on: object,
        factor_set: str,
        tried: Sequence[str],
        candidates: Sequence[str],
    ) -> None:
        self.activity = activity
        self.region = region
        self.on = on
        self.factor_set = factor_set
        self.tried = list(tried)
        self.candidates = list(candidates)
        super().__init__(activity, region, on)

    def __str__(self) -> str:
        msg = (
            f"No emission factor for {self.activity} in {self.region!r} on {self.on}; "
            f"factor set {self.factor_set!r} tried regions {' -> '.join(self.tried)}."
        )
        if self.candidates:
            msg += " Candidates for this activity: " + "; ".join(self.candidates) + "."
        else:
            msg += " The set has no factor for this activity at all."
        return msg + " See `carbon factors list`."


class AmbiguousFactorError(CarbonError, LookupError):
    """Several emission factors match one (activity, region, date) request."""

    def __init__(
        self, activity: str, region: str, on: object, factor_set: str, matches: Sequence[str]
    ) -> None:
        self.activity = activity
        self.region = region
        self.on = on
        self.factor_set = factor_set
        self.matches = list(matches)
        super().__init__(activity, region, on)

    def __str__(self) -> str:
        return (
            f"{len(self.matches)} emission factors match {self.activity} in {self.region!r} "
            f"on {self.on} in factor set {self.factor_set!r}: {'; '.join(self.matches)}. "
            "Pick one with a profile (`carbon.load_factor_set(profile)`) or pass method=/series=."
        )


class UnknownFactorError(CarbonError, KeyError):
    """A factor id that is not in the factor set."""

    def __init__(self, factor_id: str, factor_set: str, close: Sequence[str]) -> None:
        self.factor_id = factor_id
        self.factor_set = factor_set
        self.close = list(close)
        super().__init__(factor_id)

    def __str__(self) -> str:
        hint = f" Close ids: {', '.join(self.close)}." if self.close else ""
        return (
            f"No factor with id {self.factor_id!r} in factor set {self.factor_set!r}.{hint} "
            "See `carbon factors list`."
        )
