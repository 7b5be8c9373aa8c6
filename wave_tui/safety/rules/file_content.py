"""Rules for what a written file says: credentials in plain text, protections or tests switched
off, dependencies and data loss the story did not ask for, and unsafe code (`file_code`).
"""

from __future__ import annotations

import re

from wave_tui.domain.redaction import REDACTED, redact_text
from wave_tui.safety.context import ResolvedPath, SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules import file_code
from wave_tui.safety.rules.paths import path_parts, secret_name, show_path
from wave_tui.safety.rules.scan import Gated, Text, words

WRITE_SECRET_FILE = Rule(
    "file.write.secret_file",
    "data_integrity.sensitive_plaintext",
    Severity.HIGH,
    "writes a file that holds secrets (.env, a private key, registry credentials)",
)

CREDENTIAL_IN_CONTENT = Rule(
    "file.write.credential_in_content",
    "data_integrity.sensitive_plaintext",
    Severity.HIGH,
    "the content holds a credential in plain text",
)

CREDENTIAL_IN_TEST = Rule(
    "file.content.credential_in_test",
    "data_integrity.sensitive_plaintext",
    Severity.LOW,
    "a test file holds something credential-shaped (fixtures usually hold fake ones)",
)

DISABLES_SECURITY = Rule(
    "file.content.disables_security",
    "security.disable_protections",
    Severity.MEDIUM,
    "the content turns off a protection: TLS verification, CORS, debug mode or logging",
)

DISABLES_AUTH = Rule(
    "file.content.disables_auth",
    "security.bypass_auth",
    Severity.MEDIUM,
    "the content turns off authentication, authorization or CSRF checks",
)

WEAKENED_IN_TEST = Rule(
    "file.content.weakened_in_test",
    "security.disable_protections",
    Severity.LOW,
    "test code turns off a protection (usually against a local server)",
)

SENSITIVE_PLAINTEXT = Rule(
    "file.content.sensitive_plaintext",
    "data_integrity.sensitive_plaintext",
    Severity.MEDIUM,
    "logs or prints a secret, stores a password or card code as is, or hashes a password weakly",
)

SKIPS_TESTS = Rule(
    "file.content.skips_tests",
    "compliance.validation_gates",
    Severity.MEDIUM,
    "test code or configuration skips, ignores or short-circuits tests",
)

UNLISTED_DEPENDENCY = Rule(
    "file.write.unlisted_dependency",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "adds a dependency the story does not name",
)

DESTRUCTIVE_MIGRATION = Rule(
    "file.write.destructive_migration",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "a migration the story did not ask for drops or truncates data",
)

RULES: tuple[Rule, ...] = (
    WRITE_SECRET_FILE,
    CREDENTIAL_IN_CONTENT,
    CREDENTIAL_IN_TEST,
    DISABLES_SECURITY,
    DISABLES_AUTH,
    WEAKENED_IN_TEST,
    SENSITIVE_PLAINTEXT,
    SKIPS_TESTS,
    UNLISTED_DEPENDENCY,
    DESTRUCTIVE_MIGRATION,
    *file_code.RULES,
)

_TEST_NAME = re.compile(r"^(test_.*\.py|.*_test\.py|conftest\.py|.*\.(test|spec)\.[jt]sx?)$")
_TEST_DIRS = frozenset({"tests", "test", "testing", "__tests__", "spec"})
_SETTINGS_NAME = re.compile(r"(?i)settings|config|conf|prod|^\.env")
_REQUIREMENTS = re.compile(r"^requirements.*\.(txt|in)$")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

# --- what content says ----------------------------------------------------------------------

_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n\s*[A-Za-z0-9+/=]{20,}")
# A value redaction would hide that is plainly not a real secret: a placeholder, or code that
# looks the secret up (`DB_PASSWORD = os.environ.get(...)`).
_PLACEHOLDER = re.compile(
    r"(?i:change[-_]?me|<[^<>\n]+>|\byour[-_ ]|placeholder|dummy|x{4}|\*{4}|\$\{|\{\{|redacted"
    r"|\.\.\.|environ|getenv|process\.env|\()|example|EXAMPLE|Example"
)
_MAX_CREDENTIAL_LINES = 200  # enough to judge a file; keeps a huge fixture within the time budget
# The host after `user:password@` when it is this machine or a compose service (no dot).
_LOCAL_HOST = re.compile(r"@(localhost|127\.0\.0\.1|\[::1\]|[\w-]+)(?=[:/]|$)")
_REGISTRY_TOKEN = re.compile(r"(?im)^\s*[\w:/.@-]*(_auth(token)?|password|token)\s*[=:]\s*(?!\$)\S")
_DEBUG_ON = re.compile(r"(?m)^\s*(export\s+)?DEBUG['\"]?\s*[=:]\s*['\"]?(True|true|1|yes|on)\b")
_WEAKENS_SECURITY = re.compile(
    r"CORS_(ORIGIN_)?ALLOW_ALL(_ORIGINS)?\s*=\s*True"
    r"|(?i:access-control-allow-origin)['\"]?\]?\s*[:,=]?\s*['\"]?\*"
    r"|(?i:origins?)['\"]?\s*[=:]\s*\[?\s*['\"]\*['\"]"
    r"|\bverify\s*=\s*False\b|ssl\._create_unverified_context|ssl\.CERT_NONE"
    r"|check_hostname\s*=\s*False|CURLOPT_SSL_VERIFY(PEER|HOST)\s*,\s*(0|false|FALSE)\b"
    r"|rejectUnauthorized['\"]?\s*:\s*false|(NODE_TLS_REJECT_UNAUTHORIZED|PYTHONHTTPSVERIFY)"
    r"['\"]?\s*[=:]\s*['\"]?0"
    r"|(?i:\b(ssl_?verify|verify_?ssl|tls_?verify|verify_?certs?)['\"]?\s*[=:]\s*['\"]?"
    r"(false|0|no|off)\b)"
    r"|(?i:\binsecure_?skip_?verify['\"]?\s*[=:]\s*['\"]?true\b)"
    r"|logging\.disable\((?!\s*(logging\.)?NOTSET)"
    r"|(?i:\b(audit|security|ssl|tls|firewall)_?(log(ging)?_?)?enabled['\"]?\s*[=:]\s*['\"]?"
    r"(false|0|off|no)\b)"
    r"|\.run\([^)\n]*debug\s*=\s*True"
    r"|(SESSION|CSRF|REMEMBER)_COOKIE_(SECURE|HTTPONLY)\s*=\s*False|SECURE_SSL_REDIRECT\s*=\s*False"
    r"|force_https\s*=\s*False|content_security_policy\s*=\s*None"
    r"|(?i:(#|//).*\b((disable[sd]?|skip|bypass)\s+(the\s+)?(audit\w*|logging|ssl|tls|verification)"
    r"|(audit\w*|logging|ssl|tls|verification)\s+(is\s+)?(disabled|off|bypassed|skipped))\b)"
)
_WEAKENS_AUTH = re.compile(
    r"(?i:(auth|authentication|authorization|csrf|login)"
    r"(_?(enabled|required|enforced|checks?|protection))?['\"]?\s*[=:]\s*['\"]?"
    r"(false|off|disabled|no)\b)"
    r"|(?i:(auth|authentication|authorization|csrf|login)_?disabled['\"]?\]?\s*[=:]\s*"
    r"['\"]?(true|1|yes|on)\b)"
    r"|(?im:^\s*(auth\w*|login|csrf)\s*:\s*\n\s+(enabled|required)\s*:\s*(false|no|off)\b)"
    r"|@csrf_exempt\b|@csrf\.exempt\b|verify_signature['\"]?\s*:\s*False"
    r"|algorithms\s*=\s*\[\s*['\"]none['\"]|\bif\s+(False|0)\s+and\b|(?i:['\"]x-[\w-]*bypass)"
    r"|(?m:^\s*(#|//)\s*@(login_required|permission_required|admin_required|\w*auth\w*)\b)"
    r"|(?i:(#|//).*\b((skip|bypass|disable[sd]?|no)\s+(the\s+)?(auth\w*|login|permission\w*|csrf)"
    r"|(auth\w*|login|csrf|permission\w*)\s+(is\s+)?(disabled|bypassed|skipped|removed))\b)"
    r"|(?m:^\s*(local|host\w*)\s+.*\btrust\s*$)"
)
_SENSITIVE_PLAINTEXT = re.compile(
    r"(?i:\b(print|log|logger|logging)\.?(debug|info|warning|warn|error|exception|critical)?"
    r"\([^)\n]*\b(password|passwd|secret|token|api_?key|authorization|headers|card_number|cvv)\b)"
    r"|(?im:\.password\s*=\s*(?!.*hash)[\w.]+\s*$)|(?i:\b(md5|sha1)\([^)\n]*pass)"
    r"|(?i:\b(card_?cvv|cvv2?|cvc2?)\b)|(?m:^\s*SECRET_KEY\s*=\s*['\"][^'\"]{0,15}['\"])"
)
_SKIPS_TESTS = re.compile(
    r"(pytestmark\s*=\s*\[?\s*|add_marker\(\s*|@)pytest\.mark\.skip\b(?!if)"
    r"|@unittest\.skip\b\(|\bcollect_ignore(_glob)?\s*=|allow_module_level\s*=\s*True"
    r"|addopts\s*=.*--(ignore|deselect)\b"
)
_EXITS_EARLY = re.compile(r"\b(sys\.exit|os\._exit)\(")  # in a conftest: the run "passes"
# Data loss in a migration's upgrade; a story that asked for the migration may recreate a table
# (`DROP TABLE IF EXISTS`), nothing more.
_DATA_LOSS_ANY = re.compile(
    r"(?i)\bdrop\s+(table|database|schema)\b|\btruncate\b|\bop\.drop_(table|column)\("
    r"|\bdelete\s+from\s+[\w.\"]+\s*(;|['\"]|$)"
)
_DATA_LOSS_UNCONDITIONAL = re.compile(
    r"(?i)\bdrop\s+(table|database|schema)\b(?!\s+if\s+exists)|\btruncate\b"
    r"|\bop\.drop_(table|column)\(|\bdelete\s+from\s+[\w.\"]+\s*(;|['\"]|$)"
)


# The words (lower case) each match of a pattern holds: a pattern runs only on the lines that
# hold one (see `scan`).
_SECURITY_OFF = Gated(
    _WEAKENS_SECURITY,
    words(
        "cors_ origin verify ssl check_hostname rejectunauthorized reject_unauthorized logging"
        " enabled debug _cookie_ force_https content_security_policy audit tls verification"
    ),
)
_AUTH_OFF = Gated(
    _WEAKENS_AUTH,
    words("auth csrf login verify_signature algorithms bypass permission admin_required trust")
    | {"if false", "if 0"},
    following=1,  # `auth:` on one line, `enabled: false` on the next
)
_PLAINTEXT = Gated(
    _SENSITIVE_PLAINTEXT, words("pass secret token api authorization headers card_number cvv cvc")
)
_SKIPS = Gated(
    _SKIPS_TESTS,
    words("pytest.mark.skip unittest.skip collect_ignore allow_module_level addopts"),
)
_EXITS = Gated(_EXITS_EARLY, words("exit("))
_LOSS_ANY = Gated(_DATA_LOSS_ANY, words("drop truncate delete"))
_LOSS_UNCONDITIONAL = Gated(_DATA_LOSS_UNCONDITIONAL, words("drop truncate delete"))
_DEBUG = Gated(_DEBUG_ON, words("debug"))


def check_content(target: ResolvedPath, content: str, ctx: SafetyContext) -> list[Finding]:
    """Findings for what `content` says, written to `target` ("" when unknown: no findings)."""
    if not content:
        return [WRITE_SECRET_FILE.finding(show_path(target))] if _secret_file(target) else []
    parts = path_parts(target)
    shown, in_test, text = show_path(target), _is_test(parts), Text(content)
    return [
        *_secret_findings(parts, text, shown, in_test),
        *_weakening_findings(parts, text, shown, in_test),
        *_plan_findings(target, parts, content, ctx),
        *file_code.check_code(
            parts, shown, text, ctx, in_test=in_test, migration=_is_migration(parts)
        ),
    ]


def _secret_file(target: ResolvedPath) -> bool:
    parts = path_parts(target)
    return bool(parts) and secret_name(parts[-1])


def _secret_findings(
    parts: tuple[str, ...], text: Text, shown: str, in_test: bool
) -> list[Finding]:
    name, content = (parts[-1] if parts else ""), text.content
    found: list[Finding] = []
    if secret_name(name) or (name in (".npmrc", ".pypirc") and _holds_token(content)):
        found.append(WRITE_SECRET_FILE.finding(shown))
    shaped, assigned = _credential_lines(content)
    if shaped or (assigned and not in_test):
        lines = ", ".join(map(str, sorted({*shaped, *assigned})[:5]))
        found.append(CREDENTIAL_IN_CONTENT.finding(f"{shown}, line {lines}"))
    elif assigned:  # test fixtures log in with made-up passwords
        found.append(CREDENTIAL_IN_TEST.finding(f"{shown}, line {assigned[0]}"))
    plaintext = None if in_test else _PLAINTEXT.search(text)
    if plaintext is not None:
        found.append(SENSITIVE_PLAINTEXT.finding(_quote(shown, plaintext)))
    return found


def _weakening_findings(
    parts: tuple[str, ...], text: Text, shown: str, in_test: bool
) -> list[Finding]:
    """Protections, authentication or tests switched off; test code may do the first two."""
    name = parts[-1] if parts else ""
    weakened = _SECURITY_OFF.search(text)
    if weakened is None and _SETTINGS_NAME.search(name):
        weakened = _DEBUG.search(text)
    found = [
        (WEAKENED_IN_TEST if in_test else rule).finding(_quote(shown, match))
        for match, rule in (
            (weakened, DISABLES_SECURITY),
            (_AUTH_OFF.search(text), DISABLES_AUTH),
        )
        if match is not None
    ]
    skips = _SKIPS.search(text)
    if skips is None and name == "conftest.py":
        skips = _EXITS.search(text)
    if skips is not None:
        found.append(SKIPS_TESTS.finding(_quote(shown, skips)))
    return found


def _plan_findings(
    target: ResolvedPath, parts: tuple[str, ...], content: str, ctx: SafetyContext
) -> list[Finding]:
    """Dependencies and data loss the story did not ask for."""
    name = parts[-1] if parts else ""
    found: list[Finding] = []
    if _REQUIREMENTS.match(name) and ctx.story_text:
        unlisted = [n for n in _requirement_names(content) if not ctx.names_package(n)]
        if unlisted:
            found.append(UNLISTED_DEPENDENCY.finding(f"{show_path(target)}: {', '.join(unlisted)}"))
    if _is_migration(parts):
        asked_for = target.relative is not None and ctx.in_story_scope(target.relative)
        upgrade = Text(content.split("def downgrade", 1)[0])
        loss = (_LOSS_UNCONDITIONAL if asked_for else _LOSS_ANY).search(upgrade)
        if loss is not None:
            found.append(DESTRUCTIVE_MIGRATION.finding(_quote(show_path(target), loss)))
    return found


def _quote(shown: str, match: re.Match[str]) -> str:
    return f"{shown}: {match.group(0).strip()[:60]}"


def _requirement_names(content: str) -> list[str]:
    names = (_REQUIREMENT.match(line.split("#", 1)[0]) for line in content.splitlines())
    return [match.group(1) for match in names if match is not None]


def _is_test(parts: tuple[str, ...]) -> bool:
    return bool(parts) and (bool(_TEST_DIRS & set(parts[:-1])) or bool(_TEST_NAME.match(parts[-1])))


def _is_migration(parts: tuple[str, ...]) -> bool:
    joined = "/".join(parts)
    return joined.endswith(".sql") or "migrations" in parts or "alembic/versions/" in joined


def _credential_lines(content: str) -> tuple[list[int], list[int]]:
    """Lines holding a credential redaction would hide, less obvious placeholders: those with a
    key of a known format (or a private key), and those with a password-like assignment."""
    lines = content.splitlines()
    if _PRIVATE_KEY.search(content):
        return [n for n, line in enumerate(lines, 1) if "PRIVATE KEY-----" in line][:1], []
    redacted = redact_text(content).splitlines() if content else lines
    if redacted == lines:
        return [], []
    if len(redacted) != len(lines):  # a multi-line match: judge every line on its own
        redacted = [redact_text(line) for line in lines]
    changed = [n for n, (a, b) in enumerate(zip(lines, redacted, strict=True), 1) if a != b]
    shaped: list[int] = []
    assigned: list[int] = []
    for number in changed[:_MAX_CREDENTIAL_LINES]:
        line = lines[number - 1]
        secrets = [line[a:b] for a, b in _redacted_spans(line) if _real_secret(line, a, b)]
        if any(redact_text(secret) != secret for secret in secrets):
            shaped.append(number)
        elif secrets:
            assigned.append(number)
    return shaped, assigned


def _redacted_spans(line: str) -> list[tuple[int, int]]:
    """Where in `line` the substrings redaction replaces lie (secrets hold no quote or space, so
    the text that follows each marker is found right after the secret)."""
    pieces = redact_text(line).split(REDACTED)
    spans: list[tuple[int, int]] = []
    start = len(pieces[0])
    for piece in pieces[1:]:
        end = line.find(piece, start) if piece else len(line)
        end = len(line) if end < 0 else end
        spans.append((start, end))
        start = end + len(piece)
    return spans


def _real_secret(line: str, start: int, end: int) -> bool:
    if _PLACEHOLDER.search(line[start:end]):
        return False
    return _LOCAL_HOST.match(line, end) is None  # `app:app@localhost`: a development database


def _holds_token(content: str) -> bool:
    return any(_REGISTRY_TOKEN.search(line) and _real(line) for line in content.splitlines())


def _real(text: str) -> bool:
    return _PLACEHOLDER.search(text) is None
