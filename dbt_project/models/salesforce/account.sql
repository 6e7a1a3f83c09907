{{ lht.lht_main_table('Account') }}
