{#- One text fingerprint of a push row's values: md5 over every column, each written as
    `<length>:<text>` (or `~` for NULL) so that no two different rows read alike. The
    change set compares it with the fingerprint of the values Salesforce last accepted.
    The parts go through one `concat` call (none is NULL), not a chain of `||`: the same
    text, built without an intermediate string per column (about a third cheaper on DuckDB). -#}
{% macro lht_push_values_hash(columns) %}
    {{- return(adapter.dispatch('lht_push_values_hash', 'lht')(columns)) -}}
{% endmacro %}

{% macro default__lht_push_values_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- set text = 'cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ ')' -%}
        {%- if not loop.first -%}
            {%- do parts.append("','") -%}
        {%- endif -%}
        {%- do parts.append("coalesce(cast(length(" ~ text ~ ") as " ~ dbt.type_string() ~ ") || ':' || " ~ text ~ ", '~')") -%}
    {%- endfor -%}
    {%- if parts | length > 1 -%}
    md5(concat({{ parts | join(", ") }}))
    {%- else -%}
    md5({{ parts[0] if parts else "''" }})
    {%- endif -%}
{%- endmacro %}

{#- DuckDB: its `concat` skips NULL arguments, so each column is `<length>:` (or `~` when
    NULL) followed by its text as a separate argument: the same text as the default, with
    one intermediate string per column fewer (a quarter cheaper). -#}
{% macro duckdb__lht_push_values_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- set text = 'cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ ')' -%}
        {%- if not loop.first -%}
            {%- do parts.append("','") -%}
        {%- endif -%}
        {%- do parts.append("coalesce(cast(length(" ~ text ~ ") as " ~ dbt.type_string() ~ ") || ':', '~')") -%}
        {%- do parts.append(text) -%}
    {%- endfor -%}
    md5({{ "concat(" ~ parts | join(", ") ~ ")" if parts else "''" }})
{%- endmacro %}
