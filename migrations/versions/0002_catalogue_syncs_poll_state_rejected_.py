"""catalogue syncs, poll state, rejected events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:53:59.767386
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "catalogue_syncs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "cursor", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("courses", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("deactivated", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_catalogue_syncs_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_syncs")),
    )
    with op.batch_alter_table("catalogue_syncs", schema=None) as batch_op:
        batch_op.create_index("ix_catalogue_syncs_platform_started", ["platform_id", "started_at"], unique=False)

    op.create_table(
        "poll_states",
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("orders_seen", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["platforms.id"], name=op.f("fk_poll_states_platform_id_platforms")),
        sa.PrimaryKeyConstraint("platform_id", name=op.f("pk_poll_states")),
    )
    op.create_table(
        "rejected_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["webhook_deliveries.id"], name=op.f("fk_rejected_events_delivery_id_webhook_deliveries")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_rejected_events_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_events")),
    )
    with op.batch_alter_table("rejected_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejected_events_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index("ix_rejected_events_platform_created", ["platform_id", "created_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("rejected_events", schema=None) as batch_op:
        batch_op.drop_index("ix_rejected_events_platform_created")
        batch_op.drop_index(batch_op.f("ix_rejected_events_delivery_id"))

    op.drop_table("rejected_events")
    op.drop_table("poll_states")
    with op.batch_alter_table("catalogue_syncs", schema=None) as batch_op:
        batch_op.drop_index("ix_catalogue_syncs_platform_started")

    op.drop_table("catalogue_syncs")
