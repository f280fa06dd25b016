"""The HTTP face of a collector: the push API, health, and local ingest and void."""

from __future__ import annotations

import hmac
import json
import logging
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from carbon._version import __version__
from carbon.collect.messages import CollectError, MessageError, batch_to_json
from carbon.errors import CarbonError

if TYPE_CHECKING:
    from carbon.collect.collector import Collector

__all__ = ["ROUTES", "start_server"]

log = logging.getLogger("carbon.collect")

ROUTES: dict[str, tuple[str, ...]] = {
    "/v1/readings": ("post",),
    "/v1/health": ("get",),
    "/v1/ingest": ("post",),
    "/v1/void": ("post",),
}
"""The HTTP routes and their methods (``docs/collect.openapi.json`` describes each)."""


def start_server(collector: Collector) -> ThreadingHTTPServer:
    """Bind the collector's HTTP API on its host and port (HTTPS with its ``tls`` pair).

    Raises
    ------
    CollectError
        When the address cannot be bound.
    """

    class Handler(_Handler):
        pass

    Handler.collector = collector
    try:
        server = _Server((collector.host, collector.port), Handler)
    except OSError as exc:
        raise CollectError(f"cannot listen on {collector.host}:{collector.port}: {exc}") from None
    if collector.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(collector.tls[0]), str(collector.tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class _Handler(BaseHTTPRequestHandler):
    """The HTTP face of a :class:`Collector` (routes: :data:`ROUTES`)."""

    collector: Collector
    protocol_version = "HTTP/1.1"
    server_version = f"carbon-collect/{__version__}"
    # The reply's headers and body are two writes: with Nagle's algorithm the body waits for
    # the client's delayed ACK of the headers on a kept-alive connection, 40 ms a reply
    # (benchmarks/RESULTS.md). TCP_NODELAY sends it at once.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, exc: MessageError) -> None:
        headers = {"Retry-After": "1"} if exc.status == 503 else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        self._send(exc.status, {"error": exc.message, "status": exc.status}, headers)

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise MessageError(411, "send a Content-Length")
        size = int(length)
        if size > self.collector.max_body_bytes:
            self.close_connection = True  # the body is not read
            raise MessageError(
                413, f"body of {size} bytes over the limit of {self.collector.max_body_bytes}"
            )
        return self.rfile.read(size)

    def _bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/v1/health":
            self._send(200, self.collector.health())
        else:
            self._send(404, {"error": f"no route GET {self.path}", "status": 404})

    def do_POST(self) -> None:
        route = self.path.split("?")[0]
        try:
            if route == "/v1/readings":
                self._readings()
            elif route in ("/v1/ingest", "/v1/void"):
                self._admin(route)
            else:
                self._body()
                self._send(404, {"error": f"no route POST {self.path}", "status": 404})
        except MessageError as exc:
            self._error(exc)

    def _readings(self) -> None:
        c = self.collector
        gateway = c.authenticate(self._bearer())
        body = self._body()
        future = c.submit(
            gateway,
            self.headers.get("Idempotency-Key"),
            body,
            self.headers.get("Content-Type", "application/json"),
        )
        try:
            reply = future.result(timeout=c.reply_timeout)
        except TimeoutError:
            raise MessageError(
                503, "not committed in time; send it again with the same Idempotency-Key"
            ) from None
        self._send(200, reply.to_json())

    def _admin(self, route: str) -> None:
        c = self.collector
        token = self._bearer() or ""
        if not hmac.compare_digest(token.encode(), c.admin_token.encode()):
            raise MessageError(401, "the local token of STORE.collector.json is needed")
        try:
            args = json.loads(self._body().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MessageError(400, f"the body is not UTF-8 JSON: {exc}") from None
        try:
            if route == "/v1/void":
                future = c.submit_void(str(args["batch_id"]), str(args.get("reason") or ""))
            else:
                future = c.submit_files(
                    args["files"],
                    args.get("mapping"),
                    sheet=args.get("sheet"),
                    supersede=bool(args.get("supersede")),
                    supersedes=args.get("supersedes"),
                    reason=args.get("reason"),
                )
            batches = future.result()
        except KeyError as exc:
            raise MessageError(400, f"missing field {exc}") from None
        except CarbonError as exc:
            self._send(422, {"error": str(exc), "status": 422, "type": type(exc).__name__})
            return
        self._send(200, {"batches": [batch_to_json(b) for b in batches]})
