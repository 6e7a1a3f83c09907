{#- Writes a description on every column of an lht model into the warehouse (run as the
    model's post-hook), so `dbt docs generate` finds them in the catalog and any SQL
    client shows them. A column's description is, first found:
    1. the column's description in the project's properties YAML (the user's word wins);
    2. for a Salesforce field, `lht.lht_field_description` of the field in the newest
       describe cached in <staging>._lht_describe (label, type, inline help text);
    3. for an lht column (`_lht_batch_id`, `valid_from`, ...), its meaning;
    4. a sentence saying the field is not in the cached describe.
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
    {%- for name, column in model.columns.items() if column.description -%}
        {%- do documented.update({name | lower: column.description}) -%}
    {%- endfor -%}
    {%- set meanings = lht.lht_column_meanings() -%}
    {%- set column_dict = {} -%}
    {%- for column in adapter.get_columns_in_relation(this) -%}
        {%- set key = column.name | lower -%}
        {%- if key in documented -%}
            {%- set text = documented[key] -%}
        {%- elif key in described -%}
            {%- set text = lht.lht_field_description(object_name, described[key]) -%}
        {%- elif key in meanings -%}
            {%- set text = meanings[key] -%}
        {%- else -%}
            {%- set text = object_name ~ "." ~ column.name ~ ": a Salesforce field not in the cached describe "
                           ~ "(run lht sync to refresh it)." -%}
        {%- endif -%}
        {%- do column_dict.update({column.name: {'name': column.name, 'description': text, 'quote': true}}) -%}
    {%- endfor -%}
    {%- if column_dict -%}
        {%- do run_query(alter_column_comment(this, column_dict)) -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
