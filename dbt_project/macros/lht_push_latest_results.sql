{#- Two CTEs over a push's result rows: `last_attempts` (the newest attempt per key) and
    `last_successes` (the newest accepted one: the values Salesforce holds from this push).
    Ties on `attempted_at` are broken by the writer's batch id (write order). -#}
{% macro lht_push_latest_results(results, push_name) %}
    {{- return(adapter.dispatch('lht_push_latest_results', 'lht')(results, push_name)) -}}
{% endmacro %}

{% macro default__lht_push_latest_results(results, push_name) -%}
push_results as (

    select * from {{ results }}
    where push_name = {{ dbt.string_literal(push_name) }}

),

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

),

created_keys as (

    -- keys whose record this push created (insert, or an upsert that created)
    select key_value
    from push_results
    where success and created
    group by key_value

)
{%- endmacro %}
