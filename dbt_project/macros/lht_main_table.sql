{#- The main table of one Salesforce object, merged from its staging table.

    The merge rules are docs/design.md, "Main tables". In short: only batches newer than
    the table's newest are read; per Id the newest record (by SystemModstamp, then batch)
    gives the values, compared with the row already merged; a newer delete marker flags
    the row deleted and keeps its values; a newer formula row replaces only the formula
    columns; newer `fields` rows (newly visible fields, backfilled) fill the columns they
    carry; a field gone from describe keeps its last value. Only the Ids found in the new batches are read from and rewritten in the
    main table, so the work grows with the change, not with the table. -#}
{% macro lht_main_table(object_name) %}
    {{- return(adapter.dispatch('lht_main_table', 'lht')(object_name)) -}}
{% endmacro %}

{% macro default__lht_main_table(object_name) %}
{%- set inputs = lht.lht_model_inputs(object_name) -%}
{%- if inputs.not_synced -%}
    {{- return(lht.lht_not_synced_yet(inputs.object_name, 'main')) -}}
{%- endif -%}
{%- set object_name, staging, data_columns = inputs.object_name, inputs.staging, inputs.data_columns -%}
{%- set version_column, is_deleted_column = inputs.version_column, inputs.is_deleted_column -%}
{%- set incremental, main_names = inputs.incremental, inputs.existing_names -%}
{%- set formula_columns = lht.lht_formula_columns(object_name, data_columns, staging) -%}
{%- set fill_columns = lht.lht_fill_columns(data_columns, version_column, is_deleted_column) -%}
{%- set gone_columns = lht.lht_gone_columns(object_name, data_columns, staging) -%}
{%- set v_at = 'v.' ~ version_column.quoted if version_column is not none else none -%}
{%- set d_at = 'd.deleted_at' if version_column is not none else none -%}

with

{{ lht.lht_staged_ctes(staging, 'merged') -}}
events as (

    select
        {%- for column in data_columns %}
        {{ column.quoted }},
        {%- endfor %}
        _lht_batch_id,
        _lht_extracted_at,
        _lht_kind,
        cast(null as {{ dbt.type_boolean() }}) as _lht_was_deleted,
        cast(null as {{ dbt.type_boolean() }}) as _lht_was_in_filter
    from staged
    {%- if incremental %}

    union all

    select
        {%- for column in data_columns %}
        {{ column.quoted if column.name | lower in main_names else 'null' }} as {{ column.quoted }},
        {%- endfor %}
        _lht_batch_id,
        _lht_extracted_at,
        'merged' as _lht_kind,
        _lht_is_deleted as _lht_was_deleted,
        {{ '_lht_in_filter' if '_lht_in_filter' in main_names else 'true' }} as _lht_was_in_filter
    from merged
    {%- endif %}

),

newest_values as (

    -- the newest version carrying values: a record or the merged row, else a delete marker
    select * from events
    where _lht_kind not in ('formula', 'fields', 'filtered')
    qualify row_number() over (
        partition by Id
        order by
            case when _lht_kind = 'deleted' then 0 else 1 end desc,
            {{ lht.lht_newest_first(version_column) }}
    ) = 1

),

newest_deletions as (

    {{ lht.lht_newest_of_kind('events', 'deleted', version_column, 'deleted_at', 'deleted_batch_id') }}

),

newest_formulas as (

    select
        Id,
        {%- for column in formula_columns %}
        {{ column.quoted }} as _lht_formula_{{ loop.index }},
        {%- endfor %}
        _lht_batch_id as formula_batch_id
    from events
    where _lht_kind = 'formula'
    qualify row_number() over (partition by Id order by _lht_batch_id desc) = 1

),

newest_filtered as (

    -- the newest sighting of each Id outside the object's `where` filter
    {{ lht.lht_newest_of_kind('events', 'filtered', version_column, 'filtered_at', 'filtered_batch_id') }}

),

newest_fields as (

    -- per Id, the non-null values of the `fields` rows newer than the winning version
    select
        e.Id,
        {%- for column in fill_columns %}
        max_by(e.{{ column.quoted }}, case when e.{{ column.quoted }} is not null then e._lht_batch_id end) as _lht_fill_{{ loop.index }},
        {%- endfor %}
        max(e._lht_batch_id) as fields_batch_id
    from events as e
    inner join newest_values as v on e.Id = v.Id
    where e._lht_kind = 'fields' and e._lht_batch_id > v._lht_batch_id
    group by e.Id

),

{% if gone_columns -%}
kept_values as (

    -- per Id, the last non-null value of each field describe no longer lists
    select
        Id,
        {%- for column in gone_columns %}
        max_by({{ column.quoted }}, case when {{ column.quoted }} is not null then _lht_batch_id end) as _lht_kept_{{ loop.index }},
        {%- endfor %}
        max(_lht_batch_id) as kept_batch_id
    from events
    where _lht_kind in ('record', 'merged', 'fields')
    group by Id

),

{% endif -%}

batches as (

    select
        Id,
        max(_lht_batch_id) as last_batch_id,
        max(_lht_extracted_at) as last_extracted_at
    from events
    group by Id

),

resolved as (

    select
        v.*,
        {%- for column in formula_columns %}
        f._lht_formula_{{ loop.index }},
        {%- endfor %}
        {%- if version_column is not none %}
        d.deleted_at,
        {%- endif %}
        f.formula_batch_id,
        {%- for column in fill_columns %}
        nf._lht_fill_{{ loop.index }},
        {%- endfor %}
        {%- for column in gone_columns %}
        k._lht_kept_{{ loop.index }},
        {%- endfor %}
        b.last_batch_id,
        b.last_extracted_at,
        d.Id is not null and v._lht_kind <> 'deleted'
            and {{ lht.lht_is_newer(d_at, 'd.deleted_batch_id', v_at, 'v._lht_batch_id') }} as deleted_later,
        coalesce(f.formula_batch_id > v._lht_batch_id, false) as formula_later,
        x.Id is not null
            and {{ lht.lht_is_newer('x.filtered_at' if version_column is not none else none, 'x.filtered_batch_id', v_at, 'v._lht_batch_id') }} as filtered_later
    from newest_values as v
    inner join batches as b on v.Id = b.Id
    left join newest_deletions as d on v.Id = d.Id
    left join newest_formulas as f on v.Id = f.Id
    left join newest_fields as nf on v.Id = nf.Id
    left join newest_filtered as x on v.Id = x.Id
    {%- if gone_columns %}
    left join kept_values as k on v.Id = k.Id
    {%- endif %}

),

final as (

    select
        {%- for column in data_columns %}
        {%- set formula_index = formula_columns.index(column) + 1 if column in formula_columns else none %}
        {%- set value = column.quoted %}
        {%- if column in fill_columns %}
        {%- set value = 'coalesce(_lht_fill_' ~ (fill_columns.index(column) + 1) ~ ', ' ~ value ~ ')' %}
        {%- endif %}
        {%- if column in gone_columns %}
        {%- set value = 'coalesce(' ~ value ~ ', _lht_kept_' ~ (gone_columns.index(column) + 1) ~ ')' %}
        {%- endif %}
        {%- if formula_index is not none %}
        case when formula_later then _lht_formula_{{ formula_index }} else {{ value }} end
        {%- elif version_column is not none and column.name == version_column.name %}
        case when deleted_later then deleted_at else {{ column.quoted }} end
        {%- elif is_deleted_column is not none and column.name == is_deleted_column.name %}
        case when deleted_later then true else {{ column.quoted }} end
        {%- else %}
        {{ value }}
        {%- endif %} as {{ column.quoted }},
        {%- endfor %}
        last_batch_id as _lht_batch_id,
        last_extracted_at as _lht_extracted_at,
        case
            when deleted_later then true
            when _lht_kind = 'merged' then _lht_was_deleted
            when _lht_kind = 'deleted' then true
            else {{ 'coalesce(' ~ is_deleted_column.quoted ~ ', false)' if is_deleted_column is not none else 'false' }}
        end as _lht_is_deleted,
        case
            when filtered_later then false
            when _lht_kind = 'merged' then coalesce(_lht_was_in_filter, true)
            else true
        end as _lht_in_filter,
        {{ lht.lht_now() }} as _lht_synced_at
    from resolved

)

select * from final
{%- endmacro %}
