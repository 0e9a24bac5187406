"""eos-guard: check that a model folder's chat template, tokenizer and generation config agree on when to stop.

Public API::

    report = eos_guard.check("path/to/model")
    for finding in report.findings():
        print(finding.code, finding.message)

    findings = eos_guard.check_batch(batch, stop_ids=[151645], pad_token_id=151643)  # a collated batch
"""

from __future__ import annotations

import os

from .align import align  # eager: the submodule of the same name must not shadow the function
from .version import __version__

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping, Union
    from os import PathLike

    from .errors import InputError
    from .findings import Finding, Severity
    from .results import Report

__all__ = ["Finding", "InputError", "Report", "Severity", "align", "check", "check_batch", "fix", "__version__"]

# Imported on first use, so ``import eos_guard`` (a training script, the CLI's start) stays cheap.
_LAZY = {"Finding": "findings", "Report": "results", "Severity": "findings", "InputError": "errors"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check(*paths: Union[str, PathLike], config: Union[str, PathLike, None] = None,
          isolated: bool = False) -> Report:
    """Check model folders (or folders above them) and return the findings with the resolved values.

    ``config`` names a settings file for every folder; without it each model folder takes the nearest
    ``.eos-guard.yaml`` or ``[tool.eos-guard]`` above it (``ModelReport.settings`` holds a folder's own where they
    are not the run's, the nearest above the folder that holds every path), and ``isolated=True`` reads none
    (``--isolated``: for a folder whose settings you did not write). Raises :class:`eos_guard.InputError`, whose
    message starts with the path, for a missing path, a folder without model folders
    (:class:`eos_guard.errors.NoModelFolder`, an InputError), or bad settings; a malformed model file is reported in
    ``Report.errors`` instead, and so is an earlier version EOS015 cannot read in a git work tree
    (:class:`eos_guard.errors.BaselineUnread`: git missing or refusing the checkout; EOS015 is then off, the other
    findings stand). A file in no model folder is skipped, as pre-commit passes files: ``Report.models`` is then
    empty.
    """
    from .pipeline import check_paths

    targets, loaded, folder_settings = _targets_and_settings(paths, config, isolated)
    report = check_paths(targets, loaded, folder_settings=folder_settings)
    _raise_unchecked(report)
    return report


def fix(*paths: Union[str, PathLike], config: Union[str, PathLike, None] = None, unsafe: bool = False,
        write: bool = True, isolated: bool = False) -> list:
    """Make the folders' files agree (see docs/fix.md) and return the :class:`eos_guard.fixes.FileChange` list.

    With ``write=False`` nothing is written: the changes are what ``--diff`` would show. Raises
    :class:`eos_guard.errors.InputError` as :func:`check` does; a file that cannot be written (its folder is then
    left as it was: a folder is written all or nothing), or a folder with a file that cannot be read (which
    ``--fix`` never edits, and which ``check`` reports in ``Report.errors``), raises it after every other folder
    has been written, so that a script never takes such a folder for fixed; more than one such folder raises
    :class:`eos_guard.errors.FoldersNotFixed`, an ``InputError`` naming them all, each error in its ``failures``.
    """
    from .pipeline import fix_paths

    for name, switch in (("unsafe", unsafe), ("write", write)):  # write="false" would write
        _require_bool(name, switch)
    targets, loaded, folder_settings = _targets_and_settings(paths, config, isolated)
    result = fix_paths(targets, loaded, unsafe=unsafe, write=write, folder_settings=folder_settings)
    _raise_unchecked(result.report)
    # the other folders were written; each folder not (or not wholly) fixed is named, as the command's exit 2 says
    failures = [*result.failed, *(m.cause for m in result.report.models if m.error is not None and m.cause is not None)]
    if len(failures) > 1:
        from .errors import FoldersNotFixed

        raise FoldersNotFixed(failures)
    if failures:
        raise failures[0]
    return result.changes


def _raise_unchecked(report: Report) -> None:
    """Raise what stopped a PATH from being checked; a baseline EOS015 cannot read stops nothing else, and stays in
    ``report.errors``."""
    from .errors import BaselineUnread

    stopped = [problem for problem in report.problems if not isinstance(problem, BaselineUnread)]
    if stopped:
        raise stopped[0]


def _require_bool(name: str, switch: Any) -> None:
    if not isinstance(switch, bool):
        raise TypeError(f"{name} must be True or False, not {switch!r}")


def _targets_and_settings(paths: tuple, config: Union[str, PathLike, None],
                          isolated: bool) -> tuple[list[str], Any, Any]:
    """The paths as the pipeline takes them (none: the current folder), the run's settings, and, where they were
    discovered, each folder's (the nearest settings file above it: config.FolderSettings), else None."""
    from pathlib import Path

    from . import config as settings

    _require_bool("isolated", isolated)
    if config is not None and not isinstance(config, (str, os.PathLike)):
        raise TypeError(f"config must be a path to a settings file or None, not {config!r}")
    if config is not None and not os.fspath(config):
        raise ValueError("config is empty: name a settings file, or pass None to find the nearest one")
    if config is not None and isolated:
        raise ValueError("isolated=True reads no settings file: pass config=None with it")
    targets = [os.fsdecode(p) for p in paths] or ["."]
    if isolated:
        return targets, settings.Config(), None
    local = [t for t in targets if t and not t.startswith("hf://")]
    start = settings.settings_start(local)
    if config is not None:
        return targets, settings.load(Path(config), start), None
    run = settings.load(None, start)
    return targets, run, settings.FolderSettings(run, lambda folder_config: None, start)


def check_batch(batch: Mapping[str, Any], stop_ids: Union[Iterable[int], int],
                pad_token_id: Union[int, None] = None, *, packing: Union[str, bool, None] = None,
                max_length: Union[int, None] = None, truncation: bool = True,
                answer_opening: Union[Iterable[int], None] = None,
                turn_openings: Union[Iterable[int], None] = None,
                encoder_decoder: Union[bool, None] = None,
                answer_closing: Union[Iterable[int], None] = None) -> list[Finding]:
    """Check that a training batch teaches the model to stop; return the :class:`Finding` list (EOS023-EOS026,
    EOS034).

    ``batch`` is what a data collator returns: ``input_ids`` and ``labels``, optionally ``attention_mask`` and
    ``position_ids`` (packed, padding-free batches), as torch tensors, numpy arrays or lists of lists (neither
    torch nor numpy is imported). ``stop_ids`` are the ids generation stops on (one id alone too);
    ``pad_token_id`` is the tokenizer's (None: read from the padding, the id every position the attention mask
    leaves out at a row's ends holds, where that is one id). ``packing`` says how the rows were made when the
    batch cannot show it: False (each row, or each sequence of a padding-free row, is one example), or TRL's
    ``packing_strategy`` (``"bfd"``, ``"bfd_split"``, ``"wrapped"``); None reads it from the batch.
    ``max_length`` is where truncation cuts (None: at the longest sequence); ``truncation=False`` says nothing was cut (TRL's
    ``SFTConfig(max_length=None)`` without packing), so a sequence that ends without a stop id lacks the
    terminator. ``answer_opening`` is the ids that open an answer (the chat template's generation prompt without
    its trailing whitespace, ``tokenizer.encode("<|im_start|>assistant", add_special_tokens=False)``;
    :func:`eos_guard.integrations.transformers.answer_opening` reads it from a tokenizer; its first token is taken
    for the opening of every turn where it opens others too, so it should be an added token, not text that answers
    hold): with it, a batch whose stop ids end only system and user turns, never an answer, is an error.
    ``turn_openings`` is the ids that open the template's other turns, where the answer opening's first token
    does not (Phi-3's ``<|user|>`` beside ``<|assistant|>``; :func:`eos_guard.integrations.transformers.
    turn_openings` reads them): an answer ends where one of them opens the next turn. ``answer_closing`` is the
    added tokens the template writes after an answer, before the next turn (``<|im_end|>``, harmony's ``<|end|>``;
    :func:`eos_guard.integrations.transformers.answer_closing` reads them): with it and ``answer_opening``, answers
    the next turn follows with neither a stop id nor one of them are reported (EOS034). A finding's location is
    ``<batch>``, its line the row and its column the token position. ``encoder_decoder=True`` (the model's
    ``config.is_encoder_decoder``: T5, BART) says ``labels`` are the decoder's, never lined up with ``input_ids``
    even when both have as many columns; False says they are a causal model's; None reads it from the batch
    (``decoder_input_ids``, rows of other lengths, or labels mostly unlike the input id at their place).
    Raises :class:`eos_guard.rules.batch_base.BatchError` (a ``ValueError``) for a batch it cannot read.
    See docs/training.md.
    """
    from .rules import check_batches

    return check_batches([batch], stop_ids, pad_token_id, packing=packing, max_length=max_length,
                         truncation=truncation, answer_opening=answer_opening, turn_openings=turn_openings,
                         encoder_decoder=encoder_decoder, answer_closing=answer_closing)
