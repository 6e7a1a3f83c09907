{{ lht.lht_main_table('Contact') }}
