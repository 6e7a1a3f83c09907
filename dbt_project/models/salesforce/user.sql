{{ lht_main_table('User') }}
