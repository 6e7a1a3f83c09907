{#- One row per merge model and loser: the newest outcome of `lht merge` for it.

    Incremental like the main tables: only result batches newer than the table's newest
    are read; the rows of the losers they name are read back, and per loser the newest
    attempt (by attempted_at, then batch) gives the outcome, `attempts` adds up the merges
    sent (a loser found already merged is not an attempt) and `first_attempted_at` keeps
    the earliest. Before the first `lht merge` the staging table does not exist yet: the
    model is then empty. -#}
{{ config(
    materialized='incremental',
    unique_key='result_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    schema=var('lht_schema', env_var('LHT_SCHEMA', 'salesforce')),
    full_refresh=var('lht_allow_full_refresh'),
) }}
{%- set staging = source('lht_results', '_lht_merge_results') -%}
{%- set incremental = is_incremental() -%}

with

staged as (

    {% if lht.lht_relation_exists(staging) -%}
    {{ lht.lht_unmerged_batches(staging) }}
    {%- else -%}
    -- no `lht merge` has run yet
    select
        cast(null as {{ dbt.type_string() }}) as merge_name,
        cast(null as {{ dbt.type_string() }}) as object_name,
        cast(null as {{ dbt.type_string() }}) as master_id,
        cast(null as {{ dbt.type_string() }}) as loser_id,
        cast(null as {{ dbt.type_string() }}) as outcome,
        cast(null as {{ dbt.type_boolean() }}) as success,
        cast(null as {{ dbt.type_string() }}) as error_code,
        cast(null as {{ dbt.type_string() }}) as error_message,
        cast(null as {{ dbt.type_bigint() }}) as related_moved,
        cast(null as {{ lht.lht_type_timestamp_tz() }}) as attempted_at,
        cast(null as {{ dbt.type_string() }}) as _lht_batch_id
    where 1 = 0
    {%- endif %}

),

{% if incremental -%}
merged as (

    -- the rows of the losers the new batches name, and no others
    select * from {{ this }}
    where result_key in (select merge_name || '/' || loser_id from staged)

),

{% endif -%}
attempts as (

    select
        merge_name || '/' || loser_id as result_key,
        merge_name,
        object_name,
        master_id,
        loser_id,
        outcome,
        success,
        error_code,
        error_message,
        related_moved,
        attempted_at,
        case when outcome = 'already_merged' then 0 else 1 end as attempts,
        case when outcome = 'already_merged' then null else attempted_at end as first_attempted_at,
        _lht_batch_id
    from staged
    {%- if incremental %}

    union all

    select
        result_key,
        merge_name,
        object_name,
        master_id,
        loser_id,
        outcome,
        success,
        error_code,
        error_message,
        related_moved,
        attempted_at,
        attempts,
        first_attempted_at,
        _lht_batch_id
    from merged
    {%- endif %}

),

totals as (

    select
        result_key,
        sum(attempts) as attempts,
        min(first_attempted_at) as first_attempted_at,
        max(_lht_batch_id) as last_batch_id
    from attempts
    group by result_key

),

newest as (

    select * from attempts
    qualify row_number() over (
        partition by result_key order by attempted_at desc, _lht_batch_id desc
    ) = 1

),

final as (

    select
        n.result_key,
        n.merge_name,
        n.object_name,
        n.master_id,
        n.loser_id,
        n.outcome,
        n.success,
        n.error_code,
        n.error_message,
        n.related_moved,
        n.attempted_at,
        t.first_attempted_at,
        cast(t.attempts as {{ dbt.type_bigint() }}) as attempts,
        t.last_batch_id as _lht_batch_id,
        {{ lht.lht_now() }} as _lht_synced_at
    from newest as n
    inner join totals as t on t.result_key = n.result_key

)

select * from final
