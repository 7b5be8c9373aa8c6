"""The project policy: parsing `wave-policy.toml`, matching tool calls, its effect on a verdict."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from wave_tui.safety import Decision, SafetyContext, Thresholds, evaluate_tool_call
from wave_tui.safety.policy import Policy, PolicyAction, PolicyError, PolicyMatch

EXAMPLE = """\
# wave-policy.toml
deny = ["bash(curl *)", "write_file(.github/**)", "http_request(*)"]
ask  = ["bash(npm publish*)", "sql(DELETE *)"]
allow = [
  "bash(npm run *)",
  { match = "*(*)", rules = ["tool.unknown"], reason = "our own tools" },
]
"""


@pytest.fixture
def ctx() -> SafetyContext:
    return SafetyContext(worktree=PurePosixPath("/repo"), home=PurePosixPath("/home/dev"))


def matched(policy: Policy, tool: str, args: dict[str, Any], ctx: SafetyContext) -> str | None:
    """The entry that decided, as written, or None."""
    found = policy.match(tool, args, ctx)
    return found.entry if found else None


def one(text: str) -> Policy:
    return Policy.parse(text)


def evaluate(tool: str, args: dict[str, Any], ctx: SafetyContext, policy: str) -> Any:
    return evaluate_tool_call(tool, args, ctx, policy=one(policy), thresholds=Thresholds())


# --- parsing ---------------------------------------------------------------------------------


def test_parse_reads_strings_and_tables_with_their_lines(ctx: SafetyContext) -> None:
    policy = Policy.parse(EXAMPLE)

    assert [(e.action, e.text, e.line) for e in policy.entries] == [
        (PolicyAction.DENY, "bash(curl *)", 2),
        (PolicyAction.DENY, "write_file(.github/**)", 2),
        (PolicyAction.DENY, "http_request(*)", 2),
        (PolicyAction.ASK, "bash(npm publish*)", 3),
        (PolicyAction.ASK, "sql(DELETE *)", 3),
        (PolicyAction.ALLOW, "bash(npm run *)", 5),
        (PolicyAction.ALLOW, "*(*)", 6),
    ]
    table = policy.entries[-1]
    assert table.waives == ("tool.unknown",)
    assert table.reason == "our own tools"
    assert policy.source == "wave-policy.toml"


def test_an_entry_repeated_in_one_list_gets_the_line_of_each_occurrence() -> None:
    policy = Policy.parse('deny = [\n  "bash(ls *)",\n  "bash(ls *)",\n]\n')

    assert [e.line for e in policy.entries] == [2, 3]


def test_array_of_tables_form_is_read_with_lines() -> None:
    text = '[[allow]]\nmatch = "*(*)"\nrules = ["tool.unknown"]\nreason = "ours"\n'

    (entry,) = Policy.parse(text).entries

    assert (entry.action, entry.waives, entry.line) == (PolicyAction.ALLOW, ("tool.unknown",), 2)


def test_empty_file_is_an_empty_policy_that_matches_nothing(ctx: SafetyContext) -> None:
    policy = Policy.parse("# nothing decided yet\n")

    assert policy.entries == ()
    assert policy.match("bash", {"command": "rm -rf /"}, ctx) is None


def test_load_reads_the_file_and_cites_its_path(tmp_path: Path, ctx: SafetyContext) -> None:
    path = tmp_path / "wave-policy.toml"
    path.write_text("\n\ndeny = ['bash(curl *)']\n", encoding="utf-8")

    found = Policy.load(path).match("bash", {"command": "curl -s https://x.io"}, ctx)

    assert found == PolicyMatch(PolicyAction.DENY, "bash(curl *)", str(path), 3)
    assert found.cite == f"{path}:3 deny bash(curl *)"


def test_load_of_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    with pytest.raises(PolicyError, match=r"nope\.toml: policy file not found"):
        Policy.load(path)


def test_load_reports_a_bad_entry_with_the_file_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "wave-policy.toml"
    path.write_text("deny = []\nallow = [\n  'bash(ls',\n]\n", encoding="utf-8")

    with pytest.raises(PolicyError) as raised:
        Policy.load(path)

    assert str(raised.value).startswith(f"{path}:3: allow entry 'bash(ls'")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('deny = []\n\nforbid = ["bash(x)"]\n', 3, "unknown key 'forbid'"),
        ('deny = [\n  "bash(",\n]\n', 2, "'bash(' is not of the form tool(pattern)"),
        ('ask = ["(x)"]\n', 1, "'(x)' is not of the form"),
        ('deny = []\nallow = ["bash x"]\n', 2, "'bash x' is not of the form"),
        ('deny = ["bash()"]\n', 1, "'bash()' is not of the form"),
        ('deny = ["ftp(*)"]\n', 1, "unknown tool 'ftp'"),
        (
            '# policy\nallow = [\n  "bash(ls)",\n'
            '  { match = "bash(rm -rf build)", rules = ["file.delete.recursve"] },\n]\n',
            4,
            "allow entry 'bash(rm -rf build)' names unknown rule 'file.delete.recursve'",
        ),
        (
            'deny = [{ match = "bash(ls)", rules = ["tool.unknown"] }]\n',
            1,
            "only allow entries waive rules",
        ),
        ('\nask = [{ match = "sql(*)", rules = [] }]\n', 2, "only allow entries waive rules"),
        ('allow = [{ match = "*(*)", rules = ["scorer.error"] }]\n', 1, "no policy can waive"),
        ('allow = [{ rules = ["tool.unknown"] }]\n', 1, "needs 'match'"),
        ('allow = [{ match = "bash(ls)", why = "x" }]\n', 1, "unknown key 'why'"),
        ("\ndeny = [42]\n", 2, "strings or tables"),
        ('\n\nask = "bash(ls)"\n', 3, "ask must be a list"),
        ('deny = [\n"bash(ls)"\nask = []\n', 3, "not valid TOML"),
    ],
)
def test_a_bad_policy_is_one_line_naming_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.parse(text)

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"wave-policy.toml:{line}: ")
    assert words in message


# --- matching --------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["bash", "run_command", "Bash"])
@pytest.mark.parametrize("called", ["bash", "run_command"])
def test_shell_tools_are_one_tool_for_matching(
    written: str, called: str, ctx: SafetyContext
) -> None:
    policy = one(f"ask = ['{written}(npm publish*)']")

    assert matched(policy, called, {"command": "npm publish --tag next"}, ctx)
    assert matched(policy, "write_file", {"path": "npm publish"}, ctx) is None


def test_shell_star_spans_spaces_and_slashes_and_is_case_sensitive(ctx: SafetyContext) -> None:
    policy = one("allow = ['bash(npm run *)']")

    assert matched(policy, "bash", {"command": "npm run build -- --out dist/x"}, ctx)
    assert matched(policy, "bash", {"command": "NPM RUN build"}, ctx) is None
    assert matched(policy, "bash", {"command": "npm run"}, ctx) is None


def test_argv_form_matches_its_shell_quoted_line(ctx: SafetyContext) -> None:
    policy = one("ask = [\"bash(git commit -m 'two words')\"]")

    assert matched(policy, "run_command", {"argv": ["git", "commit", "-m", "two words"]}, ctx)


def test_deny_matches_any_simple_command_of_a_compound_line(ctx: SafetyContext) -> None:
    policy = one("deny = ['bash(curl *)']\nallow = ['bash(curl *)']")

    for line in ("a && curl x | sh", "sudo /usr/bin/curl -s x", "bash -c 'curl x'"):
        found = policy.match("bash", {"command": line}, ctx)
        assert found is not None, line
        assert found.action is PolicyAction.DENY, line


def test_allow_and_ask_match_only_the_whole_line(ctx: SafetyContext) -> None:
    policy = one("ask = ['bash(git push *)']\nallow = ['bash(npm run *)']")

    assert matched(policy, "bash", {"command": "npm run build && rm -rf ~"}, ctx)
    assert matched(policy, "bash", {"command": "git status; git push origin x"}, ctx) is None
    assert matched(policy, "bash", {"command": "true && npm run build"}, ctx) is None


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("src/**", "src/app/main.py", True),
        ("src/**", "./src/main.py", True),
        ("src/**", "/repo/src/main.py", True),
        ("src/**", "tests/src_test.py", False),
        ("*.py", "deep/down/tool.py", True),
        ("*.py", "/tmp/outside.py", False),
        (".github/**", "../repo/.github/workflows/ci.yml", True),
        ("/etc/**", "/etc/passwd", True),
        ("/etc", "/etc/ssh/sshd_config", True),
        ("/etc", "/srv/etc/x", False),
        ("~/.ssh/**", "~/.ssh/id_rsa", True),
        ("~/.ssh/**", "/home/dev/.ssh/id_rsa", True),
    ],
)
def test_file_patterns_match_paths_relative_to_the_worktree(
    pattern: str, path: str, hit: bool, ctx: SafetyContext
) -> None:
    policy = one(f"deny = ['read_file({pattern})']")

    assert (matched(policy, "read_file", {"path": path}, ctx) is not None) is hit


def test_each_file_tool_is_its_own_tool(ctx: SafetyContext) -> None:
    policy = one("deny = ['delete_file(src/**)']\nask = ['list_files(secrets)']")

    assert matched(policy, "delete_file", {"path": "src/a.py"}, ctx) == "delete_file(src/**)"
    assert matched(policy, "write_file", {"path": "src/a.py", "content": ""}, ctx) is None
    assert matched(policy, "list_files", {"path": "secrets"}, ctx) == "list_files(secrets)"


def test_url_patterns_span_anything_and_ignore_case(ctx: SafetyContext) -> None:
    policy = one("allow = ['http_request(https://api.example.com/*)']")

    assert matched(policy, "http_request", {"url": "https://api.example.com/v1/x?q=1"}, ctx)
    assert matched(policy, "http_request", {"url": "HTTPS://API.EXAMPLE.COM/v1"}, ctx)
    assert matched(policy, "http_request", {"url": "https://api.example.com.evil.io/"}, ctx) is None


def test_sql_patterns_ignore_case_and_whitespace(ctx: SafetyContext) -> None:
    policy = one("ask = ['sql(DELETE  FROM users*)']")

    assert matched(policy, "sql", {"query": "delete\n  from   users where id = 1"}, ctx)
    assert matched(policy, "sql", {"query": "SELECT 1; DELETE FROM users"}, ctx) is None


def test_sql_deny_matches_any_statement(ctx: SafetyContext) -> None:
    policy = one("deny = ['sql(DROP *)']")

    assert matched(policy, "sql", {"query": "SELECT 1;\n drop table users;"}, ctx)


def test_star_tool_uses_each_tools_own_matching(ctx: SafetyContext) -> None:
    policy = one("ask = ['*(*secret*)']\nallow = ['*(*)']")

    assert matched(policy, "read_file", {"path": "config/secret.yaml"}, ctx) == "*(*secret*)"
    assert matched(policy, "bash", {"command": "cat my-secret-file"}, ctx) == "*(*secret*)"
    assert matched(policy, "frobnicate", {"x": "secret"}, ctx) == "*(*)"


def test_deny_beats_allow_even_when_allow_comes_first(ctx: SafetyContext) -> None:
    policy = one(
        "allow = ['bash(git *)']\nask = ['bash(git push *)']\ndeny = ['bash(git push -f*)']"
    )

    found = policy.match("bash", {"command": "git push -f origin main"}, ctx)

    assert found is not None
    assert (found.action, found.line) == (PolicyAction.DENY, 3)
    assert matched(policy, "bash", {"command": "git push origin x"}, ctx) == "bash(git push *)"


def test_first_match_in_file_order_wins_within_a_list(ctx: SafetyContext) -> None:
    policy = one("allow = [\n  'bash(pytest *)',\n  { match = 'bash(*)', reason = 'all' },\n]")

    found = policy.match("bash", {"command": "pytest -q"}, ctx)

    assert found is not None
    assert (found.entry, found.line) == ("bash(pytest *)", 2)


def test_a_call_with_bad_arguments_matches_only_the_bare_star(ctx: SafetyContext) -> None:
    policy = one("deny = ['bash(ls *)', 'write_file(**)']\nask = ['write_file(*)']")

    assert matched(policy, "bash", {"command": 42}, ctx) is None
    assert matched(policy, "write_file", {"content": "x"}, ctx) == "write_file(**)"


# --- through the evaluation ------------------------------------------------------------------


def test_a_deny_blocks_an_action_the_rules_allow(ctx: SafetyContext) -> None:
    args = {"path": "src/app.py", "content": "print('hi')\n"}
    assert evaluate_tool_call("write_file", args, ctx).decision is Decision.ALLOW

    result = evaluate("write_file", args, ctx, "# no edits\n\ndeny = ['write_file(src/**)']")

    assert result.decision is Decision.BLOCK
    assert result.layer == "policy"
    assert result.decided_by == "wave-policy.toml:3 deny write_file(src/**)"


def test_an_ask_sends_an_allowed_action_to_the_operator(ctx: SafetyContext) -> None:
    result = evaluate("bash", {"command": "git status"}, ctx, "ask = ['bash(git *)']")

    assert result.allowed
    assert result.requires_review
    assert (result.layer, result.decided_by) == ("policy", "wave-policy.toml:1 ask bash(git *)")


def test_an_allow_without_rules_does_not_loosen_a_built_in_finding(ctx: SafetyContext) -> None:
    result = evaluate("bash", {"command": "$(echo ls)"}, ctx, "allow = ['bash(*)']")

    assert result.decision is Decision.ESCALATE
    assert result.decided_by == "exec.unresolved"
    assert result.waived == ()


def test_an_allow_naming_the_rule_waives_its_findings(ctx: SafetyContext) -> None:
    policy = "allow = [{ match = 'bash($(echo ls))', rules = ['exec.unresolved'] }]"

    result = evaluate("bash", {"command": "$(echo ls)"}, ctx, policy)

    assert [f.rule.id for f in result.waived] == ["exec.unresolved"]
    assert "exec.unresolved" not in {f.rule.id for f in result.findings}


def test_an_allow_naming_tool_unknown_lets_a_project_tool_run(ctx: SafetyContext) -> None:
    policy = "allow = [{ match = '*(*)', rules = ['tool.unknown'], reason = 'ours' }]"
    assert evaluate_tool_call("frobnicate", {}, ctx).decision is Decision.ESCALATE

    result = evaluate("frobnicate", {}, ctx, policy)

    assert result.decision is Decision.ALLOW
    assert result.layer == "policy"
    assert result.policy is not None
    assert result.policy.reason == "ours"


def test_a_deny_wins_over_a_waiving_allow(ctx: SafetyContext) -> None:
    policy = "allow = [{ match = '*(*)', rules = ['tool.unknown'] }]\ndeny = ['*(*)']"

    result = evaluate("frobnicate", {}, ctx, policy)

    assert result.decision is Decision.BLOCK
    assert result.decided_by == "wave-policy.toml:2 deny *(*)"
