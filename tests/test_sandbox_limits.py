"""Template limits hold by construction: every class of costly template ends in a limit, in the render worker
(operating-system limits, a wall-clock kill) and, where they can, already in the sandbox's hooks.

Each class is tried with several members (filters, operators, methods, statements), not one example. Timings
are generous safety bounds for a shared machine, never benchmarks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from eos_guard import render_worker
from eos_guard.template import Limits, probe_named_template, probe_template
from support import FIXTURES, ROOT, write_json

LIMITS = Limits(seconds=1.0, cache=False)
SPECIAL = {"eos_token": "</s>", "bos_token": "<s>"}

# jinja2 folds constant expressions while it compiles: each of these would run outside any limit.
FOLDING = {
    "fold-percent-urlize": "{{ ('%2000000s' % 'a')|replace(' ', 'a ')|urlize }}",
    "fold-center-urlize": "{{ 'a'|center(999999)|replace(' ', 'a ')|urlize|urlize }}",
    "fold-in-set": "{% set x = ('a ' * 499999)|urlize|urlize %}{{ x|length }}",
    "fold-in-if": "{% if ('a ' * 499999)|urlize|urlize %}x{% endif %}",
    "fold-wordwrap": "{{ ('ab ' * 333333)|wordwrap(1)|urlize|urlize }}",
    "fold-concat": "{{ ('a ' * 499999) ~ ('a ' * 499999)|urlize }}",
    "fold-macro-default": "{% macro m(x=('a ' * 499999)|urlize|urlize) %}{{ x }}{% endmacro %}{{ m() }}",
}

# Results far larger than their inputs: widths, fill values, separators, repetition of shared references.
MEMORY = {
    "center-filter": "{{ 'a'|center(1200000000) }}",
    "center-method": "{{ 'a'.center(1200000000) }}",
    "ljust-method": "{{ 'a'.ljust(1200000000) }}",
    "rjust-method": "{{ 'a'.rjust(1200000000, 'b') }}",
    "zfill-method": "{{ '1'.zfill(1200000000) }}",
    "expandtabs": "{{ ('\\t' * 100000).expandtabs(100000) }}",
    "percent-width": "{{ '%500000000s' % messages[0].role }}",
    "percent-star": "{{ '%*s' % (500000000, 'x') }}",
    "percent-precision": "{{ '%.500000000f' % 1.5 }}",
    "format-filter": "{{ '%500000000s'|format('x') }}",
    "format-filter-star": "{{ '%*s'|format(500000000, 'x') }}",
    "format-method": "{{ '{:>500000000}'.format('x') }}",
    "format-method-nested": "{{ '{:{w}}'.format('x', w=500000000) }}",
    "format-map": "{{ '{x:>500000000}'.format_map({'x': 1}) }}",
    # widths the estimates missed: a mapping key with parentheses in it (Python reads it to the matching one), a
    # nested field that looks its width up in an argument; each allocated 2.5 GB before any hook measured it
    "percent-key-parentheses": "{{ '%(a(b)c)2500000000s' % {'a(b)c': 'x'} }}",
    "format-filter-key-parentheses": "{{ '%(a(b)c)2500000000s'|format(**{'a(b)c': 'x'}) }}",
    "format-method-width-by-index": "{{ '{0[1]:{0[0]}}'.format([2500000000, 'x']) }}",
    "format-method-width-by-key": "{{ '{1:{0[w]}}'.format({'w': 2500000000}, 'x') }}",
    "format-method-width-by-attribute": "{% set ns = namespace(w=2500000000) %}{{ '{0:{1.w}}'.format('x', ns) }}",
    "format-map-width-by-key": "{{ '{x:{w[0]}}'.format_map({'x': 'x', 'w': [2500000000]}) }}",
    # each under the limit alone, 2.7 GB together: the widths of many conversions add up, a mapping key or a
    # field taken many times writes its value each time, and a nested field's own spec makes a width
    # ('{1:9<10}' of 2 is 2999999999), where only the largest width, the arguments once and the integers counted
    "percent-widths-add-up": "{{ ('%900000s' * 3000) % (('a',) * 3000) }}",
    "format-filter-widths-add-up": "{{ ('%900000s' * 3000)|format(*(('a',) * 3000)) }}",
    "format-method-widths-add-up": "{{ ('{0:900000}' * 3000).format('a') }}",
    "percent-key-repeated": "{% set s = 'x' * 900000 %}{{ ('%(a)s' * 3000) % {'a': s} }}",
    "format-filter-key-repeated": "{% set s = 'x' * 900000 %}{{ ('%(a)s' * 3000)|format(a=s) }}",
    "format-method-field-repeated": "{% set s = 'x' * 900000 %}{{ ('{0}' * 3000).format(s) }}",
    "format-map-field-repeated": "{% set s = 'x' * 900000 %}{{ ('{a}' * 3000).format_map({'a': s}) }}",
    "format-method-width-by-nested-spec": "{{ '{0:{1:9<10}}'.format('a', 2) }}",
    "format-method-width-by-string": "{{ '{:{}}'.format('a', '2500000000') }}",
    "format-method-width-by-two-fields": "{{ '{:{}{}}'.format('a', 25, '00000000') }}",
    "indent-width": "{{ ('a\\n' * 100000)|indent(100000) }}",
    "indent-string": "{{ ('a\\n' * 100000)|indent('x' * 100000) }}",
    "concat-doubling": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                       "{% endfor %}{{ ns.s|length }}",
    "concat-chain": "{% set a = 'x' * 999999 %}{% set b = a ~ a ~ a %}{% set c = b ~ b ~ b %}{% set d = c ~ c %}"
                    "{{ d|length }}",
    "plus-doubling": "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}"
                     "{% endfor %}{{ ns.l|length }}",
    "tojson-indent": "{{ (range(1000)|list)|tojson(indent=1000000000) }}",
    "tojson-indent-string": "{{ (range(1000)|list)|tojson(indent='x' * 900000) }}",
    "tojson-separators": "{{ dict.fromkeys(range(3000)|list, 1)|tojson(separators=(',', 'x' * 900000)) }}",
    "tojson-item-separator": "{{ ([0] * 3000)|tojson(separators=('x' * 900000, ':')) }}",
    "tojson-shared": "{% set s = 'x' * 900000 %}{{ ([s] * 2000)|tojson }}",
    "join-shared": "{% set s = 'x' * 900000 %}{{ ([s] * 2000)|join }}",
    "join-separator": "{{ range(99999)|join('x' * 900000) }}",
    "join-method": "{{ ('x' * 900000).join(range(99999)|map('string')) }}",
    "replace-filter": "{{ ('a' * 900000)|replace('a', 'b' * 900000) }}",
    "replace-empty": "{{ 'ab'|replace('', 'x' * 900000)|replace('', 'y' * 900000) }}",
    "replace-method": "{{ ('a' * 900000).replace('a', 'b' * 900000) }}",
    "batch-fill": "{{ [1]|batch(500000000, 0)|list }}",
    "slice": "{{ [1]|slice(50000000)|list }}",
    "wordwrap-string": "{{ ('a ' * 400000)|wordwrap(1, wrapstring='x' * 900000) }}",
    "lipsum": "{{ lipsum(1000000) }}",
    # str.encode gives bytes, which have the same widening operators and methods
    "bytes-repeat": "{{ ('x'.encode() * 1500000000)|length }}",
    "bytes-repeat-left": "{{ (1500000000 * 'x'.encode())|length }}",
    "bytes-ljust": "{{ 'x'.encode().ljust(1500000000)|length }}",
    "bytes-center": "{{ 'x'.encode().center(1500000000)|length }}",
    "bytes-zfill": "{{ '1'.encode().zfill(1500000000)|length }}",
    "bytes-percent-width": "{{ ('%500000000s'.encode() % 'x'.encode())|length }}",
    "bytes-replace": "{{ ('a' * 900000).encode().replace('a'.encode(), ('b' * 900000).encode())|length }}",
    "bytes-join": "{{ ('x' * 900000).encode().join(['a'.encode()] * 99999)|length }}",
    "bytes-plus-doubling": "{% set ns = namespace(b='ab'.encode()) %}{% for i in range(40) %}"
                           "{% set ns.b = ns.b + ns.b %}{% endfor %}{{ ns.b|length }}",
    "output-shared": "{% set s = 'x' * 900000 %}{{ [s] * 1000 }}",
    "string-shared": "{% set s = 'x' * 900000 %}{{ ([[s] * 1000] * 1000)|string|length }}",
    "int-power": "{{ ((10 ** 4096) ** 4096) ** 4096 }}",
    "int-squaring": "{% set ns = namespace(n=10 ** 4000) %}{% for i in range(40) %}{% set ns.n = ns.n * ns.n %}"
                    "{% endfor %}{{ ns.n > 0 }}",
    "strftime-format": "{{ strftime_now('%Y %B %A ' * 300000) }}",
    "center-structure": "{% set s = 'x' * 900000 %}{{ ([s] * 1000)|center(5) }}",
    "replace-structure": "{% set s = 'x' * 900000 %}{{ ([s] * 1000)|replace('x', 'y') }}",
    "generation-tag": "{% generation %}{% set s = 'x' * 900000 %}{{ [s] * 1000 }}{% endgeneration %}",
    # a captured block is joined once it ends, which no {{ }} measures: each part is under the limit
    "set-block": "{% set s = 'x' * 900000 %}{% set b %}{% for i in range(3000) %}{{ s }}{% endfor %}{% endset %}"
                 "{{ b|length }}",
    "macro-body": "{% set s = 'x' * 900000 %}{% macro m() %}{% for i in range(3000) %}{{ s }}{% endfor %}"
                  "{% endmacro %}{% if m() %}y{% endif %}",
    "filter-block": "{% set s = 'x' * 900000 %}{% filter length %}{% for i in range(3000) %}{{ s }}{% endfor %}"
                    "{% endfilter %}",
    "call-block": "{% set s = 'x' * 900000 %}{% macro m() %}{{ caller()|length }}{% endmacro %}{% call m() %}"
                  "{% for i in range(3000) %}{{ s }}{% endfor %}{% endcall %}",
    "recursive-loop-body": "{% set s = 'x' * 900000 %}{% for x in [1] recursive %}{% if loop.depth < 3 %}"
                           "{{ loop([1])|length }}{% else %}{% for i in range(3000) %}{{ s }}{% endfor %}{% endif %}"
                           "{% endfor %}",
    "generation-in-set": "{% set s = 'x' * 900000 %}{% set b %}{% generation %}{% for i in range(3000) %}{{ s }}"
                         "{% endfor %}{% endgeneration %}{% endset %}{{ b|length }}",
}

# Time without allocation, on loops, loop controls, namespace counters, recursion and the probe's globals.
CPU = {
    "silent-nested-loop": "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}",
    "continue-loop": "{% for a in range(99999) %}{% for b in range(99999) %}{% continue %}{% endfor %}"
                     "{% endfor %}",
    "break-loop": "{% for a in range(99999) %}{% for b in range(99999) %}{% if b < 0 %}{% break %}{% endif %}"
                  "{% endfor %}{% endfor %}",
    "namespace-counter": "{% set ns = namespace(n=0) %}{% for a in range(99999) %}{% for b in range(99999) %}"
                         "{% set ns.n = ns.n + 1 %}{% endfor %}{% endfor %}",
    "macro-fanout": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "recursive-loop": "{% for x in range(99999) recursive %}{% if loop.depth < 40 %}{{ loop([x, x]) }}{% endif %}"
                      "{% endfor %}",
    "tojson-loop": "{% for a in range(99999) %}{% for b in range(99999) %}{{ '' if messages|tojson else '' }}"
                   "{% endfor %}{% endfor %}",
    "raise-in-loop": "{% for a in range(99999) %}{% for b in range(99999) %}{% if a < 0 %}"
                     "{{ raise_exception('x') }}{% endif %}{% endfor %}{% endfor %}",
}

# A tuple nested 500,000 deep, built 50 levels a step, then hashed as a dict key: CPython's tuple hash recurses in
# C without a depth check, so the stack overflows and the process ends with SIGSEGV (docs/security.md).
NESTED_TUPLE_HASHED = ("{% set ns = namespace(x=()) %}{% for i in range(10000) %}{% set ns.x = " + "(" * 50 + "ns.x"
                       + ",)" * 50 + " %}{% endfor %}{{ {ns.x: 1}|length }}")

# Depth: self-calling macros, nesting in the source deeper than the parser's recursion.
DEPTH = {
    "macro-self-call": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "macro-mutual": "{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}",
    "nested-parentheses": "{{ " + "(" * 50000 + "1" + ")" * 50000 + " }}",
    "nested-loops": "{% for a in messages %}" * 2000 + "x" + "{% endfor %}" * 2000,
    "nested-lists": "{{ " + "[" * 50000 + "]" * 50000 + " }}",
}

CASES = {**FOLDING, **MEMORY, **CPU, **DEPTH}
HONEST = "{% for m in messages %}{{ m.content }}</s>{% endfor %}"


def _stopped(probe) -> bool:
    return bool(probe.limit_exceeded) or (not probe.marker_seen and bool(probe.errors))


@pytest.mark.parametrize("template", CASES.values(), ids=CASES.keys())
def test_every_costly_template_is_stopped_in_bounded_time(template):
    start = time.monotonic()
    probe = probe_template(template, SPECIAL, ["</s>"], LIMITS)
    elapsed = time.monotonic() - start
    assert _stopped(probe), probe
    # 1 s limit + 1 s grace before the kill + a worker restart, on a loaded machine
    assert elapsed < 20, elapsed


@pytest.mark.parametrize("template", {**FOLDING, **MEMORY, **CPU}.values(), ids={**FOLDING, **MEMORY, **CPU}.keys())
def test_the_hooks_alone_stop_folding_memory_and_cpu_bombs(template):
    """The first line: without the worker (as on Windows), in a process limited to 2 GiB so that a miss shows as
    a MemoryError instead of swapping the machine, the sandbox's hooks stop each one by size or time."""
    code = ("import json, resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
            "from eos_guard.template import _probe, Limits; "
            "p = _probe(sys.stdin.read(), {'eos_token': '</s>'}, ['</s>'], Limits(seconds=3, cache=False), False); "
            "print(json.dumps([p.limit_exceeded, p.errors]))")
    proc = subprocess.run([sys.executable, "-c", code], input=template, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    limit, errors = json.loads(proc.stdout)
    assert limit in ("rendering produced more than 1000000 characters", "rendering took longer than 3 s"), \
        (limit, errors, proc.stderr[-2000:])


@pytest.mark.parametrize("template", FOLDING.values(), ids=FOLDING.keys())
def test_compiling_runs_no_filter(template):
    """jinja2 would fold these while compiling, outside any limit; here compiling runs nothing of them."""
    from eos_guard import template as sandbox

    sandbox._compile("")
    calls = []
    sandbox._ENV.filters["spy"] = lambda value: calls.append(value) or value  # a plain, foldable filter
    try:
        start = time.monotonic()
        compiled = sandbox._compile(template.replace("|urlize", "|spy|urlize"))
        assert time.monotonic() - start < 5
        compiled_spy = sandbox._compile("{{ 'a'|spy }}")
        assert calls == []
        assert compiled_spy.render() == "a" and calls == ["a"]
    finally:
        del sandbox._ENV.filters["spy"]
    assert compiled is not None


# The size estimates themselves read the format string: they must take linear time (no timer interrupts them off
# the main thread, where the hooks are all there is without the worker, as on Windows).
ESTIMATE_CPU = {
    "percent-open-keys": "{{ ('%(' * 500000) % {} }}",
    "format-open-spec": "{{ ('{' ~ ':' * 999000).format() }}",
    "format-filter-open-keys": "{{ ('%(' * 500000)|format(**{}) }}",
}


@pytest.mark.parametrize("template", ESTIMATE_CPU.values(), ids=ESTIMATE_CPU.keys())
def test_the_size_estimates_take_linear_time_without_a_timer(template):
    """A regular expression read the widths of a format string: 1 MB of ``%(`` took 95 s, of ``{::::`` hours, with
    the GIL held, so no other thread ran meanwhile. On a thread of its own, where no SIGALRM reaches it, the probe
    now ends at a limit or an error within seconds."""
    code = ("import json, sys, threading; from eos_guard.template import _probe, Limits\n"
            "src, out = sys.stdin.read(), []\n"
            "t = threading.Thread(target=lambda: out.append(_probe(src, {'eos_token': '</s>'}, ['</s>'], "
            "Limits(seconds=3, cache=False), False)), daemon=True)\n"
            "t.start(); t.join(30)\n"
            "print(json.dumps([out[0].limit_exceeded, out[0].errors] if out else 'running'))")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], input=template, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    result = json.loads(proc.stdout)
    assert result != "running" and (result[0] or result[1]), (result, proc.stderr[-2000:])
    assert time.monotonic() - start < 20


FORMATS = ("{{ '{0:{1}}{0:{1}}'.format('a', 5) }}|{{ '%5s|%%|%-3d|%.*f' % ('x', 7, 2, 3.14159) }}",
           "{{ '{!r:>8}{!a}'.format('q', '\u00e9') }}|{{ ('<{}>'|safe).format('<') }}|{{ '{a}'.format_map({'a': 1}) }}",
           "{{ '%(a)s-%(a)5s'|format(a='z') }}|{{ '{:.3f}{:,}{:b}'.format(1e300, 10**20, 255) }}",
           "{{ '{0[1]}{x[y]}{1:{2}}'.format([1, 2], 'p', 3, x={'y': 3}) }}",
           "{{ '{x:{w[0]}}'.format_map({'x': 'x', 'w': [9]}) }}{{ '{0:{1:9<2}}'.format('a', 2) }}")


@pytest.mark.parametrize("source", FORMATS)
def test_the_measured_format_writes_what_jinja2s_sandbox_writes(source):
    """str.format and format_map run through a formatter that measures each field: the text is jinja2's own."""
    import jinja2.sandbox

    from eos_guard import template as sandbox

    expected = jinja2.sandbox.ImmutableSandboxedEnvironment().from_string(source).render()
    sandbox._compile("")
    sandbox._budget.value = sandbox._Budget(sandbox.Limits())
    try:
        assert sandbox._compile(source).render() == expected
    finally:
        sandbox._budget.value = None


def test_a_render_on_another_thread_is_killed_at_its_limit():
    """No SIGALRM reaches a thread, and a loop with no call reaches no hook: only the worker's kill stops it."""
    results = []

    def run():
        start = time.monotonic()
        probe = probe_template(CPU["silent-nested-loop"], SPECIAL, ["</s>"], LIMITS)
        results.append((probe, time.monotonic() - start))

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)
    assert not worker.is_alive()
    (probe, elapsed), = results
    assert probe.limit_exceeded and "1 s" in probe.limit_exceeded, probe
    assert elapsed < 20, elapsed


def test_threads_share_the_worker_and_each_gets_its_own_verdict():
    results: dict[int, object] = {}

    def run(i):
        template = HONEST if i % 2 else CPU["silent-nested-loop"]
        results[i] = probe_template(template + "{# %d #}" % i, SPECIAL, ["</s>"], LIMITS)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert {i: (p.token, bool(p.limit_exceeded)) for i, p in results.items()} == \
        {0: (None, True), 1: ("</s>", False), 2: (None, True), 3: ("</s>", False)}


def test_a_killed_worker_is_replaced_and_the_next_template_renders():
    probe = probe_template(CPU["silent-nested-loop"], SPECIAL, ["</s>"], LIMITS)
    assert probe.limit_exceeded
    probe = probe_named_template("default", HONEST, SPECIAL, ["</s>"], LIMITS)
    assert probe.token == "</s>"


def test_out_of_memory_in_the_worker_is_a_limit_not_a_crash():
    """An allocation no hook sees (the str method translate) fails at the address-space limit."""
    template = "{{ ('a' * 900000).translate({97: 'b' * 900000})|length }}"
    probe = probe_template(template, SPECIAL, ["</s>"], Limits(seconds=10, cache=False, memory_mb=256))
    assert probe.limit_exceeded and "256 MiB" in probe.limit_exceeded, probe
    assert probe_template(HONEST, SPECIAL, ["</s>"], LIMITS).token == "</s>"


def _stack_limit() -> float:
    import resource

    soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
    return float("inf") if soft == resource.RLIM_INFINITY else soft


@pytest.mark.skipif(_stack_limit() > 64 << 20, reason="a stack this large holds the recursion: nothing crashes")
def test_a_worker_that_crashes_is_reported_as_a_crash_not_as_a_timeout():
    """The worker's stack overflowed at once (a hashed tuple nested 500,000 deep), yet the finding said "rendering
    took longer than 1 s (the render process was killed)": its closed pipe was read before it could be waited
    for, so it looked alive. The finding names the signal, and the next template gets a new worker."""
    start = time.monotonic()
    probe = probe_template(NESTED_TUPLE_HASHED, SPECIAL, ["</s>"], Limits(seconds=5, cache=False))
    assert probe.limit_exceeded == "the render process ended with signal SIGSEGV", probe
    assert time.monotonic() - start < 5
    assert probe_template(HONEST + "{# after a crash #}", SPECIAL, ["</s>"], LIMITS).token == "</s>"


@pytest.mark.skipif(_stack_limit() > 64 << 20, reason="a stack this large holds the recursion: nothing crashes")
def test_a_crash_in_the_built_in_call_keeps_the_tool_call_rendered_before_it():
    """The worker sends each tool call's outcome as it renders it: a template that crashes the worker only with
    ``builtin_tools`` set keeps what the call before showed (EOS030 still judges it), with the crash as the call's
    limit, so the probe is not cached; the answers' probe stands."""
    template = ("{% for m in messages %}{{ m.content }}{% if m.tool_calls %}{{ m.tool_calls[0].function.arguments"
                " | tojson }}<|eom|>{% else %}</s>{% endif %}{% endfor %}"
                "{% if builtin_tools is defined %}" + NESTED_TUPLE_HASHED + "{% endif %}")
    probe = probe_template(template, SPECIAL, ["</s>", "<|eom|>"], Limits(seconds=5, cache=False))
    assert probe.token == "</s>" and probe.limit_exceeded is None, probe
    assert probe.after_call == ["<|eom|>"] and probe.after_builtin_call is None, probe
    assert probe.call_limit == "the render process ended with signal SIGSEGV", probe
    assert probe_template(HONEST + "{# after a crash #}", SPECIAL, ["</s>"], LIMITS).token == "</s>"


def test_an_unresponsive_worker_is_killed_at_the_deadline():
    """Whatever keeps the worker from answering (here: it is stopped, as a C call that never checks for signals
    would keep it), the parent kills it at the probe's limit plus the grace, and the next probe gets a new one."""
    probe_template(HONEST + "{# start #}", SPECIAL, ["</s>"], LIMITS)  # a worker is running
    stuck = render_worker._WORKER.process
    os.kill(stuck.pid, signal.SIGSTOP)
    start = time.monotonic()
    probe = probe_template(HONEST + "{# another #}", SPECIAL, ["</s>"], LIMITS)
    elapsed = time.monotonic() - start
    assert probe.limit_exceeded == "rendering took longer than 1 s (the render process was killed)", probe
    assert LIMITS.seconds + render_worker.GRACE - 0.1 < elapsed < 20, elapsed
    assert stuck.returncode == -signal.SIGKILL
    assert probe_template(HONEST + "{# again #}", SPECIAL, ["</s>"], LIMITS).token == "</s>"


@pytest.mark.skipif(not os.path.exists("/proc/self/limits"), reason="reads the limits from /proc (Linux)")
def test_the_worker_runs_under_address_space_and_cpu_limits():
    probe_template(HONEST + "{# limits #}", SPECIAL, ["</s>"], Limits(seconds=2.5, cache=False, memory_mb=300))
    process = render_worker._WORKER.process
    limits = {line[:26].strip(): line[26:].split() for line in
              open(f"/proc/{process.pid}/limits").read().splitlines()[1:]}
    assert limits["Max address space"][0] == str(300 << 20)
    used = sum(int(v) for v in open(f"/proc/{process.pid}/stat").read().rsplit(")", 1)[1].split()[11:13])
    used_seconds = used / os.sysconf("SC_CLK_TCK")
    # the CPU time used so far plus the probe's 2.5 s, rounded up, plus one
    assert int(limits["Max cpu time"][0]) <= used_seconds + 2.5 + 2
    assert limits["Max core file size"][0] == "0"


def test_the_worker_imports_nothing_from_the_working_directory(tmp_path):
    """The checked repository is often the working directory: a jinja2 planted there must not be imported."""
    for name in ("jinja2", "markupsafe"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("open(__file__ + '.pwned', 'w')\n")
    code = ("import sys; sys.path.insert(0, ''); from eos_guard.template import probe_template, Limits; "
            f"print(probe_template({HONEST!r}, {{}}, ['</s>'], Limits(cache=False)).token)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.strip() == "</s>", proc.stderr
    assert not list(tmp_path.rglob("*.pwned"))


def test_the_worker_writes_no_bytecode_when_python_is_told_not_to(tmp_path):
    """The worker runs ``python -I``, which ignores PYTHONDONTWRITEBYTECODE: it wrote eos_guard's bytecode files
    next to the package all the same."""
    import shutil

    shutil.copytree(ROOT / "eos_guard", tmp_path / "eos_guard", ignore=shutil.ignore_patterns("__pycache__"))
    code = ("from eos_guard.template import probe_template, Limits; "
            f"print(probe_template({HONEST!r}, {{}}, ['</s>'], Limits(cache=False)).token)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.stdout.strip() == "</s>", proc.stderr
    assert not list((tmp_path / "eos_guard").rglob("*.pyc"))


def test_without_operating_system_limits_templates_render_in_process(monkeypatch):
    """The fallback on platforms without resource/fork: the same verdicts, from the hooks alone."""
    monkeypatch.setattr(render_worker, "supported", lambda: False)
    assert probe_template(HONEST, SPECIAL, ["</s>"], LIMITS).token == "</s>"
    assert "characters" in probe_template(MEMORY["center-filter"], SPECIAL, ["</s>"], LIMITS).limit_exceeded


@pytest.fixture(scope="module")
def hostile_folders(tmp_path_factory):
    """Many folders, each with a template that ends in a different limit, and honest folders among them."""
    root = tmp_path_factory.mktemp("many")
    chosen = {**{k: CPU[k] for k in ("silent-nested-loop", "continue-loop", "namespace-counter")},
              **{k: MEMORY[k] for k in ("center-method", "concat-doubling", "tojson-indent")},
              **{k: FOLDING[k] for k in ("fold-percent-urlize", "fold-in-set")},
              "int-power": MEMORY["int-power"],
              "deep": DEPTH["nested-parentheses"]}
    for name, template in chosen.items():
        write_json(root / name / "config.json", {"eos_token_id": 2, "vocab_size": 8})
        write_json(root / name / "tokenizer_config.json", {"eos_token": "</s>", "chat_template": template,
                                                           "added_tokens_decoder": {"2": {"content": "</s>"}}})
    for name in ("honest-1", "honest-2"):
        shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", root / name,
                        ignore=shutil.ignore_patterns("expected.json", "README.md"))
    (root / ".eos-guard.yaml").write_text("template-timeout: 1\n")
    return root, chosen


def test_many_hostile_folders_in_one_run_each_get_eos014(hostile_folders):
    root, chosen = hostile_folders
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "eos_guard", "--format", "json", "--no-cache", "."], cwd=root,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - start
    report = json.loads(proc.stdout)
    codes: dict[str, set] = {}
    for finding in report["findings"]:
        codes.setdefault(finding["model"], set()).add(finding["code"])
    assert proc.returncode == 1, proc.stderr
    assert {name for name in chosen if "EOS014" in codes.get(name, set())} == set(chosen)
    for name in ("honest-1", "honest-2"):
        model = next(m for m in report["models"] if m["path"] == name)
        assert model["terminator"] == {"token": "<|im_end|>", "id": 151645, "template": "default"}
        assert "EOS014" not in codes.get(name, set())
    # each stops within its 1 s (+1 s grace, + a restart after a kill); a generous bound for a shared machine
    assert elapsed < 25 * len(chosen) ** 0.5 + 30, elapsed


def test_the_worker_starts_only_for_a_template_that_has_to_be_rendered(tmp_path):
    """A folder without a template starts no worker; a warm run (the probe cache holds the template's result)
    neither starts one nor imports jinja2; a cold run starts one."""
    shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "model",
                    ignore=shutil.ignore_patterns("expected.json", "README.md"))
    plain = tmp_path / "plain"
    write_json(plain / "config.json", {"eos_token_id": 2, "vocab_size": 8})
    code = ("import sys, eos_guard; from eos_guard import render_worker; eos_guard.check(sys.argv[1]); "
            "print(render_worker._WORKER is not None, 'jinja2' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")}

    def started(folder):
        proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                              timeout=120, env=env)
        return proc.stdout.split(), proc.stderr

    assert started(plain)[0] == ["False", "False"]
    # a widely used template: its shipped result (known_probes.py) answers even a cold run
    assert started(tmp_path / "model")[0] == ["False", "False"]
    config_path = tmp_path / "model" / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] += "{# a template no one ships #}"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    assert started(tmp_path / "model")[0] == ["True", "False"]  # cold: rendered in the worker only
    assert started(tmp_path / "model")[0] == ["False", "False"]  # warm: from the cache


def test_the_worker_starts_before_the_vocabulary_is_read_and_a_needless_one_is_ended(tmp_path):
    """A template that will be rendered starts the worker before the folder's vocabulary is read (it imports
    jinja2 meanwhile). When the guess was wrong (the probe cache holds the result, but not the note that the
    template was rendered), the run gives the same report and the worker is ended with it."""
    shutil.copytree(FIXTURES / "qwen25-base-chatml-sft-gen-endoftext", tmp_path / "model",
                    ignore=shutil.ignore_patterns("expected.json", "README.md"))
    config_path = tmp_path / "model" / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chat_template"] += "{# a template no one ships #}"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    code = ("import json, sys, eos_guard; from eos_guard import render_worker, vocabulary\n"
            "seen = []\n"
            "read = vocabulary.Vocabulary._read_declared\n"
            "def spy(self):\n"
            "    seen.append(render_worker.running())\n"
            "    return read(self)\n"
            "vocabulary.Vocabulary._read_declared = spy\n"
            "report = eos_guard.check(sys.argv[1])\n"
            "worker = render_worker._WORKER\n"
            "print(json.dumps([seen[0], worker.process.pid if worker else None, 'jinja2' in sys.modules,\n"
            "                  [m.model.terminator.token for m in report.models]]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EOS_GUARD_CACHE_DIR": str(tmp_path / "cache")}

    def run_once():
        proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model")], capture_output=True, text=True,
                              timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    cold = run_once()
    assert cold[0] is True and cold[1] is not None and cold[2] is False  # started before the vocabulary
    markers = list((tmp_path / "cache").rglob("rendered/*.json"))
    assert len(markers) == 1
    markers[0].unlink()
    needless = run_once()
    assert needless[0] is True and needless[3] == cold[3]
    with pytest.raises(ProcessLookupError):  # ended (and reaped) with the run
        os.kill(needless[1], 0)
    assert run_once()[:2] == [False, None]  # the note is back: a warm run starts nothing


@pytest.mark.parametrize("fields", [{"seconds": float("nan")}, {"seconds": float("inf")}, {"seconds": 0},
                                    {"seconds": -1}, {"max_output": 0}, {"memory_mb": 0}],
                         ids=["nan", "inf", "zero", "negative", "no-output", "no-memory"])
def test_a_limit_that_is_no_bound_is_refused(fields):
    with pytest.raises(ValueError):
        Limits(**fields)


def test_a_huge_error_message_is_shortened():
    probe = probe_template("{{ raise_exception('x' * 900000) }}", SPECIAL, ["</s>"], LIMITS)
    assert probe.errors and all(len(error) < 400 for error in probe.errors), [len(e) for e in probe.errors]


@pytest.mark.parametrize("settings, message", [
    ("template-timeout: .nan", "template-timeout must be a positive number of at most 3,600"),
    ("template-timeout: .inf", "template-timeout must be a positive number of at most 3,600"),
    ("template-timeout: 100000", "template-timeout must be a positive number of at most 3,600"),
    ("max-file-size: 1.0e+308", "max-file-size must be a positive number of at most 4,096"),
    ("true: 1", "unknown setting true"),  # as the file spells it (YAML reads the key as a boolean)
    ("a: 1\nb: \x7f", "2:4: cannot parse YAML: unacceptable character #x007f"),
], ids=["timeout-nan", "timeout-inf", "timeout-huge", "file-size-huge", "boolean-key", "control-character"])
def test_settings_that_bound_nothing_are_one_line_errors(run, tmp_path, settings, message):
    (tmp_path / ".eos-guard.yaml").write_text(settings + "\n")
    code, out, err = run(".")
    assert code == 2 and err.count("\n") == 1 and message in err, err


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_process_starts_its_own_worker():
    """A training script's data-loader workers are forked: they must not talk to their parent's worker."""
    code = ("import os, sys; from eos_guard.template import probe_template, Limits; "
            f"H = {HONEST!r}; print(probe_template(H, {{}}, ['</s>'], Limits(cache=False)).token); sys.stdout.flush()\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    print(probe_template(H + '{# c #}', {}, ['</s>'], Limits(cache=False)).token); sys.stdout.flush()\n"
            "    os._exit(0)\n"
            "os.waitpid(pid, 0); print(probe_template(H + '{# p #}', {}, ['</s>'], Limits(cache=False)).token)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.split() == ["</s>"] * 3, proc.stderr


def test_a_template_a_limit_stopped_is_not_rendered_again_in_the_run(tmp_path):
    """helper-135: ten folders of one template that runs to its time limit took ten times the limit, each run again
    (a stopped probe is not cached: seconds depend on the load). Within a run the same template, tokens and limits
    give the probe already made; the next run (check_paths, and --hub-list's fetch_and_check, forget them) renders
    it again."""
    from eos_guard import pipeline
    from eos_guard.config import Config

    loop = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{# once a run #}"
    limits = Limits(seconds=0.3, cache=False)
    first = probe_template(loop, SPECIAL, ["</s>"], limits)
    assert first.limit_exceeded
    assert probe_template(loop, SPECIAL, ["</s>"], limits) is first
    assert probe_template(loop, {**SPECIAL, "eos_token": "<|im_end|>"}, ["</s>"], limits) is not first
    assert probe_template(loop, SPECIAL, ["</s>"], Limits(seconds=0.4, cache=False)) is not first
    pipeline.check_folders([], Config())  # one --hub-list repository's check: the same run
    assert probe_template(loop, SPECIAL, ["</s>"], limits) is first
    pipeline.check_paths([str(tmp_path)], Config(), allow_empty=True)  # a new run
    again = probe_template(loop, SPECIAL, ["</s>"], limits)
    assert again is not first and again.limit_exceeded


@pytest.mark.parametrize("where", ["additional_chat_templates", "chat_template list"])
def test_a_folder_renders_at_most_sixteen_templates(tmp_path, where):
    """Each template costs up to its probes' time limits: a folder of a thousand templates would take hours."""
    from eos_guard.pipeline import check_folder

    folder = tmp_path / "m"
    shutil.copytree(FIXTURES / "qwen2-instruct-aligned", folder)
    loop = "{% for i in range(10**9) %}{{ i }}{% endfor %}"  # each one runs until the time limit
    if where == "additional_chat_templates":
        (folder / "additional_chat_templates").mkdir()
        for index in range(40):
            (folder / "additional_chat_templates" / f"t{index:02}.jinja").write_text(loop)
    else:
        config = json.loads((folder / "tokenizer_config.json").read_text())
        config["chat_template"] = [{"name": f"t{index:02}", "template": loop} for index in range(40)]
        write_json(folder / "tokenizer_config.json", config)
    from eos_guard.config import Config

    config = Config()
    config.limits = Limits(seconds=0.2, cache=False)
    report = check_folder(folder, config)
    assert len(report.model.terminators) == 16
    not_read = [f for f in report.findings if f.code == "EOS018"]
    assert not_read and all("at most 16 chat templates" in f.message for f in not_read)
