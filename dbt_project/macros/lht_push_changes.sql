{#- The change-set view of the push model `push_model`: the whole SQL of a file
    `<push_model>__lht_changes.sql` beside it (`lht add --push <push_model>` writes it).

    Reads the push model's `meta.lht_push` (operation, key, mirror) from dbt's graph and its
    columns from the warehouse when the view is built, checks every name (`lht_check_name`:
    object, key and each column; nothing is rendered otherwise) and selects from the push
    model and the results staging table, live (`lht_push_change_set`). `lht push` only reads
    this view. Outside execution (`dbt parse`) it renders a placeholder. -#}
{% macro lht_push_changes(push_model) %}
    {{- return(adapter.dispatch('lht_push_changes', 'lht')(push_model)) -}}
{% endmacro %}

{% macro default__lht_push_changes(push_model) -%}
{%- do lht.lht_check_name(push_model, 'identifier', 'push model') -%}
{{ config(materialized='view', meta={'lht_push_changes': {'push': push_model}}) }}
{%- set relation = ref(push_model) -%}
{%- set results = source('lht_results', '_lht_push_results') -%}
{%- if not execute -%}
select 1 as _lht_placeholder
{%- else -%}
{%- set options = lht.lht_push_options(push_model) -%}
{%- set columns = [] -%}
{%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do lht.lht_check_name(column.name, 'push_column', push_model ~ ': column') -%}
    {%- if (column.name | lower).startswith('_lht_') -%}
        {{- exceptions.raise_compiler_error(push_model ~ ': column ' ~ column.name ~ ' starts with `_lht_`, which the'
            ~ ' change set uses for its own columns: rename it.') -}}
    {%- endif -%}
    {%- do columns.append(column.name) -%}
{%- endfor -%}
{%- if not columns -%}
    {{- exceptions.raise_compiler_error(push_model ~ ' has no columns in ' ~ relation ~ ': build it first (`dbt build`'
        ~ ' builds it before its change set).') -}}
{%- endif -%}
{%- set ns = namespace(key=none) -%}
{%- for column in columns if column | lower == options.key | lower -%}{%- set ns.key = column -%}{%- endfor -%}
{%- if ns.key is none -%}
    {{- exceptions.raise_compiler_error(push_model ~ ': the key column ' ~ options.key ~ ' is not a column of the model.') -}}
{%- endif -%}
{{ lht.lht_push_change_set(relation, results, push_model, options.operation, ns.key, columns,
                           mirror=options.mirror, results_live=lht.lht_relation_exists(results)) }}
{%- endif -%}
{%- endmacro %}

{#- The `meta.lht_push` options of the push model `push_model` that its change set needs,
    checked: {operation, key, mirror}. Found among the nodes the calling model depends on. -#}
{% macro lht_push_options(push_model) %}
    {%- set ns = namespace(node=none) -%}
    {%- for uid in model.depends_on.nodes if uid in graph.nodes and graph.nodes[uid].name == push_model -%}
        {%- set ns.node = graph.nodes[uid] -%}
    {%- endfor -%}
    {%- set meta = {} if ns.node is none else ns.node.get('config', {}).get('meta', {}) or ns.node.get('meta', {}) -%}
    {%- set push = meta.get('lht_push') -%}
    {%- if push is not mapping -%}
        {{- exceptions.raise_compiler_error(push_model ~ ' is not a push model: give it `config: meta: lht_push:`'
            ~ ' (object, operation, key), or remove its change set ' ~ model.name ~ '.') -}}
    {%- endif -%}
    {%- set operation = push.get('operation') -%}
    {%- if operation not in ('insert', 'update', 'upsert', 'delete', 'hard_delete') -%}
        {{- exceptions.raise_compiler_error(push_model ~ ': meta.lht_push.operation must be one of insert, update,'
            ~ ' upsert, delete, hard_delete, not ' ~ tojson(operation) ~ '.') -}}
    {%- endif -%}
    {%- do lht.lht_check_name(push.get('object'), 'object', push_model ~ ': meta.lht_push.object') -%}
    {%- set key = push.get('key') or ('Id' if operation in ('update', 'delete', 'hard_delete') else none) -%}
    {%- do lht.lht_check_name(key, 'push_column', push_model ~ ': meta.lht_push.key') -%}
    {%- set mirror = push.get('mirror', false) -%}
    {%- if mirror is not boolean -%}
        {{- exceptions.raise_compiler_error(push_model ~ ': meta.lht_push.mirror must be true or false.') -}}
    {%- endif -%}
    {{- return({'operation': operation, 'key': key, 'mirror': mirror}) -}}
{% endmacro %}
