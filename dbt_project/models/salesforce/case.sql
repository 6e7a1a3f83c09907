{{ lht.lht_main_table('Case') }}
