{#- What every lht model adds to and checks in its configuration. The configuration itself
    (materialized, unique_key, incremental_strategy, on_schema_change, schema,
    full_refresh) is not set here: lht's dbt_project.yml gives the defaults for lht's own
    models, and a project's dbt_project.yml, properties YAML or config() overrides them
    (dbt's precedence). A model of another project calling `lht.lht_main_table` sets its own.

    Added: a post-hook that writes every column's description into the warehouse
    (`lht.lht_document_columns`; hooks add up in dbt, so a project's own hooks stay).
    Checked when the model runs: an incremental lht model must be keyed on Id, and a
    `--full-refresh` refused by `full_refresh: false` says so. -#}
{% macro lht_model_checks(object_name) %}
    {{- config(post_hook=["{{ lht.lht_document_columns('" ~ object_name ~ "') }}"]) -}}
    {%- if execute -%}
        {%- set materialized = config.get('materialized') -%}
        {%- set unique_key = config.get('unique_key') -%}
        {%- set keys = [unique_key] if unique_key is string else (unique_key or []) -%}
        {%- if materialized == 'incremental' and (keys | map('lower') | list) != ['id'] -%}
            {{ exceptions.raise_compiler_error(
                "lht: " ~ model.name ~ " is incremental with unique_key " ~ (unique_key | tojson)
                ~ "; lht models merge one row per record and need unique_key 'Id' "
                ~ "(config(materialized='incremental', unique_key='Id')), or a table or view materialization.") }}
        {%- endif -%}
        {%- set full_refresh = config.get('full_refresh') -%}
        {%- if flags.FULL_REFRESH and materialized == 'incremental' and full_refresh is not none and not full_refresh -%}
            {{ log("lht: " ~ model.name ~ " is not rebuilt by --full-refresh: staging may have been pruned, "
                   ~ "so a rebuild could lose rows. It is updated incrementally instead; set the var "
                   ~ "lht_allow_full_refresh: true (or +full_refresh: true on the model) to rebuild it.", info=true) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
