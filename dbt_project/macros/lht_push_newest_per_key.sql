{#- `last_attempts` (the newest attempt per key) and `last_successes` (the newest accepted one:
    the values Salesforce holds from this push) over the CTE `push_results`, one push's result
    rows. Ties on `attempted_at` are broken by the writer's batch id (write order). -#}
{% macro lht_push_newest_per_key() %}
    {{- return(adapter.dispatch('lht_push_newest_per_key', 'lht')()) -}}
{% endmacro %}

{% macro default__lht_push_newest_per_key() -%}
last_attempts as (

    select key_value, success, operation
    from push_results
    qualify row_number() over (partition by key_value order by attempted_at desc, _lht_batch_id desc) = 1

),

last_successes as (

    select key_value, values_hash, salesforce_id, operation, created
    from push_results
    where success
    qualify row_number() over (partition by key_value order by attempted_at desc, _lht_batch_id desc) = 1

)
{%- endmacro %}

{#- DuckDB: the newest row per key as `arg_max_null` aggregates (a NULL at the newest row stays
    NULL), one hash aggregation each instead of a window's sort of every result row. Their
    ordering key is one number, attempted_at's microseconds then the batch's rank among this
    push's batch ids (in text order): the same order as (attempted_at, batch id), but a
    fixed-width key, which DuckDB keeps and compares far more cheaply than a struct (half the
    time with 800,000 result rows within the loader's memory limit). -#}
{% macro duckdb__lht_push_newest_per_key() -%}
batch_order as (

    select _lht_batch_id, row_number() over (order by _lht_batch_id) as batch_rank
    from (select distinct _lht_batch_id from push_results)

),

ordered_results as (

    select
        push_results.*,
        epoch_us(push_results.attempted_at)::hugeint * 4294967296 + batch_order.batch_rank as newest_key
    from push_results
    inner join batch_order on batch_order._lht_batch_id = push_results._lht_batch_id

),

last_attempts as (

    select
        key_value,
        arg_max_null(success, newest_key) as success,
        arg_max_null(operation, newest_key) as operation
    from ordered_results
    group by key_value

),

last_successes as (

    select
        key_value,
        arg_max_null(values_hash, newest_key) as values_hash,
        arg_max_null(salesforce_id, newest_key) as salesforce_id,
        arg_max_null(operation, newest_key) as operation,
        arg_max_null(created, newest_key) as created
    from ordered_results
    where success
    group by key_value

)
{%- endmacro %}
