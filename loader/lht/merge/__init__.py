"""The merge wing: ``lht merge``, duplicates merged inside Salesforce from dbt models.

Finds the merge models (``config.meta.lht_merge``) in dbt's manifest, reads their
``MasterId``/``LoserId`` rows from the warehouse, validates them before any call, skips
losers Salesforce already merged, sends the rest through SOAP ``merge()`` and writes one
result row per loser through the writer. Uses both wings, ``lht.project``,
``lht.manifest`` and ``lht.writeback``; it must not import the other run wings
(``lht.sync``, ``lht.push``), ``lht.commands`` or ``lht.cli``.
"""
