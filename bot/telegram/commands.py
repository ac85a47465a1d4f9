"""The command menus: the patients' list for everyone (commands.toml), and for each member of
the clinic team a menu of their own chat with the team's commands as well
(staff_commands.toml, setMyCommands with a chat scope).

A member's menu is set at start-up (bot/runtime.py) and whenever an admin adds or removes them
(through the update's Reply, after the commit)."""

from __future__ import annotations

from collections.abc import Mapping

from aiogram.types import BotCommand

from bot.content.catalogue import STAFF_COMMANDS, ChatCommand, StaffCommand
from bot.content.store import Content
from bot.domain.staff import Permission, Role, allows

__all__ = ["COMMAND_PERMISSIONS", "patient_menu", "staff_menu"]

COMMAND_PERMISSIONS: Mapping[StaffCommand, Permission] = {
    StaffCommand.INVITE: Permission.INVITES,
    StaffCommand.TODAY: Permission.ROSTER,
    StaffCommand.TOMORROW: Permission.ROSTER,
    StaffCommand.ROSTER: Permission.ROSTER,
    StaffCommand.STAFF: Permission.ROSTER,
    StaffCommand.STAFF_ADD: Permission.STAFF,
    StaffCommand.STAFF_INVITE: Permission.STAFF,
    StaffCommand.TEXTS: Permission.CONTENT,
    StaffCommand.PLAN: Permission.PLAN,
    StaffCommand.APITOKENS: Permission.INTEGRATIONS,
}
"""Which permission shows a team command in a member's menu."""


def patient_menu(content: Content, lang: str) -> list[BotCommand]:
    """The published commands (ChatCommand) with the language's descriptions."""
    descriptions = dict(content.commands(lang))
    return [
        BotCommand(command=c, description=descriptions[c]) for c in ChatCommand if c in descriptions
    ]


def team_commands(content: Content, role: Role, lang: str) -> list[tuple[str, str]]:
    """The team commands `role` allows, with their descriptions in `lang`."""
    descriptions = dict(content.commands(lang, STAFF_COMMANDS))
    return [
        (str(c), descriptions[c])
        for c in StaffCommand
        if c in descriptions and allows(role, COMMAND_PERMISSIONS[c])
    ]


def staff_menu(content: Content, role: Role) -> list[BotCommand]:
    """The menu of a team member's own chat: the team commands their role allows, then the
    patients' ones (in the default language: the team's texts are not translated)."""
    lang = content.default_language
    team = [BotCommand(command=c, description=d) for c, d in team_commands(content, role, lang)]
    return team + patient_menu(content, lang)
