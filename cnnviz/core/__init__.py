"""The numeric core: numpy only, no Qt, no files. Every number cnnviz shows is computed here."""

from cnnviz.core.errors import ConfigError

__all__ = ["ConfigError"]
