"""Local YARA checks: syntax errors with rule name and line, the rule limit, a missing yara."""

from __future__ import annotations

import sys

import pytest

from prefect_virustotal.client import (
    MAX_RULES_PER_JOB,
    InvalidParameterError,
    YaraSyntaxError,
    YaraUnavailableError,
    check_yara_rules,
)
from tests.hunting import BAD_RULES, marker_rule


def test_good_rules_give_names_and_count() -> None:
    check = check_yara_rules(marker_rule("ABC", name="one") + marker_rule("DEF", name="two"))
    assert check.rule_names == ["one", "two"]
    assert check.number_of_rules == 2
    assert check.compiled


def test_syntax_error_names_the_rule_and_line() -> None:
    with pytest.raises(YaraSyntaxError) as caught:
        check_yara_rules(BAD_RULES)
    error = caught.value
    assert error.rule_name == "broken"
    assert error.line == 13
    assert "broken" in str(error) and "line 13" in str(error) and "undefined string" in str(error)
    assert isinstance(error, InvalidParameterError)


def test_comments_do_not_confuse_the_rule_name() -> None:
    source = "/* rule fake\n*/\n// rule other\nrule real { condition: nope }\n"
    with pytest.raises(YaraSyntaxError) as caught:
        check_yara_rules(source)
    assert caught.value.rule_name == "real"
    assert caught.value.line == 4


def test_includes_are_refused() -> None:
    with pytest.raises(YaraSyntaxError, match="includes"):
        check_yara_rules('include "/etc/passwd"\nrule a { condition: true }')


def test_more_than_300_rules_is_refused() -> None:
    many = "".join(f"rule r{i} {{ condition: true }}\n" for i in range(MAX_RULES_PER_JOB + 1))
    with pytest.raises(InvalidParameterError, match="at most 300"):
        check_yara_rules(many)
    assert check_yara_rules(many, max_rules=None).number_of_rules == 301


@pytest.mark.parametrize("source", ["", "   \n", "// only a comment\n"])
def test_empty_rules_are_refused(source: str) -> None:
    with pytest.raises(InvalidParameterError):
        check_yara_rules(source)


def test_vt_module_rules_get_a_structural_check() -> None:
    source = 'import "vt"\nrule new_pe { condition: vt.metadata.new_file }\n'
    check = check_yara_rules(source)
    assert not check.compiled
    assert check.rule_names == ["new_pe"]


def test_missing_yara_python_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yara", None)
    with pytest.raises(YaraUnavailableError, match=r"prefect-virustotal\[yara\]"):
        check_yara_rules(marker_rule("ABC"))
