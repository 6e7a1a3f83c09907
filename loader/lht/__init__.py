"""lht: keep a data warehouse in step with a Salesforce org, the dbt way.

The loader extracts Salesforce records into append-only staging tables; the dbt
project merges staging into one main table per Salesforce object.
"""

__version__ = "0.1.0"
