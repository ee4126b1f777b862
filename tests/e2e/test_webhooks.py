"""Webhooks reach a real HTTP server, signed; a failed attempt is retried with backoff until a 2xx."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from stockd.adapters.webhooks.sender import HttpWebhookSender
from stockd.adapters.webhooks.signing import verify
from stockd.bootstrap import Stockd
from stockd.domain.alerts import AlertDraft, AlertKind, alert_key
from stockd.domain.webhooks import DeliveryStatus
from stockd.entrypoints.workers.notifications import deliver_due
from stockd.service_layer.alerts import raise_alert
from tests.support.clock import FakeClock
from tests.support.pump import pump, subscribe_consumers


class Receiver:
    """A local HTTP server answering the scripted status codes in turn, recording each request."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500, 200])
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


async def test_an_alert_is_delivered_signed_and_retried_after_a_500(
    client: httpx.AsyncClient, services: Stockd, receiver: Receiver, clock: FakeClock
) -> None:
    subscribe_consumers(services)
    r = await client.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["alert.*", "po.created"]})
    assert r.status_code == 201, r.text
    hook = r.json()
    secret = hook["secret"]
    assert secret not in (await client.get("/v1/webhooks")).text, "the secret is shown once"
    draft = AlertDraft(AlertKind.PO_LATE, alert_key(AlertKind.PO_LATE, "PO-9"), "PO-9 is late")
    alert, _ = await services.runner.run(lambda uow: raise_alert(uow, services.env, draft))
    await pump(services)
    sender = HttpWebhookSender(timeout=5)
    try:
        assert await deliver_due(services, sender) == [DeliveryStatus.PENDING]  # the receiver answered 500
        assert await deliver_due(services, sender) == [], "not before its backoff"
        (pending,) = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
        assert (pending["status"], pending["attempts"], pending["response_code"]) == ("pending", 1, 500)
        assert "500" in pending["last_error"]
        clock.advance(seconds=6)
        assert await deliver_due(services, sender) == [DeliveryStatus.DELIVERED]
    finally:
        await sender.close()
    (done,) = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
    assert (done["status"], done["attempts"], done["response_code"]) == ("delivered", 2, 200)
    assert len(receiver.requests) == 2
    for headers, body in receiver.requests:
        verify(body, headers["stockd-signature"], secret)  # raises if forged or altered
        envelope = json.loads(body)
        assert (envelope["type"], envelope["data"]["alert_id"]) == ("alert.raised", alert.id)
        assert headers["stockd-event-id"] == envelope["id"] and headers["stockd-event-type"] == "alert.raised"
    assert (await client.delete(f"/v1/webhooks/{hook['id']}")).status_code == 200
    assert (await client.get(f"/v1/webhooks/{hook['id']}")).status_code == 404


async def test_bad_subscriptions_are_refused(client: httpx.AsyncClient) -> None:
    for body in ({"url": "ftp://x.test/", "event_types": ["#"]}, {"url": "not a url", "event_types": ["#"]},
                 {"url": "http://x.test/", "event_types": []}, {"url": "http://x.test/", "event_types": ["a..b"]},
                 {"url": "http://u:p@x.test/", "event_types": ["#"]}, {"url": "http://x.test/"}):
        r = await client.post("/v1/webhooks", json=body)
        assert r.status_code == 422, (body, r.text)
    assert (await client.get("/v1/webhooks")).json()["items"] == []
