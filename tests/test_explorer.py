"""effdnn_lib.widgets.explorer: live in a kernel, precomputed and linked in the browser for the website.

The browser side (moving the controls on the built website) is tests/site/test_widgets.py; here
the widget tree is checked directly: one view per combination, each control's index linked to
the stacks of its level, views keyed and alt-texted by their setting, bad input refused.
"""

from __future__ import annotations

import base64
import html
import io
import re

import ipywidgets as widgets
import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from ipywidgets.widgets.widget import _instances as widget_instances  # noqa: E402

from effdnn_lib.widgets import MAX_VIEWS, Choice, explorer, figure_png, widget_mode  # noqa: E402


def draw(a=1, b="x", flag=False):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, a])
    ax.set_title(f"{a} {b} {flag}")
    print(f"a={a} b={b} flag={flag}")
    return fig


CHOICES = dict(a=Choice([1, 2, 3], 2, "a"), b=Choice(["x", "y"], "x", "letter"), flag=Choice([False, True], True, "flag"))


def views_of(root) -> list[widgets.HTML]:
    out = []

    def walk(w):
        if isinstance(w, widgets.HTML) and "effdnn-view" in w.value:
            out.append(w)
        for child in getattr(w, "children", ()):
            walk(child)

    walk(root)
    return out


def links_of(root) -> list[widgets.widget_link.DirectionalLink]:
    ids = set()

    def walk(w):
        ids.add(w.model_id)
        for child in getattr(w, "children", ()):
            walk(child)

    walk(root)
    return [w for w in widget_instances.values()
            if isinstance(w, widgets.widget_link.DirectionalLink) and w.target[0].model_id in ids]


def attribute(view: widgets.HTML, name: str) -> str:
    return html.unescape(re.search(rf'{name}="([^"]*)"', view.value).group(1))


@pytest.fixture
def precomputed():
    root = explorer(draw, alt="line to {a}, letter {b}, flag {flag}", mode="precomputed", **CHOICES)
    yield root
    root.close_all()


def test_one_view_per_combination_named_by_its_setting(precomputed):
    views = views_of(precomputed)
    assert len(views) == 3 * 2 * 2
    keys = [attribute(v, "data-view") for v in views]
    assert keys[0] == "a = 1 | letter = x | flag = off"
    assert len(set(keys)) == len(keys)
    alts = {attribute(v, "alt") for v in views}
    assert len(alts) == 12 and "line to 3, letter y, flag on" in alts


def test_each_view_holds_its_own_figure_and_printed_text(precomputed):
    view = next(v for v in views_of(precomputed) if attribute(v, "data-view") == "a = 3 | letter = y | flag = on")
    assert "a=3 b=y flag=True" in view.value
    png = base64.b64decode(re.search(r"base64,([^\"]+)", view.value).group(1))
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P" and image.size[0] > 50  # a palette PNG, opaque


def test_controls_start_on_the_default_and_are_linked_to_every_stack_of_their_level(precomputed):
    controls = [c for c in precomputed.children if isinstance(c, (widgets.SelectionSlider, widgets.ToggleButtons))]
    assert [c.description for c in controls] == ["a", "letter", "flag"]
    assert [c.index for c in controls] == [1, 0, 1]
    assert isinstance(controls[0], widgets.SelectionSlider) and isinstance(controls[2], widgets.ToggleButtons)
    links = links_of(precomputed)
    by_source = {}
    for link in links:
        assert link.source[1] == "index" and link.target[1] == "selected_index"
        by_source.setdefault(link.source[0].model_id, []).append(link.target[0])
    assert [len(by_source[c.model_id]) for c in controls] == [1, 3, 6]  # one stack, then one per earlier choice
    for control in controls:
        for stack in by_source[control.model_id]:
            assert stack.selected_index == control.index


def test_following_the_links_in_python_reaches_the_view_of_the_setting(precomputed):
    """What the browser does with jsdlink, done by hand: set each stack's index from its control."""
    controls = [c for c in precomputed.children if isinstance(c, (widgets.SelectionSlider, widgets.ToggleButtons))]
    controls[0].index, controls[1].index, controls[2].index = 2, 1, 0
    node = precomputed.children[-1]
    for control in controls:
        node = node.children[control.index]
    assert attribute(node, "data-view") == "a = 3 | letter = y | flag = off"


def test_a_single_value_is_fixed_without_a_control():
    root = explorer(draw, alt=lambda a, b, flag: f"{a}{b}{flag}", mode="precomputed",
                    a=Choice([5], 5, "a"), b=Choice(["x", "y"], "y", "b"), flag=Choice([True], True, "flag"))
    assert len(views_of(root)) == 2
    assert [c.description for c in root.children[1:-1]] == ["b"]
    assert {attribute(v, "alt") for v in views_of(root)} == {"5xTrue", "5yTrue"}
    root.close_all()


def test_live_mode_is_an_interactive_with_the_kernel_controls():
    slider = widgets.FloatSlider(value=2.0, min=0, max=5)
    live = explorer(draw, alt="{a}", mode="live", a=Choice([1, 2, 3], 2, "a", live=slider), b=Choice(["x", "y"], "x", "b"))
    assert isinstance(live, widgets.interactive)
    assert live.children[0] is slider
    assert isinstance(live.children[1], widgets.ToggleButtons) and live.children[1].value == "x"
    live.close_all()


def test_live_controls_are_left_out_of_the_precomputed_state():
    slider = widgets.FloatSlider(value=2.0)
    root = explorer(draw, alt="{a}", mode="precomputed", a=Choice([1, 2], 2, "a", live=slider))
    assert slider.comm is None  # closed: it is not saved with the notebook
    root.close_all()


def test_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("EFFDNN_WIDGETS", raising=False)
    assert widget_mode() == "live"
    monkeypatch.setenv("EFFDNN_WIDGETS", "precomputed")
    assert widget_mode() == "precomputed"
    monkeypatch.setenv("EFFDNN_WIDGETS", "static")
    with pytest.raises(ValueError, match="EFFDNN_WIDGETS must be one of live, precomputed"):
        widget_mode()


def test_figure_png_is_small_opaque_and_closes_the_figure():
    fig = draw()
    png = figure_png(fig)
    assert not plt.fignum_exists(fig.number)
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    assert image.getextrema()[3] == (255, 255)  # no transparent pixel: readable on a dark page
    assert image.getpixel((0, 0))[:3] == (255, 255, 255)


def test_the_course_colours_survive_the_palette():
    """Eight lines, one in each Okabe-Ito colour, keep their own colour in the view's palette."""
    import numpy as np

    from effdnn_lib.plotting import PALETTE, use_style

    use_style()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for i, colour in enumerate(PALETTE.values()):
        ax.plot(np.linspace(0, 1, 50), np.sin(np.linspace(0, 6, 50) + i), color=colour, lw=4)
    image = Image.open(io.BytesIO(figure_png(fig)))
    palette = np.array(image.getpalette()).reshape(-1, 3)
    for name, colour in PALETTE.items():
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert np.abs(palette - rgb).sum(axis=1).min() == 0, f"{name} {colour} lost in the palette"
    pixels = np.array(image.convert("RGB"), dtype=int).reshape(-1, 3)
    blue = np.array([0, 114, 178])
    assert (np.abs(pixels - blue).sum(axis=1) == 0).sum() > 20  # the blue line is drawn in blue


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(values=[], value=1, description="a"), ValueError, "values must hold at least one setting"),
    (dict(values="abc", value="a", description="a"), TypeError, "values must be a sequence"),
    (dict(values=[1, 2], value=3, description="a"), ValueError, "value 3 is not one of values"),
    (dict(values=[1, 2], value=1, description=""), ValueError, "description must be a non-empty string"),
    (dict(values=[1, 2], value=1, description="a", labels=["one"]), ValueError, "labels must name each of the 2 values"),
    (dict(values=[1, 2], value=1, description="a", live=3), TypeError, "live must be an ipywidgets control"),
])
def test_bad_choices_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        Choice(**kwargs)


def test_bad_explorer_calls_are_refused():
    with pytest.raises(TypeError, match="draw must be callable"):
        explorer(3, alt="x", a=Choice([1, 2], 1, "a"))
    with pytest.raises(TypeError, match="alt must be a format string"):
        explorer(draw, alt=3, a=Choice([1, 2], 1, "a"))
    with pytest.raises(ValueError, match="at least one Choice"):
        explorer(draw, alt="x")
    with pytest.raises(TypeError, match="a must be a Choice"):
        explorer(draw, alt="x", a=[1, 2])
    with pytest.raises(ValueError, match="mode must be one of live, precomputed"):
        explorer(draw, alt="x", mode="static", a=Choice([1, 2], 1, "a"))
    with pytest.raises(ValueError, match="needs a Choice with at least two values"):
        explorer(draw, alt="x", mode="precomputed", a=Choice([1], 1, "a"))


def test_too_many_views_are_refused_before_drawing_any():
    calls = []

    def counting_draw(**kwargs):
        calls.append(kwargs)
        return draw()

    big = dict(a=Choice(list(range(7)), 0, "a"), b=Choice(list(range(7)), 0, "b"))
    assert 49 > MAX_VIEWS
    with pytest.raises(ValueError, match=r"7 x 7 = 49 views exceed the 48"):
        explorer(counting_draw, alt="x", mode="precomputed", **big)
    assert calls == []


def test_draw_must_return_a_figure():
    with pytest.raises(TypeError, match="draw must return a matplotlib figure, got NoneType for a = 1"):
        explorer(lambda a: None, alt="x", mode="precomputed", a=Choice([1, 2], 1, "a"))
