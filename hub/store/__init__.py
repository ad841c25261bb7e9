"""Persistence: SQLAlchemy models, the engine and session handling, Alembic migrations."""

from hub.store.engine import Store

__all__ = ["Store"]
