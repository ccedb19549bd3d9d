"""Greetings: the hello endpoint and the greetings PostgreSQL remembers."""
