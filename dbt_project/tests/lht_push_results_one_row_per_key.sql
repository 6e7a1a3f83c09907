-- lht_push_results holds one row per push and key: any row returned here is a duplicate.
select push_name, key_value, count(*) as rows_for_key
from {{ ref('lht_push_results') }}
group by push_name, key_value
having count(*) > 1
