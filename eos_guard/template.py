"""Renders chat templates in a sandbox, as transformers does, to find the token that ends an assistant turn.

The environment mirrors ``transformers.utils.chat_template_utils._cached_compile_jinja_template`` (5.x):
an ``ImmutableSandboxedEnvironment`` with ``trim_blocks``/``lstrip_blocks``, loop controls, the
``{% generation %}`` tag, ``tojson`` without HTML escaping, ``raise_exception``, ``strftime_now`` and the
restricted ``dict``/``namespace``. On top of that sandbox, templates from strangers get limits: one deadline
for a whole probe, a cap on output size, and size checks before every operator, filter and method that can
make a result much larger than its input; nothing of a template runs while it compiles. These hooks are the
first line; the probe itself runs in a worker process under the operating system's limits (render_worker.py).
jinja2 is imported only when a template has to be rendered, and then only in that worker.
"""

from __future__ import annotations

import functools
import json
import re
import time
from _thread import _local as _thread_local  # threading.local itself: threading is imported only to render

from .errors import MissingDependency
from .known_tokens import TOOL_CALL_END_TEXTS, TURN_OPENING_TEXTS
from .records import asdict, field, record, replace

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, Collection, Iterable, Iterator

ASSISTANT_MARKER = "EOSGUARDASSISTANT"
SYSTEM_TEXT = "EOSGUARDSYSTEM"
USER_TEXT = "EOSGUARDUSER"
SECOND_USER_MARKER = "EOSGUARDUSERTWO"
# Written where a ``{% generation %}`` block starts and ends, in a probe's render only (Unicode noncharacters: no
# template or token holds them): what lies inside blocks is what transformers' assistant mask trains (Probe.trained).
GENERATION_START, GENERATION_END = "\ufdd1", "\ufdd0"
# The tool-call probe: an assistant turn that calls the sample tool (this marker as the argument), then the tool's
# result (this one); what the template writes between them ends the calling turn.
CALL_MARKER = "EOSGUARDCALLARG"
TOOL_RESULT_MARKER = "EOSGUARDTOOLRESULT"
TOOL_CALL_SHAPE = "user,assistant+call,tool"
# The same call with the sample tool listed in ``builtin_tools``, a variable Meta's Llama 3.1 and 3.3 templates read
# (``apply_chat_template(..., builtin_tools=[...])``): their "ipython" mode ends a calling turn with <|eom_id|>, where
# answers and other calls end with <|eot_id|>. Rendered only for a template whose text names the variable.
BUILTIN_CALL_SHAPE = "user,assistant+builtin-call,tool"
BUILTIN_TOOLS_VARIABLE = "builtin_tools"  # not set by the answer probes: a special token of that name is in their key
# Gemma 4's templates take a tool's result in the calling message itself (``tool_responses``, each a name and a
# response), the format the model is trained on: after a call it writes <|tool_response>, not the <turn|> an
# OpenAI-style "tool" message (a turn of its own) gets. For a template whose text names this field, the call is
# rendered so first.
TOOL_RESPONSES_FIELD = "tool_responses"
CALL_SHAPES = (TOOL_CALL_SHAPE, BUILTIN_CALL_SHAPE)
TOOL_CALL_KEPT = 1024  # characters between a call's argument and the tool's result that the probe looks at

# A fixed date keeps renders reproducible (Llama 3.1 templates print today's date).
FIXED_NOW = (2026, 1, 15, 12, 0, 0)

# As transformers' get_json_schema() describes a documented function: every argument has a description, which
# templates print (Command R's tool_use template concatenates it, and fails on a property without one).
SAMPLE_TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "The city."}},
                       "required": ["city"]},
    },
}]


MAX_SECONDS = 86_400  # a day: longer than any render, short enough for every timer


@record(frozen=True)
class Limits:
    """How much one template may cost: wall time of one probe (compiling and every probe conversation),
    characters of output of one render, memory of the render process (MiB of address space, where the
    operating system can limit it), and whether probe results may be cached on disk (see cache.py)."""

    seconds: float = 2.0
    max_output: int = 1_000_000
    cache: bool = True
    memory_mb: int = 512

    def __post_init__(self) -> None:
        # NaN or infinity would switch the timers off (or make them fail); a limit must be a real bound
        if not (isinstance(self.seconds, (int, float)) and 0 < self.seconds <= MAX_SECONDS):
            raise ValueError(f"template time limit must be more than 0 and at most {MAX_SECONDS} seconds")
        if not (isinstance(self.max_output, int) and self.max_output > 0):
            raise ValueError("template output limit must be a positive integer")
        if not (isinstance(self.memory_mb, int) and self.memory_mb > 0):
            raise ValueError("template memory limit must be a positive integer")


class TemplateLimitExceeded(Exception):
    """A render went over its time or size budget."""


@record
class Probe:
    """What rendering one template showed about the end of an assistant turn."""

    token: str | None = None        # the added token that first follows the answer
    # ``token`` and the added tokens written after it (whitespace or the same text between them), wherever the
    # answer is followed by a token: after the last turn and before the next one (Command R7B's "<|END_RESPONSE|>"
    # then "<|END_OF_TURN_TOKEN|>"); generation stops at the first of them that is a stop id (turn_end_run)
    run: list[str] = field(default_factory=list)
    tail: str = ""                  # the text that follows the answer (up to the next turn), for messages
    shape: str | None = None        # which probe conversation rendered it
    marker_seen: bool = False       # whether any render showed the assistant's content at all
    errors: list[str] = field(default_factory=list)
    limit_exceeded: str | None = None
    # the added tokens the template writes between a tool call's argument and the tool's result (the end of the
    # calling turn, then the tool turn's header), in order; None when it renders no such call (a template without
    # tools, or one that refuses a "tool" message)
    after_call: list[str] | None = None
    # the same after a call to a tool the template takes as built in (BUILTIN_CALL_SHAPE); None for a template that
    # does not name ``builtin_tools``, or renders no such call
    after_builtin_call: list[str] | None = None
    call_limit: str | None = None  # the limit the tool call hit (a probe with one is not cached, as limit_exceeded)
    # how many tokens of ``run`` the template's ``{% generation %}`` block holds (what assistant-only training
    # trains); None where no block ends after the answer (turn_end_run)
    trained: int | None = None
    # the first error of the renders without tools where only renders with tools showed the answer
    # (probe_named_template): apply_chat_template without tools raises it (EOS014)
    plain_error: str | None = None

    def calls(self) -> list[tuple[bool, list[str]]]:
        """``(built in, the tokens written after the call)`` of each tool call rendered: the call to the sample tool,
        then the call to a built-in one where it writes other tokens (Llama 3.1's <|eom_id|>)."""
        calls = [(False, self.after_call)] if self.after_call is not None else []
        if self.after_builtin_call is not None and self.after_builtin_call != self.after_call:
            calls.append((True, self.after_builtin_call))
        return calls

    @property
    def rendered(self) -> bool:
        return self.shape is not None

    @property
    def between_turns(self) -> bool:
        """Whether what follows the answer was seen only before another turn: the conversations that end with the
        answer show nothing after it (``select`` keeps the first text that is not blank; a blank ``tail`` with it:
        nothing but whitespace follows an answer anywhere)."""
        return self.shape is not None and _goes_on(self.shape)


# The types of a Probe's fields as the cache holds them (asdict): an entry of any other shape is not one eos-guard
# wrote, and is a miss (tests/test_cache_states.py checks this against the fields).
_NONE = type(None)
PROBE_TYPES = {"token": (str, _NONE), "run": (list,), "tail": (str,), "shape": (str, _NONE), "marker_seen": (bool,),
               "errors": (list,), "limit_exceeded": (str, _NONE), "after_call": (list, _NONE),
               "after_builtin_call": (list, _NONE), "call_limit": (str, _NONE), "trained": (int, _NONE),
               "plain_error": (str, _NONE)}


def _cached_probe(cached: Any) -> Probe | None:
    """The Probe a cache entry holds, or None when the entry is not exactly the shape a Probe is stored in."""
    if not isinstance(cached, dict) or cached.keys() != PROBE_TYPES.keys():
        return None
    if not all(isinstance(cached[name], types) for name, types in PROBE_TYPES.items()):
        return None
    if not all(isinstance(item, str) for item in cached["errors"] + cached["run"] + (cached["after_call"] or [])
               + (cached["after_builtin_call"] or [])) or isinstance(cached["trained"], bool):
        return None
    return Probe(**cached)


def _conversations(parts: bool) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    def content(text: str) -> Any:
        return [{"type": "text", "text": text}] if parts else text

    user = {"role": "user", "content": content(USER_TEXT)}
    system = {"role": "system", "content": content(SYSTEM_TEXT)}
    assistant = {"role": "assistant", "content": content(ASSISTANT_MARKER)}
    user_two = {"role": "user", "content": content(SECOND_USER_MARKER)}
    suffix = "+parts" if parts else ""
    # The assistant turn comes last first: harmony-style templates end a final answer differently.
    yield "user,assistant" + suffix, [user, assistant]
    yield "system,user,assistant" + suffix, [system, user, assistant]
    yield "user,assistant,user" + suffix, [user, assistant, user_two]
    yield "system,user,assistant,user" + suffix, [system, user, assistant, user_two]


def _tool_call_conversation(arguments: dict[str, str] | str, in_message: bool = False) -> list[dict[str, Any]]:
    """A user turn, an assistant turn that calls the sample tool, and the tool's result, as transformers' chat
    templates take them (an id of nine letters and digits, which Mistral's templates require); with
    ``in_message``, the result in the calling message's :data:`TOOL_RESPONSES_FIELD` instead (Gemma 4's format)."""
    call = {"id": "call00001", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    if in_message:
        return [{"role": "user", "content": USER_TEXT},
                {"role": "assistant", "content": "", "tool_calls": [call],
                 TOOL_RESPONSES_FIELD: [{"name": "get_weather", "response": TOOL_RESULT_MARKER}]}]
    return [{"role": "user", "content": USER_TEXT},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call00001", "name": "get_weather", "content": TOOL_RESULT_MARKER}]


class AddedTokens:
    """The token strings a tokenizer reads as one token, indexed for finding the longest that starts at a place of a
    text: the text's slices of the tokens' lengths are looked up, instead of trying every token there. Built once
    for a vocabulary, whose templates share it: a GGUF may list millions of CONTROL tokens (a hostile one 5 million
    in 100 MiB), and every probe of every template trying, sending and hashing each of them cost seconds each.

    A look-up costs the sum of the lengths tried, one of each length the tokens that start with that character have:
    tokens longer than :data:`MAX_TOKEN_CHARS` are not looked for (helper-178: ' x', ' xx', ... to 2,700 characters
    and spaces after the answer took minutes per template)."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = {token: None for token in tokens if len(token) <= MAX_TOKEN_CHARS}  # a set that keeps the
        self.tokens.pop("", None)  # first-seen order, for the cache key
        lengths: dict[str, set[int]] = {}
        for first, length in {(token[0], len(token)) for token in self.tokens}:
            lengths.setdefault(first, set()).add(length)
        self.lengths = {first: sorted(each, reverse=True) for first, each in lengths.items()}
        self._key: str | None = None

    def at(self, text: str, at: int) -> str | None:
        """The longest token that starts at ``text[at]``, or None."""
        room = len(text) - at
        for length in self.lengths.get(text[at], ()):
            if length <= room and text[at:at + length] in self.tokens:
                return text[at:at + length]
        return None

    @property
    def key(self) -> str:
        """A digest of the tokens, for the probe cache's key (computed once)."""
        if self._key is None:
            from . import cache

            self._key = cache.digest(list(self.tokens))
        return self._key


# The longest added token looked for in what a template writes: real ones have tens of characters (Llama 3's
# '<|reserved_special_token_247|>', space runs of 24); a look-up costs at most about MAX_TOKEN_CHARS ** 2 / 2
# characters sliced and hashed, a tenth of a millisecond.
MAX_TOKEN_CHARS = 512


def added_tokens_of(tokens: Iterable[str] | AddedTokens) -> AddedTokens:
    return tokens if isinstance(tokens, AddedTokens) else AddedTokens(tokens)


def probe_template(source: str, special_tokens: dict[str, str], added_tokens: Iterable[str] | AddedTokens,
                   limits: Limits = Limits(), with_tools: bool = False) -> Probe:
    """Render probe conversations and return the token that follows the assistant's answer.

    ``special_tokens`` are the strings transformers passes to the template (``eos_token``, ...);
    ``added_tokens`` are the token strings the tokenizer treats as single tokens.
    """
    from . import cache

    added_tokens = added_tokens_of(added_tokens)
    if _known_allowed(limits):  # first: a shipped result is the render's (tests/test_known_probes.py), and needs no key
        from . import known_probes

        outcomes = known_probes.lookup(source, special_tokens, with_tools)
        if outcomes is not None:
            return select(outcomes, added_tokens)
    key = _probe_key(source, tuple(sorted(special_tokens.items())), added_tokens.key, limits.max_output, with_tools,
                     limits.seconds)
    probe = _cached_probe(cache.load("probe", key, limits.cache))
    if probe is not None:
        if cache.load("rendered", _rendered_key(source), limits.cache) is not True:  # e.g. an older cache
            cache.store("rendered", _rendered_key(source), True, limits.cache)
        return probe
    stopped = _STOPPED_THIS_RUN.get(key)
    if stopped is not None:
        return stopped
    result = _probe_isolated(source, special_tokens, added_tokens, limits, with_tools)
    if not result.limit_exceeded and not result.call_limit:  # limits are in seconds: depends on the machine's load
        cache.store("probe", key, asdict(result), limits.cache)
        cache.store("rendered", _rendered_key(source), True, limits.cache)
    elif len(_STOPPED_THIS_RUN) < MAX_STOPPED_THIS_RUN:
        _STOPPED_THIS_RUN[key] = result
    return result


# Probes a limit stopped in this run, by their key. They are not cached (seconds depend on the machine's load), but
# within a run a template is not rendered again for every folder that ships it, byte for byte, with the same tokens
# (helper-135: ten folders of one template that runs to template-timeout took ten times the limit). Forgotten when a
# run starts (forget_stopped_probes): a process may run many checks (the training callback).
_STOPPED_THIS_RUN: dict[str, Probe] = {}
MAX_STOPPED_THIS_RUN = 4096


def forget_stopped_probes() -> None:
    _STOPPED_THIS_RUN.clear()


# The keys are hashes of the template and its inputs, remembered: the folders of one family share a template, and a
# run over many of them would otherwise encode and hash it twice per folder.
@functools.lru_cache(maxsize=1024)
def _probe_key(source: str, special_tokens: tuple[tuple[str, str], ...], added_tokens: str, max_output: int,
               with_tools: bool, seconds: float) -> str:
    """The limits are part of the key: a render that finished within a generous template-timeout (or output limit)
    is no answer under a stricter one, where it may exceed it (helper-119: a cached success hid EOS014)."""
    from . import cache

    return cache.digest(cache.code_fingerprint(PROBE_CODE), _renderer(), source, special_tokens, added_tokens,
                        max_output, with_tools, seconds)  # tuples: JSON arrays


@functools.lru_cache(maxsize=None)
def _renderer() -> str:
    """The renderer's part of a probe key, found once a process: the import path is not looked at again (made real,
    entry by entry) for every template of a run over many folders."""
    from . import cache, render_worker

    return cache.installed_fingerprint(RENDERER, tuple(render_worker.import_path()))


# The modules whose code makes a Probe, part of its cache key (cache.code_fingerprint): the probe conversations, the
# sandbox and the choice of the token here, the worker process that renders in render_worker.py.
PROBE_CODE = ("template.py", "render_worker.py")
# The installed packages that render, part of the key too (cache.installed_fingerprint, with Python's version), as
# the render worker finds them
RENDERER = ("jinja2", "markupsafe")


@functools.lru_cache(maxsize=1024)
def _rendered_key(source: str) -> str:
    from . import cache

    return cache.digest("rendered", source)


def prepare(source: str, limits: Limits = Limits()) -> None:
    """Start the render worker now if ``source`` is likely to be rendered (not a shipped template, not rendered
    before with this cache), so that it starts while the caller reads the rest of the folder. A guess: a worker
    started for nothing is ended when the run ends; a template rendered without it starts one then."""
    from . import cache

    if _known_allowed(limits):
        from . import known_probes

        if known_probes.known(source):
            return
    from . import render_worker  # imported only for a template that may be rendered

    if not render_worker.supported() or render_worker.running():
        return
    if cache.load("rendered", _rendered_key(source), limits.cache) is True:
        return
    require_jinja2(limits)  # early: before the folder's vocabulary is read for a run that cannot finish
    render_worker.start()


def require_jinja2(limits: Limits) -> None:
    """Raise MissingDependency unless jinja2 (and MarkupSafe, which it imports) can be imported: found, not
    imported, since jinja2 is imported in the render worker only."""
    from importlib.util import find_spec

    if find_spec("jinja2") is None or find_spec("markupsafe") is None:
        if _known_allowed(limits):
            raise MissingDependency("jinja2", "the chat template is not one eos-guard ships results for; rendering it")
        raise MissingDependency("jinja2", "with the shipped results off (no cache, or limits below the defaults), "
                                          "rendering the chat template")


def _known_allowed(limits: Limits) -> bool:
    """Shipped results (known_probes.py) were rendered within the default limits; with tighter limits, or with
    the cache turned off (compute everything from the files), the template is rendered."""
    default = Limits()
    return limits.cache and limits.seconds >= default.seconds and limits.max_output >= default.max_output


def probe_named_template(name: str, source: str, special_tokens: dict[str, str],
                         added_tokens: Iterable[str] | AddedTokens, limits: Limits = Limits()) -> Probe:
    """Probe a template by its name: ``tool_use`` is rendered with tools, any other one also with tools when it
    renders nothing without them (templates that require tools)."""
    added_tokens = added_tokens_of(added_tokens)
    probe = probe_template(source, special_tokens, added_tokens, limits, with_tools=name == "tool_use")
    if not probe.rendered and not probe.limit_exceeded and name != "tool_use":
        with_tools = probe_template(source, special_tokens, added_tokens, limits, with_tools=True)
        if with_tools.rendered and probe.errors and not probe.marker_seen:
            # every render without tools raised, as apply_chat_template does with tools=None (llama.cpp's Phi-4-mini
            # tools template iterates ``tools`` where ``tools is defined``, helper-181): EOS014 says so, with the
            # error of the conversation that rendered with tools (helper-188: not one that fails with tools too)
            shown = next((error for error in probe.errors if error.startswith(f"{with_tools.shape}: ")),
                         probe.errors[0])
            return replace(with_tools, plain_error=shown)
        if with_tools.rendered or with_tools.limit_exceeded:
            probe = with_tools
    return probe


def _probe_isolated(source: str, special_tokens: dict[str, str], added_tokens: AddedTokens, limits: Limits,
                    with_tools: bool) -> Probe:
    """Probe in the render worker, under the operating system's limits, where the platform has them.

    The worker renders and this process selects the token: the worker sends the outcome of one probe conversation
    at a time and renders the next when asked, as :func:`select` consumes them. So the added tokens, which may be
    millions, never go to the worker, whose memory and time are the template's budget (5 million CONTROL tokens
    sent to it made a correct template "need more than 512 MiB")."""
    require_jinja2(limits)
    from . import render_worker

    if not render_worker.supported():
        return _probe(source, special_tokens, added_tokens, limits, with_tools)
    request = {"source": source, "special_tokens": dict(special_tokens), "seconds": limits.seconds,
               "max_output": limits.max_output, "memory_mb": limits.memory_mb, "with_tools": with_tools}
    with render_worker.session(request, limits.seconds) as worker:
        try:
            first = worker.receive()
        except render_worker.WorkerDied as exc:
            return Probe(limit_exceeded=str(exc))
        if "outcome" not in first:  # it did not compile, or the limits stopped it compiling
            return Probe(errors=[first["error"]] if "error" in first else [],
                         limit_exceeded=first.get("limit_exceeded"))
        try:
            probe = select(_rendered_in(worker, first, _out_of_memory(limits)), added_tokens)
        except _Ended as exc:
            return Probe(limit_exceeded=str(exc))
        calls: list[Outcome] = []
        if worker.asking:  # select needed no more: the worker renders the tool calls, sends each, ends the probe
            try:
                worker.send({"next": False})
                message = worker.receive()
                while worker.asking and _is_outcome(message.get("call")):
                    calls.append(tuple(message["call"]))  # kept if the worker dies in the next call
                    worker.send({"next": True})
                    message = worker.receive()
            except render_worker.WorkerDied as exc:
                if not probe.limit_exceeded:
                    probe.call_limit = str(exc)
        return probe if probe.limit_exceeded else _with_calls(probe, calls, added_tokens)


def _is_outcome(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(isinstance(item, str) for item in value)


class _Ended(Exception):
    """The worker ran out of memory or died: the probe ends with that limit, whatever it found before (a MemoryError
    in this process ends it the same way)."""


def _rendered_in(worker: Any, message: dict[str, Any], out_of_memory: str) -> Iterator[Outcome]:
    """The outcomes the worker renders, one per ``next``, until it has sent every answer (the tool calls come after,
    :func:`_probe_isolated`). The time and size limits stopping it raise TemplateLimitExceeded, as they do in this
    process (:func:`select` keeps what it found before)."""
    from . import render_worker

    try:
        while "outcome" in message:
            shape, kind, value = message["outcome"]
            yield shape, kind, value
            worker.send({"next": True})
            message = worker.receive()
    except render_worker.WorkerDied as exc:
        raise _Ended(str(exc)) from None
    if message.get("answers_done"):  # the worker waits (asking), then renders the tool calls: their fate is their own
        return
    limit = message.get("limit_exceeded")
    if limit:
        raise _Ended(limit) if limit == out_of_memory else TemplateLimitExceeded(limit)


def serve_probes() -> None:
    """The render worker's entry point (render_worker.py starts it): probes requested by the parent process, which
    asks for one probe conversation's outcome at a time (:func:`_probe_isolated`)."""
    from . import render_worker

    def answer(request: dict[str, Any], ask: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        limits = Limits(seconds=float(request["seconds"]), max_output=int(request["max_output"]), cache=False,
                        memory_mb=int(request["memory_mb"]))
        reply = _render_asked(request["source"], request["special_tokens"], limits, bool(request["with_tools"]),
                              ask)
        # a failed allocation can leave any state behind: the worker ends, the next template gets a new one
        out_of_memory = _out_of_memory(limits)
        reply["exit"] = reply.get("limit_exceeded") == out_of_memory or any(
            call[1:] == ["limit", out_of_memory] for call in reply.get("calls", []))
        return reply

    render_worker.serve(lambda: _compile(""), answer)


def _render_asked(source: str, special_tokens: dict[str, str], limits: Limits, with_tools: bool,
                  ask: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """In the worker: compile, then render one probe conversation each time the parent asks for the next, under
    one deadline for the whole probe, then the tool calls, each sent to the parent as it is rendered. The reply that
    ends the probe has its compile error or the limit hit, or the calls again (whether one ran out of memory)."""
    import signal

    def asked(message: dict[str, Any]) -> bool:
        """Whether the parent asks for the next render."""
        # the timer's signal waits while a message is read, so that it never stops one half read
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            reply = ask(message)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
        return isinstance(reply, dict) and reply.get("next") is True

    def take(outcomes: Iterator[Outcome], calls: Callable[[], Iterator[Outcome]]) -> list[Outcome]:
        for outcome in outcomes:
            if not asked({"outcome": list(outcome)}):
                break
        else:
            asked({"answers_done": True})  # every answer is sent: a crash in a tool call leaves the parent's alone
        sent = []
        for call in calls():  # each sent once rendered: a crash in the next leaves the parent this one
            sent.append(call)
            asked({"call": list(call)})
        return sent

    called, error, limit = _rendered(source, special_tokens, limits, with_tools, take)
    if error is not None:
        return {"error": error}
    return {"limit_exceeded": limit} if limit is not None else {"calls": [list(call) for call in called]}


def _out_of_memory(limits: Limits) -> str:
    return f"rendering needed more than {limits.memory_mb} MiB of memory"


def _probe(source: str, special_tokens: dict[str, str], added_tokens: AddedTokens, limits: Limits,
           with_tools: bool) -> Probe:
    """Compile and render in this process, under the hooks' limits: one deadline for the whole probe."""
    def take(outcomes: Iterator[Outcome], calls: Callable[[], Iterator[Outcome]]) -> Probe:
        probe = select(outcomes, added_tokens)
        return probe if probe.limit_exceeded else _with_calls(probe, calls(), added_tokens)

    probe, error, limit = _rendered(source, special_tokens, limits, with_tools, take)
    if error is not None:
        return Probe(errors=[error])
    return Probe(limit_exceeded=limit) if limit is not None else probe


def _rendered(source: str, special_tokens: dict[str, str], limits: Limits, with_tools: bool,
              take: Callable[[Iterator[Outcome], Callable[[], Iterator[Outcome]]], Any],
              ) -> tuple[Any, str | None, str | None]:
    """Compile ``source`` and give ``take`` the outcomes of its probe conversations and a function that renders
    the tool calls (:func:`call_outcomes`, once ``take`` is done with the answers), all under one deadline and
    the memory limit (in the worker and in this process alike): ``(what take returned, None, None)``, or
    ``(None, the compile error, None)``, or ``(None, None, the limit hit)``."""
    try:
        with _limited(limits) as budget:
            try:
                template = _compile(source)
            except (TemplateLimitExceeded, MemoryError):
                raise
            except Exception as exc:  # jinja2.TemplateSyntaxError and friends
                return None, _describe(exc), None
            return take(render_outcomes(template, special_tokens, budget, with_tools),
                        lambda: call_outcomes(template, source, special_tokens, budget)), None, None
    except TemplateLimitExceeded as exc:
        return None, None, str(exc)
    except MemoryError:
        return None, None, _out_of_memory(limits)


# how a list of content parts shows the text of one when a template prints the whole list (str() or tojson)
LIST_PRINTED = ("'text': '", '"text": "')
# (conversation shape, "error" | "tail" | "unmarked" (| "limit": the tool call's own), message or tail)
Outcome = tuple[str, str, str]


def render_outcomes(template: Any, special_tokens: dict[str, str], budget: _Budget,
                    with_tools: bool) -> Iterator[Outcome]:
    """Render each probe conversation in turn (lazily: :func:`select` stops at the first one that shows a
    token) and yield what it showed after the assistant's content. Raises TemplateLimitExceeded."""
    for parts in (False, True):
        for shape, messages in _conversations(parts):
            text = yield from _rendered_or_error(template, special_tokens, shape, messages,
                                                 SAMPLE_TOOLS if with_tools else None, budget)
            if text is None:
                continue
            at = text.rfind(ASSISTANT_MARKER)
            if at < 0 or (parts and text[:at].endswith(LIST_PRINTED)):
                # a template that reads no list content prints the list: the marker is inside its repr (or JSON),
                # and what follows it is the list's own punctuation ('}]), not what the template writes
                yield shape, "unmarked", ""
                continue
            yield shape, "tail", text[at + len(ASSISTANT_MARKER):].split(SECOND_USER_MARKER)[0]


def call_outcomes(template: Any, source: str, special_tokens: dict[str, str], budget: _Budget) -> Iterator[Outcome]:
    """The tool-call conversation's outcome (:data:`TOOL_CALL_SHAPE`), then, for a template whose text names
    ``builtin_tools``, the same call with the tool listed there (:data:`BUILTIN_CALL_SHAPE`), rendered once the
    first is taken; none after a limit."""
    in_message = TOOL_RESPONSES_FIELD in source
    first = call_outcome(template, special_tokens, budget, in_message=in_message)
    yield first
    if BUILTIN_TOOLS_VARIABLE in source and first[1] != "limit":
        yield call_outcome(template, special_tokens, budget, builtin=True)


def call_outcome(template: Any, special_tokens: dict[str, str], budget: _Budget, builtin: bool = False,
                 in_message: bool = False) -> Outcome:
    """The tool-call conversation's outcome (:data:`TOOL_CALL_SHAPE`, or :data:`BUILTIN_CALL_SHAPE` with the sample
    tool in ``builtin_tools``): what the template writes between the call's argument and the tool's result.
    Rendered after the answers' probe, within what is left of its limits, and never raising: a template that fails
    here, or hits a limit (slow or huge only with tools), has no ``after_call`` and its answers' probe stands. The
    arguments are an object, as transformers documents them, else (a template that concatenates them, DeepSeek V3's,
    or writes them only when they are text) the same as a JSON string; the tools are listed as transformers
    describes them, else, when every such render fails, not at all (Apertus' template reads each tool's
    ``description`` at its top level, and fails on transformers' form: helper-156). With ``in_message``, the result
    in the calling message (:data:`TOOL_RESPONSES_FIELD`) first, then as a "tool" message."""
    shape = BUILTIN_CALL_SHAPE if builtin else TOOL_CALL_SHAPE
    variables = {**special_tokens, "add_generation_prompt": False, "documents": None}
    if builtin:
        variables[BUILTIN_TOOLS_VARIABLE] = [SAMPLE_TOOLS[0]["function"]["name"]]
    outcome: Outcome | None = None  # the first render's: an error, or no call shown
    for in_call in ((True, False) if in_message else (False,)):
        for tools in (SAMPLE_TOOLS, None):
            found, raised = _call_tail(template, variables, in_call, tools, shape, budget)
            if found[1] in ("tail", "limit"):
                return found
            outcome = outcome or found
            if not raised:  # rendered with the tools listed: not tried without them
                break
    return outcome or (shape, "unmarked", "")


def _call_tail(template: Any, variables: dict[str, Any], in_call: bool, tools: list[dict[str, Any]] | None,
               shape: str, budget: _Budget) -> tuple[Outcome, bool]:
    """The call's outcome with these tools and result form, the arguments an object, else a JSON string: the
    first tail or limit, else the first error or unmarked render; and whether every render raised."""
    outcome: Outcome | None = None
    raised = True
    for arguments in ({"city": CALL_MARKER}, json.dumps({"city": CALL_MARKER})):
        try:
            text = _render(template, {**variables, "messages": _tool_call_conversation(arguments, in_call),
                                      "tools": tools}, budget)
        except TemplateLimitExceeded as exc:
            return (shape, "limit", str(exc)), raised
        except MemoryError:
            return (shape, "limit", _out_of_memory(budget.limits)), raised
        except Exception as exc:
            outcome = outcome or (shape, "error", _describe(exc))
            continue
        raised = False
        at, end = text.rfind(CALL_MARKER), text.rfind(TOOL_RESULT_MARKER)
        if 0 <= at < end:
            return (shape, "tail", text[at + len(CALL_MARKER):end][:TOOL_CALL_KEPT]), raised
        outcome = outcome or (shape, "unmarked", "")
    return outcome or (shape, "unmarked", ""), raised


def _with_calls(probe: Probe, outcomes: Iterable[Outcome], added: AddedTokens) -> Probe:
    """``probe`` with the tokens written after each tool call (``after_call``, ``after_builtin_call``) that
    ``outcomes`` show, or the limit one hit (``call_limit``: the probe is then not cached, as a limit depends on the
    machine's load)."""
    for shape, kind, value in outcomes:
        if kind == "tail":
            setattr(probe, "after_builtin_call" if shape == BUILTIN_CALL_SHAPE else "after_call",
                    _all_tokens(_unmarked(value), added))
        elif kind == "limit":
            probe.call_limit = value
    return probe


def _rendered_or_error(template: Any, special_tokens: dict[str, str], shape: str, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None, budget: _Budget) -> Iterator[Outcome]:
    """Render one probe conversation: return its text, or yield its error outcome and return None (the limits
    and a failed allocation raise)."""
    variables: dict[str, Any] = dict(special_tokens)
    variables.update(messages=messages, add_generation_prompt=False, documents=None, tools=tools)
    try:
        return _render(template, variables, budget)
    except (TemplateLimitExceeded, MemoryError):
        raise
    except Exception as exc:
        yield shape, "error", _describe(exc)
        return None


def select(outcomes: Iterable[Outcome], added_tokens: Iterable[str] | AddedTokens) -> Probe:
    """The probe result of render outcomes: the first conversation whose answer is followed by an added token.

    When other added tokens follow that one (after whitespace, or after text where the chat ends), the next
    conversation that goes on to another turn is rendered too: ``run`` keeps the tokens of what both write after
    the answer (the model writes it all before it could write anything else, whether the chat ends there or goes
    on). The tool-call conversations' outcomes among them (shipped results) give ``after_call`` and
    ``after_builtin_call`` only."""
    result = Probe()
    added = added_tokens_of(added_tokens)
    fallback: Probe | None = None
    outcomes = iter(outcomes)
    try:
        for shape, kind, value in outcomes:
            if shape in CALL_SHAPES:  # shipped results hold them first: not an answer, nor the probe's failure
                _with_calls(result, [(shape, kind, value)], added)
                continue
            if kind == "error":
                result.errors.append(f"{shape}: {value}")
                continue
            if kind != "tail":
                continue
            result.marker_seen = True
            tail = _unmarked(value)
            starts: list[int] = []
            pieces = _pieces(tail, added, text=not _goes_on(shape), starts=starts)
            run = _tokens(pieces)
            if run:
                result.token, result.run, result.tail, result.shape = run[0], run[:1], _kept(tail), shape
                if len(run) > 1 and not _goes_on(shape):
                    result.run = _common_run(pieces, outcomes, added)
                result.trained = _trained(value, starts[:len(result.run)])
                return result
            # the first text that is not blank; with none, a conversation that goes on (between_turns: the template
            # writes nothing that ends an answer, not even before the next turn)
            if fallback is None or (not fallback.tail.strip() and (tail.strip() or (
                    _goes_on(shape) and not _goes_on(fallback.shape or "")))):
                fallback = Probe(tail=_kept(tail), shape=shape)
    except TemplateLimitExceeded as exc:
        result.limit_exceeded = str(exc)
        return result
    if fallback is not None:
        result.tail, result.shape = fallback.tail, fallback.shape
    return result


def probe_problem(probe: Probe) -> str | None:
    """Why a template's probe cannot be checked (EOS014 for a folder, EOS028 for a GGUF file), or None."""
    if probe.limit_exceeded:
        return f"was stopped: {probe.limit_exceeded}"
    if not probe.marker_seen and probe.errors:
        return f"failed on every probe conversation: {probe.errors[0]}"
    if not probe.marker_seen:
        return "never shows the assistant's answer"
    return None


TAIL_KEPT = 256  # characters of the text after an answer a probe keeps, after its leading whitespace (64 of it)


def _kept(tail: str) -> str:
    """The start of the text after an answer, all messages show of it: a template may write a megabyte there, and a
    probe's result lives for the whole run and in the cache."""
    if len(tail) <= TAIL_KEPT:
        return tail
    lead = len(tail) - len(tail.lstrip())
    return tail[:min(lead, 64)] + tail[lead:lead + TAIL_KEPT]


_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def turn_end_run(probe: Probe, source: str) -> list[str]:
    """The tokens written in turn after every answer (``Probe.run``). For a template that marks what the model
    writes with ``{% generation %}``, those its block holds (``Probe.trained``), at least the first: a token after
    the block's end is left out by transformers' assistant mask, so assistant-only training never teaches it
    (TRL's training templates put the whole run inside: Command R7B's <|END_RESPONSE|><|END_OF_TURN_TOKEN|>)."""
    run = probe.run or ([probe.token] if probe.token is not None else [])
    return run[:max(1, probe.trained or 0)] if _GENERATION_TAG.search(source) else run


def _unmarked(text: str) -> str:
    """A render's text without the starts and ends of generation blocks marked in it."""
    if GENERATION_END not in text and GENERATION_START not in text:
        return text
    return text.replace(GENERATION_END, "").replace(GENERATION_START, "")


def _trained(tail: str, starts: list[int]) -> int | None:
    """How many of the tokens after an answer (``starts``: where each begins in ``tail`` without its block marks, as
    :func:`_pieces` found them) lie inside ``{% generation %}`` blocks (adjacent or nested), one after the other from
    the first (``tail``: what follows the answer, block marks included; the answer lies inside as many blocks as the
    ends after it outnumber the starts). None when no block ends after the answer. The marks are found by a search,
    and the tokens are those ``_pieces`` found within its limits: a template that writes a megabyte after the answer
    costs no look-up of added tokens per character (helper-178)."""
    if GENERATION_END not in tail:
        return None
    changes: list[tuple[int, int]] = []  # (where in the text without marks, +1 for a start or -1 for an end)
    for removed, mark in enumerate(_MARKS.finditer(tail)):
        changes.append((mark.start() - removed, 1 if mark.group() == GENERATION_START else -1))
    # the blocks open where the answer is: as many as the ends after it outnumber the starts at the most (nested)
    depth = lowest = 0
    for _, change in changes:
        depth += change
        lowest = min(lowest, depth)
    depth, applied, trained = -lowest, 0, 0
    for start in starts:
        while applied < len(changes) and changes[applied][0] <= start:  # the marks written before the token
            depth += changes[applied][1]
            applied += 1
        if depth <= 0:
            break
        trained += 1
    return trained


_MARKS = re.compile(f"[{GENERATION_START}{GENERATION_END}]")


def first_listed(run_ids: Iterable[int | None], listed: Collection[int]) -> int | None:
    """Where in a run's ids (:func:`turn_end_run`, as ids) the first one that ``listed`` holds is, or None: the
    model writes the run's tokens in turn, so generation stops there."""
    return next((at for at, token_id in enumerate(run_ids) if token_id is not None and token_id in listed), None)


def _goes_on(shape: str) -> bool:
    """Whether a probe conversation has another turn after the assistant's."""
    return "assistant,user" in shape


def _pieces(tail: str, added: AddedTokens, text: bool, starts: list[int] | None = None) -> list[str | Text]:
    """The start of ``tail`` as the model writes it: added tokens (``str``) and, between them, text (:class:`Text`).

    Text before and between tokens counts where ``text`` is true, after the last turn, where what the template
    writes after the answer ends that answer: the model writes that text, then the token, and generation stops
    there (``</answer><|im_end|>``; Kimi K3 closes its tags, ``<|close|>response<|sep|><|close|>message<|sep|>``,
    before ``<|end_of_msg|>``). Before another turn, such text may be the next turn's header, so there the first
    token may follow whitespace only and the pieces end at text (select keeps only what both write). An added
    token of whitespace alone (the space runs Phi-2's and GPT-NeoX's tokenizers add) is text: no turn ends with it.
    At most MAX_RUN tokens and TAIL_KEPT characters of text (real runs hold two to five: a template that writes a
    token a million times must not cost a million searches of the added tokens). ``starts`` gets where each token
    begins."""
    pieces: list[str | Text] = []
    count = written = at = 0
    while count < MAX_RUN:
        start, at, token = at, _SPACE.match(tail, at).end(), None  # type: ignore[union-attr]
        while at < len(tail):
            token = added.at(tail, at)  # the longest: the one the tokenizer takes
            if token is not None and token.isspace():  # a run of spaces (Phi-2's, GPT-NeoX's): text, never an end
                token = None
            if token is not None or not text or written + at - start >= TAIL_KEPT:
                break
            at += 1
        if token is None:  # what follows is no token, or text that no token ends within the limit
            break
        if at > start:
            pieces.append(Text(tail[start:at]))
            written += at - start
        pieces.append(token)
        if starts is not None:
            starts.append(at)
        count += 1
        at += len(token)
    return pieces


class Text(str):
    """Text the template writes between the tokens after an answer (``_pieces``)."""


def _unspaced(pieces: list[str | Text]) -> list[str | Text]:
    """``pieces`` without the whitespace between them: the model writes the same tokens whether or not a template
    puts a newline between two of them."""
    return [piece for piece in pieces if not (isinstance(piece, Text) and piece.isspace())]


def _tokens(pieces: list[str | Text]) -> list[str]:
    return [piece for piece in pieces if not isinstance(piece, Text)]


def ends_call_unseen(after_call: list[str]) -> bool:
    """Whether a template writes no end for a turn that calls a tool: the first token after the call opens the next
    turn (known_tokens.TURN_OPENING_TEXTS) and none of the tokens is a known turn end (:func:`call_end`), so what
    the model ends such a turn with is not shown (EOS030 and explain cannot tell)."""
    return bool(after_call) and after_call[0] in TURN_OPENING_TEXTS and call_end(after_call) is None


def call_end(after_call: Iterable[str]) -> str | None:
    """Of the tokens a template writes after a tool call (``Probe.after_call``), the one that ends the calling turn
    where it is a known turn end (known_tokens.TOOL_CALL_END_TEXTS: ``<|call|>``, ``<|eom_id|>``,
    ``<|observation|>``...), else None: what EOS030 advises, ``--fix`` and align() add."""
    return next((token for token in after_call if token in TOOL_CALL_END_TEXTS), None)


def _all_tokens(text: str, added: AddedTokens) -> list[str]:
    """The added tokens in ``text`` (at most TOOL_CALL_KEPT characters), in order, whatever text lies between them
    (a call's closing syntax, the tool turn's header): at most MAX_CALL_TOKENS."""
    found: list[str] = []
    at = 0
    while at < len(text) and len(found) < MAX_CALL_TOKENS:
        token = added.at(text, at)
        if token is None:
            at += 1
            continue
        found.append(token)
        at += len(token)
    return found


MAX_RUN = 8
# Kimi K3 closes eight tags after a call's arguments before its <|end_of_msg|> (helper-159: at 8 the stop id was cut
# off, a false EOS030)
MAX_CALL_TOKENS = 32
_SPACE = re.compile(r"\s*")


def _common_run(pieces: list[str | Text], outcomes: Iterator[Outcome], added: AddedTokens) -> list[str]:
    """The tokens of the start of ``pieces`` (seen after the last turn) that the next conversation going on to
    another turn writes too, text included, whitespace aside (the model writes the tokens either way); only the
    first token when none renders, or when the limits stop the render."""
    run = _tokens(pieces)
    try:
        for shape, kind, value in outcomes:
            if kind == "tail" and _goes_on(shape):
                last, later = _unspaced(pieces), _unspaced(_pieces(_unmarked(value), added, text=True))
                common = 0
                while common < min(len(last), len(later)) and last[common] == later[common] \
                        and isinstance(last[common], Text) == isinstance(later[common], Text):
                    common += 1
                return _tokens(last[:common]) or run[:1]
    except TemplateLimitExceeded:
        pass
    return run[:1]


def outcomes_of(source: str, special_tokens: dict[str, str], with_tools: bool,
                limits: Limits = Limits()) -> tuple[list[str], list[Outcome]]:
    """Every probe conversation's outcome, and the context names the template reads other than those every probe
    sets (jinja2.meta): what known_probes.py ships. Raises on a template that does not compile or hits a limit."""
    import jinja2.meta

    from .known_probes import PROBE_VARIABLES

    global _ENV
    if _ENV is None:
        _ENV = _environment()
    names = jinja2.meta.find_undeclared_variables(_ENV.parse(source))
    with _limited(limits) as budget:
        template = _compile(source)
        outcomes = list(render_outcomes(template, special_tokens, budget, with_tools))
        outcomes[:0] = list(call_outcomes(template, source, special_tokens, budget))  # first: select() returns early
    return sorted(names - PROBE_VARIABLES), outcomes


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(message) > 300:  # raise_exception('x' * 999999) must not make a finding of a megabyte
        message = message[:300] + "..."
    name = type(exc).__name__
    line = getattr(exc, "lineno", None)
    where = f" (template line {line})" if line else ""
    return f"{name}: {message}{where}" if message else f"{name}{where}"


class _Budget:
    """A deadline and size cap that the sandbox's hooks consult while a template compiles and renders."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(f"rendering took longer than {self.limits.seconds:g} s")

    def check_size(self, size: int) -> None:
        if size > self.limits.max_output:
            raise TemplateLimitExceeded(f"rendering produced more than {self.limits.max_output} characters")


_budget = _thread_local()


def _current_budget() -> _Budget | None:
    return getattr(_budget, "value", None)


_NAMESPACE: Any = None  # jinja2.utils.Namespace, once jinja2 is imported


def _text_size(value: Any, limit: int, indent: int = 0, separator: int = 0) -> int:
    """How many characters ``value`` takes as text (``str``, ``repr`` or JSON, give or take), counted until the
    count passes ``limit``. Shared references count each time, as their text repeats them; a cycle counts
    until the limit. ``indent`` adds the indentation ``tojson(indent=...)`` puts before each item, ``separator``
    the characters of the ``separators`` it puts after each (both of them, for a dict's items)."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + len(item) * (4 + indent * (depth + 1) + separator)
            stack.extend((k, depth + 1) for k in item.keys())
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + len(item) * (2 + indent * (depth + 1) + separator)
            stack.extend((v, depth + 1) for v in item)
        else:
            if _NAMESPACE is not None and isinstance(item, _NAMESPACE):  # namespace() prints its attributes
                stack.append((object.__getattribute__(item, "_Namespace__attrs"), depth))
            total += 16
    return total


def _repeat_size(value: Any, limit: int) -> int:
    """The size of a string exactly (so ``'x' * limit`` still passes), of anything else as text."""
    return len(value) if isinstance(value, _TEXT) else _text_size(value, limit)


# What a template can widen: strings, and the bytes ``str.encode`` gives, which have the same widening methods and
# operators (``b * n``, ``b.ljust(n)``, ``b % x``)
_TEXT = (str, bytes, bytearray)
_SEQUENCES = _TEXT + (list, tuple)


def _as_text(value: Any) -> Any:
    """Bytes as a string of the same length, so that the estimates (which measure and search strings) apply."""
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


def _int(value: Any) -> int:
    return value if isinstance(value, int) else len(value) if isinstance(value, str) else 0


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _separators_size(separators: Any) -> int:
    """The characters ``tojson(separators=(item, key))`` writes per item, at most (json.dumps checks the pair)."""
    if not isinstance(separators, (tuple, list)):
        return 0
    return sum(len(part) for part in separators if isinstance(part, str))


def _replace_size(text: Any, args: tuple, kwargs: dict) -> int:
    old, new = str(_arg(args, kwargs, 0, "old", "")), str(_arg(args, kwargs, 1, "new", ""))
    text = str(text)
    count = len(text) + 1 if not old else text.count(old)
    limit = _arg(args, kwargs, 2, "count", -1)
    if isinstance(limit, int) and limit >= 0:
        count = min(count, limit)
    return len(text) + count * (len(new) - len(old))


def _join_size(items: Any, separator: Any, limit: int) -> int:
    """Items are a list here (the hooks turn iterators into lists first)."""
    if not hasattr(items, "__len__"):
        return 0
    return _text_size(list(items), limit) + len(items) * len(str(separator))


def _format_size(template: Any, args: tuple, kwargs: dict, limit: int, braces: bool = False) -> int:
    """The widths and precisions of a %-format (``%`` and ``format``) or ``str.format`` string, given in the
    string or taken from the arguments (``*``, nested fields such as ``{:{w}}`` or ``{:{0[1]}}``), plus the size
    of the arguments. Each conversion pads on its own, so their widths add up (``'%900000s' * 3000`` is 2.7 GB),
    and a %-format's mapping key takes its value once per conversion that names it (``'%(a)s' * 3000``). Linear
    in the string: the regular expressions this read before took minutes on 1 MB of ``%(`` (or hours of
    ``{::::``), in the hooks, where only a timer on the main thread could stop them. A ``str.format`` string is
    measured again field by field as it is formatted (``MeasuredFormatter`` in ``_environment``): what a nested
    field gives a spec (``{:{1:9<10}}`` is a width of 1999999999) is known only then."""
    text = str(template)
    if braces:
        specs, from_arguments = _brace_specs(text)
        keys: list[Any] = []
    else:
        specs, from_arguments, keys = _percent_specs(text)
    size = len(text) + sum(_digits_size(spec) for spec in specs)
    if from_arguments:  # a width or precision an argument gives: any integer the arguments hold may be it
        size += sum(spec.count("*") + spec.count("{") for spec in specs) * _largest_int((args, kwargs), limit)
    mapping = kwargs or (args[0] if len(args) == 1 and isinstance(args[0], dict) else None)
    if keys and isinstance(mapping, dict):
        for key in keys:
            size += _text_size(mapping.get(key), limit)
            if size > limit:
                break
    return size + _text_size((args, kwargs), limit)


def _digits_size(spec: str) -> int:
    """The widths and precisions a spec can write, at most: its runs of digits added up (a digit fill
    character counts too), a run of 12 digits or more as 10**12."""
    return sum(int(run) if len(run) < 12 else 10 ** 12 for run in re.findall(r"\d+", spec))


def _percent_specs(text: str) -> tuple[list[str], bool, list[str]]:
    """The width and precision digits of each conversion of a %-format string, read as Python reads them (a
    mapping key is everything up to its matching parenthesis: ``%(a(b)c)9s`` has width 9), whether one
    takes them from the arguments (``*``), and the mapping key of each conversion that has one."""
    specs: list[str] = []
    keys: list[str] = []
    star = False
    at, end = text.find("%"), len(text)
    while 0 <= at < end:
        at += 1
        if at < end and text[at] == "(":
            depth, at = 1, at + 1
            key_start = at
            while at < end and depth:
                depth += 1 if text[at] == "(" else -1 if text[at] == ")" else 0
                at += 1
            keys.append(text[key_start:at - 1])
        start = at
        while at < end and text[at] in "-+ #0*.0123456789":
            at += 1
        spec = text[start:at]
        star = star or "*" in spec
        specs.append(spec)
        at = text.find("%", at + 1)
    return specs, star, keys


def _brace_specs(text: str) -> tuple[list[str], bool]:
    """The format specs of a ``str.format`` string as Python's own parser reads them (``_string.formatter_parser``,
    which ``string.Formatter.parse`` uses: linear), up to where it finds the string malformed (``str.format``
    formats the fields before that place, then raises), and whether a spec takes a width from the arguments."""
    import _string

    specs: list[str] = []
    try:
        for _literal, _field, spec, _conversion in _string.formatter_parser(text):
            if spec:
                specs.append(spec)
    except ValueError:
        pass
    return specs, any("{" in spec for spec in specs)


def _largest_int(value: Any, limit: int) -> int:
    """The largest integer among the values ``value`` holds (in lists, tuples, dicts and namespaces, the places a
    nested field such as ``{0[1]}`` or ``{ns.w}`` can take a width from), looking at no more than ``limit``
    values; 0 when there is none."""
    largest, seen = 0, 0
    stack = [value]
    while stack and seen <= limit:
        item = stack.pop()
        seen += 1
        if isinstance(item, int) and not isinstance(item, bool):
            largest = max(largest, item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif _NAMESPACE is not None and isinstance(item, _NAMESPACE):
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
    return largest if seen <= limit else max(largest, limit + 1)


# Upper bounds of the size of a result, computed from the arguments before the call, for filters and ``str``
# methods whose result can be far larger than their input (widths, fill values, separators). The subject is a
# string here, or something whose text the hooks have measured first.
ESTIMATES: dict[str, Any] = {
    "center": lambda s, a, k, limit: len(str(s)) + _int(_arg(a, k, 0, "width", 80)),
    "ljust": lambda s, a, k, limit: len(str(s)) + _int(_arg(a, k, 0, "width", 0)),
    "rjust": lambda s, a, k, limit: len(str(s)) + _int(_arg(a, k, 0, "width", 0)),
    "zfill": lambda s, a, k, limit: len(str(s)) + _int(_arg(a, k, 0, "width", 0)),
    "expandtabs": lambda s, a, k, limit: len(str(s)) * max(1, _int(_arg(a, k, 0, "tabsize", 8))),
    "indent": lambda s, a, k, limit: len(str(s)) + (str(s).count("\n") + 1) * _int(_arg(a, k, 0, "width", 4)),
    "wordwrap": lambda s, a, k, limit: len(str(s)) * (1 + len(str(_arg(a, k, 3, "wrapstring", "") or ""))),
    "replace": lambda s, a, k, limit: _replace_size(s, a, k),
    "join": lambda s, a, k, limit: _join_size(s, _arg(a, k, 0, "d", ""), limit),
    "str.join": lambda s, a, k, limit: _join_size(_arg(a, k, 0, "iterable"), s, limit),
    "format": lambda s, a, k, limit: _format_size(s, a, k, limit),
    "str.format": lambda s, a, k, limit: _format_size(s, a, k, limit, braces=True),
    "str.format_map": lambda s, a, k, limit: _format_size(s, a, k, limit, braces=True),
    "batch": lambda s, a, k, limit: _int(_arg(a, k, 0, "linecount", 0)) if _arg(a, k, 1, "fill_with") is not None
    else 0,
    "slice": lambda s, a, k, limit: _int(_arg(a, k, 0, "slices", 0)),
    "tojson": lambda s, a, k, limit: _text_size(s, limit, _int(_arg(a, k, 1, "indent", 0) or 0),
                                                _separators_size(_arg(a, k, 2, "separators"))),
    "string": lambda s, a, k, limit: _text_size(s, limit),
    "pprint": lambda s, a, k, limit: _text_size(s, limit),
    "list": lambda s, a, k, limit: _text_size(s, limit),
    "urlencode": lambda s, a, k, limit: 3 * _text_size(s, limit),
    "lipsum": lambda s, a, k, limit: _int(_arg(a, k, 0, "n", 5)) * _int(_arg(a, k, 3, "max", 100)) * 12,
}


def _size_of_result(value: Any) -> int:
    return len(value) if isinstance(value, _SEQUENCES + (dict,)) else 0


def _environment() -> Any:
    import jinja2
    import jinja2.ext
    import jinja2.sandbox
    import markupsafe
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(jinja2.ext.Extension):
        """``{% generation %}...{% endgeneration %}`` renders its body, as transformers does when not tracking, and
        marks where it starts and ends (GENERATION_START, GENERATION_END)."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return GENERATION_START + caller() + GENERATION_END  # where the block is (Probe.trained); probes strip it

    class MeasuredFormatter(jinja2.sandbox.SandboxedFormatter):
        """Checks the size each field can have (its spec's widths and precisions, its value's text), added to
        what the fields before it wrote, before formatting it."""

        def __init__(self, env: Any, budget: _Budget | None, **kwargs: Any) -> None:
            super().__init__(env, **kwargs)
            self.budget, self.written = budget, 0

        def format_field(self, value: Any, format_spec: str) -> Any:
            if self.budget is None:
                return super().format_field(value, format_spec)
            self.budget.check_time()
            limit = self.budget.limits.max_output
            # a float's digits ('{:f}' of 1e308) and an int's in binary are more than their text
            digits = value.bit_length() + 1 if isinstance(value, int) else 330 if isinstance(value, float) else 0
            self.budget.check_size(self.written + _digits_size(str(format_spec)) + _text_size(value, limit) + digits)
            result = super().format_field(value, format_spec)
            self.written += len(result)
            self.budget.check_size(self.written)
            return result

    class MeasuredEscapeFormatter(MeasuredFormatter, jinja2.sandbox.SandboxedEscapeFormatter):
        pass

    class NoFoldingCodeGenerator(CodeGenerator):
        """Evaluates nothing of the template while compiling, so no filter or operator runs outside the limits.

        jinja2 folds constant expressions at compile time (``('%9999999s' % 'a')|urlize`` runs while compiling)
        and treats any exception there, the limit's included, as "not constant" and tries again one level up.
        With ``optimized=False`` the optimizer is off; this turns off the other folding (of ``{{ }}``
        children) and sends ``~`` through a size check."""

        def _output_child_to_const(self, node: Any, frame: Any, finalize: Any) -> str:
            if isinstance(node, nodes.TemplateData):
                return super()._output_child_to_const(node, frame, finalize)
            raise nodes.Impossible()

        def visit_Concat(self, node: Any, frame: Any) -> None:
            self.write("environment.limited_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write("))")

    class LimitedEnvironment(ImmutableSandboxedEnvironment):
        code_generator_class = NoFoldingCodeGenerator
        intercepted_binops = frozenset(["*", "**", "%", "+"])

        def limited_concat(self, values: tuple) -> str:
            budget = _current_budget()
            if budget is not None:
                budget.check_size(sum(_text_size(v, budget.limits.max_output) for v in values))
            return "".join(map(str, values))

        def concat(self, parts: Any) -> str:
            """Joins what a block captured (``{% set %}...{% endset %}``, a macro's or ``caller()``'s body,
            ``{% filter %}``, a recursive ``loop()``), which no ``{{ }}`` measures as a whole: each part of it was
            at most the output limit, but a loop can capture the same part thousands of times. The sum is checked
            before the parts are joined, as the output of a render is (jinja2's compiled code calls
            ``environment.concat``)."""
            budget = _current_budget()
            if budget is None:
                return "".join(parts)
            parts = parts if isinstance(parts, list) else list(parts)
            budget.check_time()
            size, limit = 0, budget.limits.max_output
            for part in parts:
                size += len(part) if isinstance(part, str) else 0
                if size > limit:
                    budget.check_size(size)
            return "".join(parts)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _current_budget()
            if budget is None:
                return ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
            budget.check_time()
            subject = getattr(__obj, "__self__", None)
            name = getattr(__obj, "__name__", None)
            estimate = None
            if isinstance(subject, _TEXT) and name in STR_METHODS:  # ``'x'.encode()`` has the same methods
                estimate = STR_METHODS[name]
            elif __obj is __self.globals.get("lipsum"):
                estimate = "lipsum"
            if estimate == "str.join" and args and not hasattr(args[0], "__len__"):
                args = (list(args[0]), *args[1:])  # an iterator: count what it gives before joining it
            if estimate:
                budget.check_size(ESTIMATES[estimate](_as_text(subject), tuple(map(_as_text, args)),
                                                      {key: _as_text(v) for key, v in kwargs.items()},
                                                      budget.limits.max_output))
            result = ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
            budget.check_size(_size_of_result(result))
            return result

        def wrap_str_format(self, value: Any) -> Any:
            """jinja2's wrapper of ``str.format``, with a formatter that measures each field before it formats it
            (what a nested field gives a spec, ``{:{1:9<10}}``, is known only then) and what the fields wrote."""
            if super().wrap_str_format(value) is None:
                return None
            subject, estimate = value.__self__, "str." + value.__name__

            def limited(*args: Any, **kwargs: Any) -> str:
                if estimate == "str.format_map":
                    if kwargs or len(args) != 1:
                        raise TypeError("format_map() takes exactly one argument and no keyword arguments")
                    args, kwargs = (), args[0]
                budget = _current_budget()
                if budget is not None:
                    budget.check_size(ESTIMATES["str.format"](subject, args, kwargs, budget.limits.max_output))
                formatter = (MeasuredEscapeFormatter(self, budget, escape=subject.escape)
                             if isinstance(subject, markupsafe.Markup) else MeasuredFormatter(self, budget))
                return type(subject)(formatter.vformat(subject, args, kwargs))

            return functools.update_wrapper(limited, value)

        def getattr(self, obj: Any, attribute: str) -> Any:
            budget = _current_budget()
            if budget is not None:
                budget.check_time()
            return super().getattr(obj, attribute)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            budget = _current_budget()
            if budget is not None:
                budget.check_time()
                limit = budget.limits.max_output
                if operator == "*" and isinstance(left, int) and isinstance(right, _SEQUENCES):
                    left, right = right, left
                if operator == "*" and isinstance(right, int) and isinstance(left, _SEQUENCES):
                    budget.check_size(_repeat_size(left, limit) * right)
                if operator == "**" and isinstance(right, int) and right > 4096:
                    raise TemplateLimitExceeded("exponent too large")
                if operator in ("*", "**") and isinstance(left, int) and isinstance(right, int):
                    # digits of the result: an int far larger than any output is only work for the CPU
                    bits = left.bit_length() * right if operator == "**" else \
                        left.bit_length() + right.bit_length()
                    budget.check_size(bits // 3)
                if operator == "%" and isinstance(left, _TEXT):
                    budget.check_size(_format_size(_as_text(left), right if isinstance(right, tuple) else (right,), {},
                                                   limit))
                if operator == "+" and isinstance(left, _SEQUENCES):
                    budget.check_size(_repeat_size(left, limit) + _repeat_size(right, limit))
            return super().call_binop(context, operator, left, right)

    global _NAMESPACE
    _NAMESPACE = jinja2.utils.Namespace

    class TemplateNamespace(jinja2.utils.Namespace):
        def __init__(*args: Any, **kwargs: Any) -> None:
            self, args = args[0], args[1:]
            attrs = dict(*args, **kwargs)
            for name in attrs:
                TemplateNamespace._check_name(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name: str, value: Any) -> None:
            TemplateNamespace._check_name(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check_name(name: Any) -> None:
            if isinstance(name, str) and name.startswith("_"):
                raise jinja2.exceptions.SecurityError("underscore-prefixed namespace attribute")

    class TemplateDict:
        def __call__(self, *args: Any, **kwargs: Any) -> dict:
            return dict(*args, **kwargs)

        def fromkeys(self, *args: Any, **kwargs: Any) -> dict:
            return dict.fromkeys(*args, **kwargs)

    def raise_exception(message: Any) -> None:
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None,
               sort_keys: bool = False) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def limited_filter(name: str, function: Any) -> Any:
        """Every filter runs at render time only (a context filter cannot be folded), after a check of the
        time and of the size its arguments promise, and its result is measured."""
        passed = jinja2.utils._PassArg.from_obj(function)
        estimate = name if name in ESTIMATES else None

        @jinja2.pass_context
        def limited(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _current_budget()
            if budget is not None:
                budget.check_time()
                if estimate == "join" and not hasattr(value, "__len__"):
                    value = list(value)  # an iterator: count what it gives before joining it
                if estimate:
                    limit = budget.limits.max_output
                    if not isinstance(value, str):  # these filters turn it into text: measure that first
                        budget.check_size(_text_size(value, limit))
                    budget.check_size(ESTIMATES[estimate](value, args, kwargs, limit))
            if passed is jinja2.utils._PassArg.context:
                result = function(context, value, *args, **kwargs)
            elif passed is jinja2.utils._PassArg.eval_context:
                result = function(context.eval_ctx, value, *args, **kwargs)
            elif passed is jinja2.utils._PassArg.environment:
                result = function(context.environment, value, *args, **kwargs)
            else:
                result = function(value, *args, **kwargs)
            if budget is not None:
                budget.check_size(_size_of_result(result))
            return result

        return limited

    def finalize(value: Any) -> Any:
        budget = _current_budget()
        if budget is not None:
            budget.check_size(_text_size(value, budget.limits.max_output))
        return value

    env = LimitedEnvironment(trim_blocks=True, lstrip_blocks=True, optimized=False, finalize=finalize,
                             extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.filters = {name: limited_filter(name, function) for name, function in env.filters.items()}
    env.globals["raise_exception"] = raise_exception
    from datetime import datetime

    env.globals["strftime_now"] = lambda fmt: datetime(*FIXED_NOW).strftime(fmt)
    env.globals["dict"] = TemplateDict()
    env.globals["namespace"] = TemplateNamespace
    return env


# ``str`` methods that get a size estimate before they run, and the estimate they get.
STR_METHODS = {"center": "center", "ljust": "ljust", "rjust": "rjust", "zfill": "zfill", "expandtabs": "expandtabs",
               "replace": "replace", "join": "str.join"}  # format and format_map: see wrap_str_format

_ENV: Any = None


def _compile(source: str) -> Any:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV.from_string(source)


# A name a template reads from its caller and cannot do without: firefunction-v2's adds ``functions`` and ``datetime``
# to its system prompt, which its users pass to apply_chat_template (transformers hands a call's extra arguments to
# the template). jinja2 says "'functions' is undefined" where the template uses one it was not given; the probe
# renders again with each such name an empty string (at most MAX_CALLER_VARIABLES of them; never a special token's
# name, which comes from the tokenizer), and a render that still fails shows the first error.
_UNDEFINED_NAME = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined")
MAX_CALLER_VARIABLES = 8


def _render(template: Any, variables: dict[str, Any], budget: _Budget) -> str:
    """The template's text for ``variables``, with the names the template needs from its caller added as empty
    strings (_UNDEFINED_NAME)."""
    first: Exception | None = None
    for _ in range(MAX_CALLER_VARIABLES + 1):
        try:
            return _generate(template, variables, budget)
        except (TemplateLimitExceeded, MemoryError):
            raise
        except Exception as exc:
            first = first or exc
            name = _caller_variable(exc)
            if name is None or name in variables:
                raise first from None
            variables = {**variables, name: ""}
    assert first is not None
    raise first


def _caller_variable(exc: Exception) -> str | None:
    """The name a render failed for want of (jinja2's UndefinedError for a variable), or None. Never a special
    token's (``bos_token``, ``eos_token``, ``additional_special_tokens``, a model's own ``image_token``): transformers
    passes those from the tokenizer, which has none of that name, so apply_chat_template fails there too (a Llama 2
    template's ``bos_token + ...`` on a Qwen tokenizer, whose bos is null: helper-163)."""
    found = _UNDEFINED_NAME.fullmatch(str(exc)) if type(exc).__name__ == "UndefinedError" else None
    name = found.group(1) if found else None
    return None if name is None or name.endswith(("_token", "_tokens")) else name


def _generate(template: Any, variables: dict[str, Any], budget: _Budget) -> str:
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(**variables):
        size += len(chunk)
        budget.check_size(size)
        budget.check_time()
        chunks.append(chunk)
    return "".join(chunks)


class _limited:
    """Installs a budget for the hooks, plus a SIGALRM timer on the main thread of POSIX systems.

    The timer interrupts loops that call nothing (``{% for %}`` over a long range with an empty body); the
    hooks cover threads and platforms without SIGALRM. Off the main thread only the hooks hold: that is why
    templates are rendered in a worker process where one can be started (render_worker.py).
    """

    def __init__(self, limits: Limits) -> None:
        import signal  # a check that renders nothing never loads these
        import threading

        self.signal = signal
        self.budget = _Budget(limits)
        self.timer = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> _Budget:
        _budget.value = self.budget
        if self.timer:
            def on_alarm(signum: int, frame: Any) -> None:
                raise TemplateLimitExceeded(f"rendering took longer than {self.budget.limits.seconds:g} s")

            signal = self.signal
            self.previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.budget.limits.seconds + 0.05)
        return self.budget

    def __exit__(self, *exc: Any) -> None:
        if self.timer:
            signal = self.signal
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        _budget.value = None
