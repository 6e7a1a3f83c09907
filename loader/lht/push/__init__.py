"""The push wing: ``lht push``, dbt models written back to Salesforce (reverse ETL).

Finds the push models in dbt's manifest, reads each one's change set from the view dbt
built beside it (``lht_push_changes``; no dbt process), checks it against describe, sends
it through sObject Collections or Bulk API 2.0 ingest, and writes one result row per row
sent through the writer. Uses both wings, ``lht.project``, ``lht.manifest`` and
``lht.writeback``; it must not import the other run wings (``lht.sync``, ``lht.merge``),
``lht.commands`` or ``lht.cli``.
"""
