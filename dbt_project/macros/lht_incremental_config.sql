{#- The materialization shared by every lht model (main and history tables): incremental,
    delete+insert on Id, new columns appended, in the `lht_schema` schema, and protected
    from `--full-refresh` unless the var `lht_allow_full_refresh` is true. On Snowflake
    the var `lht_cluster_by_id` clusters the table by Id. -#}
{% macro lht_incremental_config() %}
{{ config(
    materialized='incremental',
    unique_key='Id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    schema=var('lht_schema', env_var('LHT_SCHEMA', 'salesforce')),
    full_refresh=var('lht_allow_full_refresh'),
    cluster_by=(['Id'] if target.type == 'snowflake' and var('lht_cluster_by_id', false) else none),
) }}
{% endmacro %}
