"""``effdnn_lib.notebook.printed_line``: a chapter quotes another chapter's committed output."""

from __future__ import annotations

import json

import pytest

from effdnn_lib.notebook import NOTEBOOKS_DIR, printed_line, printed_lines


def _notebook(tmp_path):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "result 0.99 in prose"},
        {"cell_type": "code", "metadata": {}, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["first line\n", "  accuracy 0.9287  \n"]},
            {"output_type": "execute_result", "data": {"text/plain": "value 42"}, "metadata": {}, "execution_count": 1},
        ], "source": ""},
        {"cell_type": "code", "metadata": {"tags": ["nbval-ignore-output"]}, "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "time 1.23 s\n"}], "source": ""},
    ]
    path = tmp_path / "99_test.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_reads_stream_and_results_and_skips_ignored_cells(tmp_path):
    path = _notebook(tmp_path)
    assert printed_lines(path) == ["first line", "  accuracy 0.9287  ", "value 42"]
    assert printed_line(path, "accuracy") == "accuracy 0.9287"
    assert printed_line(path, "value") == "value 42"
    with pytest.raises(LookupError, match="time"):
        printed_line(path, "time")  # only in an nbval-ignore-output cell
    with pytest.raises(LookupError):
        printed_line(path, "0.99")  # markdown is not output


def test_bad_arguments(tmp_path):
    path = _notebook(tmp_path)
    with pytest.raises(TypeError, match="contains"):
        printed_line(path, 3)
    with pytest.raises(ValueError, match="contains"):
        printed_line(path, "  ")
    with pytest.raises(TypeError, match="notebook"):
        printed_lines(5)
    with pytest.raises(ValueError, match="notebook"):
        printed_lines(tmp_path / "missing.ipynb")


def test_a_chapter_by_name():
    assert (NOTEBOOKS_DIR / "05_hyperparameters.ipynb").is_file()
    line = printed_line("05_hyperparameters", "suggested initial rate")
    assert line.startswith("lowest smoothed loss")
