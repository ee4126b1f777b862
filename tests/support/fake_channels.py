"""Local HTTP servers that imitate Shopify, Amazon SP-API and a webhook receiver (the channels we cannot reach).

Each is a real server on a free port (stdlib http.server in a thread) that checks the exact request shape, the
auth header or signature, and records every value it accepted with the time it arrived. A request that breaks
the shape is refused with 400 and listed in `problems`, which a test asserts is empty.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from stockd.adapters.webhooks.signing import HEADER, SignatureError, verify


@dataclass(frozen=True)
class Receipt:
    sku: str
    quantity: int
    at: float  # time.monotonic() when the server received it


class FakeChannel:
    """The shared part: a threaded server, switchable down, recording receipts and shape problems."""

    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.problems: list[str] = []
        self.requests = 0
        self.down = False
        self.throttle_next = 0  # answer this many requests with 429 first
        self.delay = 0.0  # seconds to sit on each request (a slow channel)
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._serve(self)

            def do_PATCH(self) -> None:
                fake._serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeChannel:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def values(self, sku: str) -> list[int]:
        with self.lock:
            return [r.quantity for r in self.receipts if r.sku == sku]

    def latest(self, sku: str) -> int | None:
        found = self.values(sku)
        return found[-1] if found else None

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        with self.lock:
            self.requests += 1
            throttled = self.throttle_next > 0
            self.throttle_next -= 1 if throttled else 0
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            return self._reply(h, 503, {"errors": [{"message": "service unavailable"}]})
        if throttled:
            return self._reply(h, 429, {"errors": [{"message": "throttled"}]}, {"Retry-After": "0"})
        try:
            status, answer = self.handle(h, body)
        except ShapeError as exc:
            with self.lock:
                self.problems.append(str(exc))
            status, answer = 400, {"errors": [{"message": str(exc)}]}
        self._reply(h, status, answer)

    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def record(self, sku: str, quantity: int) -> None:
        with self.lock:
            self.receipts.append(Receipt(sku, quantity, time.monotonic()))

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, answer: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(answer).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)


class ShapeError(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


SHOPIFY_VERSION = "2026-04"
QUANTITY_FIELDS = {"inventoryItemId", "locationId", "quantity", "changeFromQuantity"}


class FakeShopify(FakeChannel):
    """The Admin GraphQL endpoint: inventorySetQuantities with compare-and-swap and idempotency keys."""

    def __init__(self, token: str, items: dict[str, str]) -> None:
        super().__init__()
        self.token = token
        self.sku_of = {gid: sku for sku, gid in items.items()}  # InventoryItem gid -> our SKU
        self.levels: dict[tuple[str, str], int] = {}  # (item gid, location gid) -> available
        self.keys: dict[str, str] = {}  # idempotency key -> the parameters it was first used with
        self.stale_answers = 0
        self.reads = 0

    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        expect(h.command == "POST", f"method {h.command}")
        expect(h.path == f"/admin/api/{SHOPIFY_VERSION}/graphql.json", f"path {h.path}")
        expect(h.headers.get("X-Shopify-Access-Token") == self.token, "missing or wrong X-Shopify-Access-Token")
        expect(h.headers.get("Content-Type", "").startswith("application/json"), "content type")
        request = json.loads(body)
        expect(set(request) == {"query", "variables"}, f"top-level keys {sorted(request)}")
        query, variables = request["query"], request["variables"]
        if query.lstrip().startswith("query"):
            return 200, self._read(query, variables)
        return 200, self._set(query, variables)

    def _set(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        expect(re.search(r"inventorySetQuantities\(input: \$input\)\s*@idempotent\(key: \$idempotencyKey\)",
                         query) is not None, "mutation must call inventorySetQuantities with @idempotent(key:)")
        expect("userErrors" in query and "code" in query, "must ask for userErrors { code }")
        key = variables.get("idempotencyKey")
        expect(isinstance(key, str) and 0 < len(key) <= 255, "idempotencyKey")
        data = variables["input"]
        expect(data.get("name") == "available", "name must be available")
        expect(data.get("reason") == "correction", "reason")
        expect(str(data.get("referenceDocumentUri", "")).startswith("gid://"), "referenceDocumentUri")
        quantities = data.get("quantities")
        expect(isinstance(quantities, list) and 0 < len(quantities) <= 250, "1 to 250 quantities")
        for q in quantities:
            expect(set(q) == QUANTITY_FIELDS, f"quantity fields {sorted(q)} (changeFromQuantity is mandatory)")
            expect(q["inventoryItemId"].startswith("gid://shopify/InventoryItem/"), "inventoryItemId gid")
            expect(q["locationId"].startswith("gid://shopify/Location/"), "locationId gid")
            expect(isinstance(q["quantity"], int) and q["quantity"] >= 0, "quantity")
        params = json.dumps(data, sort_keys=True)
        with self.lock:
            if key in self.keys:
                if self.keys[key] != params:
                    return _user_errors([{"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "field": None,
                                          "message": "key reused"}])
                return {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"id": "gid://x"},
                                                            "userErrors": []}}}
            stale = [
                {"code": "CHANGE_FROM_QUANTITY_STALE", "field": ["input", "quantities", str(i), "changeFromQuantity"],
                 "message": "The specified compare quantity does not match the current quantity."}
                for i, q in enumerate(quantities)
                if q["changeFromQuantity"] is not None
                and q["changeFromQuantity"] != self.levels.get((q["inventoryItemId"], q["locationId"]), 0)
            ]
            if stale:
                self.stale_answers += 1
                return _user_errors(stale)
            self.keys[key] = params
            for q in quantities:
                self.levels[(q["inventoryItemId"], q["locationId"])] = q["quantity"]
        for q in quantities:
            self.record(self.sku_of.get(q["inventoryItemId"], q["inventoryItemId"]), q["quantity"])
        return {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"id": f"gid://shopify/"
                         f"InventoryAdjustmentGroup/{uuid.uuid4().int % 10**9}"}, "userErrors": []}}}

    def _read(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        expect("inventoryItem(id: $inventoryItemId)" in query and "inventoryLevel(locationId: $locationId)" in query,
               "read query shape")
        self.reads += 1
        with self.lock:
            level = self.levels.get((variables["inventoryItemId"], variables["locationId"]), 0)
        return {"data": {"inventoryItem": {"inventoryLevel": {"quantities": [{"name": "available",
                                                                              "quantity": level}]}}}}


def _user_errors(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": errors}}}


class FakeAmazon(FakeChannel):
    """SP-API Listings Items patchListingsItem on fulfillment_availability."""

    def __init__(self, token: str, seller_id: str, marketplace_id: str, product_type: str) -> None:
        super().__init__()
        self.token = token
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.product_type = product_type
        self.stamps: list[float] = []

    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        expect(h.command == "PATCH", f"method {h.command}")
        parts = urlsplit(h.path)
        prefix = f"/listings/2021-08-01/items/{self.seller_id}/"
        expect(parts.path.startswith(prefix), f"path {parts.path}")
        sku = unquote(parts.path[len(prefix):])
        expect(parse_qs(parts.query) == {"marketplaceIds": [self.marketplace_id]}, f"query {parts.query}")
        expect(h.headers.get("x-amz-access-token") == self.token, "missing or wrong x-amz-access-token")
        patch = json.loads(body)
        expect(set(patch) == {"productType", "patches"} and patch["productType"] == self.product_type,
               f"body keys {sorted(patch)} / productType")
        expect(len(patch["patches"]) == 1, "one patch")
        op = patch["patches"][0]
        expect(op.get("op") == "replace" and op.get("path") == "/attributes/fulfillment_availability", f"op {op}")
        (value,) = op["value"]
        expect(set(value) == {"fulfillment_channel_code", "quantity"}, f"value {value}")
        expect(value["fulfillment_channel_code"] == "DEFAULT", "fulfillment_channel_code")
        expect(isinstance(value["quantity"], int) and value["quantity"] >= 0, "quantity")
        with self.lock:
            self.stamps.append(time.monotonic())
        self.record(sku, value["quantity"])
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": uuid.uuid4().hex, "issues": []}


class FakeWebhook(FakeChannel):
    """A receiver that checks stockd's HMAC signature and dedupes on event_id, as we tell receivers to."""

    FIELDS = {"channel", "sku", "external_id", "quantity", "previous", "event_id", "time"}

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.seen: set[str] = set()
        self.duplicates = 0

    def handle(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, Any]]:
        expect(h.command == "POST" and h.path == "/hook", f"{h.command} {h.path}")
        try:
            verify(body, h.headers.get(HEADER, ""), self.secret)
        except SignatureError as exc:
            raise ShapeError(f"signature: {exc}") from exc
        event = json.loads(body)
        expect(set(event) == self.FIELDS, f"fields {sorted(event)}")
        expect(h.headers.get("Idempotency-Key") == event["event_id"], "Idempotency-Key must be the event_id")
        with self.lock:
            if event["event_id"] in self.seen:
                self.duplicates += 1
                return 200, {"duplicate": True}
            self.seen.add(event["event_id"])
        self.record(event["sku"], event["quantity"])
        return 200, {"ok": True}


def running(*fakes: FakeChannel) -> Iterator[None]:
    for fake in fakes:
        fake.start()
    try:
        yield
    finally:
        for fake in fakes:
            fake.stop()
