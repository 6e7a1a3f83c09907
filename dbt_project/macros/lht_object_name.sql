{#- An object API name checked against docs/design.md's rule before it reaches any SQL: the
    loader's rule (`lht_check_name(..., 'object', ...)`, the patterns of lht_names.sql that a
    test keeps equal to lht.names). -#}
{% macro lht_object_name(object_name) -%}
    {{ return(lht.lht_check_name(object_name | string, 'object', 'lht: Salesforce object')) }}
{%- endmacro %}
