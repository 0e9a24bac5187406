"""``records.record`` against the real ``dataclasses``: the same class declared both ways behaves the same.

Every class is built twice from one body, once with ``@dataclasses.dataclass(...)`` and once with
``@records.record(...)``, and each check runs the same operation on both and compares what comes out (value,
repr, hash, or the exception's type and message).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import sys
import types
import typing

import pytest

from eos_guard import records
from eos_guard.records import FrozenInstanceError

BODIES = {
    "plain": "a: int\nb: str\n",
    "defaults": "a: int\nb: str = 'x'\nc: 'tuple[int, ...]' = ()\n",
    "factory": "a: int\nitems: list = FIELD(default_factory=list)\nseen: dict = FIELD(default_factory=dict)\n",
    "hidden": "a: int\nsecret: str = FIELD(default='s', repr=False)\nnote: str = FIELD(default='', compare=False)\n",
    "classvar": "a: int\nLIMIT: ClassVar[int] = 3\nb: int = 0\n",
    "post_init": "a: int\nb: int = 0\ndef __post_init__(self):\n    if self.a < 0:\n        raise ValueError('a < 0')\n",
    "own_repr": "a: int\ndef __repr__(self):\n    return 'mine'\n",
    "empty": "",
}
OPTIONS = [{}, {"frozen": True}, {"frozen": True, "eq": False}, {"eq": False}]


def build(kind: str, body: str, options: dict, name: str = "C", bases: tuple = ()) -> type:
    """The class ``name`` with ``body``, decorated by dataclasses (kind "dc") or records (kind "rec")."""
    module = types.ModuleType(f"records_case_{kind}")
    module.ClassVar = typing.ClassVar  # dataclasses recognises it by the module's name for it
    sys.modules[module.__name__] = module  # dataclasses looks the class's module up while building it
    module.FIELD = dataclasses.field if kind == "dc" else records.field
    indented = "".join(f"    {line}\n" for line in body.splitlines()) or "    pass\n"
    source = (f"from __future__ import annotations\nclass {name}({', '.join(f'B{i}' for i in range(len(bases)))}):\n"
              f"{indented}")
    namespace = module.__dict__
    namespace.update({f"B{i}": base for i, base in enumerate(bases)})
    exec(compile(source, f"<{kind}>", "exec"), namespace)
    decorate = dataclasses.dataclass(**options) if kind == "dc" else records.record(**options)
    cls = decorate(namespace[name])
    namespace[name] = cls
    return cls


def outcome(action):
    """What ``action()`` gives: its value, or the exception's type (frozen errors as AttributeError) and text."""
    try:
        return ("value", action())
    except (dataclasses.FrozenInstanceError, FrozenInstanceError) as exc:
        return ("frozen", type(exc).__mro__[1].__name__)
    except TypeError as exc:  # the message's wording is CPython's; the names it quotes must be the same
        text = re.sub(r"\. Did you mean .*$", "", str(exc))  # Python 3.13 suggests a close name
        return ("TypeError", sorted(re.findall(r"'(\w+)'", text)))
    except Exception as exc:  # noqa: BLE001 - the comparison is the point
        return (type(exc).__name__, str(exc))


def pair(body_name: str, options: dict) -> tuple[type, type]:
    return build("dc", BODIES[body_name], options), build("rec", BODIES[body_name], options)


CALLS = [((), {}), ((1,), {}), ((1, "y"), {}), ((1,), {"b": "y"}), ((), {"a": 1}), ((1, "y", (2,)), {}),
         ((1,), {"a": 2}), ((1,), {"nope": 2}), ((1, 2, 3, 4, 5), {}), ((-1,), {}), ((1,), {"secret": "t"}),
         ((1,), {"items": [1]}), ((1,), {"note": "n"})]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("body_name", sorted(BODIES))
def test_a_record_behaves_as_the_same_dataclass(body_name, options):
    dc, rec = pair(body_name, options)
    assert [f.name for f in dataclasses.fields(dc)] == [f.name for f in records.fields(rec)]
    assert rec.__match_args__ == dc.__match_args__
    assert (rec.__hash__ is None) == (dc.__hash__ is None)
    for args, kwargs in CALLS:
        made_dc, made_rec = outcome(lambda: dc(*args, **kwargs)), outcome(lambda: rec(*args, **kwargs))
        if made_dc[0] != "value":
            assert made_rec == made_dc, (args, kwargs)
            continue
        assert made_rec[0] == "value", (args, kwargs, made_rec)
        one_dc, one_rec = made_dc[1], made_rec[1]
        assert repr(one_rec).replace("records_case_rec", "") == repr(one_dc).replace("records_case_dc", "")
        assert list(vars(one_rec)) == [f.name for f in dataclasses.fields(dc)]  # fields in order, in __dict__
        twin_dc, twin_rec = dc(*args, **kwargs), rec(*args, **kwargs)
        assert (one_rec == twin_rec) == (one_dc == twin_dc)
        assert (one_rec != twin_rec) == (one_dc != twin_dc)
        assert one_rec != 5 and one_dc != 5
        if options.get("eq", True) and options.get("frozen"):
            # the same value, so sets order them alike (or the same refusal, for a list field)
            assert outcome(lambda: hash(one_rec)) == outcome(lambda: hash(one_dc)) == outcome(lambda: hash(twin_rec))
        spare_dc, spare_rec = dc(*args, **kwargs), rec(*args, **kwargs)
        assert outcome(lambda: setattr(spare_rec, "a", 9)) == outcome(lambda: setattr(spare_dc, "a", 9))
        assert outcome(lambda: delattr(spare_rec, "a")) == outcome(lambda: delattr(spare_dc, "a"))
        assert records.asdict(one_rec) == dataclasses.asdict(one_dc)
        for change in ({"a": 7}, {"a": -1}, {"zz": 1}):  # post_init runs again; an unknown field is refused
            replaced_rec = outcome(lambda: vars(records.replace(one_rec, **change)))
            replaced_dc = outcome(lambda: vars(dataclasses.replace(one_dc, **change)))
            assert replaced_rec[0] == replaced_dc[0] and (replaced_rec[0] != "value" or replaced_rec == replaced_dc)
        assert vars(pickle.loads(pickle.dumps(one_rec))) == vars(one_rec)
        assert vars(copy.copy(one_rec)) == vars(one_rec)


def test_defaults_and_class_attributes_are_those_of_a_dataclass():
    dc, rec = pair("factory", {})
    assert not hasattr(dc, "items") and not hasattr(rec, "items")  # a factory field leaves no class attribute
    first, second = rec(1), rec(1)
    assert first.items == [] and first.items is not second.items  # a new list for each instance
    dc, rec = pair("defaults", {})
    assert rec.b == dc.b == "x"
    dc, rec = pair("classvar", {})
    assert rec.LIMIT == dc.LIMIT == 3 and "LIMIT" not in vars(rec(1))


def test_inheritance_adds_fields_after_the_base_ones():
    base_dc, base_rec = pair("plain", {"frozen": True})
    dc = build("dc", "c: int = 0\n", {"frozen": True}, name="D", bases=(base_dc,))
    rec = build("rec", "c: int = 0\n", {"frozen": True}, name="D", bases=(base_rec,))
    assert [f.name for f in records.fields(rec)] == [f.name for f in dataclasses.fields(dc)] == ["a", "b", "c"]
    assert repr(rec(1, "x", 2)).split(".")[-1] == repr(dc(1, "x", 2)).split(".")[-1]
    assert hash(rec(1, "x", 2)) == hash(dc(1, "x", 2))


def test_a_field_without_default_after_one_with_is_refused_as_dataclasses_does():
    body = "a: int = 0\nb: int\n"
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        build("dc", body, {})
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        build("rec", body, {})


@pytest.mark.parametrize("body", ["a: list = []\n", "a: dict = FIELD(default={})\n", "a: set = set()\n"])
def test_a_mutable_default_is_refused_as_dataclasses_does(body):
    with pytest.raises(ValueError, match="mutable default .* is not allowed: use default_factory"):
        build("dc", body, {})
    with pytest.raises(ValueError, match="mutable default .* is not allowed: use default_factory"):
        build("rec", body, {})


def test_frozen_records_compare_and_hash_by_value_and_eq_false_by_identity():
    _, frozen = pair("plain", {"frozen": True})
    assert {frozen(1, "a"), frozen(1, "a")} == {frozen(1, "a")}
    _, identity = pair("plain", {"frozen": True, "eq": False})
    one = identity(1, "a")
    assert one != identity(1, "a") and {one: 1}[one] == 1
    _, mutable = pair("plain", {})
    with pytest.raises(TypeError, match="unhashable"):
        hash(mutable(1, "a"))
    with pytest.raises(AttributeError):
        frozen(1, "a").a = 2


def test_every_data_class_of_eos_guard_is_a_record():
    """No module of the package uses dataclasses (tests/test_architecture.py checks the import at run time)."""
    import pkgutil
    import importlib

    import eos_guard

    offenders = []
    for info in pkgutil.walk_packages(eos_guard.__path__, "eos_guard."):
        if info.name.endswith(("integrations.transformers", "__main__")):
            continue  # needs transformers / runs the CLI on import
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == info.name and dataclasses.is_dataclass(value):
                offenders.append(f"{info.name}.{value.__qualname__}")
    assert offenders == []


def test_the_records_a_worker_returns_for_each_folder_share_their_attribute_keys(tmp_path):
    """A run over many folders on several cores checks them in worker processes, which return each folder's report,
    resolved model, files, vocabulary and documents to the run, pickled; the run keeps them. Unpickled,
    a record's attributes are set one by one, in field order, and CPython shares the attribute names of a class's
    instances in one key table up to a limit (29 attributes on 3.11): ModelFiles's 30th field gave every instance
    a table of its own, 1.3 KB more a folder (10,000 folders: 154 MB where 142 MB had been, against the 150 MB of
    issue #15). In a new process, as the run's, each such record's attributes share their keys: its ``__dict__``
    is smaller than a plain copy of it, which holds a table of its own (so on 3.11, 3.12 and 3.13)."""
    import os
    import subprocess

    import eos_guard
    from support import FIXTURES, ROOT

    if sys.version_info < (3, 11):
        pytest.skip("CPython 3.10 gives every unpickled record a key table of its own, whatever its size")

    report = eos_guard.check(FIXTURES / "qwen2-instruct-aligned", FIXTURES / "llama3-8b-instruct-release")
    (tmp_path / "report.pickle").write_bytes(pickle.dumps(report))
    code = ("import pickle, sys\n"
            "report = pickle.loads(open(sys.argv[1], 'rb').read())\n"
            "for model in report.models:\n"
            "    kept = [model, model.model, model.model.files, model.model.vocab, *model.model.files.documents()]\n"
            "    for instance in kept:\n"
            "        attributes = vars(instance)\n"
            "        if sys.getsizeof(attributes) >= sys.getsizeof(dict(attributes)):\n"
            "            print(type(instance).__name__, len(attributes))\n"
            "print('CHECKED', len(report.models))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "report.pickle")], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.stdout == "CHECKED 2\n", done.stdout + done.stderr
