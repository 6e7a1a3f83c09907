{#- The time of this dbt run, with its time zone, for `_lht_synced_at`. -#}
{% macro lht_now() %}
    {{- return(adapter.dispatch('lht_now', 'lht')()) -}}
{% endmacro %}

{% macro default__lht_now() -%}
    {{ dbt.current_timestamp() }}
{%- endmacro %}

{#- DuckDB's current_timestamp is already a TIMESTAMPTZ, like staging's datetimes. -#}
{% macro duckdb__lht_now() -%}
    current_timestamp
{%- endmacro %}

{#- Snowflake's current_timestamp() is TIMESTAMP_LTZ; staging datetimes are TIMESTAMP_TZ. -#}
{% macro snowflake__lht_now() -%}
    cast(current_timestamp() as timestamp_tz)
{%- endmacro %}
