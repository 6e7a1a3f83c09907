{#- The import CTEs of a model merged from staging, each followed by its comma: `staged`
    (the batches the model has not merged yet) and, on an incremental run, `existing_cte`
    (the model's own rows of the Ids those batches touch, and no others), so the work grows
    with the change, not with the table. The model's logical CTEs follow. -#}
{% macro lht_staged_ctes(staging, existing_cte) -%}
staged as (

    {{ lht.lht_unmerged_batches(staging) }}

),

{% if is_incremental() -%}
{{ existing_cte }} as (

    -- the rows of the Ids the new batches touch, and no others
    select * from {{ this }}
    where Id in (select staged.Id from staged)

),

{% endif -%}
{%- endmacro %}
