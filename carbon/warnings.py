"""Structured data-quality warnings.

A problem that does not stop a calculation (a gap, an estimated reading, an old factor, a proxy
factor from another country) becomes a :class:`QualityWarning` with a dotted ``code``, a
human ``message`` and the ``data`` behind it, attached to the result. ``strict=True`` turns
them into :class:`QualityError`. The shape follows eemeter's ``EEMeterWarning``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carbon.errors import CarbonError

__all__ = ["QualityError", "QualityWarning", "raise_if_strict"]


@dataclass(frozen=True)
class QualityWarning:
    """A data-quality problem that does not stop the calculation.

    Attributes
    ----------
    code : dotted identifier, e.g. ``"factor.proxy_region"``.
    message : one sentence for people.
    data : the values behind it (ids, counts, dates).
    """

    code: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class QualityError(CarbonError, ValueError):
    """A data-quality warning raised as an error because ``strict=True`` was asked for."""

    def __init__(self, warnings: list[QualityWarning]) -> None:
        self.warnings = list(warnings)
        super().__init__(self.warnings)

    def __str__(self) -> str:
        lines = "; ".join(str(w) for w in self.warnings)
        return f"{len(self.warnings)} data-quality problem(s) in strict mode: {lines}"


def raise_if_strict(warnings: list[QualityWarning], strict: bool) -> None:
    """Raise :class:`QualityError` when ``strict`` and there is any warning."""
    if strict and warnings:
        raise QualityError(warnings)
