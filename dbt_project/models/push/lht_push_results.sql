{{ lht.lht_push_results_table() }}
