"""Renders untrusted templates in a child process that the operating system limits and the parent can kill.

The sandbox's hooks (template.py) are the first line: they stop most hostile templates in milliseconds with a
precise message. They cannot stop what runs without reaching a hook (a C-level operation, a loop on a thread
where no timer can interrupt it), so the probe runs in a worker process with

- an address-space limit (``RLIMIT_AS``, ``Limits.memory_mb``): an allocation past it fails with MemoryError,
- a CPU-time limit (``RLIMIT_CPU``, the probe's seconds plus one, rounded up): past it the kernel ends the worker,
- a wall-clock limit kept by the parent: no answer within the probe's seconds plus ``GRACE`` and the parent
  kills the worker.

A worker that died or was killed gives the template an EOS014 finding and is started again for the next
template. One worker serves every template of a run (it starts on the first template that has to be rendered,
with ``python -I -S`` and nothing imported but this module, template.py and jinja2), so many folders pay the
start-up once. ``start()`` starts it early without waiting (a folder whose template will be rendered starts it
before its vocabulary is read), and its "ready" message is read before the first request. Messages are
length-prefixed JSON over the worker's stdin and stdout. A request is a :func:`session`: the worker may ask the
parent questions (one probe conversation rendered: render the next?) before its final answer, all within one
deadline. This module knows processes and limits, not templates: template.py runs the probes in the worker
(``serve_probes``).

Where the limits do not exist (no ``resource`` module or no ``fork``: Windows), templates are rendered in the
calling process, under the hooks alone (docs/security.md says so).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import struct
import sys
import threading

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Callable, Iterator

GRACE = 1.0                # seconds the parent waits past a probe's limit before it kills the worker
START_TIMEOUT = 60.0       # seconds a new worker may take to import jinja2 (a loaded machine is slow)
_HEADER = struct.Struct(">I")


def supported() -> bool:
    """Whether this platform has the limits a worker needs (address space, CPU time) and can start one."""
    if os.name != "posix" or not sys.executable:
        return False
    try:
        import resource
    except ImportError:
        return False
    return hasattr(resource, "RLIMIT_AS") and hasattr(resource, "RLIMIT_CPU")


def write_message(stream: BinaryIO, value: Any) -> None:
    # ensure_ascii keeps lone surrogates (valid in JSON strings, not in UTF-8) encodable
    body = json.dumps(value, ensure_ascii=True).encode("ascii")
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_message(stream: BinaryIO) -> Any:
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    body = _read_exactly(stream, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


class WorkerDied(Exception):
    """The worker ended or was killed before it answered; the message says why, for the EOS014 finding."""


def import_path() -> list[str]:
    """Where the worker imports jinja2 from: this process's import path without the working directory, which is
    often the checked repository (nothing is imported from it)."""
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:  # a working directory since removed: none to leave out
        return [p for p in sys.path if p]
    return [p for p in sys.path if p and os.path.realpath(p) != here]


class _Worker:
    def __init__(self) -> None:
        import subprocess

        package = os.path.dirname(os.path.abspath(__file__))
        path = import_path()
        # The package is registered without running its __init__ (which imports what the worker does not need).
        code = (f"import sys, types; sys.path[:] = {path!r}; package = types.ModuleType('eos_guard'); "
                f"package.__path__ = [{package!r}]; sys.modules['eos_guard'] = package; "
                "from eos_guard.template import serve_probes; serve_probes()")
        # -I ignores PYTHONDONTWRITEBYTECODE: -B carries it over (a read-only install, a file-size limit under which
        # Python writes a bytecode file cut short and later imports of that module fail)
        flags = ["-I", "-S", *(["-B"] if sys.dont_write_bytecode else [])]
        self.process = subprocess.Popen([sys.executable, *flags, "-c", code], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/")
        self.buffer = b""
        self.ended = False  # its stdout reached its end: the worker is exiting (it crashed, or was killed)
        self.owner = os.getpid()  # a forked copy of this process must not share the worker's pipes
        self.ready = False  # its "ready" message is read before the first request: it starts meanwhile

    def wait_ready(self) -> None:
        if self.ready:
            return
        ready = self._receive(START_TIMEOUT)
        if not isinstance(ready, dict) or not ready.get("ready"):
            self.close()
            detail = ready.get("error") if isinstance(ready, dict) else "no answer"
            raise RuntimeError(f"the template render process did not start: {detail}")
        self.ready = True

    def alive(self) -> bool:
        return self.process.poll() is None


    def _receive(self, timeout: float) -> Any:
        import select
        import time

        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()  # type: ignore[union-attr]
        while True:
            if len(self.buffer) >= _HEADER.size:
                size = _HEADER.unpack(self.buffer[:_HEADER.size])[0]
                if len(self.buffer) >= _HEADER.size + size:
                    body = self.buffer[_HEADER.size:_HEADER.size + size]
                    self.buffer = self.buffer[_HEADER.size + size:]
                    return json.loads(body)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.ended = True
                return None
            self.buffer += chunk

    def _death(self, seconds: float | None = None) -> str:
        """Ends the worker (if it still runs) and says what ended it."""
        import signal

        if self.ended:  # its pipe closed as it exited: wait for its status, which says why (a crash is no timeout)
            import subprocess

            try:
                self.process.wait(GRACE)
            except subprocess.TimeoutExpired:  # it closed its stdout and lives on: it is killed below
                pass
        timed_out = self.alive()
        self.close()
        if timed_out and seconds is not None:
            return f"rendering took longer than {seconds:g} s (the render process was killed)"
        code = self.process.returncode
        if code == -getattr(signal, "SIGXCPU", -1):
            return "rendering used more CPU time than its limit (the render process was stopped)"
        if code is not None and code < 0:
            return f"the render process ended with signal {signal.Signals(-code).name}"
        return f"the render process ended (exit status {code})"

    def forget(self) -> None:
        """Closes this process's ends of the pipes, leaving the worker to the process that started it."""
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass

    def close(self) -> None:
        self.forget()
        if self.alive():
            self.process.kill()
        self.process.wait()


_LOCK = threading.Lock()
_WORKER: _Worker | None = None


def _usable_worker() -> _Worker:
    """The run's worker, started if need be (called with _LOCK held)."""
    global _WORKER
    if _WORKER is not None and _WORKER.owner != os.getpid():
        _WORKER.forget()  # inherited through fork: the parent process still talks to it
        _WORKER = None
    if _WORKER is not None and not _WORKER.alive():
        _WORKER.close()
        _WORKER = None
    if _WORKER is None:
        _WORKER = _Worker()
    return _WORKER


def running() -> bool:
    """Whether this process has a worker (started, perhaps still starting)."""
    worker = _WORKER
    return worker is not None and worker.owner == os.getpid() and worker.alive()


def start() -> None:
    """Start the worker now, without waiting for it: it imports jinja2 while this process reads the rest of the
    folder (a large vocabulary), so the first render does not pay its start-up on a machine with two cores."""
    with _LOCK:
        _usable_worker()


class Session:
    """One request to the worker: its questions, the caller's replies and its final answer, within one deadline
    (the request's seconds plus ``GRACE``). A message with ``"ask": true`` is a question, any other the answer."""

    def __init__(self, worker: _Worker, seconds: float) -> None:
        import time

        self.worker, self.seconds = worker, seconds
        self.deadline = time.monotonic() + seconds + GRACE
        self.asking = False  # the worker waits for a reply
        self.answered = False
        self.died: str | None = None

    def send(self, message: dict[str, Any]) -> None:
        if self.died is not None:
            raise WorkerDied(self.died)
        try:
            write_message(self.worker.process.stdin, message)  # type: ignore[arg-type]
        except OSError:
            raise self._dead(self.worker._death()) from None
        self.asking = False

    def receive(self) -> dict[str, Any]:
        """The worker's next message. Raises WorkerDied (the worker is ended) when none comes in time."""
        import time

        if self.died is not None:
            raise WorkerDied(self.died)
        message = self.worker._receive(max(0.0, self.deadline - time.monotonic()))
        if not isinstance(message, dict):
            raise self._dead(self.worker._death(self.seconds))
        self.asking = bool(message.pop("ask", False))
        self.answered = not self.asking
        if message.pop("exit", False):  # the worker ran out of memory: it answered and ends
            self.worker.close()
        return message

    def _dead(self, why: str) -> WorkerDied:
        self.died, self.asking = why, False
        return WorkerDied(why)


@contextlib.contextmanager
def session(request: dict[str, Any], seconds: float) -> Iterator[Session]:
    """The request sent to the run's worker (started if need be), one request at a time (threads of the Python API
    take turns). A worker left waiting for a reply, or dead, is ended on leaving; the next request starts another."""
    global _WORKER
    with _LOCK:
        worker = _usable_worker()
        try:
            worker.wait_ready()
        except RuntimeError:
            _WORKER = None
            raise
        talk = Session(worker, seconds)
        try:
            talk.send(request)
        except WorkerDied:  # receive() says so
            pass
        try:
            yield talk
        finally:
            if not talk.answered and worker.alive():  # out of step with this process
                worker.close()
            if _WORKER is worker and not worker.alive():
                _WORKER = None


@atexit.register
def _shutdown() -> None:
    global _WORKER
    with _LOCK:
        if _WORKER is not None and _WORKER.owner == os.getpid():
            _WORKER.close()
        _WORKER = None


def serve(warm_up: Callable[[], None],
          answer: Callable[[dict[str, Any], Callable[[dict[str, Any]], Any]], dict[str, Any]]) -> None:
    """The worker's loop: limit this process for each request on stdin and write ``answer(request, ask)`` to
    stdout, until stdin closes; ``ask(message)`` sends the parent a question and returns its reply (None when the
    parent has gone). ``warm_up`` runs before the worker says it is ready (imports, the environment). An answer
    with ``"exit": true`` ends the worker after it is written."""
    import resource

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # the protocol owns stdout
    _limit(resource, resource.RLIMIT_CORE, 0)
    try:
        warm_up()
    except Exception as exc:
        write_message(answers, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    write_message(answers, {"ready": True})
    while True:
        request = read_message(requests)
        if request is None:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        _limit(resource, resource.RLIMIT_AS, int(request["memory_mb"]) << 20)
        _limit(resource, resource.RLIMIT_CPU, math.ceil(used.ru_utime + used.ru_stime + request["seconds"]) + 1)
        def ask(message: dict[str, Any]) -> Any:
            write_message(answers, {**message, "ask": True})
            return read_message(requests)

        reply = answer(request, ask)
        write_message(answers, reply)
        if reply.get("exit"):
            return


def _limit(resource: Any, which: int, soft: int) -> None:
    """Sets a soft limit (at most the hard one). Where the system refuses it (macOS does not enforce an
    address-space limit), the other limits and the parent's kill still hold."""
    _, hard = resource.getrlimit(which)
    try:
        resource.setrlimit(which, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    except (ValueError, OSError):
        pass
