"""Code the layer cannot follow: inline programs (`python -c`, `node -e`, `perl -e`, …) and
scripts run from outside the worktree.

Inline code that starts programs, evaluates strings or deletes files does what no argv shows,
so the operator decides; a literal path it deletes is judged like rm's. `python -m pip` and
`manage.py` are handed to the package and database rules.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    INLINE_DELETE,
    INLINE_DELETE_OUTSIDE,
    INLINE_EVAL,
    INLINE_PROCESS,
    PUBLISH,
    SCRIPT_OUTSIDE,
)
from wave_tui.safety.rules.execution.common import outside, show, split_args, word_set
from wave_tui.safety.rules.execution.databases import django
from wave_tui.safety.rules.execution.packages import pip
from wave_tui.safety.shell import SHELLS, SimpleCommand


@dataclass(frozen=True, slots=True)
class _Language:
    code_letters: str  # `-c`, `-e`: the option whose value is the program
    takes_value: frozenset[str]
    process: re.Pattern[str]
    evaluates: re.Pattern[str]
    deletes: re.Pattern[str]  # group `fn` the call, group `path` a literal first argument


# An optional literal first argument: `('/etc/x'`, `"build"`; absent when the argument is computed.
_ARGUMENT = r"\s*(?:(?P<quote>['\"])(?P<path>[^'\"]*)(?P=quote))?"
PYTHON = _Language(
    "c",
    word_set("-W -X --check-hash-based-pycs"),
    re.compile(
        r"\bos\s*\.\s*(system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork)\b|\bsubprocess\b"
        r"|\bpty\s*\.\s*spawn\b|\bcommands\s*\.\s*getoutput\b"
    ),
    re.compile(r"(?<![\w.])(eval|exec|compile|__import__)\s*\("),
    re.compile(
        r"(?P<fn>\b(shutil\.)?rmtree|\bos\.(remove|unlink|rmdir|removedirs)|\.unlink)\s*\("
        + _ARGUMENT
    ),
)
_NODE = _Language(
    "ep",
    word_set("-r --require --import --loader --experimental-loader --input-type -C --conditions"),
    re.compile(r"child_process|\b(execSync|execFileSync|spawnSync|execFile|spawn|fork)\s*\("),
    re.compile(r"(?<![\w.])eval\s*\(|\bnew\s+Function\s*\(|\bvm\s*\.\s*run"),
    re.compile(r"(?P<fn>\b(fs\.)?(rmSync|rmdirSync|unlinkSync|rm|rmdir|unlink))\s*\(" + _ARGUMENT),
)
_PERL = _Language(
    "eE",
    word_set("-I -M -m -x -0 -l"),
    re.compile(r"(?<![\w$@%>])(system|exec)\b\s*[(\s'\"]|`|\bqx\s*\W"),
    re.compile(r"(?<![\w$])eval\s*[(\s'\"$]"),
    re.compile(r"(?P<fn>\b(unlink|rmtree|remove_tree|rmdir))\b\s*\(?" + _ARGUMENT),
)
_RUBY = _Language(
    "e",
    word_set("-I -r -E -C"),
    re.compile(r"(?<![\w.])(system|exec|spawn)\s*[(\s'\"]|`|%x|\bIO\.popen|\bOpen3|Process\.spawn"),
    re.compile(r"(?<![\w.])(eval|instance_eval|class_eval)\s*[(\s'\"]"),
    re.compile(
        r"(?P<fn>FileUtils\.(rm_rf|rm_r|rm|remove_dir|remove_entry)|File\.(delete|unlink)"
        r"|Dir\.(delete|rmdir))\s*\(?" + _ARGUMENT
    ),
)
_PHP = _Language(
    "r",
    word_set("-c -d -z"),
    re.compile(r"(?<![\w>:$])(system|exec|shell_exec|passthru|proc_open|popen|pcntl_exec)\s*\(|`"),
    re.compile(r"(?<![\w>:$])(eval|assert|create_function)\s*\("),
    re.compile(r"(?P<fn>(?<![\w>:$])(unlink|rmdir))\s*\(" + _ARGUMENT),
)
_LUA = _Language(
    "e",
    word_set("-l"),
    re.compile(r"\bos\s*\.\s*execute\b|\bio\s*\.\s*popen\b"),
    re.compile(r"(?<![\w.])(load|loadstring|dofile)\s*\("),
    re.compile(r"(?P<fn>\bos\s*\.\s*remove)\s*\(" + _ARGUMENT),
)
LANGUAGES = (
    (re.compile(r"^(python|pypy)[0-9.]*$"), PYTHON),
    (re.compile(r"^(node|nodejs)$"), _NODE),
    (re.compile(r"^perl[0-9.]*$"), _PERL),
    (re.compile(r"^ruby[0-9.]*$"), _RUBY),
    (re.compile(r"^php[0-9.]*$"), _PHP),
    (re.compile(r"^(lua[0-9.]*|luajit)$"), _LUA),
)
_LONG_CODE_OPTIONS = frozenset({"--eval", "--print"})
_RECURSIVE_DELETES = re.compile(r"rmtree|removedirs|rmSync|\.rm$|^rm$|rm_r|remove_dir|remove_tree")


@dataclass(frozen=True, slots=True)
class _Invocation:
    """Where an interpreter's program comes from: inline code, a module, a script or stdin."""

    code: str | None = None
    module: str | None = None
    script: str | None = None
    rest: tuple[str, ...] = ()  # the module's or script's own arguments


def invocation(language: _Language, args: Sequence[str]) -> _Invocation:
    i = 0
    while i < len(args):
        arg = args[i]
        following = args[i + 1] if i + 1 < len(args) else ""
        if arg in ("-", "--") or not arg.startswith("-"):
            script = None if arg in ("-", "--") else arg
            return _Invocation(script=script, rest=tuple(args[i + 1 :]))
        name, eq, value = arg.partition("=")
        if name in _LONG_CODE_OPTIONS:
            return _Invocation(code=value if eq else following)
        if arg.startswith("--"):
            i += 2 if arg in language.takes_value else 1
            continue
        for position, letter in enumerate(arg[1:], start=2):
            attached = arg[position:]
            if letter in language.code_letters:
                return _Invocation(code=attached or following)
            if language is PYTHON and letter == "m":
                module, start = (attached, i + 1) if attached else (following, i + 2)
                return _Invocation(module=module, rest=tuple(args[start:]))
            if f"-{letter}" in language.takes_value:
                i += 0 if attached else 1  # `-W error` takes the next word, `-Werror` not
                break
        i += 1
    return _Invocation()


def interpreter(cmd: SimpleCommand, ctx: SafetyContext, language: _Language) -> list[Finding]:
    run = invocation(language, cmd.argv[1:])
    if run.module == "pip":
        return pip(cmd, run.rest, ctx)
    uploads = "upload" in run.rest
    if uploads and (run.module == "twine" or (run.script or "").endswith("setup.py")):
        return [PUBLISH.finding(show(cmd))]
    if posixpath.basename(run.script or "") == "manage.py" or run.module == "django":
        return django(cmd, run.rest)
    return _inline_code(cmd, run.code, language, ctx) if run.code else []


def _inline_code(
    cmd: SimpleCommand, code: str, language: _Language, ctx: SafetyContext
) -> list[Finding]:
    """What inline code does that the layer cannot follow: start programs, evaluate strings,
    delete files. A literal path is judged like rm's would be; a computed one is escalated."""
    found: list[Finding] = []
    if language.process.search(code):
        found.append(INLINE_PROCESS.finding(show(cmd)))
    if language.evaluates.search(code):
        found.append(INLINE_EVAL.finding(show(cmd)))
    for match in language.deletes.finditer(code):
        path = match.group("path")
        if path is not None and outside(path, ctx):
            found.append(INLINE_DELETE_OUTSIDE.finding(f"{match.group('fn')}({path!r})"))
        elif path is None or _RECURSIVE_DELETES.search(match.group("fn")):
            found.append(INLINE_DELETE.finding(f"{match.group('fn')}: {show(cmd)}"))
    return found


def script_outside(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """A shell, `source` or an interpreter running a script file from outside the worktree
    (`bash /tmp/x.sh`, `sh < /tmp/payload.sh`): code no one in the story wrote or read."""
    script: str | None = None
    if cmd.program in SHELLS or cmd.program in ("source", "."):
        args = split_args(cmd.argv[1:], word_set("-o +o -O +O --rcfile --init-file"))
        if args.has_letter("c") and cmd.program not in ("source", "."):
            return []
        reads = [r for r in cmd.redirects if r not in cmd.writes]
        script = args.operands[0] if args.operands else (reads[0] if reads else None)
    else:
        language = next((lang for pattern, lang in LANGUAGES if pattern.match(cmd.program)), None)
        script = invocation(language, cmd.argv[1:]).script if language else None
    if script is None or script.startswith("/dev/"):
        return []
    resolved = ctx.resolve(script)
    if resolved.absolute is None or resolved.inside:
        return []  # known only at run time: the file may well be the story's own
    scratch = resolved.absolute.parts[1:2] == ("tmp",) or resolved.absolute.parts[1:3] in (
        ("var", "tmp"),
        ("dev", "shm"),
    )
    if cmd.program in ("source", ".") and not scratch:
        return []  # `source ~/.bashrc` is ordinary setup; a script dropped in /tmp is not
    return [SCRIPT_OUTSIDE.finding(show(cmd))]
