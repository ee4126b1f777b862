"""Device input, as it arrives over HTTP or the broker: each event judged on its own."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from stockd.domain.devices import DeviceEvent
from stockd.entrypoints.api.schemas import DeviceEventIn
from stockd.service_layer.devices import Malformed


def parse(raw: Any) -> DeviceEvent | Malformed:
    """Judge one event on its own, so one bad event in a batch does not sink the rest."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    event_id = event_id if isinstance(event_id, str) and 0 < len(event_id) <= 128 and event_id.isprintable() else None
    try:
        return DeviceEventIn.model_validate(raw).domain()
    except PydanticValidationError as exc:
        reason = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors())
    except ValueError as exc:
        reason = str(exc)
    return Malformed(event_id, _printable(reason)[:300], _keepable(raw))


def _printable(text: str) -> str:
    """Reasons echo field names the device sent; control characters (NUL above all) stay out of the database."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _keepable(raw: Any) -> dict[str, Any] | None:
    """The raw event is kept for the audit trail when it is small and clean."""
    if not isinstance(raw, dict):
        return None
    text = json.dumps(raw)
    return raw if len(text) < 2000 and "\\u0000" not in text else None
