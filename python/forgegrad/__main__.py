"""``python -m forgegrad``: the ``forgegrad`` command."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a tool (the docs' API reference) imports the module
    sys.exit(main())
