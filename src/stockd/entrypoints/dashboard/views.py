"""The dashboard's pages and htmx partials: server-rendered HTML, live through Server-Sent Events."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from stockd.bootstrap import Stockd
from stockd.entrypoints.api.deps import StockdDep
from stockd.entrypoints.api.feed import ChangeFeed, Listener
from stockd.entrypoints.api.schemas import Code
from stockd.entrypoints.dashboard import auth, health
from stockd.entrypoints.dashboard.panels import PanelRegistry
from stockd.service_layer import insights
from stockd.service_layer import stock as stock_uc
from stockd.service_layer.ports import STOCK_SORT_KEYS, Actor, StockQuery

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(default=True),
    trim_blocks=True, lstrip_blocks=True,
)

Search = Annotated[str | None, Query(max_length=64)]
Sort = Annotated[str, Query(pattern="^(" + "|".join(STOCK_SORT_KEYS) + ")$")]
Direction = Annotated[str, Query(pattern="^(asc|desc)$")]
# The dashboard's live stream: stock changes, freezes and alerts. Panels refresh on the SSE event names below.
LIVE_TYPES = ("stock.", "sku.", "alert.")
ALERT_EVENT = "alert"
FROZEN_EVENT = "frozen"
Hours = Annotated[int, Query()]
SECURITY_HEADERS = {
    # No inline script anywhere: scripts come from /static only. Styles may be inline (uPlot, htmx indicators).
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def row_id(sku: str, location: str) -> str:
    """An HTML id for a stock row: SKU and location codes may hold `.` and `:`, which CSS selectors trip on."""
    return "r" + f"{sku}|{location}".encode().hex()


templates.globals["row_id"] = row_id


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    if session is not None:
        context["csrf_token"] = auth.signer_of(request).csrf_token(session)
    panels: PanelRegistry = request.app.state.panels
    html = templates.get_template(name).render(request=request, panels=list(panels), **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def stock_query(q: str | None, sort: str, direction: str) -> StockQuery:
    return StockQuery(search=(q or "").strip() or None, sort=sort, descending=direction == "desc")


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", error=None)


@router.post("/login")
async def login(request: Request, stockd: StockdDep) -> Response:
    if not auth.same_origin(request):
        raise HTTPException(403, "cross-origin login refused")
    token = (await auth.form_fields(request)).get("api_key", "").strip()
    key = await stockd.authenticator.authenticate(token) if token else None
    if key is None:
        return render(request, "login.html", 401, error="That key is not valid, or it was revoked.")
    if not auth.may_use_dashboard(key):
        return render(request, "login.html", 403, error=f"A {key.role.value} key cannot read the dashboard.")
    signer = auth.signer_of(request)
    cookie, session = signer.issue(key.id)
    response = RedirectResponse("/", status_code=303)
    max_age = int((session.expires_at - stockd.env.clock.now()).total_seconds())
    response.set_cookie(auth.COOKIE, cookie, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request, _: auth.SessionWriter) -> Response:
    auth.signer_of(request).end(auth.current_session(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/")
async def overview(request: Request, stockd: StockdDep, actor: auth.Viewer, q: Search = None, sort: Sort = "sku",
                   dir: Direction = "asc") -> HTMLResponse:
    query = stock_query(q, sort, dir)
    rows = await stockd.runner.run(lambda uow: insights.stock_table(uow, stockd.env, actor, query))
    return render(request, "index.html", actor=actor, rows=rows, query=query, page="stock")


@router.get("/ui/stock")
async def stock_rows(request: Request, stockd: StockdDep, actor: auth.Viewer, q: Search = None, sort: Sort = "sku",
                     dir: Direction = "asc") -> HTMLResponse:
    query = stock_query(q, sort, dir)
    rows = await stockd.runner.run(lambda uow: insights.stock_table(uow, stockd.env, actor, query))
    return render(request, "partials/stock_table.html", actor=actor, rows=rows, query=query)


@router.get("/ui/distribution/{sku}")
async def distribution(request: Request, sku: Code, stockd: StockdDep, actor: auth.Viewer) -> HTMLResponse:
    totals = await stockd.runner.run(lambda uow: stock_uc.stock_of_sku(uow, stockd.env, actor, sku))
    return render(request, "partials/distribution.html", totals=totals)


@router.get("/trends")
async def trends_page(request: Request, stockd: StockdDep, actor: auth.Viewer, sku: Code | None = None,
                      hours: Hours = 24) -> HTMLResponse:
    check_hours(hours)
    skus = await stockd.runner.run(lambda uow: uow.products.list(1000, 0))
    chosen = sku or (skus[0].sku if skus else None)
    return render(request, "trends.html", actor=actor, products=skus, sku=chosen, hours=hours,
                  windows=list(insights.WINDOWS), page="trends")


@router.get("/ui/trend/{sku}")
async def trend_data(sku: Code, stockd: StockdDep, actor: auth.Viewer, hours: Hours = 24) -> JSONResponse:
    """Chart data: x in Unix seconds, as uPlot takes it."""
    check_hours(hours)
    t = await stockd.runner.run(lambda uow: insights.trend(uow, stockd.env, actor, sku, hours))
    return JSONResponse({
        "sku": t.sku, "name": t.name, "hours": t.hours, "truncated": t.truncated,
        "stock": [[p[0].timestamp() for p in t.stock], [p[1] for p in t.stock]],
        "sales": [[p[0].timestamp() for p in t.sales], [p[1] for p in t.sales]],
    }, headers={"Cache-Control": "no-store"})


@router.get("/ui/movers")
async def movers(request: Request, stockd: StockdDep, actor: auth.Viewer, hours: Hours = 24) -> HTMLResponse:
    check_hours(hours)
    ranked = await stockd.runner.run(lambda uow: insights.movers(uow, stockd.env, actor, hours))
    return render(request, "partials/movers.html", movers=ranked, hours=hours)


@router.get("/health")
async def health_page(request: Request, stockd: StockdDep, actor: auth.Viewer) -> HTMLResponse:
    return render(request, "health.html", actor=actor, page="health", **await health.snapshot(request, stockd, actor))


@router.get("/ui/health")
async def health_panel(request: Request, stockd: StockdDep, actor: auth.Viewer) -> HTMLResponse:
    return render(request, "partials/health.html", **await health.snapshot(request, stockd, actor))


@router.get("/ui/panels/{panel_id}")
async def panel(request: Request, panel_id: str, stockd: StockdDep, actor: auth.Viewer) -> HTMLResponse:
    return await render_panel(request, stockd, actor, panel_id)


async def render_panel(request: Request, stockd: Stockd, actor: Actor, panel_id: str) -> HTMLResponse:
    """One operations panel, freshly loaded; a panel's POST action answers with this to redraw it."""
    registry: PanelRegistry = request.app.state.panels
    found = registry.get(panel_id)
    if found is None:
        raise HTTPException(404, f"no panel {panel_id!r}")
    data: Mapping[str, Any] = await found.load(stockd, actor) if found.load else {}
    return render(request, found.template_name, panel=found, actor=actor, **data)


@router.get("/ui/events")
async def events(request: Request, actor: auth.Viewer) -> StreamingResponse:
    """The live feed as HTML fragments: each stock change swaps the five numbers of its row in place
    (htmx out-of-band swaps), for the locations the key may see."""
    hub: ChangeFeed = request.app.state.feed
    stream = hub.stream(Listener(None, None, actor.locations, types=LIVE_TYPES), render_live_event)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def render_live_event(event: Mapping[str, Any]) -> str:
    """Stock changes swap their row's cells (SSE event `stock`); a freeze swaps the row's badge and refreshes the
    frozen panel (`frozen`); an alert raised, acknowledged or resolved refreshes the alerts panel (`alert`)."""
    type_ = str(event.get("type", ""))
    if type_.startswith("alert."):
        return f"event: {ALERT_EVENT}\ndata: {type_}\n\n"
    if type_ in ("sku.frozen", "sku.unfrozen"):
        return render_freeze(event)
    return render_stock_change(event)


def render_freeze(event: Mapping[str, Any]) -> str:
    sku, location, data = event.get("sku"), event.get("location"), event.get("data") or {}
    if not (isinstance(sku, str) and isinstance(location, str)):
        return ": skipped\n\n"
    html = templates.get_template("partials/frozen_flag.html").render(
        sku=sku, location=location, frozen=event.get("type") == "sku.frozen", reason=data.get("reason"), oob=True)
    return "event: stock\ndata: " + " ".join(html.split("\n")) + f"\n\nevent: {FROZEN_EVENT}\ndata: {sku}\n\n"


def render_stock_change(event: Mapping[str, Any]) -> str:
    data, sku, location = event.get("data") or {}, event.get("sku"), event.get("location")
    if not (isinstance(sku, str) and isinstance(location, str) and "available" in data):
        return ": skipped\n\n"
    html = templates.get_template("partials/stock_cells.html").render(sku=sku, location=location, d=data,
                                                                      time=event.get("time"))
    return "event: stock\ndata: " + " ".join(html.split("\n")) + "\n\n"


def check_hours(hours: int) -> None:
    if hours not in insights.WINDOWS:
        raise HTTPException(422, f"hours must be one of {', '.join(map(str, insights.WINDOWS))}")


def whoami(actor: Actor) -> str:
    return f"{actor.name} ({actor.role})"


templates.globals["whoami"] = whoami
