"""The org's metadata: describes of every object (real payloads in ``describes/``, completed
for User, Attachment and the custom objects), describeGlobal, and how objects are stored.

Imports only the shared ground (``lht_devorg.errors``, ``ids``, ``clock``, ``faults``,
``cursors``) and its own modules. It must not import ``lht_devorg.soql`` or any package
above it (``core``, ``bulk``, ``ingest``, ``http``): metadata knows no queries and no data.
"""
