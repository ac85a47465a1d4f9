"""The sandbox every template and button label renders in: jinja2's immutable sandbox, with
limits on work, size and time, and only text shown to patients.

Staff write templates, so a template is untrusted code. jinja2's sandbox keeps it away from
Python's internals but not from the event loop: a few nested loops, or one ``"x" * 10**8``,
held the bot (and another patient's crisis answer) for seconds. Here every render has a
:class:`Budget` (a context variable, so an ``{% include %}`` shares it) and every step a
template takes is counted against it: each loop iteration (every ``{% for %}`` is wrapped at
compile time), call, filter, operator and attribute read, with the clock read at each one.
What makes one large value in a single C-level step is checked *before* it runs (``*``,
``**``, string ``%``-formatting, ``str.format``, widths and joins), and every string or list a
step makes afterwards, so nothing grows past :attr:`RenderLimits.max_size`. The output is
counted as it is produced. A template over any limit raises :class:`RenderLimit` (a
``SecurityError``, so a ``TemplateError``) within the time limit, which the validator reports
and the send path answers with the shipped text.

Every ``{{ expression }}`` must show text or a number (``finalize``): a class, a function, a
list, a dict, ``None`` or a raw date never reach a patient as Python's own text
(``<class 'jinja2.utils.Cycler'>``)."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from foundation.work_time import work_time

__all__ = ["Budget", "GuardedEnvironment", "RenderLimit", "RenderLimits", "budget"]

_EACH = "__guarded_each"
_SIZED = "__guarded_size"
_TEXT = "__guarded_text"
# Filters that are left out: nondeterministic (random), Python's own text (pprint), or
# formatting whose widths cannot be checked before it runs (format).
_REMOVED_FILTERS = ("random", "pprint", "format")
# Globals left out: lipsum makes any amount of text in one call.
_REMOVED_GLOBALS = ("lipsum",)
_LONG_ARGUMENT = 1000
"""The longest string an argument of a filter or method may be (a separator, a
replacement): with values at most max_size long, one step then stays small."""


class RenderLimit(SecurityError):
    """A template did more than a message may: the reason is written for staff."""


@dataclass(frozen=True)
class RenderLimits:
    """What one render may do. `steps`: loop iterations, calls, filters, operators and
    attribute reads together; `max_size`: the longest string (characters) or list any step
    may make; `max_output`: characters of rendered text; `seconds`: wall time."""

    steps: int = 5_000
    max_size: int = 16_384
    max_output: int = 16_384
    seconds: float = 0.1
    """CPU time of the rendering thread (``time.thread_time``), not wall time: a render that
    waits for the GIL, or for a busy machine, is not refused for it; nor for the garbage
    collections that ran in it (foundation/work_time.py)."""


DEFAULT_LIMITS = RenderLimits()


@dataclass
class Budget:
    limits: RenderLimits
    deadline: float
    steps: int = 0
    output: int = 0
    clock: Callable[[], float] = field(default=work_time, repr=False)

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.steps:
            raise RenderLimit(
                f"does too much work: over {self.limits.steps:,} steps (loops, calls, filters)"
            )
        if self.clock() > self.deadline:
            raise RenderLimit(f"takes too long to render (over {self.limits.seconds:g} s)")

    def emit(self, chunk: str) -> None:
        self.output += len(chunk)
        if self.output > self.limits.max_output:
            raise RenderLimit(f"makes a text over {self.limits.max_output:,} characters long")


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "render_budget", default=None
)


@contextmanager
def budget(limits: RenderLimits = DEFAULT_LIMITS) -> Iterator[Budget]:
    """A fresh budget for one render (a render inside another shares the outer one)."""
    outer = _BUDGET.get()
    if outer is not None:
        yield outer
        return
    now = work_time()
    current = Budget(limits, now + limits.seconds)
    token = _BUDGET.set(current)
    try:
        yield current
    finally:
        _BUDGET.reset(token)


def _step() -> RenderLimits:
    current = _BUDGET.get()
    if current is None:
        return DEFAULT_LIMITS
    current.step()
    return current.limits


def _sized(value: Any, limits: RenderLimits) -> Any:
    """`value`, if it is no larger than a step may make."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        if len(value) > limits.max_size:
            raise RenderLimit(f"makes a value over {limits.max_size:,} characters or items")
    elif isinstance(value, int) and value.bit_length() > 4 * limits.max_size:
        raise RenderLimit("makes a number too large to show")
    return value


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 1


def _check_arguments(args: Iterable[Any], limits: RenderLimits) -> None:
    for arg in args:
        if isinstance(arg, bool):
            continue
        if isinstance(arg, int) and abs(arg) > limits.max_size:
            raise RenderLimit(f"uses the number {arg}, larger than a message needs")
        if isinstance(arg, str) and len(arg) > _LONG_ARGUMENT:
            raise RenderLimit(f"passes a text over {_LONG_ARGUMENT} characters to a filter")


def _joined(items: Any, separator: Any, limits: RenderLimits) -> list[Any]:
    """The items of a join, if joining them stays within the size limit."""
    listed = list(items)
    _sized(listed, limits)
    total = sum(_size(i) for i in listed) + _size(separator) * max(len(listed) - 1, 0)
    if total > limits.max_size:
        raise RenderLimit(f"makes a value over {limits.max_size:,} characters or items")
    return listed


def _guard_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a step and keeps to the size limits."""
    # A filter may take a context, eval context or environment before the filtered value.
    offset = 0 if _PassArg.from_obj(func) is None else 1
    joins = func is FILTERS["join"]

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        limits = _step()
        _check_arguments(args[offset + 1 :], limits)
        _check_arguments(kwargs.values(), limits)
        if joins and len(args) > offset:
            separator = args[offset + 1] if len(args) > offset + 1 else kwargs.get("d", "")
            listed = _joined(args[offset], separator, limits)
            args = (*args[:offset], listed, *args[offset + 1 :])
        return _sized(func(*args, **kwargs), limits)

    return guarded


def _each(iterable: Any) -> Iterator[Any]:
    """A ``{% for %}`` loop's items, each a step."""
    for item in iterable:
        _step()
        yield item


def _limited_range(*args: int) -> range:
    limits = _step()
    made = range(*args)
    if len(made) > limits.max_size:
        raise RenderLimit(f"makes a range of {len(made):,} numbers")
    return made


def _text_only(value: Any) -> Any:
    """What ``{{ expression }}`` shows: text or a number, never a Python object."""
    if isinstance(value, str) or (
        isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    ):
        return value
    if isinstance(value, jinja2.Undefined):
        return value  # StrictUndefined says which name is missing when it is shown
    kind = type(value).__name__
    hint = " (a date or time: write it with a filter, like {{ when | when }})" if kind in (
        "datetime", "date", "time") else ""  # fmt: skip
    raise SecurityError(f"shows a {kind} value where text belongs{hint}")


def _guard_tree(tree: nodes.Template) -> None:
    """Every loop's iterable through _each, and every ``{{ expression }}`` through _text_only
    at render time (jinja would show a constant such as ``{{ none }}`` as Python's text at
    compile time). Changed in place: cheaper than a NodeTransformer's copy."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, _EACH, [], [], None, None, lineno=loop.lineno)
    for output in tree.find_all(nodes.Output):
        output.nodes = [
            child
            if isinstance(child, nodes.TemplateData)
            else nodes.Filter(child, _TEXT, [], [], None, None, lineno=child.lineno)
            for child in output.nodes
        ]


class _GuardedCodeGenerator(CodeGenerator):
    """Every ``~`` join through _sized: a string doubled in a loop stops at the size limit."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write(f"environment.filters[{_SIZED!r}](")
        super().visit_Concat(node, frame)
        self.write(")")


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox with the limits of this module (see its doc)."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})
    code_generator_class = _GuardedCodeGenerator

    def __init__(self, *, shown: Callable[[Any], Any] | None = None, **options: Any) -> None:
        """`shown`: applied to what every ``{{ expression }}`` shows, after the check that
        it is text or a number."""
        super().__init__(finalize=_text_only, **options)
        for name in _REMOVED_FILTERS:
            self.filters.pop(name, None)
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)
        self.globals["range"] = _limited_range
        self.filters[_EACH] = _each
        self.filters[_SIZED] = lambda value: _sized(value, _step())
        # Taking the context keeps jinja from running it at compile time on constants.
        show = shown or (lambda value: value)
        self.filters[_TEXT] = jinja2.pass_context(lambda context, value: show(_text_only(value)))

    def guard_filters(self) -> None:
        """Wrap every filter (call after adding the application's own)."""
        for name, func in list(self.filters.items()):
            if name not in (_EACH, _SIZED, _TEXT) and not getattr(func, "__wrapped__", None):
                self.filters[name] = _guard_filter(func)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        _guard_tree(tree)
        return tree

    def getattr(self, obj: Any, attribute: str) -> Any:
        _step()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _step()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if super().wrap_str_format(value) is None:
            return None

        def refused(*args: Any, **kwargs: Any) -> str:
            raise SecurityError("str.format is not available in texts; write {{ value }}")

        return refused

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        limits = _step()
        owner = getattr(__obj, "__self__", None)
        if getattr(__obj, "__name__", "") == "join" and isinstance(owner, str) and args:
            args = (_joined(args[0], owner, limits), *args[1:])
        else:
            _check_arguments(args, limits)
        _check_arguments(kwargs.values(), limits)
        return _sized(super().call(__context, __obj, *args, **kwargs), limits)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits = _step()
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                sequence = isinstance(seq, str | bytes | list | tuple)
                if sequence and isinstance(count, int) and len(seq) * count > limits.max_size:
                    raise RenderLimit(f"makes a value over {limits.max_size:,} characters or items")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if max(left.bit_length(), 1) * right > 4 * limits.max_size:
                    raise RenderLimit("makes a number too large to show")
            elif isinstance(right, int | float) and abs(right) > limits.max_size:
                raise RenderLimit("makes a number too large to show")
        elif operator == "%" and isinstance(left, str | bytes):
            raise SecurityError("%-formatting is not available in texts; write {{ value }}")
        return _sized(super().call_binop(context, operator, left, right), limits)


def render_text(template: jinja2.Template, limits: RenderLimits, context: dict[str, Any]) -> str:
    """Render `template` within `limits`, counting the output as it is made."""
    with budget(limits) as current:
        parts: list[str] = []
        for chunk in template.generate(context):
            current.emit(chunk)
            parts.append(chunk)
        return "".join(parts)
