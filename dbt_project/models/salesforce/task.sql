{{ lht.lht_main_table('Task') }}
