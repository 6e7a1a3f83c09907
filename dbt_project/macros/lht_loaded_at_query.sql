{#- The `loaded_at_query` of a staging source table: when the object was last synced
    successfully, not when a row last changed. An object that did not change for a day
    but was synced an hour ago is an hour old. The time is `last_success_at` of the
    object's row in <staging>._lht_state (the start of that sync, so everything changed
    before it is in staging); with no state row, or no state table, the newest
    `_lht_extracted_at` of the staged rows. -#}
{% macro lht_loaded_at_query(source_relation) %}
    {{- return(adapter.dispatch('lht_loaded_at_query', 'lht')(source_relation)) -}}
{% endmacro %}

{% macro default__lht_loaded_at_query(source_relation) %}
    {%- set state = adapter.get_relation(
        database=source_relation.database, schema=source_relation.schema, identifier='_lht_state') -%}
    {%- set staged -%}
        (select max(_lht_extracted_at) from {{ source_relation }})
    {%- endset -%}
    {%- if state is none -%}
        select {{ staged }} as last_synced_at
    {%- else -%}
        select coalesce(
            (
                select max(last_success_at) from {{ state }}
                where lower(object_name) = {{ dbt.string_literal(source_relation.identifier | lower) }}
            ),
            {{ staged }}
        ) as last_synced_at
    {%- endif -%}
{% endmacro %}
