"""The version of eos-guard, in the lowest layer so that every module (the cache keys, the reports) can read it."""

__version__ = "0.1.0"
