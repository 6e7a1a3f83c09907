{{ lht_main_table('Opportunity') }}
