"""The comment service: shared domain code and the HTTP API."""
