"""The MQTT subscriber: gateways that publish their messages to a broker."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from carbon.collect.messages import MessageError, Reply

if TYPE_CHECKING:
    from carbon.collect.collector import Collector

__all__ = ["MqttBridge"]

log = logging.getLogger("carbon.collect")


class MqttBridge:
    """Subscribes a collector to ``PREFIX/+/readings`` (QoS 1, persistent session).

    A message is acknowledged (PUBACK, ``manual_ack``) only once it is committed, or refused
    for good (a 4xx); its reply goes to ``PREFIX/GATEWAY/replies``. A message the collector
    could not commit stays unacknowledged, and the broker delivers it again on reconnection.

    Parameters
    ----------
    collector : the collector that commits the messages.
    host, port : the broker.
    prefix : the first topic level.
    """

    def __init__(self, collector: Collector, host: str, port: int, prefix: str) -> None:
        self.collector = collector
        self.host, self.port, self.prefix = host, port, prefix
        self.client: Any = None

    def start(self) -> None:
        """Connect (in the background, reconnecting) and subscribe."""
        import paho.mqtt.client as mqtt

        name = hashlib.sha256(str(self.collector.store_path).encode()).hexdigest()[:12]
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"carbon-collector-{name}",
            clean_session=False,  # the broker keeps unacknowledged messages while we are down
            manual_ack=True,  # PUBACK only once the message is committed
        )
        topic = f"{self.prefix}/+/readings"

        def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            c.subscribe(topic, qos=1)
            log.info("MQTT: connected to %s:%d, subscribed to %s", self.host, self.port, topic)

        client.on_connect = on_connect
        client.on_message = self.on_message
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()
        self.client = client

    def stop(self) -> None:
        """Disconnect."""
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    def is_connected(self) -> bool:
        """Whether the client is connected to the broker."""
        return bool(self.client is not None and self.client.is_connected())

    def on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        """Check and queue one published message; reply and acknowledge once committed."""
        parts = msg.topic.split("/")
        gateway_id = parts[-2] if len(parts) >= 3 else ""
        reply_topic = f"{self.prefix}/{gateway_id}/replies"

        def answer(payload: dict[str, Any]) -> None:
            client.publish(reply_topic, json.dumps(payload, ensure_ascii=False), qos=1)
            client.ack(msg.mid, msg.qos)

        try:
            try:
                data = json.loads(msg.payload.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise MessageError(400, f"the payload is not UTF-8 JSON: {exc}") from None
            if not isinstance(data, dict):
                raise MessageError(400, "the payload is not a JSON object")
            gateway = self.collector.authenticate(data.get("token"))
            if gateway.id != gateway_id:
                raise MessageError(403, f"the token is not gateway {gateway_id}'s")
            key = data.get("idempotency_key")
            future = self.collector.submit(
                gateway, key, msg.payload, "application/json", channel="mqtt"
            )
        except MessageError as exc:
            answer(
                {
                    "status": exc.status,
                    "error": exc.message,
                    "idempotency_key": _safe_key(msg.payload),
                }
            )
            return

        def done(f: Future[Reply]) -> None:
            try:
                answer({"status": 200, **f.result().to_json()})
            except MessageError as exc:
                if exc.status >= 500:
                    return  # not acknowledged: the broker sends it again
                answer({"status": exc.status, "error": exc.message, "idempotency_key": key})

        future.add_done_callback(done)


def _safe_key(payload: bytes) -> str | None:
    with contextlib.suppress(Exception):
        key = json.loads(payload).get("idempotency_key")
        return str(key) if key is not None else None
    return None
