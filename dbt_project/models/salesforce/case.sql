{{ lht_main_table('Case') }}
