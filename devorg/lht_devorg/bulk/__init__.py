"""Bulk API 2.0 query jobs: creation, state over time, the result spool on disk, pages and
locators.

Imports the shared ground, ``lht_devorg.meta``, ``lht_devorg.soql`` and
``lht_devorg.core``. It must not import ``lht_devorg.ingest`` or ``lht_devorg.http``.
"""
