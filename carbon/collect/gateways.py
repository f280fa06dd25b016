"""Gateways allowed to push: ids, token hashes and meter scopes, from a TOML file."""

from __future__ import annotations

import fnmatch
import hashlib
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carbon.errors import DataFileError

__all__ = ["Gateway", "GatewayFileError", "load_gateways", "token_sha256"]


class GatewayFileError(DataFileError):
    """A gateways file that fails validation."""


class Gateway(BaseModel):
    """One meter gateway allowed to push.

    Attributes
    ----------
    id : the gateway's id (letters, digits, ``._-``); also its MQTT topic level.
    token_sha256 : SHA-256 of its token [64 hex digits] (:func:`token_sha256`).
    meters : the meters it may write: ids, or ``fnmatch`` patterns such as ``E-FENGXIAN-*``.
    name : a description, for people.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9._\-]{1,64}$")
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    meters: list[str] = Field(min_length=1)
    name: str = ""

    def allows(self, meter_id: str) -> bool:
        """Whether the gateway may write this meter."""
        return any(
            fnmatch.fnmatchcase(meter_id, p) if _is_pattern(p) else meter_id == p
            for p in self.meters
        )


def _is_pattern(text: str) -> bool:
    return any(c in text for c in "*?[")


def token_sha256(token: str) -> str:
    """The SHA-256 of a gateway token as the gateways file records it [hex].

    The same as ``printf %s TOKEN | sha256sum``.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def load_gateways(path: str | Path) -> dict[str, Gateway]:
    """Read a gateways file: ``[[gateway]]`` tables of :class:`Gateway` fields.

    Example::

        [[gateway]]
        id = "gw-fengxian"
        name = "丰贤 AMI concentrator"
        token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        meters = ["E-FENGXIAN-*"]

    Raises
    ------
    GatewayFileError
        For an unreadable file, a missing or wrong field (naming the gateway and the field),
        or two gateways with one id or one token.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GatewayFileError(path, f"cannot read: {exc}") from None
    entries = data.get("gateway")
    if not isinstance(entries, list) or not entries:
        raise GatewayFileError(path, "no [[gateway]] tables")
    gateways: dict[str, Gateway] = {}
    tokens: dict[str, str] = {}
    for i, raw in enumerate(entries):
        entry = str(raw.get("id", f"#{i + 1}")) if isinstance(raw, dict) else f"#{i + 1}"
        try:
            gateway = Gateway.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or None
            raise GatewayFileError(path, first["msg"], entry=entry, field=where) from None
        if gateway.id in gateways:
            raise GatewayFileError(path, "a second gateway with this id", entry=gateway.id)
        if gateway.token_sha256 in tokens:
            raise GatewayFileError(
                path,
                f"the same token as gateway {tokens[gateway.token_sha256]!r}",
                entry=gateway.id,
                field="token_sha256",
            )
        gateways[gateway.id] = gateway
        tokens[gateway.token_sha256] = gateway.id
    return gateways
