"""Where a network request goes, and the rules that judge it.

Every client (curl, nc, scp, the http_request tool) ends in `judge_request` or `judge_host`, so a
host is weighed the same way whichever program reaches it: the allowed hosts, loopback, cloud
metadata, and whether data leaves with the request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import SplitResult, urlsplit

from wave_tui.domain.redaction import redact_text
from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule, unique
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules.paths import is_secret_path
from wave_tui.safety.shell import SimpleCommand

# What a client's argv reader returns: findings for one command of its program.
Reader = Callable[[SimpleCommand, SafetyContext], list[Finding]]

_NETWORK = "system_safety.network_requests"

FETCH = Rule(
    "net.fetch.unlisted_host",
    _NETWORK,
    Severity.MEDIUM,
    "fetches from a host the project has not approved",
)
UPLOAD = Rule(
    "net.upload",
    _NETWORK,
    Severity.HIGH,
    "sends data to a host the project has not approved: a way to exfiltrate code or data",
)
EXFILTRATE_SECRET = Rule(
    "net.exfiltrate.secret",
    "security.expose_secrets",
    Severity.CRITICAL,
    "sends a credential or a secrets file over the network",
)
METADATA = Rule(
    "net.metadata_endpoint",
    "security.expose_secrets",
    Severity.CRITICAL,
    "reads the cloud metadata service, which hands out the machine's credentials",
)
REVERSE_SHELL = Rule(
    "net.reverse_shell",
    "security.bypass_auth",
    Severity.CRITICAL,
    "connects a shell to a network socket: remote control of the machine",
)
LISTENER = Rule(
    "net.listener",
    _NETWORK,
    Severity.MEDIUM,
    "opens a port that accepts connections from the network",
)
CONNECT = Rule(
    "net.connect",
    _NETWORK,
    Severity.MEDIUM,
    "opens a raw connection to a host the project has not approved",
)
TLS_DISABLED = Rule(
    "net.tls_disabled",
    "security.disable_protections",
    Severity.MEDIUM,
    "turns off certificate checks: anyone on the path can read or change the traffic",
)
COPY_REMOTE = Rule(
    "net.copy_remote",
    _NETWORK,
    Severity.HIGH,
    "copies files to another machine",
)
CREDENTIALS_IN_URL = Rule(
    "net.credentials_in_url",
    "security.expose_secrets",
    Severity.HIGH,
    "a password or token written into a URL or command line ends up in logs and history",
)
FILE_URL = Rule(
    "net.file_url",
    "security.expose_secrets",
    Severity.HIGH,
    "a file:// URL makes a network client read local files",
)
SCHEME = Rule(
    "net.scheme",
    _NETWORK,
    Severity.HIGH,
    "a scheme other than http(s) or ftp can smuggle requests to internal services",
)
UNPARSEABLE = Rule(
    "net.request.unparseable",
    "data_integrity.validate_input",
    Severity.MEDIUM,
    "a URL the safety layer cannot read: where the request goes is unknown",
)
DELETE_ALLOWED = Rule(
    "net.delete",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "an HTTP DELETE removes data, even on an approved or local server",
)
RATE_LIMIT = Rule(
    "net.rate_limit",
    "system_safety.rate_limits",
    Severity.MEDIUM,
    "floods a host the project has not approved with requests (crawl, parallel, retry storm)",
)
SERVE_LOCAL = Rule(
    "net.serve_local",
    _NETWORK,
    Severity.LOW,
    "serves the worktree over HTTP",
)
SERVE_PUBLIC = Rule(
    "net.serve_public",
    _NETWORK,
    Severity.MEDIUM,
    "serves the worktree on every network interface, not just this machine",
)
TUNNEL = Rule(
    "net.tunnel",
    _NETWORK,
    Severity.MEDIUM,
    "publishes a local port on the internet through a tunnel",
)
ADMIN_API = Rule(
    "net.admin_api",
    "security.bypass_auth",
    Severity.MEDIUM,
    "talks to a local control API (Docker, kubelet, etcd) that gives root on the machine",
)
SERVE_OUTSIDE = Rule(
    "net.serve_outside",
    "security.expose_secrets",
    Severity.HIGH,
    "serves a directory outside the worktree over HTTP, secrets and all",
)

RULES: tuple[Rule, ...] = (
    FETCH,
    UPLOAD,
    EXFILTRATE_SECRET,
    METADATA,
    REVERSE_SHELL,
    LISTENER,
    CONNECT,
    TLS_DISABLED,
    COPY_REMOTE,
    CREDENTIALS_IN_URL,
    FILE_URL,
    SCHEME,
    UNPARSEABLE,
    DELETE_ALLOWED,
    RATE_LIMIT,
    SERVE_LOCAL,
    SERVE_PUBLIC,
    SERVE_OUTSIDE,
    TUNNEL,
    ADMIN_API,
)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WEB_SCHEMES = frozenset({"http", "https"})
_FETCH_SCHEMES = _WEB_SCHEMES | {"ftp", "ftps"}
_METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_METADATA_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local: AWS, Azure, GCP, ECS task metadata
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_ADMIN_PORTS = frozenset({2375, 2376, 2379, 10250})  # Docker, etcd, kubelet


def check_request(url: str, method: str, body: str, ctx: SafetyContext) -> list[Finding]:
    """The http_request tool: `url` must be absolute; `method` arrives upper-case."""
    method = method or "GET"
    if not _SCHEME.match(url.strip()) and not url.strip().lower().startswith("file:"):
        return [UNPARSEABLE.finding(redact_text(url))]
    found = judge_request(url, method, method not in READ_METHODS, ctx, web_only=True)
    hosts = url_hosts([url])
    if body and redact_text(body) != body and not all(h and loopback(h) for h in hosts):
        found.append(EXFILTRATE_SECRET.finding(f"{method} {redact_text(url)}: credential in body"))
    return unique(found)


def judge_request(
    url: str, method: str, sends: bool, ctx: SafetyContext, *, web_only: bool = False
) -> list[Finding]:
    """Findings for one request: `sends` says whether data leaves with it. A URL without a
    scheme is read as http (as curl and wget do); `web_only` accepts http(s) alone."""
    shown = redact_text(url)
    try:
        parts = _split_url(url)
    except ValueError:
        return [UNPARSEABLE.finding(shown)]
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme in _WEB_SCHEMES and not host:
        return [UNPARSEABLE.finding(shown)]
    found: list[Finding] = []
    if parts.password or shown != url:
        found.append(CREDENTIALS_IN_URL.finding(shown))
    if scheme == "file":
        return [*found, FILE_URL.finding(shown)]
    if scheme not in (_WEB_SCHEMES if web_only else _FETCH_SCHEMES):
        return [*found, SCHEME.finding(shown)]
    found.extend(judge_host(host, method, sends, ctx, f"{method} {shown}"))
    if loopback(host) and parts.port in _ADMIN_PORTS:
        found.append(ADMIN_API.finding(shown))
    return found


def judge_host(
    host: str, method: str, sends: bool, ctx: SafetyContext, detail: str
) -> list[Finding]:
    """Findings for talking to `host`: metadata always, then by method and the allowed hosts."""
    if is_metadata(host):
        return [METADATA.finding(detail)]
    allowed = host_allowed(host, ctx)
    if method == "DELETE" and allowed:
        return [DELETE_ALLOWED.finding(detail)]
    if allowed:
        return []
    if sends or method not in READ_METHODS:
        return [UPLOAD.finding(detail)]
    return [FETCH.finding(detail)]


def host_allowed(host: str, ctx: SafetyContext) -> bool:
    """Loopback is always allowed (the story's own dev servers); other hosts by the context."""
    return bool(host) and (loopback(host) or ctx.host_allowed(host))


def is_metadata(host: str) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    if host in _METADATA_HOSTS:
        return True
    ip = _ip(host)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip is not None and any(ip in net for net in _METADATA_NETWORKS)


def _split_url(url: str) -> SplitResult:
    text = url.strip()
    if not _SCHEME.match(text) and not text.lower().startswith("file:"):
        text = "http://" + text
    parts = urlsplit(text)
    parts.port  # noqa: B018 -- a bad port raises ValueError
    return parts


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host string names, including the forms inet_aton accepts (`2852039166`,
    `0xa9fea9fe`, `0251.0376.0251.0376`) that hide a metadata or loopback address."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    pieces = host.split(".")
    if not 1 <= len(pieces) <= 4:
        return None
    numbers: list[int] = []
    for piece in pieces:
        try:
            if piece.lower().startswith("0x"):
                numbers.append(int(piece, 16))
            elif len(piece) > 1 and piece.startswith("0"):
                numbers.append(int(piece, 8))
            else:
                numbers.append(int(piece, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, n in enumerate(head):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def loopback(host: str) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    return ip is not None and (ip.is_loopback or ip.is_unspecified)


def loopback_only(address: str) -> bool:
    """Whether a server bound to `address` is reachable from this machine alone (`0.0.0.0`,
    reached locally as loopback, listens on every interface)."""
    ip = _ip(address.strip("[]"))
    return address == "localhost" or (ip is not None and ip.is_loopback)


def tls_off(hosts: Iterable[str], flag: str) -> list[Finding]:
    """Certificate checks off matter unless every host is loopback (a self-signed dev server)."""
    targets = list(hosts)
    if targets and all(loopback(h) for h in targets):
        return []
    return [TLS_DISABLED.finding(flag)]


def url_hosts(urls: Iterable[str]) -> list[str]:
    hosts: list[str] = []
    for url in urls:
        try:
            hosts.append((_split_url(url).hostname or "").lower())
        except ValueError:
            hosts.append("")
    return hosts


def secret_uploads(
    files: Iterable[str], hosts: Sequence[str], detail: str, ctx: SafetyContext
) -> list[Finding]:
    secrets = [f for f in files if is_secret_path(f, ctx)]
    if secrets and not all(h and loopback(h) for h in hosts):
        return [EXFILTRATE_SECRET.finding(f"{detail}: {', '.join(secrets)}")]
    return []


def inline_secrets(values: Iterable[str], hosts: Sequence[str], detail: str) -> list[Finding]:
    """Credential-shaped text (a key, a bearer token) in data or headers sent off the machine."""
    if any(redact_text(v) != v for v in values) and not all(h and loopback(h) for h in hosts):
        return [EXFILTRATE_SECRET.finding(f"{detail}: credential in the request")]
    return []


def option_names(text: str) -> frozenset[str]:
    """Option names written as one whitespace-separated string (tables stay readable)."""
    return frozenset(text.split())
