"""``EosGuardCallback``: align the stop ids before every checkpoint is written, and check each checkpoint after.

::

    from eos_guard.integrations.transformers import EosGuardCallback

    callback = EosGuardCallback()                            # strict=True: raise instead of logging
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                      callbacks=[callback])                  # or SFTTrainer(...): TRL subclasses Trainer
    trainer.train()                                          # every checkpoint-N: aligned, then checked
    trainer.save_model(final_dir)                            # aligned: on_train_end ran eos_guard.align()
    callback.check(final_dir)                                # optional: check the final folder too

When the hooks run, in transformers 5 (``Trainer._inner_training_loop`` and ``_maybe_log_save_evaluate``):

- ``on_step_end`` and ``on_epoch_end`` run *before* ``_save_checkpoint`` writes ``checkpoint-N``, after
  ``DefaultFlowCallback`` (always the first callback) has set ``control.should_save``: the model is aligned
  there when a save follows. ``on_evaluate`` aligns too, since ``save_strategy="best"`` decides to save after
  evaluating. ``on_train_begin`` aligns once at the start.
- ``on_save`` runs *after* the checkpoint folder is complete: :func:`eos_guard.check` reads it and the
  findings are logged (``strict=True`` raises :class:`EosGuardCheckError` instead, stopping training).
- ``on_train_end`` runs at the end of ``train()``, before the script's own ``trainer.save_model()``: the model
  is aligned there so the final folder is written aligned. No hook runs after ``save_model()``, so that folder
  is checked only when you call :meth:`EosGuardCallback.check` (or the ``eos-guard`` CLI) on it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Union

try:
    from transformers import TrainerCallback
except ModuleNotFoundError as exc:  # eos-guard itself does not need transformers; only this callback does
    if exc.name != "transformers":
        raise
    raise ModuleNotFoundError("eos_guard.integrations.transformers needs transformers: "
                              "pip install 'eos-guard[transformers]'", name="transformers") from exc

from ..align import align
from ..findings import Severity
from ..report.text import printable
from ..results import Report

logger = logging.getLogger("eos_guard")

PREFIX_CHECKPOINT_DIR = "checkpoint"  # transformers.trainer_utils.PREFIX_CHECKPOINT_DIR


class EosGuardCheckError(RuntimeError):
    """A saved folder has findings at or above ``fail_on`` (raised by ``EosGuardCallback(strict=True)``)."""

    def __init__(self, folder: Path, report: Report, lines: list[str]) -> None:
        super().__init__(f"eos-guard found problems in {folder}:\n" + "\n".join(lines))
        self.folder = folder
        self.report = report


class EosGuardCallback(TrainerCallback):
    """Aligns the model's stop ids with the tokenizer and chat template before each save; checks each save.

    ``align_model=False`` only checks; ``check_saves=False`` only aligns. ``strict=True`` raises
    :class:`EosGuardCheckError` when a checkpoint has a finding at or above ``fail_on`` ("error" by default,
    as the CLI). ``changes`` lists every change :func:`eos_guard.align` made; ``reports`` maps each checked
    folder to its :class:`eos_guard.Report`.
    """

    def __init__(self, strict: bool = False, fail_on: Union[str, Severity] = "error", align_model: bool = True,
                 check_saves: bool = True) -> None:
        self.strict = strict
        self.fail_on = fail_on if isinstance(fail_on, Severity) else Severity.parse(fail_on)
        self.align_model = align_model
        self.check_saves = check_saves
        self.changes: list[dict[str, tuple[Any, Any]]] = []
        self.reports: dict[Path, Report] = {}
        self._warned_no_tokenizer = False

    # -- aligning, before anything is written -------------------------------------------------------------

    def on_train_begin(self, args, state, control, **kwargs):
        self._align(kwargs)

    def on_step_end(self, args, state, control, **kwargs):
        if control.should_save:
            self._align(kwargs)

    def on_epoch_end(self, args, state, control, **kwargs):
        if control.should_save:
            self._align(kwargs)

    def on_evaluate(self, args, state, control, **kwargs):
        self._align(kwargs)  # save_strategy="best" sets should_save only after evaluating

    def on_train_end(self, args, state, control, **kwargs):
        self._align(kwargs)  # the script's trainer.save_model() comes after this

    # -- checking, after a checkpoint is complete ---------------------------------------------------------

    def on_save(self, args, state, control, **kwargs):
        if not self.check_saves or not getattr(args, "should_save", True):
            return
        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if not folder.is_dir():  # hyperparameter search writes under a run folder
            logger.warning("eos-guard: no checkpoint folder at %s; nothing checked", folder)
            return
        self.check(folder)

    def check(self, folder: Union[str, os.PathLike]) -> Report:
        """Check a saved folder (a checkpoint, or the one ``trainer.save_model()`` wrote) and log the findings.

        Raises :class:`EosGuardCheckError` with ``strict=True`` when a finding reaches ``fail_on``.
        """
        folder = Path(folder)
        report = _check(folder)
        self.reports[folder] = report
        lines = []
        for finding in report.findings():
            loc = finding.location
            line = f"{loc.path}:{loc.line}:{loc.column}: {finding.code} {printable(finding.message)} [{finding.name}]"
            lines.append(line)
            level = {Severity.ERROR: logging.ERROR, Severity.WARNING: logging.WARNING}.get(finding.severity,
                                                                                          logging.INFO)
            logger.log(level, "eos-guard: %s", line)
        for error in report.errors:
            logger.error("eos-guard: %s", error)
        failing = report.count(self.fail_on)
        if self.strict and (failing or report.errors):
            raise EosGuardCheckError(folder, report, lines + list(report.errors))
        if not lines and not report.errors:
            logger.info("eos-guard: %s: all checks passed", folder)
        return report

    # -- helpers ------------------------------------------------------------------------------------------

    def _align(self, kwargs: dict) -> None:
        if not self.align_model:
            return
        model, tokenizer = kwargs.get("model"), kwargs.get("processing_class")
        if model is None:
            return
        if tokenizer is None:
            if not self._warned_no_tokenizer:
                logger.warning("eos-guard: the Trainer has no processing_class (tokenizer), so the stop ids "
                               "cannot be aligned; pass processing_class=tokenizer")
                self._warned_no_tokenizer = True
            return
        changed = align(model, tokenizer)
        if changed:
            self.changes.append(changed)
            for key, (old, new) in changed.items():
                logger.warning("eos-guard: %s %r -> %r (aligned with the tokenizer and chat template)",
                               key, old, new)


# A pad token equal to the turn terminator is masked out of the loss by the collators (EOS013): harmless in a
# released folder (info by default), a real hazard in the folder being trained, so the guard raises it to a
# warning (a higher severity from the settings stays).
TRAINING_SEVERITY = {"EOS013": Severity.WARNING}


def _check(folder: Path) -> Report:
    import eos_guard

    report = eos_guard.check(folder)
    for item in report.models:
        item.findings = [dataclasses.replace(f, severity=max(f.severity, TRAINING_SEVERITY[f.code]))
                         if f.code in TRAINING_SEVERITY else f for f in item.findings]
    return report


