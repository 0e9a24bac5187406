"""Align a loaded model's stop ids with its tokenizer and chat template, in memory, before it is saved.

The alignment-handbook's SFT script does::

    model.generation_config.eos_token_id = model.config.eos_token_id = tokenizer.eos_token_id

which drops every stop id the model had (Gemma 3's ``[1, 106]`` becomes ``1``) and ignores the chat template
(a Qwen base tokenizer's eos is ``<|endoftext|>`` while its ChatML template ends turns with ``<|im_end|>``).
:func:`align` does the same job add-only and template-aware, with the rules of ``eos-guard --fix``
(docs/fix.md), so that ``save_pretrained`` writes a folder eos-guard finds clean:

- ``generation_config.eos_token_id`` keeps every id it had and gains, after them, each chat template's turn
  terminator (the default template's first), the tokenizer's eos, and, for a template after whose tool calls
  none of those ids comes, the token that ends a turn calling a tool where it is a known one (EOS030: gpt-oss's
  ``<|call|>``). An int stays an int when nothing is added and becomes a list when something is; ``None``
  becomes the wanted ids.
- ``config.eos_token_id`` (the text config's, as transformers' ``trainer_utils.align_special_tokens`` reads
  it): a list gains the same ids, and so does an int that is not the tokenizer's eos (it becomes a list that
  keeps it first); ``None`` becomes the tokenizer's eos.
- Ids that are not below the config's ``vocab_size`` are never added (the model cannot emit them).
- A value that holds something other than token ids (non-negative ints), such as the token string
  ``"<|im_end|>"`` (``generation_config.eos_token_id = tokenizer.eos_token``), ``-1`` or ``[2, None]``, is
  refused with a ValueError and nothing is changed: generate() cannot stop on it (a float or a bool it casts, to
  its integer part or to 0 or 1, which AutoConfig and other runtimes do not), check mode reports it as
  EOS007 and ``--fix`` leaves it to a person, since which ids were meant is not for eos-guard to guess.

Only attributes are read and written (duck typing): neither transformers nor torch is imported here.
"""

from __future__ import annotations

import functools

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# Nothing heavy at import time: ``eos_guard/__init__.py`` exports align(), and the CLI's start-up stays lean
# (the template sandbox and logging are imported on the first call).

GENERATION_KEY = "generation_config.eos_token_id"
CONFIG_KEY = "config.eos_token_id"


def align(model: Any, tokenizer: Any) -> dict[str, tuple[Any, Any]]:
    """Add the chat template's terminator and the tokenizer's eos to ``model``'s stop ids, in place.

    ``model`` is anything with ``.config`` and ``.generation_config`` (a ``PreTrainedModel``, a PEFT model,
    or a wrapper with ``.module``); ``tokenizer`` a transformers tokenizer or a processor holding one.
    Returns what changed, as ``{"generation_config.eos_token_id": (old, new), "config.eos_token_id": (old,
    new)}`` (only the keys that changed; for a multimodal model the config key names the text config, e.g.
    ``"config.text_config.eos_token_id"``). An empty dict means the model was already aligned. Raises
    ValueError, changing nothing, when an eos_token_id holds something other than token ids (EOS007).
    """
    model = _unwrap(model)
    tok = _tokenizer_of(tokenizer)
    config = getattr(model, "config", None)
    if config is None:
        raise TypeError(f"{type(model).__name__} has no .config: pass the model (PreTrainedModel) to align()")
    text_config, config_key = _text_config(config)
    vocab_size = _int_or_none(getattr(text_config, "vocab_size", None))
    eos_id = _int_or_none(getattr(tok, "eos_token_id", None))

    generation_config = getattr(model, "generation_config", None)
    for key, holder in ((GENERATION_KEY, generation_config), (config_key, text_config)):
        _refuse_what_is_no_id(key, getattr(holder, "eos_token_id", None), tok)  # before anything is changed

    wanted: list[int] = []
    answers = [*terminator_ids(tokenizer), eos_id]
    seen: set[int] = set()  # each id once: the terminator is often the tokenizer's eos too (one warning, not two)
    for token_id in [*answers, *calling_turn_end_ids(tokenizer, [*_configured(generation_config), *answers])]:
        if token_id is None or token_id in seen:
            continue
        seen.add(token_id)
        if vocab_size is not None and token_id >= vocab_size:
            _logger().warning("eos-guard: not adding stop id %d: it is not below the model's vocab_size %d",
                              token_id, vocab_size)
            continue
        wanted.append(token_id)

    changes: dict[str, tuple[Any, Any]] = {}
    if generation_config is not None:
        old = getattr(generation_config, "eos_token_id", None)
        new = _added(old, wanted)
        if new is not None:
            generation_config.eos_token_id = new
            changes[GENERATION_KEY] = (_copy(old), _copy(new))

    old = getattr(text_config, "eos_token_id", None)
    new = None
    if isinstance(old, (list, tuple)) or (_int_or_none(old) is not None and eos_id in wanted and old != eos_id):
        new = _added(old, wanted)  # a scalar without the tokenizer's eos becomes a list that keeps it first
    elif old is None and eos_id in wanted:
        new = eos_id
    if new is not None:
        text_config.eos_token_id = new
        changes[config_key] = (_copy(old), _copy(new))

    for key, (before, after) in changes.items():
        _logger().debug("eos-guard: %s %r -> %r", key, before, after)
    return changes


def _refuse_what_is_no_id(key: str, value: Any, tokenizer: Any) -> None:
    """ValueError when ``value`` (an eos_token_id, None for unset) holds something other than token ids, as check
    mode's EOS007 reports it in a saved file (``resolve.is_listed_id``)."""
    from .resolve import is_listed_id

    items = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
    wrong = [item for item in items if not is_listed_id(item)]
    if not wrong:
        return
    meant = {item: _int_or_none(tokenizer.convert_tokens_to_ids(item)) for item in wrong if isinstance(item, str)}
    hint = "".join(f"; {item!r} is token {token_id}" for item, token_id in meant.items() if token_id is not None)
    raise ValueError(f"eos-guard: {key} is {value!r}, which holds {', '.join(map(repr, wrong))}: not a token id (a "
                     f"non-negative integer), as every runtime needs (EOS007 in a saved folder); align() "
                     f"only adds ids: set it to token ids{hint}")


def stop_ids(model: Any, tokenizer: Any) -> list[int]:
    """The ids generation stops on, as :func:`align` makes them: ``generation_config.eos_token_id``'s, then
    each chat template's terminator, the tokenizer's eos and the tokens that end turns calling a tool when
    missing. Reads only; changes nothing."""
    eos_id = _int_or_none(getattr(_tokenizer_of(tokenizer), "eos_token_id", None))
    configured = _configured(getattr(_unwrap(model), "generation_config", None))
    given = [*configured, *terminator_ids(tokenizer), eos_id]
    ids: list[int] = []
    for token_id in [*given, *calling_turn_end_ids(tokenizer, given)]:
        if token_id is not None and token_id not in ids:
            ids.append(token_id)
    return ids


def _configured(generation_config: Any) -> list[int | None]:
    """``generation_config.eos_token_id`` as a list of ids (None for what is no id, or for no value)."""
    value = getattr(generation_config, "eos_token_id", None)
    return [_int_or_none(i) for i in (value if isinstance(value, (list, tuple)) else [value])]


def terminator_ids(tokenizer: Any) -> list[int]:
    """The ids of the tokens that end an assistant turn in each chat template, the default template's first.

    The templates are rendered in eos-guard's sandbox (:func:`eos_guard.template.probe_template`) with the
    tokenizer's special token strings as variables; a terminator is an added token that follows the
    assistant's answer. A template that fails to render, or ends turns with text that is no added token,
    contributes nothing.
    """
    return [token_id for _, _, token_id in terminators(tokenizer) if token_id is not None]


def calling_turn_end_ids(tokenizer: Any, stops: list[Any]) -> list[int]:
    """The ids of the tokens that end a turn calling a tool (template.call_end), for each chat template after
    whose tool calls no token is one of ``stops`` (EOS030), as ``--fix`` adds them."""
    from .template import call_end

    tok = _tokenizer_of(tokenizer)
    ids: list[int] = []
    for source, special_tokens, added in _probe_inputs(tokenizer):
        for after in _probe(source, special_tokens, added)[1]:
            after_ids = [_int_or_none(tok.convert_tokens_to_ids(token)) for token in after]
            end = call_end(after)
            if not after or any(token_id in stops for token_id in after_ids if token_id is not None) or end is None:
                continue
            token_id = after_ids[after.index(end)]
            if token_id is not None and token_id not in ids:
                ids.append(token_id)
    return ids


def terminators(tokenizer: Any) -> list[tuple[str, str | None, int | None]]:
    """``(template name, terminator string, id)`` for each chat template of ``tokenizer``, default first."""
    tok = _tokenizer_of(tokenizer)
    eos = getattr(tok, "eos_token", None)
    result = []
    for (name, _), (source, special_tokens, added) in zip(_templates(tokenizer), _probe_inputs(tokenizer)):
        run = _probe(source, special_tokens, added)[0]
        # of the tokens written one after the other after every answer (Command R7B's <|END_RESPONSE|> then
        # <|END_OF_TURN_TOKEN|>), the tokenizer's eos where it is one of them, as eos-guard's fix picks it
        token = eos if eos in run else (run[0] if run else None)
        token_id = None
        if token is not None:
            token_id = _int_or_none(tok.convert_tokens_to_ids(token))
            unk = getattr(tok, "unk_token_id", None)
            if token_id is not None and token_id == unk and token != getattr(tok, "unk_token", None):
                token_id = None  # not in the vocabulary after all
        result.append((name, token, token_id))
    return result


def _probe_inputs(tokenizer: Any) -> list[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]]:
    """``(source, special tokens, added tokens)`` of each chat template, "default" first: what :func:`_probe` takes."""
    tok = _tokenizer_of(tokenizer)
    templates = _templates(tokenizer)
    if not templates:
        return []
    special = getattr(tok, "special_tokens_map", None) or {}
    special_tokens = tuple(sorted((k, v) for k, v in dict(special).items()
                                  if isinstance(k, str) and isinstance(v, str)))
    get_added = getattr(tok, "get_added_vocab", None)
    added = tuple(sorted(get_added().keys())) if callable(get_added) else ()
    return [(source, special_tokens, added) for _, source in templates]


@functools.lru_cache(maxsize=64)
def _probe(source: str, special_tokens: tuple[tuple[str, str], ...],
           added: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The added tokens one template writes in turn after every answer (``Probe.run``, the terminator first), and
    those it writes after each tool call (``Probe.calls``); cached, since callbacks align at every save."""
    from .template import probe_template, turn_end_run

    probe = probe_template(source, dict(special_tokens), added)
    if probe.token is None and (probe.errors or probe.limit_exceeded):
        why = probe.limit_exceeded or "; ".join(probe.errors[:2])
        if probe.marker_seen:  # some conversations rendered (helper-170: Mistral's, without a system turn)
            _logger().warning("eos-guard: the chat template writes no added token after an answer in the "
                              "conversations it renders, so it names no terminator; the others raised: %s", why)
        else:
            _logger().warning("eos-guard: the chat template did not render, so its terminator is unknown: %s", why)
    return tuple(turn_end_run(probe, source)), tuple(tuple(after) for _, after in probe.calls())


def _templates(tokenizer: Any) -> list[tuple[str, str]]:
    """``(name, source)`` pairs, "default" first: ``chat_template`` is a string or a dict of named templates."""
    template = getattr(tokenizer, "chat_template", None)
    if template is None and tokenizer is not _tokenizer_of(tokenizer):
        template = getattr(_tokenizer_of(tokenizer), "chat_template", None)
    if isinstance(template, str):
        return [("default", template)] if template else []
    if isinstance(template, dict):
        items = [(str(k), v) for k, v in template.items() if isinstance(v, str) and v]
    elif isinstance(template, (list, tuple)):  # tokenizer_config.json's [{name, template}] form
        items = [(str(t.get("name")), t.get("template")) for t in template
                 if isinstance(t, dict) and isinstance(t.get("template"), str) and t.get("template")]
    else:
        return []
    return sorted(items, key=lambda item: item[0] != "default")


def _added(old: Any, wanted: list[int]) -> Any:
    """``old`` with the missing ``wanted`` ids appended, or None when nothing is missing."""
    if old is None:
        if not wanted:
            return None
        return wanted[0] if len(wanted) == 1 else list(wanted)
    current = list(old) if isinstance(old, (list, tuple)) else [old]
    missing = [i for i in wanted if i not in current]
    if not missing:
        return None
    return current + missing


def _text_config(config: Any) -> tuple[Any, str]:
    """The config that holds eos_token_id (``get_text_config()``, as transformers aligns it) and its name."""
    get_text_config = getattr(config, "get_text_config", None)
    text_config = get_text_config() if callable(get_text_config) else config
    if text_config is None or text_config is config:
        return config, CONFIG_KEY
    from .resolve import TEXT_SECTIONS

    for name in TEXT_SECTIONS:
        if getattr(config, name, None) is text_config:
            return text_config, f"config.{name}.eos_token_id"
    return text_config, "config.text_config.eos_token_id"


def _logger() -> Any:
    import logging

    return logging.getLogger("eos_guard")


def _unwrap(model: Any) -> Any:
    while getattr(model, "config", None) is None and getattr(model, "module", None) is not None:
        model = model.module  # DistributedDataParallel and friends
    return model


def _tokenizer_of(tokenizer: Any) -> Any:
    """A processor's tokenizer, or the tokenizer itself; TypeError for anything else (None, a path, a dict), which
    would otherwise give no ids and read as "already aligned"."""
    if not hasattr(tokenizer, "convert_tokens_to_ids") and getattr(tokenizer, "tokenizer", None) is not None:
        tokenizer = tokenizer.tokenizer
    if not hasattr(tokenizer, "convert_tokens_to_ids"):
        raise TypeError(f"{type(tokenizer).__name__} is not a tokenizer: pass the tokenizer (or the processor "
                        "holding one) the model is trained with")
    return tokenizer


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and number == value else None


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value
