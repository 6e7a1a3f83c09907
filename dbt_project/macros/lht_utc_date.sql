{#- The UTC calendar date of a timestamp with time zone (the loader stores them in UTC). -#}
{% macro lht_utc_date(expression) %}
    {{- return(adapter.dispatch('lht_utc_date', 'lht')(expression)) -}}
{% endmacro %}

{#- Snowflake's TIMESTAMP_TZ keeps its offset (UTC here): its date is the UTC date. -#}
{% macro default__lht_utc_date(expression) -%}
    cast({{ expression }} as date)
{%- endmacro %}

{#- DuckDB casts a TIMESTAMPTZ to a date in the session's time zone: convert to UTC first. -#}
{% macro duckdb__lht_utc_date(expression) -%}
    cast(timezone('UTC', {{ expression }}) as date)
{%- endmacro %}
