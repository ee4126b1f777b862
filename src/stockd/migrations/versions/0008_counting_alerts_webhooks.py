"""cycle counting, alerts and webhooks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stockd.adapters.db.types import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "abc_classes",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("abc_class", sa.String(1), nullable=False),
        sa.Column("revenue", sa.Numeric(20, 4), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("computed_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("abc_class IN ('A', 'B', 'C')", name=op.f("ck_abc_classes_abc_class")),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_abc_classes_sku_products")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_abc_classes")),
    )
    op.create_table(
        "count_tasks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(120), nullable=False),
        sa.Column("snapshot_on_hand", sa.BigInteger(), nullable=False),
        sa.Column("snapshot_sequence", sa.BigInteger(), nullable=False),
        sa.Column("recount_of", sa.String(36), nullable=True),
        sa.Column("counted", sa.BigInteger(), nullable=True),
        sa.Column("counted_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("counted_by", sa.String(120), nullable=True),
        sa.Column("submitted_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("expected", sa.BigInteger(), nullable=True),
        sa.Column("discrepancy_pct", sa.Numeric(24, 4), nullable=True),
        sa.Column("adjustment", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("resolved_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(120), nullable=True),
        sa.Column("note", sa.String(300), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'matched', 'adjusted', 'investigating', 'accepted', 'rejected', 'recounted')",
            name=op.f("ck_count_tasks_status"),
        ),
        sa.CheckConstraint("counted IS NULL OR counted >= 0", name=op.f("ck_count_tasks_counted_not_negative")),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_count_tasks_sku_products")),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_count_tasks_location_locations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_tasks")),
    )
    op.create_index("ix_count_tasks_sku_location", "count_tasks", ["sku", "location"])
    op.create_index(
        "ix_count_tasks_one_active", "count_tasks", ["sku", "location"], unique=True,
        postgresql_where=sa.text("status IN ('open', 'investigating')"),
        sqlite_where=sa.text("status IN ('open', 'investigating')"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("location", sa.String(64), nullable=True),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("raised_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(120), nullable=True),
        sa.Column("resolved_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(120), nullable=True),
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_alerts_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        "ix_alerts_unresolved_key", "alerts", ["dedupe_key"], unique=True,
        postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"),
    )
    op.create_index("ix_alerts_status_raised_at", "alerts", ["status", "raised_at"])
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["webhook_subscriptions.id"], ondelete="CASCADE",
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_subscription_event", "webhook_deliveries", ["subscription_id", "event_id"],
                    unique=True)
    op.create_index("ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries",
                    ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
    op.drop_table("alerts")
    op.drop_table("count_tasks")
    op.drop_table("abc_classes")
