{#- The change set of an example push: an update of Account's Name and Description keyed by
    Id (the operation is the var `lht_example_push_operation`, update unless set; mirror
    deletions with the var `lht_example_push_mirror`). Ephemeral: it is never built; it
    exists so that `lht.lht_push_change_set`, the SQL of every push's change-set view (what
    `lht push` sends), is pinned by dbt unit tests (_push__models.yml) on each engine.
    Column names are passed as the warehouse stores them (Snowflake: upper case), as
    `lht_push_changes` does. -#}
{{ config(materialized='ephemeral') }}
{%- set columns = ['Id', 'Name', 'Description'] -%}
{%- if target.type == 'snowflake' -%}
    {%- set columns = columns | map('upper') | list -%}
{%- endif %}
{{ lht.lht_push_change_set(ref('account'), source('lht_results', '_lht_push_results'), 'example_push',
                           var('lht_example_push_operation', 'update'), columns[0], columns,
                           mirror=var('lht_example_push_mirror', false)) }}
