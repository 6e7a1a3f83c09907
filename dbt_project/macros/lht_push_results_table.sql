{#- `lht_push_results`: one row per push and key, from the result rows `lht push` appends
    to `<staging>._lht_push_results` (through the loader's writer). The newest attempt gives
    the outcome (success, error, Salesforce Id); `last_success_at` and
    `accepted_values_hash` keep the newest accepted attempt, however many failures came
    after it. Incremental: only the keys of new batches are read back and rewritten. Before
    the first push the staging table does not exist, and the model is empty. -#}
{% macro lht_push_results_table() %}
{{ config(
    materialized='incremental',
    unique_key=['push_name', 'key_value'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    schema=var('lht_schema', env_var('LHT_SCHEMA', 'salesforce')),
) }}
{%- set results = source('lht_results', '_lht_push_results') -%}
{%- set incremental = is_incremental() -%}
{%- if not lht.lht_relation_exists(results) %}
{{ lht.lht_push_results_empty() }}
{%- else %}
with

staged as (

    select * from {{ results }}
    {%- if incremental %}
    where _lht_batch_id > (select coalesce(max(_lht_batch_id), '') from {{ this }})
    {%- endif %}

),

{% if incremental -%}
previous as (

    select * from {{ this }}
    where push_name || '|' || key_value in (select push_name || '|' || key_value from staged)

),

{% endif -%}
newest_attempts as (

    select * from staged
    qualify row_number() over (partition by push_name, key_value order by attempted_at desc, _lht_batch_id desc) = 1

),

newest_successes as (

    select push_name, key_value, attempted_at, values_hash, salesforce_id
    from staged
    where success
    qualify row_number() over (partition by push_name, key_value order by attempted_at desc, _lht_batch_id desc) = 1

),

final as (

    select
        a.push_name,
        a.key_value,
        a.object_name,
        a.operation,
        a.success,
        coalesce(a.salesforce_id, s.salesforce_id{{ ', p.salesforce_id' if incremental }}) as salesforce_id,
        a.created,
        a.error_code,
        a.error_message,
        a.attempted_at,
        {% if incremental -%}
        coalesce(s.attempted_at, p.last_success_at) as last_success_at,
        coalesce(s.values_hash, p.accepted_values_hash) as accepted_values_hash,
        {%- else -%}
        s.attempted_at as last_success_at,
        s.values_hash as accepted_values_hash,
        {%- endif %}
        a.job_id,
        a._lht_batch_id,
        {{ lht_now() }} as _lht_synced_at
    from newest_attempts as a
    left join newest_successes as s on s.push_name = a.push_name and s.key_value = a.key_value
    {%- if incremental %}
    left join previous as p on p.push_name = a.push_name and p.key_value = a.key_value
    {%- endif %}

)

select * from final
{%- endif %}
{% endmacro %}
