"""Writes eos_guard/data/mlx_lm_model_types.json: the config.json ``model_type`` values mlx-lm can load.

usage: python scripts/mlx_lm_model_types.py MLX_LM_WHEEL VERSION

MLX_LM_WHEEL is the mlx-lm wheel of release VERSION, read as a zip (nothing is installed or imported; mlx needs
Apple silicon):

    pip download --no-deps mlx-lm==0.32.2
    python scripts/mlx_lm_model_types.py mlx_lm-0.32.2-py3-none-any.whl 0.32.2

``mlx_lm/utils.py`` ``_get_classes`` maps ``model_type`` through ``MODEL_ARCHITECTURE_REMAPPING`` (with an
``architectures`` entry) or ``MODEL_REMAPPING`` and imports ``mlx_lm.models.<model_type>``; a module that is not
there raises ``ValueError: Model type ... not supported.``. The modules kept are those defining (or importing)
both ``Model`` and ``ModelArgs``; the others (``base``, ``cache``, ``rope_utils``...) are helpers.
"""

from __future__ import annotations

import ast
import sys
import zipfile

import data_table

MODELS = "mlx_lm/models/"


def model_modules(files: dict[str, str]) -> list[str]:
    """The module names under mlx_lm/models/ that define or import both ``Model`` and ``ModelArgs``."""
    found = []
    for path, source in files.items():
        name = path[len(MODELS):-3] if path.startswith(MODELS) and path.endswith(".py") else ""
        if not name or "/" in name:
            continue
        names: set[str] = set()
        for node in ast.parse(source).body:
            if isinstance(node, ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.ImportFrom):
                names.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Assign):
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        if {"Model", "ModelArgs"} <= names:
            found.append(name)
    return sorted(found)


def remappings(utils: str) -> tuple[dict[str, str], list[list[str]]]:
    """``MODEL_REMAPPING`` and ``MODEL_ARCHITECTURE_REMAPPING`` (as [model_type, architecture, module] rows)."""
    tables: dict[str, object] = {}
    for node in ast.parse(utils).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("MODEL_REMAPPING", "MODEL_ARCHITECTURE_REMAPPING"):
            tables[node.targets[0].id] = ast.literal_eval(node.value)
    if "MODEL_REMAPPING" not in tables:
        raise SystemExit("mlx_lm/utils.py has no MODEL_REMAPPING: read the release's _get_classes again")
    by_architecture = tables.get("MODEL_ARCHITECTURE_REMAPPING", {})
    assert isinstance(by_architecture, dict)
    rows = sorted([model_type, architecture, module] for (model_type, architecture), module in by_architecture.items())
    remapping = tables["MODEL_REMAPPING"]
    assert isinstance(remapping, dict)
    return dict(sorted(remapping.items())), rows


def main(argv: list[str]) -> int:
    wheel, version = data_table.arguments(argv, 2, __doc__)
    with zipfile.ZipFile(wheel) as archive:
        files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()
                 if name.startswith(MODELS) and name.endswith(".py")}
        utils = archive.read("mlx_lm/utils.py").decode("utf-8")
    remapping, by_architecture = remappings(utils)
    data = {"about": "The model modules mlx-lm's _get_classes imports by config.json model_type, and the tables it "
                     "maps model types through first. Written by scripts/mlx_lm_model_types.py.",
            "mlx_lm": version, "modules": model_modules(files), "remapping": remapping,
            "architecture_remapping": by_architecture}
    return data_table.write("mlx_lm_model_types.json", data, "modules", "modules")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
