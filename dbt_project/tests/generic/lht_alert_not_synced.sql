{#- Alert: a registered object (a table of the `salesforce_staging` source) not synced
    successfully for longer than some hours, or never. The hours: the argument `hours`,
    else var `lht_alert_not_synced_hours`, else `lht_freshness_error_hours` (24). Objects
    no longer registered are left alone. Warns by default (var `lht_alert_severity`). -#}
{% test lht_alert_not_synced(model, hours=none) %}
{{ config(severity=lht.lht_alert_severity('lht_alert_not_synced'), tags=['lht_alerts']) }}
{%- set limit = lht.lht_alert_threshold(hours, 'lht_alert_not_synced_hours',
                                        var('lht_freshness_error_hours', 24)) -%}
{%- set registered = lht.lht_registered_objects() -%}

with

syncs as (

    select
        lower(object_name) as object_key,
        max(object_name) as object_name,
        max(case when outcome = 'ok' then started_at end) as last_success_at,
        max(started_at) as last_attempt_at
    from {{ model }}
    where command = 'sync' and object_name is not null
    group by lower(object_name)

),

objects as (

    {% if registered -%}
    select
        registered.object_key,
        coalesce(syncs.object_name, registered.object_key) as object_name,
        syncs.last_success_at,
        syncs.last_attempt_at
    from (
        {%- for name in registered %}
        select {{ dbt.string_literal(name) }} as object_key{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as registered
    left join syncs on syncs.object_key = registered.object_key
    {%- else -%}
    select * from syncs
    {%- endif %}

),

final as (

    select * from objects
    where last_success_at is null
        or last_success_at < {{ dbt.dateadd('minute', -((limit * 60) | int), lht.lht_now()) }}

)

select * from final
{% endtest %}
