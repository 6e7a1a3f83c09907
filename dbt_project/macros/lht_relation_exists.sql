{#- True when `relation` exists in the warehouse (always true for a unit test's fixture).
    Lets a model read a table the loader creates on first use, before it exists. -#}
{% macro lht_relation_exists(relation) %}
    {%- if lht.lht_is_fixture(relation) -%}
        {{ return(true) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                         identifier=relation.identifier) -%}
    {{ return(found is not none) }}
{% endmacro %}
