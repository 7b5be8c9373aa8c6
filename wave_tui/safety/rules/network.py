"""Rules for network access: fetches from commands and the http_request tool.

A request is judged once, by where it goes (the allowed hosts, loopback, cloud metadata) and
whether it sends data; the per-program readers below only find the URLs, hosts and uploaded
files in each client's argv.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import SplitResult, urlsplit

from wave_tui.domain.redaction import redact_text
from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules.paths import is_secret_path, split_options
from wave_tui.safety.shell import SHELLS, SimpleCommand

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
_DEV_SOCKET = re.compile(r"^/dev/(?:tcp|udp)/(?P<host>[^/]+)/")
# `host:path`, `user@host:path`, `host::module`: a remote operand of scp, rsync and sftp.
_REMOTE = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>\[[^\]]+\]|[^@/:\s]+):(?!//)")
# Interpreters that take a program on the command line (`-c`, `-e`).
INTERPRETER = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby|node|nodejs|php)$")
_SOCKET = re.compile(r"socket|Socket|fsockopen|net\.connect|TCPSocket")
_SHELL_EXEC = re.compile(
    r"dup2|pty\.spawn|/bin/(?:ba|z|da|k)?sh\b|\bcmd\.exe\b|child_process|\bsh -i\b"
)
_RETRY_LIMIT = 10
_ADMIN_PORTS = frozenset({2375, 2376, 2379, 10250})  # Docker, etcd, kubelet
_ADMIN_SOCKETS = re.compile(r"docker\.sock|containerd\.sock|crio\.sock|kubelet")
# Wrappers that run a request over and over (`xargs -P`, `parallel`, `watch`).
_REPEATERS = frozenset({"xargs", "parallel", "watch"})
_FETCHERS = frozenset({"curl", "wget", "http", "https", "xh", "aria2c"})
_HTTP_LIBRARY = re.compile(r"requests\.|urllib|httpx|aiohttp|fetch\(|http\.get|Net::HTTP|LWP")
_MANY = re.compile(r"range\(\s*\d[\d_]{3,}\s*\)|while\s*(True|true|1)\b|for\s*\(\s*;\s*;")


def check_command(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    found = _dev_sockets(cmd, ctx)
    reader = _PROGRAMS.get(cmd.program)
    if reader is None and INTERPRETER.match(cmd.program):
        reader = _interpreter
    if reader is not None:
        found.extend(reader(cmd, ctx))
    return _unique(found)


def check_request(url: str, method: str, body: str, ctx: SafetyContext) -> list[Finding]:
    """The http_request tool: `url` must be absolute; `method` arrives upper-case."""
    method = method or "GET"
    if not _SCHEME.match(url.strip()) and not url.strip().lower().startswith("file:"):
        return [UNPARSEABLE.finding(redact_text(url))]
    found = judge_request(url, method, method not in READ_METHODS, ctx, web_only=True)
    hosts = _hosts([url])
    if body and redact_text(body) != body and not all(h and _loopback(h) for h in hosts):
        found.append(EXFILTRATE_SECRET.finding(f"{method} {redact_text(url)}: credential in body"))
    return _unique(found)


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
    if _loopback(host) and parts.port in _ADMIN_PORTS:
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
    return bool(host) and (_loopback(host) or ctx.host_allowed(host))


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


def _loopback(host: str) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    return ip is not None and (ip.is_loopback or ip.is_unspecified)


def _loopback_only(address: str) -> bool:
    """Whether a server bound to `address` is reachable from this machine alone (`0.0.0.0`,
    reached locally as loopback, listens on every interface)."""
    ip = _ip(address.strip("[]"))
    return address == "localhost" or (ip is not None and ip.is_loopback)


def _unique(found: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(found))


def _tls_off(hosts: Iterable[str], flag: str) -> list[Finding]:
    """Certificate checks off matter unless every host is loopback (a self-signed dev server)."""
    targets = list(hosts)
    if targets and all(_loopback(h) for h in targets):
        return []
    return [TLS_DISABLED.finding(flag)]


def _hosts(urls: Iterable[str]) -> list[str]:
    hosts: list[str] = []
    for url in urls:
        try:
            hosts.append((_split_url(url).hostname or "").lower())
        except ValueError:
            hosts.append("")
    return hosts


def _secret_uploads(
    files: Iterable[str], hosts: Sequence[str], detail: str, ctx: SafetyContext
) -> list[Finding]:
    secrets = [f for f in files if is_secret_path(f, ctx)]
    if secrets and not all(h and _loopback(h) for h in hosts):
        return [EXFILTRATE_SECRET.finding(f"{detail}: {', '.join(secrets)}")]
    return []


def _inline_secrets(values: Iterable[str], hosts: Sequence[str], detail: str) -> list[Finding]:
    """Credential-shaped text (a key, a bearer token) in data or headers sent off the machine."""
    if any(redact_text(v) != v for v in values) and not all(h and _loopback(h) for h in hosts):
        return [EXFILTRATE_SECRET.finding(f"{detail}: credential in the request")]
    return []


def _names(text: str) -> frozenset[str]:
    """Option names written as one whitespace-separated string (tables stay readable)."""
    return frozenset(text.split())


# curl -----------------------------------------------------------------------------------------

_CURL_DATA = frozenset(
    {
        "-d",
        "--data",
        "--data-raw",
        "--data-binary",
        "--data-ascii",
        "--data-urlencode",
        "--json",
    }
)
_CURL_FORM = frozenset({"-F", "--form", "--form-string"})
_CURL_UPLOAD = frozenset({"-T", "--upload-file"})
_CURL_VALUED = (
    _CURL_DATA
    | _CURL_FORM
    | _CURL_UPLOAD
    | _names(
        """-H -o -u -X -A -e -b -c -x -U -m -w -K -E -r -z -Y -y -D -Q -C -t -P
        --header --output --user --request --user-agent --referer --cookie --cookie-jar
        --proxy --proxy-user --max-time --connect-timeout --retry --retry-delay --retry-max-time
        --write-out --config --cert --key --cacert --capath --range --time-cond --resolve
        --connect-to --interface --limit-rate --max-filesize --max-redirs --output-dir
        --dump-header --stderr --trace --trace-ascii --url --quote --parallel-max
        --expect100-timeout --local-port --keepalive-time --dns-servers --noproxy --proto
        --proto-redir --unix-socket --abstract-unix-socket --oauth2-bearer --pass
        --pinnedpubkey --variable --url-query --aws-sigv4 --ciphers --tls-max --mail-from
        --mail-rcpt --continue-at --telnet-option --ftp-port --cert-type --key-type"""
    )
)


def _curl(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    opts = split_options(cmd.argv[1:], _CURL_VALUED)
    urls = [*opts.operands, *opts.values("--url")]
    hosts = _hosts(urls)
    data = opts.values(*_CURL_DATA)
    forms = opts.values(*_CURL_FORM)
    uploads = opts.values(*_CURL_UPLOAD)
    files = [*(_curl_data_file(d) for d in data), *(_curl_form_file(f) for f in forms), *uploads]
    files = [f for f in files if f and f != "-"]
    explicit = [m.upper() for m in opts.values("-X", "--request")]
    get = opts.has("-G", "--get")
    sends = bool(forms or uploads or (data and not get) or (get and files))
    if explicit:
        method = explicit[-1]
    elif opts.has("-I", "--head"):
        method = "HEAD"
    elif uploads:
        method = "PUT"
    else:
        method = "POST" if sends else "GET"
    found: list[Finding] = []
    for url in urls:
        found.extend(judge_request(url, method, sends, ctx))
    found.extend(_secret_uploads(files, hosts, "curl", ctx))
    headers = opts.values("-H", "--header", "--oauth2-bearer")
    found.extend(_inline_secrets([*data, *forms, *headers], hosts, "curl"))
    found.extend(_user_password(opts.values("-u", "--user"), "curl -u"))
    if opts.has("-k", "--insecure"):
        found.extend(_tls_off(hosts, "curl --insecure"))
    if any(_ADMIN_SOCKETS.search(v) for v in opts.values("--unix-socket")):
        found.append(ADMIN_API.finding(" ".join(cmd.argv)))
    retries = [int(r) for r in opts.values("--retry") if r.isdigit()]
    storm = opts.has("-Z", "--parallel") or any(r > _RETRY_LIMIT for r in retries)
    storm = storm or bool(_REPEATERS & set(cmd.via))
    if storm and not (hosts and all(h and host_allowed(h, ctx) for h in hosts)):
        found.append(RATE_LIMIT.finding(" ".join(cmd.argv)))
    return found


def _curl_data_file(value: str) -> str:
    """The file a `-d @file` (or `--data-urlencode name@file`) reads, or ""."""
    if value.startswith("@"):
        return value[1:]
    name, at, path = value.partition("@")
    return path if at and "=" not in name and "&" not in name else ""


def _curl_form_file(value: str) -> str:
    """The file a `-F name=@file;type=…` or `-F name=<file` sends, or ""."""
    _, eq, content = value.partition("=")
    if eq and content[:1] in ("@", "<"):
        return content[1:].split(";", 1)[0]
    return ""


def _user_password(values: Iterable[str], detail: str) -> list[Finding]:
    if any(":" in v and v.split(":", 1)[1] for v in values):
        return [CREDENTIALS_IN_URL.finding(f"{detail} user:[REDACTED]")]
    return []


# wget, aria2c ---------------------------------------------------------------------------------

_WGET_VALUED = _names(
    """-O -o -a -P -U -t -T -w -l -Q -e -i -B -D -A -R -I -X
    --output-document --output-file --append-output --directory-prefix --user-agent
    --header --post-data --post-file --body-data --body-file --method --tries --timeout --wait
    --level --quota --execute --input-file --base --user --password --http-user
    --http-password --ftp-user --ftp-password --proxy-user --proxy-password --referer
    --load-cookies --save-cookies --ca-certificate --certificate --private-key --domains
    --exclude-domains --accept --reject --limit-rate --bind-address"""
)


def _wget(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    opts = split_options(cmd.argv[1:], _WGET_VALUED)
    urls = list(opts.operands)
    hosts = _hosts(urls)
    files = opts.values("--post-file", "--body-file")
    bodies = opts.values("--post-data", "--body-data")
    methods = [m.upper() for m in opts.values("--method")]
    sends = bool(files or bodies)
    method = methods[-1] if methods else ("POST" if sends else "GET")
    found: list[Finding] = []
    for url in urls:
        found.extend(judge_request(url, method, sends, ctx))
    found.extend(_secret_uploads(files, hosts, "wget", ctx))
    found.extend(_inline_secrets([*bodies, *opts.values("--header")], hosts, "wget"))
    passwords = opts.values("--password", "--http-password", "--ftp-password", "--proxy-password")
    if passwords:
        found.append(CREDENTIALS_IN_URL.finding("wget --password=[REDACTED]"))
    if opts.has("--no-check-certificate"):
        found.extend(_tls_off(hosts, "wget --no-check-certificate"))
    crawl = opts.has("-r", "--recursive", "-m", "--mirror") or bool(_REPEATERS & set(cmd.via))
    if crawl and not (hosts and all(h and host_allowed(h, ctx) for h in hosts)):
        found.append(RATE_LIMIT.finding(" ".join(cmd.argv)))
    return found


_ARIA_VALUED = _names("-d -o -x -s -j -i -l -k -t -m -U")


def _aria2c(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    opts = split_options(cmd.argv[1:], _ARIA_VALUED)
    found: list[Finding] = []
    for url in opts.operands:
        found.extend(judge_request(url, "GET", False, ctx))
    if "false" in opts.values("--check-certificate"):
        found.extend(_tls_off(_hosts(opts.operands), "aria2c --check-certificate=false"))
    return found


# httpie and xh --------------------------------------------------------------------------------

_HTTPIE_VALUED = _names(
    """-a -A -o -p -s
    --auth --auth-type --output --session --session-read-only --verify --cert --cert-key
    --proxy --timeout --max-redirects --print --pretty --style --format-options
    --default-scheme --ssl --ciphers --boundary --response-charset --response-mime"""
)
_METHOD_WORD = re.compile(r"^[A-Z]+$")
_HTTPIE_ITEM = re.compile(r"^(?P<key>[^=:@]*?)(?P<sep>:=@|=@|:=|==|=|@|:)(?P<value>.*)$")


def _httpie(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    opts = split_options(cmd.argv[1:], _HTTPIE_VALUED)
    words = list(opts.operands)
    method = ""
    if len(words) > 1 and _METHOD_WORD.match(words[0]):
        method = words.pop(0)
    if not words:
        return []
    url, items = words[0], words[1:]
    if url.startswith(":"):
        url = "localhost" + url
    if "://" not in url and cmd.program in ("https", "xhs"):
        url = "https://" + url
    files: list[str] = []
    sent: list[str] = []
    for item in items:
        match = _HTTPIE_ITEM.match(item)
        if match is None or match["sep"] in ("==", ":"):
            continue
        if "@" in match["sep"]:
            files.append(match["value"])
        sent.append(match["value"])
    offline = opts.has("--offline")
    if offline:
        return []
    sends = bool(sent)
    method = method or ("POST" if sends else "GET")
    hosts = _hosts([url])
    found = judge_request(url, method, sends, ctx)
    found.extend(_secret_uploads(files, hosts, cmd.program, ctx))
    found.extend(_inline_secrets(sent, hosts, cmd.program))
    found.extend(_user_password(opts.values("-a", "--auth"), f"{cmd.program} --auth"))
    if any(v.lower() in ("no", "false") for v in opts.values("--verify")):
        found.extend(_tls_off(hosts, f"{cmd.program} --verify=no"))
    return found


# raw sockets: nc, ncat, netcat, socat, telnet, ftp, /dev/tcp ----------------------------------

_NC_VALUED = _names(
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
    found = _secret_uploads(reads, [host], cmd.program, ctx)
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
        found.extend(_secret_uploads(files, [host], "socat", ctx))
        found.extend(judge_host(host, "CONNECT", True, ctx, detail))
    return found


def _dev_sockets(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
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
            found.extend(_secret_uploads(cmd.argv[1:], [host], cmd.program, ctx))
        found.extend(judge_host(host, "POST" if writes else "GET", writes, ctx, detail))
    return found


# scp, sftp, rsync -----------------------------------------------------------------------------

_SCP_VALUED = _names("-c -F -i -J -l -o -P -S -D -X")
_RSYNC_VALUED = _names(
    """-e -f -T -B -M
    --rsh --exclude --include --filter --port --password-file --files-from --log-file
    --temp-dir --backup-dir --suffix --chmod --chown --bwlimit --timeout --max-size --min-size
    --partial-dir --compare-dest --link-dest --copy-dest --remote-option --out-format --info
    --debug --rsync-path --exclude-from --include-from --iconv --usermap --groupmap
    --max-delete --block-size --checksum-choice --compress-choice --compress-level"""
)
_SFTP_VALUED = _names("-B -b -c -D -F -i -J -l -o -P -R -S -s -X")


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
        found = _secret_uploads(local_sources, [dest_host], cmd.program, ctx)
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


def _interpreter(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
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
    if not all(_loopback_only(b) for b in binds):
        return [SERVE_PUBLIC.finding(detail)]
    return [SERVE_LOCAL.finding(detail)]


# Options through which a client writes local files: a download, a log, headers, cookies.
_OUTPUTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "curl": (
        _CURL_VALUED,
        _names("-o --output --output-dir -D --dump-header -c --cookie-jar --trace --trace-ascii")
        | {"--stderr"},
    ),
    "wget": (
        _WGET_VALUED,
        _names("-O --output-document -o --output-file -a --append-output -P --directory-prefix")
        | {"--save-cookies"},
    ),
    "http": (_HTTPIE_VALUED, _names("-o --output")),
    "aria2c": (_ARIA_VALUED, _names("-d -o")),
}


_OUTPUT_DIRS = frozenset({"--output-dir", "-P", "--directory-prefix", "-d"})


def output_files(cmd: SimpleCommand) -> list[str]:
    """The local files a download client writes, from its options: the files rules judge where
    they land (`curl -o ~/.bashrc`). A directory option yields `dir/*`; `-` is standard output."""
    program = {"wget2": "wget", "https": "http", "xh": "http", "xhs": "http"}.get(
        cmd.program, cmd.program
    )
    known = _OUTPUTS.get(program)
    if known is None:
        return []
    valued, names = known
    found: list[str] = []
    for name, value in split_options(cmd.argv[1:], valued).options:
        if name in names and value and value != "-":
            found.append(posixpath.join(value, "*") if name in _OUTPUT_DIRS else value)
    return found


def _tunnel(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """ngrok, cloudflared, localtunnel, bore: a public URL for a local port."""
    if cmd.program == "cloudflared" and "tunnel" not in cmd.argv:
        return []
    return [TUNNEL.finding(" ".join(cmd.argv))] if len(cmd.argv) > 1 else []


def _repeater(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`watch curl …`, `parallel -j 200 curl …`: requests in a loop the parser does not peel."""
    programs = {posixpath.basename(arg) for arg in cmd.argv[1:]}
    return [RATE_LIMIT.finding(" ".join(cmd.argv))] if programs & _FETCHERS else []


_PROGRAMS: dict[str, Callable[[SimpleCommand, SafetyContext], list[Finding]]] = {
    "curl": _curl,
    "wget": _wget,
    "wget2": _wget,
    "aria2c": _aria2c,
    "http": _httpie,
    "https": _httpie,
    "httpie": _httpie,
    "xh": _httpie,
    "xhs": _httpie,
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

__all__ = [
    "INTERPRETER",
    "READ_METHODS",
    "RULES",
    "check_command",
    "check_request",
    "host_allowed",
    "inline_code",
    "is_metadata",
    "judge_host",
    "judge_request",
    "output_files",
]
