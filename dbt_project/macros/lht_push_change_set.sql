{#- The change set of one push: every row of the push model with what to do about it.

    `_lht_change` says why: `new` (never accepted for this key), `retry` (the last attempt
    failed), `changed` (values differ from those Salesforce last accepted), `full`
    (unchanged, sent because of --full) or `unchanged`. `_lht_action` is the operation to
    send (`insert`, `update`, `upsert`, `delete`, `hard_delete`), or `none`. An insert push
    sends a key only until Salesforce accepted it once (it never creates a record twice);
    a delete push sends a key until its deletion was accepted. `results` is the results
    staging table (`_lht_push_results`), read as it is now, so a push right after another
    sees the other's results with or without a `dbt build` between them. -#}
{% macro lht_push_change_set(relation, results, push_name, operation, key, columns, full=false) %}
    {{- return(adapter.dispatch('lht_push_change_set', 'lht')(relation, results, push_name, operation, key, columns, full)) -}}
{% endmacro %}

{% macro default__lht_push_change_set(relation, results, push_name, operation, key, columns, full) -%}
{%- set once = operation in ('insert', 'delete', 'hard_delete') -%}
with

model as (

    select * from {{ relation }}

),

{{ lht.lht_push_latest_results(results, push_name) }},

rows_now as (

    select
        cast({{ adapter.quote(key) }} as {{ dbt.type_string() }}) as _lht_key,
        {{ lht.lht_push_values_hash(columns) }} as _lht_values_hash,
        model.*
    from model

),

compared as (

    select
        rows_now.*,
        accepted.values_hash as _lht_accepted_hash,
        accepted.salesforce_id as _lht_salesforce_id,
        attempted.success as _lht_last_success
    from rows_now
    left join last_successes as accepted on accepted.key_value = rows_now._lht_key
    left join last_attempts as attempted on attempted.key_value = rows_now._lht_key

),

classified as (

    select
        compared.*,
        case
            when _lht_accepted_hash is null and _lht_last_success is null then 'new'
            when not _lht_last_success then 'retry'
            when _lht_accepted_hash <> _lht_values_hash then 'changed'
            {%- if full %}
            else 'full'
            {%- else %}
            else 'unchanged'
            {%- endif %}
        end as _lht_change
    from compared

),

final as (

    select
        case
            {%- if once %}
            when _lht_accepted_hash is null then '{{ operation }}'
            {%- if full and operation != 'insert' %}
            when _lht_change = 'full' then '{{ operation }}'
            {%- endif %}
            {%- else %}
            when _lht_change <> 'unchanged' then '{{ operation }}'
            {%- endif %}
            else 'none'
        end as _lht_action,
        classified.*
    from classified

)

select * from final
{%- endmacro %}
