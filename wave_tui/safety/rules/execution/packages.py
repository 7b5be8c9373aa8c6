"""Package managers: what they install, from where and into which environment; what they
remove, publish, or download and run in one step.

A package the story does not name is scope the operator confirms; a source that is not an
approved index can serve anything; an install outside the project's environment changes the
machine; a release, once published, cannot be recalled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    DOWNLOAD_RUN,
    INSTALL_SCOPE,
    PUBLISH,
    SYSTEM_PACKAGE,
    UNINSTALL,
    UNLISTED,
    UNTRUSTED_SOURCE,
)
from wave_tui.safety.rules.execution.common import (
    Checker,
    approved_urls,
    outside,
    show,
    split_args,
    table,
    word_set,
)
from wave_tui.safety.shell import SimpleCommand

# The packaging toolchain itself is not scope creep: upgrading pip changes no project code.
_TOOLCHAIN = frozenset({"pip", "setuptools", "wheel"})
_PIP_VALUES = word_set("-r --requirement -c --constraint -e --editable -i --index-url -f")
_PIP_VALUES |= word_set("--extra-index-url --find-links --trusted-host -t --target --prefix --root")
_PIP_VALUES |= word_set("--platform --python-version --implementation --abi --no-binary --src")
_PIP_VALUES |= word_set("--only-binary --upgrade-strategy --log --proxy --retries --timeout --cert")
_PIP_VALUES |= word_set("--exists-action --client-cert --cache-dir -C --config-settings --python")
_PIP_VALUES |= word_set("-p --report --progress-bar --global-option")
_SOURCE_SCHEME = re.compile(
    r"^(git\+|hg\+|svn\+|bzr\+|https?:|ftp:|git:|github:|gitlab:|bitbucket:)"
)
_LOCAL_SPEC = re.compile(r"^(\.|/|~|file:)|\.(whl|tar\.gz|zip|tgz)$")


@dataclass(slots=True)
class _Install:
    """What one install command asks for, gathered before the findings are made."""

    cmd: SimpleCommand
    unlisted: list[str]
    sources: list[str]
    scoped: bool = False

    def findings(self) -> list[Finding]:
        shown = show(self.cmd)
        found: list[Finding] = []
        if self.sources:
            found.append(UNTRUSTED_SOURCE.finding(f"{', '.join(self.sources)} ({shown})"))
        if self.unlisted:
            found.append(UNLISTED.finding(f"{', '.join(self.unlisted)} ({shown})"))
        if self.scoped:
            found.append(INSTALL_SCOPE.finding(shown))
        return found


def _judge_specs(install: _Install, specs: Sequence[str], ctx: SafetyContext, npm: bool) -> None:
    for spec in specs:
        if _SOURCE_SCHEME.match(spec) or " @ " in spec:
            if not approved_urls(spec, ctx):
                install.sources.append(spec)
        elif _LOCAL_SPEC.search(spec):
            if outside(spec.removeprefix("file:"), ctx):
                install.unlisted.append(spec)
        elif npm and _is_github_shorthand(spec):
            install.sources.append(spec)
        else:
            name = package_name(spec, npm)
            if name.lower() not in _TOOLCHAIN and not ctx.names_package(name):
                install.unlisted.append(spec)


def _is_github_shorthand(spec: str) -> bool:
    return "/" in spec and not spec.startswith("@")  # `npm install user/repo` fetches GitHub


def package_name(spec: str, npm: bool) -> str:
    if npm:
        scoped = spec.startswith("@")
        return spec[1:].split("@")[0] if scoped else spec.split("@")[0]
    return spec


# pip, pip3, pip3.12: every name pip is installed under.
PIP = re.compile(r"^pip[0-9.]*$")


def pip(cmd: SimpleCommand, args: Sequence[str], ctx: SafetyContext) -> list[Finding]:
    parsed = split_args(args, _PIP_VALUES)
    verb = parsed.operands[0] if parsed.operands else ""
    if verb == "uninstall":
        return [UNINSTALL.finding(show(cmd))]
    if verb != "install":
        return []
    install = _Install(cmd, [], [])
    for requirements in parsed.value("-r", "--requirement", "-c", "--constraint"):
        if outside(requirements, ctx):
            install.unlisted.append(f"-r {requirements}")
    indexes = parsed.value("-i", "--index-url", "--extra-index-url", "-f", "--find-links")
    install.sources += [index for index in indexes if not approved_urls(index, ctx)]
    install.sources += [f"--trusted-host {h}" for h in parsed.value("--trusted-host")]
    _judge_specs(install, parsed.value("-e", "--editable"), ctx, npm=False)
    _judge_specs(install, parsed.operands[1:], ctx, npm=False)
    scope = ("--user", "--break-system-packages", "--system", "-t", "--target", "--prefix")
    install.scoped = parsed.has(*scope, "--root")
    return install.findings()


def pip_program(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    return pip(cmd, cmd.argv[1:], ctx)


_NPM_VALUES = word_set("--registry --prefix --tag --omit --include -w --workspace --cache")
_NPM_ADD = {"npm": word_set("install i in add isntall"), "pnpm": word_set("add install i")}
_NPM_ADD |= {"yarn": word_set("add"), "bun": word_set("add install i")}
_NPM_REMOVE = word_set("uninstall remove rm r un")


def _npm(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    parsed = split_args(cmd.argv[1:], _NPM_VALUES)
    words = list(parsed.operands)
    global_scope = parsed.has("-g", "--global") or words[:1] == ["global"]
    words = words[1:] if words[:1] == ["global"] else words
    verb = words[0] if words else ""
    if verb == "publish" or words[:2] == ["npm", "publish"]:
        return [PUBLISH.finding(show(cmd))]
    if verb in _NPM_REMOVE:
        return [UNINSTALL.finding(show(cmd))]
    if verb not in _NPM_ADD.get(cmd.program, frozenset()):
        return []
    install = _Install(cmd, [], [], scoped=global_scope)
    registry = parsed.value("--registry")
    install.sources += [url for url in registry if not approved_urls(url, ctx)]
    _judge_specs(install, words[1:], ctx, npm=True)
    return install.findings()


_PUBLISH_VERBS = {"twine": "upload", "gem": "push", "cargo": "publish", "hatch": "publish"}
_PUBLISH_VERBS |= {"flit": "publish", "poetry": "publish", "pdm": "publish", "uv": "publish"}


def _publish(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    if cmd.argv[1:2] == (_PUBLISH_VERBS.get(cmd.program),):
        return [PUBLISH.finding(show(cmd))]
    return []


_PROJECT_ADD = {"poetry": "add", "pdm": "add", "uv": "add", "pipenv": "install", "cargo": "add"}
_PROJECT_ADD |= {"conda": "install", "mamba": "install", "micromamba": "install", "go": "get"}
_PROJECT_REMOVE = {"poetry": "remove", "pdm": "remove", "uv": "remove", "pipenv": "uninstall"}
_PROJECT_REMOVE |= {"conda": "remove", "mamba": "remove", "cargo": "remove"}
# These install programs for the whole user or machine, whatever the package.
_GLOBAL_INSTALL = {"pipx": "install", "cargo": "install", "go": "install", "gem": "install"}
_PROJECT_VALUES = word_set("-G --group -E --extras --source -c --channel -n --name -p --prefix")
_PROJECT_VALUES |= word_set("-F --features --branch --tag --rev")


def _project_tool(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """poetry, pdm, uv, pipenv, conda, cargo, go, gem, pipx: add, remove, global installs."""
    program, rest = cmd.program, cmd.argv[1:]
    if program == "uv" and rest[:1] == ("pip",):
        return pip(cmd, rest[1:], ctx)
    if program == "uv" and rest[:2] == ("tool", "install"):
        program, rest = "pipx", rest[1:]
    published = _publish(cmd, ctx)
    if published:
        return published
    parsed = split_args(rest, _PROJECT_VALUES)
    verb, specs = (parsed.operands[0], parsed.operands[1:]) if parsed.operands else ("", ())
    if verb == _PROJECT_REMOVE.get(program):
        return [UNINSTALL.finding(show(cmd))]
    scoped = verb == _GLOBAL_INSTALL.get(program)
    if not scoped and verb != _PROJECT_ADD.get(program):
        return []
    install = _Install(cmd, [], [], scoped=scoped)
    _judge_specs(install, specs, ctx, npm=False)
    return install.findings()


_SYSTEM_VERBS = word_set("install add reinstall upgrade dist-upgrade full-upgrade remove purge")
_SYSTEM_VERBS |= word_set("autoremove erase del uninstall downgrade localinstall groupinstall")
_SYSTEM_VERBS |= word_set("update-minimal build-dep tap")


def _system_packages(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], frozenset({"-o", "-c", "-t", "--target-release"}))
    if cmd.program == "pacman":
        changing = any(re.fullmatch(r"-(S[^sil]*|R\w*|U\w*)", o) for o in args.options)
    elif cmd.program in ("dpkg", "rpm"):
        options = set(args.options) | {o[:2] for o in args.options if not o.startswith("--")}
        changes = {"-i", "--install", "-r", "--remove", "-P", "--purge", "-U", "-e", "--erase"}
        changing = bool(options & changes)
    else:
        changing = bool(args.operands) and args.operands[0] in _SYSTEM_VERBS
    return [SYSTEM_PACKAGE.finding(show(cmd))] if changing else []


_DOWNLOAD_RUNNERS = word_set("npx bunx uvx") | {"npm exec", "npm x", "pnpm dlx", "yarn dlx"}
_DOWNLOAD_RUNNERS |= {"pipx run"}
_PYTHON_RUNNERS = frozenset({"uvx", "pipx run"})
# Development tools a project installs itself: `npx tsc` runs the project's own copy.
_PROJECT_BINS = word_set("tsc jest eslint prettier vitest mocha ts-node tsx next vite webpack")
_PROJECT_BINS |= word_set("nodemon playwright cypress prisma rollup esbuild stylelint biome nx")
_PROJECT_BINS |= word_set("turbo lerna ruff black mypy pytest isort flake8 pre-commit tox nox")
_PROJECT_BINS |= word_set("pyright hatch")


def download_run(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`npx pkg`, `pnpm dlx pkg`, `uvx pkg`: a package fetched and run in one step. Allowed when
    the story names it, or when it is a project's own tool asked for without a version."""
    if not cmd.via or cmd.via[-1] not in _DOWNLOAD_RUNNERS:
        return []
    spec = cmd.argv[0]
    if cmd.via[-1] in _PYTHON_RUNNERS:
        name = re.split(r"[=<>~!\[@]", spec, maxsplit=1)[0]
    else:
        name = package_name(spec, npm=True)
    versioned = name.lstrip("@") != spec.lstrip("@")
    if ctx.names_package(name) or (name in _PROJECT_BINS and not versioned):
        return []
    return [DOWNLOAD_RUN.finding(show(cmd))]


# The programs this module judges, by name; pip's many names are matched by `PIP`.
CHECKERS: dict[str, Checker] = {
    **table(_publish, "twine hatch flit"),
    **table(_project_tool, "poetry pdm uv pipenv conda mamba micromamba cargo go pipx gem"),
    **table(_npm, "npm pnpm yarn bun"),
    **table(_system_packages, "apt apt-get aptitude yum dnf zypper apk pacman port snap"),
    **table(_system_packages, "flatpak brew dpkg rpm"),
}
