"""The engine: the org's records in an embedded DuckDB database (``OrgEngine``), writes with
Salesforce's semantics (audit stamps, derived fields, checks, recycle bin, upsert, merge,
set-based batches), schema changes, seed data, Bulk query streams, the demo's activity.

Imports the shared ground, ``lht_devorg.meta`` and ``lht_devorg.soql``. It must not import
``lht_devorg.bulk``, ``lht_devorg.ingest`` or ``lht_devorg.http``: the engine knows no
jobs and no HTTP.
"""
