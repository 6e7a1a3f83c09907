{#- Writes a description on every column of an lht model into the warehouse (run as the
    model's post-hook), so `dbt docs generate` finds them in the catalog and any SQL
    client shows them. A column's description is, first found:
    1. the column's description in the project's properties YAML, unless lht wrote it
       (`lht docs`, marked `meta: {lht_generated: true}`): the user's word wins;
    2. for a Salesforce field, `lht.lht_field_description` of the field in the newest
       describe cached in <staging>._lht_describe (label, type, inline help text);
    3. the description lht wrote in the YAML (a field the cached describe no longer lists);
    4. for an lht column (`_lht_batch_id`, `valid_from`, ...), its meaning;
    5. a sentence saying the field is not in the cached describe.
    Each build writes them again, so they follow the fields as they change. The var
    `lht_document_columns: false` turns it off; views are left alone. -#}
{% macro lht_document_columns(object_name) %}
    {{- return(adapter.dispatch('lht_document_columns', 'lht')(object_name)) -}}
{% endmacro %}

{% macro default__lht_document_columns(object_name) %}
    {%- if not execute or not var('lht_document_columns', true)
          or config.get('materialized') not in ['table', 'incremental'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set described = {} -%}
    {%- set cached = lht.lht_cached_describe(object_name, source('salesforce_staging', object_name | lower)) or {} -%}
    {%- for field in cached.get('fields', []) -%}
        {%- do described.update({field['name'] | lower: field}) -%}
    {%- endfor -%}
    {%- set documented = {} -%}
    {%- set generated = {} -%}
    {%- for name, column in model.columns.items() if column.description -%}
        {%- set meta = column.meta or (column.config.meta if column.config is defined else {}) or {} -%}
        {%- do (generated if meta.get('lht_generated') else documented).update({name | lower: column.description}) -%}
    {%- endfor -%}
    {%- set meanings = lht.lht_column_meanings() -%}
    {#- a table (views were left above): `this` has no type, which Snowflake's alter needs -#}
    {%- set relation = this.incorporate(type='table') -%}
    {%- set column_dict = {} -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- set key = column.name | lower -%}
        {%- if key in documented -%}
            {%- set text = documented[key] -%}
        {%- elif key in described -%}
            {%- set text = lht.lht_field_description(object_name, described[key]) -%}
        {%- elif key in generated -%}
            {%- set text = generated[key] -%}
        {%- elif key in meanings -%}
            {%- set text = meanings[key] -%}
        {%- else -%}
            {%- set text = object_name ~ "." ~ column.name ~ ": a Salesforce field not in the cached describe "
                           ~ "(run lht sync to refresh it)." -%}
        {%- endif -%}
        {%- do column_dict.update({column.name: {'name': column.name, 'description': text, 'quote': true}}) -%}
    {%- endfor -%}
    {%- if column_dict -%}
        {%- do lht.lht_comment_columns(relation, column_dict) -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{#- Write `column_dict` ({name: {name, description, quote}}) as column comments. -#}
{% macro lht_comment_columns(relation, column_dict) %}
    {{- return(adapter.dispatch('lht_comment_columns', 'lht')(relation, column_dict)) -}}
{% endmacro %}

{#- The adapter's own persist_docs statement (DuckDB: one `comment on column` per column). -#}
{% macro default__lht_comment_columns(relation, column_dict) %}
    {%- do run_query(alter_column_comment(relation, column_dict)) -%}
{% endmacro %}

{#- Snowflake: one `comment on column` per column whose comment differs from the one it
    has (so a build that changed no field writes nothing). dbt-snowflake's own statement
    (one `alter table ... alter col comment ..., ...`) is not understood by the fakesnow
    server the tests run on, and tests run what production runs. -#}
{% macro snowflake__lht_comment_columns(relation, column_dict) %}
    {%- set query -%}
        select column_name, comment from {{ relation.database }}.information_schema.columns
        where upper(table_schema) = upper({{ dbt.string_literal(relation.schema) }})
          and upper(table_name) = upper({{ dbt.string_literal(relation.identifier) }})
    {%- endset -%}
    {%- set current = {} -%}
    {%- for row in run_query(query).rows -%}
        {%- do current.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- for name, column in column_dict.items() if current.get(name) != column.description -%}
        {%- set text = column.description | replace('\\', '\\\\') -%}
        {%- call statement('lht_comment_column') -%}
            comment on column {{ relation }}.{{ adapter.quote(name) }} is '{{ dbt.escape_single_quotes(text) }}'
        {%- endcall -%}
    {%- endfor -%}
{% endmacro %}
