"""`python -m pipeline` and the `pipeline` script: client mode (see pipeline.client)."""

from pipeline.client import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
