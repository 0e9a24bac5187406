"""Training-data checks: findings from the batches a data collator makes (EOS023-EOS026).

``check_batch(batch, stop_ids, pad_token_id)`` is ``eos_guard.check_batch``; ``check_batches`` reads several
batches as one sample (EosGuardCallback reads the first batches of the training data), so one short batch
does not decide alone.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..findings import Finding
from . import ALL_RULES
from .batch_base import BatchError, BatchRule, read_batches

BATCH_RULES: tuple[BatchRule, ...] = tuple(rule for rule in ALL_RULES if isinstance(rule, BatchRule))

__all__ = ["BATCH_RULES", "BatchError", "check_batch", "check_batches"]


def check_batch(batch: Mapping[str, Any], stop_ids: Iterable[int], pad_token_id: int | None = None) -> list[Finding]:
    """The training-data findings for one collated batch (see :func:`eos_guard.check_batch`)."""
    return check_batches([batch], stop_ids, pad_token_id)


def check_batches(batches: Iterable[Mapping[str, Any]], stop_ids: Iterable[int],
                  pad_token_id: int | None = None) -> list[Finding]:
    """The findings for several batches read as one sample; locations name ``<batch N>`` (1-based)."""
    view = read_batches(batches, stop_ids, pad_token_id)
    return [finding for rule in BATCH_RULES for finding in rule.check_batches(view)]
