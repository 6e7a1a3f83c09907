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


{#- Per Id, the newest row of `relation` whose `_lht_kind` is `kind`: its Id, its version
    (as `at_name`, when the object has a version column) and its batch (as `batch_name`). -#}
{% macro lht_newest_of_kind(relation, kind, version_column, at_name, batch_name) -%}
    select
        Id,
        {% if version_column is not none -%}
        {{ version_column.quoted }} as {{ at_name }},
        {% endif -%}
        _lht_batch_id as {{ batch_name }}
    from {{ relation }}
    where _lht_kind = {{ dbt.string_literal(kind) }}
    qualify row_number() over (partition by Id order by {{ lht.lht_newest_first(version_column) }}) = 1
{%- endmacro %}
