{{ lht.lht_main_table('User') }}
