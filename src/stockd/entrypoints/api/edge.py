"""Pure ASGI guard in front of every route: request ids, body size and content type."""

from __future__ import annotations

import re
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stockd.entrypoints.api.errors import problem

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_WITH_BODY = {"POST", "PUT", "PATCH"}


class EdgeGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        refusal = self._refuse(scope["method"], headers, scope["path"])
        if refusal is not None:
            status, code, detail = refusal
            await problem(status, code, detail)(scope, receive, send_with_id)
            return
        await self.app(scope, self._limited(receive), send_with_id)

    def _refuse(self, method: str, headers: dict[str, str], path: str) -> tuple[int, str, str] | None:
        if method not in _WITH_BODY:
            return None
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            return 413, "body_too_large", f"the request body exceeds {self.max_body_bytes} bytes"
        has_body = length not in (None, "0") or "transfer-encoding" in headers
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        # The API takes JSON only; the dashboard's HTML forms (outside /v1) post urlencoded fields.
        form = media == "application/x-www-form-urlencoded" and not path.startswith("/v1/")
        if has_body and media != "application/json" and not media.endswith("+json") and not form:
            return 415, "unsupported_media_type", "send the body as application/json"
        return None

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    # Chunked bodies have no Content-Length to refuse up front; stop reading here.
                    raise HTTPException(413, f"the request body exceeds {self.max_body_bytes} bytes")
            return message

        return wrapped
