{#- The formula (calculated) columns of an object, as entries of `data_columns`.

    The var `lht_formula_columns` ({Account: [Formula__c]}) wins when it names the object;
    otherwise the newest describe the loader cached in <staging>._lht_describe decides
    (fields with `calculated: true`). No describe means no formula columns: formula rows
    are then ignored (docs/design.md, "Main tables"). -#}
{% macro lht_formula_columns(object_name, data_columns, staging_relation) %}
    {%- set names = [] -%}
    {%- set declared = var('lht_formula_columns', {}) or {} -%}
    {%- set ns = namespace(found=false) -%}
    {%- for key, value in declared.items() if key | lower == object_name | lower -%}
        {%- set ns.found = true -%}
        {%- do names.extend(value) -%}
    {%- endfor -%}
    {%- if not ns.found and execute and not lht.lht_is_fixture(staging_relation) -%}
        {%- do names.extend(lht.lht_described_formula_fields(object_name, staging_relation)) -%}
    {%- endif -%}
    {%- set formula_columns = [] -%}
    {%- for name in names -%}
        {%- set column = lht.lht_find_column(data_columns, name) -%}
        {%- if column is not none -%}{%- do formula_columns.append(column) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(formula_columns) }}
{% endmacro %}


{#- Names of the calculated fields in the newest cached describe of `object_name`. -#}
{% macro lht_described_formula_fields(object_name, staging_relation) %}
    {%- set describe = lht.lht_cached_describe(object_name, staging_relation) or {} -%}
    {%- set names = [] -%}
    {%- for field in describe.get('fields', []) if field.get('calculated') -%}
        {%- do names.append(field['name']) -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
