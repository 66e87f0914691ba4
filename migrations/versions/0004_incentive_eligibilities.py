"""incentive eligibilities: a participant's first completed, funded purchase

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "incentive_eligibilities",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", BIG_ID, nullable=False),
        sa.Column("eligible_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_incentive_eligibilities_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_incentive_eligibilities_purchase_id_purchases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incentive_eligibilities")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_incentive_eligibilities_participant_id")),
    )


def downgrade() -> None:
    op.drop_table("incentive_eligibilities")
