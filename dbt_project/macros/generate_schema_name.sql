{#- Use a model's custom schema as is (`salesforce`), not dbt's `<target schema>_<custom>`:
    the loader and every reader expect the schema names of docs/design.md. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
