"""Network programs other than HTTP clients: raw sockets (nc, socat, telnet, `/dev/tcp`),
remote copies (scp, rsync, sftp), interpreters that serve files or wire a shell to a socket,
tunnels, and wrappers that repeat a request. A shell on a socket is remote control of the
machine; the rest is judged by the host it reaches.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.net_judge import (
    CONNECT,
    COPY_REMOTE,
    LISTENER,
    METADATA,
    RATE_LIMIT,
    REVERSE_SHELL,
    SERVE_LOCAL,
    SERVE_OUTSIDE,
    SERVE_PUBLIC,
    TUNNEL,
    Reader,
    host_allowed,
    is_metadata,
    judge_host,
    judge_request,
    loopback_only,
    option_names,
    secret_uploads,
)
from wave_tui.safety.rules.paths import split_options
from wave_tui.safety.shell import SHELLS, SimpleCommand

_DEV_SOCKET = re.compile(r"^/dev/(?:tcp|udp)/(?P<host>[^/]+)/")
# `host:path`, `user@host:path`, `host::module`: a remote operand of scp, rsync and sftp.
_REMOTE = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>\[[^\]]+\]|[^@/:\s]+):(?!//)")
# Interpreters that take a program on the command line (`-c`, `-e`).
INTERPRETER = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby|node|nodejs|php)$")
_SOCKET = re.compile(r"socket|Socket|fsockopen|net\.connect|TCPSocket")
_SHELL_EXEC = re.compile(
    r"dup2|pty\.spawn|/bin/(?:ba|z|da|k)?sh\b|\bcmd\.exe\b|child_process|\bsh -i\b"
)
_FETCHERS = frozenset({"curl", "wget", "http", "https", "xh", "aria2c"})
_HTTP_LIBRARY = re.compile(r"requests\.|urllib|httpx|aiohttp|fetch\(|http\.get|Net::HTTP|LWP")
_MANY = re.compile(r"range\(\s*\d[\d_]{3,}\s*\)|while\s*(True|true|1)\b|for\s*\(\s*;\s*;")

# raw sockets: nc, ncat, netcat, socat, telnet, ftp, /dev/tcp ----------------------------------

_NC_VALUED = option_names(
    """-I -i -M -m -O -P -p -q -s -T -V -W -w -X -x -e -c -o
    --exec --sh-exec --lua-exec --proxy --proxy-type --proxy-auth --source-port --source
    --wait --idle-timeout --output --hex-dump --max-conns --allow --allowfile --deny --denyfile
    --ssl-cert --ssl-key --ssl-trustfile --ssl-ciphers --append-output"""
)
_NC_EXEC = ("-e", "-c", "--exec", "--sh-exec", "--lua-exec")


def _netcat(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    opts = split_options(cmd.argv[1:], _NC_VALUED)
    detail = " ".join(cmd.argv)
    if opts.has(*_NC_EXEC):
        return [REVERSE_SHELL.finding(detail)]
    if opts.has("-l", "--listen"):
        return [LISTENER.finding(detail)]
    host = opts.operands[0].lower() if opts.operands else ""
    if not host:
        return []
    if opts.has("-z"):  # a port check sends nothing
        return _connect_host(host, ctx, detail)
    reads = [r for r in cmd.redirects if r not in cmd.writes]
    found = secret_uploads(reads, [host], cmd.program, ctx)
    return [*found, *judge_host(host, "CONNECT", True, ctx, detail)]


def _connect_host(host: str, ctx: SafetyContext, detail: str) -> list[Finding]:
    if is_metadata(host):
        return [METADATA.finding(detail)]
    return [] if host_allowed(host, ctx) else [CONNECT.finding(detail)]


def _connect(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """telnet and ftp: an interactive session with a host."""
    operands = [a for a in cmd.argv[1:] if not a.startswith("-")]
    if not operands:
        return []
    if "://" in operands[0]:
        return judge_request(operands[0], "GET", False, ctx)
    return _connect_host(operands[0].lower(), ctx, " ".join(cmd.argv))


_SOCAT_NET = re.compile(
    r"^(?:TCP[46]?|UDP[46]?|SCTP[46]?|OPENSSL|SSL|DTLS|SOCKS4A?|SOCKS5|PROXY|"
    r"(?:TCP[46]?|UDP[46]?|SCTP[46]?|OPENSSL|SSL|DTLS|VSOCK)-(?:LISTEN|L|CONNECT|SENDTO|RECV))[:,]",
    re.IGNORECASE,
)
_SOCAT_EXEC = re.compile(r"^(?:EXEC|SYSTEM):", re.IGNORECASE)
_SOCAT_VALUED = frozenset({"-b", "-T", "-lf", "-lp", "-t", "-L", "-W"})
_SOCAT_HOST = re.compile(r"^[^:]+:(\[[^\]]+\]|[^:,]+)")


def _socat(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    addresses = split_options(cmd.argv[1:], _SOCAT_VALUED, single_dash_words=True).operands
    detail = " ".join(cmd.argv)
    network = [a for a in addresses if _SOCAT_NET.match(a)]
    if not network:
        return []
    if any(_SOCAT_EXEC.match(a) for a in addresses):
        return [REVERSE_SHELL.finding(detail)]
    kinds = [re.split(r"[:,]", a, maxsplit=1)[0].upper() for a in network]
    if any(kind.endswith(("-LISTEN", "-L", "-RECV")) for kind in kinds):
        return [LISTENER.finding(detail)]
    files = [a.partition(":")[2].split(",", 1)[0] for a in addresses if a not in network]
    found: list[Finding] = []
    for address in network:
        match = _SOCAT_HOST.match(address)
        host = match[1].strip("[]").lower() if match else ""
        found.extend(secret_uploads(files, [host], "socat", ctx))
        found.extend(judge_host(host, "CONNECT", True, ctx, detail))
    return found


def dev_sockets(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """Bash's `/dev/tcp/host/port` redirections: a shell (or a bare `exec 3<>`) wired to a
    socket is a reverse shell; another program writing there uploads, reading fetches."""
    found: list[Finding] = []
    for target in cmd.redirects:
        match = _DEV_SOCKET.match(target)
        if match is None:
            continue
        host = match["host"].lower()
        detail = f"{' '.join(cmd.argv) or 'exec'} <> {target}"
        if not cmd.argv or cmd.program in SHELLS:
            found.append(REVERSE_SHELL.finding(detail))
            continue
        writes = target in cmd.writes
        if writes:
            found.extend(secret_uploads(cmd.argv[1:], [host], cmd.program, ctx))
        found.extend(judge_host(host, "POST" if writes else "GET", writes, ctx, detail))
    return found


# scp, sftp, rsync -----------------------------------------------------------------------------

_SCP_VALUED = option_names("-c -F -i -J -l -o -P -S -D -X")
_RSYNC_VALUED = option_names(
    """-e -f -T -B -M
    --rsh --exclude --include --filter --port --password-file --files-from --log-file
    --temp-dir --backup-dir --suffix --chmod --chown --bwlimit --timeout --max-size --min-size
    --partial-dir --compare-dest --link-dest --copy-dest --remote-option --out-format --info
    --debug --rsync-path --exclude-from --include-from --iconv --usermap --groupmap
    --max-delete --block-size --checksum-choice --compress-choice --compress-level"""
)
_SFTP_VALUED = option_names("-B -b -c -D -F -i -J -l -o -P -R -S -s -X")


def _remote_host(operand: str) -> str | None:
    """The host of a remote operand (`host:path`, `user@host:dir`, `rsync://host/m`), or None."""
    if re.match(r"^(?:scp|sftp|rsync)://", operand, re.IGNORECASE):
        try:
            return (urlsplit(operand).hostname or "").lower()
        except ValueError:
            return ""
    match = _REMOTE.match(operand)
    return match["host"].strip("[]").lower() if match else None


def _copy(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    valued = _RSYNC_VALUED if cmd.program == "rsync" else _SCP_VALUED
    operands = list(split_options(cmd.argv[1:], valued).operands)
    if len(operands) < 2:
        return []
    *sources, destination = operands
    detail = " ".join(cmd.argv)
    dest_host = _remote_host(destination)
    if dest_host is not None:
        local_sources = [s for s in sources if _remote_host(s) is None]
        found = secret_uploads(local_sources, [dest_host], cmd.program, ctx)
        if is_metadata(dest_host) or not host_allowed(dest_host, ctx):
            found.append(COPY_REMOTE.finding(detail))
        return found
    found = []
    for source in sources:
        host = _remote_host(source)
        if host is not None:
            found.extend(judge_host(host, "GET", False, ctx, detail))
    return found


def _sftp(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    operands = list(split_options(cmd.argv[1:], _SFTP_VALUED).operands)
    if not operands:
        return []
    detail = " ".join(cmd.argv)
    host = _remote_host(operands[0])
    if host is None:  # `sftp [user@]host`: a session that can put files anywhere
        host = operands[0].rsplit("@", 1)[-1].lower()
        return [] if host_allowed(host, ctx) else [COPY_REMOTE.finding(detail)]
    if len(operands) > 1:  # `sftp host:file localdir` downloads
        return judge_host(host, "GET", False, ctx, detail)
    return [] if host_allowed(host, ctx) else [COPY_REMOTE.finding(detail)]


# interpreters: `python -m http.server`, socket-and-shell one-liners ---------------------------

_PY_SERVER_VALUED = frozenset({"-d", "--directory", "-b", "--bind", "-p", "--protocol"})


def inline_code(cmd: SimpleCommand) -> str | None:
    """The program text an interpreter was given on its command line (`python -c CODE`,
    `node -e CODE`, `perl -e CODE`), or None when it runs a script, a module or stdin."""
    if not INTERPRETER.match(cmd.program):
        return None
    options = {"-c", "-e", "-E", "-r", "--eval"}
    if cmd.program.startswith("node"):
        options |= {"-p", "--print"}
    args = cmd.argv[1:]
    for index, arg in enumerate(args[:-1]):
        if arg in options:
            return args[index + 1]
        if arg == "-m" or not arg.startswith("-"):
            return None
    return None


def interpreter(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    detail = " ".join(cmd.argv)
    code = inline_code(cmd)
    if code is not None:
        if _SOCKET.search(code) and _SHELL_EXEC.search(code):
            return [REVERSE_SHELL.finding(detail[:200])]
        if _HTTP_LIBRARY.search(code) and _MANY.search(code):
            return [RATE_LIMIT.finding(detail[:200])]
        return []
    args = cmd.argv[1:]
    if "-m" not in args:
        return []
    index = args.index("-m")
    if args[index + 1 : index + 2] not in (("http.server",), ("SimpleHTTPServer",)):
        return []
    opts = split_options(args[index + 2 :], _PY_SERVER_VALUED)
    directory = (opts.values("-d", "--directory") or ["."])[-1]
    if not ctx.resolve(directory).inside:
        return [SERVE_OUTSIDE.finding(detail)]
    binds = opts.values("-b", "--bind")
    if not all(loopback_only(b) for b in binds):
        return [SERVE_PUBLIC.finding(detail)]
    return [SERVE_LOCAL.finding(detail)]


def _tunnel(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """ngrok, cloudflared, localtunnel, bore: a public URL for a local port."""
    if cmd.program == "cloudflared" and "tunnel" not in cmd.argv:
        return []
    return [TUNNEL.finding(" ".join(cmd.argv))] if len(cmd.argv) > 1 else []


def _repeater(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`watch curl …`, `parallel -j 200 curl …`: requests in a loop the parser does not peel."""
    programs = {posixpath.basename(arg) for arg in cmd.argv[1:]}
    return [RATE_LIMIT.finding(" ".join(cmd.argv))] if programs & _FETCHERS else []


PROGRAMS: dict[str, Reader] = {
    "nc": _netcat,
    "ncat": _netcat,
    "netcat": _netcat,
    "socat": _socat,
    "telnet": _connect,
    "ftp": _connect,
    "scp": _copy,
    "rsync": _copy,
    "sftp": _sftp,
    "ngrok": _tunnel,
    "cloudflared": _tunnel,
    "lt": _tunnel,
    "localtunnel": _tunnel,
    "bore": _tunnel,
    "watch": _repeater,
    "parallel": _repeater,
}
