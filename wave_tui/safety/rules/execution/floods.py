"""Load on other hosts and on this one: requests repeated in a loop, load generators,
scanners, packet floods and a fork bomb.

Traffic a story sends to its own machine is its business; aimed at another host it is a flood
or an attack on someone else's service. A fork bomb takes down the machine itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    FLOOD,
    FORK_BOMB,
    LOAD_TEST,
    REQUEST_LOOP,
    SCAN,
)
from wave_tui.safety.rules.execution.common import (
    LOCAL_HOST,
    Checker,
    show,
    split_args,
    table,
    url_hosts,
    word_set,
)
from wave_tui.safety.rules.execution.packages import PIP
from wave_tui.safety.shell import Loop, SimpleCommand


def fork_bomb(cmd: SimpleCommand) -> list[Finding]:
    """A function that calls itself into a pipe or the background doubles its processes on
    every call: `:(){ :|:& };:`."""
    calls_itself = bool(cmd.function) and cmd.program == cmd.function
    if calls_itself and cmd.connector in ("|", "|&", "&"):
        return [FORK_BOMB.finding(f"{cmd.function}() calls itself with {cmd.connector!r}")]
    return []


_FETCHING_PROGRAMS = word_set("curl wget wget2 http https xh xhs httpie aria2c nc ncat")
_BARE_HOST = re.compile(r"^([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:]+\])(:\d+)?(/\S*)?$", re.I)
_PACKAGE_FETCHES = {"npm": ("install", "i", "view", "info"), "git": ("clone", "fetch", "pull")}
_PACKAGE_FETCHES |= {"pnpm": ("install", "add"), "yarn": ("add", "install"), "gem": ("install",)}


def _request_hosts(cmd: SimpleCommand) -> list[str] | None:
    """The hosts a command sends requests to ([] when they come from its input), or None when
    it sends none."""
    args = cmd.argv[1:]
    if cmd.program in _FETCHING_PROGRAMS:
        bare = [a for a in args if not a.startswith("-") and _BARE_HOST.match(a) and "." in a]
        return url_hosts(args) or [b.split("/")[0].split(":")[0].lower() for b in bare]
    if PIP.match(cmd.program) and args[:1] in (("download",), ("install",)):
        return url_hosts(args) or ["pypi.org"]
    if args and args[0] in _PACKAGE_FETCHES.get(cmd.program, ()):
        return url_hosts(args) or [f"{cmd.program} registry"]
    return None


_SEQ = re.compile(r"\bseq\s+((?:-?[\d.]+\s*){1,3})")
_BRACE_RANGE = re.compile(r"\{(-?\d+)\.\.(-?\d+)(?:\.\.-?\d+)?\}")
_C_STYLE_BOUND = re.compile(r"<=?\s*(\d+)")
_FOREVER = re.compile(
    r"^(while\s+(true|:|/bin/true|\[\s*1\s*\]|\(\(\s*1\s*\)\))|until\s+(false|/bin/false))$"
)
_MANY, _FEW = 1000, 20  # rounds that make a flood; rounds too few to matter


def _list_size(items: str) -> float | None:
    """How many rounds a `for … in ITEMS` or `parallel ::: ITEMS` makes, when it can be told."""
    seq = _SEQ.search(items)
    if seq:
        numbers = [float(n) for n in seq.group(1).split()]
        first, step, last = (
            (1.0, 1.0, numbers[0])
            if len(numbers) == 1
            else (numbers[0], 1.0, numbers[1])
            if len(numbers) == 2
            else (numbers[0], numbers[1] or 1.0, numbers[2])
        )
        return max(0.0, (last - first) / step + 1)
    brace = _BRACE_RANGE.search(items)
    if brace:
        return abs(int(brace.group(2)) - int(brace.group(1))) + 1.0
    if re.search(r"[$`*?\[]", items):
        return None
    return float(len(items.split()))


def _loop_size(loop: Loop) -> float | None:
    """How many rounds a loop makes (infinite for `while true`), or None when it depends on its
    input (`xargs`, `while read`) or on time (`watch` polls: the operator decides)."""
    header = loop.header
    kind = header.split(" ", 1)[0]
    if kind in ("while", "until"):
        return float("inf") if _FOREVER.match(header) else None
    if kind in ("for", "select"):
        if header.startswith(f"{kind} (("):
            bound = _C_STYLE_BOUND.search(header)
            return float(bound.group(1)) if bound else None
        _, has_items, items = header.partition(" in ")
        return _list_size(items) if has_items else None
    if kind == "parallel" and " ::: " in header:
        return _list_size(header.split(" ::: ", 1)[1])
    return None


def repeated_requests(cmd: SimpleCommand) -> list[Finding]:
    """Requests to a non-local host inside a loop or repeater: a flood when the loop never ends
    or runs a thousand rounds without pausing; else the operator decides, unless the loop is a
    handful of rounds."""
    if not cmd.loops:
        return []
    hosts = _request_hosts(cmd)
    if hosts is None or (hosts and all(LOCAL_HOST.match(h) for h in hosts)):
        return []
    rounds: float | None = 1.0
    detail = f"{' / '.join(loop.header for loop in cmd.loops)} → {show(cmd)}"
    for loop in cmd.loops:
        size = _loop_size(loop)
        if size is not None and size >= _MANY and not loop.pauses:
            return [FLOOD.finding(detail)]
        rounds = None if size is None or rounds is None else rounds * size
    return [] if rounds is not None and rounds <= _FEW else [REQUEST_LOOP.finding(detail)]


def _load_test(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    if set(cmd.argv[1:]) & {"-h", "--help", "-V", "--version", "version"}:
        return []
    hosts = url_hosts(cmd.argv[1:])
    if hosts and all(LOCAL_HOST.match(h) for h in hosts):
        return []
    return [LOAD_TEST.finding(show(cmd))]  # a remote target, or one read from a file


_SCANNERS = word_set("nmap masscan zmap nikto sqlmap gobuster dirb dirsearch ffuf wfuzz hydra")
_SCANNERS |= word_set("medusa nuclei hping3 hping")
_HOST_LIKE = re.compile(
    r"^(\d{1,3}(\.\d{1,3}){3}(/\d+)?|localhost|[0-9a-f]*:[0-9a-f:]+"
    r"|([a-z0-9-]+\.)+[a-z]{2,})$",
    re.I,
)
_NOT_A_HOST = re.compile(r"\.(txt|lst|list|json|xml|csv|ya?ml|log|out|conf|cfg|nse|html?)$", re.I)
_HPING_FLOOD = re.compile(r"^(--flood|--faster|-i\s*u\d+|-iu\d+)$")


def _targets_are_local(args: Sequence[str]) -> bool:
    """Whether every host a scanner or ping is aimed at is this machine (none found: no)."""
    hosts = url_hosts(args) + [
        a.lower() for a in args if _HOST_LIKE.match(a) and not _NOT_A_HOST.search(a)
    ]
    local = [h.startswith("127.") if "/" in h else bool(LOCAL_HOST.match(h)) for h in hosts]
    return bool(local) and all(local)


def _scan(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    if not args or set(args) <= {"-h", "--help", "-V", "--version", "version"}:
        return []
    if _targets_are_local(args):
        return []
    if cmd.program.startswith("hping") and any(_HPING_FLOOD.match(a) for a in args):
        return [FLOOD.finding(show(cmd))]
    return [SCAN.finding(show(cmd))]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def _ping(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`ping -f` sends as fast as replies come back (or a hundred a second)."""
    args = cmd.argv[1:]
    flood = any(re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", a) for a in args)
    intervals = split_args(args, word_set("-c -i -s -W -w -t -I -l")).value("-i")
    flood |= any(_number(i) < 0.2 for i in intervals)
    return [FLOOD.finding(show(cmd))] if flood and not _targets_are_local(args) else []


# The programs this module judges, by name.
CHECKERS: dict[str, Checker] = {
    **table(_load_test, "ab hey wrk wrk2 siege bombardier h2load vegeta locust k6 artillery oha"),
    **table(_scan, " ".join(_SCANNERS)),
    "ping": _ping,
}
