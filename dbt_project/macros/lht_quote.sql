{#- `name` as a quoted identifier, exactly as given (no case change), an embedded `"`
    doubled: the second line of defence behind the name checks (`lht_check_name`).
    dbt's `adapter.quote` does not escape it. -#}
{% macro lht_quote(name) %}
    {{- return(adapter.dispatch('lht_quote', 'lht')(name)) -}}
{% endmacro %}

{% macro default__lht_quote(name) -%}
    {{- return('"' ~ (name | string | replace('"', '""')) ~ '"') -}}
{%- endmacro %}
