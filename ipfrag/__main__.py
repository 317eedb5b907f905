"""``python -m ipfrag`` runs the command line."""

import sys

from ipfrag.cli import main

sys.exit(main())
