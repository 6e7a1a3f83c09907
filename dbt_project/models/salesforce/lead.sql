{{ lht.lht_main_table('Lead') }}
