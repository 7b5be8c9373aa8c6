"""One event as one line of text: the same words in `wave run`'s output and the console's log."""

from __future__ import annotations

import json
from typing import Any

from wave_tui.engine.events import Event


def describe(event: Event) -> str:
    """What happened, without when or to which story (the caller's columns say that)."""
    p = event.payload
    if event.kind == "step":
        gate = f" {p['gate']} {'PASS' if p.get('passed') else 'FAIL'}" if p.get("gate") else ""
        return f"{p.get('node')} → {p.get('phase')}{gate}  tokens {p.get('tokens')}"
    if event.kind == "tool_call":
        verdict = f"[{p.get('decision')} {p.get('score')}]"
        return f"{p.get('tool')} {short(p.get('arguments'))}  {verdict}"
    if event.kind == "agent_turn":
        return f"{p.get('conversation')} {', '.join(p.get('tool_calls') or []) or 'text'}"
    if event.kind == "test_run":
        return str(p.get("summary"))
    return " ".join(f"{k}={short(v)}" for k, v in p.items() if k != "story")


def event_line(event: Event) -> str:
    """The headless console's line: local time, story, agent, kind, what happened."""
    story = str(event.payload.get("story") or "")
    when = event.created_at.astimezone().strftime("%H:%M:%S")
    detail = describe(event)
    return f"{when} {story:<10} {event.agent or '-':<10} {event.kind:<18} {detail}".rstrip()


def short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
