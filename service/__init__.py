"""Hello-World API: a production-grade Litestar service (see README.md)."""

__version__ = "0.1.0"
