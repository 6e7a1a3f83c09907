{{ lht.lht_main_table('Opportunity') }}
