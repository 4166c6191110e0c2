"""The student edition (tools/student_edition.py): what it removes and keeps, and that its check
catches what it must (a self-check that passes a stub, a solution that does not pass, a failing
cell). `make test-student` executes the real edition; these tests need no kernel."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def load_tool():
    spec = importlib.util.spec_from_file_location("student_edition", ROOT / "tools" / "student_edition.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["student_edition"] = module
    spec.loader.exec_module(module)
    return module


se = load_tool()

DEMO = '''# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Demo
#
# ## Exercises
#
# Each exercise has a self-check: call it with your answer. Solutions are hidden below each
# exercise (click to show on the website; in JupyterLab, expand the collapsed cell).
#
# **Exercise 1.** Double 2.

# %%
your_answer = None
check.double(your_answer, 2)

# %% jupyter={"outputs_hidden": true, "source_hidden": true} tags=["hide-cell"]
# Solution (expand the cell to read it).
# Twice two.
solution = 2 * 2
check.double(solution, 2)

# %% [markdown]
# **Exercise 2 (open).** Why?
'''


@pytest.fixture()
def demo(tmp_path):
    src = tmp_path / "01_demo.py"
    src.write_text(DEMO)
    return se.build(src)


def executed(edition, stub_out, solution_out, error=None):
    """The substituted notebook with the outputs a kernel would have produced."""
    nb = se.with_solutions_substituted(edition)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = solution_out if se.SUBSTITUTED in cell.metadata else stub_out
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        if error and se.SUBSTITUTED not in cell.metadata:
            cell.outputs.append(nbformat.v4.new_output("error", ename="TypeError", evalue=error, traceback=[]))
    return nb


def test_the_demo_edition_drops_the_solution_and_keeps_the_stub(demo):
    sources = [c.source for c in demo.notebook.cells]
    assert len(demo.exercises) == 1 and demo.exercises[0].checks == 1 and demo.exercises[0].number == 1
    assert demo.numbers == [1, 2] and demo.open_numbers == [2]
    assert not any("solution = 2 * 2" in s or s.startswith("# Solution") for s in sources)
    assert any(s.startswith("your_answer = None") and "check.double" in s for s in sources)
    assert any(se.STUDENT_SENTENCE in s for s in sources) and not any("Solutions are hidden" in s for s in sources)
    assert "Student edition" in sources[0]
    assert "formats" not in demo.notebook.metadata.get("jupytext", {})


def test_a_clean_run_has_no_problems(demo):
    assert se.problems_in(executed(demo, "Exercise 1: not yet.\n", "Exercise 1: correct.\n"), demo) == []


def test_a_self_check_that_passes_the_stub_is_caught(demo):
    problems = se.problems_in(executed(demo, "Exercise 1: correct.\n", "Exercise 1: correct.\n"), demo)
    assert any("stub's self-check must report 'not yet'" in p for p in problems)


def test_a_solution_that_does_not_pass_is_caught(demo):
    problems = se.problems_in(executed(demo, "Exercise 1: not yet.\n", "Exercise 1: not yet. Try again.\n"), demo)
    assert any("does not make the self-check report correct" in p for p in problems)


def test_a_crashing_stub_is_caught(demo):
    problems = se.problems_in(executed(demo, "", "Exercise 1: correct.\n", error="unsupported operand"), demo)
    assert any("failed: TypeError" in p for p in problems)
    assert any("must report 'not yet'" in p for p in problems)  # a crash is not a verdict


def test_a_solution_without_its_stub_is_refused(tmp_path):
    src = tmp_path / "01_demo.py"
    src.write_text(DEMO.replace("your_answer = None\ncheck.double(your_answer, 2)", "x = 1"))
    with pytest.raises(ValueError, match="does not follow an exercise stub"):
        se.build(src)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem[:2])
def test_every_chapter_has_a_student_edition_without_solutions(chapter):
    edition = se.build(chapter)
    assert edition.exercises, "every chapter ends with exercises"
    cells = edition.notebook.cells
    assert not any(se.is_solution(c) or "Solutions are hidden" in c.source for c in cells)
    assert all(not c.get("outputs") for c in cells if c.cell_type == "code")
    stubs = [c for c in cells if c.cell_type == "code" and c.source in {ex.stub for ex in edition.exercises}]
    assert len(stubs) == len(edition.exercises)
    instructor = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    solutions = [c for c in instructor.cells if se.is_solution(c)]
    assert len(solutions) == len(edition.exercises)
    for cell in solutions:  # nbval checks that these committed verdicts are reproduced
        verdicts = se.VERDICT.findall(se.cell_text(cell)[0])
        assert verdicts and all(v == "correct." for _, v in verdicts), cell.source[:80]


def test_stderr_is_a_problem_except_in_a_cell_whose_output_varies(demo):
    nb = executed(demo, "Exercise 1: not yet.\n", "Exercise 1: correct.\n")
    stub = next(c for c in nb.cells if c.cell_type == "code" and se.SUBSTITUTED not in c.metadata)
    stub.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="profiler_start\n"))
    assert any("wrote to stderr" in p for p in se.problems_in(nb, demo))
    stub.metadata["tags"] = ["nbval-ignore-output"]
    assert not any("wrote to stderr" in p for p in se.problems_in(nb, demo))
