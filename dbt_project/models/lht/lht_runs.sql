{#- One row per run of `lht sync`, `lht push` or `lht merge` and object or model, plus one
    row for the run itself (object_name null): the run history the loader appends to
    `<staging>._lht_runs` when a run ends (docs/design.md, "Run history").

    Incremental: the rows of runs the table does not hold yet are appended (an anti-join on
    run_key rather than on batch ids: a run refused while another held the lock writes its
    row outside the lock, and its batch may land after a newer one). A row staged twice
    (a refusal spooled on DuckDB and written again after a crash) counts once. Before the
    first run the staging table does not exist: the model is then empty. -#}
{{ config(
    materialized='incremental',
    unique_key='run_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    schema=var('lht_schema', env_var('LHT_SCHEMA', 'salesforce')),
) }}
{%- set staging = source('lht_results', '_lht_runs') -%}
{%- set columns = lht.lht_run_columns() -%}

with

staged as (

    {% if lht.lht_relation_exists(staging) -%}
    select * from {{ staging }}
    {%- else -%}
    -- no run has been recorded yet
    select
        {%- for name, type in columns %}
        cast(null as {{ type }}) as {{ name }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as _lht_batch_id
    where 1 = 0
    {%- endif %}

),

keyed as (

    select
        run_id || '/' || coalesce(object_name, '') as run_key,
        {%- for name, type in columns %}
        {{ name }},
        {%- endfor %}
        _lht_batch_id
    from staged

),

new_rows as (

    select * from keyed
    {%- if is_incremental() %}
    where run_key not in (select recorded.run_key from {{ this }} as recorded)
    {%- endif %}

),

deduplicated as (

    select * from new_rows
    qualify row_number() over (partition by run_key order by _lht_batch_id) = 1

),

final as (

    select
        run_key,
        {%- for name, type in columns %}
        {{ name }},
        {%- endfor %}
        _lht_batch_id,
        {{ lht.lht_now() }} as _lht_synced_at
    from deduplicated

)

select * from final
