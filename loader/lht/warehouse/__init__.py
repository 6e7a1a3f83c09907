"""The warehouse wing: the connection, the dbt profile, and the one writer.

Opens DuckDB or Snowflake from the dbt profile's target, and writes staging tables only
through ``lht.warehouse.writer.write_batch`` (append-only; never a main table). Also the
loader's own bookkeeping tables (state), read-only staging queries, and the run lock.

Imports only the shared ground (``lht.config``, ``lht.constants``, ``lht.errors``,
``lht.typemap``) and its own modules. It must not import ``lht.salesforce`` (nothing here
speaks HTTP), nor the wings above it (``lht.sync``, ``lht.commands``, ``lht.cli``).
"""
