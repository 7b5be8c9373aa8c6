"""Alembic environment: migrations always run on a connection handed over by wave_tui.db."""

from __future__ import annotations

from alembic import context

from wave_tui.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `wave db upgrade`, which hands Alembic a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters tables by copying them; batch mode does that for us.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
