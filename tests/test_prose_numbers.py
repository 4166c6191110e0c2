"""Every number the prose of a chapter quotes is one its notebook prints, or a constant of its code.

The committed outputs change when an experiment changes; prose written against old outputs goes
stale silently ("about 0.7 ms ... 1.8 times faster" above a cell that prints 466 us and 1.73x).
This test reads each committed notebook and checks every number in its markdown against

* the numbers in the text outputs of its code cells (what it prints), and
* the numbers in its code (constants: learning rates, seeds, sizes),

where a prose number matches a printed one if it is that number rounded to the digits the prose
gives (``0.38`` quotes a printed ``0.3808``; ``5 \\times 10^{-4}`` quotes ``5.0e-04``; ``96%``
quotes ``0.96``). Not checked: integers up to 12 (counts, ordinals, chapter numbers), years,
citation keys, link targets, and the few numbers listed in ``FROM_ELSEWHERE`` below, each with
the source it comes from (a paper's published result, a property of a data set).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Numbers a chapter may quote without printing them, with where they come from. Keep it short:
#: a number that an output could print should be printed instead.
FROM_ELSEWHERE: dict[str, dict[str, str]] = {
    "*": {
        "10^{-16}": "float64's rounding unit, 2**-53 = 1.1e-16 (IEEE 754)",
        "10^{-7}": "float32's rounding unit, 2**-24 = 6e-8 (IEEE 754)",
        "1,797": "the number of images in scikit-learn's digits data set (its documentation)",
        "85": "the name of the Mackey-Glass t+85 prediction task (Platt 1991)",
    },
    "00_why_training_is_expensive": {
        "2.11": "the PyTorch version of the H200 run (README, 'The GPU toggle')",
        "13": "the number of the last chapter in the course plan (shared COURSE.md), in the course map's table",
        **dict.fromkeys(["5.05", "1.16", "1.15"], "printed by this cell on the NVIDIA H200 when chapter 0 ran as a "
                        "script with EFFDNN_DEVICE=cuda (an earlier session's closing note); CI has no GPU"),
    },
    "01_gradient_descent": {
        "2.3026": "log 10, the loss of a uniform prediction over ten classes (closed form)",
        "2.30": "log 10, the loss of a uniform prediction over ten classes (closed form)",
        "1.02": "|1 - eta L| at eta = 1.01 * 2 / L (closed form)",
    },
    "03_adaptive_learning_rates": {
        "4.5 \\times 10^{-6}": "0.1 / sqrt(500 * 100 + 1000 * 0.01), the closed form in the same sentence",
        "10^4": "100 / 0.01, the ratio of the two squared gradients (closed form)",
        "900": "ln(10^4) / 0.01 = 921 (closed form)",
        "0.271": "1 - 0.9**3, the closed form of an average of a constant gradient",
    },
    "04_adam": {
        "400": "the number of parametrised cases in tests/test_optim_adam.py",
        "1.11": "beta2 / beta1 = 0.999 / 0.9 (closed form)",
        "0.002": "AdaMax's default step size in Kingma & Ba's Algorithm 2",
        "1,348": "load_digits() training split: 1,797 - 449 (closed form)",
        "449": "load_digits() test split: round(0.25 * 1,797) (closed form)",
        "110": "10 epochs of ceil(1,348 / 128) = 11 mini-batches (closed form)",
        "0.15": "the self-check's tolerance (effdnn_lib.exercises.ch04)",
    },
    "10_deep_cascade_learning": {
        "256": "the authors' output block, FC512-FC256 (CascadeTraining in utils.py of github.com/EnriqueSMarquez/CascadeLearning)",
        "250": "the fine-tuning epochs in VGG_cascade_pretraining.py of github.com/EnriqueSMarquez/CascadeLearning",
    },
    "07_pretraining_and_autodiff": {"25": "the largest expression size in tests/test_autodiff.py"},
    "08_resource_allocating_network": {
        "170": "tau / h = 17 / 0.1 (closed form)",
        "0.977": "exp(-1/43) (closed form), Kadirkamanathan & Niranjan's decay factor",
    },
    "09_ran_ekf": {
        "10^{-4}": "R / p0 = 1 / 10^4 (closed form)",
        "256": "the MLP baseline's mini-batch size (effdnn_lib.rbf.MLPRegressor)",
        "600": "776**2 = 602,176, written 600{,}000 in LaTeX (closed form)",
    },
}

# 5 \times 10^{-4}, 10^{-7}, 1.5e-3, 1,048,576, -0.25, 3.14
_SCI_LATEX = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*\\(?:times|cdot)\s*10\^\{?\s*([-−]?\d+)\s*\}?")
_POW10_LATEX = re.compile(r"(?<![\w.^])10\^\{?\s*([-−]?\d+)\s*\}?")
_NUMBER = re.compile(r"(?<![\w.^_])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:[eE]([-+]?\d+))?(\s?%|\s?per cent)?(?![\w])")

# in outputs and code a number may touch letters: 1.73x, 466us, lr=0.1, 1e-3
_PRINTED = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:[eE]([-+]?\d+))?(%)?")

_STRIP = [
    re.compile(r"\{cite(?::\w+)?\}`[^`]*`"),  # citation keys
    re.compile(r"\{(?:numref|ref|doc|eq)\}`[^`]*`"),
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"<[^>]+>"),  # html tags
    re.compile(r"\b\d+(?:-\d+){2,}\b"),  # layer widths such as 4-32-32-1
    re.compile(r"_\{[^}]*\}|_\d"),  # subscripts: beta_2, W_{l}
    re.compile(r"\^\{?[\\,\s]*[a-zA-Z]"),  # powers by a symbol: beta_2^t
    re.compile(r"\b(?:chapter|chapters|section|sections|Chapter|Section|Figure|figure|Table|table|Algorithm|eq\.|equation|line|lines|ref\.|reference|references|page|pp\.)\s+[\dIVX][\w.\-–]*(?:\s*(?:,|and|to|-|–)\s*[\dIVX][\w.\-]*)*"),
]


def _number(m: re.Match) -> tuple[float, float]:
    """(value, half a unit of its last digit) of a match of ``_NUMBER`` or ``_PRINTED``; a percent is a fraction."""
    whole, frac, exp, percent = m.group(1), m.group(2) or "", m.group(3), m.group(4)
    value = float(whole.replace(",", "") + frac)
    half = 0.5 * 10.0 ** -(len(frac) - 1 if frac else 0)
    if exp is not None:
        value, half = value * 10.0 ** int(exp), half * 10.0 ** int(exp)
    if percent:
        value, half = value / 100, half / 100
    return value, half


def prose_numbers(markdown: str) -> list[tuple[str, float, float]]:
    """Numbers quoted in ``markdown``: (as written, value, half a unit of its last digit)."""
    text = markdown
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    found: list[tuple[str, float, float]] = []

    def sci(m: re.Match) -> str:
        mantissa, exp = m.group(1), int(m.group(2).replace("−", "-"))
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        found.append((m.group(0), float(mantissa) * 10.0**exp, 0.5 * 10.0 ** (exp - decimals)))
        return " "

    def pow10(m: re.Match) -> str:
        exp = int(m.group(1).replace("−", "-"))
        found.append((m.group(0), 10.0**exp, 0.0))
        return " "

    text = _SCI_LATEX.sub(sci, text)
    text = _POW10_LATEX.sub(pow10, text)
    for m in _NUMBER.finditer(text):
        value, half = _number(m)
        if not (m.group(2) or m.group(3) or m.group(4)) and (value <= 12 or 1900 <= value <= 2030):
            continue  # small counts and ordinals; years
        found.append((m.group(0), value, half))
    return found


def printed_numbers(text: str) -> list[float]:
    values = []
    for m in _PRINTED.finditer(text):
        value, _ = _number(m)
        values.append(value)
        if m.group(4):  # a printed 96% also stands for 96
            values.append(value * 100)
    for m in re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?)\s*[*x×]\s*10\s*\*\*\s*\(?([-−]?\d+)", text):
        values.append(float(m.group(1)) * 10.0 ** int(m.group(2)))
    for m in re.finditer(r"(?<![\w.])10\s*\*\*\s*\(?([-−]?\d+)", text):
        values.append(10.0 ** int(m.group(1)))
    # a printed minus sign is a number's too: prose may quote a difference without it
    return values + [-v for v in values]


def quotes(value: float, half: float, printed: list[float]) -> bool:
    tol = half * (1 + 1e-9) + 1e-15 * abs(value)
    return any(abs(q - value) <= tol for q in printed) or any(
        math.isclose(q, value, rel_tol=1e-9) for q in printed
    )


def notebook_texts(nb: dict) -> tuple[str, str]:
    markdown, outputs, code = [], [], []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            markdown.append(source)
        elif cell["cell_type"] == "code":
            code.append(source)
            for out in cell.get("outputs", []):
                if "text" in out:
                    outputs.append("".join(out["text"]))
                for kind in ("text/plain", "text/markdown", "text/html"):
                    if kind in out.get("data", {}):
                        outputs.append("".join(out["data"][kind]))
    return "\n".join(markdown), "\n".join(outputs + code)


def unquoted(nb_path: Path) -> list[str]:
    markdown, printed_text = notebook_texts(json.loads(nb_path.read_text()))
    printed = printed_numbers(printed_text)
    allowed = FROM_ELSEWHERE.get(nb_path.stem, {})
    missing = []
    for written, value, half in prose_numbers(markdown):
        if written.strip() in allowed or written.strip() in FROM_ELSEWHERE["*"] or quotes(value, half, printed):
            continue
        missing.append(written.strip())
    return missing


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_number_in_the_prose_is_printed_or_a_constant(nb_path):
    missing = unquoted(nb_path)
    assert not missing, (
        f"{nb_path.name}: the prose quotes numbers that no output prints and no code contains: {missing}. "
        f"Print them, quote what is printed, or (for a number from a paper or a data set's documentation) "
        f"add it to FROM_ELSEWHERE with its source."
    )


# ---- the checker itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "prose, printed, ok",
    [
        ("the loss falls to 0.38", "loss 0.3808", True),
        ("the loss falls to 0.3808", "loss 0.3808", True),
        ("the loss falls to 0.381", "loss 0.3808", True),
        ("the loss falls to 0.39", "loss 0.3808", False),
        ("about 0.7 ms", "466 us and 454 us", False),
        ("1.8 times faster", "1.73x", False),
        ("1.7 times faster", "1.73x", True),
        ("a relative difference of $5 \\times 10^{-4}$", "5.0e-04", True),
        ("a relative difference of $6 \\times 10^{-4}$", "5.0e-04", False),
        ("and 96% for tiny gradients", "9.6e-01", True),
        ("and 97% for tiny gradients", "9.6e-01", False),
        ("1,797 scanned digits", "n = 1797", True),
        ("1,797 scanned digits", "n = 1,347", False),
        ("in 2014 Kingma and Ba", "", True),
        ("chapter 6 and section 14", "", True),
        ("{cite}`kingma2015adam` 12345", "", False),
        ("{cite}`kingma2015adam`", "", True),
        ("a gap of 1.22 points", "-1.22 points", True),
        ("weights below $10^{-12}$", "below 1e-12: True", True),
        ("$\\beta_2 = 0.999$", "beta2=0.999", True),
    ],
)
def test_the_checker_catches_stale_numbers(prose, printed, ok):
    missing = [w for w, v, h in prose_numbers(prose) if not quotes(v, h, printed_numbers(printed))]
    assert (not missing) == ok, missing
