{#- Alert: an object (sync) or model (push, merge) whose last N runs all ended other than
    ok (failed, skipped, refused). N: the argument `runs`, else var
    `lht_alert_failures_in_a_row` (3). Returns one row per such object or model with its
    last error. Warns by default (var `lht_alert_severity`). -#}
{% test lht_alert_failing_in_a_row(model, runs=none) %}
{{ config(severity=lht.lht_alert_severity('lht_alert_failing_in_a_row'), tags=['lht_alerts']) }}
{%- set n = lht.lht_alert_threshold(runs, 'lht_alert_failures_in_a_row', 3) | int -%}

with

history as (

    select
        command,
        object_name,
        outcome,
        started_at,
        error_message,
        row_number() over (
            partition by command, object_name order by started_at desc, run_id desc
        ) as recency
    from {{ model }}
    where object_name is not null

),

recent as (

    select * from history
    where recency <= {{ n }}

),

streaks as (

    select
        command,
        object_name,
        count(*) as runs_counted,
        sum(case when outcome = 'ok' then 0 else 1 end) as runs_not_ok,
        max(started_at) as last_run_at,
        max(case when recency = 1 then error_message end) as last_error
    from recent
    group by command, object_name

),

final as (

    select * from streaks
    where runs_counted = {{ n }} and runs_not_ok = {{ n }}

)

select * from final
{% endtest %}
