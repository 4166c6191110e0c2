"""The widgets respond on the static website: no kernel, no network.

Each chapter's widget cell calls ``effdnn_lib.widgets.explorer``, whose committed output holds a
view precomputed for every combination of its controls' values, linked to the controls in the
browser. On every chapter page, this test moves each control of each explorer (the keyboard on a
slider's handle, a click on a button) and asserts that the one view shown is the one precomputed
for the values the controls now show, that it changed, that its figure loaded and has alt text;
and that the page logged no error and asked no outside host for anything.
"""

from __future__ import annotations

import pytest

from test_site import CHAPTERS, open_page

#: What the controls of one explorer show now, and the key of the view it shows.
STATE_JS = """(explorer) => {
  const controls = [...explorer.children].filter(c => c.matches('.widget-hslider, .widget-toggle-buttons'));
  const shown = controls.map(c => {
    const label = c.querySelector('.widget-label').textContent.trim();
    const value = c.matches('.widget-toggle-buttons')
      ? c.querySelector('.widget-toggle-button.mod-active').textContent.trim()
      : c.querySelector('.widget-readout').textContent.trim();
    return `${label} = ${value}`;
  });
  const views = [...explorer.querySelectorAll('.effdnn-view')];
  return {controls: shown.join(' | '), n_views: views.length,
          view: views.length ? views[0].dataset.view : null,
          alt: views.length ? views[0].querySelector('img').alt : null,
          loaded: views.length ? views[0].querySelector('img').naturalWidth > 0 : false};
}"""


def explorers(page):
    page.wait_for_selector(".effdnn-explorer .effdnn-view", timeout=30_000)
    return page.locator(".effdnn-explorer")


def state(explorer) -> dict:
    return explorer.evaluate(STATE_JS)


def settle(explorer, before: str):
    """Wait until the view shown is the one the controls now name, and not the one before."""
    explorer.page.wait_for_function(
        f"([e, before]) => {{ const s = ({STATE_JS})(e); return s.view === s.controls && s.view !== before && s.loaded; }}",
        arg=[explorer.element_handle(), before], timeout=10_000,
    )


def move_each_control(explorer) -> list[str]:
    """Move every control once; returns the view keys seen. Asserts after each move."""
    seen = [state(explorer)["view"]]
    sliders = explorer.locator(":scope > .widget-hslider")
    for i in range(sliders.count()):
        handle = sliders.nth(i).locator(".noUi-handle")
        before = state(explorer)["view"]
        at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        handle.press("ArrowLeft" if at_end else "ArrowRight")
        settle(explorer, before)
        seen.append(state(explorer)["view"])
    buttons = explorer.locator(":scope > .widget-toggle-buttons")
    for i in range(buttons.count()):
        group = buttons.nth(i)
        before = state(explorer)["view"]
        group.locator(".widget-toggle-button:not(.mod-active)").first.click()
        settle(explorer, before)
        seen.append(state(explorer)["view"])
    return seen


@pytest.mark.parametrize("docname", CHAPTERS)
def test_every_control_switches_to_its_precomputed_view(browser, site_url, docname):
    page, outside, errors = open_page(browser, site_url, docname)
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    found = explorers(page)
    assert found.count() >= 1, f"{docname}: no explorer widget (effdnn_lib.widgets.explorer) on the page"
    for k in range(found.count()):
        explorer = found.nth(k)
        explorer.scroll_into_view_if_needed()
        start = state(explorer)
        assert start["n_views"] == 1, f"{docname}: explorer {k} shows {start['n_views']} views at once"
        assert start["view"] == start["controls"], f"{docname}: explorer {k} starts on {start['view']!r}, controls say {start['controls']!r}"
        assert start["alt"] and not start["alt"].startswith("<Figure"), f"{docname}: explorer {k}'s view has no alt text"
        seen = move_each_control(explorer)
        assert len(set(seen)) == len(seen), f"{docname}: explorer {k} showed a view twice: {seen}"
        assert state(explorer)["alt"] != start["alt"], f"{docname}: explorer {k}'s alt text does not follow the view"
    assert not outside, f"{docname} asked outside hosts for: {outside}"
    assert not errors and not console, f"{docname}: errors in the browser: {errors + console}"
    page.close()
