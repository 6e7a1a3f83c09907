"""The Salesforce wing: everything that speaks the Salesforce API.

Login flows, the HTTP session and its retry policy, REST queries, describe, getDeleted,
Bulk API 2.0 query jobs and their result pages, SOQL text, and the CSV-to-Arrow parsing of
what Salesforce returns.

Imports only the shared ground (``lht.config``, ``lht.constants``, ``lht.errors``,
``lht.typemap``, ``lht.pipeline``) and its own modules. It must not import
``lht.warehouse`` (nothing here knows where rows land), nor the wings above it
(``lht.sync``, ``lht.commands``, ``lht.cli``).
"""
