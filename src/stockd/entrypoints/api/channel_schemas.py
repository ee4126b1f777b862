"""HTTP bodies of the sales-channel routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from stockd.domain.channels import MAX_LISTINGS_PER_REQUEST, Channel, Connector, Listing, SyncStatus
from stockd.entrypoints.api.schemas import MAX_QUANTITY, Body, Code, Printable
from stockd.service_layer.channels import ChangeChannel, DefineChannel

Buffer = Annotated[Decimal, Field(ge=0, le=1, max_digits=5, decimal_places=4, allow_inf_nan=False,
                                  description="share of available shown, 0 to 1 (0.9 shows 90%)",
                                  examples=["0.9"])]
Reserve = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY,
                               description="units held back from this channel after the buffer")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255), Printable]
ConfigValue = Annotated[str, StringConstraints(min_length=1, max_length=255), Printable]
ConfigKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
Config = Annotated[dict[ConfigKey, ConfigValue], Field(
    max_length=10, description="non-secret connector settings: shopify location_id; amazon seller_id, "
                               "marketplace_id, product_type. Base URLs and secrets come from configuration")]
Locations = Annotated[list[Code], Field(max_length=200, description="the locations whose stock feeds the channel")]


class ChannelIn(Body):
    name: Code
    connector: Connector
    buffer: Buffer
    min_reserve: Reserve = 0
    locations: Locations = Field(default_factory=list)
    config: Config = Field(default_factory=dict)
    active: bool = True

    def command(self) -> DefineChannel:
        return DefineChannel(self.name, self.connector, self.buffer, self.min_reserve, tuple(self.locations),
                             self.config, self.active)


class ChannelPatch(Body):
    buffer: Buffer | None = None
    min_reserve: Reserve | None = None
    locations: Locations | None = None
    config: Config | None = None
    active: bool | None = None

    def command(self, name: str) -> ChangeChannel:
        locations = tuple(self.locations) if self.locations is not None else None
        return ChangeChannel(name, self.buffer, self.min_reserve, locations, self.config, self.active)


class ChannelOut(BaseModel):
    name: str
    connector: Connector
    buffer: Decimal
    min_reserve: int
    locations: list[str]
    config: dict[str, str]
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Channel) -> ChannelOut:
        return cls(name=c.name, connector=c.connector, buffer=c.buffer, min_reserve=c.min_reserve,
                   locations=list(c.locations), config=dict(c.config), active=c.active, created_at=c.created_at,
                   updated_at=c.updated_at)

    @classmethod
    def render(cls, c: Channel) -> dict[str, Any]:
        return cls.of(c).model_dump(mode="json")


class ListingIn(Body):
    sku: Code
    external_id: ExternalId | None = Field(default=None, description="Shopify InventoryItem gid; Amazon seller "
                                                                     "SKU (default: the SKU); webhook: any id")
    external_location_id: ExternalId | None = Field(default=None, description="Shopify Location gid (default: "
                                                                              "the channel's location_id)")
    product_type: Annotated[str, StringConstraints(min_length=1, max_length=100), Printable] | None = Field(
        default=None, description="Amazon product type (default: the channel's product_type)")

    def listing(self, channel: str) -> Listing:
        return Listing(channel, self.sku, self.external_id, self.external_location_id, self.product_type)


class ListingsIn(Body):
    listings: list[ListingIn] = Field(min_length=1, max_length=MAX_LISTINGS_PER_REQUEST)


class ListingOut(BaseModel):
    sku: str
    external_id: str | None
    external_location_id: str | None
    product_type: str | None

    @classmethod
    def of(cls, ln: Listing) -> ListingOut:
        return cls(sku=ln.sku, external_id=ln.external_id, external_location_id=ln.external_location_id,
                   product_type=ln.product_type)


class ListingsOut(BaseModel):
    items: list[ListingOut]

    @classmethod
    def render(cls, listings: list[Listing]) -> dict[str, Any]:
        return cls(items=[ListingOut.of(ln) for ln in listings]).model_dump(mode="json")


class SyncStatusOut(BaseModel):
    channel: str
    sku: str
    desired: int | None = Field(description="the last quantity computed for the channel")
    last_pushed: int | None = Field(description="what the channel last accepted")
    pushed_at: datetime | None
    attempts: int = Field(description="consecutive failed attempts")
    last_error: str | None
    next_attempt_at: datetime | None
    failing: bool = Field(description="failed at least channel_failure_alert_after times in a row")
    pending: bool = Field(description="a change is not yet pushed")

    @classmethod
    def of(cls, s: SyncStatus) -> SyncStatusOut:
        return cls(**s.__dict__)


class SyncStatusPage(BaseModel):
    items: list[SyncStatusOut]


class ResyncOut(BaseModel):
    channel: str | None
    marked: int = Field(description="listings queued to be recomputed and pushed")
