"""The programs that run other commands: shells, interpreters, and the wrappers and runners the
parser peels (sudo, env, xargs, timeout, `poetry run`, `npx`, watch, parallel, …).

A wrapper's own options must be skipped the way it reads them, or the program it runs is
misread: `timeout -s KILL 5 rm …` runs rm, and `sudo -u bob` does not run `bob`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish"})
INTERPRETER = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby|node|nodejs|php|lua)$")
# Options after which an interpreter takes its program from an argument, not from stdin.
CODE_OPTIONS = frozenset({"-c", "-e", "-E", "-m", "-r", "-p", "--eval", "--print"})
AWKS = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})
PARALLEL_INPUTS = frozenset({":::", "::::", ":::+", "::::+"})


@dataclass(frozen=True, slots=True)
class Wrapper:
    """A program that runs the rest of its argv as another command."""

    value_options: frozenset[str] = frozenset()  # options that consume the next word
    positionals: int = 0  # words before the command (the duration of `timeout`)
    no_command_options: frozenset[str] = frozenset()  # options meaning "no command runs"
    subcommands: frozenset[str] = frozenset()  # runs a command only after one (`poetry run`)
    code_options: frozenset[str] = frozenset()  # options whose value is a command line
    repeats: bool = False  # runs the command over and over (xargs, watch, parallel)
    joins: bool = False  # hands its words to a shell as one line (watch, parallel)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_RUN_ENV_OPTIONS = _words("-n --name -p --prefix --cwd")
_NODE_RUN_OPTIONS = _words("-p --package -w --workspace --prefix -C --dir --filter -F")
_UV_OPTIONS = _words("--with --with-editable --with-requirements --python -p --package --extra")
_UV_OPTIONS |= _words("--group --only-group --env-file --directory --project --index --from")
_UV_OPTIONS |= _words("--index-url --extra-index-url --default-index -f --find-links --cache-dir")
_TRACE_OPTIONS = _words("-o -e -s -u -E -a -b -I -O -P -S -X -U -A -D -L -l -n -x")
_PARALLEL_OPTIONS = _words("-j --jobs -P --max-procs -N -n --max-args -S --sshlogin -a")
_PARALLEL_OPTIONS |= _words("--arg-file --delay --timeout --joblog --results --colsep -d")
_PARALLEL_OPTIONS |= _words("--delimiter -I --replace --tmpdir --workdir --wd -E --eof")
_PARALLEL_OPTIONS |= _words("--sshloginfile --retries --memfree --load --halt --tag-string")

WRAPPERS: dict[str, Wrapper] = {
    "sudo": Wrapper(
        _words("-u -g -C -D -h -p -r -t -U -T --user"),
        no_command_options=_words("-e --edit -l --list -v -k -K"),
    ),
    "doas": Wrapper(_words("-u -C")),
    "env": Wrapper(_words("-u --unset -C --chdir"), code_options=_words("-S --split-string")),
    "nohup": Wrapper(),
    "setsid": Wrapper(),
    "builtin": Wrapper(),
    "busybox": Wrapper(),
    "time": Wrapper(_words("-f --format -o --output")),
    "nice": Wrapper(_words("-n --adjustment")),
    "timeout": Wrapper(_words("-s --signal -k --kill-after"), positionals=1),
    "stdbuf": Wrapper(_words("-i -o -e")),
    "exec": Wrapper(_words("-a")),
    "command": Wrapper(no_command_options=_words("-v -V")),
    "xargs": Wrapper(
        _words("-I -L -n -P -s -d -E -a --max-args --delimiter --max-procs --arg-file"),
        repeats=True,
    ),
    # Runners that start a command inside a project's environment.
    "poetry": Wrapper(_words("-C --directory -P --project"), subcommands=_words("run")),
    "uv": Wrapper(_UV_OPTIONS, subcommands=_words("run")),
    "uvx": Wrapper(_UV_OPTIONS),
    "pipenv": Wrapper(subcommands=_words("run")),
    "pdm": Wrapper(_words("-p --project --venv"), subcommands=_words("run")),
    "hatch": Wrapper(
        _words("-e --env -p --project --data-dir --cache-dir --config"), subcommands=_words("run")
    ),
    "pipx": Wrapper(_words("--spec --python --index-url --pip-args"), subcommands=_words("run")),
    "npx": Wrapper(_NODE_RUN_OPTIONS, code_options=_words("-c --call")),
    "bunx": Wrapper(_NODE_RUN_OPTIONS),
    "npm": Wrapper(
        _NODE_RUN_OPTIONS, subcommands=_words("exec x"), code_options=_words("-c --call")
    ),
    "pnpm": Wrapper(_NODE_RUN_OPTIONS, subcommands=_words("exec dlx")),
    "yarn": Wrapper(_NODE_RUN_OPTIONS, subcommands=_words("exec dlx")),
    "bundle": Wrapper(_words("--gemfile"), subcommands=_words("exec")),
    "conda": Wrapper(_RUN_ENV_OPTIONS, subcommands=_words("run")),
    "mamba": Wrapper(_RUN_ENV_OPTIONS, subcommands=_words("run")),
    "micromamba": Wrapper(_RUN_ENV_OPTIONS, subcommands=_words("run")),
    # Programs that run a command under some condition, schedule or tracer.
    "watch": Wrapper(_words("-n --interval -q --equexit"), repeats=True, joins=True),
    "parallel": Wrapper(_PARALLEL_OPTIONS, repeats=True, joins=True),
    "flock": Wrapper(
        _words("-w --wait --timeout -E --conflict-exit-code"),
        positionals=1,
        code_options=_words("-c --command"),
    ),
    "chronic": Wrapper(),
    "ionice": Wrapper(_words("-c --class -n --classdata"), no_command_options=_words("-p -P -u")),
    "taskset": Wrapper(positionals=1, no_command_options=_words("-p --pid")),
    "strace": Wrapper(_TRACE_OPTIONS, no_command_options=_words("-p --attach")),
    "ltrace": Wrapper(_TRACE_OPTIONS, no_command_options=_words("-p")),
    "caffeinate": Wrapper(_words("-t -w")),
}
