"""Import aiogram without building every one of its pydantic validators up front.

aiogram declares its Telegram types with ``defer_build=True`` and then, at the end of
``aiogram/types/__init__.py``, calls ``model_rebuild(_types_namespace=...)`` on each of them,
because their annotations name each other under ``TYPE_CHECKING``. Every such call builds a
self-contained validator for the model's whole closure (a ``Message`` reaches hundreds of other
types), so that import alone costs seconds and tens of MiB (aiogram issues #1876 and #1891;
``bench/aiogram_import.py`` measures it against this module), while a bot only ever validates
a few dozen of those models.

:func:`import_aiogram` runs that import with those calls recorded instead of performed. Each
aiogram model then gets the namespace aiogram passed as its ``__pydantic_parent_namespace__``,
which pydantic consults when it builds a deferred model on first use (and when a model is
built inside another one, such as ``Response[Message]``). So each validator is built when first
needed, from the same annotations and the same namespace as aiogram's own rebuild would use.

It stays safe when the libraries change:

* it does nothing if aiogram is already imported, or if aiogram made no such calls;
* pydantic's method is restored before it returns, whatever happens during the import;
* it builds the models every update and every reminder needs (``Update``, ``Message``,
  ``SendMessage``, ...) at once, as a check; if one fails it logs a warning and performs the
  recorded rebuilds after all, which is exactly aiogram's own behaviour, only later.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["import_aiogram", "keep_response_models", "prepare_aiogram"]

log = logging.getLogger(__name__)

_PACKAGE = "aiogram."


def prepare_aiogram(enabled: bool) -> bool:
    """What the entry point calls once, before anything imports aiogram (``LAZY_AIOGRAM``).

    With ``enabled`` false aiogram is imported exactly as it ships, which is the way to tell
    whether a problem comes from this module. True if model builds were deferred."""
    if not enabled:
        return False
    deferred = import_aiogram()
    keep_response_models()
    return deferred


def import_aiogram() -> bool:
    """Import aiogram with its model builds deferred to first use; True if they were."""
    if "aiogram" in sys.modules:
        return False
    recorded = _import_recording_rebuilds()
    if not recorded:
        return False
    namespace = recorded[0][1]
    for model in _aiogram_models():
        if model.__pydantic_parent_namespace__ is None:
            model.__pydantic_parent_namespace__ = dict(namespace)
    if _builds_on_demand():
        return True
    log.warning("aiogram models could not be built on demand; building all of them now")
    for model, types_namespace in recorded:
        model.model_rebuild(_types_namespace=types_namespace)
    return False


def _import_recording_rebuilds() -> list[tuple[type[BaseModel], Mapping[str, Any]]]:
    original = BaseModel.__dict__["model_rebuild"]
    recorded: list[tuple[type[BaseModel], Mapping[str, Any]]] = []

    def model_rebuild(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        if (
            namespace is not None
            and cls.__module__.startswith(_PACKAGE)
            and kwargs.keys() == {"_types_namespace"}
        ):
            recorded.append((cls, namespace))
            return None
        kwargs.setdefault("_parent_namespace_depth", 2)
        kwargs["_parent_namespace_depth"] += 1  # this wrapper is one frame deeper
        rebuilt: bool | None = original.__func__(cls, **kwargs)
        return rebuilt

    BaseModel.model_rebuild = classmethod(model_rebuild)  # type: ignore[method-assign,assignment,arg-type]
    try:
        import aiogram  # noqa: F401  (the import this module exists for)
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
    return recorded


def _aiogram_models() -> Iterator[type[BaseModel]]:
    seen: set[type] = set()
    stack = list(BaseModel.__subclasses__())
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        stack.extend(model.__subclasses__())
        if model.__module__.startswith(_PACKAGE):
            yield model


def _builds_on_demand() -> bool:
    """Build what every update and every reminder needs, now: a check that on-demand builds
    work, and no first patient waits for them (nor does a reminder's send linger, between
    Telegram's answer and its record, while ``Message`` is built)."""
    from aiogram.methods import SendMessage
    from aiogram.methods.base import Response
    from aiogram.types import InlineKeyboardMarkup, Message, Update

    try:
        return all(
            model.__pydantic_complete__ or model.model_rebuild(raise_errors=False) is not False
            for model in (Update, Message, SendMessage, InlineKeyboardMarkup, Response[Message])
        )
    except Exception as exc:  # a library change this module does not know about
        log.warning("aiogram on-demand model build failed: %s", type(exc).__name__)
        return False


_KEPT: dict[Any, type[BaseModel]] = {}


def keep_response_models() -> None:
    """Keep every ``Response[...]`` model aiogram parametrizes alive for the process.

    aiogram validates each Bot API answer with ``Response[<what the method returns>]``,
    parametrized on every call. pydantic caches parametrized models in a
    ``WeakValueDictionary`` only, so once a call's answer is read the model can be collected,
    and the next call builds its validator again: for ``Response[list[Update]]`` on every
    ``getUpdates``, and so for the answer to a callback query, an edit, a ``getChat``.
    Holding them (one per Bot API method used, a few dozen at most) builds each once.
    Idempotent."""
    from aiogram.methods.base import Response

    if "__class_getitem__" in Response.__dict__:
        return
    parametrize = Response.__class_getitem__

    def class_getitem(cls: type[BaseModel], params: Any) -> Any:
        try:
            kept = _KEPT.get(params) if cls is Response else None
        except TypeError:  # unhashable parameters: nothing to keep
            return parametrize.__func__(cls, params)  # type: ignore[attr-defined]
        if kept is None:
            kept = parametrize.__func__(cls, params)  # type: ignore[attr-defined]
            if cls is Response:
                _KEPT[params] = kept
        return kept

    Response.__class_getitem__ = classmethod(class_getitem)  # type: ignore[assignment,method-assign]
