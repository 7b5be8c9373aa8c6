"""Rules for SQL statements, and the sql tool's queries: what one statement does to data,
accounts, protections and secrets, judged on the scanner's upper-cased, literal-masked text.
Dynamic SQL (`EXECUTE '...'`) is judged again, a few levels deep.
"""

from __future__ import annotations

import re

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules.sql_scan import Statement, flatten, split_statements, top_parts, unnest

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

# judging statements ---------------------------------------------------------------------------

_WITH_MAIN = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|MERGE)\b")
_UNION = re.compile(r"\bUNION(\s+ALL)?\s+$")  # right before a SELECT it appends
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
        flat = flatten(text)
        main = _WITH_MAIN.search(flat, 5)
        parts = [*top_parts(text), *([flat[main.start() :]] if main else [])]
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
        assignments = _SET_CLAUSE.search(unnest(text))
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
    where = _WHERE.search(unnest(text))
    return [] if where is None else [d.strip() for d in re.split(r"\bOR\b", where["cond"])]
