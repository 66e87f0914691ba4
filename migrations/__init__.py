"""Alembic migrations: the only way the hub's schema is created or changed."""
