"""Operations panels on the overview page, each loaded (and refreshed) by htmx from /ui/panels/{id}.

Each panel starts as a placeholder here; alerts, counts due, frozen SKUs, purchase orders and channel sync are
wired in operations.py. Wiring one is: write an async loader `(Stockd, Actor) -> Mapping[str,
Any]` that reads through a use case, and register it in `install()` (operations.register does):
`app.state.panels.register(Panel("alerts", "Open alerts", load=load_alerts, template="panels/list.html"))`.
`panels/list.html` renders `items`: mappings with `text`, optional `detail`, and an optional button
(`action`: a URL to POST to, `action_label`); or write `templates/panels/<id>.html` (it gets the loader's
mapping, plus `panel`, `actor` and `csrf_token`). A button posts with htmx (`hx-post`; the CSRF header rides
along from <body>) to a route guarded by `auth.session_writer(Permission.X)`, then the panel reloads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stockd.bootstrap import Stockd
from stockd.service_layer.ports import Actor

Loader = Callable[[Stockd, Actor], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    load: Loader | None = None  # None: a placeholder, not wired yet
    refresh_seconds: int = 5
    sse_event: str | None = None  # also refresh when this live-feed event arrives (e.g. "alert")
    template: str | None = None  # default: panels/<id>.html; "panels/list.html" renders `items` generically

    @property
    def template_name(self) -> str:
        if self.load is None:
            return "panels/placeholder.html"
        return self.template or f"panels/{self.id}.html"


PLACEHOLDERS = (
    Panel("alerts", "Open alerts"),
    Panel("counts_due", "Counts due"),
    Panel("frozen", "Frozen SKUs"),
    Panel("purchase_orders", "Purchase orders in transit and late"),
    Panel("channels", "Channel sync"),
)


class PanelRegistry:
    """The panels of one app, in display order; registering an id again replaces its placeholder in place."""

    def __init__(self, panels: tuple[Panel, ...] = PLACEHOLDERS) -> None:
        self._panels: dict[str, Panel] = {p.id: p for p in panels}

    def register(self, panel: Panel) -> None:
        self._panels[panel.id] = panel

    def get(self, panel_id: str) -> Panel | None:
        return self._panels.get(panel_id)

    def __iter__(self) -> Iterator[Panel]:
        return iter(tuple(self._panels.values()))
