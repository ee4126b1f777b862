"""sales channels

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:11:47.356189
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import stockd.adapters.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("connector", sa.String(length=16), nullable=False),
        sa.Column("buffer", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("min_reserve", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("connector IN ('shopify', 'amazon', 'webhook')", name=op.f("ck_channels_connector")),
        sa.CheckConstraint("buffer >= 0 AND buffer <= 1", name=op.f("ck_channels_buffer_share")),
        sa.CheckConstraint("min_reserve >= 0", name=op.f("ck_channels_min_reserve_not_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_channels")),
    )
    op.create_table(
        "channel_listings",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("external_location_id", sa.String(length=255), nullable=True),
        sa.Column("product_type", sa.String(length=100), nullable=True),
        sa.Column("updated_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["channel"], ["channels.name"], name=op.f("fk_channel_listings_channel_channels")),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_channel_listings_sku_products")),
        sa.PrimaryKeyConstraint("channel", "sku", name=op.f("pk_channel_listings")),
    )
    op.create_table(
        "channel_locations",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["channel"], ["channels.name"], name=op.f("fk_channel_locations_channel_channels")),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_channel_locations_location_locations")),
        sa.PrimaryKeyConstraint("channel", "location", name=op.f("pk_channel_locations")),
    )
    with op.batch_alter_table("channel_locations", schema=None) as batch_op:
        batch_op.create_index("ix_channel_locations_location", ["location"], unique=False)

    op.create_table(
        "channel_sync_state",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("synced_generation", sa.BigInteger(), nullable=False),
        sa.Column("forced_generation", sa.BigInteger(), nullable=False),
        sa.Column("desired", sa.BigInteger(), nullable=True),
        sa.Column("last_pushed", sa.BigInteger(), nullable=True),
        sa.Column("pushed_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("lease_until", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel", "sku"],
            ["channel_listings.channel", "channel_listings.sku"],
            name=op.f("fk_channel_sync_state_channel_channel_listings"),
        ),
        sa.PrimaryKeyConstraint("channel", "sku", name=op.f("pk_channel_sync_state")),
    )
    with op.batch_alter_table("channel_sync_state", schema=None) as batch_op:
        batch_op.create_index("ix_channel_sync_state_sku", ["sku"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("channel_sync_state", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_sync_state_sku")

    op.drop_table("channel_sync_state")
    with op.batch_alter_table("channel_locations", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_locations_location")

    op.drop_table("channel_locations")
    op.drop_table("channel_listings")
    op.drop_table("channels")
