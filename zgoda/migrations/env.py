"""Alembic environment: runs migrations on the URL that zgoda.store.migrate passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from zgoda.store.tables import metadata

url = context.config.get_main_option("sqlalchemy.url")
assert url, "zgoda.store.migrate sets sqlalchemy.url"
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
