from __future__ import annotations

from pathlib import Path

from ..findings import Finding, Severity
from ..model_files import ADAPTER_CONFIG, ModelFiles
from ..resolve import ResolvedModel, StopIds, Where, generation_stop_ids
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator


class StopIdsInBaseModel(Rule):
    """A PEFT adapter's stop ids are its base model's, which the folder does not hold.

    ## What it detects
    The folder holds `adapter_config.json` (a PEFT adapter, LoRA and the like) and neither config.json nor
    generation_config.json, or holds them beside the adapter's weights (`adapter_model.safetensors` or `.bin`) and
    no weights of a whole model: axolotl saves its base model's config.json in every adapter's output folder.
    PEFT's `AutoPeftModelForCausalLM` loads the base model that `base_model_name_or_path` names, and its configs
    give `generate()` its stop ids (transformers' `from_pretrained` takes a folder with config.json for a model
    with an adapter embedded, and finds no weights of that model in it). The checks of this folder's tokenizer and
    chat template still run, and every runtime's row in `eos-guard explain` says it cannot tell; whether generation
    stops on the token the template ends answers with depends on files elsewhere, so the finding names the id to
    look for there. (A folder that holds either file and a whole model's weights, or no weights at all, is checked
    as a model folder; torchtune's merged `hf_model_0001_0.pt` beside a LoRA run's adapter files is a whole
    model's.)
    When `base_model_name_or_path` is an absolute path (or one from `~`) to a folder in the adapter's repository
    (its git work tree), as a training script that loaded its base model from a local folder writes it, that
    folder's generation_config.json (without one, its config.json) is read: when its `eos_token_id` lacks the id,
    the finding is an error, and when it lists the id there is no finding. A relative path names a folder relative
    to where the adapter is loaded, a Hub name is not fetched, and a folder outside the repository is not read
    (adapter_config.json may come from an untrusted pull request; docs/security.md): for those the finding stays an
    info that says how to check the base.

    ## Why it breaks generation
    An adapter trained with a chat template the base model was not (ChatML's `<|im_end|>` on a base model whose
    configs list only `<|endoftext|>`) never stops when served with that base model's configs.

    ## Remediation
    Check the base model too (`eos-guard hf://ORG/NAME` with huggingface_hub installed, or its local folder; the
    finding gives the command for `base_model_name_or_path`, or says that a bare name is no Hub repository id): its
    generation_config.json `eos_token_id` must list the id the finding names. When it does not, save a
    generation_config.json that lists it next to the merged model, or pass `eos_token_id` to `generate()`.
    """

    code = "EOS027"
    name = "stop-ids-in-base-model"
    severity = Severity.INFO
    summary = "a PEFT adapter: its stop ids are the base model's, whose configs the folder does not hold"
    needs_generation = True

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        files = model.files
        if not files.configs_elsewhere:
            return
        base = files.adapter_base
        named = f"its base model '{base}'" if base else "its base model"
        terminator, eos = model.terminator, model.tokenizer_eos
        wanted: int | None = None
        if terminator is not None and terminator.id is not None:
            needed, wanted = f"the id {terminator.id} of '{terminator.token}', which ends chat answers in this " \
                             "template", terminator.id
        elif eos is not None and eos.id is not None:
            needed, wanted = f"the id {eos.id} of the tokenizer's eos '{eos.token}'", eos.id
        else:
            needed = "the id a chat answer ends with"
        if files.adapter_config is None:
            place: Where | Path = files.folder / ADAPTER_CONFIG
        else:
            keys = ("base_model_name_or_path",) if files.adapter_config.get(("base_model_name_or_path",)) else ()
            place = Where(files.adapter_config, keys)
        lacking = _base_lacks(files.base_configs, wanted)
        if lacking is not None:
            file, listed = lacking
            yield self.finding(
                model, f"a PEFT adapter: generation takes its stop ids from {named}, whose {file} eos_token_id "
                       f"{listed} does not list {needed}: generate() with the adapter loaded on it "
                       f"(AutoPeftModelForCausalLM) never stops; add {wanted} there (eos-guard --fix {base}), or pass "
                       f"eos_token_id to generate()", place, severity=Severity.ERROR)
            return
        if _base_lists(files.base_configs, wanted):
            return  # the base was read and stops on the id: nothing is left to check
        held = files.configs_read
        hold = f"not from the {' and '.join(held)} beside its weights here, which nothing generates with (PEFT " \
            "loads the base model's)" if held else "whose configs this folder does not hold"
        yield self.finding(
            model, f"a PEFT adapter: generation takes its stop ids from {named}, {hold}; they must list {needed} "
                   f"(check it: {_how_to_check(base)})", place)


def _base_stops(base: ModelFiles | None, wanted: int | None) -> StopIds | None:
    """The base model's stop ids, when its configs were read (``ModelFiles.base_configs``) and give valid ones, and
    there is an id to look for; None otherwise."""
    if wanted is None or base is None:
        return None
    stops = generation_stop_ids(base)
    return stops if stops.present and not stops.invalid else None


def _base_lacks(base: ModelFiles | None, wanted: int | None) -> tuple[str, list[int]] | None:
    """The base model's stop ids, as (the file they are read from, the ids), when its configs were read and its
    generation_config.json (or, without one, config.json) lacks ``wanted``; None otherwise."""
    stops = _base_stops(base, wanted)
    if stops is None or wanted in stops.ids:
        return None
    file = "generation_config.json" if base.generation_config is not None else "config.json"
    return f"{base.folder / file}", list(stops.ids)


def _base_lists(base: ModelFiles | None, wanted: int | None) -> bool:
    """Whether the base model's configs were read and their stop ids hold ``wanted``."""
    stops = _base_stops(base, wanted)
    return stops is not None and wanted in stops.ids


def _how_to_check(base: str) -> str:
    """How to check the base model: PEFT loads ``base_model_name_or_path`` from that folder when it exists where the
    adapter is loaded, else from the Hub. A bare name (often the folder a training script saved the base model to)
    is no Hub repository eos-guard can fetch, and which folder it names depends on where the adapter is loaded."""
    if _hub_name(base):
        return f"eos-guard hf://{base}"
    if _local_path(base):
        return f"eos-guard {base}"
    named = f"'{base}' is not a Hub repository id (org/name), so " if base else ""
    return f"{named}run eos-guard on the base model's folder, or on hf://ORG/NAME for its Hub repository"


def _local_path(name: str) -> bool:
    """Whether ``base_model_name_or_path`` is written as a path (``./base``, ``/content/base``, ``models/a/b``)."""
    return name.startswith((".", "/", "~")) or "/" in name or "\\" in name or ":" in name


def _hub_name(name: str | None) -> bool:
    """Whether ``base_model_name_or_path`` reads as a Hub repository ("org/name"), not a local folder."""
    if not name or name.startswith((".", "/", "~")) or "\\" in name or ":" in name:
        return False
    return name.count("/") == 1 and all(name.split("/"))
