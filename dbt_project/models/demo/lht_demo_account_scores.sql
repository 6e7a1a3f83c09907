{#- The demo's push (`make demo`): score every live account from its revenue and head count,
    and write the score back to Account.Account_Score__c. Enabled only with the var `lht_demo_push`
    (the demo sets it), so a project built from this one carries no push by default. -#}
{{ config(
    materialized='table',
    enabled=var('lht_demo_push', false),
    meta={'lht_push': {'object': 'Account', 'operation': 'update', 'key': 'Id'}},
) }}

with

accounts as (

    select Id, AnnualRevenue, NumberOfEmployees
    from {{ ref('account') }}
    where not _lht_is_deleted

),

scored as (

    select
        Id,
        round(
            least(60, ln(1 + coalesce(AnnualRevenue, 0)) * 3)
            + least(40, ln(1 + coalesce(NumberOfEmployees, 0)) * 5),
            2
        ) as Account_Score__c
    from accounts

)

select * from scored
