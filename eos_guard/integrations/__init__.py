"""Integrations with training libraries. Each submodule imports its library; this package imports none.

- :mod:`eos_guard.integrations.transformers`: ``EosGuardCallback``, a ``transformers.TrainerCallback`` (works
  with TRL's trainers, which subclass ``Trainer``).
"""
