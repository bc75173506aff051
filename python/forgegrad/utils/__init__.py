"""``forgegrad.utils.data`` is ``forgegrad.data`` under torch's path, for code written against
``torch.utils.data``."""

from . import data

__all__ = ["data"]
