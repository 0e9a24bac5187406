"""``--fix``: make a folder's files agree with minimal, add-only edits, written atomically.

What is changed (docs/fix.md has the details):
- the stop ids generate() uses gain the turn terminator(s) and the tokenizer's eos, after the ids already
  there (an int stays an int when nothing is added, and becomes a list when something is);
- a missing generation_config.json is created as ``GenerationConfig.from_model_config`` would write it;
- config.json's eos: a list gains the same ids, and so does a scalar without the tokenizer's eos (it becomes
  a list that keeps it first), or one transformers 4.x rebuilds generation_config.json from
  (:func:`rebuilt_from_config_in_4x`); nothing is removed;
- with ``unsafe=True`` only: tokenizer-side edits (special_tokens_map.json's stale eos, tokenizer_config.json's
  eos when it is not the turn terminator), since they change what training code sees.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

from .errors import InputError
from .findings import quoted_list
from .jsonspan import JsonDocument, NotRead, dotted, read_bytes
from .model_files import one_eos_type, repository_link
from .records import field, record
from .resolve import SUB_CONFIGS, ResolvedModel, generating_section, is_listed_id, special_token_text
from .rules.base import ids_to_stop_on
from .rules.stop_ids_dropped import config_losses
from .rules.tool_call_not_stop_id import calling_turn_end, calls_not_stopping
from .runtimes import stops, target_id
from .splice import Edit, add_to_id_list, apply_edits, insert_member, replace_value

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

    from .jsonspan import KeyPath

# The attributes of transformers 5.25's GenerationConfig, 5.24's too (all None by default):
# GenerationConfig.from_model_config copies each one config.json sets, and save_pretrained writes those that are not
# None (tests/test_fix.py::test_the_generation_attributes_are_those_of_the_installed_transformers).
GENERATION_ATTRIBUTES = (
    "max_length", "max_new_tokens", "min_length", "min_new_tokens", "early_stopping", "max_time", "stop_strings",
    "do_sample", "num_beams", "use_mtp", "use_cache", "cache_implementation", "cache_config", "max_cache_len",
    "temperature", "top_k", "top_p", "min_p", "top_h", "typical_p", "epsilon_cutoff", "eta_cutoff",
    "repetition_penalty", "encoder_repetition_penalty", "length_penalty", "no_repeat_ngram_size", "bad_words_ids",
    "renormalize_logits", "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values",
    "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens", "sequence_bias", "token_healing",
    "guidance_scale", "watermarking_config", "num_return_sequences", "output_attentions", "output_hidden_states",
    "output_scores", "output_logits", "return_dict_in_generate", "pad_token_id", "bos_token_id", "eos_token_id",
    "encoder_no_repeat_ngram_size", "decoder_start_token_id", "is_assistant", "num_assistant_tokens",
    "num_assistant_tokens_schedule", "assistant_confidence_threshold", "prompt_lookup_num_tokens",
    "max_matching_ngram_size", "assistant_early_exit", "assistant_lookbehind", "target_lookbehind",
    "assistant_ensemble_weight", "speculation_type", "compile_config", "disable_compile",
    "continuous_batching_config", "low_memory", "penalty_alpha", "dola_layers", "diversity_penalty",
    "num_beam_groups", "constraints", "force_words_ids", "prefill_chunk_size",
)
EXTRA_OUTPUT_FLAGS = ("output_attentions", "output_hidden_states", "output_scores", "output_logits")
# transformers 4.57's PretrainedConfig._get_global_generation_defaults (configuration_utils.py): a config.json that
# sets one of these to another value makes 4.x's generate() rebuild a generation config marked _from_model_config
# from config.json (rebuilt_from_config_in_4x)
GLOBAL_GENERATION_DEFAULTS = {
    "max_length": 20, "min_length": 0, "do_sample": False, "early_stopping": False, "num_beams": 1,
    "temperature": 1.0, "top_k": 50, "top_p": 1.0, "typical_p": 1.0, "repetition_penalty": 1.0,
    "length_penalty": 1.0, "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0, "bad_words_ids": None,
    "num_return_sequences": 1, "output_scores": False, "return_dict_in_generate": False,
    "forced_bos_token_id": None, "forced_eos_token_id": None, "remove_invalid_values": False,
    "exponential_decay_length_penalty": None, "suppress_tokens": None, "begin_suppress_tokens": None,
    "num_beam_groups": 1, "diversity_penalty": 0.0,
}

# The findings each kind of edit answers. As ruff applies only the fixes of the diagnostics it reports, an edit
# is made only when the folder reports one of them after --select/--ignore and per-file-ignores: a rule turned
# off changes no file.
TERMINATOR_CODES = frozenset({"EOS001", "EOS004", "EOS015", "EOS016", "EOS017"})  # stop ids: the terminators
EOS_CODES = frozenset({"EOS002", "EOS004", "EOS015", "EOS016"})  # stop ids: the tokenizer's eos
TOOL_CALL_CODES = frozenset({"EOS030"})  # stop ids: the token that ends a turn calling a tool
STOP_ID_CODES = TERMINATOR_CODES | EOS_CODES | TOOL_CALL_CODES  # the ids generate() uses
CONFIG_CODES = frozenset({"EOS003", "EOS015", "EOS016"})  # config.json's eos next to a generation_config.json
# --unsafe-fixes: the eos becomes the terminator where a runtime runs on: unless the user turned these rules off
# (an unselected runtime's failure is EOS016's only when selected, so being reported is not asked)
TOKENIZER_CODES = frozenset({"EOS001", "EOS016", "EOS017"})
MAP_CODES = frozenset({"EOS008"})  # --unsafe-fixes: special_tokens_map.json's stale eos
GENAI_CODES = frozenset({"EOS029"})  # an ONNX Runtime GenAI export: genai_config.json's model.eos_token_id
DROPPED_CODES = frozenset({"EOS015"})  # the ids a change dropped since the baseline come back


@record
class FileChange:
    """The new text of one file and why; ``old_text`` is None for a file that does not exist yet."""

    path: Path
    old_text: str | None
    new_text: str
    reasons: list[str] = field(default_factory=list)

    def diff(self, shown_path: str, git_headers: bool = False) -> str:
        """A unified diff that ``git apply`` and ``patch`` accept: for them, as here, a line ends at "\\n" only.

        A file that is a symbolic link of its repository, which --fix replaces by a regular file (its target is
        never written), is shown as git shows that type change: the link deleted, then the file created (``git
        apply`` and GNU patch refuse a text edit of a link: helper-168). A Hub cache snapshot's links into its blobs
        stand for the files a clone holds: a text edit. With ``git_headers``, a text edit too has git's header
        line, which makes ``git apply`` read its path from the work tree's root, as it reads a type change's."""
        shown_path = shown_path.lstrip("/")  # an absolute path: a/tmp/m/config.json, as git diff --no-index writes
        source = git_quoted(f"a/{shown_path}")
        target = git_quoted(f"b/{shown_path}")
        if self.replaces_link():
            executable = os.stat(self.path).st_mode & 0o111  # the mode --fix gives the file: its target's
            return (f"diff --git {source} {target}\ndeleted file mode 120000\n"
                    + _unified(os.readlink(self.path), "", source, "/dev/null")
                    + f"diff --git {source} {target}\nnew file mode {'100755' if executable else '100644'}\n"
                    + _unified("", self.new_text, "/dev/null", target))
        header = "" if not git_headers else f"diff --git {source} {target}\n" + (
            "new file mode 100644\n" if self.old_text is None else "")  # the mode --fix creates a file with
        return header + _unified(self.old_text or "", self.new_text,
                                 source if self.old_text is not None else "/dev/null", target)

    def replaces_link(self) -> bool:
        """Whether --fix replaces a symbolic link of the repository by a regular file (:meth:`diff`)."""
        return self.old_text is not None and repository_link(self.path)


def _unified(before: str, after: str, source: str, target: str) -> str:
    """The unified diff from ``before`` (the file ``source``, or /dev/null) to ``after`` (``target``)."""
    import difflib  # only for --diff: a check that finds something plans fixes, and prints no diff

    # a name with a space ends with a tab, as git writes it (diff.c): GNU patch cuts a name at its first space
    # unless a tab ends it ("src/llama 3/config.json" was "src/llama")
    lines = difflib.unified_diff(_lines(before), _lines(after),
                                 source + ("\t" if " " in source else ""), target + ("\t" if " " in target else ""))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def git_quoted(name: str) -> str:
    """A file name in a patch header as git writes it (``quote_c_style``, core.quotePath on): as it is when every
    byte is printable ASCII other than ``"`` and ``\\``; else in double quotes, with C's escapes and each other
    byte in octal (a name's UTF-8 bytes, or its own bytes where it is not UTF-8), which ``git apply`` reads back. A
    name a terminal would act on (an escape sequence, a bidirectional override) is shown as escapes that way too, and
    so is one that holds a GitHub runner's ``##[`` command form."""
    raw = os.fsencode(name)  # a name that is not UTF-8 holds surrogate escapes: its own bytes again
    if all(0x20 <= byte < 0x7F and byte not in (34, 92) for byte in raw) and b"##[" not in raw:
        return name
    quoted = "".join(_C_ESCAPES.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\{byte:03o}") for byte in raw)
    # a GitHub runner reads "##[" anywhere in a line as a workflow command: its "[" in octal means the same name
    return '"' + quoted.replace("##[", "##\\133") + '"'


def _lines(text: str) -> list[str]:
    """``text`` cut after each "\\n" (a "\\r\\n" stays in its line). Not str.splitlines, which also cuts at
    U+2028, U+2029 and U+0085, which a JSON string may hold raw: a patch cut there does not apply."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def plan(model: ResolvedModel, unsafe: bool = False, reported: Iterable[str] | None = None,
         enabled: Callable[[str], bool] | None = None) -> list[FileChange]:
    """The changes that make ``model``'s files agree; empty when there is nothing to fix. ``reported``: the codes
    of the folder's findings as the run reports them (None: every edit), which decide the edits made and the ids
    the stop ids gain (the ``*_CODES`` sets above); ``enabled``: whether the settings turn a rule on (None: all)."""
    codes = None if reported is None else frozenset(reported)
    edits: dict[Path, tuple[JsonDocument, list[Edit], list[str]]] = {}

    def answers(kind: frozenset[str]) -> bool:
        return codes is None or not codes.isdisjoint(kind)

    def add(doc: JsonDocument, edit: Edit | _IdsAt | None, reason: str) -> None:
        if edit is None:
            return
        entry = edits.setdefault(doc.path, (doc, [], []))
        entry[1].append(edit)
        entry[2].append(reason)

    # ids appended to one value are one edit, however many steps ask for ids there: in a model that generates with
    # an inner config (BLIP-2's text_config) the stop ids and config.json's own eos are the same value, and two
    # splices of it wrote '[151643, 151645]3, 151645]' (helper-195)
    appended: dict[tuple[Path, KeyPath], _IdsAt] = {}

    def add_ids(doc: JsonDocument, keys: KeyPath, ids: list[int]) -> None:
        place = appended.get((doc.path, keys))
        if place is None:
            if ids:
                place = appended[(doc.path, keys)] = _IdsAt(keys, [])
                add(doc, place, "")
            else:
                return
        place.ids += _not_in(ids, place.ids)

    if model.files.ids_not_read:  # the ids to add are not known: never write an id transformers gives another token
        return []
    if model.files.onnx_export:  # onnxruntime-genai reads genai_config.json alone: nothing else is its stop set
        if answers(GENAI_CODES):
            _align_genai_config(model, add)
        return [FileChange(path, doc.text, apply_edits(doc.text, file_edits), reasons)
                for path, (doc, file_edits, reasons) in edits.items()]

    eos = model.tokenizer_eos
    eos_id = read_eos_id = eos.id if eos is not None else None
    if unsafe:  # first: the stop ids and config.json follow the eos the tokenizer will have, so one --fix is enough
        # the eos becomes the terminator only where a runtime runs on (Gemma 2 it's <eos> stays: every one stops),
        # never in a model that cannot generate (an embedding model's tokenizer appends its eos to every input), nor
        # where the tokenizer appends the eos to every input it encodes (ModelFiles.appends_eos)
        allowed = enabled is None or any(enabled(code) for code in TOKENIZER_CODES)
        runs_on = allowed and model.generates and not model.files.appends_eos \
            and any(stops(model, stop) is False for stop in model.runtime_stops.values())
        eos_id = _align_tokenizer(model, add, eos_id, runs_on, answers(MAP_CODES))
    replaced = eos_id if eos_id != read_eos_id else None  # the new eos, when the unsafe fix changes it
    everything = ids_to_stop_on(model, new_eos=replaced)  # for config.json's own alignment (step 4)
    # the stop ids gain the ids the reported findings ask for: not the terminator when only EOS002 is reported
    wanted = ids_to_stop_on(model, answers(TERMINATOR_CODES), answers(EOS_CODES), replaced)
    section, config = generating_section(model.files), model.files.config
    losses = config_losses(model) if answers(DROPPED_CODES) else []
    if answers(DROPPED_CODES):
        # the ids lost where generate() reads them: generation_config.json's, unless the inner model's section of
        # config.json is the stop set (then that file gets its own back below: helper-199, they went to the section),
        # and config.json's where generate() reads it
        if section is None:
            wanted += _not_in(_dropped(model, "generation_config.json"), wanted)
        # config.json's, where generate() reads them and its value is gone (one still there gets them back in
        # place, below: adding them here made --fix write a generation_config.json too, helper-200)
        wanted += _not_in([i for loss in losses if loss.stops and config is not None
                           and not _id_value(config.get(loss.now_keys)) for i in loss.lost], wanted)
    # where answers stop only once fixed (EOS001), so that one --fix is enough, unless the settings turn EOS030 off
    if answers(TOOL_CALL_CODES) or (answers(TERMINATOR_CODES) and (enabled is None or enabled("EOS030"))):
        wanted += _not_in(_calling_turn_ends(model, [*model.stop.ids, *wanted]), wanted)
    changes: list[FileChange] = []
    stop = model.stop
    gen = model.files.generation_config
    missing = _not_in(wanted, stop.ids)
    fix_stops = answers(STOP_ID_CODES) and model.stop.argument is None  # an argument's default: no file sets it
    if fix_stops and section is not None:  # generate() stops on the ids of the inner model's section of config.json
        _add_stop_ids(model, add, add_ids, (section,), wanted, missing)
        if answers(DROPPED_CODES) and gen is not None and isinstance(gen.data, dict):
            _restore_generation_ids(model, gen, add, add_ids)  # or EOS015 on that file would stay (helper-197)
    elif fix_stops and gen is not None and isinstance(gen.data, dict):
        _add_stop_ids(model, add, add_ids, (), wanted, missing)
    elif fix_stops and missing and model.generation_config_creatable:
        # a change deleted the file (EOS015): it comes back as it was, with what else the findings ask
        created = _restored_generation_config(model, wanted) if answers(DROPPED_CODES) else None
        created = created or _new_generation_config(model, wanted)
        if created is not None:
            changes.append(created)

    # config.json: for its own findings; as the stop ids where there is no generation_config.json; after an
    # unsafe fix changed the eos, which EOS003 would report on the next run; and with the ids generation_config.json
    # gains where transformers 4.x rebuilds that file from config.json (rebuilt_from_config_in_4x)
    rebuilt = fix_stops and bool(missing) and section is None and gen is not None and rebuilt_from_config_in_4x(model)
    if answers(CONFIG_CODES) or (fix_stops and gen is None and section is None) or eos_id != read_eos_id or rebuilt:
        ids = everything if gen is not None else wanted
        own = model.config_eos.where.keys if model.config_eos is not None and model.config_eos.where is not None \
            else None
        dropped = [i for loss in losses if loss.now_keys == own for i in loss.lost]
        _align_config(model, ids + _not_in(dropped, ids), add_ids, eos_id, dropped, rebuilt)
        for loss in losses:  # elsewhere in config.json: the inner model's section generate() reads (BLIP-2's)
            if loss.now_keys != own and config is not None and _id_value(config.get(loss.now_keys)):
                add_ids(config, loss.now_keys, list(loss.lost))

    for path, (doc, file_edits, reasons) in edits.items():
        for index, edit in enumerate(file_edits):
            if isinstance(edit, _IdsAt):
                file_edits[index] = add_to_id_list(doc, edit.keys, edit.ids)
                reasons[index] = f"{dotted(edit.keys)}: add {_ids(edit.ids)}"
        new_text = apply_edits(doc.text, file_edits)
        if new_text != doc.text:
            changes.append(FileChange(path, doc.text, new_text, reasons))
    return sorted(changes, key=lambda c: str(c.path))


@record
class _IdsAt:
    """Ids to append to the id or list at ``keys`` (one edit, made once every step has asked: ``plan``'s add_ids)."""
    keys: KeyPath
    ids: list[int]


def _ids(value: int | list[int]) -> str:
    """An id, or a list of ids as a message quotes one (at most QUOTED_ITEMS of them)."""
    return quoted_list(value) if isinstance(value, list) else str(value)


def _not_in(ids: Iterable[int], present: Iterable[int]) -> list[int]:
    """The ids of ``ids`` that ``present`` lacks, each once, in their order; in linear time (a list of 150,000 ids
    checked against another took minutes)."""
    have = set(present)
    return [i for i in dict.fromkeys(ids) if i not in have]


def _add_stop_ids(model: ResolvedModel, add, add_ids, section: tuple[str, ...], wanted: list[int],
                  missing: list[int]) -> None:
    """The stop ids gain ``missing`` where generate() reads them (``model.stop``): generation_config.json's
    eos_token_id, or, for a model that generates with an inner model's config (``section``), that section's of
    config.json; where none is set, ``wanted`` is written at the top of that object."""
    stop = model.stop
    doc = stop.where.document if stop.where is not None else model.files.generation_config
    assert doc is not None
    if section and not isinstance(doc.get(section), dict):  # a section missing or null: a person writes it
        return
    prefix = "".join(f"{name}." for name in section)
    if stop.present and not stop.invalid and stop.where is not None and missing:
        add_ids(doc, stop.where.keys, missing)
    elif not stop.present and wanted:
        wanted = [*stop.ids, *_not_in(wanted, stop.ids)]  # a class default generate() stops on stays first
        value = wanted[0] if len(wanted) == 1 else wanted
        if doc.has(section + ("eos_token_id",)):
            add(doc, replace_value(doc, section + ("eos_token_id",), value),
                f"{prefix}eos_token_id: set to {_ids(value)}")
        else:
            add(doc, insert_member(doc, section, "eos_token_id", value), f"{prefix}eos_token_id: add {_ids(value)}")


def _calling_turn_ends(model: ResolvedModel, stop: list[int]) -> list[int]:
    """The ids of the tokens that end turns calling a tool where generation would not stop after a call with the
    stop ids ``stop`` (EOS030), when the rule names one (an id the model can emit)."""
    ids = [calling_turn_end(model, after)[1] for _, after in calls_not_stopping(model, stop)]
    return [i for i in dict.fromkeys(ids) if i is not None]


def _restore_generation_ids(model: ResolvedModel, gen: JsonDocument, add, add_ids) -> None:
    """generation_config.json gets back the ids it lost since the baseline, where generate() does not read it (a
    model that generates with an inner model's section of config.json): added to its eos_token_id, or, when the key
    is gone, written as the baseline held it."""
    dropped = _dropped(model, "generation_config.json")
    now = gen.get(("eos_token_id",))
    if _id_value(now):
        add_ids(gen, ("eos_token_id",), _not_in(dropped, _id_value(now)))
    elif now is None and not gen.has(("eos_token_id",)) and dropped:
        value = dropped[0] if len(dropped) == 1 else dropped
        add(gen, insert_member(gen, (), "eos_token_id", value), f"eos_token_id: add {_ids(value)}")


def _id_value(value: Any) -> list[int]:
    """The ids of an eos_token_id value ids can be added to (an id, or a list of nothing but ids), else []."""
    items = value if isinstance(value, list) else [value]
    return list(items) if items and all(is_listed_id(v) for v in items) else []


def _dropped(model: ResolvedModel, name: str) -> list[int]:
    """The ids ``name``'s eos_token_id held at the baseline revision (EOS015), in their order: a change that dropped
    them is undone by adding them back. Only ids the model can emit, as for every id a fix adds."""
    before = model.baseline_eos.get(name)
    return [i for i in (before.ids if before is not None else ()) if model.can_emit(i)]


def _align_genai_config(model: ResolvedModel, add) -> None:
    """genai_config.json's model.eos_token_id gains the id a chat answer ends with (EOS029), where onnxruntime-genai
    does not stop on it; without the key, or with an empty list (the runtime then stops on model.pad_token_id), the
    pad id comes first, so that the runtime still stops where it did."""
    stop = model.runtime_stops.get("onnxruntime-genai")
    doc = model.files.genai_config
    target = target_id(model)
    if stop is None or doc is None or stops(model, stop) is not False or not model.can_emit(target) \
            or target in stop.ids:
        return
    wanted = [target]
    if doc.get(("model", "eos_token_id")) == []:  # Config::Config stopped on the pad id: it stays a stop id
        wanted = [*stop.ids, target]
    if doc.has(("model", "eos_token_id")):
        add(doc, add_to_id_list(doc, ("model", "eos_token_id"), wanted), f"model.eos_token_id: add {_ids(wanted)}")
    elif isinstance(doc.get(("model",)), dict):
        value = [*stop.ids, *wanted]
        add(doc, insert_member(doc, ("model",), "eos_token_id", value), f"model.eos_token_id: add {_ids(value)}")


def _restored_generation_config(model: ResolvedModel, wanted: list[int]) -> FileChange | None:
    """generation_config.json as the baseline revision holds it (EOS015: a change deleted it), byte for byte, with
    the ids of ``wanted`` it lacks added to its eos_token_id: its sampling settings, which vLLM takes as its
    defaults, come back with the stop ids (helper-187); None where the baseline has no such file with a valid
    eos_token_id."""
    doc = model.files.baseline.get("generation_config.json")
    before = model.baseline_eos.get("generation_config.json")
    if doc is None or before is None or before.invalid or not doc.has(("eos_token_id",)):
        return None
    missing = _not_in(wanted, list(before.ids))
    edit = add_to_id_list(doc, ("eos_token_id",), missing)
    text = apply_edits(doc.text, [edit] if edit is not None else [])
    added = f", adding {_ids(missing)} to eos_token_id" if missing else ""
    return FileChange(model.folder / "generation_config.json", None, text,
                      [f"restore generation_config.json from the baseline revision{added}"])


def _new_generation_config(model: ResolvedModel, wanted: list[int]) -> FileChange | None:
    """generation_config.json as ``GenerationConfig.from_model_config(config).save_pretrained`` writes it, without its
    ``_from_model_config`` mark (below): every
    generation setting config.json holds (``max_length``, ``do_sample``, ``temperature``...; generate() read them
    from there while the file was missing, and reads only the file once it exists), top level, else the first
    truthy ``decoder``/``generator``/``text_config`` (``from_model_config``'s order)."""
    config = model.files.config
    assert config is not None
    values = {key: config.data[key] for key in GENERATION_ATTRIBUTES if config.data.get(key) is not None}
    if config.data.get("force_bos_token_to_be_generated"):  # GenerationConfig.__init__'s old-config rule
        values.pop("forced_bos_token_id", None)
        if values.get("bos_token_id") is not None:
            values["forced_bos_token_id"] = values["bos_token_id"]
    sub = next((config.data[name] for name in SUB_CONFIGS if config.data.get(name)), None)
    if isinstance(sub, dict):
        values.update({key: sub[key] for key in GENERATION_ATTRIBUTES
                       if key not in values and sub.get(key) is not None})
    if not values.get("return_dict_in_generate") and any(values.get(flag) for flag in EXTRA_OUTPUT_FLAGS):
        values["return_dict_in_generate"] = True
    current = list(model.stop.ids)
    if model.stop.invalid:
        return None
    ids = current + _not_in(wanted, current)
    values["eos_token_id"] = ids[0] if len(ids) == 1 else ids
    # not marked "_from_model_config": transformers 4.x (to 4.57) rebuilds a generation config so marked from
    # config.json in generate() where config.json holds a generation setting of its own (helper-179), which would drop
    # the ids added here (generation/utils.py _prepare_generation_config, 4.51.3 lines 1654-1673)
    document = dict(sorted(values.items()))
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return FileChange(model.folder / "generation_config.json", None, text,
                      [f"create generation_config.json with eos_token_id {_ids(values['eos_token_id'])}"])


def rebuilt_from_config_in_4x(model: ResolvedModel) -> bool:
    """Whether transformers 4.x (to 4.57) would rebuild generate()'s config from config.json, dropping what
    generation_config.json adds: that file is marked ``"_from_model_config": true`` (any true value; as
    ``save_pretrained`` wrote generation configs made from a model config) and config.json sets a generation
    setting to another value than its default (``max_length``, ``temperature``...: GLOBAL_GENERATION_DEFAULTS;
    4.57.1 generation/utils.py ``_prepare_generation_config``, lines 1719-1740, which compares with the config
    class's own defaults, the same for these settings but in a few classes). transformers 5 reads the file as it is
    (docs/runtimes.md)."""
    gen, config = model.files.generation_config, model.files.config
    if gen is None or config is None or not isinstance(gen.data, dict) or not isinstance(config.data, dict):
        return False
    return bool(gen.data.get("_from_model_config")) and any(  # truthy, as generate() tests it
        config.data.get(key) is not None and config.data[key] != default
        for key, default in GLOBAL_GENERATION_DEFAULTS.items())


def _align_config(model: ResolvedModel, wanted: list[int], add_ids, eos_id: int | None,
                  dropped: Iterable[int] = (), rebuilt: bool = False) -> None:
    """config.json's eos ids gain the wanted ones; ``eos_id``: the tokenizer's eos id once the fix is written;
    ``dropped``: the ids a change dropped from it since the baseline (EOS015), which come back; ``rebuilt``: 4.x
    rebuilds generation_config.json from config.json (:func:`rebuilt_from_config_in_4x`): a scalar becomes a list
    too, so that the rebuilt one stops where the file does."""
    config = model.config_eos
    if config is None or config.where is None or config.invalid or not config.present:
        return
    doc = config.where.document
    if one_eos_type(doc.data, config.where.keys[:-1]):  # a list would make AutoConfig raise: never one
        return
    # a scalar is left alone unless it lacks the tokenizer's eos (EOS003) or a change dropped ids from it (EOS015:
    # Gemma 3's [1, 106] cut to 1, the tokenizer's eos); then it becomes a list, keeping its id
    if isinstance(config.raw, list) or _not_in(dropped, config.ids) or rebuilt or \
            (eos_id is not None and eos_id in wanted and eos_id not in config.ids):
        add_ids(doc, config.where.keys, _not_in(wanted, config.ids))


def _align_tokenizer(model: ResolvedModel, add, eos_id: int | None, to_terminator: bool = True,
                     align_map: bool = True) -> int | None:
    """tokenizer_config.json's eos_token becomes the turn terminator (``to_terminator``), and a legacy map's
    follows tokenizer_config.json's (EOS008, ``align_map``); the eos id after that."""
    tc, stm = model.files.tokenizer_config, model.files.special_tokens_map
    terminator = model.terminator
    if tc is not None and isinstance(tc.data, dict) and "eos_token" in tc.data:
        tc_eos, unreadable = special_token_text(tc.data["eos_token"], True)
        if unreadable:  # a value transformers cannot load (EOS007): left for a person, as the docs say
            return eos_id
        target = tc_eos
        # an added token the files give an id, not one transformers appends at load time (EOS005 would then
        # report the new eos as in no vocabulary)
        if to_terminator and terminator is not None and terminator.id is not None and terminator.token != tc_eos \
                and model.vocab.is_added(terminator.token) and terminator.token not in model.vocab.appended \
                and not model.turn_end_instead(terminator.token):  # harmony's message end would end answers early
            target = terminator.token
            add(tc, _set_token(tc, ("eos_token",), target), f"eos_token: set to the turn terminator {target!r}")
            eos_id = terminator.id
        legacy = "added_tokens_decoder" not in tc.data
        # the map follows when tokenizer_config.json's eos changes here, or for its own finding (EOS008) where
        # transformers reads it. A map that named the eos changed here follows even where transformers ignores it:
        # left naming the old eos, it is an EOS008 the fix made, and it takes over again once transformers 5 saves
        # tokenizer_config.json without added_tokens_decoder.
        if (align_map or target != tc_eos) and stm is not None and isinstance(stm.data, dict) \
                and "eos_token" in stm.data and target:
            stm_eos, unreadable = special_token_text(stm.data["eos_token"], False)
            if stm_eos != target and not unreadable and (legacy or stm_eos == tc_eos):
                add(stm, _set_token(stm, ("eos_token",), target), f"eos_token: set to {target!r}")
                # the map's eos was the one transformers used (legacy branch): the target's id is the eos now
                target_id = model.vocab.id_of(target)
                eos_id = target_id if target_id is not None else eos_id
    return eos_id


def _set_token(doc: JsonDocument, keys: tuple, text: str) -> Edit:
    value = doc.get(keys)
    if isinstance(value, dict):
        return replace_value(doc, keys + ("content",), text)
    return replace_value(doc, keys, text)


def _may_write(path: Path) -> bool:
    return os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids)


def write_folder(changes: list[FileChange], held: object = None) -> None:
    """Write one folder's changes all or nothing, as far as POSIX allows: its files are replaced one by one, and a
    folder left half-fixed can hold a finding of its own (config.json aligned with an eos the tokenizer did not
    get). So every new text is first written to a temporary file beside its file, flushed and fsync'ed, with a
    copy of the file's bytes beside it too; any failure there (a full disk, a file-size limit, a folder where no
    file can be created) changes nothing. Only then are the temporary files renamed over the files. All of it runs
    inside ``held`` (a context manager that keeps SIGTERM, SIGHUP and SIGINT waiting, or None), so that no signal
    comes between a temporary file's creation and its removal (helper-145). Should the kernel refuse a rename
    (a sticky folder and another user's file, a directory put in a file's place), the files already replaced get
    their copies back, also by rename, and a file created is removed. Raises InputError naming the file; no
    temporary file is left, except by SIGKILL.

    A replaced file keeps the old one's permission bits, and its owner and group as far as the process may set
    them (root may; another user keeps the group when it is one of theirs); a created file gets the umask's. A
    file the process may not write (read-only to it) is not replaced, although the rename could."""
    if held is None:
        _write_folder(changes)
        return
    with held:  # the whole write: a signal between creating a temporary file and noting it left it behind
        _write_folder(changes)


def _write_folder(changes: list[FileChange]) -> None:
    temporaries: list[str] = []  # every temporary file made: those not renamed are removed at the end
    staged = []  # (change, its new text's temporary file, its old bytes' temporary file or None when created)
    try:
        for change in changes:
            try:
                existing = change.path.stat()
            except FileNotFoundError:
                existing = None
            if existing is not None and not _may_write(change.path):
                raise InputError(change.path, "cannot write: Permission denied (the file is read-only); no file of "
                                              "this folder is changed")
            try:
                new = _stage(change.path, change.new_text.encode("utf-8"), existing, temporaries)
                # the bytes read (unchanged_since_read compared them with old_text): UTF-8 decodes one way only
                old = None if existing is None or change.old_text is None else \
                    _stage(change.path, change.old_text.encode("utf-8"), existing, temporaries)
            except OSError as exc:
                raise InputError(change.path, f"cannot write: {exc.strerror or exc}; no file of this folder is "
                                              "changed") from None
            staged.append((change, new, old))
        _replace_all(staged)
    finally:
        for temporary in temporaries:
            try:
                os.unlink(temporary)
            except FileNotFoundError:  # renamed over its file
                pass


def _replace_all(staged: list) -> None:
    """Rename each temporary file over its file; on a failure (or an interruption: Ctrl-C), put back the files
    already replaced, last first."""
    done = []
    for change, new, old in staged:
        try:
            os.replace(new, change.path)
        except BaseException as exc:
            if not os.path.lexists(new):  # renamed, then interrupted before it was noted (Ctrl-C)
                done.append((change, old))
            unrestored = _put_back(done)
            if not isinstance(exc, OSError):
                raise
            reason = f"cannot write: {exc.strerror or exc}; "
            raise InputError(change.path, reason + ("no file of this folder is changed" if not unrestored else
                                                    f"{', '.join(unrestored)} could not be put back")) from None
        done.append((change, old))


def _put_back(done: list) -> list[str]:
    """Give the replaced files their old bytes back (a created file is removed); what could not be, as
    ``name (reason)``."""
    failed = []
    for change, old in reversed(done):
        try:
            if old is None:
                os.unlink(change.path)
            else:
                os.replace(old, change.path)
        except OSError as exc:
            failed.append(f"{change.path.name} ({exc.strerror or exc})")
    return failed


def _stage(path: Path, data: bytes, existing: os.stat_result | None, temporaries: list[str]) -> str:
    """A temporary file beside ``path`` holding ``data``, flushed and fsync'ed, with ``existing``'s mode and owner
    (None: the umask's mode, as open() gives a new file)."""
    # a new file is created with 0o666 for the kernel to apply the umask (and a default ACL) to, as open() does;
    # reading the umask would mean setting it, which another thread of the caller could see
    fd, temporary = _create_temporary(path, 0o600 if existing is not None else 0o666)
    temporaries.append(temporary)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if existing is not None:
        _keep_owner(temporary, existing)
        os.chmod(temporary, stat.S_IMODE(existing.st_mode))  # after the chown, which may clear set-id bits
        _keep_extended_attributes(temporary, path)
    return temporary


def _keep_extended_attributes(temporary: str, path: Path) -> None:
    """The replaced file's extended attributes (a POSIX ACL, which holds the same permission bits as the mode;
    user.* notes; an SELinux label), each where the system and the process may set it (helper-195: the rename
    dropped them)."""
    if not hasattr(os, "listxattr"):  # Linux only
        return
    try:
        names = os.listxattr(path)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(temporary, name, os.getxattr(path, name))
        except OSError:  # not permitted (a label only a privileged process sets), or not held by the file system
            continue


TMP_MAX = 10_000  # names tried, as tempfile.TMP_MAX


def _create_temporary(path: Path, mode: int) -> tuple[int, str]:
    """A new file ``.NAME.XXXXXXXX.tmp`` beside ``path``, opened for writing, created with ``mode`` (less the umask),
    as ``tempfile.mkstemp`` creates one with 0o600 (tempfile itself is not imported: with shutil and random it
    cost a check that finds something more than the rest of its fix planning)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(TMP_MAX):
        temporary = os.path.join(path.parent, f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No usable temporary file name found", str(path.parent))


def _keep_owner(temporary: str, existing: os.stat_result) -> None:
    if not hasattr(os, "chown"):  # Windows
        return
    for uid in (existing.st_uid, -1):  # the owner and group; failing that (not root), the group alone
        try:
            os.chown(temporary, uid, existing.st_gid)
            return
        except PermissionError:
            continue


def unencodable(changes: list[FileChange]) -> InputError | None:
    """Why one of a folder's new texts cannot be written as UTF-8, if one cannot (the splices escape what UTF-8
    cannot hold, so this only makes sure no folder is left half-written by a text that fails at its write)."""
    for change in changes:
        try:
            change.new_text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return InputError(change.path, f"cannot write: the new text holds {exc.object[exc.start]!r}, which UTF-8 "
                                           "cannot encode; no file of this folder is changed")
    return None


def unchanged_since_read(change: FileChange) -> bool:
    """Whether the file still holds the text the plan was made from (another writer may have been faster)."""
    if not os.path.lexists(change.path):
        return change.old_text is None
    try:  # with the checks of the first read: a file swapped for a FIFO meanwhile must not block the fix
        current = read_bytes(change.path).decode("utf-8")
    except (InputError, NotRead, UnicodeDecodeError):
        return False
    return current == change.old_text


