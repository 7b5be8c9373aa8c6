"""What the rule modules share about an argv and its paths: how options split from operands,
and which paths hold keys or credentials (read, staged, copied or uploaded alike).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from wave_tui.safety.context import ResolvedPath, SafetyContext

# Secrets wherever they sit, matched as a run of path segments (a directory covers its files).
SECRET_SEGMENTS: tuple[str, ...] = (
    *(".ssh", ".aws/credentials", ".aws/sso", ".config/gcloud", ".gnupg", ".azure"),
    *(".docker/config.json", ".kube/config", ".password-store", ".config/gh/hosts.yml"),
)
HOME_SECRETS = (".npmrc", ".pypirc")  # in a project these usually hold no token
_SYSTEM_SECRETS: tuple[str, ...] = (
    *("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d", "/root"),
    *("/etc/ssh/ssh_host_*_key", "/proc/*/environ"),
)
_SECRET_NAMES: tuple[str, ...] = (
    *(".env", "*.env", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx"),
    *("credentials", "credentials*.json", "secrets.json", "secrets.y*ml", "master.key"),
    *(".netrc", ".pgpass", ".git-credentials", ".vault-token", ".htpasswd"),
    *("id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*"),
    # shell and client histories keep passwords typed on a command line
    *(".bash_history", ".zsh_history", ".python_history", ".psql_history", ".mysql_history"),
)
_SECRET_DIRS = frozenset({"secrets", ".secrets"})  # a project's, or /run/secrets of a container
_ENV_TEMPLATE_WORDS = ("example", "sample", "template", "dist")
_PUBLIC_PEM_WORDS = ("cert", "chain", "bundle", "pub")


def secret_name(name: str) -> bool:
    """Whether a file name alone says it holds secrets (`.env.prod`, `id_rsa`, `server.key`)."""
    lower = name.lower()
    if lower.endswith(".pub"):
        return False
    if lower.startswith(".env"):
        return lower == ".env" or (
            lower.startswith(".env.") and not any(w in lower for w in _ENV_TEMPLATE_WORDS)
        )
    if lower.endswith(".pem"):
        public = any(w in lower for w in _PUBLIC_PEM_WORDS)
        return not (public or lower.startswith(("ca-", "ca_", "ca.")))
    return any(fnmatchcase(lower, p) for p in _SECRET_NAMES)


def show_path(target: ResolvedPath) -> str:
    """The path as the operator reads it: relative inside the worktree, absolute outside."""
    if target.relative not in (None, "."):
        return str(target.relative)
    absolute = str(target.absolute) if target.absolute is not None else None
    return target.raw if absolute in (None, target.raw) else f"{target.raw} ({absolute})"


def path_parts(target: ResolvedPath) -> tuple[str, ...]:
    """The path's segments: relative to the worktree when inside, else as absolute as known."""
    if target.relative is not None:
        return PurePosixPath(target.relative).parts
    return (target.absolute or PurePosixPath(target.raw)).parts


def secret_path(target: ResolvedPath, ctx: SafetyContext) -> bool:
    """Whether a resolved path holds keys or credentials, in the worktree, a home or the system."""
    parts = path_parts(target)
    if parts and (secret_name(parts[-1]) or not _SECRET_DIRS.isdisjoint(parts)):
        return True
    absolute = target.absolute
    text = f"{absolute or target.raw}/"
    if any(f"/{segment}/" in text for segment in SECRET_SEGMENTS):
        return not text.endswith(".pub/")
    if absolute is None or target.inside:
        return False  # in the worktree only names say it: it may live under /root itself
    if any(absolute == ctx.home / name for name in HOME_SECRETS):
        return True
    return any(fnmatchcase(str(absolute), p) or absolute.is_relative_to(p) for p in _SYSTEM_SECRETS)


def is_secret_path(path: str, ctx: SafetyContext) -> bool:
    """Whether `path`, as an action names it, holds keys or credentials."""
    return secret_path(ctx.resolve(path.strip().strip("'\"")), ctx)


@dataclass(frozen=True, slots=True)
class Options:
    """An argv split into options (name, value or None) and operands, the way a client reads it."""

    options: tuple[tuple[str, str | None], ...]
    operands: tuple[str, ...]

    def has(self, *names: str) -> bool:
        return any(name in names for name, _ in self.options)

    def values(self, *names: str) -> list[str]:
        return [value for name, value in self.options if name in names and value is not None]

    def last(self, *names: str) -> str | None:
        """The value the last of `names` was given (what a client that keeps the last uses)."""
        found = self.values(*names)
        return found[-1] if found else None


def split_options(
    args: Sequence[str],
    takes_value: Iterable[str],
    *,
    attached_only: Iterable[str] = (),
    single_dash_words: bool = False,
    stop_at_operand: bool = False,
) -> Options:
    """Tell options from operands. `takes_value` names options that consume a value (`-o`,
    `--output`); short clusters (`-sSLo f`) are unpacked, `--opt=value` and `-Xvalue` split.
    `attached_only` short options take a value only when it is glued on (mysql `-psecret`).
    `single_dash_words` reads `-cmd` as one option (sqlite3), not a cluster. With
    `stop_at_operand`, everything from the first operand on is an operand (git's subcommand)."""
    valued = frozenset(takes_value)
    glued = frozenset(attached_only)
    options: list[tuple[str, str | None]] = []
    operands: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            operands.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            if stop_at_operand:
                operands.extend(args[i:])
                break
            continue
        if arg.startswith("--") or single_dash_words:
            name, eq, value = arg.partition("=")
            if eq:
                options.append((name, value))
            elif name in valued and i < len(args):
                options.append((name, args[i]))
                i += 1
            else:
                options.append((name, None))
            continue
        for j, letter in enumerate(arg[1:], start=1):
            name = "-" + letter
            rest = arg[j + 1 :]
            if name in glued:
                options.append((name, rest or None))
                break
            if name in valued:
                if rest:
                    options.append((name, rest))
                elif i < len(args):
                    options.append((name, args[i]))
                    i += 1
                else:
                    options.append((name, None))
                break
            options.append((name, None))
    return Options(tuple(options), tuple(operands))


def short_and_long(letters: str, long_names: Iterable[str] = ()) -> frozenset[str]:
    """Option names that take a value, from a string of short letters and a list of long ones."""
    return frozenset({f"-{letter}" for letter in letters} | set(long_names))
