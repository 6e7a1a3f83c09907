{#- The SQL of every push of one `lht push` run, as JSON, for the loader to run in the
    warehouse (`dbt compile --inline "{{ lht.lht_push_sql(specs) }}"`). `specs` lists the
    pushes: name, relation, results table, operation, key, columns, full, mirror; without it,
    the var `lht_push_specs` does. The loader passes them as an argument, so the compile
    reuses dbt's partial parse (a new `--vars` would make dbt parse the whole project again).
    Gives `{name: {change_set, mirror_deletes, key_problems}}`. -#}
{% macro lht_push_sql(specs=none) %}
    {{- return(adapter.dispatch('lht_push_sql', 'lht')(specs)) -}}
{% endmacro %}

{% macro default__lht_push_sql(specs=none) %}
    {%- set compiled = {} -%}
    {%- for spec in (specs if specs is not none else var('lht_push_specs', [])) -%}
        {%- do compiled.update({spec.name: {
            'change_set': lht.lht_push_change_set(spec.relation, spec.results, spec.name, spec.operation,
                                                  spec.key, spec.columns, spec.full),
            'mirror_deletes': lht.lht_push_mirror_deletes(spec.relation, spec.results, spec.name, spec.key)
                              if spec.mirror else none,
            'key_problems': lht.lht_push_key_problems(spec.relation, spec.key),
        }}) -%}
    {%- endfor -%}
    {{- return(tojson(compiled)) -}}
{% endmacro %}
