{#- An object API name checked against docs/design.md's rule before it reaches any SQL: the
    loader's rule (lht.names: the same pattern and length, on the whole string), repeated
    here because dbt cannot call it; tests/loader/test_names.py keeps the two equal. -#}
{% macro lht_object_name(object_name) -%}
    {%- set pattern = '[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?:__[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*){0,2}' -%}
    {%- set max_length = 80 -%}
    {%- if (object_name | string | length) > max_length or not modules.re.fullmatch(pattern, object_name | string) -%}
        {{ exceptions.raise_compiler_error(
            "lht: '" ~ object_name ~ "' is not a Salesforce object API name; use letters, digits and "
            ~ "single underscores, starting with a letter, like Account, Invoice__c or ns__Thing__c.") }}
    {%- endif -%}
    {{ return(object_name | string) }}
{%- endmacro %}
