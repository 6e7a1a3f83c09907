{#- What the columns lht adds to its models mean (lower-case names). The YAML of lht's
    models says the same through the doc blocks of models/salesforce/_lht__columns.md. -#}
{% macro lht_column_meanings() %}
    {{ return({
        '_lht_batch_id': "lht: the newest staging batch merged into this row (batch ids sort in the order lht sync wrote them).",
        '_lht_extracted_at': "lht: when the lht sync extract that produced this row's newest batch started (UTC).",
        '_lht_is_deleted': "lht: true when the record is deleted in Salesforce (recycle bin, hard delete or purge); the row keeps its last known values.",
        '_lht_synced_at': "lht: when the dbt run that last changed this row ran.",
        '_lht_in_filter': "lht: false when the record exists but no longer matches the object's where filter (vars.lht_objects); the row keeps the last values read while it matched.",
        '_lht_kind': "lht: what the staged row is: record (a full record), deleted (a delete marker), formula (refreshed formula fields only), fields (newly visible fields, backfilled) or filtered (a record that left the where filter).",
        'valid_from': "lht history: when this version became the record's state (its SystemModstamp).",
        'valid_to': "lht history: when the next version replaced this one; null while it is current.",
        'is_current': "lht history: true for the newest version of the record.",
    }) }}
{% endmacro %}
