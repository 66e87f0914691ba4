"""course search: search columns, group key and vocabulary of courses; full-text and trigram indexes

Revision ID: 0008
Revises: 0007

On PostgreSQL this creates the pg_trgm extension (CREATE EXTENSION IF NOT
EXISTS, which needs a superuser or a database owner allowed to create
trusted extensions; pg_trgm is trusted since PostgreSQL 13), a GIN index on
the courses' full-text document and a GIN trigram index on the vocabulary.
Existing courses get their search columns computed here (hub.search.index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

DOCUMENT = "to_tsvector('simple', search_title || ' ' || search_context)"


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_title", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("search_context", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("group_key", sa.String(length=32), server_default="", nullable=False))
        batch_op.create_index(batch_op.f("ix_courses_group_key"), ["group_key"], unique=False)
    op.create_table(
        "course_search_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_course_search_terms")),
    )

    from hub.search.index import reindex

    reindex(op.get_bind())

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_courses_search_document ON courses USING gin ({DOCUMENT}) WHERE active")
        op.execute("CREATE INDEX ix_course_search_terms_trgm ON course_search_terms USING gin (term gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_course_search_terms_trgm")
        op.execute("DROP INDEX IF EXISTS ix_courses_search_document")
    op.drop_table("course_search_terms")
    op.drop_index(op.f("ix_courses_group_key"), table_name="courses")
    for column in ("group_key", "search_context", "search_title"):
        # SQLite (3.35 and later) drops a column in place; a batch copy of courses would break
        # the foreign keys of its price history.
        op.execute(f"ALTER TABLE courses DROP COLUMN {column}")
