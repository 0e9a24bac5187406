"""What the GGUF rules share: they check a GGUF file's metadata (gguf_check.GgufModel), not a model folder."""

from __future__ import annotations

from ..findings import Finding, Location, Severity, command_path, shell_word
from ..resolve import ResolvedModel
from .base import Options, Rule

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Iterator

    from ..gguf_check import GgufModel


class GgufRule(Rule):
    """A rule the pipeline runs on each GGUF file (implement :meth:`check_gguf`); on a model folder it finds
    nothing."""

    def run(self, subject: object, options: Options) -> Iterator[Finding]:
        return self.check_gguf(subject, options)  # type: ignore[arg-type]

    def check(self, model: ResolvedModel, options: Options) -> Iterator[Finding]:
        return iter(())

    def check_gguf(self, gguf: GgufModel, options: Options) -> Iterator[Finding]:
        raise NotImplementedError

    def gguf_finding(self, gguf: GgufModel, message: str, severity: Severity | None = None) -> Finding:
        """A finding at the start of the file: GGUF metadata has no lines, so messages name the key."""
        return Finding(self.code, self.name, severity or self.severity, message, Location.of(gguf.path), gguf.path)


def repair(gguf: GgufModel, kind: str, token_id: int) -> str:
    """The two ways to make llama.cpp take ``token_id`` as its ``kind`` (eos, eot) token: per run, or in a copy."""
    return f"run llama.cpp with --override-kv tokenizer.ggml.{kind}_token_id=int:{token_id}, or " \
        f"{rewrite(gguf, special_token(gguf, kind, token_id))}"


def special_token(gguf: GgufModel, kind: str, token_id: int) -> str:
    """gguf_new_metadata.py's arguments that write ``token_id`` as the ``kind`` token: it looks a token up by its
    text (first match) or by id."""
    text = gguf.tokens[token_id]
    return f"--special-token {kind} {shell_word(text)}" if gguf.id_of(text) == token_id \
        else f"--special-token-by-id {kind} {token_id}"


def rewrite(gguf: GgufModel, arguments: str) -> str:
    """The command that writes a fixed copy next to the GGUF: gguf-py's gguf_new_metadata.py, installed as
    ``gguf-new-metadata`` by ``pip install gguf``."""
    source = command_path(gguf.path)
    copy = source.removesuffix(".gguf") + ".fixed.gguf"
    return f"rewrite the GGUF: gguf-new-metadata {shell_word(source)} {shell_word(copy)} {arguments}"

