"""Shell programs that read, write or delete files, mapped onto the checks the file tools use,
so `cat ~/.ssh/id_rsa` and `read_file` agree.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules import network
from wave_tui.safety.rules.file_checks import (
    CACHE_TEXT,
    DELETE_FORBIDDEN,
    DELETE_RECURSIVE,
    LINK_OUTSIDE,
    READ_SECRET,
    RM_RF,
    TRUNCATE,
    check_read,
    check_write,
    delete_target,
    holds_forbidden,
    read_target,
    write_location,
)
from wave_tui.safety.rules.paths import (
    Options,
    secret_name,
    secret_path,
    short_and_long,
    show_path,
    split_options,
)
from wave_tui.safety.shell import SimpleCommand

DELETE_FROM_INPUT = Rule(
    "file.delete.from_input",
    "data_integrity.validate_input",
    Severity.MEDIUM,
    "deletes files whose names arrive on a pipe: which ones is known only at run time",
)

MOVE_TO_NULL = Rule(
    "file.delete.move_to_null",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "moves a file onto /dev/null, which deletes it",
)

FIND_SECRETS = Rule(
    "file.find.secret_files",
    "security.expose_secrets",
    Severity.MEDIUM,
    "searches the filesystem for key or credential files",
)

RULES: tuple[Rule, ...] = (DELETE_FROM_INPUT, MOVE_TO_NULL, FIND_SECRETS)

# --- programs -------------------------------------------------------------------------------


def _split(
    args: Sequence[str], values: str = "", long_values: frozenset[str] = frozenset()
) -> tuple[list[str], Options]:
    """Operands (empty words dropped: they name no file) and options of a GNU-style argv:
    `values` are the short option letters that take a value, `long_values` the long ones."""
    options = split_options(args, short_and_long(values, long_values))
    return [op for op in options.operands if op], options


def _remove(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """rm, srm, wipe, rmdir, unlink, shred, truncate: each operand is deleted or emptied."""
    values = {"shred": "ns", "truncate": "sr"}.get(cmd.program, "")
    operands, options = _split(cmd.argv[1:], values)
    recursive = cmd.program in ("rm", "srm", "wipe") and options.has("-r", "-R", "--recursive")
    found: list[Finding] = []
    if "xargs" in cmd.via:
        rule = RM_RF if recursive else DELETE_FROM_INPUT
        found.append(rule.finding(f"{' '.join(cmd.argv)} (paths from a pipe)"))
    if "find -exec" in cmd.via:
        operands = [op for op in operands if op != "{}"]  # find's own paths are judged there
    for operand in operands:
        target = ctx.resolve(operand)
        if cmd.program == "truncate" and target.inside:
            found.append(TRUNCATE.finding(show_path(target)))
        else:
            found += delete_target(target, ctx, recursive)
    reference = options.last("-r", "--reference")
    if reference:
        found += check_read(reference, ctx)
    return found


_DELETERS = frozenset({"rm", "srm", "wipe", "rmdir", "unlink", "shred"})
_FIND_FILTERS = frozenset({"-name", "-iname", "-path", "-ipath", "-wholename", "-regex"})


def _find(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`find START … -delete` (or `-exec rm`): everything under START that matches goes."""
    argv = cmd.argv
    names = [argv[j + 1] for j in range(len(argv) - 1) if argv[j] in ("-name", "-iname")]
    found = [FIND_SECRETS.finding(" ".join(argv)) for n in names[:1] if secret_name(n)]
    deletes = "-delete" in argv or any(
        word in ("-exec", "-execdir", "-ok", "-okdir")
        and PurePosixPath(argv[i + 1]).name in _DELETERS
        for i, word in enumerate(argv[:-1])
    )
    if not deletes:
        return found
    i = 1
    while i < len(argv) and (argv[i] in ("-H", "-L", "-P", "-D") or argv[i].startswith("-O")):
        i += 2 if argv[i] == "-D" else 1
    starts: list[str] = []
    while i < len(argv) and not argv[i].startswith(("-", "(", "!", ")")):
        starts.append(argv[i])
        i += 1
    filters = [argv[j + 1] for j in range(len(argv) - 1) if argv[j] in _FIND_FILTERS]
    for start in starts or ["."]:
        target = ctx.resolve(start)
        rel = target.relative
        if rel is not None and filters:  # only what matches goes: never the start itself
            if all(CACHE_TEXT.search(f) for f in filters):
                continue
            if ctx.is_forbidden(rel) or holds_forbidden(rel, ctx):
                found.append(DELETE_FORBIDDEN.finding(rel))
            found.append(DELETE_RECURSIVE.finding(" ".join(argv)))
        else:
            found += delete_target(target, ctx, recursive=True)
    return found


_COPY_VALUES = frozenset({"--target-directory", "--suffix", "-t", "-S"})
_INSTALL_VALUES = _COPY_VALUES | {"--mode", "--owner", "--group", "--strip-program"}


def _copy(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """cp, mv, install, ln: sources are read (mv also takes them away), the destination written."""
    program = cmd.program
    values = "mogtS" if program == "install" else "tS"
    operands, options = _split(cmd.argv[1:], values, _INSTALL_VALUES)
    if program == "install" and options.has("-d", "--directory"):
        return [f for op in operands for f in check_write(op, "", ctx)]
    target_dir = options.last("-t", "--target-directory")
    if target_dir is None and len(operands) < (1 if program == "ln" else 2):
        return []
    if target_dir is None:
        sources, dest = (operands, ".") if len(operands) == 1 else (operands[:-1], operands[-1])
    else:
        sources, dest = operands, target_dir
    if program == "mv" and dest == "/dev/null":
        return [MOVE_TO_NULL.finding(source) for source in sources]
    recursive = options.has("-r", "-R", "-a", "--recursive", "--archive")
    into_dir = target_dir is not None or len(sources) > 1 or dest.endswith("/")
    into_dir = into_dir or dest in (".", "..") or (program == "ln" and len(operands) == 1)
    found: list[Finding] = []
    for source in sources:
        written = f"{dest.rstrip('/') or '/'}/{PurePosixPath(source).name}" if into_dir else dest
        if program == "ln":
            found += _link(source, written, ctx)
        else:
            found += read_target(ctx.resolve(source), ctx, recursive)
        if program == "mv":
            found += delete_target(ctx.resolve(source), ctx, recursive=False)
        elif source == "/dev/null":
            found.append(TRUNCATE.finding(show_path(ctx.resolve(written))))
        found += check_write(written, "", ctx)
    return found


def _link(target: str, link: str, ctx: SafetyContext) -> list[Finding]:
    """A link to a secret reads it; a link out of the worktree lets later paths escape it."""
    if not target.startswith(("/", "~", "$")):  # a relative target is relative to the link
        target = posixpath.join(posixpath.dirname(link), target)
    resolved = ctx.resolve(target)
    if secret_path(resolved, ctx):
        return [READ_SECRET.finding(show_path(resolved))]
    return [] if resolved.inside else [LINK_OUTSIDE.finding(f"{link} -> {show_path(resolved)}")]


_RSYNC_VALUES = frozenset(
    {"--exclude", "--include", "--filter", "--files-from", "--exclude-from", "--include-from"}
    | {"--password-file", "--log-file", "--partial-dir", "--temp-dir", "--backup-dir", "--rsh"}
    | {"--chmod", "--port", "--bwlimit", "--timeout", "--compare-dest", "--link-dest"}
)


def _rsync(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """rsync between local paths (a `host:` operand is the network rules' business)."""
    operands, options = _split(cmd.argv[1:], "efTB", _RSYNC_VALUES)
    if len(operands) < 2:
        return []
    *sources, dest = operands
    recursive = options.has("-r", "-a", "--recursive", "--archive")
    found: list[Finding] = [
        f
        for src in sources
        if not _remote(src)
        for f in read_target(ctx.resolve(src), ctx, recursive)
    ]
    if not _remote(dest):
        found += check_write(dest, "", ctx)
        if any(name.startswith("--delete") for name, _ in options.options):
            found += delete_target(ctx.resolve(dest), ctx, recursive=True)
    return found


def _remote(operand: str) -> bool:
    return "://" in operand or ":" in operand.split("/", 1)[0]


def _download(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """curl, wget, httpie, aria2c: where the network rules say a client saves what it fetches."""
    return [f for path in network.output_files(cmd) for f in check_write(path, "", ctx)]


def _dd(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    found: list[Finding] = []
    for arg in cmd.argv[1:]:
        if arg.startswith("of=") and arg[3:]:
            found += check_write(arg[3:], "", ctx)
        elif arg.startswith("if=") and arg[3:]:
            found += check_read(arg[3:], ctx)
    return found


def _tee(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands, _ = _split(cmd.argv[1:])
    return [f for op in operands for f in check_write(op, "", ctx)]


def _sed(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`sed -i` rewrites its files; plain sed reads them."""
    operands, options = _split(cmd.argv[1:], "efl", frozenset({"--file", "--expression"}))
    files = operands if options.has("-e", "-f", "--expression", "--file") else operands[1:]
    if options.has("-i", "--in-place"):
        return [f for path in files for f in check_write(path, "", ctx)]
    return [f for path in files for f in check_read(path, ctx)]


_TAR_VALUES = frozenset(
    {"--file", "--directory", "--files-from", "--exclude-from", "--exclude", "--transform"}
    | {"--owner", "--group", "--mode", "--mtime", "--newer", "--use-compress-program"}
)


def _tar(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`tar c` reads what it archives; `tar x` writes where it extracts."""
    args = list(cmd.argv[1:])
    if args and not args[0].startswith("-"):
        args[0] = "-" + args[0]  # the old bundled form: `tar czf out.tgz dir`
    operands, options = _split(args, "fCbTXKgLNV", _TAR_VALUES)
    archive = options.last("-f", "--file")
    directory = options.last("-C", "--directory")
    here = ctx.with_cwd(directory) if directory else ctx
    found: list[Finding] = []
    if options.has("-c", "--create", "-r", "--append", "-u", "--update"):
        if archive and archive != "-":
            found += check_write(archive, "", ctx)
        for operand in operands:
            found += read_target(here.resolve(operand), here, recursive=True)
    elif options.has("-x", "--extract", "--get"):
        found += _extract_into(directory or ".", ctx)
    return found


def _zip(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = list(cmd.argv[1:])
    for stop in ("-x", "-i"):  # the patterns after -x/-i run to the end of the line
        if stop in args:
            args = args[: args.index(stop)]
    operands, options = _split(args, "bntOP")
    if not operands:
        return []
    recursive = options.has("-r", "-R", "--recurse-paths")
    found = check_write(operands[0], "", ctx)
    for operand in operands[1:]:
        found += read_target(ctx.resolve(operand), ctx, recursive)
    return found


def _unzip(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    _, options = _split(cmd.argv[1:], "dxP")
    return _extract_into(options.last("-d") or ".", ctx)


def _extract_into(directory: str, ctx: SafetyContext) -> list[Finding]:
    """An archive's members are unknown: only a destination outside the worktree is judged."""
    target = ctx.resolve(directory)
    return [] if target.inside else write_location(target, ctx)


class _Reader:
    """A program that reads the files it is given: which options take a value, and whether
    the first operand is a pattern (grep) rather than a file."""

    def __init__(
        self,
        values: str = "",
        long_values: frozenset[str] = frozenset(),
        pattern_first: bool = False,
        recursive: Callable[[Options], bool] = lambda options: False,
    ) -> None:
        self.values, self.long_values = values, long_values
        self.pattern_first, self.recursive = pattern_first, recursive

    def __call__(self, cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
        operands, options = _split(cmd.argv[1:], self.values, self.long_values)
        patterns = options.values("-e", "-f", "--regexp", "--file")
        if self.pattern_first and not patterns:
            operands = operands[1:]
        files = [op for op in operands if op not in ("-", "{}") and not op.startswith("+")]
        files += options.values("-f", "--file") if self.pattern_first else []
        if cmd.program == "xxd" and len(files) > 1:
            return [*check_read(files[0], ctx), *check_write(files[1], "", ctx)]
        recursive = self.recursive(options)
        return [f for path in files for f in read_target(ctx.resolve(path), ctx, recursive)]


_GREP_VALUES = frozenset(
    {"--regexp", "--file", "--max-count", "--after-context", "--before-context", "--context"}
    | {"--directories", "--devices", "--include", "--exclude", "--exclude-dir", "--label"}
    | {"--glob", "--type", "--type-not", "--max-depth", "--threads", "--replace"}
)


def _grep_recursive(options: Options) -> bool:
    return options.has("-r", "-R", "--recursive", "--dereference-recursive") or (
        options.last("-d", "--directories") == "recurse"
    )


_PLAIN = _Reader()
_GREP = _Reader("efmABCDd", _GREP_VALUES, pattern_first=True, recursive=_grep_recursive)
PROGRAMS: dict[str, Callable[[SimpleCommand, SafetyContext], list[Finding]]] = {
    **dict.fromkeys(("rm", "srm", "wipe", "rmdir", "unlink", "shred", "truncate"), _remove),
    **dict.fromkeys(("cp", "mv", "install", "ln"), _copy),
    **dict.fromkeys(("cat", "tac", "bat"), _PLAIN),
    **dict.fromkeys(("grep", "egrep", "fgrep"), _GREP),
    "rg": _Reader("efgtTmABCjMEr", _GREP_VALUES, pattern_first=True, recursive=lambda o: True),
    **dict.fromkeys(("head", "tail"), _Reader("ncs", frozenset({"--lines", "--bytes", "--pid"}))),
    "less": _Reader("bhjpPxyzoOTk"),
    "more": _Reader("n"),
    "nl": _Reader("bdfhilnsvw"),
    "strings": _Reader("nteT", frozenset({"--bytes", "--radix", "--encoding", "--target"})),
    **dict.fromkeys(("base64", "base32"), _Reader("w", frozenset({"--wrap"}))),
    "xxd": _Reader("cglsonC"),
    "od": _Reader("AjNtw"),
    "hexdump": _Reader("efns"),
    "find": _find,
    **dict.fromkeys(("curl", "wget", "wget2", "http", "https", "xh", "xhs", "aria2c"), _download),
    "rsync": _rsync,
    "dd": _dd,
    "tee": _tee,
    "sed": _sed,
    "tar": _tar,
    "zip": _zip,
    "unzip": _unzip,
}
