"""Logs, metrics and traces: configured here, recorded by one ASGI middleware."""
