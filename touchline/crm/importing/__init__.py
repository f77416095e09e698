"""Importing CRM data: read -> map -> validate -> write, one pipeline for every source.

- ``schema``: the canonical tables an import fills, their fields and rules;
- ``mapping``: mapping files (TOML) that say which file and column feed which field;
  the interchange, Salesforce and HubSpot formats are mapping files shipped here;
- ``validate``: DuckDB reads the files as streams, maps and types every row and
  finds every problem before anything is written;
- ``write``: one transaction moves the clean rows into the database (upsert by
  external id) and counts what was inserted, updated, unchanged and pruned.
"""
