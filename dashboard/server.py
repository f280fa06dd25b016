"""Serve the wall screen: the app factory, loopback-by-default binding and basic auth.

``carbon wall [SNAPSHOTS] --host 127.0.0.1 --port 8050`` is a thin call of :func:`serve`.
The server binds to loopback unless told otherwise; bound to any other address it refuses to
start unless authentication is configured (``auth=(user, password)`` or the environment
variables ``CARBON_WALL_USER`` and ``CARBON_WALL_PASSWORD``). It never runs in debug mode, and
it serves with waitress (a production WSGI server) when that is installed.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dash import Dash
from flask import Response, request

from carbon.dashboard.app import build_app
from carbon.dashboard.data import SnapshotSource
from carbon.errors import CarbonError

__all__ = ["WallConfigError", "auth_from_env", "create_app", "is_loopback", "serve"]

log = logging.getLogger(__name__)

ENV_USER = "CARBON_WALL_USER"
ENV_PASSWORD = "CARBON_WALL_PASSWORD"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
"""Everything from this server only: the page cannot reach a CDN, a tile server or a web font
even by mistake (DESIGN decision 9); Dash's inline renderer bootstrap needs 'unsafe-inline'."""


class WallConfigError(CarbonError, ValueError):
    """The wall screen cannot start with this configuration (e.g. exposed without auth)."""


def is_loopback(host: str) -> bool:
    """True for an address that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_from_env(env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(user, password)`` from ``CARBON_WALL_USER`` / ``CARBON_WALL_PASSWORD``, or None when
    either is unset or empty."""
    env = os.environ if env is None else env
    user, password = env.get(ENV_USER, ""), env.get(ENV_PASSWORD, "")
    return (user, password) if user and password else None


def _install_security(app: Dash, auth: tuple[str, str] | None) -> None:
    server = app.server

    if auth is not None:
        user, password = auth
        expected = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")

        @server.before_request
        def _basic_auth() -> Response | None:
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "basic" and hmac.compare_digest(value.strip().encode(),
                                                                 expected.encode()):
                return None
            return Response("Authentication required.\n", 401,
                            {"WWW-Authenticate": 'Basic realm="carbon wall", charset="UTF-8"'})

    @server.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def create_app(snapshots: str | Path, *, lang: str = "zh", carousel: bool = False,
               carousel_seconds: int = 30, poll_seconds: float = 3.0,
               watch_seconds: float = 2.0, auth: tuple[str, str] | None = None,
               verify: bool = True) -> Dash:
    """Build the wall-screen Dash app over a snapshots folder (or one snapshot folder).

    Parameters
    ----------
    snapshots : a snapshots folder with ``LATEST`` (followed: a newly published snapshot
        appears without a restart) or one snapshot folder (pinned).
    lang : starting language, ``zh`` (default) or ``en``.
    carousel : start cycling views unattended.
    carousel_seconds : time per carousel view [s].
    poll_seconds : how often each page asks the server for a newer snapshot [s].
    watch_seconds : how often the server re-reads ``LATEST`` [s].
    auth : ``(user, password)`` for HTTP basic authentication, or None.
    verify : check snapshot files against the manifest's SHA-256 before showing them.

    Returns
    -------
    dash.Dash
        The app; its snapshot source is ``app.server.extensions["carbon_wall"]``.
    """
    source = SnapshotSource(snapshots, verify=verify)
    source.refresh()
    if source.problem:
        log.warning("wall: %s", source.problem)
    app = build_app(source, lang=lang, carousel=carousel, carousel_seconds=carousel_seconds,
                    poll_seconds=poll_seconds)
    app.server.extensions["carbon_wall"] = source
    _install_security(app, auth)
    _serve_basic_plotly(app)
    source.watch(watch_seconds)
    return app


PLOTLY_BASIC = Path(__file__).parent / "vendor" / "plotly-basic.min.js"
"""plotly.js basic bundle (bar, scatter and pie traces; v4.1.1, MIT licence, npm package
``plotly.js-basic-dist-min``). Every wall figure uses only those trace types; parsing Dash's full
4.8 MB bundle was most of a cold first render on a 2-core machine."""

_PLOTLY_PATH = "/_dash-component-suites/plotly/package_data/plotly.min.js"


def _serve_basic_plotly(app: Dash) -> None:
    """Answer the renderer's plotly.js request with the basic bundle (after the auth check)."""
    from flask import request, send_file

    @app.server.before_request
    def _basic_plotly() -> Any:
        if request.path.endswith(_PLOTLY_PATH) and PLOTLY_BASIC.exists():
            return send_file(PLOTLY_BASIC, mimetype="application/javascript", max_age=86400)
        return None


def serve(snapshots: str | Path = "demo/snapshots", host: str = "127.0.0.1", port: int = 8050,
          auth: tuple[str, str] | None = None, carousel_seconds: int = 30, *,
          carousel: bool = False, lang: str = "zh", threads: int = 16,
          **options: Any) -> None:
    """Serve the wall screen until interrupted.

    Parameters
    ----------
    snapshots : the snapshots folder (or one snapshot folder); see :func:`create_app`.
    host : address to bind; loopback by default.
    port : TCP port.
    auth : ``(user, password)`` for basic auth; default from ``CARBON_WALL_USER`` /
        ``CARBON_WALL_PASSWORD``. Required when ``host`` is not a loopback address.
    carousel_seconds : time per carousel view [s].
    carousel : start in carousel mode.
    lang : starting language.
    threads : worker threads of the WSGI server.
    **options : passed to :func:`create_app`.

    Raises
    ------
    WallConfigError
        When ``host`` is not loopback and no authentication is configured.
    """
    auth = auth or auth_from_env()
    if not is_loopback(host) and auth is None:
        raise WallConfigError(
            f"Refusing to serve the wall screen on {host!r} without authentication: set "
            f"{ENV_USER} and {ENV_PASSWORD} (or pass auth=(user, password)), or bind to "
            "127.0.0.1.")
    app = create_app(snapshots, lang=lang, carousel=carousel, carousel_seconds=carousel_seconds,
                     auth=auth, **options)
    log.info("wall screen on http://%s:%s/ (snapshots: %s)", host, port, snapshots)
    try:
        from waitress import serve as waitress_serve
    except ImportError:  # pragma: no cover - waitress is a declared dependency
        log.warning("waitress is not installed; using the Flask server (threaded, no debug)")
        app.run(host=host, port=port, debug=False, threaded=True)
        return
    waitress_serve(app.server, host=host, port=port, threads=threads, ident="carbon-wall")
