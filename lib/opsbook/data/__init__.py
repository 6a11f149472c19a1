"""The data layer: canonical tables and their checks, sources behind DuckDB (folder, DuckDB file, PostgreSQL),
marketplace export intake, personal-data masking and the sample shop. Imports only the leaves."""
