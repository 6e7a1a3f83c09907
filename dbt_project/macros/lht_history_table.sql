{#- The version history of one Salesforce object (opt-in: a model file
    `<object>_history.sql` holding `{{ lht.lht_history_table('Account') }}`).

    One row per version, like a dbt snapshot with `hard_deletes: new_record`: a version
    is valid from its SystemModstamp until the next version's (`valid_to`, null while
    current). A delete marker or a record in the recycle bin (IsDeleted) is a version of
    its own with `_lht_is_deleted = true`, which closes the version before it; an undelete
    opens a new version. A version re-extracted in several batches counts once. Only the
    Ids found in new batches are read back and rewritten (docs/design.md, "History"). -#}
{% macro lht_history_table(object_name) %}
    {{- return(adapter.dispatch('lht_history_table', 'lht')(object_name)) -}}
{% endmacro %}

{% macro default__lht_history_table(object_name) %}
{%- set inputs = lht.lht_model_inputs(object_name) -%}
{%- if inputs.not_synced -%}
    {{- return(lht.lht_not_synced_yet(inputs.object_name, 'history')) -}}
{%- endif -%}
{%- set object_name, staging, data_columns = inputs.object_name, inputs.staging, inputs.data_columns -%}
{%- set version_column, is_deleted_column = inputs.version_column, inputs.is_deleted_column -%}
{%- set incremental, history_names = inputs.incremental, inputs.existing_names -%}
{%- if execute and version_column is none -%}
    {{ exceptions.raise_compiler_error(
        "lht: " ~ object_name ~ " has no SystemModstamp, LastModifiedDate or CreatedDate; "
        ~ "its versions cannot be dated, so it cannot have a history model.") }}
{%- endif -%}
{%- set deleted_flag = 'coalesce(' ~ is_deleted_column.quoted ~ ', false)' if is_deleted_column is not none else 'false' -%}

with

{{ lht.lht_staged_ctes(staging, 'recorded') -}}
events as (

    select
        {%- for column in data_columns %}
        {{ column.quoted }},
        {%- endfor %}
        _lht_batch_id,
        _lht_extracted_at,
        _lht_kind = 'deleted' or {{ deleted_flag }} as _lht_is_deleted,
        _lht_kind = 'deleted' as _lht_is_marker
    from staged
    where _lht_kind in ('record', 'deleted')
    {%- if incremental %}

    union all

    select
        {%- for column in data_columns %}
        {{ column.quoted if column.name | lower in history_names else 'null' }} as {{ column.quoted }},
        {%- endfor %}
        _lht_batch_id,
        _lht_extracted_at,
        _lht_is_deleted,
        false as _lht_is_marker
    from recorded
    {%- endif %}

),

versions as (

    -- a version extracted again (overlap window, full refresh) counts once; a delete
    -- marker dated like a record (getDeleted after the recycle-bin record) never replaces
    -- the record's values
    select * from events
    qualify row_number() over (
        partition by Id, {{ version_column.quoted }}
        order by case when _lht_is_marker then 1 else 0 end, _lht_batch_id desc
    ) = 1

),

state_changes as (

    -- a deletion right after a deletion (recycle bin, then purged) changes nothing
    select * from versions
    qualify not (
        _lht_is_deleted
        and coalesce(lag(_lht_is_deleted) over (
            partition by Id order by {{ version_column.quoted }}, _lht_batch_id), false)
    )

),

final as (

    select
        {%- for column in data_columns %}
        {{ column.quoted }},
        {%- endfor %}
        {{ version_column.quoted }} as valid_from,
        lead({{ version_column.quoted }}) over (
            partition by Id order by {{ version_column.quoted }}, _lht_batch_id) as valid_to,
        row_number() over (
            partition by Id order by {{ version_column.quoted }} desc, _lht_batch_id desc) = 1 as is_current,
        _lht_is_deleted,
        _lht_batch_id,
        _lht_extracted_at,
        {{ lht.lht_now() }} as _lht_synced_at
    from state_changes

)

select * from final
{%- endmacro %}
