"""Named tuples that cost next to nothing to define, with ``typing.NamedTuple``'s behaviour.

Every ``pytest --uetf`` imports a score of named tuples (the configuration, the
metrics, the events, the gates). ``typing.NamedTuple`` compiles a ``__new__``
for each class and, in a module with ``from __future__ import annotations``,
compiles every field's annotation too, for every class at every start
(docs/performance.md counts it). Here a class is made from its annotations' names
alone (the annotations stay strings, never evaluated) and shares one
``__new__``; the fields are read by CPython's own accessor, as
``collections.namedtuple``'s are.

Modules import it as ``NamedTuple`` under the type checker's ``typing.NamedTuple``::

    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from uetf_core.namedtuples import NamedTuple

so type checkers see the classes they know, and the running program these.
What a class gets: fields in annotation order with their defaults, ``_fields``,
``_field_defaults``, ``_make``, ``_replace``, ``_asdict``, ``__match_args__``, a
``repr`` naming the fields, pickling, and a tuple's equality and hashing. Its
methods and properties are its own. Made a few times per run, never per test.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

try:  # CPython's C accessor for namedtuple fields, the fastest read there is
    from collections import _tuplegetter  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - other interpreters

    def _tuplegetter(index: int, doc: str) -> Any:
        return property(itemgetter(index), doc=doc)


class _NamedTupleType(type):
    """Makes each class declared with :class:`NamedTuple` as its base a named tuple."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]
    ) -> _NamedTupleType:
        if namespace.get("__module__") == __name__ and name == "NamedTuple":
            return super().__new__(mcs, name, bases, namespace)  # the base itself
        if bases != (NamedTuple,):
            raise TypeError(f"{name}: a named tuple has NamedTuple as its only base")
        if "__annotations__" not in namespace and "__annotate__" in namespace:
            # Annotations evaluated lazily (Python 3.14 without the __future__ import).
            raise TypeError(f"{name}: declare it where annotations are strings (__future__)")
        fields = tuple(namespace.get("__annotations__", {}))
        defaults: dict[str, Any] = {}
        for index, field in enumerate(fields):
            if field.startswith("_"):
                raise ValueError(f"{name}: field names cannot start with '_': {field!r}")
            if field in namespace:
                defaults[field] = namespace[field]
            elif defaults:
                raise TypeError(f"{name}: non-default field {field!r} after a default field")
            namespace[field] = _tuplegetter(index, f"Alias for field number {index}")
        namespace["__slots__"] = ()
        namespace["_fields"] = fields
        namespace["_field_defaults"] = defaults
        namespace["__match_args__"] = fields
        return super().__new__(mcs, name, bases, namespace)


class NamedTuple(tuple, metaclass=_NamedTupleType):  # type: ignore[type-arg]
    """The base of a cheap named tuple (see the module's docstring)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _field_defaults: dict[str, Any] = {}  # each class sets its own

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != len(cls._fields):
            args = cls._arguments(args, kwargs)
        return tuple.__new__(cls, args)

    @classmethod
    def _arguments(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """The values of every field, from positional and keyword arguments and defaults."""
        fields, name = cls._fields, cls.__name__
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} arguments but {len(args)} were given")
        for given in kwargs:
            if given not in fields:
                raise TypeError(f"{name}() got an unexpected keyword argument {given!r}")
            if fields.index(given) < len(args):
                raise TypeError(f"{name}() got multiple values for argument {given!r}")
        values = list(args)
        defaults = cls._field_defaults
        for field in fields[len(args) :]:
            if field in kwargs:
                values.append(kwargs[field])
            elif field in defaults:
                values.append(defaults[field])
            else:
                raise TypeError(f"{name}() missing required argument: {field!r}")
        return tuple(values)

    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> Any:
        values = tuple(iterable)
        if len(values) != len(cls._fields):
            raise TypeError(f"expected {len(cls._fields)} arguments, got {len(values)}")
        return tuple.__new__(cls, values)

    def _replace(self, **changes: Any) -> Any:
        values = tuple(
            changes.pop(field, value) for field, value in zip(self._fields, self, strict=True)
        )
        if changes:
            raise ValueError(f"got unexpected field names: {list(changes)!r}")
        return tuple.__new__(type(self), values)

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True)
        )
        return f"{type(self).__name__}({shown})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)
