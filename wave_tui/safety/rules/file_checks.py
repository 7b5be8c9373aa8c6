"""Where a file action lands: the read, write and delete checks the file tools and the shell
programs share. Every path is judged lexically through `SafetyContext.resolve`; a path known only
at run time counts as outside the worktree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import PurePosixPath

from wave_tui.safety.context import ResolvedPath, SafetyContext
from wave_tui.safety.findings import Finding, Rule, unique
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules import file_content
from wave_tui.safety.rules.paths import (
    HOME_SECRETS,
    SECRET_SEGMENTS,
    path_parts,
    secret_path,
    show_path,
)

RM_RF = Rule(
    "exec.destroy.rm_rf",
    "security.destructive_commands",
    Severity.CRITICAL,
    "a recursive delete of the system, the home directory, the repository or a path known "
    "only at run time",
)
DELETE_OUTSIDE = Rule(
    "file.delete.outside_worktree",
    "data_integrity.preserve_data",
    Severity.HIGH,
    "deletes a file outside the story's worktree (or one known only at run time)",
)
DELETE_SYSTEM = Rule(
    "file.delete.system_location",
    "system_safety.production_changes",
    Severity.CRITICAL,
    "deletes a system file, a log or a shell/ssh file of the home directory",
)
DELETE_REPOSITORY = Rule(
    "file.delete.repository",
    "data_integrity.preserve_data",
    Severity.CRITICAL,
    "deletes the worktree itself or its .git",
)
DELETE_FORBIDDEN = Rule(
    "file.delete.forbidden",
    "compliance.approved_plan",
    Severity.HIGH,
    "deletes a file the story forbids touching",
)
DELETE_RECURSIVE = Rule(
    "file.delete.recursive_in_worktree",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "a recursive delete inside the worktree: git cannot bring back untracked files",
)
LINK_OUTSIDE = Rule(
    "file.link.outside_worktree",
    "data_integrity.validate_input",
    Severity.MEDIUM,
    "links into the worktree a path outside it: later paths through the link escape the checks",
)
TEMP_DIR = Rule(
    "file.temp_dir",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "writes or deletes a file in /tmp: outside the worktree, shared with every other process",
)
DELETE_DATABASE = Rule(
    "file.delete.database",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "deletes a database file: its rows are in no commit",
)
DELETE_OUT_OF_SCOPE = Rule(
    "file.delete.out_of_scope",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "deletes a file the story's create/modify lists do not name: scope creep",
)
TRUNCATE = Rule(
    "file.write.truncate",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "empties a file in place: what it held is lost",
)
WRITE_OUTSIDE = Rule(
    "file.write.outside_worktree",
    "data_integrity.preserve_data",
    Severity.HIGH,
    "writes outside the story's worktree (or to a path known only at run time)",
)
WRITE_SYSTEM = Rule(
    "file.write.system_location",
    "system_safety.production_changes",
    Severity.CRITICAL,
    "writes a system file, a disk device, a crontab or a shell/ssh file of the home directory",
)
WRITE_FORBIDDEN = Rule(
    "file.write.forbidden",
    "compliance.approved_plan",
    Severity.HIGH,
    "writes a file the story forbids touching",
)
WRITE_OUT_OF_SCOPE = Rule(
    "file.write.out_of_scope",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "writes a file the story's create/modify lists do not name: scope creep",
)
SAFETY_CONFIG = Rule(
    "config.safety_edit",
    "compliance.validation_gates",
    Severity.CRITICAL,
    "changes the project's own safety configuration",
)
CI_CONFIG = Rule(
    "file.ci_config.edit",
    "compliance.validation_gates",
    Severity.MEDIUM,
    "changes CI or pre-commit configuration: the checks a change must pass",
)
GIT_INTERNALS = Rule(
    "file.git_internals.edit",
    "compliance.audit_trail",
    Severity.HIGH,
    "changes git's own files (hooks, refs, objects) behind git's back",
)
READ_SECRET = Rule(
    "file.read.secret",
    "security.expose_secrets",
    Severity.HIGH,
    "reads keys, passwords or credentials",
)
READ_PRIVATE = Rule(
    "file.read.private",
    "security.expose_secrets",
    Severity.MEDIUM,
    "reads a home directory, the user list, system logs or the filesystem root",
)
READ_OUTSIDE = Rule(
    "file.read.outside_worktree",
    "security.expose_secrets",
    Severity.LOW,
    "reads outside the story's worktree (system files, installed libraries)",
)

RULES: tuple[Rule, ...] = (
    RM_RF,
    DELETE_OUTSIDE,
    DELETE_SYSTEM,
    DELETE_REPOSITORY,
    DELETE_FORBIDDEN,
    DELETE_RECURSIVE,
    DELETE_DATABASE,
    DELETE_OUT_OF_SCOPE,
    LINK_OUTSIDE,
    TEMP_DIR,
    TRUNCATE,
    WRITE_OUTSIDE,
    WRITE_SYSTEM,
    WRITE_FORBIDDEN,
    WRITE_OUT_OF_SCOPE,
    SAFETY_CONFIG,
    CI_CONFIG,
    GIT_INTERNALS,
    READ_SECRET,
    READ_PRIVATE,
    READ_OUTSIDE,
)

# --- where a path is ------------------------------------------------------------------------

_SYSTEM_DIRS: tuple[str, ...] = (
    *("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/boot", "/sys", "/proc"),
    *("/dev", "/root", "/var/log", "/var/lib", "/var/spool/cron"),
)
_HARMLESS_DEVICES: tuple[str, ...] = (
    *("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/fd"),
    *("/dev/stdin", "/dev/stdout", "/dev/stderr"),
)
_HOME_SYSTEM: tuple[str, ...] = (
    *(".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc"),
    *(".zprofile", ".zshenv", ".gitconfig", ".ssh", ".config/autostart", ".config/systemd"),
)
_TEMP_DIRS = ("/tmp", "/var/tmp")
_PRIVATE_READS = ("/home", "/root", "/etc/passwd", "/etc/group", "/var/log", "/var/mail")
_HOME_LIBRARIES = (".local/lib", ".pyenv")  # installed code under a home: harmless to read
_DATA_FILES = ("*.db", "*.sqlite", "*.sqlite3")
# Names that are directories by convention: judged from the path alone, as everything here is.
_DIRECTORY_NAMES = frozenset(
    {"src", "lib", "app", "tests", "test", "fixtures", "data", "docs", "migrations", "versions"}
    | {"static", "templates", "assets", "build", "dist", "vendor", "node_modules", "scripts"}
    | {"config", "public", "media", "uploads", "instance", "logs", "backups", "snapshots"}
)
_CACHES: tuple[str, ...] = (
    *("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".coverage", "htmlcov"),
    *(".coverage.*", "*.pyc", "*.pyo", "*.egg-info"),
)
CACHE_TEXT = re.compile(r"__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|htmlcov|\.py[co]$")
_SAFETY_NAMES = ("wave-policy.toml", "wave.toml", ".wave-policy*")
_CI_NAMES = (".pre-commit-config.yaml", ".pre-commit-config.yml", ".gitlab-ci.yml")


def check_write(path: str, content: str, ctx: SafetyContext) -> list[Finding]:
    """Findings for writing `content` ("" when unknown, as for a shell redirect) to `path`."""
    target = ctx.resolve(path)
    if target.absolute is not None and _harmless_device(target.absolute):
        return []
    return unique([*write_location(target, ctx), *file_content.check_content(target, content, ctx)])


def check_read(path: str, ctx: SafetyContext) -> list[Finding]:
    """Findings for reading (or listing) `path`: secrets anywhere, anything outside the worktree."""
    return read_target(ctx.resolve(path), ctx, recursive=False)


def check_delete(path: str, ctx: SafetyContext) -> list[Finding]:
    """Findings for deleting `path` with the delete_file tool: one file, or everything under a
    path that names a directory (`tests/fixtures`, `build/`)."""
    name = PurePosixPath(path).name
    directory = path.endswith("/") or ("." not in name and name.lower() in _DIRECTORY_NAMES)
    return delete_target(ctx.resolve(path), ctx, recursive=directory)


# --- the three checks -----------------------------------------------------------------------


def write_location(target: ResolvedPath, ctx: SafetyContext) -> list[Finding]:
    """Findings for writing at `target`, whatever is written: outside, system, forbidden, scope."""
    shown = show_path(target)
    found = _config_findings(target, shown)
    if target.absolute is None:
        found.append(WRITE_OUTSIDE.finding(f"{shown} is known only at run time"))
    elif target.relative is None:
        if _system_location(target.absolute, ctx):
            found.append(WRITE_SYSTEM.finding(shown))
        elif _scratch(target.absolute, ctx):
            found.append(TEMP_DIR.finding(shown))
        else:
            found.append(WRITE_OUTSIDE.finding(shown))
    elif ctx.is_forbidden(target.relative):
        found.append(WRITE_FORBIDDEN.finding(target.relative))
    elif not found and (ctx.create or ctx.modify) and not ctx.in_story_scope(target.relative):
        found.append(WRITE_OUT_OF_SCOPE.finding(target.relative))
    return found


def read_target(target: ResolvedPath, ctx: SafetyContext, recursive: bool) -> list[Finding]:
    """Findings for reading `target` (with everything under it, when `recursive`)."""
    absolute = target.absolute
    if absolute is not None and _harmless_device(absolute):
        return []
    if secret_path(target, ctx):
        return [READ_SECRET.finding(show_path(target))]
    if recursive and absolute is not None:
        held = (ctx.home / s for s in (*SECRET_SEGMENTS, *HOME_SECRETS))
        covered = next((path for path in held if path.is_relative_to(absolute)), None)
        if covered is not None:
            return [READ_SECRET.finding(f"{show_path(target)} takes in {covered}")]
    if target.relative is not None:
        return []
    if absolute is not None and _private_location(absolute, ctx):
        return [READ_PRIVATE.finding(show_path(target))]
    return [READ_OUTSIDE.finding(show_path(target))]


def delete_target(target: ResolvedPath, ctx: SafetyContext, recursive: bool) -> list[Finding]:
    """Findings for deleting `target` (with everything under it, when `recursive`)."""
    shown = show_path(target)
    if target.absolute is None:
        rule = RM_RF if recursive else DELETE_OUTSIDE
        return [rule.finding(f"{shown} is known only at run time")]
    found = _config_findings(target, shown)
    rel = target.relative
    if rel is None:
        if recursive:
            found.append(RM_RF.finding(shown))
        elif _system_location(target.absolute, ctx):
            found.append(DELETE_SYSTEM.finding(shown))
        elif _scratch(target.absolute, ctx):
            found.append(TEMP_DIR.finding(shown))
        else:
            found.append(DELETE_OUTSIDE.finding(shown))
        return found
    if rel == "." or rel == ".git" or ("/" not in rel and _glob_takes_git(rel)):
        return [(RM_RF if recursive else DELETE_REPOSITORY).finding(shown)]
    if _is_cache(rel):
        return found
    if ctx.is_forbidden(rel) or (recursive and holds_forbidden(rel, ctx)):
        found.append(DELETE_FORBIDDEN.finding(rel))
    elif not found and (ctx.create or ctx.modify) and not ctx.in_story_scope(rel):
        found.append(DELETE_OUT_OF_SCOPE.finding(rel))
    if recursive:
        found.append(DELETE_RECURSIVE.finding(rel))
    if any(fnmatchcase(PurePosixPath(rel).name, p) for p in _DATA_FILES):
        found.append(DELETE_DATABASE.finding(rel))
    return found


# --- path predicates ------------------------------------------------------------------------


def _under_any(path: PurePosixPath, prefixes: Sequence[str], strict: bool = False) -> bool:
    """Whether `path` is one of `prefixes` or lies below one (only below, when `strict`)."""
    return any(
        path.is_relative_to(p) and not (strict and path == PurePosixPath(p)) for p in prefixes
    )


def _scratch(path: PurePosixPath, ctx: SafetyContext) -> bool:
    """A temporary directory outside the worktree: scratch space, unless the worktree itself lives
    in one, when its neighbours there (other projects, other worktrees) are nobody's scratch."""
    return _under_any(path, _TEMP_DIRS, strict=True) and not _under_any(ctx.root, _TEMP_DIRS)


def _harmless_device(path: PurePosixPath) -> bool:
    return _under_any(path, _HARMLESS_DEVICES)


def _system_location(path: PurePosixPath, ctx: SafetyContext) -> bool:
    if path == PurePosixPath("/") or _under_any(path, _SYSTEM_DIRS):
        return True
    home = ctx.home
    return path.is_relative_to(home) and _under_any(path, [f"{home}/{n}" for n in _HOME_SYSTEM])


def _config_findings(target: ResolvedPath, shown: str) -> list[Finding]:
    parts = path_parts(target)
    name = parts[-1] if parts else ""
    if ".wave" in parts or any(fnmatchcase(name, p) for p in _SAFETY_NAMES):
        return [SAFETY_CONFIG.finding(shown)]
    if ".git" in parts:
        return [GIT_INTERNALS.finding(shown)]
    joined = "/".join(parts)
    if name in _CI_NAMES or "/.github/workflows/" in f"/{joined}/":
        return [CI_CONFIG.finding(shown)]
    return []


def _private_location(path: PurePosixPath, ctx: SafetyContext) -> bool:
    """Somebody's home, the user list, logs, mail, or the root itself (outside the worktree)."""
    home = ctx.home
    if _under_any(path, [f"{home}/{lib}" for lib in _HOME_LIBRARIES]):
        return False
    if path == PurePosixPath("/") or path.is_relative_to(home):
        return True
    return _under_any(path, _PRIVATE_READS)


def _is_cache(rel: str) -> bool:
    return any(fnmatchcase(part, p) for part in PurePosixPath(rel).parts for p in _CACHES)


def _glob_takes_git(name: str) -> bool:
    """Whether a top-level glob such as `.*` or `.g*` would match `.git`."""
    return name.startswith(".") and any(c in name for c in "*?[") and fnmatchcase(".git", name)


def holds_forbidden(rel: str, ctx: SafetyContext) -> bool:
    """Whether a forbidden file lies under the directory `rel` a recursive delete takes."""
    prefix = rel.rstrip("/") + "/"
    return ctx.is_forbidden(prefix + "x") or any(
        p.lstrip("/").startswith(prefix) for p in ctx.forbidden
    )
