"""The sync wing: one ``lht sync`` run, from Salesforce to staging.

Plans each object, extracts it (REST or Bulk), hands the batches to the one writer,
records deletes, saves state after the batches landed, and reports the run.

Imports the Salesforce and warehouse wings, ``lht.project`` and the shared ground. It must
not import ``lht.commands`` or ``lht.cli`` (the wings above it).
"""
