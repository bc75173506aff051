"""Neural-network building blocks. ``functional`` holds the stateless ops; the Module layers
come with the training API."""
from . import functional

__all__ = ["functional"]
