from __future__ import annotations

from ..errors import display_path
from ..findings import Finding, Severity, command_path, shell_word
from ..resolve import ResolvedModel
from ..runtimes import stops
from ..runtimes.llama_cpp import gguf_end_of_generation
from ..runtimes.llama_cpp_converter import converted
from .base import Options
from .gguf_base import GgufRule, repair, rewrite

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..gguf_check import GgufModel


class GgufFolderMismatch(GgufRule):
    """The GGUF disagrees with the model folder checked with it.

    ## What it detects
    `eos-guard model.gguf path/to/folder` compares the GGUF with each model folder of the run it may have been
    converted from (every special added token of the folder has its id in the GGUF's token list): the eos and
    eot ids that convert_hf_to_gguf.py would write from the folder today, the folder's default chat template
    (as transformers picks it), and whether a chat answer stops in llama.cpp with each. One finding per
    difference, with the arguments that make the GGUF match the folder.

    ## Why it matters
    A GGUF converted before the folder was fixed keeps the old eos and template: llama.cpp, Ollama and LM Studio
    users get the bug that transformers users no longer see. The other way round, a GGUF repaired by hand stops
    correctly while converting the folder again would bring the bug back.

    ## Remediation
    Apply the `--override-kv` or `gguf-new-metadata` arguments in the message, or convert the folder again.
    When the GGUF stops and the folder would not, fix the folder (its own findings say how) before converting.
    """

    code = "EOS022"
    name = "gguf-folder-mismatch"
    severity = Severity.WARNING
    summary = "the GGUF disagrees with the model folder checked with it"

    def check_gguf(self, gguf: GgufModel, options: Options) -> Iterator[Finding]:
        for model in gguf.folders:
            shown = display_path(model.folder)
            folder = "the current folder" if shown == "." else shown
            for message in (*self._ids(gguf, model, folder), *self._template(gguf, model, folder),
                            *self._stopping(gguf, model, folder)):
                yield self.gguf_finding(gguf, message)

    def _ids(self, gguf: GgufModel, model: ResolvedModel, folder: str) -> Iterator[str]:
        (refused, _), (ids, _) = converted(model)
        if refused:  # the converter cannot convert the folder (explain says why): no ids to compare (helper-211)
            return
        for kind in ("eos", "eot"):
            wanted, have = ids.get(kind), gguf.written.get(kind)
            if wanted is None or wanted == have:
                continue
            key = f"tokenizer.ggml.{kind}_token_id"
            said = f"{key} is {gguf.show(have)}" if have is not None else f"the GGUF has no {key}"
            message = f"{said}, but converting {folder} today writes {gguf.show(wanted)}"
            if not gguf.in_range(wanted):  # gguf.show already says "(outside the token list)"
                yield f"{message}: convert the folder again"
            elif gguf.stops() and gguf.stops(gguf_end_of_generation(gguf, {kind: wanted})) is False:
                yield f"{message}; keep the GGUF's: with the folder's, chat answers would not stop in llama.cpp"
            else:
                yield f"{message}; {repair(gguf, kind, wanted)}"

    def _template(self, gguf: GgufModel, model: ResolvedModel, folder: str) -> Iterator[str]:
        source = model.files.templates.get("default")
        mine = next((t for t in gguf.templates if t.name == "default" and not t.builtin), None)  # the file's own
        if source is None or (mine is not None and mine.text == source.text):
            return
        path = shell_word(command_path(source.path))
        if mine is None and gguf.replaced_default is not None:  # helper-199: it said the GGUF had none
            said = (f"the GGUF's tokenizer.chat_template is {gguf.replaced_default!r}, which llama.cpp's chat replaces "
                    "with its tool_use template, else its built-in ChatML one")
        elif mine is None:
            said = "the GGUF has no tokenizer.chat_template"
        else:
            said = f"tokenizer.chat_template differs from {folder}'s chat template ({display_path(source.path)})"
        theirs = model.terminator
        if mine is not None and theirs is not None and mine.token != theirs.token:
            # a template that writes no known end after answers (a number stored as the template: '5') ends none
            ends = f"ends assistant turns with '{mine.token}'" if mine.token is not None else \
                "ends assistant turns with no token"
            said += f": the GGUF's {ends}, the folder's with '{theirs.token}'"
        if source.document is None:  # a .jinja file, which llama.cpp can also read per run
            fix = f"run llama.cpp with --jinja --chat-template-file {path}, or " + \
                rewrite(gguf, f"--chat-template-file {path}")
        else:
            fix = rewrite(gguf, f"--chat-template-config {path}")
        yield f"{said}; {fix}"

    def _stopping(self, gguf: GgufModel, model: ResolvedModel, folder: str) -> Iterator[str]:
        llama_cpp = model.runtime_stops.get("llama.cpp")
        theirs = stops(model, llama_cpp) if llama_cpp is not None else None
        mine = gguf.stops()
        if theirs is None or mine is None or theirs == mine:
            return
        if theirs:
            yield f"chat answers stop in llama.cpp with {folder} converted today, but not with this GGUF"
        else:
            yield (f"chat answers stop in llama.cpp with this GGUF, but would not with {folder} converted today: "
                   "fix the folder before converting it again")
