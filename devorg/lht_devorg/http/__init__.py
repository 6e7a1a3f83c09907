"""The org over HTTPS: the transport (uvicorn over TLS), authentication and sessions, the
routing with its limits and faults, and every resource's handlers (REST, Composite,
sObject Collections, Bulk 2.0 jobs, SOSL, identity, SOAP merge, the ``/__devorg/`` admin).

Imports every package below it (the shared ground, ``meta``, ``soql``, ``core``,
``bulk``, ``ingest``). It must not import ``lht_devorg`` itself (``DevOrg``, the front
door, sits above it) or ``lht_devorg.cli``.
"""
