"""The numbered SQL migrations of portal_bridge's own tables (``session_server.store.schema``)."""
