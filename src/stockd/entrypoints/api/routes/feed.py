"""GET /v1/feed: stock changes as Server-Sent Events, live."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from stockd.entrypoints.api.deps import Reader
from stockd.entrypoints.api.feed import ChangeFeed, Listener
from stockd.entrypoints.api.schemas import Code

router = APIRouter(tags=["feed"])


@router.get("/feed", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "one SSE message per event"}})
async def feed(request: Request, actor: Reader, sku: Code | None = None, location: Code | None = None
               ) -> StreamingResponse:
    """Every stock change as it happens (`event:` the type, `data:` the event envelope), optionally for one SKU
    and/or location; a location-scoped key sees only its locations."""
    if location is not None:
        actor.check_locations([location])
    hub: ChangeFeed = request.app.state.feed
    listener = Listener(sku, location, actor.locations)
    return StreamingResponse(hub.stream(listener), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
