"""SOQL: the tokenizer and parser, date literals, and the planner that checks a query against
the metadata and translates it to DuckDB SQL; rendering values and records the way
Salesforce's APIs show them (REST JSON, Bulk CSV, ``columns=true``).

Imports the shared ground and ``lht_devorg.meta``. It must not import ``lht_devorg.core``
or any package above it (``bulk``, ``ingest``, ``http``): a plan is text and metadata, it
runs nowhere.
"""
