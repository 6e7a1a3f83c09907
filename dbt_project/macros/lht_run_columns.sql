{#- The columns of the run history (`<staging>._lht_runs`, written by the loader; the
    loader's list is lht.warehouse.runs.RunRow) as (name, type) pairs, in their order. -#}
{% macro lht_run_columns() %}
    {%- set text = dbt.type_string() -%}
    {%- set whole = dbt.type_bigint() -%}
    {%- set moment = lht.lht_type_timestamp_tz() -%}
    {{- return([
        ('run_id', text), ('command', text), ('object_name', text), ('started_at', moment),
        ('finished_at', moment), ('outcome', text), ('exit_code', whole), ('mode', text), ('engine', text),
        ('seconds', dbt.type_float()), ('rows_written', whole), ('api_calls', whole), ('api_calls_shared', whole),
        ('error_message', text), ('api_usage_used', whole), ('api_usage_limit', whole),
        ('rows_extracted', whole), ('delete_markers', whole), ('records_marked_deleted', whole),
        ('fields_added', text), ('fields_removed', text),
        ('rows_considered', whole), ('rows_sent', whole), ('rows_created', whole), ('rows_updated', whole),
        ('rows_deleted', whole), ('rows_failed', whole), ('rows_unchanged', whole),
        ('rows_merged', whole), ('rows_already_merged', whole), ('merge_requests', whole),
    ]) -}}
{% endmacro %}
