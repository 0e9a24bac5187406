"""eos-guard's reading of a GGUF file (eos_guard/gguf_check.py) and its llama.cpp end-of-generation set
(runtimes/llama_cpp.py ``gguf_end_of_generation``, by the rule of the release line of the libllama installed) against
the real libllama loading the same file, vocabulary only (tests/libllama_probe.py, through the C API of the
``xllamacpp`` wheel): generated vocabularies holding any of the texts eos-guard's rules look up (llama.cpp's
end-of-generation texts, the fill-in-the-middle ones, gpt-oss's and PLaMo's, which drop ``<|end|>`` and ``</s>``),
in any order and of any token type, with the eos, eot, eom and fill-in-the-middle ids written or not, inside the
token list or past it, under each tokenizer model llama.cpp builds from a token list alone. Either both refuse the
file (eos-guard with one line naming it, exit 2), or both give the same end-of-generation ids; and the files
llama.cpp refuses or aborts on that docs/gguf.md names.

Two fill-in-the-middle texts of one kind are not generated: llama.cpp takes the first it meets in a hash map,
eos-guard the first of its list (runtimes/llama_cpp.py says so)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import require

require("xllamacpp", needing="the llama.cpp differential test needs")
gguf = pytest.importorskip("gguf")

from eos_guard.errors import InputError  # noqa: E402
from eos_guard.gguf_check import load  # noqa: E402
from eos_guard.known_tokens import (LLAMA_CPP_EOG_TEXTS, LLAMA_CPP_FIM_PAD_TEXTS, LLAMA_CPP_FIM_REP_TEXTS,  # noqa: E402
                                    LLAMA_CPP_FIM_SEP_TEXTS, PLAMO_EOS)
from eos_guard.runtimes import llama_cpp  # noqa: E402

PROBE = Path(__file__).with_name("libllama_probe.py")
PREFIX = "libllama_probe: "  # before each answer of the probe (tests/libllama_probe.py)
NORMAL, CONTROL, USER_DEFINED = 1, 3, 4
# what the drop rules and the defaults look at, beside the texts that stop
OTHER_TEXTS = ("</s>", "<|tool_response>", "<|return|>", "<|call|>", "<|calls|>", "<|flush|>", PLAMO_EOS, "<s>",
               "<unk>", "<|im_start|>", "<|assistant_end|>")
TEXTS = tuple(dict.fromkeys(LLAMA_CPP_EOG_TEXTS + OTHER_TEXTS))
FIM_KINDS = (("fim_pad", LLAMA_CPP_FIM_PAD_TEXTS), ("fim_rep", LLAMA_CPP_FIM_REP_TEXTS),
             ("fim_sep", LLAMA_CPP_FIM_SEP_TEXTS))
WRITTEN_KINDS = ("eos", "eot", "eom", "fim_pad", "fim_rep", "fim_sep")
TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}"
FILLER = [chr(ord("a") + i) for i in range(12)]  # 11 is llama.cpp's default eos of a gpt2 vocabulary


def libllama_build() -> int:
    from importlib.metadata import version

    return int(version("xllamacpp").rsplit(".", 1)[1])  # 2026.10.11549: build b11549


class Libllama:
    """tests/libllama_probe.py in a process of its own, started again after a file that aborts it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def probe(self, path: Path) -> dict:
        if self.process is None or self.process.poll() is not None:
            # GGML_NO_BACKTRACE: an abort does not run gdb to print a backtrace
            self.process = subprocess.Popen([sys.executable, str(PROBE)], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                            errors="replace",  # libllama may log a file's non-UTF-8 bytes there
                                            env={**os.environ, "GGML_NO_BACKTRACE": "1"})
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith(PREFIX):
                return json.loads(line[len(PREFIX):])
        self.process.wait()  # aborted (GGML_ASSERT)
        return {"loaded": False, "aborted": True}

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def libllama():
    probe = Libllama()
    yield probe
    probe.close()


def write(path: Path, tokens: list[str] | None, types: list[int] | None = None, model: str | None = "gpt2",
          written: dict[str, int] | None = None, first: dict[str, object] | None = None,
          template: str | None = None) -> Path:
    """A vocabulary-only GGUF; ``first``: keys written before all others (an int as a uint32, a bool, a float as a
    float32, a list as an array, a text as a string)."""
    writer = gguf.GGUFWriter(path, arch="llama")
    for key, value in (first or {}).items():
        add = {bool: writer.add_bool, int: writer.add_uint32, float: writer.add_float32, list: writer.add_array,
               str: writer.add_string}[type(value)]
        add(key, value)
    if template is not None:
        writer.add_chat_template(template)
    if model is not None:
        writer.add_tokenizer_model(model)
    if tokens is not None:
        writer.add_token_list(tokens)
        if model == "llama":
            writer.add_token_scores([0.0] * len(tokens))
        if model == "gpt2":
            writer.add_token_merges(["a b"])
    if types is not None:
        writer.add_token_types(types)
    for kind, token_id in (written or {}).items():
        writer.add_uint32(f"tokenizer.ggml.{kind}_token_id", token_id)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def eos_guard_eog(path: Path) -> list[int] | None:
    """eos-guard's end-of-generation ids for the file, by the rule of the installed libllama's release line; None
    when it refuses the file."""
    try:
        model = load(path)
    except InputError:
        return None
    model.eog_release = llama_cpp.gguf_release({"llama.cpp": f"b{libllama_build()}"})
    return sorted(llama_cpp.gguf_end_of_generation(model))


@st.composite
def vocabulary(draw) -> tuple[list[str], list[int], str, dict[str, int]]:
    texts = draw(st.lists(st.sampled_from(TEXTS), unique=True, max_size=12))
    for _, kind_texts in FIM_KINDS:  # at most one text of each kind (the module's docstring says why)
        if draw(st.booleans()):
            texts.append(draw(st.sampled_from(kind_texts)))
    tokens = draw(st.permutations(FILLER + texts))
    types = [draw(st.sampled_from([NORMAL, CONTROL, USER_DEFINED])) for _ in tokens]
    written = {}
    for kind in WRITTEN_KINDS:
        choice = draw(st.integers(0, 5))
        if choice in (1, 2, 3):  # an id inside the token list
            written[kind] = draw(st.integers(0, len(tokens) - 1))
        elif choice == 4:  # past it
            written[kind] = len(tokens) + draw(st.integers(0, 3))
    return tokens, types, draw(st.sampled_from(["gpt2", "llama"])), written


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vocabulary())
def test_the_end_of_generation_ids_are_libllama_s(libllama, tmp_path, case):
    tokens, types, model, written = case
    path = write(tmp_path / "model.gguf", tokens, types, model, written)
    real = libllama.probe(path)
    ours = eos_guard_eog(path)
    if not real["loaded"]:
        assert ours is None, (real, ours, case)
    else:
        assert ours == real["eog"], (case, [(i, tokens[i]) for i in set(ours or []) ^ set(real["eog"])])


@pytest.mark.parametrize("model", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("pre", [None, "glm4", "glm5", "chatglm-bpe"])
@pytest.mark.parametrize("bos", [None, 3, 1000])
def test_the_bos_id_a_template_renders_is_libllama_s(libllama, tmp_path, model, pre, bos):
    """helper-211: a template that renders bos_token in a file without tokenizer.ggml.bos_token_id was EOS028
    ('bos_token' is undefined), where llama.cpp renders the text of its default bos id (11 in a gpt2 vocabulary, 1
    in a llama one; none after the GLM pre-tokenizers) and checks the answer's end. eos-guard's bos is libllama's:
    written, else the default, inside the token list."""
    tokens = FILLER + ["</s>", "<|im_end|>"] + [f"[unused{i}]" for i in range(100)]  # bert's default bos is 101
    first = {"tokenizer.ggml.pre": pre} if pre is not None and model == "gpt2" else {}
    path = write(tmp_path / "model.gguf", tokens, model=model, written={"bos": bos} if bos is not None else {},
                 first=first)
    real = libllama.probe(path)
    assert real["loaded"], real
    assert load(path).bos == (real["bos"] if real["bos"] >= 0 else None), (real, model, pre, bos)


def refused_cases(tmp: Path) -> dict[str, Path]:
    """The files docs/gguf.md says llama.cpp cannot load, and eos-guard refuses (exit 2)."""
    tokens = FILLER + ["</s>", "<|im_end|>"]
    return {
        "no tokenizer.ggml.model": write(tmp / "no-model.gguf", tokens, model=None),
        "an unknown tokenizer.ggml.model": write(tmp / "unknown-model.gguf", tokens, model="sentencepiece"),
        "a text written twice": write(tmp / "twice.gguf", tokens + ["</s>"]),
        "a text written twice up to its NUL": write(tmp / "nul.gguf", tokens + ["</s>\0junk"]),
        "fewer token types than tokens": write(tmp / "types.gguf", tokens, [NORMAL] * (len(tokens) - 1)),
        "an array of arrays in any key": write(tmp / "nested.gguf", tokens, first={"general.junk": [[1, 2], [3]]}),
        "an empty text and the text llama.cpp reads it as": write(tmp / "empty-named.gguf",
                                                                  tokens + ["", f"[EMPTY_{len(tokens)}]"]),
    }


def loaded_cases(tmp: Path) -> dict[str, Path]:
    """Files that look wrong and that llama.cpp loads: eos-guard checks them."""
    tokens = FILLER + ["</s>", "<|im_end|>"]
    return {
        "two empty texts (read as [EMPTY_<id>])": write(tmp / "empty.gguf", tokens + ["", ""]),
        "an empty text beside another's [EMPTY_<id>]": write(tmp / "empty-other.gguf", tokens + ["", "[EMPTY_0]"]),
        "a no_vocab tokenizer with tokens": write(tmp / "no-vocab.gguf", tokens, model="no_vocab"),
        "a none tokenizer with tokens": write(tmp / "none.gguf", tokens, model="none"),
        "an eos id past the token list": write(tmp / "far-eos.gguf", tokens, written={"eos": 1000}),
        "an eos key shadowed by one up to its NUL": write(tmp / "nul-key.gguf", tokens, written={"eos": 13},
                                                          first={"tokenizer.ggml.eos_token_id\0": 2}),
        "a template cut by a NUL": write(tmp / "nul-template.gguf", tokens, template="{{ 'a' }}\0{{ 'b' }}"),
        "a template after an array of its name up to a NUL": write(
            tmp / "array-template.gguf", tokens, template=TEMPLATE, first={"tokenizer.chat_template\0": ["x"]}),
        "a template written as a number first": write(
            tmp / "uint-template.gguf", tokens, template=TEMPLATE, first={"tokenizer.chat_template\0": 5}),
        "a template that is a bool": write(tmp / "bool-template.gguf", tokens, first={"tokenizer.chat_template": True}),
        "a template that is a float": write(tmp / "float-template.gguf", tokens,
                                            first={"tokenizer.chat_template": 1.5}),
        "a template that is an array only": write(tmp / "array-only-template.gguf", tokens,
                                                  first={"tokenizer.chat_template": ["x"]}),
        "a tool_use template written as an array, then as text": write(
            tmp / "tool-use.gguf", tokens, template=TEMPLATE,
            first={"tokenizer.chat_template.tool_use\0": ["x"], "tokenizer.chat_template.tool_use": TEMPLATE}),
        "a tool_use template that is an array only": write(
            tmp / "tool-use-array.gguf", tokens, template=TEMPLATE, first={"tokenizer.chat_template.tool_use": ["x"]}),
        # helper-198: the specification's 65,535-byte limit, which eos-guard enforced and ggml does not
        "a key longer than 65,535 bytes": write(tmp / "long-key.gguf", tokens, first={"k" * 70_000: 1}),
    }


def test_the_files_eos_guard_refuses_are_the_files_libllama_cannot_load(libllama, tmp_path):
    for name, path in refused_cases(tmp_path).items():
        assert not libllama.probe(path)["loaded"], name
        assert eos_guard_eog(path) is None, name


def test_the_files_eos_guard_checks_are_the_files_libllama_loads(libllama, tmp_path):
    """The end-of-generation ids, and the default and tool_use chat templates llama.cpp reads (helper-158, -160: from
    a map of the keys that are no arrays, a number or bool written as its text; an array written first under the
    template's name up to a NUL is skipped there, not by ggml's key lookup)."""
    for name, path in loaded_cases(tmp_path).items():
        real = libllama.probe(path)
        assert real["loaded"], name
        assert eos_guard_eog(path) == real["eog"], name
        templates = {t.name: t.text for t in load(path).templates}
        assert templates.get("default") == real["template"], name
        assert templates.get("tool_use") == real["tool_use"], name


def test_the_refusals_eos_guard_does_not_model_get_a_verdict(libllama, tmp_path):
    """docs/gguf.md: llama.cpp refuses more files than eos-guard models (helper-198): an unknown
    tokenizer.ggml.pre (a file converted for a newer llama.cpp), a gpt2 vocabulary without merges, an unknown
    general.architecture. eos-guard gives such a file a verdict on its stop ids, which libllama never reaches."""
    tokens = FILLER + ["</s>", "<|im_end|>"]

    def written(name: str, arch: str = "llama", pre: str | None = None, merges: bool = True) -> Path:
        writer = gguf.GGUFWriter(tmp_path / name, arch=arch)
        writer.add_tokenizer_model("gpt2")
        if pre is not None:
            writer.add_tokenizer_pre(pre)
        writer.add_token_list(tokens)
        if merges:
            writer.add_token_merges(["a b"])
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return tmp_path / name

    for path in (written("pre.gguf", pre="a-pre-tokenizer-of-a-newer-release"), written("merges.gguf", merges=False),
                 written("arch.gguf", arch="an-architecture-of-a-newer-release")):
        assert not libllama.probe(path)["loaded"], path.name
        assert eos_guard_eog(path) is not None, path.name
