"""OSWorld's own metric and ours on the same inputs give the same score (1e-6), or the documented difference.

Inputs: every fixture of our metric tests (built with tests/evaluation/builders.py) and inputs derived from
the options and rules of the real task files. Deliberate differences: docs/differential.md.
"""
from __future__ import annotations

import pytest

from . import (
    cases_apps,
    cases_chrome,
    cases_files,
    cases_office,
    cases_options,
    cases_rules,
    cases_text,
    cases_writer,
)
from .harness import check

CASES = (cases_text.CASES + cases_office.CASES + cases_files.CASES + cases_rules.CASES + cases_apps.CASES +
         cases_chrome.CASES + cases_writer.CASES + cases_options.CASES)


def test_case_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_documented_difference_names_a_case(differences):
    assert set(differences) <= {case.id for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_same_score(case, osworld, tmp_path, differences):
    check(case, osworld, tmp_path, differences)
