"""settlement runs, their claims and the breaks finance works through

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
VERDICTS = (
    "verdict IN ('matched', 'unknown_order', 'duplicate_claim', 'funding_pending', 'insufficient_balance', "
    "'participant_ineligible', 'unknown_course', 'course_inactive', 'price_mismatch', 'refunded', "
    "'amount_mismatch', 'not_claimed')"
)
NOT_REFUSED = sa.text("status <> 'refused'")


def upgrade() -> None:
    op.create_table(
        "settlement_runs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("period_given", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("period_source", sa.String(length=8), nullable=True),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refusal_line", sa.Integer(), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("claimed_idr", sa.BigInteger(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("payable_idr", sa.BigInteger(), nullable=False),
        sa.Column("disputed", sa.Integer(), nullable=False),
        sa.Column("disputed_idr", sa.BigInteger(), nullable=False),
        sa.Column("not_claimed", sa.Integer(), nullable=False),
        sa.Column("not_claimed_idr", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'done', 'refused')", name=op.f("ck_settlement_runs_status")),
        sa.CheckConstraint("period_source IN ('file', 'given', 'name')", name=op.f("ck_settlement_runs_period_source")),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_settlement_runs_platform_id_platforms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_runs")),
    )
    # The same file (same hash for that platform) is one run; refused attempts may repeat.
    op.create_index(
        "uq_settlement_runs_platform_id_sha256",
        "settlement_runs",
        ["platform_id", "sha256"],
        unique=True,
        sqlite_where=NOT_REFUSED,
        postgresql_where=NOT_REFUSED,
    )
    op.create_index(
        "ix_settlement_runs_platform_created", "settlement_runs", ["platform_id", "created_at"], unique=False
    )

    op.create_table(
        "settlement_breaks",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("amount_idr", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_run_id", BIG_ID, nullable=False),
        sa.Column("last_run_id", BIG_ID, nullable=False),
        sa.CheckConstraint("status IN ('open', 'resolved', 'written_off')", name=op.f("ck_settlement_breaks_status")),
        sa.CheckConstraint(VERDICTS, name=op.f("ck_settlement_breaks_verdict")),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_settlement_breaks_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["first_run_id"],
            ["settlement_runs.id"],
            name=op.f("fk_settlement_breaks_first_run_id_settlement_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"], ["settlement_runs.id"], name=op.f("fk_settlement_breaks_last_run_id_settlement_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_breaks")),
        sa.UniqueConstraint(
            "platform_id", "order_id", "verdict", name=op.f("uq_settlement_breaks_platform_id_order_id_verdict")
        ),
    )
    op.create_index(
        "ix_settlement_breaks_status_first_seen", "settlement_breaks", ["status", "first_seen_at"], unique=False
    )

    op.create_table(
        "settlement_claims",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("course_external_id", sa.String(length=200), nullable=True),
        sa.Column("card_number", sa.String(length=16), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount_idr", sa.BigInteger(), nullable=False),
        sa.Column("raw", JSON_DOC, nullable=True),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("purchase_id", BIG_ID, nullable=True),
        sa.Column("break_id", sa.String(length=24), nullable=True),
        sa.CheckConstraint(VERDICTS, name=op.f("ck_settlement_claims_verdict")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["settlement_runs.id"], name=op.f("fk_settlement_claims_run_id_settlement_runs")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platforms.id"], name=op.f("fk_settlement_claims_platform_id_platforms")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_settlement_claims_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(
            ["break_id"], ["settlement_breaks.id"], name=op.f("fk_settlement_claims_break_id_settlement_breaks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_claims")),
        sa.UniqueConstraint("run_id", "position", name=op.f("uq_settlement_claims_run_id_position")),
    )
    op.create_index(
        "ix_settlement_claims_platform_order", "settlement_claims", ["platform_id", "order_id"], unique=False
    )
    op.create_index(op.f("ix_settlement_claims_purchase_id"), "settlement_claims", ["purchase_id"], unique=False)
    op.create_index(op.f("ix_settlement_claims_break_id"), "settlement_claims", ["break_id"], unique=False)


def downgrade() -> None:
    op.drop_table("settlement_claims")
    op.drop_table("settlement_breaks")
    op.drop_index("ix_settlement_runs_platform_created", table_name="settlement_runs")
    op.drop_index("uq_settlement_runs_platform_id_sha256", table_name="settlement_runs")
    op.drop_table("settlement_runs")
