"""The syllabus page (tools/syllabus.py) is generated from the chapters and kept up to date."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
spec = importlib.util.spec_from_file_location("syllabus", ROOT / "tools" / "syllabus.py")
syllabus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(syllabus)


def test_the_committed_page_is_what_the_chapters_give(capsys):
    assert syllabus.main(["--check"]) == 0, capsys.readouterr().out


def test_every_chapter_has_objectives_exercises_and_earlier_prerequisites():
    facts = [syllabus.chapter_facts(src, {}) for src in syllabus.chapters()]
    assert [f["number"] for f in facts] == sorted(f["number"] for f in facts)
    for f in facts:
        assert len(f["objectives"]) >= 3 and all(len(o) > 20 for o in f["objectives"]), f["title"]
        assert f["exercises"] and set(f["exercises"]) <= {"class", "homework"}
        numbers = [n for n, _ in f["listed"]]
        assert numbers == list(range(1, len(numbers) + 1)), f["title"]  # every exercise the text sets, in order
        assert len(numbers) == len(f["exercises"]) + f["open"]
        assert all(p < f["number"] for p in f["prerequisites"])
        assert f["study_min"] % 5 == 0 and f["study_min"] > 0


def test_the_weekly_plan_keeps_the_order_and_evens_the_load():
    facts = [{"number": i, "study_min": m, "homework_min": 0} for i, m in enumerate([30, 30, 60, 10, 10, 40])]
    plan = syllabus.weekly_plan(facts, weeks=3)
    assert [f["number"] for week in plan for f in week] == list(range(6))
    assert max(sum(f["study_min"] for f in week) for week in plan) == 60  # [30, 30] [60] [10, 10, 40]
    assert len(syllabus.weekly_plan(facts[:2], weeks=10)) == 2


def test_objectives_are_read_across_wrapped_lines():
    text = "**Learning objectives.** After this chapter you can\n\n1. read a\n   long line;\n2. do b.\n\nMore."
    assert syllabus.objectives(text) == ["read a long line;", "do b."]
