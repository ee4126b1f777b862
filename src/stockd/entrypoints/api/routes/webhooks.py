"""Webhook subscriptions (signed POSTs of events to a URL) and their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from stockd.domain.webhooks import DeliveryStatus
from stockd.entrypoints.api.counting_schemas import (
    DeliveryListOut,
    DeliveryOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookListOut,
    WebhookOut,
)
from stockd.entrypoints.api.deps import StockdDep, WebhookManager
from stockd.service_layer import webhooks

router = APIRouter(tags=["webhooks"])
SubscriptionId = Path(max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


@router.post("/webhooks", status_code=201, response_model=WebhookCreatedOut)
async def create_webhook(body: WebhookIn, stockd: StockdDep, actor: WebhookManager) -> WebhookCreatedOut:
    """Subscribe a URL to event types. The answer carries the signing secret, shown only this once."""
    created = await stockd.runner.run(lambda uow: webhooks.create_subscription(
        uow, stockd.env, actor, str(body.url), body.event_types, body.description))
    return WebhookCreatedOut(**WebhookOut.of(created.subscription).model_dump(), secret=created.secret)


@router.get("/webhooks", response_model=WebhookListOut)
async def list_webhooks(stockd: StockdDep, actor: WebhookManager) -> WebhookListOut:
    found = await stockd.runner.run(lambda uow: uow.webhooks.list())
    return WebhookListOut(items=[WebhookOut.of(s) for s in found])


@router.get("/webhooks/{subscription_id}", response_model=WebhookOut)
async def get_webhook(stockd: StockdDep, actor: WebhookManager, subscription_id: str = SubscriptionId) -> WebhookOut:
    return WebhookOut.of(await stockd.runner.run(lambda uow: webhooks.get_subscription(uow, subscription_id)))


@router.delete("/webhooks/{subscription_id}", response_model=WebhookOut)
async def delete_webhook(stockd: StockdDep, actor: WebhookManager,
                         subscription_id: str = SubscriptionId) -> WebhookOut:
    return WebhookOut.of(await stockd.runner.run(lambda uow: webhooks.delete_subscription(uow, subscription_id)))


@router.get("/webhooks/{subscription_id}/deliveries", response_model=DeliveryListOut)
async def list_deliveries(stockd: StockdDep, actor: WebhookManager, subscription_id: str = SubscriptionId,
                          status: DeliveryStatus | None = None,
                          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> DeliveryListOut:
    """Newest first: status, attempts, the receiver's last answer or error, the next attempt."""
    found = await stockd.runner.run(lambda uow: webhooks.list_deliveries(uow, subscription_id, status, limit))
    return DeliveryListOut(items=[DeliveryOut.of(d) for d in found])
