"""The schema, in SQLAlchemy Core. Invariants that matter are CHECK constraints, enforced by the database."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    false,
    text,
)

from stockd.adapters.db.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids autoincrement on PostgreSQL; on SQLite only INTEGER PRIMARY KEY does.
Id = BigInteger().with_variant(Integer(), "sqlite")

products = Table(
    "products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    Column("price", Numeric(14, 4), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("unit_cost >= 0 AND price >= 0", name="money_not_negative"),
)

locations = Table(
    "locations",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('warehouse', 'store', '3pl')", name="kind"),
)

stock = Table(
    "stock",
    metadata,
    Column("sku", String(64), ForeignKey("products.sku"), primary_key=True),
    Column("location", String(64), ForeignKey("locations.code"), primary_key=True),
    Column("on_hand", BigInteger, nullable=False, default=0),
    Column("reserved", BigInteger, nullable=False, default=0),
    Column("committed", BigInteger, nullable=False, default=0),
    Column("in_transit", BigInteger, nullable=False, default=0),
    Column("sequence", BigInteger, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
    # Set while a count discrepancy is investigated: reservations refuse the row, channels show 0.
    Column("frozen", Boolean, nullable=False, default=False, server_default=false()),
    Column("frozen_reason", String(300)),
    CheckConstraint(
        "on_hand >= 0 AND reserved >= 0 AND committed >= 0 AND in_transit >= 0", name="buckets_not_negative"
    ),
    CheckConstraint("reserved + committed <= on_hand", name="never_oversold"),
    Index("ix_stock_location", "location"),
)

movements = Table(
    "movements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("sku", String(64), nullable=False),
    Column("location", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("d_on_hand", BigInteger, nullable=False),
    Column("d_reserved", BigInteger, nullable=False),
    Column("d_committed", BigInteger, nullable=False),
    Column("d_in_transit", BigInteger, nullable=False),
    Column("on_hand", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("committed", BigInteger, nullable=False),
    Column("in_transit", BigInteger, nullable=False),
    Column("reason", String(64)),
    Column("reference", String(200)),
    Column("actor", String(120), nullable=False),
    Column("role", String(32), nullable=False),
    Column("request_id", String(64)),
    Column("occurred_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["sku", "location"], ["stock.sku", "stock.location"]),
    Index("ix_movements_sku_location_sequence", "sku", "location", "sequence", unique=True),
    Index("ix_movements_occurred_at", "occurred_at"),
    Index("ix_movements_reference", "reference"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("sku", String(64)),
    Column("location", String(64)),
    Column("sequence", BigInteger),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_outbox_unpublished", "published_at", "id"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(128), unique=True),
    Column("channel", String(64)),
    Column("status", String(16), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    CheckConstraint(
        "status IN ('active', 'committed', 'shipped', 'released', 'expired')", name="status"
    ),
    Index("ix_reservations_status_expires_at", "status", "expires_at"),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column("reservation_id", String(36), ForeignKey("reservations.id"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_reservation_lines_sku", "sku"),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("source", String(64), ForeignKey("locations.code"), nullable=False),
    Column("destination", String(64), ForeignKey("locations.code"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime),
    CheckConstraint("source <> destination", name="two_locations"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(160), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("role", String(16), nullable=False),
    Column("locations", JSON),
    Column("channel", String(64)),
    Column("digest", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("revoked_at", UtcDateTime),
    CheckConstraint("role IN ('admin', 'manager', 'operator', 'device', 'channel', 'viewer')", name="role"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("role", String(32), nullable=False),
    Column("request_id", String(64)),
    Column("action", String(64), nullable=False),
    Column("target", String(200)),
    Column("sku", String(64)),
    Column("location", String(64)),
    Column("details", JSON),
    Index("ix_audit_log_occurred_at", "occurred_at"),
    Index("ix_audit_log_actor", "actor"),
)

# Columns of the stock row that the ledger sums must reproduce (invariant 7).
BUCKETS = ("on_hand", "reserved", "committed", "in_transit")

# Idempotent consumers (invariant 5): one row per event a consumer has applied, written in the same
# transaction as the consumer's own writes, so a redelivered event finds its row and is dropped.
inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_inbox_received_at", "received_at"),
)

# The last sequence each consumer applied per (sku, location): an older event arriving late is stale.
consumer_positions = Table(
    "consumer_positions",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("sequence", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Every device event received, applied or not, with its outcome: the dedupe key and the audit of devices.
device_events = Table(
    "device_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(128), unique=True),  # null only for an event too malformed to carry one
    Column("source", String(120), nullable=False),
    Column("kind", String(24)),
    Column("sku", String(64)),
    Column("location", String(64)),
    Column("to_location", String(64)),
    Column("quantity", BigInteger),
    Column("occurred_at", UtcDateTime),
    Column("received_at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(300)),
    Column("raw", JSON),
    Index("ix_device_events_sku_location", "sku", "location"),
)

# The device timestamp of the last absolute count applied per row: older counts are stale.
device_counts = Table(
    "device_counts",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("counted_at", UtcDateTime, nullable=False),
)

# Sales channels (Shopify, Amazon, webhooks): their buffers, the locations that feed them, the SKU mappings,
# and per (channel, sku) the push state, in the database so a restart resumes where it stopped.
channels = Table(
    "channels",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("connector", String(16), nullable=False),
    Column("buffer", Numeric(5, 4), nullable=False),
    Column("min_reserve", BigInteger, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    Column("config", JSON, nullable=False),  # non-secret connector settings; secrets live in configuration
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("connector IN ('shopify', 'amazon', 'webhook')", name="connector"),
    CheckConstraint("buffer >= 0 AND buffer <= 1", name="buffer_share"),
    CheckConstraint("min_reserve >= 0", name="min_reserve_not_negative"),
)

channel_locations = Table(
    "channel_locations",
    metadata,
    Column("channel", String(64), ForeignKey("channels.name"), primary_key=True),
    Column("location", String(64), ForeignKey("locations.code"), primary_key=True),
    Index("ix_channel_locations_location", "location"),
)

channel_listings = Table(
    "channel_listings",
    metadata,
    Column("channel", String(64), ForeignKey("channels.name"), primary_key=True),
    Column("sku", String(64), ForeignKey("products.sku"), primary_key=True),
    Column("external_id", String(255)),
    Column("external_location_id", String(255)),
    Column("product_type", String(100)),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A row is dirty while generation > synced_generation: every stock change of the SKU at a feeding location bumps
# generation; a successful push (or finding the value unchanged) records the generation it computed from. A resync
# is a generation too (forced_generation), so a push recorded late cannot cancel a resync asked for meanwhile.
channel_sync_state = Table(
    "channel_sync_state",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("generation", BigInteger, nullable=False, default=0),
    Column("synced_generation", BigInteger, nullable=False, default=0),
    Column("forced_generation", BigInteger, nullable=False, default=0),  # resync: push even if unchanged
    Column("desired", BigInteger),
    Column("last_pushed", BigInteger),
    Column("pushed_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(500)),
    Column("next_attempt_at", UtcDateTime),
    Column("failing", Boolean, nullable=False, default=False),
    Column("lease_until", UtcDateTime),
    ForeignKeyConstraint(["channel", "sku"], ["channel_listings.channel", "channel_listings.sku"]),
    Index("ix_channel_sync_state_sku", "sku"),
)

# ABC class per SKU, from its revenue over a window (cycle counting): recomputed whole, on demand or on schedule.
abc_classes = Table(
    "abc_classes",
    metadata,
    Column("sku", String(64), ForeignKey("products.sku"), primary_key=True),
    Column("abc_class", String(1), nullable=False),
    Column("revenue", Numeric(20, 4), nullable=False),
    Column("window_days", Integer, nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
    CheckConstraint("abc_class IN ('A', 'B', 'C')", name="abc_class"),
)

# Cycle count tasks. At most one active (open or investigating) task per stock row.
count_tasks = Table(
    "count_tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sku", String(64), ForeignKey("products.sku"), nullable=False),
    Column("location", String(64), ForeignKey("locations.code"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("opened_by", String(120), nullable=False),
    Column("snapshot_on_hand", BigInteger, nullable=False),
    Column("snapshot_sequence", BigInteger, nullable=False),
    Column("recount_of", String(36)),
    Column("counted", BigInteger),
    Column("counted_at", UtcDateTime),
    Column("counted_by", String(120)),
    Column("submitted_at", UtcDateTime),
    Column("expected", BigInteger),
    Column("discrepancy_pct", Numeric(24, 4)),
    Column("adjustment", BigInteger),
    Column("outcome", String(16)),
    Column("resolution", String(16)),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(120)),
    Column("note", String(300)),
    CheckConstraint(
        "status IN ('open', 'matched', 'adjusted', 'investigating', 'accepted', 'rejected', 'recounted')",
        name="status",
    ),
    CheckConstraint("counted IS NULL OR counted >= 0", name="counted_not_negative"),
    Index("ix_count_tasks_sku_location", "sku", "location"),
    Index(
        "ix_count_tasks_one_active", "sku", "location", unique=True,
        postgresql_where=text("status IN ('open', 'investigating')"),
        sqlite_where=text("status IN ('open', 'investigating')"),
    ),
)

# Alerts. The partial unique index makes a repeated trigger count as an occurrence of the unresolved alert
# with the same key instead of a second alert, even when two triggers race.
alerts = Table(
    "alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("sku", String(64)),
    Column("location", String(64)),
    Column("message", String(500), nullable=False),
    Column("data", JSON, nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", String(120)),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(120)),
    CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),
    Index(
        "ix_alerts_unresolved_key", "dedupe_key", unique=True,
        postgresql_where=text("status <> 'resolved'"), sqlite_where=text("status <> 'resolved'"),
    ),
    Index("ix_alerts_status_raised_at", "status", "raised_at"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("url", String(2000), nullable=False),
    # Kept in clear: it is needed to sign every delivery. Shown once, at creation.
    Column("secret", String(128), nullable=False),
    Column("event_types", JSON, nullable=False),
    Column("description", String(200)),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
           nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", String(500)),
    Column("response_code", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    # A redelivered event finds its delivery already queued: the webhook consumer needs no inbox.
    Index("ix_webhook_deliveries_subscription_event", "subscription_id", "event_id", unique=True),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)


# --- Replenishment: suppliers, what they sell, reorder policies, purchase orders, receipts, budgets.
suppliers = Table(
    "suppliers",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("lead_time_days", Integer, nullable=False),
    Column("contact", String(200)),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("lead_time_days >= 0", name="lead_time_not_negative"),
)

supplier_products = Table(
    "supplier_products",
    metadata,
    Column("supplier", String(64), ForeignKey("suppliers.code"), primary_key=True),
    Column("sku", String(64), ForeignKey("products.sku"), primary_key=True),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    Column("pack_size", Integer, nullable=False),
    Column("min_order", Integer, nullable=False),
    Column("priority", String(8), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    # Late deliveries of this SKU by this supplier; at the threshold its orders go to the backup (suspended).
    Column("late_deliveries", Integer, nullable=False, default=0),
    Column("suspended", Boolean, nullable=False, default=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("pack_size >= 1 AND min_order >= 0 AND unit_cost >= 0", name="quantities"),
    CheckConstraint("priority IN ('primary', 'backup')", name="priority"),
    Index("ix_supplier_products_sku", "sku"),
)

reorder_policies = Table(
    "reorder_policies",
    metadata,
    Column("sku", String(64), ForeignKey("products.sku"), primary_key=True),
    Column("location", String(64), ForeignKey("locations.code"), primary_key=True),
    Column("service_level", Numeric(6, 4), nullable=False),
    Column("order_method", String(8), nullable=False),
    Column("cover_days", Integer, nullable=False),
    Column("static_reorder_point", BigInteger),
    Column("static_order_quantity", BigInteger),
    Column("reorder_point", BigInteger, nullable=False),
    Column("safety_stock", BigInteger, nullable=False),
    Column("order_quantity", BigInteger, nullable=False),
    Column("daily_demand", Numeric(18, 6), nullable=False),
    Column("demand_sigma", Numeric(18, 6), nullable=False),
    Column("lead_time_days", Numeric(12, 4), nullable=False),
    Column("lead_time_std", Numeric(12, 4), nullable=False),
    Column("forecast_method", String(16)),
    Column("supplier", String(64)),
    Column("low", Boolean, nullable=False, default=False),
    Column("computed_at", UtcDateTime),
    Column("reviewed_at", UtcDateTime),
    CheckConstraint("service_level > 0 AND service_level < 1", name="service_level"),
    CheckConstraint("order_method IN ('cover', 'eoq')", name="order_method"),
)

reorder_point_changes = Table(
    "reorder_point_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sku", String(64), nullable=False),
    Column("location", String(64), nullable=False),
    Column("field", String(32), nullable=False),
    Column("old", Numeric(18, 4)),
    Column("new", Numeric(18, 4)),
    Column("reason", String(300), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Index("ix_reorder_point_changes_sku_location", "sku", "location"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("supplier", String(64), ForeignKey("suppliers.code"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", Numeric(18, 4), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expected_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("received_at", UtcDateTime),
    Column("late", Boolean, nullable=False, default=False),
    Column("run_id", String(36)),
    CheckConstraint(
        "status IN ('draft', 'sent', 'partially_received', 'received', 'cancelled')", name="status"
    ),
    Index("ix_purchase_orders_status", "status"),
    Index("ix_purchase_orders_created_at", "created_at"),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("po_id", String(36), ForeignKey("purchase_orders.id"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("location", String(64), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, default=0),
    Column("unit_cost", Numeric(14, 4), nullable=False),
    CheckConstraint("quantity > 0 AND received >= 0 AND received <= quantity", name="quantities"),
)

supplier_receipts = Table(
    "supplier_receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("po_id", String(36), ForeignKey("purchase_orders.id"), nullable=False),
    Column("supplier", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("location", String(64), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("lead_time_days", Numeric(12, 4), nullable=False),
    Column("late", Boolean, nullable=False),
    Index("ix_supplier_receipts_supplier", "supplier"),
)

budgets = Table(
    "budgets",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", Numeric(18, 4), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

replenishment_runs = Table(
    "replenishment_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("ran_at", UtcDateTime, nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_replenishment_runs_ran_at", "ran_at"),
)
