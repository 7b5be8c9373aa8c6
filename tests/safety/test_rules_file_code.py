"""Code written into source files: request data that reaches eval, a shell, an SQL string, a
deserializer, a template or a path is blocked; string-built queries, unsafe YAML, unescaped HTML,
open redirects, XXE, SSRF, whole-table deletes and request floods are escalated; the safe forms
of the same code pass."""

from __future__ import annotations

import pytest

from tests.safety.helpers import ALLOW, BLOCK, ESCALATE, HOME, WORKTREE, rule_ids
from wave_tui.safety import SafetyContext, SafetyEvaluation, evaluate_tool_call
from wave_tui.safety.rules import REGISTRY, file_code, files

CTX = SafetyContext(
    worktree=WORKTREE,
    home=HOME,
    allowed_hosts=("pypi.org",),
)
INJECTION = "file.content.injection"
UNSAFE_INPUT = "file.content.unsafe_input"
DELETES_ALL = "file.content.deletes_all_rows"
FLOOD = "file.content.request_flood"
FLASK = "from flask import request\n\n\n"


def write(path: str, content: str) -> SafetyEvaluation:
    return evaluate_tool_call("write_file", {"path": path, "content": content}, CTX)


INJECTIONS = [
    "def columns():\n    return eval(request.args['columns'])\n",
    "def run():\n    exec(request.form['code'])\n",
    "def convert():\n    name = request.args['name']\n"
    "    subprocess.run(f'csvtool convert {name}', shell=True)\n",
    "def archive():\n    os.system('zip export.zip ' + request.args['file'])\n",
    "def orders(db):\n    status = request.args['status']\n"
    "    return db.session.execute(text(f\"SELECT * FROM orders WHERE status = '{status}'\"))\n",
    "def orders(cursor):\n"
    "    cursor.execute(\"SELECT * FROM orders WHERE id = '%s'\" % request.args['id'])\n",
    "def load():\n    return pickle.loads(request.data)\n",
    "def load():\n    return yaml.load(request.data, Loader=yaml.Loader)\n",
    "def hello():\n    return render_template_string('Hello ' + request.args['name'])\n",
    "def download():\n    return send_file('/srv/exports/' + request.args['path'])\n",
    # the taint follows a name through another assignment
    "def archive():\n    raw = request.args['file']\n    name = raw.strip()\n"
    "    os.system('zip out.zip ' + name)\n",
    "const express = require('express');\n"
    "app.get('/x', (req, res) => { res.send(eval(req.query.expr)); });\n",
]


@pytest.mark.parametrize("code", INJECTIONS)
def test_request_data_that_reaches_an_interpreter_unchecked_is_blocked(code: str) -> None:
    path = "src/app/server.js" if "require(" in code else "src/app/export.py"
    evaluation = write(path, FLASK + code if path.endswith(".py") else code)
    assert INJECTION in rule_ids(evaluation), evaluation.reasoning
    assert evaluation.decision == BLOCK


UNSAFE = [
    (
        "src/app/export.py",
        "def orders(cursor, sort):\n    cursor.execute('SELECT * FROM o ORDER BY ' + sort)\n",
    ),
    (
        "src/app/export.py",
        "def count(db, table):\n    return db.execute(f'SELECT count(*) FROM {table}')\n",
    ),
    (
        "src/app/tools.py",
        "def tag(version):\n    subprocess.run(f'git tag {version}', shell=True)\n",
    ),
    (
        "src/app/config.py",
        "def load(path):\n    with open(path) as f:\n        return yaml.load(f)\n",
    ),
    (
        "src/app/views.py",
        FLASK + "def note():\n    return Markup('<p>' + request.args['n'] + '</p>')\n",
    ),
    ("src/app/templates/export.html", "<p>{{ request.args.title | safe }}</p>\n"),
    ("src/app/views.py", FLASK + "def back():\n    return redirect(request.args['next'])\n"),
    ("src/app/xml_import.py", "parser = etree.XMLParser(resolve_entities=True)\n"),
    (
        "src/app/fetch.py",
        FLASK + "def proxy():\n    return requests.get(request.args['url']).content\n",
    ),
]


@pytest.mark.parametrize(("path", "code"), UNSAFE)
def test_code_that_trusts_strings_or_request_data_goes_to_the_operator(
    path: str, code: str
) -> None:
    evaluation = write(path, code)
    assert UNSAFE_INPUT in rule_ids(evaluation), evaluation.reasoning
    assert evaluation.decision == ESCALATE


SAFE = [
    (
        "src/app/export.py",
        "def orders(cursor, c):\n    cursor.execute('SELECT * FROM o WHERE c = ?', (c,))\n",
    ),
    (
        "src/app/export.py",
        FLASK + "def orders(s):\n    st = request.args.get('status')\n"
        "    return s.scalars(select(Order).where(Order.status == st)).all()\n",
    ),
    (
        "src/app/import_.py",
        FLASK + "def load():\n    return json.loads(request.data)\n\n\n"
        "def config(text):\n    return yaml.safe_load(text)\n",
    ),
    ("src/app/config.py", "def load(f):\n    return yaml.load(f, Loader=yaml.SafeLoader)\n"),
    (
        "src/app/convert.py",
        "def convert(path):\n    subprocess.run(['csvtool', 'convert', path], check=True)\n",
    ),
    (
        "src/app/parse.py",
        "def literal(text):\n    # ast.literal_eval, not eval(): only literals\n"
        "    return ast.literal_eval(text)\n",
    ),
    (
        "src/app/views.py",
        FLASK + "def hello():\n"
        "    return render_template('hello.html', name=request.args.get('name', ''))\n",
    ),
    (
        "src/app/downloads.py",
        FLASK + "def download():\n    name = request.args.get('name', '')\n"
        "    if '/' in name:\n        abort(400)\n"
        "    return send_from_directory('/srv/exports', name)\n",
    ),
    (
        "src/app/views.py",
        FLASK + "def back():\n    target = request.args.get('next', '/')\n"
        "    if not url_has_allowed_host_and_scheme(target, None):\n        target = '/'\n"
        "    return redirect(target)\n",
    ),
    (
        "src/app/logs.py",
        "def report(n):\n    log.info(f'Deleted {n} rows where the export failed')\n",
    ),
    (
        "tests/test_export.py",
        "def test_rejects(client):\n"
        "    client.get('/x', query_string={'s': \"' OR '1'='1\"})\n"
        "    os.system('echo ' + request.args['x'])\n",
    ),
    (
        "docs/security.md",
        "Never write `eval(request.args['x'])` or `os.system(request.args['f'])`.\n",
    ),
]


@pytest.mark.parametrize(("path", "code"), SAFE)
def test_the_safe_forms_of_the_same_code_pass(path: str, code: str) -> None:
    evaluation = write(path, code)
    assert evaluation.decision == ALLOW, rule_ids(evaluation)
    assert not {INJECTION, UNSAFE_INPUT} & set(rule_ids(evaluation))


@pytest.mark.parametrize(
    "code",
    [
        "def purge():\n    Order.query.delete()\n    db.session.commit()\n",
        "def purge(session):\n    session.query(Order).delete()\n",
        "def purge(session):\n    session.execute(delete(Order))\n",
        "def reset():\n    db.drop_all()\n",
    ],
)
def test_code_that_empties_a_table_goes_to_the_operator(code: str) -> None:
    evaluation = write("src/app/export.py", code)
    assert DELETES_ALL in rule_ids(evaluation)
    assert evaluation.decision == ESCALATE


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("src/app/export.py", "def purge(s):\n    s.query(Order).filter(Order.id == 1).delete()\n"),
        ("src/app/export.py", "def purge(session, rows):\n    session.delete_all(rows)\n"),
        ("src/app/export.py", '"""Unlike `db.drop_all`, this keeps the tables."""\n'),
        ("tests/conftest.py", "def db():\n    yield\n    db.drop_all()\n"),
    ],
)
def test_bounded_deletes_and_test_fixtures_that_reset_the_database_pass(
    path: str, code: str
) -> None:
    assert write(path, code).decision == ALLOW


def test_a_test_that_hammers_an_unapproved_host_goes_to_the_operator() -> None:
    code = (
        "def test_load():\n    for _ in range(100_000):\n"
        "        requests.get('https://rates.example/api')\n"
    )
    evaluation = write("tests/test_load.py", code)
    assert FLOOD in rule_ids(evaluation)
    assert evaluation.decision == ESCALATE


@pytest.mark.parametrize(
    "code",
    [
        "for _ in range(100_000):\n    requests.get('http://localhost:5000/health')\n",
        "for _ in range(100_000):\n    requests.get('https://pypi.org/simple/')\n",
        "for _ in range(10_000):\n    client.get('/orders/export.csv')\n",
        "for _ in range(3):\n    requests.get('https://rates.example/api')\n",
        "while True:\n    requests.get('https://rates.example/api')\n    time.sleep(60)\n",
    ],
)
def test_loops_against_local_or_approved_hosts_or_that_pace_themselves_pass(code: str) -> None:
    assert write("tests/test_load.py", code).decision == ALLOW


def test_the_code_rules_are_registered_through_the_files_module() -> None:
    for rule in file_code.RULES:
        assert rule in files.RULES
        assert REGISTRY.get(rule.id) == rule
