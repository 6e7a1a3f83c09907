{#- The severity of lht's alert tests (tests/generic/lht_alert_*.sql): var
    `lht_alert_severity`, `warn` (the default) or `error`, or a mapping naming alerts and a
    `default` ({lht_alert_api_usage: error, default: warn}). -#}
{% macro lht_alert_severity(alert) %}
    {%- set setting = var('lht_alert_severity', 'warn') -%}
    {%- if setting is mapping -%}
        {%- set setting = setting.get(alert, setting.get('default', 'warn')) -%}
    {%- endif -%}
    {%- set setting = (setting | string | lower) -%}
    {%- if setting not in ('warn', 'error') -%}
        {{ exceptions.raise_compiler_error(
            "lht: var lht_alert_severity gives " ~ alert ~ " the severity '" ~ setting
            ~ "'; use warn or error (or a mapping such as {" ~ alert ~ ": error, default: warn}).") }}
    {%- endif -%}
    {{- return(setting) -}}
{% endmacro %}

{#- A threshold of an alert: the test's argument when given, else the var, else `default`;
    a number, or a compile error naming the var. -#}
{% macro lht_alert_threshold(given, var_name, default) %}
    {%- set value = given if given is not none else var(var_name, default) -%}
    {%- if value is not number -%}
        {%- set value = value | float(none) if value is string else none -%}
    {%- endif -%}
    {%- if value is none -%}
        {{ exceptions.raise_compiler_error("lht: var " ~ var_name ~ " must be a number.") }}
    {%- endif -%}
    {{- return(value) -}}
{% endmacro %}

{#- The objects registered in the project: the tables of the `salesforce_staging` source,
    lower-cased ([] while the graph is not available). -#}
{% macro lht_registered_objects() %}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() -%}
            {%- if node.source_name == 'salesforce_staging' and (node.name | lower) not in names -%}
                {%- do names.append(node.name | lower) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(names | sort) -}}
{% endmacro %}
