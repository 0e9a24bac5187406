"""One module per serving runtime: resolved folder -> that runtime's stop set (see docs/runtimes.md).

Each module names the release lines it models (``RELEASES``, newest first) and builds the stop set for one of
them with ``stop_set(model, release)``. The newest line is the default; ``runtime-versions`` in the settings
pins another. Where another line gives a different answer, the stop set carries a note saying so.
"""

from __future__ import annotations

from types import ModuleType

from ..known_tokens import MESSAGE_END
from ..resolve import ResolvedModel, Terminator
from ..template import ends_call_unseen, first_listed
from . import llama_cpp, mlx_lm, ollama, onnxruntime_genai, sglang, tgi, transformers, vllm
from .base import Release, StopSet, parse_version, pick_release

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Callable, Mapping, Sequence

MODULES: dict[str, ModuleType] = {
    "transformers": transformers,
    "vllm": vllm,
    "sglang": sglang,
    "tgi": tgi,
    "mlx-lm": mlx_lm,
    "llama.cpp": llama_cpp,
    "ollama": ollama,
    "onnxruntime-genai": onnxruntime_genai,
}
RUNTIMES: dict[str, Callable[..., StopSet]] = {name: module.stop_set for name, module in MODULES.items()}
# each runtime as messages name it
NAMES = {"vllm": "vLLM", "sglang": "SGLang", "tgi": "TGI", "mlx-lm": "mlx-lm", "llama.cpp": "llama.cpp",
         "ollama": "Ollama", "transformers": "transformers", "onnxruntime-genai": "onnxruntime-genai"}
RELEASES: dict[str, tuple[Release, ...]] = {name: module.RELEASES for name, module in MODULES.items()}
GGUF_RUNTIMES = ("llama.cpp", "ollama")  # they serve a GGUF, whose eos the converter takes from the tokenizer files


def answer_terminator(model: ResolvedModel, stop: StopSet | None = None) -> Terminator | None:
    """The terminator of the template the runtime of ``stop`` renders for a chat without tools
    (``StopSet.template``: a processor's, in vLLM and SGLang), else the default template's."""
    return _rendered(model, stop.template if stop is not None else "")


def _rendered(model: ResolvedModel, label: str) -> Terminator | None:
    """The terminator of the template ``label`` names, else (no label, or none of that name) the default one's."""
    found = model.terminator_of(label) if label else None
    return found if found is not None else model.terminator


def other_template(model: ResolvedModel, stop: StopSet) -> tuple[Terminator, str] | None:
    """Where the runtime of ``stop`` renders another template than the default one, whose answers end with another
    token: that template's terminator and the chats it renders it for ("every chat", "a chat without tools"), as
    EOS016 and ``explain`` say; else None."""
    other, default = answer_terminator(model, stop), model.terminator
    if not stop.template or other is None or other is default or other.token is None \
            or (default is not None and default.token == other.token):
        return None
    return other, "every chat" if stop.tool_template == stop.template else "a chat without tools"


def target_id(model: ResolvedModel, stop: StopSet | None = None) -> int | None:
    """The id a chat answer ends with: the terminator of the template the runtime of ``stop`` renders
    (:func:`answer_terminator`; without ``stop``, the default template's), else the tokenizer's eos."""
    terminator = answer_terminator(model, stop)
    if terminator is not None and terminator.id is not None:
        return terminator.id
    if terminator is not None and (terminator.token is not None or terminator.spelled):
        return None  # a terminator without an id, or one spelled in pieces (EOS011): no id ends an answer
    if terminator is not None and remote_token_after_answer(model, terminator.probe.tail) is not None:
        return None  # what follows an answer starts with a token of the remote code's own (EOS011)
    eos = model.tokenizer_eos
    return eos.id if eos is not None and not eos.appended else None


def remote_token_after_answer(model: ResolvedModel, tail: str) -> str | None:
    """The special-looking text (``<|user|>``, ``<...>``, ``[...]``) that starts what a template writes after an
    answer where no file gives it an id and the tokenizer is remote code that declares no added token, so it may add
    tokens of its own: ChatGLM3's official files, whose ``<|user|>`` 64795, which ends every answer (its own
    ``chat()`` stops on it), is in its Python code only (helper-164). None otherwise (a piece of the tokenizer.model,
    as early Yi's ``<|im_end|>``, is judged as any token is)."""
    vocab = model.vocab
    words = tail.split(None, 1)
    if not words or not vocab.remote or vocab.declared:
        return None
    first = words[0]
    special = (first[:1], first[-1:]) in (("<", ">"), ("[", "]"))
    return first if special and len(first) > 2 and vocab.id_of(first) is None else None


def stop_id(model: ResolvedModel, stop: StopSet) -> int | None:
    """The id a chat answer stops on in that runtime, if it lists it: the first of the tokens the template writes
    in turn after every answer that the runtime lists (``Terminator.run_ids``: the model writes
    them in turn), else the answer's id (:func:`target_id`)."""
    target, terminator = target_id(model, stop), answer_terminator(model, stop)
    if target is None or terminator is None or terminator.token is None:
        return target
    at = first_listed(terminator.run_ids, stop.ids)
    return terminator.run_ids[at] if at is not None else target


def stops(model: ResolvedModel, stop: StopSet) -> bool | None:
    """Whether a chat answer stops in that runtime; None when the folder does not say which id it ends with, or
    when the runtime may stop on ids the files do not name (``stop.unknown``) and the answer's id is not listed."""
    target = stop_id(model, stop)
    if target is None:
        return None
    if target in stop.ids:
        return not never_emitted(model, stop, target)
    return None if stop.unknown else False


def calling_turns(model: ResolvedModel,
                  stop: StopSet | None = None) -> list[tuple[bool, list[tuple[str, int | None]]]]:
    """``(built in, the added tokens)`` the default template (the one the runtime of ``stop`` renders with tools:
    ``StopSet.tool_template``) writes after each tool call it renders
    (``Probe.calls``: the sample tool's, then a built-in tool's where that differs), each token with its id (empty
    when it writes none there): what EOS030 reads. Empty when it renders no tool call (no tool support, or it
    refuses a ``tool`` message)."""
    terminator = _rendered(model, stop.tool_template if stop is not None else "")
    calls = terminator.probe.calls() if terminator is not None else []
    return [(builtin, [(token, model.vocab.id_of(token)) for token in after]) for builtin, after in calls]


def calling_turn(model: ResolvedModel, builtin: bool = False) -> list[tuple[str, int | None]] | None:
    """The tokens of :func:`calling_turns` after the sample tool's call (with ``builtin``, after a built-in tool's),
    or None when the template renders no such call."""
    return dict(calling_turns(model)).get(builtin)


def calls_stop(model: ResolvedModel, stop: StopSet) -> bool | None:
    """Whether a turn that calls a tool stops in that runtime: one of the tokens the template writes after the call
    is a stop id (as EOS030 asks of generate()), after a call to a built-in tool too where the template writes other
    tokens there (false when either does not); None when the template renders no tool call, or when the runtime may
    stop on ids the files do not name and none is listed; None too when it writes no added token there (nothing to
    stop on but text, which EOS030 does not judge)."""
    verdicts = [_call_stops(after, stop) for _, after in calling_turns(model, stop)]
    if False in verdicts:
        return False
    return True if verdicts and all(verdicts) else None


def _call_stops(after: list[tuple[str, int | None]], stop: StopSet) -> bool | None:
    if not after or ends_call_unseen([token for token, _ in after]):
        return None  # no added token, or no end of the calling turn at all (Command R+'s tool_use): not shown
    if any(token_id in stop.ids for _, token_id in after if token_id is not None):
        return True
    if stop.unknown or any(token_id is None for _, token_id in after):
        return None  # a token without an id in these files may be a stop id (llama.cpp stops on '<|call|>' by text)
    return False


def why_unknown(model: ResolvedModel, stop: StopSet) -> str:
    """Why ``stops`` says neither yes nor no, in a few words: which id a chat answer ends with is not known, or
    the runtime may stop on ids the files do not name (``stop.unknown``)."""
    terminator, eos = answer_terminator(model, stop), model.tokenizer_eos
    if terminator is not None and terminator.token is not None and terminator.id is None:
        return f"the terminator '{terminator.token}' has no id: {model.why_no_id}"
    if terminator is not None and terminator.spelled:
        return f"chat answers end with the text '{terminator.spelled}', which is no token of this tokenizer (EOS011)"
    if terminator is None or terminator.token is None:
        if eos is not None and eos.appended:
            return f"no template terminator, and the tokenizer's eos '{eos.token}' is in no vocabulary"
        if eos is not None and eos.id is None:  # falcon-7b-instruct: an eos text, no tokenizer.json to number it
            return f"no template terminator, and the tokenizer's eos '{eos.token}' has no id in these files"
        if eos is None:
            return "no template terminator or eos to stop on"
    return stop.unknown or "no template terminator or eos to stop on"


def never_emitted(model: ResolvedModel, stop: StopSet, token_id: int) -> tuple[str, str] | None:
    """Why the runtime never samples ``token_id``, and what to change; None when it may. An id not below the text
    model's ``vocab_size`` has no row in its output layer (EOS006); a runtime may ban ids of its own
    (``StopSet.never_samples``: transformers' ``suppress_tokens``, EOS012)."""
    if model.beyond_vocab(token_id):
        return (f"the model never emits {token_id}: it is not below {model.vocab_size_name} {model.vocab_size}",
                "use the id the tokenizer gives the token, or resize the embeddings and update vocab_size (EOS006)")
    for banned, reason, fix in stop.never_samples:
        if banned == token_id:
            return f"the model never emits {token_id}: {reason}", fix
    return None


def _never_emitted_target(model: ResolvedModel, stop: StopSet) -> tuple[str, str, bool] | None:
    """:func:`never_emitted` for the answer's id, and whether the stop set lists it."""
    target = stop_id(model, stop)
    blocked = never_emitted(model, stop, target) if target is not None else None
    return (*blocked, target in stop.ids) if blocked else None


def why(model: ResolvedModel, stop: StopSet) -> str:
    """The stop set's reason, and why the answer's id never comes where it is never sampled (listed or not)."""
    blocked = _never_emitted_target(model, stop)
    return f"{stop.why}; {blocked[0]}" if blocked else stop.why


def fix(model: ResolvedModel, stop: StopSet) -> str:
    """What to change so that the runtime stops on the answer's id: where it is never sampled, that first (adding
    it to the stop ids is not enough: helper-113's suppressed terminator); the template, where the answer ends with a
    token that also ends the reasoning before it (:func:`message_end_advice`); removing harmony's message end where
    the runtime stops on it before the answer (:func:`stops_early`, EOS033)."""
    early = stops_early(model, stop)
    if early is not None:
        return early_stop_advice(model, early)
    blocked = _never_emitted_target(model, stop)
    advice = stop_advice(model, stop)
    if blocked is None:
        return advice
    return blocked[1] if blocked[2] else f"{advice}, and {blocked[1]}"


def stop_advice(model: ResolvedModel, stop: StopSet) -> str:
    """The runtime's advice to add the answer's id (after writing as ids the entries that are none: :func:`ids_first`),
    or the template's change where the answer ends with harmony's message end (:func:`message_end_advice`)."""
    terminator = answer_terminator(model, stop)
    if terminator is not None and model.turn_end_instead(terminator.token):
        return message_end_advice(model, terminator)
    return ids_first(model, stop.fix)


def message_end_advice(model: ResolvedModel, terminator: Terminator) -> str:
    """What to change where a template ends answers with harmony's message end (ResolvedModel.turn_end_instead):
    the template, since a stop id on that token would end every answer after its reasoning (helper-177: Unsloth's
    gpt-oss template, whose final answer ends with "<|end|>", and --fix added 200007)."""
    return (f"end the final answer with {turn_end_shown(model, terminator.token)} in the chat template, as OpenAI's "
            "harmony template does "
            f"('{terminator.token}' also ends the reasoning before an answer: a stop id on it would end generation "
            "there)")


def stops_early(model: ResolvedModel, stop: StopSet) -> int | None:
    """The id of harmony's message end (``<|end|>``) where the runtime stops on it in a harmony vocabulary, which
    ends the reasoning before every answer (EOS033), so that the answer is never written; else None."""
    end_id = model.vocab.id_of(MESSAGE_END)
    if end_id is None or end_id not in stop.ids or model.turn_end_instead(MESSAGE_END) is None:
        return None
    return end_id


def early_stop_advice(model: ResolvedModel, end_id: int) -> str:
    """What EOS033 and ``explain`` advise where a runtime :func:`stops_early`."""
    return f"remove {end_id}, and end turns with {turn_end_shown(model, MESSAGE_END)}"


def turn_end_shown(model: ResolvedModel, token: str | None) -> str:
    """``'<|return|>' (200002)``: the text that ends a turn where ``token`` ends messages only
    (ResolvedModel.turn_end_instead), with its id where the files give one; what EOS001, EOS002, EOS003, EOS016 and
    EOS033 advise."""
    end = model.turn_end_instead(token)
    end_id = model.vocab.id_of(end) if end else None
    return f"'{end}' ({end_id})" if end_id is not None else f"'{end}'"


def ids_first(model: ResolvedModel, advice: str) -> str:
    """``advice`` (to add an id), after writing as ids the entries of eos_token_id that are none (EOS007: a float, a
    string, a negative number), to which ``--fix`` adds nothing (helper-171, helper-173)."""
    return f"write eos_token_id as non-negative integer ids (EOS007), then {advice}" if model.stop.invalid else advice


VERDICT_WORDS = {True: "stops", False: "does not stop", None: "cannot tell"}


def runtimes_checked(model: ResolvedModel, runtimes: Sequence[str]) -> tuple[str, ...]:
    """The runtimes whose stopping a run checks in ``model``: the run's (``--runtime``, ``runtimes``), and mlx-lm
    for an MLX-quantized checkpoint, which mlx-lm alone runs: its runaway is the folder's, selected or not."""
    return tuple(dict.fromkeys((*runtimes, "mlx-lm") if model.files.mlx_quantized else runtimes))


def stop_sets(model: ResolvedModel, versions: Mapping[str, str] | None = None) -> dict[str, StopSet]:
    """Every runtime's stop set for the pinned (else newest) release, with a note where other releases differ.
    onnxruntime-genai only for an ONNX Runtime GenAI export (genai_config.json): it runs no other folder, and
    every other folder's report would carry a row that says so. For an MLX-quantized checkpoint only mlx-lm has a
    stop set: the others cannot load it."""
    versions = versions or {}
    result: dict[str, StopSet] = {}
    for name, module in MODULES.items():
        if module is onnxruntime_genai and not model.files.onnx_export:
            continue
        releases: tuple[Release, ...] = module.RELEASES
        if len(releases) == 1:  # one line modelled: nothing to pick or compare
            result[name] = module.stop_set(model, releases[0]).labelled(releases[0])
            continue
        pin = versions.get(name)
        chosen = pick_release(releases, parse_version(pin) if pin is not None else None)
        lines = {release: module.stop_set(model, release) for release in releases}
        verdicts = {release: stops(model, stop) for release, stop in lines.items()}
        notes: tuple[str, ...] = ()
        if len(set(verdicts.values())) > 1:
            notes = ("; ".join(f"{release.label}: {VERDICT_WORDS[verdicts[release]]}"
                               for release in reversed(releases)),)
        others = tuple(stop.labelled(release) for release, stop in lines.items() if release is not chosen)
        result[name] = lines[chosen].labelled(chosen, notes, others)
    if model.files.onnx_export:
        # ONNX weights: only onnxruntime-genai runs the folder; the others load or convert no ONNX checkpoint
        reason = "an ONNX Runtime GenAI export (genai_config.json): this runtime loads no ONNX weights"
        fix = "none in this folder: onnxruntime-genai runs it (genai_config.json model.eos_token_id)"
        result = {name: stop if name == "onnxruntime-genai" else stop.not_loaded(reason, fix)
                  for name, stop in result.items()}
    elif model.files.mlx_quantized:
        # MLX's packed weights: mlx-lm alone loads them (docs/runtimes.md: what each other runtime does with them)
        reason = ("an MLX-quantized checkpoint (config.json quantization, as mlx_lm.convert -q writes it): this "
                  "runtime has no MLX quantization and does not load its packed weights")
        fix = "none in this folder: mlx-lm runs it; check the unquantized model it was converted from"
        result = {name: stop if name == "mlx-lm" else stop.not_loaded(reason, fix) for name, stop in result.items()}
    elif model.files.configs_elsewhere:
        base = f"the base model {model.files.adapter_base}" if model.files.adapter_base else "the base model"
        # Served on its base: transformers' generate() reads the base's generation config, vLLM and SGLang keep
        # the base's tokenizer and configs (a LoRA changes weights only), a LoRA GGUF runs on the base GGUF's
        # vocabulary; nothing this folder holds gives a stop id (its tokenizer's eos included)
        held = model.files.configs_read
        reason = f"a PEFT adapter: it is served on {base}, whose tokenizer and configs give the stop ids, " + (
            f"not the {' and '.join(held)} beside its weights here" if held else "and this folder does not hold them")
        fix = f"check {base} (eos-guard hf://NAME): its generation_config.json must list the id"
        result = {name: stop.from_elsewhere(reason, fix, keep_ids=False) for name, stop in result.items()}
    elif model.files.tokenizer_only and (model.files.tokenizer is not None or model.files.tokenizer_config is not None):
        # no model loads from such a folder: the configs of the model the tokenizer is used with give the ids of
        # the runtimes that read them; a GGUF converter takes its eos from the tokenizer files (llama.cpp, Ollama)
        reason = "tokenizer files only: the stop ids depend on the model's configs, which this folder does not hold"
        fix = "check the model folder that holds its config.json and generation_config.json"
        result = {name: stop if name in GGUF_RUNTIMES else stop.from_elsewhere(reason, fix)
                  for name, stop in result.items()}
    return result


def released(stops: Mapping[str, StopSet], shared: dict[tuple, StopSet]) -> dict[str, StopSet]:
    """The stop sets a report keeps once its folder's documents are released: without their places, which pointed
    into those documents (the rules have used them), and one object for equal ones in ``shared``, which a run keeps
    for its folders (a run over many folders of a few families keeps a few)."""
    return {name: stop.without_place(shared) for name, stop in stops.items()}


__all__ = ["MODULES", "NAMES", "RELEASES", "RUNTIMES", "Release", "StopSet", "answer_terminator", "calling_turn",
           "calling_turns", "calls_stop", "early_stop_advice", "message_end_advice", "other_template", "released",
           "stop_advice", "stop_id", "stop_sets", "stops", "stops_early", "target_id", "turn_end_shown"]
