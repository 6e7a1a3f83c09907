{#- Generic test: no two rows of `model` share the values of `columns` (history models:
    one row per Id and valid_from). Fails with the repeated combinations. -#}
{% test lht_unique_combination(model, columns) %}
    {%- set keys = columns | join(', ') -%}
    select {{ keys }}, count(*) as repeats
    from {{ model }}
    group by {{ keys }}
    having count(*) > 1
{% endtest %}
