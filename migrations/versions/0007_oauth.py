"""partner OAuth 2 server: clients, secrets, codes, tokens, participant links, sign-in codes, outbox, idempotent requests

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], name=op.f(f"fk_{table}_{column}_{referred}"))


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("redirect_uris", JSON_DOC, nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        _fk("oauth_clients", "platform_id", "platforms"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_clients_client_id")),
    )
    op.create_index(op.f("ix_oauth_clients_platform_id"), "oauth_clients", ["platform_id"])

    op.create_table(
        "oauth_client_secrets",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("client_pk", BIG_ID, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("oauth_client_secrets", "client_pk", "oauth_clients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_client_secrets")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_oauth_client_secrets_secret_hash")),
    )
    op.create_index(op.f("ix_oauth_client_secrets_client_pk"), "oauth_client_secrets", ["client_pk"])

    op.create_table(
        "participant_links",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("client_pk", BIG_ID, nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("participant_links", "participant_id", "participants"),
        _fk("participant_links", "client_pk", "oauth_clients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_links")),
        sa.UniqueConstraint("participant_id", "client_pk", name=op.f("uq_participant_links_participant_id_client_pk")),
    )
    op.create_index(op.f("ix_participant_links_client_pk"), "participant_links", ["client_pk"])

    op.create_table(
        "oauth_authorization_codes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_pk", BIG_ID, nullable=False),
        sa.Column("link_id", BIG_ID, nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "code_challenge_method = 'S256'", name=op.f("ck_oauth_authorization_codes_code_challenge_method")
        ),
        _fk("oauth_authorization_codes", "client_pk", "oauth_clients"),
        _fk("oauth_authorization_codes", "link_id", "participant_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_authorization_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_oauth_authorization_codes_code_hash")),
    )
    op.create_index(op.f("ix_oauth_authorization_codes_client_pk"), "oauth_authorization_codes", ["client_pk"])
    op.create_index(op.f("ix_oauth_authorization_codes_link_id"), "oauth_authorization_codes", ["link_id"])

    op.create_table(
        "oauth_tokens",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("client_pk", BIG_ID, nullable=False),
        sa.Column("link_id", BIG_ID, nullable=True),
        sa.Column("family", sa.String(length=40), nullable=False),
        sa.Column("grant_type", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("access_token_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _fk("oauth_tokens", "client_pk", "oauth_clients"),
        _fk("oauth_tokens", "link_id", "participant_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_tokens")),
        sa.UniqueConstraint("access_token_hash", name=op.f("uq_oauth_tokens_access_token_hash")),
        sa.UniqueConstraint("refresh_token_hash", name=op.f("uq_oauth_tokens_refresh_token_hash")),
    )
    op.create_index(op.f("ix_oauth_tokens_client_pk"), "oauth_tokens", ["client_pk"])
    op.create_index(op.f("ix_oauth_tokens_link_id"), "oauth_tokens", ["link_id"])
    op.create_index("ix_oauth_tokens_family", "oauth_tokens", ["family"])

    op.create_table(
        "sign_in_codes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _fk("sign_in_codes", "participant_id", "participants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_codes")),
    )
    op.create_index(op.f("ix_sign_in_codes_participant_id"), "sign_in_codes", ["participant_id"])

    op.create_table(
        "outbox_messages",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(op.f("ix_outbox_messages_created_at"), "outbox_messages", ["created_at"])

    op.create_table(
        "idempotent_requests",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("client_pk", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=True),
        sa.Column("headers", JSON_DOC, nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("idempotent_requests", "client_pk", "oauth_clients"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_requests")),
        sa.UniqueConstraint("client_pk", "key", name=op.f("uq_idempotent_requests_client_pk_key")),
    )
    op.create_index(op.f("ix_idempotent_requests_created_at"), "idempotent_requests", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotent_requests")
    op.drop_table("outbox_messages")
    op.drop_table("sign_in_codes")
    op.drop_table("oauth_tokens")
    op.drop_table("oauth_authorization_codes")
    op.drop_table("participant_links")
    op.drop_table("oauth_client_secrets")
    op.drop_table("oauth_clients")
