"""The student edition of the course: every chapter without its exercise solutions.

    python tools/student_edition.py [--out student] [--suffix S] [notebooks/NN_name.py ...]   # `make student`
    python tools/student_edition.py --check [--jobs 2] [notebooks/NN_name.py ...] # `make test-student`

The edition is derived from the `.py` sources by cell tags, never edited by hand. In a chapter,
each exercise is a stub cell (``your_answer = None``, or ``my_function = None``, then the call
to its self-check) followed by its solution: a code cell tagged ``hide-cell`` whose first line is
``# Solution (expand the cell to read it).``. The student edition

* drops every solution cell, and keeps each stub with its self-check call;
* replaces the sentence that says where the solutions are with one that says they are not there;
* starts with a note saying which edition it is, has no outputs, and is not paired with a `.py`
  (jupytext would otherwise look for one next to it).

``--check`` executes each student notebook top to bottom in a fresh kernel (CPU, no progress
bars), then, in the same kernel, each solution in place of its stub's answer, and requires that

1. no cell fails, and none writes to stderr unless its output is one nbval ignores (a timing, a
   profiler's log: tagged ``nbval-ignore-output``);
2. every self-check of the student edition reports "not yet" (never "correct", never a crash);
3. every solution, substituted for its stub, makes its self-check report "correct".

It prints one line per chapter (exercises, self-checks, seconds) and exits non-zero on any problem.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import copy
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_FIRST_LINE = "# Solution (expand the cell to read it)."
INSTRUCTOR_SENTENCE = re.compile(
    r"Solutions are hidden below each\s+(?:#\s*)?exercise \(click to show on the website; in JupyterLab, expand the\s+(?:#\s*)?collapsed cell\)\."
)
STUDENT_SENTENCE = "This is the student edition: the solutions are not included."
ROLE = "student-edition"  # metadata key on the cells this tool adds or changes
EXERCISE_HEADING = re.compile(r"\*\*Exercise (\d+)\b")
VERDICT = re.compile(r"^(Exercise [^:\n]+): (correct\.|not yet\.)", re.MULTILINE)


@dataclass
class Exercise:
    """One exercise: the stub the student edits and the solution that answers it."""

    number: int
    stub: str
    solution: str
    checks: int  # self-check calls in the stub (usually one)

    @property
    def kind(self) -> str:
        """'homework' if the answer is code, or needs the chapter's own objects; 'class' if it is a
        short calculation on paper (see `solution_uses_chapter_state`)."""
        if re.search(r"^\s*def ", self.solution, re.MULTILINE) or solution_uses_chapter_state(self.stub, self.solution):
            return "homework"
        return "class"


@dataclass
class Edition:
    source: Path
    notebook: object  # nbformat.NotebookNode
    exercises: list[Exercise] = field(default_factory=list)
    #: every exercise the chapter sets, by its number in the text ("**Exercise 5 (open).**" included):
    #: the open ones have no stub, no self-check and no solution
    numbers: list[int] = field(default_factory=list)

    @property
    def open_numbers(self) -> list[int]:
        checked = {ex.number for ex in self.exercises}
        return [n for n in self.numbers if n not in checked]


def code_lines(source: str) -> list[str]:
    return [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]


MODULES = {"np", "math", "torch", "F", "nn", "check", "plt", "widgets"}


def solution_uses_chapter_state(stub: str, solution: str) -> bool:
    """Whether the solution reads a name that neither the stub nor the solution defines (other than
    a module or a builtin): then it needs the chapter's objects (a trained model, a data set)."""
    defined: set[str] = set()
    used: set[str] = set()
    for text in (stub, solution):
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Name):
                (defined if isinstance(node.ctx, ast.Store) else used).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
                if isinstance(node, ast.FunctionDef):
                    defined.add(node.name)
                defined.update(a.arg for a in node.args.args)
            elif isinstance(node, ast.comprehension):
                defined.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return bool(used - defined - MODULES - set(dir(builtins)))


def is_solution(cell) -> bool:
    return (
        cell.cell_type == "code"
        and "hide-cell" in cell.metadata.get("tags", [])
        and cell.source.lstrip().startswith(SOLUTION_FIRST_LINE)
    )


def build(source: Path) -> Edition:
    """The student edition of one chapter, from its `.py` source."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    student = copy.deepcopy(nb)
    student.cells = []
    edition = Edition(source, student)
    replaced = 0
    current = 0  # the number of the exercise whose text came last
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for found in EXERCISE_HEADING.findall(cell.source):
                current = int(found)
                if current not in edition.numbers:
                    edition.numbers.append(current)
        if is_solution(cell):
            stub = student.cells[-1] if student.cells else None
            if stub is None or stub.cell_type != "code" or "check." not in stub.source:
                raise ValueError(f"{source}: the solution in cell {index} does not follow an exercise stub with its self-check")
            checks = len(re.findall(r"^check\.\w+\(", stub.source, re.MULTILINE))
            number = current if current and current not in {ex.number for ex in edition.exercises} else len(edition.exercises) + 1
            edition.exercises.append(Exercise(number, stub.source, cell.source, checks))
            continue
        cell = copy.deepcopy(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "hide-cell" in cell.metadata.get("tags", []) and cell.source.lstrip().startswith("# Solution"):
                raise ValueError(f"{source}: cell {index} looks like a solution but its first line is not {SOLUTION_FIRST_LINE!r}")
        elif cell.cell_type == "markdown" and INSTRUCTOR_SENTENCE.search(cell.source):
            cell.source = INSTRUCTOR_SENTENCE.sub(STUDENT_SENTENCE, cell.source)
            cell.metadata[ROLE] = "changed"
            replaced += 1
        student.cells.append(cell)
    if edition.exercises and replaced != 1:
        raise ValueError(f"{source}: expected one sentence saying where the solutions are, found {replaced}")
    title = next((c.source.splitlines()[0].lstrip("# ").strip() for c in nb.cells if c.cell_type == "markdown"), source.stem)
    note = nbformat.v4.new_markdown_cell(
        f"*Student edition of “{title}”: every exercise is here with its self-check, without its solution. "
        f"Generated from `notebooks/{source.name}` by `make student`; do not edit it to change the course.*"
    )
    note.metadata[ROLE] = "added"
    student.cells.insert(0, note)
    jupytext_meta = student.metadata.get("jupytext", {})
    jupytext_meta.pop("formats", None)  # not paired with a .py
    if not jupytext_meta:
        student.metadata.pop("jupytext", None)
    for i, cell in enumerate(student.cells):  # ids must be unique and valid in nbformat 4.5
        cell["id"] = f"s{i:03d}"
    return edition


def write(edition: Edition, out: Path, suffix: str = "") -> Path:
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{edition.source.stem}{suffix}.ipynb"
    nbformat.write(edition.notebook, path)
    return path


# ---- the check ---------------------------------------------------------------------------------
SUBSTITUTED = "substituted-solution"


def with_solutions_substituted(edition: Edition):
    """The student notebook followed by each solution, run in the same kernel after all the stubs:
    the solution replaces what the student would have typed into its stub."""
    import nbformat

    nb = copy.deepcopy(edition.notebook)
    for ex in edition.exercises:
        cell = nbformat.v4.new_code_cell(ex.solution)
        cell.metadata[SUBSTITUTED] = ex.number
        cell["id"] = f"x{ex.number:03d}"
        nb.cells.append(cell)
    return nb


def cell_text(cell) -> tuple[str, str, list[str]]:
    """(stdout, stderr, error names) of an executed cell."""
    out, err, errors = [], [], []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            (out if o.name == "stdout" else err).append(o.text)
        elif o.output_type == "error":
            errors.append(f"{o.ename}: {o.evalue}")
        elif o.output_type in ("execute_result", "display_data") and "text/plain" in o.get("data", {}):
            out.append(o.data["text/plain"])
    return "".join(out), "".join(err), errors


def problems_in(executed, edition: Edition) -> list[str]:
    """Everything wrong with an executed student edition (see the module docstring)."""
    problems: list[str] = []
    stubs = {ex.stub: ex for ex in edition.exercises}
    seen_stubs, seen_solutions = 0, 0
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        out, err, errors = cell_text(cell)
        where = f"cell {index}"
        if errors:
            problems.append(f"{where} failed: {errors[0]}")
        # a cell whose output varies (timings, a profiler's log) may write to stderr, as nbval allows
        if err.strip() and "nbval-ignore-output" not in cell.metadata.get("tags", []):
            problems.append(f"{where} wrote to stderr: {err.strip().splitlines()[0][:120]}")
        verdicts = VERDICT.findall(out)
        if SUBSTITUTED in cell.metadata:
            seen_solutions += 1
            number = cell.metadata[SUBSTITUTED]
            if not verdicts or any(v != "correct." for _, v in verdicts):
                problems.append(f"exercise {number}: its solution, substituted for the stub, does not make the self-check report correct ({out.strip()[:120]!r})")
        elif cell.source in stubs:
            seen_stubs += 1
            ex = stubs[cell.source]
            if len(verdicts) != ex.checks or any(v != "not yet." for _, v in verdicts):
                problems.append(f"exercise {ex.number}: the stub's self-check must report 'not yet' ({out.strip()[:120]!r})")
        elif verdicts:
            problems.append(f"{where}: a self-check outside an exercise stub")
    if seen_stubs != len(edition.exercises):
        problems.append(f"{len(edition.exercises)} exercises but {seen_stubs} stubs ran")
    if seen_solutions != len(edition.exercises):
        problems.append(f"{len(edition.exercises)} exercises but {seen_solutions} substituted solutions ran")
    return problems


def check_one(source: str) -> tuple[str, int, int, float, list[str]]:
    """Execute one chapter's student edition with its solutions substituted; report problems."""
    sys.path.insert(0, str(ROOT / "tools"))
    from execute_notebooks import use_build_settings  # noqa: PLC0415
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    use_build_settings()
    edition = build(Path(source))
    nb = with_solutions_substituted(edition)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(Path(source).parent)}})
    try:
        client.execute()
    except CellExecutionError as error:  # pragma: no cover - allow_errors records them instead
        return Path(source).stem, len(edition.exercises), 0, 0.0, [str(error)[:300]]
    seconds = time.perf_counter() - start
    checks = sum(ex.checks for ex in edition.exercises)
    return Path(source).stem, len(edition.exercises), checks, seconds, problems_in(nb, edition)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="default: every notebooks/NN_*.py")
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="where `make student` writes the edition")
    parser.add_argument("--suffix", default="", help="added to each file name (the website's downloads use _student)")
    parser.add_argument("--check", action="store_true", help="execute the edition and check its self-checks")
    parser.add_argument("--jobs", type=int, default=1, help="chapters executed at once with --check")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    sources = args.sources or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    if not args.check:
        for src in sources:
            edition = build(src)
            path = write(edition, args.out, args.suffix)
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(edition.exercises)} exercises, solutions removed")
        return 0
    os.environ.setdefault("EFFDNN_DEVICE", "cpu")
    os.environ["EFFDNN_PROGRESS"] = "0"
    failed = 0
    print(f"{'chapter':<36} {'exercises':>9} {'checks':>6} {'seconds':>8}  result")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for name, exercises, checks, seconds, problems in pool.map(check_one, [str(s) for s in sources]):
            verdict = "every stub 'not yet', every solution 'correct'" if not problems else f"{len(problems)} problem(s)"
            print(f"{name:<36} {exercises:>9} {checks:>6} {seconds:>8.1f}  {verdict}", flush=True)
            for p in problems:
                print(f"    {p}")
            failed += bool(problems)
    print(f"student edition: {len(sources) - failed} of {len(sources)} chapters pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
