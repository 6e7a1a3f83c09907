{#- A main (or history) table's columns follow their staging column's type.

    When a field's type changes in Salesforce the loader widens its staging column to a type
    that holds the old and the new values exactly (docs/design.md, "Type changes"): a larger
    decimal, or text. Before each incremental build a pre-hook gives the model's column the
    staging column's type when the two differ that way, so the merge casts nothing away.
    Only text and exact-number differences are followed; a table that does not exist yet
    is left alone (its first build takes staging's types). -#}
{% macro lht_follow_staging_types(object_name) %}
    {{- config(pre_hook=["{{ lht.lht_align_column_types(source('salesforce_staging', '"
                         ~ (object_name | lower) ~ "'), this) }}"]) -}}
{% endmacro %}


{#- Retype `target`'s columns to their `staging` counterpart's type where staging is text
    and the target is not, or both are exact numbers of another precision or scale. -#}
{% macro lht_align_column_types(staging, target) %}
    {{ return(adapter.dispatch('lht_align_column_types', 'lht')(staging, target)) }}
{% endmacro %}

{% macro default__lht_align_column_types(staging, target) %}
    {%- if not execute or lht.lht_is_fixture(staging) or lht.lht_is_fixture(target) -%}{{ return('') }}{%- endif -%}
    {%- set existing = adapter.get_relation(database=target.database, schema=target.schema,
                                            identifier=target.identifier) -%}
    {%- if existing is none or not lht.lht_relation_exists(staging) -%}{{ return('') }}{%- endif -%}
    {%- set main = {} -%}
    {%- for column in adapter.get_columns_in_relation(existing) -%}
        {%- do main.update({column.name | lower: column}) -%}
    {%- endfor -%}
    {%- for column in adapter.get_columns_in_relation(staging) -%}
        {%- set current = main.get(column.name | lower) -%}
        {%- if current is not none -%}
            {%- set want = lht.lht_type_shape(column) -%}
            {%- set have = lht.lht_type_shape(current) -%}
            {%- if want != have and (want == 'text' or (want.startswith('decimal') and have.startswith('decimal'))) -%}
                {%- do log("lht: " ~ existing ~ "." ~ current.name ~ " follows its staging column: "
                           ~ have ~ " -> " ~ want, info=true) -%}
                {%- do lht.lht_retype_column(existing, current.name, column.data_type) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}


{#- `text`, `decimal(p,s)` for exact numbers (integers are decimal(19,0) on DuckDB), else
    the lower-cased type name. -#}
{% macro lht_type_shape(column) %}
    {%- set t = column.data_type | lower -%}
    {%- if column.is_string() or t.startswith('varchar') or t.startswith('text') or t.startswith('character varying') -%}
        {{ return('text') }}
    {%- endif -%}
    {%- set m = modules.re.match('^(?:decimal|numeric|number)\\s*\\(\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\)', t) -%}
    {%- if m -%}
        {{ return('decimal(' ~ m.group(1) ~ ',' ~ m.group(2) ~ ')') }}
    {%- elif t in ('bigint', 'hugeint', 'integer') -%}
        {{ return('decimal(19,0)') }}
    {%- elif t in ('number', 'decimal', 'numeric') -%}
        {{ return('decimal(' ~ (column.numeric_precision or 38) ~ ',' ~ (column.numeric_scale or 0) ~ ')') }}
    {%- endif -%}
    {{ return(t) }}
{% endmacro %}


{#- Give one column a new type, keeping its values (cast). DuckDB changes it in place;
    Snowflake cannot change a NUMBER's scale or a number into text in place, so a new
    column is filled with the cast values and takes the old one's name. -#}
{% macro lht_retype_column(relation, column_name, new_type) %}
    {{ return(adapter.dispatch('lht_retype_column', 'lht')(relation, column_name, new_type)) }}
{% endmacro %}

{% macro duckdb__lht_retype_column(relation, column_name, new_type) %}
    {%- set col = adapter.quote(column_name) -%}
    {% do run_query("alter table " ~ relation ~ " alter column " ~ col ~ " set data type " ~ new_type
                    ~ " using cast(" ~ col ~ " as " ~ new_type ~ ")") %}
{% endmacro %}

{% macro default__lht_retype_column(relation, column_name, new_type) %}
    {%- set col = adapter.quote(column_name) -%}
    {%- set tmp = adapter.quote(column_name ~ '__lht_retype') -%}
    {% do run_query("alter table " ~ relation ~ " add column if not exists " ~ tmp ~ " " ~ new_type) %}
    {% do run_query("update " ~ relation ~ " set " ~ tmp ~ " = cast(" ~ col ~ " as " ~ new_type ~ ")") %}
    {% do run_query("alter table " ~ relation ~ " drop column " ~ col) %}
    {% do run_query("alter table " ~ relation ~ " rename column " ~ tmp ~ " to " ~ col) %}
{% endmacro %}
