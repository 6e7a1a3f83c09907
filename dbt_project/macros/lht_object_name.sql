{#- An object API name checked against docs/design.md's rule before it reaches any SQL. -#}
{% macro lht_object_name(object_name) -%}
    {%- if not modules.re.fullmatch('[A-Za-z][A-Za-z0-9_]*', object_name | string) -%}
        {{ exceptions.raise_compiler_error(
            "lht: '" ~ object_name ~ "' is not a Salesforce API name; "
            ~ "use letters, digits and underscores, starting with a letter (e.g. Account, Invoice__c).") }}
    {%- endif -%}
    {{ return(object_name | string) }}
{%- endmacro %}
