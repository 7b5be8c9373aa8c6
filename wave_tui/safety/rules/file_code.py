"""Rules for code written into a source file: request data that reaches an interpreter, a shell, a
query, a deserializer, a template or a path unchecked; whole tables deleted; request floods.

Code is read a line at a time with precompiled patterns. A name assigned from request data on an
earlier line (`name = request.args["name"]`) carries the taint to the lines that use it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules import network, sql
from wave_tui.safety.rules.scan import Text, words

INJECTION = Rule(
    "file.content.injection",
    "data_integrity.validate_input",
    Severity.HIGH,
    "request data reaches eval, a shell, an SQL string, a deserializer, a template or a file path",
)
UNSAFE_INPUT = Rule(
    "file.content.unsafe_input",
    "data_integrity.validate_input",
    Severity.MEDIUM,
    "builds SQL or a shell command from strings, loads YAML unsafely, or hands request data to "
    "HTML, a redirect, an XML parser or a URL fetch unchecked",
)
DELETES_ALL = Rule(
    "file.content.deletes_all_rows",
    "data_integrity.preserve_data",
    Severity.MEDIUM,
    "the code deletes every row of a table or drops every table",
)
REQUEST_FLOOD = Rule(
    "file.content.request_flood",
    "system_safety.rate_limits",
    Severity.MEDIUM,
    "the code sends thousands of requests in a loop to a host the project has not approved",
)

RULES: tuple[Rule, ...] = (INJECTION, UNSAFE_INPUT, DELETES_ALL, REQUEST_FLOOD)

_CODE_SUFFIXES = frozenset(
    {".py", ".pyw", ".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", ".rb", ".php", ".go", ".java"}
)
_TEMPLATE_SUFFIXES = frozenset({".html", ".htm", ".jinja", ".jinja2", ".j2", ".njk"})
_MAX_TAINTED = 50
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")

# Where untrusted data comes from: the web request, stdin, the command line.
_SOURCE = re.compile(
    r"request\.(?<!\wrequest\.)(?:args|form|values|data|json|files|cookies|headers|get_json"
    r"|get_data|stream|GET|POST|body|query_params|query|params|path_params|match_info|content"
    r"|text)\b|req\.(?<!\wreq\.)(?:body|query|params|headers|cookies)\b"
    r"|input\((?<![\w.]input\()|sys\.argv\b"
)
_ASSIGNED = re.compile(r"^\s*(?:const\s+|let\s+|var\s+)?(?P<name>[A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)")
_COMMENT = re.compile(r"^\s*(?:#|//|/\*|\*)")
_TRAILING_COMMENT = re.compile(r"\s+#\s.*$")

# Patterns start with a plain word (a `\b` comes after, as a lookbehind): see `scan`.
_CODE_EXEC = re.compile(r"(?:eval|exec)(?<![\w.]....)\s*\(|new\s+Function\s*\(")
_SHELL = re.compile(
    r"os\.(?:system|popen)\s*\(|(?:subprocess|commands)\.(?:getoutput|getstatusoutput)\s*\("
    r"|execSync\s*\(|shell_exec\s*\(|passthru\s*\("
)
_SUBPROCESS = re.compile(r"subprocess\.(?:run|call|check_call|check_output|Popen)\s*\(")
_SHELL_TRUE = re.compile(r"shell\s*=\s*True\b")
_DESERIALIZE = re.compile(
    r"(?:c?[Pp]ickle|dill|marshal|jsonpickle|shelve)\.(?:loads?|decode|Unpickler|open)\s*\("
    r"|unserialize\s*\("
)
_YAML_LOAD = re.compile(r"yaml\.(?:load|load_all|unsafe_load|unsafe_load_all|full_load)\s*\(")
_YAML_SAFE = re.compile(r"SafeLoader|BaseLoader")
_TEMPLATE = re.compile(r"render_template_string\s*\(|Template\s*\(")
_MARKED_SAFE = re.compile(
    r"(?:Markup|mark_safe|SafeString|format_html)\s*\(|dangerouslySetInnerHTML|\.innerHTML\s*="
)
_PATH_SINK = re.compile(
    r"(?:send_file|FileResponse|open|remove|unlink|rmtree|Path|os\.path\.join)\s*\("
)
_REDIRECT = re.compile(r"redirect\s*\(|HttpResponseRedirect\s*\(")
_SAFE_REDIRECT = re.compile(r"url_has_allowed_host_and_scheme|is_safe_url|urlparse|url_parse")
_FETCH = re.compile(
    r"(?:requests|httpx|session|aiohttp|urllib\.request|http)\.(?:get|post|put|patch|delete"
    r"|head|request|urlopen)\s*\(|urlopen\s*\("
)
_XXE = re.compile(
    r"(?:resolve_entities|load_dtd|huge_tree)\s*=\s*True|no_network\s*=\s*False"
    r"|external-general-entities\W+true|feature_external_ges\W+True"
)
_UNESCAPED = re.compile(
    r"\{\{[^}]*\b(?:request|params|query)\.[^}]*\|\s*safe\b|\{%-?\s*autoescape\s+(?:false|off)\b"
)
# SQL text: upper-case keywords as SQL is written, or any case inside a query call.
_SQL_WORDS = re.compile(
    r"SELECT\b.*\bFROM\b|DELETE\s+FROM\b|UPDATE\s+\S+\s+SET\b|INSERT\s+INTO\b"
    r"|ORDER\s+BY\b|WHERE\b|DROP\s+TABLE\b"
)
_QUERY_CALL = re.compile(
    r"\.(?:execute|executemany|executescript|exec_driver_sql|raw|extra|query|read_sql\w*)\s*\("
    r"|text\((?<![\w.]text\()"
)
# A string literal built from values: an f-string with a field, a JS template with `${`, or a
# literal followed by `%`, `+` or `.format(`.
_BUILT_STRING = re.compile(
    r"[fF][rR]?\"(?P<f1>[^\"\n]*\{[^{}\n]+\}[^\"\n]*)\""
    r"|[fF][rR]?'(?P<f2>[^'\n]*\{[^{}\n]+\}[^'\n]*)'"
    r"|`(?P<t>[^`\n]*\$\{[^`\n]*)`"
    r"|\"(?P<d>[^\"\n]*)\"\s*(?:%\s*[\w(\[]|\+\s*[\w(]|\.format\()"
    r"|'(?P<s>[^'\n]*)'\s*(?:%\s*[\w(\[]|\+\s*[\w(]|\.format\()"
)
_LOOP = re.compile(
    r"^(?P<indent>\s*)(?:async\s+)?(?:for\s+.+\s+in\s+range\(\s*(?:[\d_]+\s*,\s*)?(?P<n>\d[\d_]*)\s*\)"
    r"|while\s+(?:True|1)\s*:)"
)
# A word every sink that needs request data holds: most lines that hold request data hold none.
_ANY_TAINTED_SINK = re.compile(
    r"eval|exec|Function|ickle|dill|marshal|shelve|unserialize|yaml|emplate|Markup|mark_safe"
    r"|SafeString|format_html|innerHTML|send_file|FileResponse|open|remove|unlink|rmtree|Path"
    r"|path\.join|edirect|requests|httpx|session|aiohttp|urllib|http|urlopen"
)
# Words (lower case) on every line a rule above can fire on: request data (every other sink
# fires only on lines that hold it, or a name assigned from it), SQL, a shell, YAML, XML, ORM.
_WATCH = re.compile(
    "|".join(
        re.escape(word)
        for word in sorted(
            words(
                "request. req. input( sys.argv select delete update insert order where drop"
                " execute raw( extra( query text( read_sql system popen subprocess getoutput"
                " execsync shell_exec passthru yaml resolve_entities no_network load_dtd"
                " huge_tree external-general-entities feature_external_ges destroy_all"
            )
        )
    )
)
_LOOP_WORDS = re.compile(r"range\(|while")
_FLOOD_COUNT = 1000
_LOOP_BODY = 12  # lines of a loop's body read for a request
_URL_LITERAL = re.compile(r"""^\s*[fFrRbB]?["'`](?P<url>[^"'`]*)""")


def check_code(
    parts: tuple[str, ...],
    shown: str,
    text: Text,
    ctx: SafetyContext,
    *,
    in_test: bool = False,
    migration: bool = False,
) -> list[Finding]:
    """Findings for the code `text` written to the file whose path has segments `parts` (shown
    as `shown`). A test sends hostile input on purpose and resets its database; a migration's
    dropped tables are the migration rules' business."""
    name = parts[-1] if parts else ""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix in _TEMPLATE_SUFFIXES:
        match = _UNESCAPED.search(text.content) if "{" in text.content else None
        return [UNSAFE_INPUT.finding(_quote(shown, match.group(0)))] if match else []
    if suffix not in _CODE_SUFFIXES:
        return []
    found = [] if in_test else _read_lines(text, shown, migration)
    flood = _request_flood(text, ctx)
    if flood is not None:
        found.append(REQUEST_FLOOD.finding(_quote(shown, flood)))
    return found


def _read_lines(text: Text, shown: str, migration: bool) -> list[Finding]:
    """Judge, in order, the lines that mention a sink or request data, and each later line that
    uses a name assigned from request data."""
    scan = _Scan(shown, redirect_checked=bool(_SAFE_REDIRECT.search(text.lower)))
    pending = text.line_numbers(_WATCH)
    heapq.heapify(pending)
    done = -1
    while pending:
        number = heapq.heappop(pending)
        if number <= done:
            continue
        done = number
        line = text.line(number)
        if _COMMENT.match(line):
            continue
        line = _TRAILING_COMMENT.sub("", line)
        for tainted in scan.line(line):
            uses = re.compile(rf"{re.escape(tainted.lower())}\b")
            for later in text.line_numbers(uses):
                if later > number:
                    heapq.heappush(pending, later)
        emptied = None if migration else sql.orm_empties_tables(line)
        if emptied is not None and _called(line, emptied):
            scan.add(DELETES_ALL, line)
    return scan.found


def _called(line: str, match: re.Match[str]) -> bool:
    """Whether a match is a call that empties a table, not a method a docstring names; a bare
    `delete_all` takes no rows (`session.delete_all(rows)` deletes only those)."""
    if "(" in match.group(0):
        return True
    return line[match.end() :].lstrip().startswith("()")


@dataclass
class _Scan:
    """The findings of one file, and the names that hold request data so far."""

    shown: str
    redirect_checked: bool
    tainted: set[str] = field(default_factory=set)
    found: list[Finding] = field(default_factory=list)
    taint: re.Pattern[str] | None = None

    def add(self, rule: Rule, line: str) -> None:
        if not any(f.rule is rule for f in self.found):  # the first line of each says enough
            self.found.append(rule.finding(_quote(self.shown, line)))

    def is_tainted(self, text: str) -> bool:
        """Whether `text` holds request data, directly or through a name assigned from it (a
        name read, not one assigned to or an attribute of something else)."""
        if _SOURCE.search(text):
            return True
        if self.taint is None:
            return False
        return any(
            match.start() == 0 or text[match.start() - 1] not in _NAME_CHARS
            for match in self.taint.finditer(text)
        )

    def line(self, line: str) -> list[str]:
        """Judge one line of code; the name it newly taints, if any, is returned."""
        rule = self._judge(line)
        if rule is not None:
            self.add(rule, line)
        assigned = _ASSIGNED.match(line)
        if assigned is None or len(self.tainted) >= _MAX_TAINTED:
            return []
        name = assigned["name"]
        if name in self.tainted or not self.is_tainted(line[assigned.end() :]):
            return []
        self.tainted.add(name)
        names = "|".join(sorted(map(re.escape, self.tainted)))
        self.taint = re.compile(rf"(?:{names})\b(?!\s*=[^=])")
        return [name]

    def _judge(self, line: str) -> Rule | None:
        """The rule a line breaks, if any: request data in a dangerous place is an injection;
        the same place fed by a string built from anything else is unsafe input. Only SQL, a
        shell, YAML and XML parsers are unsafe without request data in sight."""
        tainted = self.is_tainted(line)
        if (_SQL_WORDS.search(line) or _QUERY_CALL.search(line)) and _built_sql(line):
            return INJECTION if tainted else UNSAFE_INPUT
        shell = [*_SHELL.finditer(line)]
        if _SHELL_TRUE.search(line):
            shell += _SUBPROCESS.finditer(line)
        if shell:
            arguments = list(_arguments(shell, line))
            if tainted and any(self.is_tainted(arg) for arg in arguments):
                return INJECTION
            if any(_BUILT_STRING.search(arg) for arg in arguments):
                return UNSAFE_INPUT
        if tainted:
            rule = self._tainted_sink(line)
            if rule is not None:
                return rule
        if _YAML_LOAD.search(line) and not _YAML_SAFE.search(line):
            return UNSAFE_INPUT
        return UNSAFE_INPUT if _XXE.search(line) else None

    def _tainted_sink(self, line: str) -> Rule | None:
        """For a line that holds request data: whether it reaches code, a deserializer, a
        template or a path (an injection), or HTML, a redirect or a URL fetch (unsafe input)."""
        if _ANY_TAINTED_SINK.search(line) is None:
            return None
        calls = [*_CODE_EXEC.finditer(line), *_DESERIALIZE.finditer(line)]
        calls += [*_TEMPLATE.finditer(line), *_YAML_LOAD.finditer(line)]
        if any(self.is_tainted(arg) for arg in _arguments(calls, line)):
            return INJECTION
        if any(_SOURCE.search(arg) for arg in _arguments(_PATH_SINK.finditer(line), line)):
            return INJECTION  # only direct use: a name checked first is passed by variable
        marked = [*_MARKED_SAFE.finditer(line), *_FETCH.finditer(line)]
        if not self.redirect_checked:
            marked += _REDIRECT.finditer(line)
        if any(self.is_tainted(arg) for arg in _arguments(marked, line)):
            return UNSAFE_INPUT
        return None


def _arguments(matches: Iterable[re.Match[str]], line: str) -> Iterator[str]:
    """The first argument of each call a match ends inside (`eval(` → what `eval` is given);
    a match that ends elsewhere (`.innerHTML =`) yields the rest of the line."""
    for match in matches:
        start = match.end()
        if not line[:start].rstrip().endswith("("):
            yield line[start:]
            continue
        depth, quote = 0, ""
        end = len(line)
        for index in range(start, len(line)):
            char = line[index]
            if quote:
                quote = "" if char == quote and line[index - 1] != "\\" else quote
            elif char in "\"'`":
                quote = char
            elif char in "([{":
                depth += 1
            elif char in ")]}" and depth:
                depth -= 1
            elif char in ",)]}":
                end = index
                break
        yield line[start:end]


def _built_sql(line: str) -> str | None:
    """The SQL text in a string built from values on this line, or None."""
    for match in _BUILT_STRING.finditer(line):
        text = next(group for group in match.groups() if group is not None)
        if _SQL_WORDS.search(text) or (
            _QUERY_CALL.search(line[: match.start()]) and _SQL_WORDS.search(text.upper())
        ):
            return text
    return None


def _request_flood(text: Text, ctx: SafetyContext) -> str | None:
    """The header of a loop of thousands of requests (or an endless one that never sleeps) to a
    host that is not approved, or None. A relative URL is the app's own test client."""
    for number in text.line_numbers(_LOOP_WORDS):
        line = text.line(number)
        loop = _LOOP.match(line)
        if loop is None:
            continue
        count = loop["n"]
        if count is not None and int(count.replace("_", "")) < _FLOOD_COUNT:
            continue
        body = _loop_body(text, number, len(loop["indent"]))
        if count is None and any("sleep(" in b for b in body):
            continue
        for statement in body:
            urls = _arguments(_FETCH.finditer(statement), statement)
            if any(_unapproved(url, ctx) for url in urls):
                return line.strip()
    return None


def _loop_body(text: Text, header: int, indent: int) -> list[str]:
    body: list[str] = []
    last = min(header + 1 + _LOOP_BODY, len(text.starts))
    for line in (text.line(n) for n in range(header + 1, last)):
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return body


def _unapproved(argument: str, ctx: SafetyContext) -> bool:
    literal = _URL_LITERAL.match(argument)
    if literal is None:
        return True  # a URL held in a variable: where it goes is unknown
    url = literal["url"]
    if "://" not in url:
        return False
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return True
    return not network.host_allowed(host, ctx)


def _quote(shown: str, line: str) -> str:
    return f"{shown}: {line.strip()[:60]}"
