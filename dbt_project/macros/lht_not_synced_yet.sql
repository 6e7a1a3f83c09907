{#- An object lht sync has not loaded yet has no staging table. Its models are then built
    empty instead of failing the whole `dbt build` (a first `lht sync Account`, then
    `dbt build`, builds every registered object): the main table with `Id` and lht's
    columns, the history table with `Id` and its version columns, and a note in the log.
    An incremental run keeps the rows it has. The build after the object's first sync
    fills it as any incremental build does, appending the staging columns
    (`on_schema_change: append_new_columns`). -#}


{#- True when an lht model's staging table exists. In a dbt unit test (fixtures always
    exist) the var `lht_unit_test_staging_exists: false` stands for a missing one. -#}
{% macro lht_staging_exists(staging) %}
    {%- if lht.lht_is_fixture(staging) -%}
        {{ return(var('lht_unit_test_staging_exists', true)) }}
    {%- endif -%}
    {{ return(lht.lht_relation_exists(staging)) }}
{% endmacro %}


{#- The SQL of an lht model of `object_name` before its first sync: no rows; `role` is
    `main` or `history` (which columns the empty table has). -#}
{% macro lht_not_synced_yet(object_name, role) %}
{%- if execute -%}
    {%- do log("lht: " ~ object_name ~ " has no staging table yet (run `lht sync " ~ object_name ~ "`): "
               ~ model.name ~ " is built empty.", info=true) -%}
{%- endif -%}
{%- set text = dbt.type_string() -%}
{%- set flag = dbt.type_boolean() -%}
{%- set stamp = lht.lht_type_timestamp_tz() -%}
{%- if is_incremental() -%}
select * from {{ this }}
where 1 = 0
{%- elif role == 'history' -%}
select
    cast(null as {{ text }}) as Id,
    cast(null as {{ stamp }}) as valid_from,
    cast(null as {{ stamp }}) as valid_to,
    cast(null as {{ flag }}) as is_current,
    cast(null as {{ flag }}) as _lht_is_deleted,
    cast(null as {{ text }}) as _lht_batch_id,
    cast(null as {{ stamp }}) as _lht_extracted_at,
    cast(null as {{ stamp }}) as _lht_synced_at
where 1 = 0
{%- else -%}
select
    cast(null as {{ text }}) as Id,
    cast(null as {{ text }}) as _lht_batch_id,
    cast(null as {{ stamp }}) as _lht_extracted_at,
    cast(null as {{ flag }}) as _lht_is_deleted,
    cast(null as {{ flag }}) as _lht_in_filter,
    cast(null as {{ stamp }}) as _lht_synced_at
where 1 = 0
{%- endif -%}
{%- endmacro %}
