{#- The org's daily API usage as lht's runs saw it, one row per UTC day: the peak of the
    daily requests used (Salesforce's Sforce-Limit-Info header, or the limits resource a run
    already read: no call is made for it), the daily limit, and the calls lht's own runs
    made that day. Salesforce counts a rolling 24 hours; a day here is the UTC date a run
    ended. Days without a run are absent. -#}
{{ config(
    materialized='table',
    schema=var('lht_schema', env_var('LHT_SCHEMA', 'salesforce')),
) }}

with

runs as (

    select * from {{ ref('lht_runs') }}

),

days as (

    select
        {{ lht.lht_utc_date('finished_at') }} as usage_date,
        sum(api_calls) as lht_api_calls,
        max(api_usage_used) as peak_used,
        max(api_usage_limit) as daily_limit,
        count(distinct run_id) as runs,
        max(finished_at) as last_seen_at
    from runs
    group by 1

),

final as (

    select
        usage_date,
        cast(lht_api_calls as {{ dbt.type_bigint() }}) as lht_api_calls,
        peak_used,
        daily_limit,
        case
            when daily_limit > 0 then cast(peak_used as {{ dbt.type_float() }}) / daily_limit
        end as peak_share,
        cast(runs as {{ dbt.type_bigint() }}) as runs,
        last_seen_at
    from days

)

select * from final
