"""Dashboard login: an API key exchanged for a session cookie; CSRF checks on every dashboard POST.

- The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it, so no
  cross-site request carries the session), Secure when served over HTTPS, and signed (see
  service_layer/sessions.py). It names the key, never its secret.
- Every POST also needs the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`; htmx
  sends the header from `hx-headers` on <body>) and, when the browser sends one, a same-origin `Origin`.
  The login form has no session yet, so it is protected by the Origin check alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException, Request

from stockd.bootstrap import Stockd
from stockd.domain.security import ApiKey, ForbiddenError, Permission, Role, may
from stockd.entrypoints.api.deps import get_stockd
from stockd.entrypoints.api.limits import retry_after
from stockd.service_layer.ports import Actor
from stockd.service_layer.sessions import Session, SessionSigner

COOKIE = "stockd_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class LoginRequiredError(Exception):
    """No valid session: pages redirect to /login, htmx requests get 401 with HX-Redirect."""


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.sessions
    return signer


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form body, first value of each field (no multipart: the dashboard posts no files)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=20)
    return {k: v[0] for k, v in parsed.items() if v}


def same_origin(request: Request) -> bool:
    """A POST whose browser says it comes from another origin is refused (CSRF, login CSRF)."""
    origin = request.headers.get("origin")
    if origin is None:  # not a browser, or an old one: SameSite and the CSRF token still apply
        return True
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def may_use_dashboard(key: ApiKey) -> bool:
    return may(key.role, Permission.READ)


async def session_actor(request: Request, stockd: Annotated[Stockd, Depends(get_stockd)]) -> Actor:
    """The logged-in key, checked again on every request: a revoked key's sessions end with it."""
    cookie = request.cookies.get(COOKIE)
    session = signer_of(request).verify(cookie) if cookie else None
    if session is None:
        raise LoginRequiredError()
    key = await stockd.authenticator.active(session.key_id)
    if key is None or not may_use_dashboard(key):
        raise LoginRequiredError()
    wait = request.app.state.rate_limiter.acquire(key.id)
    if wait > 0:
        raise HTTPException(429, f"rate limit for key {key.id} exceeded", headers={"Retry-After": retry_after(wait)})
    request.state.session = session
    return Actor(key.id, key.role.value, request.state.request_id, key.locations, key.channel)


def current_session(request: Request) -> Session:
    session: Session = request.state.session
    return session


def session_writer(permission: Permission) -> Callable[..., object]:
    """A dependency for dashboard POSTs: a session, a valid CSRF token, same origin, and the role's permission.

    Use it as `actor: Annotated[Actor, Depends(session_writer(Permission.X))]`."""

    async def check(request: Request, actor: Annotated[Actor, Depends(session_actor)]) -> Actor:
        if not same_origin(request):
            raise HTTPException(403, "cross-origin request refused")
        token = request.headers.get(CSRF_HEADER) or (await form_fields(request)).get(CSRF_FIELD)
        if not signer_of(request).check_csrf(current_session(request), token):
            raise HTTPException(403, "missing or invalid CSRF token")
        if not may(Role(actor.role), permission):
            raise ForbiddenError(f"role {actor.role} may not {permission.value}")
        return actor

    return check


Viewer = Annotated[Actor, Depends(session_actor)]
SessionWriter = Annotated[Actor, Depends(session_writer(Permission.READ))]
