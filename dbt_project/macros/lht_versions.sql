{#- How versions of a record are ordered (docs/design.md, "Main tables" rule 2). -#}

{#- The column that dates a version: SystemModstamp, else LastModifiedDate, else
    CreatedDate (the loader's watermark rule), else none (batch order only). -#}
{% macro lht_version_column(data_columns) %}
    {%- for name in ['SystemModstamp', 'LastModifiedDate', 'CreatedDate'] -%}
        {%- set column = lht.lht_find_column(data_columns, name) -%}
        {%- if column is not none -%}{{ return(column) }}{%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}


{#- `order by` terms, newest version first. -#}
{% macro lht_newest_first(version_column, prefix='') -%}
    {%- if version_column is not none -%}
        {{ prefix }}{{ version_column.quoted }} desc nulls last, {% endif -%}
    {{ prefix }}_lht_batch_id desc
{%- endmacro %}


{#- True when version (a_at, a_batch) is newer than (b_at, b_batch): later in time, or
    tied (or undated) and written in a later batch. -#}
{% macro lht_is_newer(a_at, a_batch, b_at, b_batch) -%}
    {%- if a_at is none -%}
        coalesce({{ a_batch }} > {{ b_batch }}, false)
    {%- else -%}
        coalesce(
            {{ a_at }} > {{ b_at }}
            or ({{ a_at }} = {{ b_at }} and {{ a_batch }} > {{ b_batch }})
            or (({{ a_at }} is null or {{ b_at }} is null) and {{ a_batch }} > {{ b_batch }}),
            false)
    {%- endif -%}
{%- endmacro %}
