{#- The rules for names that reach SQL, the same as the loader's (`lht.names.PATTERNS`; a
    test keeps the two equal): a name must match one of them whole, or nothing is rendered. -#}
{% macro lht_name_patterns() %}
    {%- set segment = '[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*' -%}
    {%- set field = segment ~ '(?:__' ~ segment ~ '){0,3}' -%}
    {{- return({
        'object': segment ~ '(?:__' ~ segment ~ '){0,2}',
        'field': field,
        'identifier': '[A-Za-z_][A-Za-z0-9_]*',
        'push_column': field ~ '(?:\\.' ~ field ~ ')?|_[A-Za-z0-9_]*',
    }) -}}
{% endmacro %}

{#- `name` when it matches the rule `kind` (object, field, identifier, push_column) whole;
    else a compilation error naming `what` it was meant to be. -#}
{% macro lht_check_name(name, kind, what) %}
    {%- set limits = {'object': 80, 'field': 80, 'identifier': 255, 'push_column': 161} -%}
    {%- if name is not string or name | length > limits[kind]
            or modules.re.fullmatch(lht.lht_name_patterns()[kind], name) is none -%}
        {{- exceptions.raise_compiler_error(what ~ ' ' ~ tojson(name) ~ ' is not a valid ' ~ kind | replace('_', ' ')
            ~ ' name: use letters, digits and underscores (a push column may also be Relationship.Field'
            ~ ' or start with `_`).') -}}
    {%- endif -%}
    {{- return(name) -}}
{% endmacro %}
