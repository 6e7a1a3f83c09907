{#- One text fingerprint of a push row's values: md5 over every column, each written as
    `<length>:<text>` (or `~` for NULL) so that no two different rows read alike. The
    change set compares it with the fingerprint of the values Salesforce last accepted. -#}
{% macro lht_push_values_hash(columns) %}
    {{- return(adapter.dispatch('lht_push_values_hash', 'lht')(columns)) -}}
{% endmacro %}

{% macro default__lht_push_values_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- set text = 'cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ ')' -%}
        {%- do parts.append("coalesce(cast(length(" ~ text ~ ") as " ~ dbt.type_string() ~ ") || ':' || " ~ text ~ ", '~')") -%}
    {%- endfor -%}
    md5({{ parts | join(" || ',' || ") if parts else "''" }})
{%- endmacro %}
