"""Bulk API 1.0 (``/services/async/NN.N/job``): jobs of batches, each batch a request of
CSV, JSON or XML records (or a query's SOQL), processed on its own as soon as it is added
(``Parallel``) or one after the other in the order added (``Serial``), with results per
row in request order; the job and batch documents in XML or JSON.

Jobs live in the one job registry of :mod:`lht_devorg.bulk`; rows are written by the record
engine (:mod:`lht_devorg.core.batchwrite`, with the CSV cell rules of Bulk 2.0 ingest) and
queries run on the SOQL engine.

Imports the shared ground, ``lht_devorg.meta``, ``lht_devorg.soql``, ``lht_devorg.core``,
``lht_devorg.bulk`` and ``lht_devorg.ingest``. It must not import ``lht_devorg.http``: the
handlers live there.
"""
