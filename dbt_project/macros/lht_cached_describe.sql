{#- The newest describe of `object_name` that the loader cached in
    <staging schema>._lht_describe, as a dict, or none (no cache, or not at run time). -#}
{% macro lht_cached_describe(object_name, staging_relation) %}
    {%- if not execute or lht.lht_is_fixture(staging_relation) -%}{{ return(none) }}{%- endif -%}
    {%- set describe_relation = adapter.get_relation(
        database=staging_relation.database, schema=staging_relation.schema, identifier='_lht_describe') -%}
    {%- if describe_relation is none -%}{{ return(none) }}{%- endif -%}
    {%- set query -%}
        select describe_json from {{ describe_relation }}
        where lower(object_name) = {{ dbt.string_literal(lht.lht_object_name(object_name) | lower) }}
        order by fetched_at desc
        limit 1
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}{{ return(none) }}{%- endif -%}
    {{ return(fromjson(rows[0][0])) }}
{% endmacro %}
