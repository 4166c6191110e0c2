"""A small Sphinx extension that keeps the course website working offline and error-free.

1. Some Jupyter Book 1.x extensions (sphinx-thebe, sphinx-togglebutton) register their inline
   scripts twice; the second ``const THEBE_JS_URL`` then throws a JavaScript error on every page.
   Duplicate scripts are dropped, keeping the first of each.
2. The widget renderer (``@jupyter-widgets/html-manager``) asks MathJax 2's ``MathJax.Hub.Queue``
   to typeset widget labels, but the site serves MathJax 3 (offline, from ``_static``). A
   two-line adapter maps that call onto MathJax 3's ``typesetPromise``.
3. The widget renderer draws a slider's handle as a ``div`` with ``role="slider"`` but no
   accessible name (its description is a separate label), so a screen reader announces "slider"
   and nothing else (axe-core's serious ``aria-input-field-name``). A small script names every
   handle after its slider's description as the widgets render.
4. Docutils marks the bibliography's ``citation-list`` as ``role="list"`` although its entries
   are ``role="doc-biblioentry"``, not list items: an ARIA list without items (axe-core's
   critical ``aria-required-children``). The role is dropped; the entries keep theirs.
"""

from __future__ import annotations

MATHJAX2_ADAPTER = """\
window.MathJax = window.MathJax || {};
window.MathJax.Hub = {Queue: function () {}};  /* before MathJax 3 starts, its first pass typesets all */
window.MathJax.startup = Object.assign({}, window.MathJax.startup, {ready: function () {
  MathJax.startup.defaultReady();
  MathJax.Hub = {Queue: function (job) { return MathJax.typesetPromise([job[2]]); }};
}});"""


SLIDER_NAMES = """\
(function () {
  function name(root) {
    root.querySelectorAll('.noUi-handle[role=slider]:not([aria-label])').forEach(function (handle) {
      var slider = handle.closest('.widget-slider, .widget-hslider, .widget-vslider');
      var label = slider && slider.querySelector('.widget-label');
      var text = label && label.textContent.trim();
      if (text) handle.setAttribute('aria-label', text);
    });
  }
  new MutationObserver(function () { name(document); }).observe(document.documentElement, {childList: true, subtree: true});
})();"""


def _script_key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""  # None and "" both mean an inline script
    attributes = getattr(script, "attributes", {})
    return (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items() if k != "priority")))


def _page_context(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique
    if "body" in context:
        context["body"] = context["body"].replace('<div role="list" class="citation-list">', '<div class="citation-list">')


def _add_adapter(app, pagename, templatename, context, doctree):
    # Runs after sphinx.ext.mathjax has added its configuration (only on pages with maths).
    if any("window.MathJax =" in str(getattr(s, "attributes", {}).get("body", "")) for s in app.builder._js_files):
        app.builder.add_js_file("", body=MATHJAX2_ADAPTER)


def setup(app):
    app.add_js_file(None, body=SLIDER_NAMES)
    app.connect("html-page-context", _add_adapter, priority=600)
    app.connect("html-page-context", _page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
