{#- The staged rows a model has not merged yet: all of them on a first build, then only
    the batches newer than the newest the model holds (batch ids sort in write order). -#}
{% macro lht_unmerged_batches(staging) %}
    select * from {{ staging }}
    {%- if is_incremental() %}
    where _lht_batch_id > (
        select coalesce(max(merged_rows._lht_batch_id), '') from {{ this }} as merged_rows
    )
    {%- endif %}
{% endmacro %}
