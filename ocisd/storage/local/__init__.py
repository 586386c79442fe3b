"""The `local` storage driver: SQLite metadata (WAL) and blob files in the data dir."""
