{#- Keys a push cannot send: NULL keys and keys found on more than one row of the model
    (a push is refused when there are any), first ones first. -#}
{% macro lht_push_key_problems(relation, key) %}
    {{- return(adapter.dispatch('lht_push_key_problems', 'lht')(relation, key)) -}}
{% endmacro %}

{% macro default__lht_push_key_problems(relation, key) -%}
with

keys as (

    select cast({{ adapter.quote(key) }} as {{ dbt.type_string() }}) as key_value
    from {{ relation }}

),

final as (

    select key_value, count(*) as rows_with_key
    from keys
    group by key_value
    having count(*) > 1 or key_value is null

)

select * from final
{%- endmacro %}
