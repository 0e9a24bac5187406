from __future__ import annotations

import json

from ..findings import Finding, Severity, quoted_list
from ..jsonspan import JsonDocument, KeyPath, dotted
from ..records import record
from ..resolve import (ResolvedModel, StopIds, Where, config_eos_keys, from_model_config_keys,
                       generating_section, is_listed_id)
from .base import Options, Rule, describe_ids, where_stop_ids_are

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Iterator

    from ..model_files import ModelFiles


class StopIdsDropped(Rule):
    """A change dropped stop ids that the file had before.

    ## What it detects
    `eos_token_id` in generation_config.json or config.json lost ids compared with the same file at a
    baseline revision: git `HEAD` by default when the folder is in a git work tree and the file is tracked,
    or the revision given with `--baseline REV`. Nothing is compared outside a git work tree. Only ids the model
    can emit count: removing one that is not below `vocab_size` (EOS006), or of 2**32 or more, fixes the file.

    A generation_config.json deleted since the baseline counts too: generate() then stops on config.json's
    eos, and the ids the file listed that config.json lacks are lost (`--fix` writes the file again as the baseline
    holds it).

    In config.json each place that holds an eos is compared with the same place at the baseline: where generate()
    reads its stop ids from config.json (without generation_config.json, a VLM's `text_config`; for a model that
    generates with an inner model, its section: BLIP-2's `text_config`, Qwen2.5-Omni's `thinker_config`), and
    config.json's own eos (top level, else the first sub-config that sets one, as EOS003 reads it). An eos that
    moved is compared where it is now, and ids that moved to generation_config.json are not lost. Only a *list*
    that lost ids is reported, or any loss at a place generate() reads. A scalar config.json eos that changed next to
    a generation_config.json is what transformers' own `align_special_tokens` writes at every `train()`,
    and generate() does not read it.

    ## Why it breaks generation
    Training scripts "fix" the eos by assigning the tokenizer's eos id to the configs
    (`generation_config.eos_token_id = tokenizer.eos_token_id`), which collapses a correct list such as
    Gemma 3's `[1, 106]` to `1`: the model then never stops at `<end_of_turn>`. The alignment-handbook's SFT
    script, TRL's `clone_chat_template`, axolotl and lighteval have all shipped this. Catching it at commit
    time keeps such a checkpoint from being pushed.

    ## Remediation
    Restore the dropped ids; keep every id the list held and add the new one. `eos-guard --fix` adds them back
    (with the ids it adds for the other findings), and removes nothing.
    """

    code = "EOS015"
    name = "stop-ids-dropped"
    severity = Severity.ERROR
    summary = "a change dropped stop ids the file had before"
    needs_generation = True
    reads_generation_configs = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        for name, before in model.baseline_eos.items():
            if name == "config.json":
                continue  # config_losses: each place config.json holds an eos
            doc = model.files.generation_config
            if doc is None:
                yield from self._deleted(model, before, options)
                continue
            keys = ("eos_token_id",)
            now = doc.get(keys)
            current = set(now) if isinstance(now, list) else ({now} if now is not None else set())
            # only ids the model can emit: one past vocab_size is EOS006's error, and dropping it fixes that
            lost = [i for i in before.ids if i not in current and model.can_emit(i)]
            if lost:
                yield self._finding(model, options, name, keys, keys, lost, before.raw, now, doc)
        config = model.files.config
        for loss in config_losses(model) if config is not None else ():
            yield self._finding(model, options, "config.json", loss.keys, loss.now_keys, list(loss.lost), loss.before,
                                loss.now, config)

    def _finding(self, model: ResolvedModel, options: Options, name: str, keys: KeyPath, now_keys: KeyPath,
                 lost: list[int], before: Any, now: Any, doc: JsonDocument) -> Finding:
        shown_now = "nothing" if now is None else _as_written(now)
        moved = "" if keys == now_keys else f" (at {options.baseline} in {dotted(keys)})"
        return self.finding(model, f"{name} {dotted(now_keys)} lost {quoted_list(lost)} compared with "
                                   f"{options.baseline}: {_as_written(before)}{moved} became {shown_now}; restore them",
                            Where(doc, now_keys) if doc.has(now_keys) else Where(doc, ()))

    def _deleted(self, model: ResolvedModel, before: StopIds, options: Options) -> Iterator[Finding]:
        """generation_config.json is gone (not unreadable: that is an error of its own, and EOS018's): generate()
        now stops on config.json's eos, and the ids it lacks were lost with the file (helper-183)."""
        files, stop = model.files, model.stop
        if files.generation_config_error is not None or stop.argument is not None or stop.where is None \
                or any(path.name == "generation_config.json" for path, _ in files.skipped):
            return
        lost = [i for i in before.ids if i not in stop.ids and model.can_emit(i)]
        if lost:
            yield self.finding(model, f"generation_config.json, whose eos_token_id was {_as_written(before.raw)} at "
                                      f"{options.baseline}, is deleted: generate() now stops on "
                                      f"{describe_ids(stop.ids, model)} ({where_stop_ids_are(model)}), without "
                                      f"{quoted_list(lost)}; restore the file, or add them there", stop.where)


def _as_written(value: object) -> str:
    """An eos_token_id value spelled as the file spells it (true, "<|im_end|>"), as EOS007 quotes a value that is no
    id."""
    return quoted_list(value, json.dumps) if isinstance(value, list) else json.dumps(value)


@record(frozen=True)
class ConfigLoss:
    """Ids config.json held at the baseline, at ``keys``, that it lacks now (read at ``now_keys``: the same place,
    or the one its eos moved to); ``stops``: generate() reads its stop ids there (or did at the baseline)."""
    keys: KeyPath
    now_keys: KeyPath
    lost: tuple[int, ...]
    before: Any
    now: Any
    stops: bool


def config_losses(model: ResolvedModel) -> list[ConfigLoss]:
    """The ids config.json lost since the baseline, at each place it holds an eos that matters: where generate()
    reads its stop ids from config.json (without generation_config.json, or for a model that generates with an
    inner model, that model's section: BLIP-2's text_config, Qwen2.5-Omni's thinker_config), now and at the
    baseline, and config.json's own eos (top level, else the first sub-config that sets one: EOS003's), each
    compared with the same place at the baseline. An eos gone from its place is compared where it is now (the
    place generate() reads, or config.json's own eos), and, where generate() reads generation_config.json now,
    with that file's ids (ids that moved there are not lost). A scalar next to generation_config.json that
    generate() does not read is no stop set (transformers' align_special_tokens writes one at every train()).
    Only ids the model can emit count (helper-195, helper-197, helper-199)."""
    files, doc = model.files, model.files.config
    before_doc = files.baseline.get("config.json")
    if doc is None or before_doc is None or not isinstance(before_doc.data, dict):
        return []
    stop, gen = model.stop, files.generation_config
    reads_config = stop.where is not None and stop.where.document is doc and stop.argument is None
    # a place that holds no eos (a section without one, whose class default generate() takes) is no place to compare
    read = stop.where.keys if reads_config and stop.where.keys[-1:] == ("eos_token_id",) else None
    baseline_read = _read_at_baseline(before_doc.data, files)
    own = model.config_eos.where.keys if model.config_eos is not None and model.config_eos.where is not None \
        else None
    baseline_own = config_eos_keys(before_doc.data)
    reads_generation = gen is not None and stop.where is not None and stop.where.document is gen
    generation_ids = set(_listed(gen.get(("eos_token_id",)))) if reads_generation and gen is not None else set()
    losses = []
    for keys in dict.fromkeys(k for k in (read, baseline_read, own, baseline_own) if k is not None):
        before = before_doc.get(keys)
        stops = keys in (read, baseline_read)
        if not _listed(before) or (not isinstance(before, list) and gen is not None and not stops):
            continue
        now_keys, now = keys, doc.get(keys)
        if now is None and keys == baseline_read and read is not None:  # generate() reads another place now
            now_keys, now = read, doc.get(read)
        elif now is None and keys == baseline_own and own is not None:  # moved: compared where it is now
            now_keys, now = own, doc.get(own)
        current = set(_listed(now))
        if now is None:  # gone: what generate() stops on now (a class default, or generation_config.json's ids)
            current |= generation_ids | (set(stop.ids) if reads_config and stops else set())
        lost = tuple(i for i in dict.fromkeys(_listed(before)) if i not in current and model.can_emit(i))
        if lost:
            losses.append(ConfigLoss(keys, now_keys, lost, before, now, stops))
    return losses


def _read_at_baseline(data: dict, files: ModelFiles) -> KeyPath | None:
    """Where generate() read its stop ids in the baseline's config.json: the inner model's section of a model that
    generates with one, else config.json itself when the baseline had no generation_config.json (its own eos, else
    its first sub-config's, as GenerationConfig.from_model_config reads them); None when it read neither."""
    section = generating_section(files)
    if section is not None:
        inner = data.get(section)
        keys = from_model_config_keys(inner, "eos_token_id") if isinstance(inner, dict) else None
        return (section, *keys) if keys is not None else None
    if "generation_config.json" in files.baseline:
        return None
    return from_model_config_keys(data, "eos_token_id")


def _listed(value: Any) -> list[int]:
    """The ids an eos_token_id value lists (an int, or a list's ints)."""
    return [v for v in (value if isinstance(value, list) else [value]) if is_listed_id(v)]
