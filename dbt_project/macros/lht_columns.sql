{#- Columns of a relation as [{name, quoted}], names as the warehouse reports them
    (API names on DuckDB, upper case on Snowflake).

    A dbt unit test replaces the model's inputs by fixture CTEs, which cannot be
    introspected: there the columns are the ones the test declares in its
    `lht_unit_test_columns` var override ({staging: [...], main: [...]}). -#}
{% macro lht_columns(relation, role) %}
    {%- set columns = [] -%}
    {%- if lht.lht_is_fixture(relation) -%}
        {%- set declared = var('lht_unit_test_columns', {}) -%}
        {%- if role not in declared -%}
            {{ exceptions.raise_compiler_error(
                "lht: this unit test must declare its " ~ role ~ " columns in "
                ~ "`overrides: vars: lht_unit_test_columns: {" ~ role ~ ": [...]}`.") }}
        {%- endif -%}
        {%- for name in declared[role] -%}
            {%- do columns.append({'name': name, 'quoted': name}) -%}
        {%- endfor -%}
    {%- elif execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do columns.append({'name': column.name, 'quoted': adapter.quote(column.name)}) -%}
        {%- endfor -%}
        {%- if not columns -%}
            {{ exceptions.raise_compiler_error(
                "lht: " ~ relation ~ " does not exist or has no columns; run `lht sync` for this object first.") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(columns) }}
{% endmacro %}


{#- The lower-case names of a relation's columns (see `lht_columns`). -#}
{% macro lht_column_names(relation, role) %}
    {%- set names = [] -%}
    {%- for column in lht.lht_columns(relation, role) -%}{%- do names.append(column.name | lower) -%}{%- endfor -%}
    {{ return(names) }}
{% endmacro %}


{#- True for the fixture CTE a unit test puts in place of a source or of `this`. -#}
{% macro lht_is_fixture(relation) %}
    {%- if relation is string -%}
        {{ return(relation.startswith('__dbt__cte__')) }}
    {%- endif -%}
    {{ return(relation.type == 'cte' or (relation.identifier or '').startswith('__dbt__cte__')) }}
{% endmacro %}


{#- The first column of `columns` named `name` (case-insensitive), or none. -#}
{% macro lht_find_column(columns, name) %}
    {%- for column in columns if column.name | lower == name | lower -%}
        {{ return(column) }}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}


{#- The Salesforce columns of an object's staging relation: all but lht's metadata. -#}
{% macro lht_data_columns(staging) %}
    {%- set metadata = ['_lht_batch_id', '_lht_extracted_at', '_lht_kind'] -%}
    {%- set columns = [] -%}
    {%- for column in lht.lht_columns(staging, 'staging') if column.name | lower not in metadata -%}
        {%- do columns.append(column) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}
