"""Renders chat templates in a sandbox, as transformers does, to find the token that ends an assistant turn.

The environment mirrors ``transformers.utils.chat_template_utils._cached_compile_jinja_template`` (5.x):
an ``ImmutableSandboxedEnvironment`` with ``trim_blocks``/``lstrip_blocks``, loop controls, the
``{% generation %}`` tag, ``tojson`` without HTML escaping, ``raise_exception``, ``strftime_now`` and the
restricted ``dict``/``namespace``. On top of that sandbox, templates from strangers get limits: a deadline,
a cap on output size and on the size of ``*``/``**`` results. jinja2 is imported only when a template exists.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

ASSISTANT_MARKER = "EOSGUARDASSISTANT"
SYSTEM_TEXT = "EOSGUARDSYSTEM"
USER_TEXT = "EOSGUARDUSER"
SECOND_USER_MARKER = "EOSGUARDUSERTWO"

# A fixed date keeps renders reproducible (Llama 3.1 templates print today's date).
FIXED_NOW = (2026, 1, 15, 12, 0, 0)

SAMPLE_TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]


@dataclass(frozen=True)
class Limits:
    """How much one template may cost (wall time per render, characters of output), and whether probe results
    may be cached on disk (see probe_cache.py)."""

    seconds: float = 2.0
    max_output: int = 1_000_000
    cache: bool = True


class TemplateLimitExceeded(Exception):
    """A render went over its time or size budget."""


@dataclass
class Probe:
    """What rendering one template showed about the end of an assistant turn."""

    token: str | None = None        # the added token that first follows the answer
    tail: str = ""                  # the text that follows the answer (up to the next turn), for messages
    shape: str | None = None        # which probe conversation rendered it
    marker_seen: bool = False       # whether any render showed the assistant's content at all
    errors: list[str] = field(default_factory=list)
    limit_exceeded: str | None = None

    @property
    def rendered(self) -> bool:
        return self.shape is not None


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


def probe_template(source: str, special_tokens: dict[str, str], added_tokens: Iterable[str],
                   limits: Limits = Limits(), with_tools: bool = False) -> Probe:
    """Render probe conversations and return the token that follows the assistant's answer.

    ``special_tokens`` are the strings transformers passes to the template (``eos_token``, ...);
    ``added_tokens`` are the token strings the tokenizer treats as single tokens.
    """
    from . import cache

    added_tokens = list(added_tokens)
    key = cache.digest(source, sorted(special_tokens.items()), sorted(set(added_tokens)), limits.max_output,
                       with_tools)
    cached = cache.load("probe", key, limits.cache)
    if isinstance(cached, dict):
        try:
            return Probe(**cached)
        except TypeError:
            pass
    if _known_allowed(limits):
        from . import known_probes

        outcomes = known_probes.lookup(source, special_tokens, with_tools)
        if outcomes is not None:
            return select(outcomes, added_tokens)
    result = _probe(source, special_tokens, added_tokens, limits, with_tools)
    if not result.limit_exceeded:  # limits are in seconds: such a result depends on the machine's load
        cache.store("probe", key, dataclasses.asdict(result), limits.cache)
    return result


def _known_allowed(limits: Limits) -> bool:
    """Shipped results (known_probes.py) were rendered within the default limits; with tighter limits, or with
    the cache turned off (compute everything from the files), the template is rendered."""
    default = Limits()
    return limits.cache and limits.seconds >= default.seconds and limits.max_output >= default.max_output


def probe_named_template(name: str, source: str, special_tokens: dict[str, str], added_tokens: Iterable[str],
                         limits: Limits = Limits()) -> Probe:
    """Probe a template by its name: ``tool_use`` is rendered with tools, any other one also with tools when it
    renders nothing without them (templates that require tools)."""
    added_tokens = list(added_tokens)
    probe = probe_template(source, special_tokens, added_tokens, limits, with_tools=name == "tool_use")
    if not probe.rendered and not probe.limit_exceeded and name != "tool_use":
        with_tools = probe_template(source, special_tokens, added_tokens, limits, with_tools=True)
        if with_tools.rendered or with_tools.limit_exceeded:
            probe = with_tools
    return probe


def _probe(source: str, special_tokens: dict[str, str], added_tokens: list[str], limits: Limits,
           with_tools: bool) -> Probe:
    try:
        template = _compile(source, limits)
    except TemplateLimitExceeded as exc:
        return Probe(limit_exceeded=str(exc))
    except Exception as exc:  # jinja2.TemplateSyntaxError and friends
        return Probe(errors=[_describe(exc)])
    return select(render_outcomes(template, special_tokens, limits, with_tools), added_tokens)


Outcome = tuple[str, str, str]  # (conversation shape, "error" | "tail" | "unmarked", message or tail)


def render_outcomes(template: Any, special_tokens: dict[str, str], limits: Limits,
                    with_tools: bool) -> Iterator[Outcome]:
    """Render each probe conversation in turn (lazily: :func:`select` stops at the first one that shows a
    token) and yield what it showed after the assistant's content. Raises TemplateLimitExceeded."""
    for parts in (False, True):
        for shape, messages in _conversations(parts):
            variables: dict[str, Any] = dict(special_tokens)
            variables.update(messages=messages, add_generation_prompt=False, documents=None,
                             tools=SAMPLE_TOOLS if with_tools else None)
            try:
                text = _render(template, variables, limits)
            except TemplateLimitExceeded:
                raise
            except Exception as exc:
                yield shape, "error", _describe(exc)
                continue
            at = text.rfind(ASSISTANT_MARKER)
            if at < 0:
                yield shape, "unmarked", ""
                continue
            yield shape, "tail", text[at + len(ASSISTANT_MARKER):].split(SECOND_USER_MARKER)[0]


def select(outcomes: Iterable[Outcome], added_tokens: Iterable[str]) -> Probe:
    """The probe result of render outcomes: the first conversation whose answer is followed by an added token."""
    result = Probe()
    by_length = sorted(set(t for t in added_tokens if t), key=len, reverse=True)
    fallback: Probe | None = None
    try:
        for shape, kind, value in outcomes:
            if kind == "error":
                result.errors.append(f"{shape}: {value}")
                continue
            if kind != "tail":
                continue
            result.marker_seen = True
            tail = value
            stripped = tail.lstrip()
            token = next((t for t in by_length if stripped.startswith(t)), None)
            if token is not None:
                result.token, result.tail, result.shape = token, tail, shape
                return result
            if fallback is None or (not fallback.tail.strip() and stripped):
                fallback = Probe(tail=tail, shape=shape)
    except TemplateLimitExceeded as exc:
        result.limit_exceeded = str(exc)
        return result
    if fallback is not None:
        result.tail, result.shape = fallback.tail, fallback.shape
    return result


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
    outcomes = list(render_outcomes(_compile(source, limits), special_tokens, limits, with_tools))
    return sorted(names - PROBE_VARIABLES), outcomes


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    line = getattr(exc, "lineno", None)
    where = f" (template line {line})" if line else ""
    return f"{name}: {message}{where}" if message else f"{name}{where}"


class _Budget:
    """A deadline and size cap that the sandbox's hooks consult while a template runs."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(f"rendering took longer than {self.limits.seconds:g} s")

    def check_size(self, size: int) -> None:
        if size > self.limits.max_output:
            raise TemplateLimitExceeded(f"rendering produced more than {self.limits.max_output} characters")


_budget = threading.local()


def _current_budget() -> _Budget | None:
    return getattr(_budget, "value", None)


def _environment() -> Any:
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationTag(jinja2.ext.Extension):
        """``{% generation %}...{% endgeneration %}`` renders its body, as transformers does when not tracking."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return caller()

    class LimitedEnvironment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(["*", "**"])

        def call(self, context: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _current_budget()
            if budget is not None:
                budget.check_time()
            return super().call(context, obj, *args, **kwargs)

        def getattr(self, obj: Any, attribute: str) -> Any:
            budget = _current_budget()
            if budget is not None:
                budget.check_time()
            return super().getattr(obj, attribute)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            budget = _current_budget()
            if budget is not None:
                budget.check_time()
                if operator == "*" and isinstance(right, int) and isinstance(left, (str, list, tuple)):
                    budget.check_size(len(left) * right)
                if operator == "*" and isinstance(left, int) and isinstance(right, (str, list, tuple)):
                    budget.check_size(len(right) * left)
                if operator == "**" and isinstance(right, int) and right > 4096:
                    raise TemplateLimitExceeded("exponent too large")
            return super().call_binop(context, operator, left, right)

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

    env = LimitedEnvironment(trim_blocks=True, lstrip_blocks=True,
                             extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    from datetime import datetime

    env.globals["strftime_now"] = lambda fmt: datetime(*FIXED_NOW).strftime(fmt)
    env.globals["dict"] = TemplateDict()
    env.globals["namespace"] = TemplateNamespace
    return env


_ENV: Any = None


def _compile(source: str, limits: Limits) -> Any:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    with _limited(limits):
        return _ENV.from_string(source)


def _render(template: Any, variables: dict[str, Any], limits: Limits) -> str:
    chunks: list[str] = []
    size = 0
    with _limited(limits) as budget:
        for chunk in template.generate(**variables):
            size += len(chunk)
            budget.check_size(size)
            budget.check_time()
            chunks.append(chunk)
    return "".join(chunks)


class _limited:
    """Installs a budget for the hooks, plus a SIGALRM timer on the main thread of POSIX systems.

    The timer interrupts loops that call nothing (``{% for %}`` over a long range with an empty body); the
    hooks cover threads and platforms without SIGALRM.
    """

    def __init__(self, limits: Limits) -> None:
        self.budget = _Budget(limits)
        self.timer = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> _Budget:
        _budget.value = self.budget
        if self.timer:
            def on_alarm(signum: int, frame: Any) -> None:
                raise TemplateLimitExceeded(f"rendering took longer than {self.budget.limits.seconds:g} s")

            self.previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.budget.limits.seconds + 0.05)
        return self.budget

    def __exit__(self, *exc: Any) -> None:
        if self.timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        _budget.value = None
