"""Webhook subscriptions and deliveries: every event matching a subscription is POSTed, signed, until a 2xx."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from stockd.domain.errors import NotFoundError, ValidationError
from stockd.domain.webhooks import MAX_PATTERNS, Delivery, DeliveryStatus, RetryPolicy, Subscription, check_pattern
from stockd.service_layer.env import Env
from stockd.service_layer.ports import Actor, DeliveryJob, UnitOfWork, WebhookSender, WebhookSendError

LEASE = timedelta(minutes=2)


class SubscriptionNotFoundError(NotFoundError):
    code = "webhook_not_found"

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"no webhook subscription {subscription_id!r}")


@dataclass(frozen=True)
class NewSubscription:
    subscription: Subscription
    secret: str  # shown once


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ValidationError("the webhook url must be an absolute http(s) URL of at most 2000 characters")
    if parts.username or parts.password:
        raise ValidationError("the webhook url must not carry credentials; the signature authenticates stockd")
    return url


async def create_subscription(
    uow: UnitOfWork, env: Env, actor: Actor, url: str, event_types: Sequence[str], description: str | None = None
) -> NewSubscription:
    """Subscribe a URL to event types (`alert.*`, `po.created`, `#`); the signing secret is returned once."""
    if not event_types or len(event_types) > MAX_PATTERNS:
        raise ValidationError(f"give between 1 and {MAX_PATTERNS} event type patterns")
    patterns = tuple(dict.fromkeys(check_pattern(p) for p in event_types))
    subscription = Subscription(env.new_id(), check_url(url), patterns, True, env.clock.now(), actor.name,
                                description)
    secret = "whsec_" + secrets.token_urlsafe(32)
    await uow.webhooks.add(subscription, secret)
    return NewSubscription(subscription, secret)


async def get_subscription(uow: UnitOfWork, subscription_id: str) -> Subscription:
    found = await uow.webhooks.get(subscription_id)
    if found is None:
        raise SubscriptionNotFoundError(subscription_id)
    return found


async def delete_subscription(uow: UnitOfWork, subscription_id: str) -> Subscription:
    """Stop sending; deliveries not yet made are dropped with it."""
    found = await get_subscription(uow, subscription_id)
    await uow.webhooks.delete(subscription_id)
    return found


async def list_deliveries(
    uow: UnitOfWork, subscription_id: str, status: DeliveryStatus | None, limit: int
) -> list[Delivery]:
    await get_subscription(uow, subscription_id)
    return await uow.webhooks.deliveries(subscription_id, status, limit)


async def enqueue(uow: UnitOfWork, env: Env, subscription_ids: Sequence[str], event: Mapping[str, Any]) -> int:
    """Queue one delivery per subscription wanting the event. Idempotent by (subscription, event id): a redelivered
    event is skipped, and unlike the inbox an older event arriving late is still delivered (receivers want them all)."""
    return await uow.webhooks.enqueue(subscription_ids, dict(event), env.clock.now())


async def claim(uow: UnitOfWork, env: Env, limit: int) -> list[DeliveryJob]:
    now = env.clock.now()
    return await uow.webhooks.claim(now, now + LEASE, limit)


@dataclass(frozen=True)
class Attempt:
    job: DeliveryJob
    response_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


async def attempt(sender: WebhookSender, job: DeliveryJob) -> Attempt:
    """One POST, outside any transaction: the body is the event envelope, signed as sent."""
    body = json.dumps(job.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Stockd-Event-Id": job.event_id, "Stockd-Event-Type": job.event_type,
               "Stockd-Delivery-Id": str(job.delivery_id), "Stockd-Delivery-Attempt": str(job.attempts + 1)}
    try:
        code = await sender.send(job.url, job.secret, body, headers)
    except WebhookSendError as exc:
        return Attempt(job, None, str(exc))
    return Attempt(job, code, None if 200 <= code < 300 else f"receiver answered {code}")


async def record(uow: UnitOfWork, env: Env, policy: RetryPolicy, result: Attempt) -> DeliveryStatus:
    """Delivered; or retried later with exponential backoff; or failed for good after the last attempt."""
    now = env.clock.now()
    attempts = result.job.attempts + 1
    if result.ok:
        status, next_at = DeliveryStatus.DELIVERED, None
    elif attempts >= policy.max_attempts:
        status, next_at = DeliveryStatus.FAILED, None
    else:
        status, next_at = DeliveryStatus.PENDING, now + policy.delay(attempts)
    await uow.webhooks.finish(result.job.delivery_id, status, attempts, next_at, result.response_code,
                              result.error, now)
    return status
