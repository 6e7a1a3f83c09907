{#- Columns of partial rows and of fields gone from describe (docs/design.md, "Main tables").

    `fields` rows (`_lht_kind = 'fields'`) backfill fields lht had not loaded before: per Id,
    the non-null values of the fields rows newer (by batch) than the winning record fill
    every data column but Id, the version column and IsDeleted. -#}
{% macro lht_fill_columns(data_columns, version_column, is_deleted_column) %}
    {%- set skip = ['id'] -%}
    {%- if version_column is not none -%}{%- do skip.append(version_column.name | lower) -%}{%- endif -%}
    {%- if is_deleted_column is not none -%}{%- do skip.append(is_deleted_column.name | lower) -%}{%- endif -%}
    {%- set columns = [] -%}
    {%- for column in data_columns if column.name | lower not in skip -%}
        {%- do columns.append(column) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}


{#- The staging columns of fields the newest cached describe no longer lists (access revoked
    or field deleted): records read since carry NULL there, so the models keep each Id's
    last non-null value. No cached describe: none. -#}
{% macro lht_gone_columns(object_name, data_columns, staging_relation) %}
    {%- set gone = [] -%}
    {%- set describe = lht.lht_cached_describe(object_name, staging_relation) -%}
    {%- if describe is none -%}{{ return(gone) }}{%- endif -%}
    {%- set listed = [] -%}
    {%- for field in describe.get('fields', []) -%}
        {%- do listed.append(field['name'] | lower) -%}
    {%- endfor -%}
    {%- for column in data_columns if column.name | lower not in listed -%}
        {%- do gone.append(column) -%}
    {%- endfor -%}
    {{ return(gone) }}
{% endmacro %}
