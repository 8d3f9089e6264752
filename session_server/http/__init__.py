"""The HTTP edge: the app, its routes, errors as JSON, OpenAPI, the WebSocket and SSE endpoints."""
