"""replenishment

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 16:13:55.974570
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import stockd.adapters.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "budgets",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("updated_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_budgets_amount_not_negative")),
        sa.PrimaryKeyConstraint("period", "currency", name=op.f("pk_budgets")),
    )
    op.create_table(
        "reorder_point_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("new", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("occurred_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reorder_point_changes")),
    )
    with op.batch_alter_table("reorder_point_changes", schema=None) as batch_op:
        batch_op.create_index("ix_reorder_point_changes_sku_location", ["sku", "location"], unique=False)

    op.create_table(
        "replenishment_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ran_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replenishment_runs")),
    )
    with op.batch_alter_table("replenishment_runs", schema=None) as batch_op:
        batch_op.create_index("ix_replenishment_runs_ran_at", ["ran_at"], unique=False)

    op.create_table(
        "suppliers",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("lead_time_days >= 0", name=op.f("ck_suppliers_lead_time_not_negative")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_suppliers")),
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("supplier", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("created_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expected_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'sent', 'partially_received', 'received', 'cancelled')",
            name=op.f("ck_purchase_orders_status"),
        ),
        sa.ForeignKeyConstraint(["supplier"], ["suppliers.code"], name=op.f("fk_purchase_orders_supplier_suppliers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
    )
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index("ix_purchase_orders_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_purchase_orders_status", ["status"], unique=False)

    op.create_table(
        "reorder_policies",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("service_level", sa.Numeric(precision=6, scale=4), nullable=False),
        sa.Column("order_method", sa.String(length=8), nullable=False),
        sa.Column("cover_days", sa.Integer(), nullable=False),
        sa.Column("static_reorder_point", sa.BigInteger(), nullable=True),
        sa.Column("static_order_quantity", sa.BigInteger(), nullable=True),
        sa.Column("reorder_point", sa.BigInteger(), nullable=False),
        sa.Column("safety_stock", sa.BigInteger(), nullable=False),
        sa.Column("order_quantity", sa.BigInteger(), nullable=False),
        sa.Column("daily_demand", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("demand_sigma", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("lead_time_days", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("lead_time_std", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("forecast_method", sa.String(length=16), nullable=True),
        sa.Column("supplier", sa.String(length=64), nullable=True),
        sa.Column("low", sa.Boolean(), nullable=False),
        sa.Column("computed_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("order_method IN ('cover', 'eoq')", name=op.f("ck_reorder_policies_order_method")),
        sa.CheckConstraint("service_level > 0 AND service_level < 1", name=op.f("ck_reorder_policies_service_level")),
        sa.ForeignKeyConstraint(["location"], ["locations.code"], name=op.f("fk_reorder_policies_location_locations")),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_reorder_policies_sku_products")),
        sa.PrimaryKeyConstraint("sku", "location", name=op.f("pk_reorder_policies")),
    )
    op.create_table(
        "supplier_products",
        sa.Column("supplier", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("min_order", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("late_deliveries", sa.Integer(), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("updated_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("priority IN ('primary', 'backup')", name=op.f("ck_supplier_products_priority")),
        sa.CheckConstraint(
            "pack_size >= 1 AND min_order >= 0 AND unit_cost >= 0", name=op.f("ck_supplier_products_quantities")
        ),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name=op.f("fk_supplier_products_sku_products")),
        sa.ForeignKeyConstraint(["supplier"], ["suppliers.code"], name=op.f("fk_supplier_products_supplier_suppliers")),
        sa.PrimaryKeyConstraint("supplier", "sku", name=op.f("pk_supplier_products")),
    )
    with op.batch_alter_table("supplier_products", schema=None) as batch_op:
        batch_op.create_index("ix_supplier_products_sku", ["sku"], unique=False)

    op.create_table(
        "purchase_order_lines",
        sa.Column("po_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.CheckConstraint(
            "quantity > 0 AND received >= 0 AND received <= quantity", name=op.f("ck_purchase_order_lines_quantities")
        ),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name=op.f("fk_purchase_order_lines_po_id_purchase_orders")
        ),
        sa.PrimaryKeyConstraint("po_id", "sku", "location", name=op.f("pk_purchase_order_lines")),
    )
    op.create_table(
        "supplier_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("po_id", sa.String(length=36), nullable=False),
        sa.Column("supplier", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("received_at", stockd.adapters.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lead_time_days", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["po_id"], ["purchase_orders.id"], name=op.f("fk_supplier_receipts_po_id_purchase_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_receipts")),
    )
    with op.batch_alter_table("supplier_receipts", schema=None) as batch_op:
        batch_op.create_index("ix_supplier_receipts_supplier", ["supplier"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("supplier_receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_receipts_supplier")

    op.drop_table("supplier_receipts")
    op.drop_table("purchase_order_lines")
    with op.batch_alter_table("supplier_products", schema=None) as batch_op:
        batch_op.drop_index("ix_supplier_products_sku")

    op.drop_table("supplier_products")
    op.drop_table("reorder_policies")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_orders_status")
        batch_op.drop_index("ix_purchase_orders_created_at")

    op.drop_table("purchase_orders")
    op.drop_table("suppliers")
    with op.batch_alter_table("replenishment_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_replenishment_runs_ran_at")

    op.drop_table("replenishment_runs")
    with op.batch_alter_table("reorder_point_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_reorder_point_changes_sku_location")

    op.drop_table("reorder_point_changes")
    op.drop_table("budgets")
