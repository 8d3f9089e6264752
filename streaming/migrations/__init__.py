"""The numbered SQL migrations of streaming's own tables (``session_server.store.schema``)."""
