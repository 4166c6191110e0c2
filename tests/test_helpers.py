"""Small shared pieces: hardware timing, seeding, style, progress bars, data, self-checks, tools."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib as mpl
import nbformat
import numpy as np
import pytest
import torch

from effdnn_lib import hardware, notebook, plotting, progress
from effdnn_lib.data import load_digits, relabel
from effdnn_lib.exercises import ch00, check_close

ROOT = Path(__file__).resolve().parents[1]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_matmul_flops_closed_form():
    assert hardware.matmul_flops(1) == 2
    assert hardware.matmul_flops(1000) == 2_000_000_000


def test_time_matmul_positive_and_throughput_keys():
    assert hardware.time_matmul(8, repeats=2) > 0
    assert set(hardware.matmul_throughput([4, 8], repeats=1)) == {4, 8}
    with pytest.raises(ValueError, match="n must be (a positive int|an int >= 1)"):
        hardware.time_matmul(0)
    with pytest.raises(ValueError, match="repeats must be (a positive int|an int >= 1)"):
        hardware.time_matmul(4, repeats=0)


def test_seed_everything_is_reproducible():
    notebook.seed_everything(3)
    a = (np.random.rand(), torch.rand(1).item())
    notebook.seed_everything(3)
    assert a == (np.random.rand(), torch.rand(1).item())
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        notebook.seed_everything(-1)


def test_setup_applies_style_and_threads():
    before = torch.get_num_threads()
    try:
        notebook.setup(seed=0, threads=1)
        assert torch.get_num_threads() == 1
        assert mpl.rcParams["figure.dpi"] == plotting.STYLE["figure.dpi"]
        assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == plotting.PALETTE["blue"]
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads must be a positive int"):
        notebook.setup(threads=0)


def test_palette_is_okabe_ito():
    assert len(set(plotting.CYCLE)) == 8
    assert plotting.PALETTE["vermillion"] == "#D55E00"


def test_show_source_shows_the_code():
    code = notebook.show_source(hardware.matmul_flops)
    assert "def matmul_flops" in code.data


@pytest.mark.parametrize("value,enabled", [("0", False), ("off", False), ("1", True), (None, True)])
def test_progress_can_be_switched_off(monkeypatch, value, enabled):
    if value is None:
        monkeypatch.delenv(progress.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(progress.ENV_VAR, value)
    assert progress.progress_enabled() is enabled
    bar = progress.progress(range(3), desc="test")
    assert bar.disable is (not enabled)
    assert list(bar) == [0, 1, 2]


def test_load_digits_splits_and_standardizes():
    d = load_digits(test_fraction=0.2, val_fraction=0.1, seed=1)
    assert len(d["train"]) + len(d["val"]) + len(d["test"]) == 1797
    assert len(d["test"]) == 359 and len(d["val"]) == 180
    mean = d["train"].x.mean(0)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-5)
    images = load_digits(images=True)["train"].x
    assert images.shape[1:] == (1, 8, 8)
    a, b = load_digits(seed=5)["train"].y, load_digits(seed=5)["train"].y
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.5)
    with pytest.raises(ValueError, match="val_fraction"):
        load_digits(test_fraction=0.5, val_fraction=0.6)


def test_self_checks(capsys):
    assert check_close("x", 1.0, 1.0) and not check_close("x", "abc", 1.0)
    w = [784, 512, 256, 10]
    assert not ch00.adam_state_bytes(None, w)
    assert ch00.adam_state_bytes((2 * 535_818 + 6) * 4, w)
    assert not ch00.adam_state_bytes(2 * 535_818 * 4, w)
    assert ch00.linear_step_flops(3 * 2 * 4 * 5 * 6, 4, 5, 6)
    out = capsys.readouterr().out
    assert "correct" in out and "not yet" in out


def test_coalesce_streams_merges_consecutive_chunks():
    tool = load_tool("execute_notebooks")
    outs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
        nbformat.v4.new_output("stream", name="stderr", text="w\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "1"}),
        nbformat.v4.new_output("stream", name="stdout", text="c\n"),
    ]
    merged = tool.coalesce_streams(outs)
    assert [o.output_type for o in merged] == ["stream", "stream", "execute_result", "stream"]
    assert merged[0].text == "a\nb\n"


def test_check_sync_detects_an_edited_source(tmp_path):
    tool = load_tool("check_sync")
    src = tmp_path / "01_demo.py"
    src.write_text(
        "# ---\n# jupyter:\n#   jupytext:\n#     formats: ipynb,py:percent\n#   kernelspec:\n"
        "#     display_name: Python 3\n#     language: python\n#     name: python3\n# ---\n\n# %%\nprint(1)\n\n"
        '# %% jupyter={"source_hidden": true} tags=["hide-cell"]\nprint(3)\n'
    )
    import jupytext

    nb = jupytext.read(src)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nbformat.write(nb, src.with_suffix(".ipynb"))
    src.write_text(jupytext.writes(nb, fmt="py:percent"))  # jupytext's own header
    assert tool.check(src) is None
    canonical = src.read_text()
    # the same cells with a cell's metadata keys in another order: in sync, but JupyterLab's
    # jupytext would refuse to open the notebook (it compares the two texts)
    src.write_text(canonical.replace('jupyter={"source_hidden": true} tags=["hide-cell"]', 'tags=["hide-cell"] jupyter={"source_hidden": true}'))
    assert "jupytext's own form" in tool.check(src)
    src.write_text(canonical.replace("print(1)", "print(2)"))
    assert "out of sync" in tool.check(src)
    src.with_suffix(".ipynb").unlink()
    assert "missing" in tool.check(src)


def test_relabel_changes_a_fraction_of_the_labels_reproducibly():
    y = torch.arange(10).repeat(200)
    noisy = relabel(y, 0.3, seed=1)
    assert torch.equal(noisy, relabel(y, 0.3, seed=1)) and torch.equal(y, torch.arange(10).repeat(200))
    wrong = (noisy != y).float().mean().item()
    assert 0.22 < wrong < 0.32  # 30% redrawn, a tenth of those by chance to the right class
    assert torch.equal(relabel(y, 0.0, seed=1), y)
    with pytest.raises(ValueError, match="fraction"):
        relabel(y, 1.5, seed=1)
