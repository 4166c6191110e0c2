"""Write the syllabus page of the website, book/syllabus.md, from the chapters themselves.

    python tools/syllabus.py            # rewrite book/syllabus.md
    python tools/syllabus.py --check    # fail if book/syllabus.md is not what this would write

Nothing on the page is retyped: each chapter's title and learning objectives come from its `.py`
source, its exercises (and which suit class or homework) from the student edition
(tools/student_edition.py), and the seconds it takes to execute from book/_data/course_runtime.json,
which `make bench` measures (benchmarks/course_runtime.py --write). What is judgement is in this
file and said so on the page: each chapter's prerequisites, and the rule that estimates study time.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from student_edition import build  # noqa: E402

PAGE = ROOT / "book" / "syllabus.md"
STUDENT_DIR = "_student"  # book/_student: the student edition the website offers (`make book` writes it)
RUNTIME = ROOT / "book" / "_data" / "course_runtime.json"
WEEKS = 10

# Which earlier chapters each one builds on (by number): the instructors' judgement, kept here.
PREREQUISITES = {
    0: [],
    1: [0],
    2: [1],
    3: [1, 2],
    4: [2, 3],
    5: [1, 2, 4],
    6: [1, 4, 5],
    7: [1, 5],
    8: [1],
    9: [8],
    10: [1, 5, 7],
    11: [0, 4],
    12: [1, 5, 11],
    13: list(range(13)),
}

# The study-time estimate, stated on the page: reading the prose at READING_WPM words a minute,
# running the chapter and trying each widget, then the exercises worked in class.
READING_WPM = 100
MINUTES_PER_WIDGET = 5
MINUTES_PER_CLASS_EXERCISE = 5
MINUTES_PER_HOMEWORK_EXERCISE = 20


def chapters() -> list[Path]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [ROOT / f"{f}.py" for f in files if f.startswith("notebooks/")]


def objectives(markdown: str) -> list[str]:
    """The numbered list after '**Learning objectives.**', each item on one line."""
    after = markdown.split("**Learning objectives.**", 1)[1]
    items: list[str] = []
    for line in after.splitlines()[1:]:
        if re.match(r"^\s*\d+\.\s", line):
            items.append(re.sub(r"^\s*\d+\.\s+", "", line).strip())
        elif line.strip() and items and line.startswith(" "):
            items[-1] += " " + line.strip()
        elif items and not line.strip():
            break
    return items


def round_up_5(minutes: float) -> int:
    return int(5 * math.ceil(minutes / 5))


def chapter_facts(source: Path, runtime: dict[str, float]) -> dict:
    edition = build(source)
    cells = edition.notebook.cells
    markdown = [c.source for c in cells if c.cell_type == "markdown"]
    title = next(m.splitlines()[0].lstrip("# ").strip() for m in markdown if m.lstrip().startswith("# "))
    number = int(source.name[:2])
    intro = next(m for m in markdown if "**Learning objectives.**" in m)
    words = sum(len(re.findall(r"[A-Za-z]+", m)) for m in markdown)
    # a widget cell says so in its metadata (output_varies="widget"; tests/test_conventions.py)
    widgets = sum(str(c.metadata.get("output_varies", "")).startswith("widget") for c in cells if c.cell_type == "code")
    kinds = [ex.kind for ex in edition.exercises]
    by_number = {ex.number: ex.kind for ex in edition.exercises}
    listed = [(n, by_number.get(n, "open")) for n in edition.numbers]
    seconds = runtime.get(source.stem)
    reading = words / READING_WPM
    study = reading + widgets * MINUTES_PER_WIDGET + kinds.count("class") * MINUTES_PER_CLASS_EXERCISE + (seconds or 0) / 60
    return {
        "number": number,
        "title": title,
        "stem": source.stem,
        "objectives": objectives(intro),
        "prerequisites": PREREQUISITES.get(number, list(range(number))),
        "seconds": seconds,
        "words": words,
        "widgets": widgets,
        "exercises": kinds,
        "listed": listed,
        "open": len(edition.open_numbers),
        "checks": sum(ex.checks for ex in edition.exercises),
        "study_min": round_up_5(study),
        "homework_min": (kinds.count("homework") + len(edition.open_numbers)) * MINUTES_PER_HOMEWORK_EXERCISE,
    }


def weekly_plan(facts: list[dict], weeks: int = WEEKS) -> list[list[dict]]:
    """Split the chapters, in order, into `weeks` consecutive groups with the smallest largest
    weekly load (study plus homework minutes); fewer groups if there are fewer chapters."""
    load = [f["study_min"] + f["homework_min"] for f in facts]
    n, k = len(load), min(weeks, len(load))
    prefix = [0]
    for x in load:
        prefix.append(prefix[-1] + x)
    best = [[math.inf] * (n + 1) for _ in range(k + 1)]
    cut = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = 0
    for g in range(1, k + 1):
        for i in range(1, n + 1):
            for j in range(g - 1, i):
                worst = max(best[g - 1][j], prefix[i] - prefix[j])
                if worst < best[g][i]:
                    best[g][i], cut[g][i] = worst, j
    groups, i = [], n
    for g in range(k, 0, -1):
        j = cut[g][i]
        groups.append(facts[j:i])
        i = j
    return groups[::-1]


def fmt_seconds(seconds: float | None) -> str:
    return "not measured" if seconds is None else f"{seconds:.0f} s"


def render(facts: list[dict], measured: dict) -> str:
    chapter_names = {f["number"]: f"{f['number']}" for f in facts}
    lines = [
        "# Syllabus",
        "",
        "For instructors and for anyone planning their own way through the course. Everything on",
        "this page is generated from the chapters by `tools/syllabus.py` (`make syllabus`): the",
        "objectives are the chapters' own, the exercises are counted from the notebooks, and the",
        "execution times are measured. Two things are judgement and are said so below: which chapters",
        "each one builds on, and the study-time estimate.",
        "",
        "## Getting the notebooks",
        "",
        "Each chapter comes in two editions, both generated from the same source:",
        "",
        "* the **instructor edition** (the website's own page, with its outputs and the solutions in",
        "  collapsed cells): the download button at the top of each chapter page, or the links below;",
        "* the **student edition** (`make student` writes it to `student/`): the same chapter without the",
        "  solutions and without outputs; each exercise keeps its self-check, which says \"not yet\" until",
        "  the answer is right. `make test` runs it: every self-check must say \"not yet\" on the stub",
        "  and \"correct\" with the solution put in its place.",
        "",
        "To run them: clone the repository and type `make lab` (it builds the environment from the lock",
        "file the first time), or, in any Python 3.11+ environment, `pip install -r requirements-lock.txt`",
        "and `pip install -e .` from the repository, then open a notebook in JupyterLab. Every chapter",
        "runs on a laptop CPU; set `EFFDNN_DEVICE=cuda` to use a GPU.",
        "",
        "## The chapters",
        "",
        f"Study time is an estimate: the prose read at {READING_WPM} words a minute, the chapter executed,",
        f"{MINUTES_PER_WIDGET} minutes to explore each widget and {MINUTES_PER_CLASS_EXERCISE} minutes for each",
        f"class exercise, rounded up to 5 minutes; homework adds {MINUTES_PER_HOMEWORK_EXERCISE} minutes per",
        "homework exercise. An exercise counts as **homework** when its answer is code (a function to",
        "write) or needs the chapter's own objects (a trained model, a data set), and as **class** when",
        "it is a short calculation; each has a self-check. An **open** exercise (a small experiment or a",
        "question to argue) has no self-check and no solution in either edition, and counts as homework.",
        "Execution times are seconds on "
        + (measured.get("machine") or "the course's reference machine")
        + (f", measured {measured['date']}" if measured.get("date") else "")
        + " (`make bench`).",
        "",
        "| chapter | builds on | executes in | study (class) | exercises: class / homework / open | homework |",
        "|---|---|---|---|---|---|",
    ]
    for f in facts:
        prereq = ", ".join(chapter_names.get(p, str(p)) for p in f["prerequisites"]) or "Python, NumPy, calculus"
        lines.append(
            f"| [{f['number']}. {f['title'].split('. ', 1)[-1]}](notebooks/{f['stem']}.ipynb) | {prereq} | {fmt_seconds(f['seconds'])} "
            f"| {f['study_min']} min | {f['exercises'].count('class')} / {f['exercises'].count('homework')} / {f['open']} | {f['homework_min']} min |"
        )
    lines += ["", "## A ten-week plan", "",
              "The chapters in order, split into weeks of as even a load (study plus homework) as the order allows.", ""]
    lines += ["| week | chapters | load |", "|---|---|---|"]
    for week, group in enumerate(weekly_plan(facts), start=1):
        names = ", ".join(str(f["number"]) for f in group)
        lines.append(f"| {week} | {names} | {sum(f['study_min'] + f['homework_min'] for f in group)} min |")
    lines += ["", "## Learning objectives and exercises, chapter by chapter", ""]
    for f in facts:
        lines += [f"### {f['title']}", ""]
        prereq = ", ".join(f"chapter {p}" for p in f["prerequisites"]) or "none"
        executes = "execution time not measured yet" if f["seconds"] is None else f"executes in {f['seconds']:.0f} s"
        lines += [f"Builds on: {prereq}; {executes}; study about {f['study_min']} minutes.", ""]
        lines += ["After this chapter a learner can:", ""]
        lines += [f"{i}. {o}" for i, o in enumerate(f["objectives"], start=1)]
        lines += ["", "Exercises: "
                  + ", ".join(f"{n} ({kind})" for n, kind in f["listed"]) + ".", ""]
        lines += [f"Downloads: {{download}}`instructor edition <notebooks/{f['stem']}.ipynb>`, "
                  f"{{download}}`student edition <{STUDENT_DIR}/{f['stem']}_student.ipynb>`.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if book/syllabus.md is out of date")
    args = parser.parse_args(argv)
    measured = json.loads(RUNTIME.read_text()) if RUNTIME.exists() else {}
    facts = [chapter_facts(src, measured.get("notebooks", {})) for src in chapters()]
    text = render(facts, measured)
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run `make syllabus` (python tools/syllabus.py)")
            return 1
        print(f"{PAGE.relative_to(ROOT)} is up to date ({len(facts)} chapters)")
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)} ({len(facts)} chapters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
