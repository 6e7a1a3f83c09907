"""Bulk API 2.0 ingest jobs: the job lifecycle, an upload parsed (pyarrow while it matches
the ``csv`` module), checked and written chunk by chunk (column-wise where it can), and the
three result CSVs.

Imports the shared ground, ``lht_devorg.meta``, ``lht_devorg.soql``, ``lht_devorg.core``
and ``lht_devorg.bulk``. It must not import ``lht_devorg.http``: handlers live there.
"""
