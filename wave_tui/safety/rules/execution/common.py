"""What every execution rule reads from a command: its argv split the way most CLIs read it,
the hosts its URLs name, and the text a finding shows for it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.paths import split_options
from wave_tui.safety.shell import SimpleCommand

Checker = Callable[[SimpleCommand, SafetyContext], list[Finding]]


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def table(checker: Checker, names: str) -> dict[str, Checker]:
    """A dispatch table giving each of the space-separated program `names` to `checker`."""
    return dict.fromkeys(names.split(), checker)


@dataclass(frozen=True, slots=True)
class Args:
    """An argv split the way most CLIs read it: options (name before any `=`), the values of
    options that take one, and operands."""

    options: tuple[str, ...]
    values: tuple[tuple[str, str], ...]
    operands: tuple[str, ...]

    def has(self, *names: str) -> bool:
        return any(option in names for option in self.options)

    def has_letter(self, letters: str) -> bool:
        """Whether a short option cluster (`-Rf`) holds any of `letters`."""
        clusters = (o[1:] for o in self.options if not o.startswith("--"))
        return any(letter in cluster for cluster in clusters for letter in letters)

    def value(self, *names: str) -> list[str]:
        return [value for option, value in self.values if option in names]


def split_args(args: Sequence[str], takes_value: frozenset[str] = frozenset()) -> Args:
    """`split_options` with every `-word` read as one option (`-Rf` stays `-Rf`; `has_letter`
    looks inside it), seen as option names, given values and operands."""
    split = split_options(args, takes_value, single_dash_words=True)
    return Args(
        tuple(name for name, _ in split.options),
        tuple((name, value) for name, value in split.options if value is not None),
        split.operands,
    )


def show(cmd: SimpleCommand) -> str:
    text = shlex.join(cmd.argv)
    if cmd.via:
        text = f"{' '.join(cmd.via)} → {text}"
    return text if len(text) <= 160 else text[:157] + "..."


def outside(path: str, ctx: SafetyContext) -> bool:
    """Outside the worktree, or known only at run time (judged as outside, as everywhere)."""
    return not ctx.resolve(path).inside


_URL_HOST = re.compile(r"[a-z][a-z0-9+.-]*://(?:[^/@\s]*@)?(\[[^\]]*\]|[^/:\s?#]+)", re.I)


def url_hosts(words: Sequence[str]) -> list[str]:
    return [m.group(1).lower() for w in words for m in _URL_HOST.finditer(w)]


def approved_urls(text: str, ctx: SafetyContext) -> bool:
    hosts = url_hosts([text])
    return bool(hosts) and all(ctx.host_allowed(host) for host in hosts)


# This machine's names and addresses: traffic to them never leaves it.
LOCAL_HOST = re.compile(r"^(localhost|.*\.localhost|127(\.\d+){3}|0\.0\.0\.0|\[?::1\]?)$")
