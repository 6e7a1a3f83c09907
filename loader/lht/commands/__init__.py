"""The commands wing: what ``lht`` subcommands do beyond the sync itself.

``status``, ``prune``, ``add`` and ``remove`` (scaffolding), ``objects``, ``docs``, the demo
and the progress display. Each is
called from ``lht.cli``, which alone prints; modules here return data or raise typed errors.

May import any wing below (``lht.sync``, ``lht.salesforce``, ``lht.warehouse``) and the
shared ground. It must not import ``lht.cli``.
"""
