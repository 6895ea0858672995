"""``python -m courtfunds``: the same as the ``courtfunds`` command."""

import sys

from courtfunds.cli import main

sys.exit(main())
