"""Serve the wall screen: the app factory, loopback-by-default binding, basic auth and the
guards of an exposed server.

``carbon wall [SNAPSHOTS] --host 127.0.0.1 --port 8050`` is a thin call of :func:`serve`.
The server binds to loopback unless told otherwise; bound to any other address it refuses to
start unless authentication is configured (``auth=(user, password)`` or the environment
variables ``CARBON_WALL_USER`` and ``CARBON_WALL_PASSWORD``). It never runs in debug mode, and
it serves with waitress (a production WSGI server) when that is installed.

Guards (docs/wall.md, "Running it exposed"):

* **Request bodies** are capped at :data:`MAX_BODY_BYTES` (1 MB; a callback posts a few KB):
  waitress answers 413 from the ``Content-Length`` or while a chunked body arrives, before the
  app sees it, and the app checks again (Flask's ``MAX_CONTENT_LENGTH``), so a large POST is
  never read into memory.
* **Malformed callbacks** (not JSON, not the shape Dash posts, an output the app does not
  have) get 400 and one log line, never a 500 with a traceback.
* **Basic auth is throttled** per client address: after :data:`AUTH_FREE_FAILURES` failed
  logins within :data:`AUTH_WINDOW_SECONDS`, each further failure locks the address out for
  twice as long as the last (1 s, 2 s, 4 s ... at most :data:`AUTH_MAX_LOCK_SECONDS`), answered
  429 with ``Retry-After``; every failed login is logged with the address and the user name.
* **No version strings**: the server header is ``carbon-wall``, and the page's script URLs
  carry content hashes, not the versions of Dash, its components or Python.
* **TLS** is a reverse proxy's job (waitress speaks plain HTTP): docs/wall.md shows nginx and
  Caddy in front of a wall bound to 127.0.0.1 (``trusted_proxy`` lets the throttle see the
  client's address).
* ``/_wall/health`` answers a tiny JSON (the boot id, the snapshot shown, its problem kind)
  that the page's heartbeat (``assets/heartbeat.js``) asks every few seconds.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dash import Dash
from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from carbon.dashboard.app import build_app
from carbon.dashboard.data import SnapshotSource
from carbon.errors import CarbonError

__all__ = ["WallConfigError", "auth_from_env", "create_app", "is_loopback", "serve"]

log = logging.getLogger(__name__)

ENV_USER = "CARBON_WALL_USER"
ENV_PASSWORD = "CARBON_WALL_PASSWORD"

MAX_BODY_BYTES = 1_000_000
"""Largest request body accepted [byte]; a Dash callback posts a few kilobytes."""
AUTH_FREE_FAILURES = 5
"""Failed logins from one address allowed within the window before lock-outs start."""
AUTH_WINDOW_SECONDS = 600.0
"""How long failed logins are remembered [s]."""
AUTH_MAX_LOCK_SECONDS = 900.0
"""The longest lock-out [s]."""
HEALTH_PATH = "/_wall/health"
"""The heartbeat endpoint (assets/heartbeat.js)."""
SERVER_IDENT = "carbon-wall"
"""The ``Server`` header (no product version)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
"""Everything from this server only: the page cannot reach a CDN, a tile server or a web font
even by mistake (DESIGN decision 9); Dash's inline renderer bootstrap needs 'unsafe-inline'."""

_CALLBACK_PATH = "/_dash-update-component"
_VERSIONED = re.compile(r"\.v[0-9][0-9a-zA-Z_-]*m([0-9a-fA-F]+)\.")
_FAVICON_VERSION = re.compile(r"(_favicon\.ico)\?v=[0-9A-Za-z._-]+")
_CONFIG_VERSIONS = ("dash_version", "python_version", "dash_version_url", "ddk_version",
                    "plotly_version")


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


class AuthThrottle:
    """Failed basic-auth logins per client address, with exponential lock-outs.

    Parameters
    ----------
    free : failures allowed within ``window`` before lock-outs start.
    window : how long a failure is remembered [s].
    cap : the longest lock-out [s].
    max_clients : addresses remembered (the oldest are forgotten first).
    """

    def __init__(self, free: int = AUTH_FREE_FAILURES, window: float = AUTH_WINDOW_SECONDS,
                 cap: float = AUTH_MAX_LOCK_SECONDS, max_clients: int = 10_000) -> None:
        self.free, self.window, self.cap, self.max_clients = free, window, cap, max_clients
        self._state: OrderedDict[str, tuple[int, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def locked_for(self, address: str, now: float | None = None) -> float:
        """Seconds the address must still wait [s]; 0 when it may try."""
        now = time.monotonic() if now is None else now
        with self._lock:
            state = self._state.get(address)
        return max(0.0, state[2] - now) if state else 0.0

    def failed(self, address: str, now: float | None = None) -> tuple[int, float]:
        """Record a failed login; the number of recent failures and the lock-out it earns
        [s] (0 while within the free ones)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, first, _ = self._state.get(address, (0, now, 0.0))
            if now - first > self.window:
                count, first = 0, now
            count += 1
            over = count - self.free
            lock = min(self.cap, 2.0 ** (over - 1)) if over > 0 else 0.0
            self._state[address] = (count, first, now + lock)
            self._state.move_to_end(address)
            while len(self._state) > self.max_clients:
                self._state.popitem(last=False)
        return count, lock

    def succeeded(self, address: str) -> None:
        """Forget an address's failures after a good login."""
        with self._lock:
            self._state.pop(address, None)


def _user_of(value: str) -> str:
    """The user name of a basic-auth credential, for the log (never the password)."""
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return "<malformed>"
    return text.partition(":")[0][:40]


def _install_security(app: Dash, auth: tuple[str, str] | None, max_body: int) -> None:
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = max_body

    @server.before_request
    def _body_limit() -> Response | None:
        length = request.content_length
        if length is not None and length > max_body:
            log.warning("wall: refused a %d-byte %s %s from %s (limit %d)", length,
                        request.method, request.path, request.remote_addr, max_body)
            return Response("Request body too large.\n", 413, {"Connection": "close"})
        return None

    if auth is not None:
        user, password = auth
        expected = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        throttle = AuthThrottle()
        server.extensions["carbon_wall_throttle"] = throttle

        @server.before_request
        def _basic_auth() -> Response | None:
            address = request.remote_addr or "?"
            wait = throttle.locked_for(address)
            if wait > 0:
                return Response("Too many failed logins; try again later.\n", 429,
                                {"Retry-After": str(int(wait) + 1)})
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "basic" and hmac.compare_digest(value.strip().encode(),
                                                                 expected.encode()):
                throttle.succeeded(address)
                return None
            if header:  # a browser's first request carries no credentials: not a failure
                count, lock = throttle.failed(address)
                log.warning("wall: failed login from %s (user %r; %d in %d s)%s", address,
                            _user_of(value), count, int(throttle.window),
                            f"; locked out for {lock:.0f} s" if lock else "")
            return Response("Authentication required.\n", 401,
                            {"WWW-Authenticate": 'Basic realm="carbon wall", charset="UTF-8"'})

    @server.before_request
    def _callback_shape() -> Response | None:
        if request.method != "POST" or not request.path.endswith(_CALLBACK_PATH):
            return None
        body = request.get_json(silent=True)
        problem = _malformed(body, app)
        if problem:
            log.warning("wall: malformed callback from %s: %s", request.remote_addr, problem)
            return Response(f"Bad callback request: {problem}.\n", 400)
        return None

    @server.errorhandler(Exception)
    def _errors(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        if request.path.endswith(_CALLBACK_PATH):
            log.warning("wall: callback request from %s failed: %s: %s", request.remote_addr,
                        type(exc).__name__, str(exc)[:200])
            return Response("Bad callback request.\n", 400)
        log.error("wall: %s %s failed: %s: %s", request.method, request.path,
                  type(exc).__name__, str(exc)[:200])
        return Response("Internal error.\n", 500)

    @server.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers["Server"] = SERVER_IDENT
        if response.mimetype == "text/html" and not response.direct_passthrough:
            page = response.get_data(as_text=True)
            scrubbed = _FAVICON_VERSION.sub(r"\1", _VERSIONED.sub(r".v0m\1.", page))
            if scrubbed != page:
                response.set_data(scrubbed)
        return response


def _hide_versions(app: Dash) -> None:
    """Blank the versions of Dash, Python and Plotly in the page's ``_dash-config`` (the
    renderer only shows them in its developer tools, which the wall never enables); the
    script URLs' ``v<version>m<hash>`` fingerprints become ``v0m<hash>`` in
    :func:`_install_security`'s page filter (Dash still finds and caches them)."""
    config = app._config

    def quiet() -> dict[str, Any]:
        values = dict(config())
        for key in _CONFIG_VERSIONS:
            if key in values:
                values[key] = ""
        return values

    app._config = quiet  # type: ignore[method-assign]


def _malformed(body: Any, app: Dash) -> str:
    """Why a callback request body is not one Dash posts ("" when it is)."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or not output:
        return "no 'output'"
    if not isinstance(body.get("outputs"), dict | list):
        return "no 'outputs'"
    for key in ("inputs", "state", "changedPropIds"):
        if key in body and not isinstance(body[key], list):
            return f"{key!r} is not a list"
    if "inputs" not in body:
        return "no 'inputs'"
    if output not in app.callback_map:
        return f"unknown output {output[:80]!r}"
    return ""


def _install_health(app: Dash, source: SnapshotSource) -> None:
    boot = secrets.token_hex(8)

    @app.server.route(HEALTH_PATH)
    def _health() -> Response:
        snap = source._current  # the snapshot shown; never loads one here
        response = jsonify({"ok": True, "boot": boot,
                            "snapshot": snap.id if snap is not None else None,
                            "problem": source.problem_kind})
        response.headers["Cache-Control"] = "no-store"
        return response


def create_app(snapshots: str | Path, *, lang: str = "zh", carousel: bool = False,
               carousel_seconds: int = 30, poll_seconds: float = 3.0,
               watch_seconds: float = 2.0, auth: tuple[str, str] | None = None,
               verify: bool = True, max_body_bytes: int = MAX_BODY_BYTES,
               warm_nodes: int = 200) -> Dash:
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
    max_body_bytes : the largest request body accepted [byte]; larger ones get 413.
    warm_nodes : nodes whose views are computed in the background after a snapshot loads
        (root first), so the first clicks do not wait for them; 0 for none.

    Returns
    -------
    dash.Dash
        The app; its snapshot source is ``app.server.extensions["carbon_wall"]``.
    """
    source = SnapshotSource(snapshots, verify=verify, warm_nodes=warm_nodes)
    source.refresh()
    if source.problem:
        log.warning("wall: %s", source.problem)
    app = build_app(source, lang=lang, carousel=carousel, carousel_seconds=carousel_seconds,
                    poll_seconds=poll_seconds)
    app.server.extensions["carbon_wall"] = source
    _install_security(app, auth, max_body_bytes)
    _hide_versions(app)
    _install_health(app, source)
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
          trusted_proxy: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
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
    trusted_proxy : the address of a reverse proxy in front (e.g. ``127.0.0.1`` for nginx on
        the same machine; docs/wall.md): its ``X-Forwarded-For`` then names the client, for
        the auth throttle and the logs.
    max_body_bytes : the largest request body accepted [byte] (waitress and the app).
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
                     auth=auth, max_body_bytes=max_body_bytes, **options)
    log.info("wall screen on http://%s:%s/ (snapshots: %s)", host, port, snapshots)
    try:
        from waitress import serve as waitress_serve
    except ImportError:  # pragma: no cover - waitress is a declared dependency
        log.warning("waitress is not installed; using the Flask server (threaded, no debug)")
        app.run(host=host, port=port, debug=False, threaded=True)
        return
    proxy: dict[str, Any] = {}
    if trusted_proxy:
        proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}}
    waitress_serve(app.server, host=host, port=port, threads=threads, ident=SERVER_IDENT,
                   max_request_body_size=max_body_bytes, **proxy)
