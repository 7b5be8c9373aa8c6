"""The escalation queue from another terminal: `wave escalations`, `approve`, `reject`.

A running session polls the queue, so a decision made here resumes it within a second. Every
decision is recorded with who made it (`WAVE_OPERATOR`, else the OS user), when and why.
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

from wave_tui.config import Settings
from wave_tui.db import Database, EscalationRepository, SessionRepository
from wave_tui.db.models import WaveEscalation
from wave_tui.domain.enums import EscalationStatus
from wave_tui.errors import NotFoundError, UserError


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    escalations = commands.add_parser(
        "escalations", parents=[common], help="the actions and approvals waiting for a decision"
    )
    escalations.add_argument("session", nargs="?", metavar="SESSION", help="a session id")
    escalations.add_argument("--all", action="store_true", help="decided ones too")
    escalations.add_argument("--json", action="store_true", help="print one JSON list")
    escalations.set_defaults(existing=True, command=cmd_escalations)

    approve = commands.add_parser("approve", parents=[common], help="approve an escalation")
    approve.add_argument("escalation", type=_escalation_id, metavar="ESCALATION_ID")
    approve.add_argument("--reason", help="why (recorded with your name)")
    approve.set_defaults(existing=True, command=cmd_approve)

    reject = commands.add_parser("reject", parents=[common], help="reject an escalation")
    reject.add_argument("escalation", type=_escalation_id, metavar="ESCALATION_ID")
    reject.add_argument("--reason", required=True, help="why (the agent is told)")
    reject.set_defaults(existing=True, command=cmd_reject)


def _escalation_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not an escalation id: {text!r} (a positive number)")
    return int(text)


async def cmd_escalations(database: Database, args: argparse.Namespace) -> None:
    async with database.session(readonly=True) as db:
        session_id = await _session_id(SessionRepository(db), args.session)
        repo = EscalationRepository(db)
        rows = await (repo.list_all(session_id) if args.all else repo.list_pending(session_id))
    if args.json:
        print(json.dumps([escalation_summary(row) for row in rows], default=str))
        return
    if not rows:
        print("No escalations waiting." if not args.all else "No escalations.")
        return
    for row in rows:
        summary = escalation_summary(row)
        score = f"{row.score:.2f}" if row.score is not None else "  - "
        status = "" if row.status is EscalationStatus.PENDING else f" [{row.status.value}]"
        print(f"#{row.id:<5} {summary['kind']:<14} score {score}  {row.summary}{status}")
        for violation in summary["violations"][:3]:
            print(f"       {violation}")


def escalation_summary(row: WaveEscalation) -> dict[str, Any]:
    action = row.action or {}
    return {
        "id": row.id,
        "session_id": str(row.session_id),
        "story": action.get("story"),
        "kind": row.kind.value,
        "status": row.status.value,
        "summary": row.summary,
        "tool": action.get("tool"),
        "arguments": action.get("arguments"),
        "score": row.score,
        "violations": [
            v.get("rule", v) if isinstance(v, dict) else v for v in (row.violations or [])
        ],
        "reasoning": action.get("reasoning"),
        "created_at": row.created_at.isoformat(),
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "reason": row.reason,
    }


async def cmd_approve(database: Database, args: argparse.Namespace) -> None:
    await _decide(database, args, EscalationStatus.APPROVED)


async def cmd_reject(database: Database, args: argparse.Namespace) -> None:
    await _decide(database, args, EscalationStatus.REJECTED)


async def _decide(database: Database, args: argparse.Namespace, status: EscalationStatus) -> None:
    settings: Settings = args.settings
    by = settings.operator_name
    async with database.session() as db:
        escalation = await EscalationRepository(db).decide(args.escalation, status, by, args.reason)
        summary = escalation.summary
    print(f"escalation #{args.escalation} {status.value} by {by}: {summary}")


async def _session_id(repo: SessionRepository, text: str | None) -> uuid.UUID | None:
    if text is None:
        return None
    try:
        session_id = uuid.UUID(text)
    except ValueError:
        matches = [s.id for s in await repo.list() if str(s.id).startswith(text.lower())]
        if len(matches) == 1 and len(text) >= 4:
            return matches[0]
        raise UserError(
            f"not a session id: {text!r} (a UUID or a unique prefix of at least 4 characters)"
        ) from None
    if await repo.get(session_id) is None:
        raise NotFoundError(f"session {session_id} not found")
    return session_id
