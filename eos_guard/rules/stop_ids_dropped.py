from __future__ import annotations

import json

from ..findings import Finding, Severity, quoted_list
from ..jsonspan import dotted
from ..resolve import ResolvedModel, StopIds, Where
from .base import Options, Rule, describe_ids, where_stop_ids_are

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


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

    In config.json the eos is compared where it is, as for EOS003: at the top level, else in the first
    sub-config that sets one (a VLM's `text_config`, where generate() reads it without generation_config.json),
    also when it moved between them. Only a *list* that lost ids is reported, or any loss when there is no
    generation_config.json (then config.json is the stop set). A scalar config.json eos that changed next to
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
            doc = getattr(model.files, "generation_config" if name == "generation_config.json" else "config")
            if doc is None:
                if name == "generation_config.json":
                    yield from self._deleted(model, before, options)
                continue
            if name == "config.json" and not isinstance(before.raw, list) \
                    and model.files.generation_config is not None:
                continue  # a scalar next to generation_config.json is not a stop set (see the rule's doc)
            keys = ("eos_token_id",)
            if name == "config.json" and model.config_eos is not None and model.config_eos.where is not None:
                keys = model.config_eos.where.keys  # config.json's eos as read now: a VLM's text_config's
            elif name == "config.json" and before.where is not None:
                keys = before.where.keys
            now = doc.get(keys)
            current = set(now) if isinstance(now, list) else ({now} if now is not None else set())
            # only ids the model can emit: one past vocab_size is EOS006's error, and dropping it fixes that
            lost = [i for i in before.ids if i not in current and model.can_emit(i)]
            if lost:
                shown_now, shown_before = _as_written(now), _as_written(before.raw)
                shown_now = "nothing" if now is None else shown_now
                moved = "" if before.where is None or before.where.keys == keys else \
                    f" (at {options.baseline} in {dotted(before.where.keys)})"
                yield self.finding(model, f"{name} {dotted(keys)} lost {quoted_list(lost)} compared with "
                                          f"{options.baseline}: {shown_before}{moved} became {shown_now}; "
                                          "restore them",
                                   Where(doc, keys) if doc.has(keys) else Where(doc, ()))

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
