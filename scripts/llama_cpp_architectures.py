"""Writes eos_guard/data/llama_cpp_architectures.json: the architectures llama.cpp's converter makes a text GGUF of.

usage: python scripts/llama_cpp_architectures.py CONVERTER BUILD COMMIT

CONVERTER is llama.cpp's ``conversion/__init__.py`` (the converter's layout since it was split into a package),
or, for older builds, the single ``convert_hf_to_gguf.py``; BUILD and COMMIT name the llama.cpp release it is
from (COMMIT: its hash, or where it comes from when no hash is known). The newest converter on the package
registries (2026-12-04) is the one xllamacpp 2026.10.11549 vendors (b11549; its sdist names no commit, and
llama-cpp-python 0.3.36 vendors the older b11413, 0c1e57098). Download the sdist itself (``pip download
--no-binary`` would also build it), e.g. from https://pypi.org/simple/xllamacpp/, then:

    tar xzf xllamacpp-2026.10.11549.tar.gz
    python scripts/llama_cpp_architectures.py \\
        xllamacpp-2026.10.11549/thirdparty/llama.cpp/conversion/__init__.py b11549 \\
        "as xllamacpp 2026.10.11549 vendors it (its sdist names no commit)"

``convert_hf_to_gguf.py`` picks its class by the architecture name (``get_model_architecture``) in
``TEXT_MODEL_MAP`` (``get_model_class``; the single-file converter: the names each text class gives
``@ModelBase.register``); any other name raises ``NotImplementedError: Architecture '...' not supported!``. A name
the map lists that no text class of the package registers (b11413: GraniteSpeech, whose module registers only its
audio projector) ends in a ``KeyError``: it is left out too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import data_table



def text_architectures(source: str, modules: dict[str, str] | None = None) -> set[str]:
    """The architecture names a text GGUF is converted from: the keys of ``TEXT_MODEL_MAP`` when the source has
    one (with the package's ``modules``, by name: only those a text class registers, as ``get_model_class`` looks
    the class up among them), else the names given ``@ModelBase.register`` by classes that are not (or do not
    derive from) ``MmprojModel``."""
    tree = ast.parse(source)
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else \
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and target.id == "TEXT_MODEL_MAP" and isinstance(node.value, ast.Dict):
            names = {key.value for key in node.value.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)}
            if modules is None:
                return names
            return names & registered_text_names([ast.parse(text) for text in modules.values()])
    names = registered_text_names([tree])
    if not names:
        raise SystemExit("no TEXT_MODEL_MAP and no @ModelBase.register: read the release's converter again")
    return names


def registered_text_names(trees: list[ast.Module]) -> set[str]:
    """The names given ``@ModelBase.register`` by the text classes of these modules (a class whose bases lead to
    ``MmprojModel`` registers a projector; class names are looked up across all the modules)."""
    classes = {node.name: node for tree in trees for node in tree.body if isinstance(node, ast.ClassDef)}

    def mmproj(name: str, seen: frozenset[str] = frozenset()) -> bool:
        node = classes.get(name)
        if name == "MmprojModel" or node is None or name in seen:
            return name == "MmprojModel"
        return any(mmproj(base.id if isinstance(base, ast.Name) else base.attr, seen | {name})
                   for base in node.bases if isinstance(base, (ast.Name, ast.Attribute)))

    names: set[str] = set()
    for node in classes.values():
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) \
                    and decorator.func.attr == "register" and not mmproj(node.name):
                names.update(arg.value for arg in decorator.args
                             if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def main(argv: list[str]) -> int:
    converter, build, commit = data_table.arguments(argv, 3, __doc__)
    path = Path(converter)
    modules = {p.stem: p.read_text(encoding="utf-8") for p in sorted(path.parent.glob("*.py")) if p != path} \
        if path.name == "__init__.py" else None
    names = text_architectures(path.read_text(encoding="utf-8"), modules)
    data = {"about": "The config.json architectures llama.cpp's convert_hf_to_gguf.py makes a text GGUF of "
                     "(TEXT_MODEL_MAP); any other raises NotImplementedError. Written by "
                     "scripts/llama_cpp_architectures.py.",
            "build": build, "commit": commit, "architectures": sorted(names)}
    return data_table.write("llama_cpp_architectures.json", data, "architectures", "architectures")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
