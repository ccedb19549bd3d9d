"""`python -m service` is `hello-api`."""

import sys

from service.cli import main

sys.exit(main())
