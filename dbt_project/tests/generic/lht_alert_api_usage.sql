{#- Alert: on the newest day of lht_api_usage, the org's API usage seen by lht's runs went
    past a share of its daily limit. The share: the argument `share`, else var
    `lht_alert_api_usage_share` (0.8). Warns by default (var `lht_alert_severity`). -#}
{% test lht_alert_api_usage(model, share=none) %}
{{ config(severity=lht.lht_alert_severity('lht_alert_api_usage'), tags=['lht_alerts']) }}
{%- set limit = lht.lht_alert_threshold(share, 'lht_alert_api_usage_share', 0.8) -%}

with

newest as (

    select * from {{ model }}
    where daily_limit > 0
    qualify row_number() over (order by usage_date desc) = 1

),

final as (

    select usage_date, peak_used, daily_limit, peak_share, lht_api_calls
    from newest
    where peak_share > {{ limit }}

)

select * from final
{% endtest %}
