"""UETF's cheap named tuples behave as ``typing.NamedTuple``'s, field for field."""

from __future__ import annotations

import copy
import pickle
import typing

import pytest

from uetf_core.namedtuples import NamedTuple


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str | None = None

    def moved(self, by: int) -> Point:
        return self._replace(x=self.x + by)

    @property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


class TypingPoint(typing.NamedTuple):
    x: int
    y: int = 0
    label: str | None = None


def test_fields_defaults_and_access_match_typing() -> None:
    for args, kwargs in [((1,), {}), ((1, 2), {}), ((1,), {"label": "a"}), ((), {"x": 3})]:
        mine, theirs = Point(*args, **kwargs), TypingPoint(*args, **kwargs)
        assert tuple(mine) == tuple(theirs)
        assert mine == theirs  # a tuple's equality
        assert hash(mine) == hash(theirs)
        assert mine._asdict() == theirs._asdict()
        assert repr(mine) == repr(theirs).replace("TypingPoint", "Point")
    assert Point._fields == TypingPoint._fields == Point.__match_args__
    assert Point._field_defaults == TypingPoint._field_defaults
    assert Point(1, 2).y == 2 and Point(1, 2)[1] == 2
    assert Point.__doc__ == "A point."


def test_methods_properties_replace_and_make() -> None:
    point = Point(2, -3)
    assert point.moved(1) == Point(3, -3)
    assert point.norm == 5
    assert Point._make([1, 2, "z"]) == Point(1, 2, "z")
    assert isinstance(Point._make((1, 2, None)), Point)
    with pytest.raises(ValueError, match="unexpected field names"):
        point._replace(z=1)
    with pytest.raises(TypeError):
        Point._make([1])


def test_wrong_arguments_are_refused_as_typing_refuses_them() -> None:
    for args, kwargs in [((), {}), ((1, 2, 3, 4), {}), ((1,), {"x": 2}), ((1,), {"z": 2})]:
        with pytest.raises(TypeError):
            TypingPoint(*args, **kwargs)
        with pytest.raises(TypeError):
            Point(*args, **kwargs)


def test_immutable_slotted_and_picklable() -> None:
    point = Point(1, 2, "a")
    with pytest.raises(AttributeError):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        point.other = 5  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(point)) == point
    assert type(pickle.loads(pickle.dumps(point))) is Point
    assert copy.deepcopy(point) == point and copy.copy(point) is not None


def test_a_default_before_a_required_field_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default field"):

        class Bad(NamedTuple):
            a: int = 1
            b: int
