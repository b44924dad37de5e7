"""Alembic's entry: runs the revisions on the connection store/migrate.py hands over."""

from alembic import context

from store.migrate import include_name, store_tables

context.configure(connection=context.config.attributes["connection"], target_metadata=store_tables(),
                  include_name=include_name, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
