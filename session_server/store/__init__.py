"""PostgreSQL: the event store, the connection pool, the schema and its migrations, the search dictionary."""
