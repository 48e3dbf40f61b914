"""Alembic's environment for the history database (run by :func:`auditor.supervision.history.upgrade`).

The caller passes an open connection in ``config.attributes["connection"]``; nothing here reads
an ``alembic.ini`` or the environment. Importing this module outside Alembic (a doctest
collector, an import sweep) does nothing: Alembic's ``context`` has no ``config`` then.
"""

from __future__ import annotations

from alembic import context

from auditor.supervision.schema import VERSION_TABLE, metadata


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("the history migrations run on a connection given in config.attributes['connection']")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "config", None) is not None:
    run_migrations()
