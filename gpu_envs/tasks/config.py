"""Typed, range-checked task parameters: each declared once, checked when the config is built.

A task's config is a frozen dataclass deriving from `TaskConfig`. Each field's annotation is its
type and `param(default, allowed)` its valid values, so a task added later gets the checks with
no code of its own:

    @dataclasses.dataclass(frozen=True)
    class MyConfig(TaskConfig):
        max_effort: float = param(400.0, "[0, inf)")      # an interval: [ ] closed, ( ) open
        control: str = param("absolute", ("absolute", "relative"))   # a tuple: the choices
        damping_scale: tuple[float, float] = param((0.3, 3.0), "(0, inf)")  # a (low, high) pair

Supported types: bool, int, float, str, tuple[float, float] (a range: low <= high, each end
in the interval), tuple[str, ...], and any of them `| None`. A wrong type raises `TypeError`,
a value outside `allowed` raises `ValueError`; both name the parameter, the value and what is
allowed. Numbers also have to keep their meaning on the device, where ints are int32 and floats
float32 (no overflow; no non-zero float flushed to zero). Values are normalised once: ints become floats in float fields, numpy scalars become
Python numbers, lists become tuples.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

import numpy as np

_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])\s*$")


@dataclasses.dataclass(frozen=True)
class Interval:
    """A set of real numbers such as "[0, inf)" or "(0, 1]" (NaN is never inside)."""

    low: float
    high: float
    low_closed: bool
    high_closed: bool
    text: str

    @classmethod
    def parse(cls, text: str) -> Interval:
        match = _INTERVAL.match(text)
        if not match:
            raise ValueError(f"not an interval: {text!r} (write e.g. '[0, inf)' or '(0, 1]')")
        left, low, high, right = match.groups()
        return cls(float(low), float(high), left == "[", right == "]", text.strip())

    def __contains__(self, value: float) -> bool:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return bool(above and below)

    def __str__(self) -> str:
        return self.text


def param(default: Any, allowed: str | tuple | None = None) -> Any:
    """A config field with its default and its allowed values.

    allowed: an interval string for numbers (and for each end of a range pair), a tuple of
    choices for strings, or None for any value of the field's type.
    """
    if isinstance(allowed, str):
        allowed = Interval.parse(allowed)
    return dataclasses.field(default=default, metadata={"allowed": allowed})


def _split_optional(hint) -> tuple[Any, bool]:
    """(the type inside `X | None`, whether None is allowed)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _describe(kind, allowed) -> str:
    """What a field accepts, in words: "an int in [1, inf)", "one of ('a', 'b')", ..."""
    if kind is bool:
        return "True or False"
    if isinstance(allowed, tuple):
        return f"one of {allowed}"
    if kind is int:
        return "an int" + (f" in {allowed}" if allowed else "")
    if kind is float:
        return "a finite number" if allowed is None else f"a number in {allowed}"
    if kind is str:
        return "a string"
    if typing.get_origin(kind) is tuple and typing.get_args(kind) == (float, float):
        where = f" in {allowed}" if allowed else ""
        return f"a pair (low, high) of numbers{where} with low <= high"
    if typing.get_origin(kind) is tuple:
        return "a sequence of strings"
    raise TypeError(f"TaskConfig fields cannot have type {kind}")


def _in_allowed(value: float, allowed) -> bool:
    if allowed is None:
        return math.isfinite(value)
    return value in allowed


def _check_bool(value):
    return bool(value) if isinstance(value, (bool, np.bool_)) else None


def _check_int(value):
    return int(value) if _is_integer(value) else None


def _check_float(value):
    if not _is_real(value):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond any float: out of range, not of the wrong type
        return math.inf


def _check_str(value):
    return value if isinstance(value, str) else None


def _check_pair(value):
    if len(value) != 2 or not all(_is_real(v) for v in value):
        return None
    return float(value[0]), float(value[1])


def _check_strings(value):
    return tuple(value) if all(isinstance(v, str) for v in value) else None


def _checker(kind):
    """The function that returns a value of type `kind` normalised, or None when it has another type."""
    simple = {bool: _check_bool, int: _check_int, float: _check_float, str: _check_str}
    if kind in simple:
        return simple[kind]
    pair = typing.get_args(kind) == (float, float)
    checker = _check_pair if pair else _check_strings
    return lambda value: checker(value) if isinstance(value, Sequence) and not isinstance(value, str) else None


def _allows(normalised, kind, allowed) -> bool:
    """Whether a value already of type `kind` lies in `allowed`."""
    if kind in (int, float):
        return _in_allowed(normalised, allowed)
    if kind is str:
        return not isinstance(allowed, tuple) or normalised in allowed
    if typing.get_args(kind) == (float, float):
        low, high = normalised
        return _in_allowed(low, allowed) and _in_allowed(high, allowed) and low <= high
    return True


def check_value(name: str, value, hint, allowed):
    """`value` normalised for a field of type `hint`; raises TypeError/ValueError naming `name`."""
    kind, optional = _split_optional(hint)
    if value is None and optional:
        return None
    what = _describe(kind, allowed) + (" or None" if optional else "")
    normalised = _checker(kind)(value)
    if normalised is None:
        raise TypeError(f"parameter {name} must be {what} (got {_shown(value)})")
    if not _allows(normalised, kind, allowed):
        raise ValueError(f"parameter {name} must be {what} (got {_shown(value)})")
    if not _fits_on_device(normalised, kind):
        device_type = "int32" if kind is int else "float32"
        raise ValueError(f"parameter {name} must be {what} (got {_shown(value)}: beyond what the device's "
                         f"{device_type} holds)")
    return normalised


_INT32 = np.iinfo(np.int32)
_FLOAT32_TINY, _FLOAT32_MAX = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)


def _shown(value) -> str:
    """repr(value), shortened when it is long (a 400-digit int)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:20] + "..." + text[-10:]


def _fits_on_device(normalised, kind) -> bool:
    """Whether a checked value keeps its meaning as the device's int32 / float32 (which every
    number of a task runs as): no overflow, and no non-zero float flushed to zero."""
    if kind is int:
        return _INT32.min <= normalised <= _INT32.max
    numbers_ = [normalised] if kind is float else list(normalised) if kind == tuple[float, float] else []
    return all(x == 0 or _FLOAT32_TINY <= abs(x) <= _FLOAT32_MAX for x in numbers_)


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """Base of every task's config: checks each field against its declaration when built."""

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = check_value(field.name, getattr(self, field.name), hints[field.name],
                                field.metadata.get("allowed"))
            object.__setattr__(self, field.name, value)

    @classmethod
    def allowed_values(cls) -> dict[str, str]:
        """Each parameter's allowed values in words (what docs/envs list), by name."""
        hints = typing.get_type_hints(cls)
        out = {}
        for field in dataclasses.fields(cls):
            kind, optional = _split_optional(hints[field.name])
            out[field.name] = _describe(kind, field.metadata.get("allowed")) + (" or None" if optional else "")
        return out
