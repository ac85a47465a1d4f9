"""``/apitokens`` (admins): the HTTP API's tokens, one per scheduling system.

``/apitokens`` lists them; ``/apitokens create NAME SOURCE`` makes one and shows it once (only
its SHA-256 is stored; the admin is asked to delete the message once the token is handed
over); ``/apitokens revoke NAME`` revokes one. Anything else shows the list with how to use
it. Who may is checked by the service first (bot/services/api_tokens.py), so a patient or a
staff member who is not an admin is refused (an audit line; a patient gets what an unknown
command gets), and every token made or revoked is in the audit log.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.content.catalogue import ApiTokenCreated, ApiTokenRevoked, ApiTokens, StaffCommand
from bot.domain.audit import Actor
from bot.services.container import ServiceScope
from bot.telegram.reply import Reply
from foundation.timemath import to_local


async def api_tokens(
    message: Message, command: CommandObject, reply: Reply, actor: Actor, svc: ServiceScope
) -> None:
    words = (command.args or "").split()
    verb = words[0].lower() if words else ""
    if verb == "create" and len(words) == 3:
        made = await svc.api_tokens.create(actor, words[1], words[2])
        reply.send(ApiTokenCreated(name=made.row.name, source=made.row.source, token=made.token))
        return
    if verb == "revoke" and len(words) == 2:
        row = await svc.api_tokens.revoke(actor, words[1])
        reply.send(ApiTokenRevoked(name=row.name, source=row.source))
        return
    zone = svc.settings.clinic_zone
    rows = await svc.api_tokens.tokens(actor)
    reply.send(
        ApiTokens(
            tokens=[
                {
                    "name": r.name,
                    "source": r.source,
                    "active": r.active,
                    "last_used": to_local(r.last_used_at, zone) if r.last_used_at else None,
                }
                for r in rows
            ]
        )
    )


def create_router() -> Router:
    """A fresh router each call: aiogram attaches a router to one dispatcher only."""
    r = Router(name="api_tokens")
    r.message.register(api_tokens, Command(StaffCommand.APITOKENS))
    return r
