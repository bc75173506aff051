"""``python -m forgegrad ...``: the ``forgegrad`` command (cli.py)."""
import sys

from .cli import main

sys.exit(main())
