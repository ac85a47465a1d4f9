"""A request's parameters, decoded as Telegram reads them.

The bot's own session sends JSON bodies. aiogram's stock session sends a form (multipart when
it uploads a file) in which every non-string value is JSON-encoded; a form field is decoded by
its type in aiogram's model of the method, so a text that looks like a number stays a string.
An uploaded file replaces the ``attach://`` reference that names it.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import types
import typing
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from .records import UploadedFile

_INT = re.compile(r"-?\d+")


async def read_params(request: web.Request, method: str) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body)
    form = await request.post()
    kinds = _field_kinds().get(method.lower(), {})
    files: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(value.filename, value.content_type, value.file.read())
        else:
            text = value if isinstance(value, str) else bytes(value).decode()
            params[key] = _decode(kinds.get(key), text)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = files.pop(value.removeprefix("attach://"), value)
    return params | files


def _decode(kind: str | None, value: str) -> Any:
    if kind == "json":
        return json.loads(value)
    if kind == "int_or_str" and _INT.fullmatch(value):
        return int(value)
    return value


@functools.cache
def _field_kinds() -> dict[str, dict[str, str]]:
    """Lower-case method name -> field -> 'str' (kept), 'int_or_str' or 'json'."""
    from aiogram import methods

    table: dict[str, dict[str, str]] = {}
    for model in vars(methods).values():
        name = getattr(model, "__api_method__", None)
        if inspect.isclass(model) and issubclass(model, BaseModel) and isinstance(name, str):
            table[name.lower()] = {
                info.alias or field: _kind(info.annotation)
                for field, info in model.model_fields.items()
            }
    return table


def _kind(annotation: Any) -> str:
    args = _union_args(annotation)
    if str in args:
        return "int_or_str" if int in args else "str"
    return "json"


def _union_args(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [arg for union in typing.get_args(annotation) for arg in _union_args(union)]
    return [annotation]
