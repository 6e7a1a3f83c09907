{#- Alert: a push model whose newest run had Salesforce reject more than a share of the
    rows it sent (rows_failed / rows_sent). The share: the argument `share`, else var
    `lht_alert_push_failed_share` (0.05). Warns by default (var `lht_alert_severity`). -#}
{% test lht_alert_push_failed_share(model, share=none) %}
{{ config(severity=lht.lht_alert_severity('lht_alert_push_failed_share'), tags=['lht_alerts']) }}
{%- set limit = lht.lht_alert_threshold(share, 'lht_alert_push_failed_share', 0.05) -%}

with

newest as (

    select * from {{ model }}
    where command = 'push' and object_name is not null
    qualify row_number() over (partition by object_name order by started_at desc, run_id desc) = 1

),

shares as (

    select
        object_name as push_name,
        run_id,
        started_at,
        rows_sent,
        rows_failed,
        cast(rows_failed as {{ dbt.type_float() }}) / rows_sent as failed_share,
        error_message
    from newest
    where rows_sent > 0

),

final as (

    select * from shares
    where failed_share > {{ limit }}

)

select * from final
{% endtest %}
