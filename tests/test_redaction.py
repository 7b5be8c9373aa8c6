"""Secrets never reach the database or logs: what is redacted and what is left alone."""

from __future__ import annotations

import pytest

from wave_tui.domain.redaction import REDACTED, redact, redact_text

SECRETS = [
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789",
    "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "xoxb-1234567890-abcdefghij",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "AIzaSyD3xAmPlE-k3yF0rT35t1ngPurp0s3s12x",  # Google: AIza and 35 characters
]


@pytest.mark.parametrize("secret", SECRETS)
def test_known_credential_shapes_are_redacted(secret: str) -> None:
    redacted = redact_text(f"the value is {secret} ok")
    assert secret not in redacted
    assert REDACTED in redacted
    assert redacted.startswith("the value is ")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("export ANTHROPIC_API_KEY=abcd1234efgh", "export ANTHROPIC_API_KEY="),
        ("DB_PASSWORD: hunter22", "DB_PASSWORD: "),
        ('password = "correct-horse"', 'password = "'),
        ("postgresql://wave:s3cr3t@db/wave", "postgresql://wave:"),
        ("Authorization: Bearer abcdefghijklmnopqrstu", "Authorization: Bearer "),
        # the name may be a secret's name alone
        ("API_KEY=abcd1234efgh", "API_KEY="),
        ("PASSWORD=hunter22", "PASSWORD="),
        ("TOKEN: ghx-1234-abcd", "TOKEN: "),
        # YAML and JSON configuration
        ("database:\n  password: Xk9mP2vLq8w\n", "database:\n  password: "),
        ("- token: abcd-efgh-ijkl", "- token: "),
        ('{"smtp": {"password": "Xk9mP2vLq8w"}}', '{"smtp": {"password": "'),
    ],
)
def test_secrets_in_assignments_urls_and_headers_lose_only_the_value(text: str, kept: str) -> None:
    redacted = redact_text(text)
    assert redacted.startswith(kept)
    assert REDACTED in redacted


def test_private_key_blocks_are_redacted_whole() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----"
    assert redact_text(f"key:\n{pem}\n") == f"key:\n{REDACTED}\n"


@pytest.mark.parametrize(
    "benign",
    [
        "DEFAULT_TOKEN_LIMIT=100000",
        "max_tokens=4096",
        "def login(password: str) -> bool:",
        'password = request.form["password"]',
        "python -m pytest -q tests/",
        "git diff --stat",
        # code that only names a secret: a type, a lookup, a parameter, another word's tail
        "    password: str",
        "    api_key: SecretStr",
        "    api_key: str,",
        "    password: Optional[str] = None",
        "password: ${DB_PASSWORD}",
        'password: os.environ["DB_PASSWORD"]',
        "def connect(host, password: hunter22):",
        'data = {"password": form["password"]}',
        "myTOKEN=abcdef123",
        "max_token: 4096",
        "AIzaSyD3xAmPlE-k3yF0rT35t1ngPurp0s3s1",  # one character short of a Google key
    ],
)
def test_ordinary_code_and_settings_are_left_alone(benign: str) -> None:
    assert redact_text(benign) == benign


def test_structures_are_redacted_by_key_name_and_by_shape() -> None:
    value = {
        "api_key": "anything",
        "token_count": 42,
        "nested": [{"password": "p4ss"}, "sk-ant-api03-abcdefghijklmnop"],
        "empty_secret": None,
    }
    assert redact(value) == {
        "api_key": REDACTED,
        "token_count": 42,
        "nested": [{"password": REDACTED}, REDACTED],
        "empty_secret": None,
    }
    assert value["api_key"] == "anything"  # the input is not modified


def test_a_yaml_value_keeps_its_comment_and_the_lines_around_it() -> None:
    text = "db:\n  password: hunter22  # rotated monthly\n  user: shop\n"
    assert redact_text(text) == f"db:\n  password: {REDACTED}  # rotated monthly\n  user: shop\n"
