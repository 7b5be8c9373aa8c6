"""SQL that commands hand to a database: the clients (sqlite3, psql, mysql, mongosh,
redis-cli) and interpreters' inline code. Read only when a real client or interpreter would run
the SQL, so `grep "DROP TABLE" migrations/` stays quiet; passwords on the command line and
production targets are judged here too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.rules.network import inline_code
from wave_tui.safety.rules.paths import split_options
from wave_tui.safety.rules.sql_judge import (
    DELETE,
    DELETE_UNBOUNDED,
    DROP,
    FLUSH,
    PASSWORD_IN_ARGS,
    PRIVILEGES,
    PRODUCTION,
    SHELL_ESCAPE,
    UPDATE_UNBOUNDED,
    check_sql,
)
from wave_tui.safety.shell import SimpleCommand

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
