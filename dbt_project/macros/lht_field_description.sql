{#- The description of one Salesforce field, from its describe entry: label, API name and
    type (with the referenced objects, or "formula"), then the inline help text, e.g.
    "Parent Account (Account.ParentId: reference to Account). The company this one belongs to."
    Dispatched, so a project can write its own (`dispatch` config, as for dbt-utils). -#}
{% macro lht_field_description(object_name, field) %}
    {{- return(adapter.dispatch('lht_field_description', 'lht')(object_name, field)) -}}
{% endmacro %}

{% macro default__lht_field_description(object_name, field) %}
    {%- set kind = field.get('type') or 'unknown type' -%}
    {%- if field.get('referenceTo') -%}
        {%- set kind = kind ~ ' to ' ~ (field['referenceTo'] | join(', ')) -%}
    {%- endif -%}
    {%- if field.get('calculated') -%}
        {%- set kind = kind ~ ', formula' -%}
    {%- endif -%}
    {%- set text = (field.get('label') or field['name']) ~ ' (' ~ object_name ~ '.' ~ field['name'] ~ ': ' ~ kind ~ ').' -%}
    {%- set help = (field.get('inlineHelpText') or '') | trim -%}
    {%- if help -%}
        {%- set text = text ~ ' ' ~ help -%}
    {%- endif -%}
    {{ return(text) }}
{% endmacro %}
