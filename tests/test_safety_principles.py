"""The thirteen principles are stable data the rules, the judge prompt and the audit trail cite."""

from __future__ import annotations

import pytest

from wave_tui.safety.principles import (
    PRINCIPLES,
    Category,
    Severity,
    numbered_text,
    principle,
)

EXPECTED_IDS = [
    "security.destructive_commands",
    "security.expose_secrets",
    "security.bypass_auth",
    "security.disable_protections",
    "data_integrity.preserve_data",
    "data_integrity.validate_input",
    "data_integrity.sensitive_plaintext",
    "system_safety.production_changes",
    "system_safety.rate_limits",
    "system_safety.network_requests",
    "compliance.audit_trail",
    "compliance.approved_plan",
    "compliance.validation_gates",
]


def test_there_are_exactly_thirteen_principles_with_stable_unique_ids() -> None:
    ids = [p.id for p in PRINCIPLES]
    assert len(PRINCIPLES) == 13
    assert len(set(ids)) == 13
    assert ids == EXPECTED_IDS


def test_each_id_starts_with_its_category_and_every_category_has_principles() -> None:
    for p in PRINCIPLES:
        assert p.id.split(".")[0] == p.category.value
    counts = {c: sum(p.category is c for p in PRINCIPLES) for c in Category}
    assert counts == {
        Category.SECURITY: 4,
        Category.DATA_INTEGRITY: 3,
        Category.SYSTEM_SAFETY: 3,
        Category.COMPLIANCE: 3,
    }


def test_principle_texts_name_the_dangers_the_design_lists() -> None:
    destructive = principle("security.destructive_commands").text
    for word in ("rm -rf", "DROP TABLE", "mkfs"):
        assert word in destructive
    assert "audit trail" in principle("compliance.audit_trail").text


def test_unknown_principle_id_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown safety principle 'security\.nope'"):
        principle("security.nope")


def test_numbered_text_lists_every_principle_in_order_for_the_judge_prompt() -> None:
    lines = numbered_text().splitlines()
    assert len(lines) == 13
    assert lines[0] == f"1. {PRINCIPLES[0].text}"
    assert lines[12] == f"13. {PRINCIPLES[12].text}"


def test_severity_scores_fall_as_severity_rises_and_land_in_the_config_bands() -> None:
    order = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    scores = [s.score for s in order]
    assert scores == sorted(scores, reverse=True)
    assert scores == [1.0, 0.9, 0.75, 0.5, 0.0]
    block, escalate = 0.7, 0.85  # the config defaults the scores were placed against
    assert [s.score >= escalate for s in order] == [True, True, False, False, False]
    assert [s.score >= block for s in order] == [True, True, True, False, False]
