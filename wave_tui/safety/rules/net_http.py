"""HTTP download clients (curl, wget, aria2c, httpie, xh): the URLs, methods, uploads and
options in each one's argv, read so that `net_judge` can weigh the request, plus the local files
a download writes, for the file rules.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.net_judge import (
    ADMIN_API,
    CREDENTIALS_IN_URL,
    RATE_LIMIT,
    Reader,
    host_allowed,
    inline_secrets,
    judge_request,
    option_names,
    secret_uploads,
    tls_off,
    url_hosts,
)
from wave_tui.safety.rules.paths import split_options
from wave_tui.safety.shell import SimpleCommand

_RETRY_LIMIT = 10
_ADMIN_SOCKETS = re.compile(r"docker\.sock|containerd\.sock|crio\.sock|kubelet")
# Wrappers that run a request over and over (`xargs -P`, `parallel`, `watch`).
_REPEATERS = frozenset({"xargs", "parallel", "watch"})

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
    | option_names(
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
    hosts = url_hosts(urls)
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
    found.extend(secret_uploads(files, hosts, "curl", ctx))
    headers = opts.values("-H", "--header", "--oauth2-bearer")
    found.extend(inline_secrets([*data, *forms, *headers], hosts, "curl"))
    found.extend(_user_password(opts.values("-u", "--user"), "curl -u"))
    if opts.has("-k", "--insecure"):
        found.extend(tls_off(hosts, "curl --insecure"))
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

_WGET_VALUED = option_names(
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
    hosts = url_hosts(urls)
    files = opts.values("--post-file", "--body-file")
    bodies = opts.values("--post-data", "--body-data")
    methods = [m.upper() for m in opts.values("--method")]
    sends = bool(files or bodies)
    method = methods[-1] if methods else ("POST" if sends else "GET")
    found: list[Finding] = []
    for url in urls:
        found.extend(judge_request(url, method, sends, ctx))
    found.extend(secret_uploads(files, hosts, "wget", ctx))
    found.extend(inline_secrets([*bodies, *opts.values("--header")], hosts, "wget"))
    passwords = opts.values("--password", "--http-password", "--ftp-password", "--proxy-password")
    if passwords:
        found.append(CREDENTIALS_IN_URL.finding("wget --password=[REDACTED]"))
    if opts.has("--no-check-certificate"):
        found.extend(tls_off(hosts, "wget --no-check-certificate"))
    crawl = opts.has("-r", "--recursive", "-m", "--mirror") or bool(_REPEATERS & set(cmd.via))
    if crawl and not (hosts and all(h and host_allowed(h, ctx) for h in hosts)):
        found.append(RATE_LIMIT.finding(" ".join(cmd.argv)))
    return found


_ARIA_VALUED = option_names("-d -o -x -s -j -i -l -k -t -m -U")


def _aria2c(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    opts = split_options(cmd.argv[1:], _ARIA_VALUED)
    found: list[Finding] = []
    for url in opts.operands:
        found.extend(judge_request(url, "GET", False, ctx))
    if "false" in opts.values("--check-certificate"):
        found.extend(tls_off(url_hosts(opts.operands), "aria2c --check-certificate=false"))
    return found


# httpie and xh --------------------------------------------------------------------------------

_HTTPIE_VALUED = option_names(
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
    hosts = url_hosts([url])
    found = judge_request(url, method, sends, ctx)
    found.extend(secret_uploads(files, hosts, cmd.program, ctx))
    found.extend(inline_secrets(sent, hosts, cmd.program))
    found.extend(_user_password(opts.values("-a", "--auth"), f"{cmd.program} --auth"))
    if any(v.lower() in ("no", "false") for v in opts.values("--verify")):
        found.extend(tls_off(hosts, f"{cmd.program} --verify=no"))
    return found


# Options through which a client writes local files: a download, a log, headers, cookies.
_OUTPUTS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "curl": (
        _CURL_VALUED,
        option_names(
            "-o --output --output-dir -D --dump-header -c --cookie-jar --trace --trace-ascii"
        )
        | {"--stderr"},
    ),
    "wget": (
        _WGET_VALUED,
        option_names(
            "-O --output-document -o --output-file -a --append-output -P --directory-prefix"
        )
        | {"--save-cookies"},
    ),
    "http": (_HTTPIE_VALUED, option_names("-o --output")),
    "aria2c": (_ARIA_VALUED, option_names("-d -o")),
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


PROGRAMS: dict[str, Reader] = {
    "curl": _curl,
    "wget": _wget,
    "wget2": _wget,
    "aria2c": _aria2c,
    "http": _httpie,
    "https": _httpie,
    "httpie": _httpie,
    "xh": _httpie,
    "xhs": _httpie,
}
