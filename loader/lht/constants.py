"""Project-wide constants: the one Salesforce API version and the warehouse names."""

from __future__ import annotations

#: The one Salesforce API version lht speaks (simple-salesforce's ``version=``).
API_VERSION = "59.0"

#: Default schema of the append-only staging tables (env ``LHT_STAGING_SCHEMA``).
DEFAULT_STAGING_SCHEMA = "salesforce_staging"

#: Default schema of the main tables built by dbt (env ``LHT_SCHEMA``).
DEFAULT_SCHEMA = "salesforce"

#: Metadata columns the writer stamps on every staged row.
BATCH_ID_COLUMN = "_lht_batch_id"
EXTRACTED_AT_COLUMN = "_lht_extracted_at"
KIND_COLUMN = "_lht_kind"

#: Values of ``_lht_kind``.
KIND_RECORD = "record"
KIND_DELETED = "deleted"
KIND_FORMULA = "formula"
#: ``_lht_kind`` of the rows of the push results table (one row per row sent by ``lht push``).
KIND_PUSH_RESULT = "push_result"
#: ``_lht_kind`` of the rows of the merge results table (one row per loser handled by ``lht merge``).
KIND_MERGE_RESULT = "merge_result"
#: ``_lht_kind`` of the rows of the run history (one row per run and object or model, and one per run).
KIND_RUN = "run"
#: A partial row backfilling fields lht had not loaded before (Id and those fields).
KIND_FIELDS = "fields"
#: A record that exists but no longer matches the object's `where` filter (Id and its date).
KIND_FILTERED = "filtered"

#: Warehouse tables owned by the loader, in the staging schema.
STATE_TABLE = "_lht_state"
DESCRIBE_TABLE = "_lht_describe"

#: Staging table of ``lht push``'s per-row results, written by the writer like an object's.
PUSH_RESULTS_TABLE = "_lht_push_results"
#: Staging table of ``lht merge``'s per-loser results.
MERGE_RESULTS_TABLE = "_lht_merge_results"
#: Staging table of the run history: what every ``lht sync``, ``lht push`` and ``lht merge`` did.
RUNS_TABLE = "_lht_runs"
#: Tables the writer writes besides the objects' staging tables.
WRITER_TABLES = frozenset({PUSH_RESULTS_TABLE, MERGE_RESULTS_TABLE, RUNS_TABLE})
