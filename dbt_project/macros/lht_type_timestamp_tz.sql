{#- The column type of a datetime with its time zone, as the writer stores datetimes. -#}
{% macro lht_type_timestamp_tz() %}
    {{- return(adapter.dispatch('lht_type_timestamp_tz', 'lht')()) -}}
{% endmacro %}

{% macro default__lht_type_timestamp_tz() -%}
    timestamp with time zone
{%- endmacro %}

{#- DuckDB's name for it (the writer's TIMESTAMPTZ). -#}
{% macro duckdb__lht_type_timestamp_tz() -%}
    timestamptz
{%- endmacro %}

{#- Snowflake's TIMESTAMP_TZ (TIMESTAMP alone is TIMESTAMP_NTZ there). -#}
{% macro snowflake__lht_type_timestamp_tz() -%}
    timestamp_tz
{%- endmacro %}
