"""Database tools and migrations that throw data away: a dropped database, a reset, every
migration rolled back, or some of them.

Rolling a migration back drops what it added, rows included; all the way back, or a drop,
leaves nothing to restore.
"""

from __future__ import annotations

from collections.abc import Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import DB_DESTROY, DB_DOWNGRADE
from wave_tui.safety.rules.execution.common import Checker, show, split_args, table, word_set
from wave_tui.safety.shell import SimpleCommand


def _downgrade(cmd: SimpleCommand, target: str) -> list[Finding]:
    rule = DB_DESTROY if target in ("base", "zero") else DB_DOWNGRADE
    return [rule.finding(show(cmd))]


def _alembic(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], word_set("-c --config -n --name -x --raiseerr"))
    if args.operands[:1] != ("downgrade",) or args.has("--sql"):
        return []  # `--sql` writes the SQL out instead of running it
    return _downgrade(cmd, (*args.operands[1:2], "-1")[0])


def _flask(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], word_set("--app -A --env-file -e -d --directory"))
    if args.operands[:2] != ("db", "downgrade") or args.has("--sql"):
        return []
    return _downgrade(cmd, (*args.operands[2:3], "-1")[0])


def _dropdb(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    return [] if set(cmd.argv[1:]) & {"--help", "--version"} else [DB_DESTROY.finding(show(cmd))]


_RAILS_DESTROY = word_set("db:drop db:reset db:purge db:schema:load db:truncate_all")
_RAILS_DESTROY |= word_set("db:migrate:reset")


def _rails(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    tasks = set(cmd.argv[1:])
    if tasks & _RAILS_DESTROY:
        return [DB_DESTROY.finding(show(cmd))]
    return [DB_DOWNGRADE.finding(show(cmd))] if "db:rollback" in tasks else []


def _prisma(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    resets = args[:2] == ("migrate", "reset") or (
        args[:2] == ("db", "push") and "--force-reset" in args
    )
    return [DB_DESTROY.finding(show(cmd))] if resets else []


def django(cmd: SimpleCommand, rest: Sequence[str]) -> list[Finding]:
    """`manage.py flush`, `reset_db`, `migrate APP zero`: every row or every migration gone."""
    verb = rest[0] if rest else ""
    if verb in ("flush", "reset_db") or (verb == "migrate" and "zero" in rest):
        return [DB_DESTROY.finding(show(cmd))]
    return []


def _django_admin(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    return django(cmd, cmd.argv[1:])


# The programs this module judges, by name; `manage.py` comes through the interpreters.
CHECKERS: dict[str, Checker] = {
    "alembic": _alembic,
    "flask": _flask,
    "dropdb": _dropdb,
    **table(_rails, "rails rake"),
    "prisma": _prisma,
    "django-admin": _django_admin,
}
