"""Rules for SQL: the sql tool's queries and SQL that commands hand to a database.

No SQL parser: a small scanner drops comments, masks string literals, splits statements on `;`
and upper-cases the rest, which is enough to see what each statement does. Commands are read
only when a real database client (or an interpreter's inline code) would run the SQL, so
`grep "DROP TABLE" migrations/` stays quiet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules.network import inline_code
from wave_tui.safety.rules.paths import split_options
from wave_tui.safety.shell import SimpleCommand

_PRESERVE = "data_integrity.preserve_data"

DROP = Rule(
    "sql.drop",
    "security.destructive_commands",
    Severity.CRITICAL,
    "drops a table, schema or database and every row in it",
)
DROP_OBJECT = Rule(
    "sql.drop.object",
    _PRESERVE,
    Severity.MEDIUM,
    "drops an index, view, function or similar object",
)
TRUNCATE = Rule(
    "sql.truncate",
    "security.destructive_commands",
    Severity.CRITICAL,
    "empties a table",
)
DELETE_UNBOUNDED = Rule(
    "sql.delete.unbounded",
    _PRESERVE,
    Severity.HIGH,
    "deletes every row of a table (no WHERE, or one that is always true)",
)
DELETE = Rule(
    "sql.delete",
    _PRESERVE,
    Severity.MEDIUM,
    "deletes rows: nothing is deleted without approval",
)
UPDATE_UNBOUNDED = Rule(
    "sql.update.unbounded",
    _PRESERVE,
    Severity.HIGH,
    "overwrites a column in every row of a table (no WHERE, or one that is always true)",
)
ALTER_DROP = Rule(
    "sql.alter.drop",
    _PRESERVE,
    Severity.HIGH,
    "drops a column (or partition) and the data in it",
)
PRIVILEGES = Rule(
    "sql.privileges",
    "security.bypass_auth",
    Severity.HIGH,
    "creates or empowers accounts, or grants everything to everyone",
)
READ_SECRETS = Rule(
    "sql.read_secrets",
    "security.expose_secrets",
    Severity.MEDIUM,
    "selects password, secret or token columns into the agent's context",
)
PROTECTIONS_OFF = Rule(
    "sql.protections_off",
    "security.disable_protections",
    Severity.MEDIUM,
    "turns off foreign keys, triggers, row-level security or logging",
)
EXEC = Rule(
    "sql.exec",
    "security.bypass_auth",
    Severity.CRITICAL,
    "makes the database run programs or read and write files on its host",
)
FLUSH = Rule(
    "sql.flush",
    "security.destructive_commands",
    Severity.CRITICAL,
    "erases every key in a Redis database",
)
PRODUCTION = Rule(
    "sql.production",
    "system_safety.production_changes",
    Severity.MEDIUM,
    "connects to what looks like a production database",
)
SHELL_ESCAPE = Rule(
    "sql.shell_escape",
    "security.disable_protections",
    Severity.MEDIUM,
    "the database client runs a shell command the safety layer does not see",
)

UNION_SECRETS = Rule(
    "sql.union_secrets",
    "security.expose_secrets",
    Severity.HIGH,
    "a UNION that appends password or token columns to another query's rows: injection's mark",
)
TAUTOLOGY = Rule(
    "sql.tautology",
    "data_integrity.validate_input",
    Severity.HIGH,
    "a condition made always true with `OR 1=1`: the mark of an injected query",
)
RENAME = Rule(
    "sql.alter.rename",
    _PRESERVE,
    Severity.MEDIUM,
    "renames a table or column out from under the code that uses it",
)
SERVER = Rule(
    "sql.server",
    "system_safety.production_changes",
    Severity.HIGH,
    "changes the database server itself: its settings, other sessions, or its uptime",
)
AUDIT_TABLES = Rule(
    "sql.audit_tables",
    "compliance.audit_trail",
    Severity.HIGH,
    "writes to WAVE's own tables (events, escalations, approvals): the audit trail",
)
PRIVILEGE_COLUMNS = Rule(
    "sql.privilege_columns",
    "security.bypass_auth",
    Severity.MEDIUM,
    "sets an admin, role or permission column: a privilege granted through data",
)
CREDENTIALS_WRITE = Rule(
    "sql.credentials_write",
    "security.bypass_auth",
    Severity.MEDIUM,
    "overwrites stored passwords, hashes or tokens: an account can be taken over",
)
PLAINTEXT = Rule(
    "sql.plaintext_secret",
    "data_integrity.sensitive_plaintext",
    Severity.MEDIUM,
    "stores a password, token or card number in a plain column",
)
PASSWORD_IN_ARGS = Rule(
    "sql.password_in_args",
    "security.expose_secrets",
    Severity.MEDIUM,
    "a database password on the command line ends up in logs and the process list",
)
ATTACH_OUTSIDE = Rule(
    "sql.attach_outside",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "opens a database file outside the story's worktree",
)

RULES: tuple[Rule, ...] = (
    DROP,
    DROP_OBJECT,
    TRUNCATE,
    DELETE_UNBOUNDED,
    DELETE,
    UPDATE_UNBOUNDED,
    ALTER_DROP,
    PRIVILEGES,
    READ_SECRETS,
    PROTECTIONS_OFF,
    EXEC,
    FLUSH,
    PRODUCTION,
    SHELL_ESCAPE,
    TAUTOLOGY,
    UNION_SECRETS,
    RENAME,
    SERVER,
    AUDIT_TABLES,
    PRIVILEGE_COLUMNS,
    CREDENTIALS_WRITE,
    PLAINTEXT,
    PASSWORD_IN_ARGS,
    ATTACH_OUTSIDE,
)

_MAX_DEPTH = 3  # dynamic SQL inside dynamic SQL: deeper than this is not worth following


# the scanner ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement, comments gone, whitespace collapsed, upper-cased. `text` has every
    string literal masked as `''` (so quoted text never looks like a keyword); `plain` keeps
    the literals; `literals` holds their contents as written."""

    text: str
    plain: str
    literals: tuple[str, ...]


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_ORDINARY = re.compile(r"[^-/'\"`$;]+")  # text the scanner can copy without looking closer


def split_statements(sql: str) -> list[Statement]:
    """The statements of `sql`, split on `;` outside quotes and comments."""
    statements: list[Statement] = []
    masked: list[str] = []
    plain: list[str] = []
    literals: list[str] = []

    def end() -> None:
        text = _normal("".join(masked))
        if text:
            statements.append(Statement(text, _normal("".join(plain)), tuple(literals)))
        masked.clear()
        plain.clear()
        literals.clear()

    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline
            masked.append(" ")
            plain.append(" ")
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            close = n if close < 0 else close
            if sql.startswith("/*!", i):  # MySQL runs the body of `/*!50000 … */`
                body = re.sub(r"^!\d*", "", sql[i + 2 : close])
                sql = f"{sql[:i]} {body} {sql[close + 2 :]}"
                n = len(sql)
                continue
            i = close + 2
            masked.append(" ")
            plain.append(" ")
        elif char == "'":
            literal, i = _quoted(sql, i, "'")
            literals.append(literal)
            masked.append("''")
            plain.append(f"'{literal}'")
        elif char in '"`':
            identifier, i = _quoted(sql, i, char)
            word = re.sub(r"\s+", "_", identifier)
            masked.append(word)
            plain.append(word)
        elif char == "$" and (tag := _DOLLAR_TAG.match(sql, i)) is not None:
            close = sql.find(tag.group(), tag.end())
            close = n if close < 0 else close
            literals.append(sql[tag.end() : close])
            masked.append("''")
            plain.append(f"'{sql[tag.end() : close]}'")
            i = close + len(tag.group())
        elif char == ";":
            end()
            i += 1
        else:
            chunk = _ORDINARY.match(sql, i)
            text = chunk.group() if chunk is not None else char
            masked.append(text)
            plain.append(text)
            i += len(text)
    end()
    return statements


def _quoted(sql: str, start: int, quote: str) -> tuple[str, int]:
    """The text of the quoted run starting at `start` (a doubled quote or a backslash escapes
    one) and the index after it; an unclosed quote runs to the end."""
    out: list[str] = []
    i = start + 1
    while i < len(sql):
        char = sql[i]
        if char == "\\" and quote == "'" and i + 1 < len(sql):
            out.append(sql[i + 1])
            i += 2
        elif char == quote and sql.startswith(quote * 2, i):
            out.append(quote)
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    return "".join(out), i


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().upper()


_INNERMOST = re.compile(r"\(([^()]*)\)")


def _flatten(text: str) -> str:
    """The statement with every parenthesised part emptied: what is left is its top level."""
    while True:
        flat = re.sub(r"\([^()]*\)", "()", text)
        if flat == text:
            return flat
        text = flat


def _unnest(text: str) -> str:
    """The statement with its subqueries emptied and other parentheses turned into brackets,
    so a WHERE found here is the statement's own and its condition stays readable."""
    while True:
        flat = _INNERMOST.sub(lambda m: "()" if "SELECT" in m[1] else f"[{m[1]}]", text)
        if flat == text:
            return flat
        text = flat


def _top_parts(text: str) -> Iterator[str]:
    """The contents of the top-level parentheses (a WITH clause's queries)."""
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char == "(":
            if depth == 0:
                start = index + 1
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                yield text[start:index].strip()


# judging statements ---------------------------------------------------------------------------

_WITH_MAIN = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|MERGE)\b")
# Prefixes that still run the statement after them: EXPLAIN (ANALYZE runs it), a block's BEGIN.
_PREFIX = re.compile(r"^(EXPLAIN(\s+\(\))?(\s+(ANALYZE|VERBOSE|QUERY PLAN))*|BEGIN(\s+ATOMIC)?)\s+")
_DROP = re.compile(r"^DROP\s+(?P<temp>TEMP(ORARY)?\s+)?(?P<kind>MATERIALIZED\s+VIEW|\w+)\b")
_DROP_DATA = frozenset({"TABLE", "DATABASE", "SCHEMA", "TABLESPACE", "OWNED", "COLLECTION"})
_DROP_ACCOUNT = frozenset({"USER", "ROLE", "LOGIN", "GROUP"})
_DELETE = re.compile(r"^DELETE\b")
_UPDATE = re.compile(r"^UPDATE\s+(OR\s+\w+\s+)?\S+.*?\bSET\b")
_WHERE = re.compile(r"\bWHERE\b(?P<cond>.*?)(?=\b(?:ORDER BY|LIMIT|RETURNING|OUTPUT)\b|$)")
_TRIVIAL = re.compile(
    r"^[\[(]*\s*(?:(?P<n>\d+)\s*=\s*(?P=n)|TRUE|1|NOT\s+FALSE|''\s*=\s*''|1\s*<>\s*0|NOT\s+0)"
    r"\s*[\])]*$"
)
_ALTER_DROP = re.compile(
    r"^ALTER\s+TABLE\b.*\bDROP\s+(?!CONSTRAINT\b|INDEX\b|KEY\b|PRIMARY\b|FOREIGN\b|DEFAULT\b|"
    r"NOT\s+NULL\b|CHECK\b|TRIGGER\b|IDENTITY\b|EXPRESSION\b|ROW\b|POLICY\b)"
)
_PRIVILEGES = (
    re.compile(r"^GRANT\b.*\bALL\b"),
    re.compile(r"^GRANT\b.*\bTO\s+PUBLIC\b"),
    re.compile(r"^GRANT\b.*\bWITH\s+(GRANT|ADMIN)\s+OPTION\b"),
    re.compile(r"^GRANT\s+(SUPER|FILE|PROCESS|SHUTDOWN|CREATE\s+USER)\b"),
    re.compile(r"^CREATE\s+(USER|ROLE|LOGIN)\b"),
    re.compile(
        r"^ALTER\s+(USER|ROLE|LOGIN)\b.*\b(PASSWORD|IDENTIFIED|SUPERUSER|CREATEROLE|BYPASSRLS|"
        r"REPLICATION)\b"
    ),
    re.compile(r"^SET\s+PASSWORD\b"),
)
_SELECTS = re.compile(r"\bSELECT\b(?P<columns>.*?)\bFROM\s+(?P<table>[\w.]+)")
_SECRET_COLUMN = re.compile(r"PASSW(OR)?D|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|\bSSN\b")
_PROTECTIONS_OFF = (
    re.compile(r"^PRAGMA\s+(\w+\.)?FOREIGN_KEYS\s*=\s*'?(OFF|0|FALSE|NO)\b"),
    re.compile(
        r"^PRAGMA\s+(\w+\.)?(IGNORE_CHECK_CONSTRAINTS|WRITABLE_SCHEMA)\s*=\s*'?(ON|1|TRUE|YES)"
    ),
    re.compile(
        r"^SET\s+(@@)?(SESSION\s+|GLOBAL\s+|LOCAL\s+)?(@@)?FOREIGN_KEY_CHECKS\s*=\s*'?(0|OFF)"
    ),
    re.compile(r"^SET\s+(@@)?(SESSION\s+|GLOBAL\s+)?(@@)?SQL_LOG_BIN\s*=\s*'?(0|OFF)"),
    re.compile(r"^SET\s+(@@)?(GLOBAL\s+)?(@@)?GENERAL_LOG\s*=\s*'?(0|OFF)"),
    re.compile(r"\bDISABLE\s+(TRIGGER|ROW\s+LEVEL\s+SECURITY)\b"),
    re.compile(
        r"^ALTER\s+TABLE\b.*\b(DROP\s+(CONSTRAINT|CHECK|FOREIGN\s+KEY|NOT\s+NULL)|NOCHECK)\b"
    ),
)
# Matched against the statement with its literals, where the role's value is quoted.
_REPLICA_ROLE = re.compile(
    r"^SET\s+(SESSION\s+|LOCAL\s+)?SESSION_REPLICATION_ROLE\s*(=|TO)\s*'?REPLICA"
)
_RENAME = re.compile(r"^(ALTER\s+TABLE\b.*\bRENAME\b|RENAME\s+TABLE\b)")
_SERVER = (
    re.compile(
        r"^ALTER\s+SYSTEM\b|^SET\s+(@@)?(GLOBAL|PERSIST|PERSIST_ONLY)\b|^KILL\b|^SHUTDOWN\b"
    ),
    re.compile(r"\bPG_(TERMINATE|CANCEL)_BACKEND\s*\(|\bPG_RELOAD_CONF\s*\("),
)
_WRITE_TARGET = re.compile(
    r"^(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|"
    r"TRUNCATE(?:\s+TABLE)?|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|ALTER\s+TABLE)"
    r"\s+(?:\w+\.)?(?P<table>\w+)"
)
_SET_CLAUSE = re.compile(r"\bSET\b(?P<assignments>.*?)(?=\bWHERE\b|\bFROM\b|$)")
_ASSIGNED = re.compile(r"(?:^|,)\s*(?:\w+\.)?(?P<column>\w+)\s*=")
_PRIVILEGE_COLUMN = re.compile(
    r"^(IS_)?(ADMIN|SUPERUSER|SUPER_USER|STAFF|ROOT)$|^ROLES?$|^PERMISSIONS?$|^PRIVILEGES?$|"
    r"^ACCESS_LEVEL$|^USER_TYPE$"
)
_PLAIN_SECRET_COLUMN = re.compile(
    r"^(PASSWORD|PASSWD|PASS|SECRET|API_?KEY|TOKEN|ACCESS_TOKEN|SSN|CREDIT_CARD|CARD_NUMBER)$"
)
_COLUMN_DEFINITION = re.compile(r"[(,]\s*(?P<column>\w+)\s+(?:N?VARCHAR|N?CHAR|N?TEXT|STRING|CLOB)")
_INSERT_COLUMNS = re.compile(r"^(?:INSERT|REPLACE)\b.*?\bINTO\s+\S+\s*\((?P<columns>[^)]*)\)")
_ADD_COLUMN = re.compile(
    r"^ALTER\s+TABLE\b.*\bADD\s+(?:COLUMN\s+)?(?P<column>\w+)\s+"
    r"(?:N?VARCHAR|N?CHAR|N?TEXT|STRING|CLOB)"
)
_ATTACH = re.compile(r"^ATTACH\s+(DATABASE\s+)?''")
_EXEC = (
    re.compile(r"^COPY\b.*\b(TO|FROM)\s+PROGRAM\b"),
    re.compile(r"^COPY\b.*\b(TO|FROM)\s+''"),
    re.compile(r"\bLOAD_FILE\s*\("),
    re.compile(r"\bINTO\s+(OUTFILE|DUMPFILE)\b"),
    re.compile(r"^LOAD\s+DATA\b.*\bINFILE\b"),
    re.compile(r"\b(XP_CMDSHELL|SP_OACREATE|SYS_EXEC|SYS_EVAL)\b"),
    re.compile(r"\b(PG_READ_FILE|PG_READ_BINARY_FILE|PG_LS_DIR|LO_IMPORT|LO_EXPORT)\s*\("),
    re.compile(r"\bLOAD_EXTENSION\s*\("),
    re.compile(r"^CREATE\s+(OR\s+REPLACE\s+)?FUNCTION\b.*\bLANGUAGE\s+(PLPYTHON3?U|PLPERLU|C)\b"),
)
_DYNAMIC = re.compile(
    r"^(DO|PREPARE|CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE))\b|"
    r"\b(EXECUTE|EXEC|SP_EXECUTESQL)\b"
)


def check_sql(query: str, ctx: SafetyContext) -> list[Finding]:
    """Findings for every statement of `query` (the sql tool; also SQL found in commands)."""
    return list(dict.fromkeys(_check_sql(query, ctx, 0)))


def _check_sql(query: str, ctx: SafetyContext, depth: int) -> list[Finding]:
    found: list[Finding] = []
    for statement in split_statements(query):
        found.extend(_statement(statement, ctx))
        if depth < _MAX_DEPTH and _DYNAMIC.search(statement.text):
            for literal in statement.literals:
                found.extend(_check_sql(literal, ctx, depth + 1))
    return found


def _statement(statement: Statement, ctx: SafetyContext) -> list[Finding]:
    text = _PREFIX.sub("", statement.text)
    detail = statement.plain[:160]
    if text.startswith("WITH "):
        flat = _flatten(text)
        main = _WITH_MAIN.search(flat, 5)
        parts = [*_top_parts(text), *([flat[main.start() :]] if main else [])]
    else:
        parts = [text]
    rules = [rule for part in parts for rule in _judge(part)]
    if _REPLICA_ROLE.match(statement.plain):
        rules.append(PROTECTIONS_OFF)
    if _ATTACH.match(text) and statement.literals and _outside(statement.literals[0], ctx):
        rules.append(ATTACH_OUTSIDE)
    return [rule.finding(detail) for rule in dict.fromkeys(rules)]


def _outside(path: str, ctx: SafetyContext) -> bool:
    return path != ":memory:" and not ctx.resolve(path).inside


def _judge(text: str) -> list[Rule]:
    """The rules one statement (upper-cased, literals masked) breaks."""
    rules = _destructive(text)
    if any(p.search(text) for p in _PRIVILEGES):
        rules.append(PRIVILEGES)
    if any(p.search(text) for p in _PROTECTIONS_OFF):
        rules.append(PROTECTIONS_OFF)
    if any(p.search(text) for p in _EXEC):
        rules.append(EXEC)
    if any(p.search(text) for p in _SERVER):
        rules.append(SERVER)
    if _RENAME.match(text):
        rules.append(RENAME)
    for select in _SELECTS.finditer(text):  # every SELECT, a UNION's included
        if _SECRET_COLUMN.search(select["columns"]) or _SECRET_COLUMN.search(select["table"]):
            rules.append(READ_SECRETS)
            if _UNION.search(text, 0, select.start()):
                rules.append(UNION_SECRETS)
    target = _WRITE_TARGET.match(text)
    if target is not None and target["table"].startswith("WAVE_"):
        rules.append(AUDIT_TABLES)
    return rules + _data_rules(text)


def _destructive(text: str) -> list[Rule]:
    rules: list[Rule] = []
    drop = _DROP.match(text)
    if drop is not None:
        kind = drop["kind"]
        if kind in _DROP_ACCOUNT:
            rules.append(PRIVILEGES)
        elif kind in _DROP_DATA and not drop["temp"]:
            rules.append(DROP)
        else:
            rules.append(DROP_OBJECT)
    if re.match(r"^TRUNCATE\b", text):
        rules.append(TRUNCATE)
    if _DELETE.match(text):
        rules.append(DELETE if _bounded(text) else DELETE_UNBOUNDED)
    if _UPDATE.match(text) and not _bounded(text):
        rules.append(UPDATE_UNBOUNDED)
    if _ALTER_DROP.match(text):
        rules.append(ALTER_DROP)
    if _or_always_true(text):
        rules.append(TAUTOLOGY)
    return rules


def _data_rules(text: str) -> list[Rule]:
    """What the written columns say: privileges granted, credentials changed or kept plain."""
    rules: list[Rule] = []
    written: list[str] = []
    if _UPDATE.match(text):
        assignments = _SET_CLAUSE.search(_unnest(text))
        if assignments is not None:
            written = [m["column"] for m in _ASSIGNED.finditer(assignments["assignments"])]
    if any(_PRIVILEGE_COLUMN.match(column) for column in written):
        rules.append(PRIVILEGE_COLUMNS)
    if any(_SECRET_COLUMN.search(column) for column in written):
        rules.append(CREDENTIALS_WRITE)
    declared: list[str] = []
    if text.startswith("CREATE TABLE") or text.startswith("CREATE TEMP"):
        declared = [m["column"] for m in _COLUMN_DEFINITION.finditer(text)]
    elif (added := _ADD_COLUMN.match(text)) is not None:
        declared = [added["column"]]
    elif (inserted := _INSERT_COLUMNS.match(text)) is not None:
        declared = [c.strip() for c in inserted["columns"].split(",")]
    if any(_PLAIN_SECRET_COLUMN.match(column) for column in declared):
        rules.append(PLAINTEXT)
    return rules


def _bounded(text: str) -> bool:
    """Whether a DELETE or UPDATE has a top-level WHERE that is not trivially true."""
    disjuncts = _where_disjuncts(text)
    return bool(disjuncts) and not any(_TRIVIAL.match(d) for d in disjuncts)


def _or_always_true(text: str) -> bool:
    """`… WHERE name = '' OR '1'='1'`: an OR with a branch that is always true."""
    disjuncts = _where_disjuncts(text)
    return len(disjuncts) > 1 and any(_TRIVIAL.match(d) for d in disjuncts)


def _where_disjuncts(text: str) -> list[str]:
    where = _WHERE.search(_unnest(text))
    return [] if where is None else [d.strip() for d in re.split(r"\bOR\b", where["cond"])]


# commands: database clients and interpreters --------------------------------------------------

_PROD = re.compile(r"(?i)(?<![a-z])prod(uction)?(?![a-z])")
_SQL_START = re.compile(
    r"(?is)^\s*(SELECT|INSERT|UPDATE|DELETE|DROP|TRUNCATE|ALTER|CREATE|GRANT|REVOKE|PRAGMA|"
    r"COPY|WITH|SET|EXEC|EXECUTE|DO|LOAD|REPLACE|MERGE|ATTACH)\b"
)
_DB_HINT = re.compile(
    r"(?i)sqlite|psycopg|pymysql|mysql|duckdb|sqlalchemy|asyncpg|postgres|\bpg\b|execute|cursor|"
    r"\.query\(|\.exec\(|\.run\(|\.prepare\(|\bDBI\b|knex|prisma|sequelize|connect\("
)
_CODE_STRING = re.compile(
    r'"""(?P<a>.*?)"""|\'\'\'(?P<b>.*?)\'\'\'|"(?P<c>(?:\\.|[^"\\])*)"|'
    r"'(?P<d>(?:\\.|[^'\\])*)'|`(?P<e>(?:\\.|[^`\\])*)`",
    re.DOTALL,
)
_CONCAT = re.compile(r"^\s*[+.]?\s*$")  # between two literals Python, JS, Perl and PHP join
_MONGO_DROP = re.compile(r"\.(dropDatabase|drop_database)\s*\(|\.drop\s*\(\s*\)")
_MONGO_DELETE_ALL = re.compile(
    r"\.(deleteMany|delete_many|remove)\s*\(\s*\{\s*\}\s*[,)]|\.remove\s*\(\s*\)"
)
_MONGO_DELETE = re.compile(
    r"\.(deleteMany|deleteOne|delete_many|delete_one|remove|findOneAndDelete)\("
)
_MONGO_UPDATE_ALL = re.compile(r"\.(updateMany|update_many)\s*\(\s*\{\s*\}\s*,")
_MONGO_USERS = re.compile(r"\.(createUser|dropUser|dropAllUsers|grantRolesToUser|updateUser)\s*\(")
_REDIS_FLUSH = re.compile(r"(?i)\bflush(all|db)\b")
_URL_PASSWORD = re.compile(r"://[^:/@\s]+:[^@/\s]+@")
REDACTED = "[REDACTED]"
_UNION = re.compile(r"\bUNION(\s+ALL)?\s+$")  # right before a SELECT it appends
_ORM_DROP = re.compile(r"\bdrop_all\s*\(|\.drop_tables?\s*\(")
_ORM_DELETE_ALL = re.compile(
    r"\.query\.delete\s*\(|\.objects(\.all\(\))?\.delete\s*\(|\.(delete_all|destroy_all)\b"
    r"|\.query\(\s*[\w.]+\s*\)\.delete\s*\(|\bexecute\(\s*(sa\.)?delete\(\s*[\w.]+\s*\)\s*\)"
    r"|\.(delete_many|deleteMany)\(\s*\{\s*\}\s*\)"
)
_ORM_DELETE = re.compile(r"\.(filter|filter_by|where|exclude)\(.*?\)\.delete\s*\(")


@dataclass(frozen=True, slots=True)
class _Client:
    """How a database client's argv says what it runs and where it connects."""

    valued: frozenset[str]
    sql_options: tuple[str, ...]  # options whose value is SQL
    host_options: tuple[str, ...] = ()  # options whose value names a server or database
    sql_operands: bool = False  # sqlite3/duckdb: operands after the database file are SQL
    single_dash_words: bool = False
    attached_only: frozenset[str] = frozenset()
    remote: bool = True  # a server that may be production; sqlite and duckdb are local files
    password_options: tuple[str, ...] = ()


def _client(
    valued: str,
    sql_options: str,
    host_options: str = "",
    *,
    sql_operands: bool = False,
    single_dash_words: bool = False,
    attached_only: frozenset[str] = frozenset(),
    remote: bool = True,
    password_options: str = "",
) -> _Client:
    """A client from whitespace-separated option names; SQL and host options take values."""
    sql = tuple(sql_options.split())
    hosts = tuple(host_options.split())
    passwords = tuple(password_options.split())
    names = frozenset(valued.split()) | set(sql) | set(hosts) | (set(passwords) - attached_only)
    return _Client(
        names, sql, hosts, sql_operands, single_dash_words, attached_only, remote, passwords
    )


_SQLITE = _client(
    "-cmd -init -separator -newline -nullvalue -vfs -mmap -lookaside -pagecache -heap -maxsize",
    "-cmd -c -s",
    sql_operands=True,
    single_dash_words=True,
    remote=False,
)
_PSQL = _client(
    "-f --file -p --port -U --username -v --set --variable -P --pset -o --output -L --log-file "
    "-T --table-attr -F --field-separator -R --record-separator",
    "-c --command",
    "-h --host -d --dbname",
)
_MYSQL = _client(
    "-u --user -P --port -S --socket --default-character-set --defaults-file",
    "-e --execute",
    "-h --host -D --database",
    attached_only=frozenset({"-p"}),
    password_options="-p --password",
)
_CLIENTS: dict[str, _Client] = {
    "sqlite3": _SQLITE,
    "sqlite": _SQLITE,
    "duckdb": _SQLITE,
    "psql": _PSQL,
    "mysql": _MYSQL,
    "mariadb": _MYSQL,
    "mycli": _MYSQL,
    "clickhouse-client": _client(
        "-u --user --port", "-q --query", "-h --host -d", password_options="--password"
    ),
    "sqlcmd": _client("-U -d", "-Q -q", "-S", password_options="-P"),
}


def check_command(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    program = cmd.program
    client = _CLIENTS.get(program)
    if client is not None:
        found = _database_client(cmd, client, ctx)
    elif program in ("mongo", "mongosh"):
        found = _mongo(cmd)
    elif program == "redis-cli":
        found = _redis(cmd)
    else:
        code = inline_code(cmd)
        found = [] if code is None else _inline_code(code, ctx)
    return list(dict.fromkeys(found))


def _database_client(cmd: SimpleCommand, client: _Client, ctx: SafetyContext) -> list[Finding]:
    opts = split_options(
        cmd.argv[1:],
        client.valued,
        attached_only=client.attached_only,
        single_dash_words=client.single_dash_words,
    )
    scripts = opts.values(*client.sql_options)
    if client.sql_operands:
        scripts += list(opts.operands[1:])
    if cmd.stdin:
        scripts.append(cmd.stdin)  # `echo "DROP …" | sqlite3 db`, `<<EOF`, `<<<`
    detail = _masked_argv(cmd, client.password_options)
    found = _production([*opts.values(*client.host_options), *opts.operands], detail, client.remote)
    words = [*opts.values(*client.host_options), *opts.operands]
    found.extend(_passwords(opts.values(*client.password_options), words))
    for script in scripts:
        found.extend(_client_script(script, ctx))
    return found


def _client_script(script: str, ctx: SafetyContext) -> list[Finding]:
    """SQL handed to a client, with its own meta-commands (`.shell`, `\\!`) taken out."""
    sql_lines: list[str] = []
    found: list[Finding] = []
    for line in script.splitlines():
        stripped = line.strip()
        if re.match(r"^(\.(shell|system)\b|\\!)", stripped):
            found.append(SHELL_ESCAPE.finding(stripped[:120]))
        elif re.match(r"^\\copy\b", stripped, re.IGNORECASE):
            sql_lines.append(stripped[1:])  # psql's \copy is COPY run by the client
        elif not stripped.startswith((".", "\\")):
            sql_lines.append(line)
    return [*found, *check_sql("\n".join(sql_lines), ctx)]


def _masked_argv(cmd: SimpleCommand, secret_options: Iterable[str]) -> str:
    """The command for a finding's detail, with passwords (in URLs, after `secret_options`)
    masked: findings are stored and shown."""
    options = tuple(secret_options)
    words: list[str] = []
    hide_next = False
    for word in cmd.argv:
        attached = next((o for o in options if word.startswith(o) and word != o), None)
        if hide_next:
            word = REDACTED
        elif attached is not None:
            word = attached + ("=" if word[len(attached)] == "=" else "") + REDACTED
        words.append(_URL_PASSWORD.sub(f"://{REDACTED}@", word))
        hide_next = word in options
    return " ".join(words)


def _passwords(passwords: Iterable[str], words: Iterable[str]) -> list[Finding]:
    """A password given as an option value or inside a connection URL."""
    if any(passwords) or any(_URL_PASSWORD.search(w) for w in words):
        return [PASSWORD_IN_ARGS.finding("a password in the command's arguments")]
    return []


def _production(values: Iterable[str], detail: str, remote: bool) -> list[Finding]:
    if remote and any(_PROD.search(v) for v in values):
        return [PRODUCTION.finding(detail)]
    return []


def _mongo(cmd: SimpleCommand) -> list[Finding]:
    valued = {"--eval", "--host", "--port", "-u", "-p", "--password", "--file"}
    opts = split_options(cmd.argv[1:], valued)
    detail = _masked_argv(cmd, ("-p", "--password"))
    found = _production([*opts.values("--host"), *opts.operands], detail, remote=True)
    found.extend(_passwords(opts.values("-p", "--password"), opts.operands))
    for code in opts.values("--eval"):
        found.extend(rule.finding(code[:160]) for rule in _mongo_code(code))
    return found


def _mongo_code(code: str) -> list[Rule]:
    rules: list[Rule] = []
    if _MONGO_DROP.search(code):
        rules.append(DROP)
    if _MONGO_DELETE_ALL.search(code):
        rules.append(DELETE_UNBOUNDED)
    elif _MONGO_DELETE.search(code):
        rules.append(DELETE)
    if _MONGO_UPDATE_ALL.search(code):
        rules.append(UPDATE_UNBOUNDED)
    if _MONGO_USERS.search(code):
        rules.append(PRIVILEGES)
    return rules


def _redis(cmd: SimpleCommand) -> list[Finding]:
    valued = {"-h", "-p", "-a", "-n", "-u", "-s", "-r", "-i", "-d", "--user", "--pass", "--eval"}
    opts = split_options(cmd.argv[1:], valued, stop_at_operand=True)
    detail = _masked_argv(cmd, ("-a", "--pass"))
    found = _production(opts.values("-h", "-u"), detail, remote=True)
    found.extend(_passwords(opts.values("-a", "--pass"), opts.values("-u")))
    words = [*opts.operands, *opts.values("--eval")]
    verb = words[0].upper() if words else ""
    if any(_REDIS_FLUSH.search(w) for w in words):
        found.append(FLUSH.finding(detail))
    elif verb in ("DEL", "UNLINK"):
        found.append(DELETE.finding(detail))
    return found


def _inline_code(code: str, ctx: SafetyContext) -> list[Finding]:
    """SQL (and MongoDB calls) inside the string literals of `python -c`, `node -e`, …"""
    found = [rule.finding(code[:160]) for rule in _orm_code(code)]
    if "mongo" in code.lower():
        found.extend(rule.finding(code[:160]) for rule in _mongo_code(code))
    if _DB_HINT.search(code):
        for literal in _joined_literals(code):
            if _SQL_START.match(literal):
                found.extend(check_sql(literal, ctx))
    return found


def orm_empties_tables(code: str) -> re.Match[str] | None:
    """Where ORM code drops every table or deletes every row of one (`db.drop_all()`,
    `Order.query.delete()`, `session.query(Order).delete()`), if it does."""
    return _ORM_DROP.search(code) or _ORM_DELETE_ALL.search(code)


def _orm_code(code: str) -> list[Rule]:
    """ORM calls that drop or empty tables (`db.drop_all()`, `Order.query.delete()`)."""
    if _ORM_DROP.search(code):
        return [DROP]
    if _ORM_DELETE_ALL.search(code):
        return [DELETE_UNBOUNDED]
    return [DELETE] if _ORM_DELETE.search(code) else []


def _joined_literals(code: str) -> Iterator[str]:
    """String literals of `code`, adjacent ones joined (`'DR' 'OP TABLE'`, `"a" + "b"`)."""
    current: list[str] = []
    last_end = -1
    for match in _CODE_STRING.finditer(code):
        text = next((g for g in match.groups() if g is not None), "")
        if current and not _CONCAT.match(code[last_end : match.start()]):
            yield "".join(current)
            current = []
        current.append(text)
        last_end = match.end()
    if current:
        yield "".join(current)


__all__ = [
    "RULES",
    "Statement",
    "check_command",
    "check_sql",
    "orm_empties_tables",
    "split_statements",
]
