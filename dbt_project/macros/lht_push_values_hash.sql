{#- One text fingerprint of a push row's values: md5 over every column, each written as
    `<length>:<text>` (or `~` for NULL) so that no two different rows read alike. The
    change set compares it with the fingerprint of the values Salesforce last accepted.
    The parts go through one `concat` call, not a chain of `||`: the same text, built
    without an intermediate string per column (about a third cheaper on DuckDB). -#}
{% macro lht_push_values_hash(columns) %}
    {{- return(adapter.dispatch('lht_push_values_hash', 'lht')(columns)) -}}
{% endmacro %}

{#- Every part is `coalesce(<length> || ':' || <text>, '~')`: none is NULL. -#}
{% macro default__lht_push_values_hash(columns) -%}
    {{ lht.lht_push_hash_of(columns, concat_skips_nulls=false) }}
{%- endmacro %}

{#- DuckDB: its `concat` skips NULL arguments, so each column is `<length>:` (or `~` when
    NULL) followed by its text as a separate argument: the same text, with one more
    intermediate string per column saved (a quarter cheaper). -#}
{% macro duckdb__lht_push_values_hash(columns) -%}
    {{ lht.lht_push_hash_of(columns, concat_skips_nulls=true) }}
{%- endmacro %}

{#- The md5 of the fingerprint text; `concat_skips_nulls`: the engine's `concat` drops NULL
    arguments, so a column's text can be an argument of its own. -#}
{% macro lht_push_hash_of(columns, concat_skips_nulls) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- set text = 'cast(' ~ lht.lht_quote(column) ~ ' as ' ~ dbt.type_string() ~ ')' -%}
        {%- set length = 'cast(length(' ~ text ~ ') as ' ~ dbt.type_string() ~ ')' -%}
        {%- if not loop.first -%}
            {%- do parts.append("','") -%}
        {%- endif -%}
        {%- if concat_skips_nulls -%}
            {%- do parts.append("coalesce(" ~ length ~ " || ':', '~')") -%}
            {%- do parts.append(text) -%}
        {%- else -%}
            {%- do parts.append("coalesce(" ~ length ~ " || ':' || " ~ text ~ ", '~')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if parts | length > 1 -%}
    md5(concat({{ parts | join(", ") }}))
    {%- else -%}
    md5({{ parts[0] if parts else "''" }})
    {%- endif -%}
{%- endmacro %}
