"""Helpers of the collector's tests (tests/test_collect*.py) and benchmark."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

TOKENS = {"gw1": "token-of-gw1", "gw2": "token-of-gw2"}
"""The test gateways' tokens (the gateways file holds their SHA-256)."""


def write_meter_twin(folder: Path, meters: dict[str, tuple[str, str]]) -> Path:
    """Write a twin (subdistrict 'mini' -> block 'b1' -> office 'o') whose office has the
    given electricity meters ``{id: (reading, interval)}``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "site.toml").write_text(
        '[site]\nid = "mini"\nname_zh = "小社区"\nname_en = "Mini"\nregion = "CN-SH"\n'
        'timezone = "Asia/Shanghai"\nroot = "mini"\n',
        encoding="utf-8",
    )
    (folder / "nodes.toml").write_text(
        '[[node]]\nid = "mini"\nkind = "subdistrict"\nname_zh = "小社区"\nname_en = "Mini"\n\n'
        '[[node]]\nid = "b1"\nparent = "mini"\nkind = "block"\nname_zh = "一街区"\n'
        'name_en = "Block 1"\n\n'
        '[[node]]\nid = "o"\nparent = "b1"\nkind = "office_building"\n'
        'use_type = "office"\nname_zh = "大楼"\nname_en = "Office"\n',
        encoding="utf-8",
    )
    (folder / "meters.toml").write_text(
        "".join(
            f'[[meter]]\nid = "{m}"\nnode = "o"\nmeasure = "electricity"\nunit = "kWh"\n'
            f'reading = "{reading}"\ninterval = "{interval}"\n\n'
            for m, (reading, interval) in meters.items()
        ),
        encoding="utf-8",
    )
    return folder


def write_gateways(path: Path, scopes: dict[str, list[str]]) -> Path:
    """Write a gateways file for the gateways of :data:`TOKENS` with these meter scopes."""
    from carbon.collect import token_sha256

    path.write_text(
        "".join(
            f'[[gateway]]\nid = "{g}"\ntoken_sha256 = "{token_sha256(TOKENS[g])}"\n'
            f"meters = {json.dumps(meters)}\n\n"
            for g, meters in scopes.items()
        ),
        encoding="utf-8",
    )
    return path


def push(
    url: str,
    token: str | None,
    key: str | None,
    body: bytes | str | dict[str, Any],
    content_type: str = "application/json",
    *,
    timeout: float = 30.0,
) -> tuple[int, dict[str, Any]]:
    """POST a message to a collector's /v1/readings; return the status and the JSON reply."""
    if isinstance(body, dict):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/v1/readings", body=data, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_mosquitto(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start a real Mosquitto broker on a free loopback port (Debian package ``mosquitto``)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", "utf-8"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mosquitto did not start")
