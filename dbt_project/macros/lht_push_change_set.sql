{#- The change set of one push: every row of the push model with what to do about it, and,
    with `mirror`, the records the push created whose key left the model. The SQL behind
    each `lht_push_changes` view (lht push reads nothing else); `columns` are the model's
    columns as the warehouse stores them, names already checked (`lht_push_changes`).

    `_lht_change` says why: `new` (never accepted for this key), `retry` (the last attempt
    failed), `changed` (values differ from those Salesforce last accepted), `unchanged`, or
    `gone` (a mirror deletion). `_lht_action` is the operation to send (`insert`, `update`,
    `upsert`, `delete`, `hard_delete`) or `none`; `_lht_full_action` the one `--full` sends
    (every row, but an insert never creates a key's record twice). `_lht_key_rows` counts
    the model's rows with the same key (a push is refused when it is above 1, or the key is
    NULL). `results` is the results staging table (`_lht_push_results`), read live: a push
    right after another sees what the other had accepted, with or without a `dbt build`
    between. `results_live` is false when that table did not exist when the view was built
    (an empty stand-in is read then); `_lht_spec` carries it and the options the view was
    built with, so lht push can tell a view that needs `dbt build` again. -#}
{% macro lht_push_change_set(relation, results, push_name, operation, key, columns, mirror=false, results_live=true) %}
    {{- return(adapter.dispatch('lht_push_change_set', 'lht')(relation, results, push_name, operation, key, columns, mirror, results_live)) -}}
{% endmacro %}

{% macro default__lht_push_change_set(relation, results, push_name, operation, key, columns, mirror, results_live) -%}
{%- set deletes = operation in ('delete', 'hard_delete') -%}
{%- set hashed = [key] if deletes else [] -%}
{%- for column in columns if not deletes and not column.startswith('_') -%}{%- do hashed.append(column) -%}{%- endfor -%}
{%- set text = dbt.type_string() -%}
{%- set spec = tojson({'operation': operation, 'key': key, 'mirror': mirror, 'results_live': results_live}) -%}
{%- set quoted = [] -%}
{%- for column in columns -%}{%- do quoted.append(lht.lht_quote(column)) -%}{%- endfor -%}
with

model as (

    select {{ quoted | join(', ') }}
    from {{ relation }}

),

{% if results_live -%}
push_results as (

    select push_name, key_value, operation, success, salesforce_id, created, values_hash, attempted_at, _lht_batch_id
    from {{ results }}
    where push_name = {{ dbt.string_literal(push_name) }}

),
{%- else -%}
push_results as (

    -- the results staging table did not exist when this view was built: no results yet
    select
        cast(null as {{ text }}) as push_name,
        cast(null as {{ text }}) as key_value,
        cast(null as {{ text }}) as operation,
        cast(null as {{ dbt.type_boolean() }}) as success,
        cast(null as {{ text }}) as salesforce_id,
        cast(null as {{ dbt.type_boolean() }}) as created,
        cast(null as {{ text }}) as values_hash,
        {{ lht.lht_now() }} as attempted_at,
        cast(null as {{ text }}) as _lht_batch_id
    where 1 = 0

),
{%- endif %}

{{ lht.lht_push_newest_per_key() }},

rows_now as (

    select
        cast({{ lht.lht_quote(key) }} as {{ text }}) as _lht_key,
        {{ lht.lht_push_values_hash(hashed) }} as _lht_values_hash,
        model.*
    from model

),

compared as (

    select
        rows_now.*,
        count(*) over (partition by rows_now._lht_key) as _lht_key_rows,
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
            else 'unchanged'
        end as _lht_change
    from compared

),

{% if mirror -%}
created_keys as (

    -- keys whose record this push created (insert, or an upsert that created)
    select key_value
    from push_results
    where success and created
    group by key_value

),

model_keys as (

    select distinct _lht_key as key_value
    from rows_now

),

gone as (

    -- created by this push, not in the model any more, not deleted yet
    select
        created_keys.key_value as _lht_key,
        last_successes.salesforce_id as _lht_salesforce_id
    from created_keys
    inner join last_successes on last_successes.key_value = created_keys.key_value
    left join model_keys on model_keys.key_value = created_keys.key_value
    where model_keys.key_value is null
        and last_successes.operation not in ('delete', 'hard_delete')
        and last_successes.salesforce_id is not null

),

no_model_row as (

    select * from model where 1 = 0

),

{% endif -%}
final as (

    select
        case
            {%- if operation == 'insert' or deletes %}
            when _lht_accepted_hash is null then '{{ operation }}'
            {%- else %}
            when _lht_change <> 'unchanged' then '{{ operation }}'
            {%- endif %}
            else 'none'
        end as _lht_action,
        {% if operation == 'insert' -%}
        case when _lht_accepted_hash is null then 'insert' else 'none' end as _lht_full_action,
        {%- else -%}
        '{{ operation }}' as _lht_full_action,
        {%- endif %}
        _lht_change,
        _lht_key,
        _lht_key_rows,
        _lht_values_hash,
        _lht_accepted_hash,
        _lht_salesforce_id,
        _lht_last_success,
        {{ dbt.string_literal(spec) }} as _lht_spec,
        {{ quoted | join(', ') }}
    from classified
    {%- if mirror %}

    union all

    select
        'delete' as _lht_action,
        'delete' as _lht_full_action,
        'gone' as _lht_change,
        gone._lht_key,
        1 as _lht_key_rows,
        cast(null as {{ text }}) as _lht_values_hash,
        cast(null as {{ text }}) as _lht_accepted_hash,
        gone._lht_salesforce_id,
        cast(null as {{ dbt.type_boolean() }}) as _lht_last_success,
        {{ dbt.string_literal(spec) }} as _lht_spec,
        {%- for column in quoted %}
        no_model_row.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from gone
    left join no_model_row on 1 = 0
    {%- endif %}

)

select * from final
{%- endmacro %}
