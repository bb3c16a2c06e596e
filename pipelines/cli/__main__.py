"""`python -m pipelines.cli` runs the `pantau` command."""

import sys

from pipelines.cli import main

sys.exit(main())
