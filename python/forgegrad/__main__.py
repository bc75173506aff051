"""``python -m forgegrad``: the ``forgegrad`` command."""
import sys

from .cli import main

sys.exit(main())
