{#- `mirror: true`: the records this push created earlier whose key has left the model
    and that are not deleted yet, with the Salesforce Id to delete. -#}
{% macro lht_push_mirror_deletes(relation, results, push_name, key) %}
    {{- return(adapter.dispatch('lht_push_mirror_deletes', 'lht')(relation, results, push_name, key)) -}}
{% endmacro %}

{% macro default__lht_push_mirror_deletes(relation, results, push_name, key) -%}
with

model_keys as (

    select distinct cast({{ adapter.quote(key) }} as {{ dbt.type_string() }}) as key_value
    from {{ relation }}

),

{{ lht.lht_push_latest_results(results, push_name) }},

final as (

    select
        'delete' as _lht_action,
        'gone' as _lht_change,
        created_keys.key_value as _lht_key,
        last_successes.salesforce_id as _lht_salesforce_id
    from created_keys
    inner join last_successes on last_successes.key_value = created_keys.key_value
    left join model_keys on model_keys.key_value = created_keys.key_value
    where model_keys.key_value is null
        and last_successes.operation not in ('delete', 'hard_delete')
        and last_successes.salesforce_id is not null

)

select * from final
{%- endmacro %}
