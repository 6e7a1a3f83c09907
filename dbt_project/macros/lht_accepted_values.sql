{#- dbt's `accepted_values`, for a table lht creates on first use (an object's staging
    table, created by its first `lht sync`): while the table does not exist there is
    nothing to check and the test passes, so `dbt build` after syncing some objects only
    does not fail on the others. -#}
{% test lht_accepted_values(model, column_name, values, quote=true) %}
{%- if model is string or lht.lht_relation_exists(model) -%}
{{ adapter.dispatch('test_accepted_values', 'dbt')(model, column_name, values, quote) }}
{%- else -%}
-- {{ model }} does not exist yet: nothing to check
select cast(null as {{ dbt.type_string() }}) as value_field, 0 as n_records
where 1 = 0
{%- endif -%}
{% endtest %}
