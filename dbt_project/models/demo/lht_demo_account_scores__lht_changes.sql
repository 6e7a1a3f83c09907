{#- The change set of the demo's push (lht_demo_account_scores): what `lht push` sends. -#}
{{ config(enabled=var('lht_demo_push', false)) }}
{{ lht.lht_push_changes('lht_demo_account_scores') }}
