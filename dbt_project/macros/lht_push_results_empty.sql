{#- The columns of `lht_push_results` with no rows: what the model holds before any push. -#}
{% macro lht_push_results_empty() %}
    {{- return(adapter.dispatch('lht_push_results_empty', 'lht')()) -}}
{% endmacro %}

{% macro default__lht_push_results_empty() -%}
{%- set text = dbt.type_string() -%}
{%- set flag = dbt.type_boolean() -%}
select
    cast(null as {{ text }}) as push_name,
    cast(null as {{ text }}) as key_value,
    cast(null as {{ text }}) as object_name,
    cast(null as {{ text }}) as operation,
    cast(null as {{ flag }}) as success,
    cast(null as {{ text }}) as salesforce_id,
    cast(null as {{ flag }}) as created,
    cast(null as {{ text }}) as error_code,
    cast(null as {{ text }}) as error_message,
    {{ lht_now() }} as attempted_at,
    {{ lht_now() }} as last_success_at,
    cast(null as {{ text }}) as accepted_values_hash,
    cast(null as {{ text }}) as job_id,
    cast(null as {{ text }}) as _lht_batch_id,
    {{ lht_now() }} as _lht_synced_at
where 1 = 0
{%- endmacro %}
