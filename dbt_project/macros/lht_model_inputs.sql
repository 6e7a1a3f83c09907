{#- What a main or history table starts from, for both: the object's name checked, the
    model's checks and hooks (`lht.lht_model_checks`, `lht.lht_follow_staging_types`), its
    staging relation and data columns, the version column and IsDeleted among them, whether
    the run is incremental, and the column names the model's table already has.

    Returns a dict: object_name, staging, not_synced (true while the object has no staging
    table yet: the model is then built empty, `lht.lht_not_synced_yet`), data_columns,
    version_column, is_deleted_column, incremental, existing_names. -#}
{% macro lht_model_inputs(object_name) %}
{%- set object_name = lht.lht_object_name(object_name) -%}
{%- do lht.lht_model_checks(object_name) -%}
{%- do lht.lht_follow_staging_types(object_name) -%}
{%- set staging = source('salesforce_staging', object_name | lower) -%}
{%- if execute and not lht.lht_staging_exists(staging) -%}
    {{- return({'object_name': object_name, 'staging': staging, 'not_synced': true}) -}}
{%- endif -%}
{%- set data_columns = lht.lht_data_columns(staging) -%}
{%- set incremental = is_incremental() -%}
{{- return({
    'object_name': object_name,
    'staging': staging,
    'not_synced': false,
    'data_columns': data_columns,
    'version_column': lht.lht_version_column(data_columns),
    'is_deleted_column': lht.lht_find_column(data_columns, 'IsDeleted'),
    'incremental': incremental,
    'existing_names': lht.lht_column_names(this, 'main') if incremental else [],
}) -}}
{% endmacro %}
