"""Plain data classes, declared as with ``dataclasses`` and built without its cost at import time.

``@dataclasses.dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__`` and ``__hash__`` as source
text and compiles it with ``exec`` while the module is imported, and importing ``dataclasses`` imports
``inspect`` (and with it ``ast``, ``dis`` and ``tokenize``). For eos-guard's three dozen classes that was about
half of the start-up of a check, which is most of a small check's time (docs/performance.md). ``record`` gives the
same methods as shared functions that read the class's field list, so building a class costs no compilation.

What it keeps from ``dataclasses``: fields from the class's annotations in order (``ClassVar`` ones are not
fields) and from records it inherits from; defaults, ``field(default_factory=...)``, ``field(repr=False)``,
``field(compare=False)``; ``__post_init__``; ``frozen`` (assigning a field raises ``FrozenInstanceError``, an
``AttributeError``); ``eq=False`` (identity); the same ``__hash__`` rules and values; a method the class defines
itself is kept. Instances keep their fields in ``__dict__``, in field order. Not supported, because nothing here
uses them: ``order``, ``slots``, ``kw_only``, ``init=False`` fields, ``InitVar``, ``copy.replace`` (3.13), a guard
against a record that holds itself in its repr, and the checks ``dataclasses`` makes on inheritance between frozen
and mutable classes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar, dataclass_transform

    T = TypeVar("T")
else:
    def dataclass_transform(**_: object) -> Callable:  # type checkers read records as dataclasses (PEP 681)
        return lambda decorator: decorator


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """A field of a frozen record was assigned or deleted."""


class Field:
    """One field of a record: its name, default or default factory, and whether repr and == look at it."""

    __slots__ = ("name", "default", "default_factory", "repr", "compare")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,
                 compare: bool = True) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | Any = MISSING, repr: bool = True,
          compare: bool = True) -> Any:
    """A field's options, as ``dataclasses.field`` takes them."""
    return Field(default, default_factory, repr, compare)


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[T] | None = None, /, *, frozen: bool = False, eq: bool = True) -> Any:
    """``@record``, ``@record(frozen=True)``, ``@record(frozen=True, eq=False)``: as ``@dataclass`` with those."""
    def wrap(cls: type[T]) -> type[T]:
        return _build(cls, frozen, eq)
    return wrap if cls is None else wrap(cls)


def fields(instance_or_class: Any) -> tuple[Field, ...]:
    try:
        return instance_or_class.__record_fields__
    except AttributeError:
        raise TypeError(f"{instance_or_class!r} is not a record") from None


def replace(instance: T, **changes: Any) -> T:
    """A copy of ``instance`` with ``changes``, built by its ``__init__`` (``__post_init__`` runs again)."""
    values = {f.name: instance.__dict__[f.name] for f in fields(instance)}
    for name in changes:
        if name not in values:
            raise TypeError(f"{type(instance).__qualname__} has no field {name!r}")
    values.update(changes)
    return type(instance)(**values)


def asdict(value: Any) -> Any:
    """A record as a dict of its fields, records, lists, tuples and dicts inside it converted too (other values
    are kept as they are, not deep-copied as ``dataclasses.asdict`` does: the records here hold plain values)."""
    if hasattr(type(value), "__record_fields__"):
        return {f.name: asdict(value.__dict__[f.name]) for f in type(value).__record_fields__}
    if isinstance(value, (list, tuple)):
        return type(value)(asdict(v) for v in value)
    if isinstance(value, dict):
        return {asdict(k): asdict(v) for k, v in value.items()}
    return value


def _fields_of(cls: type) -> list[Field]:
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for inherited in base.__dict__.get("__record_fields__", ()):
            found[inherited.name] = inherited
    annotations = cls.__dict__.get("__annotations__")
    if annotations is None:  # Python 3.14 may keep them out of the class's __dict__ (PEP 749): ask the class,
        annotations = getattr(cls, "__annotations__", None) or {}  # which gives its own since 3.10
    for name, annotation in annotations.items():
        if isinstance(annotation, str) and annotation.replace("typing.", "").startswith("ClassVar"):
            continue
        declared = cls.__dict__.get(name, MISSING)
        spec = declared if isinstance(declared, Field) else Field(default=declared)
        spec.name = name
        if isinstance(spec.default, (list, dict, set)):  # one object shared by every instance: as dataclasses
            raise ValueError(f"mutable default {type(spec.default)} for field {name} is not allowed: use "
                             f"default_factory")
        if spec.default is not MISSING:
            setattr(cls, name, spec.default)  # as a dataclass: the class attribute is the default
        elif isinstance(declared, Field):
            delattr(cls, name)
        found[name] = spec
    specs = list(found.values())
    seen_default = False
    for spec in specs:
        has_default = spec.default is not MISSING or spec.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument {spec.name!r} follows default argument")
        seen_default = seen_default or has_default
    return specs


def _build(cls: type[T], frozen: bool, eq: bool) -> type[T]:
    specs = _fields_of(cls)
    cls.__record_fields__ = tuple(specs)  # type: ignore[attr-defined]
    own = cls.__dict__
    if "__init__" not in own:
        cls.__init__ = _init_for(cls, specs)  # type: ignore[misc]
    if "__repr__" not in own:
        cls.__repr__ = _repr_for(tuple(s.name for s in specs if s.repr))  # type: ignore[assignment]
    compared = tuple(s.name for s in specs if s.compare)
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if eq and "__eq__" not in own:
        cls.__eq__ = _eq_for(compared)  # type: ignore[assignment]
    if eq and frozen and not explicit_hash:
        cls.__hash__ = _hash_for(compared)  # type: ignore[assignment]
    elif eq and not explicit_hash:
        cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared by value: unhashable
    if frozen:
        cls.__setattr__ = _frozen_setattr  # type: ignore[assignment]
        cls.__delattr__ = _frozen_delattr  # type: ignore[assignment]
    if "__match_args__" not in own:
        cls.__match_args__ = tuple(s.name for s in specs)  # type: ignore[attr-defined]
    return cls


def _init_for(cls: type, specs: list[Field]) -> Callable[..., None]:
    names = tuple(s.name for s in specs)
    count = len(names)
    known = frozenset(names)
    start = {s.name: s.default for s in specs}  # every field in order, MISSING where no plain default
    required = tuple(s.name for s in specs if s.default is MISSING and s.default_factory is MISSING)
    title = cls.__qualname__
    post_init = hasattr(cls, "__post_init__")
    plans: dict[int, tuple[frozenset[str], tuple[tuple[str, Any], ...], tuple[str, ...]]] = {}

    def plan(given: int) -> tuple[frozenset[str], tuple[tuple[str, Any], ...], tuple[str, ...]]:
        """For ``given`` positional arguments (at most ``count``): the names they fill, and the factories and
        required fields they leave to be filled. Worked out at a class's first call with that many, not when the
        class is made: every record class is made at import, and most see one or two such counts."""
        found = plans.get(given)
        if found is None:
            filled = frozenset(names[:given])
            found = plans[given] = (filled, tuple((s.name, s.default_factory) for s in specs[given:]
                                                  if s.default_factory is not MISSING),
                                    tuple(n for n in required if n not in filled))
        return found

    def refuse(args: tuple, kwargs: dict, values: dict) -> None:
        """The TypeError CPython raises for these arguments (keywords first, then the count, then missing ones)."""
        for name in kwargs:
            if name not in known:
                raise TypeError(f"{title}.__init__() got an unexpected keyword argument {name!r}")
            if name in plan(min(len(args), count))[0]:
                raise TypeError(f"{title}.__init__() got multiple values for argument {name!r}")
        if len(args) > count:
            raise TypeError(f"{title}.__init__() takes {count + 1} positional arguments but {len(args) + 1} "
                            f"were given")
        missing = [n for n in required if values[n] is MISSING]
        raise TypeError(f"{title}.__init__() missing {len(missing)} required argument"
                        f"{'s' if len(missing) > 1 else ''}: {', '.join(map(repr, missing))}")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) == count and not kwargs:  # every field given in order: one C call
            self.__dict__.update(zip(names, args))
        else:  # a copy of the defaults in field order, then what was given, in C; a Python step per field left
            values = start.copy()
            values.update(zip(names, args))
            if len(args) > count:
                refuse(args, kwargs, values)
            filled, factories, required_left = plan(len(args))
            if kwargs and not (known.issuperset(kwargs) and filled.isdisjoint(kwargs)):
                refuse(args, kwargs, values)
            values.update(kwargs)
            for name, factory in factories:
                if values[name] is MISSING:
                    values[name] = factory()
            for name in required_left:
                if values[name] is MISSING:
                    refuse(args, kwargs, values)
            self.__dict__.update(values)
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{title}.__init__"
    return __init__


def _repr_for(names: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        values = self.__dict__
        return f"{type(self).__qualname__}({', '.join(f'{n}={values[n]!r}' for n in names)})"
    return __repr__


def _eq_for(names: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        mine, theirs = self.__dict__, other.__dict__  # as dataclasses: tuples compared (identical is equal)
        return tuple(mine[n] for n in names) == tuple(theirs[n] for n in names)
    return __eq__


def _hash_for(names: tuple[str, ...]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:  # the value dataclasses gives: the hash of the tuple of compared fields
        values = self.__dict__
        return hash(tuple(values[n] for n in names))
    return __hash__


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")
