"""The chat app's look: CSS, the theme, and the script that makes citation markers
in the chat clickable (it triggers the source panel's `cite` event)."""

from __future__ import annotations

from typing import Any

import gradio as gr

CSS = """
.app-header h1 { margin: 0 0 .25rem 0; font-size: 1.6rem; }
.app-header p { margin: 0; color: var(--body-text-color-subdued); max-width: 70rem; }
.answer .cite, .refusal .cite {
  font-size: .78em; vertical-align: super; text-decoration: none; margin-left: 1px;
  padding: 0 2px; border-radius: 3px; cursor: pointer; color: var(--color-accent);
}
.answer .cite:hover, .refusal .cite:hover { background: var(--color-accent-soft); }
.answer .unsupported { text-decoration: underline dotted #c77d00; text-underline-offset: 3px; }
.answer .warn { color: #c77d00; font-size: .75em; margin-left: 1px; }
.answer-meta { margin-top: .4rem; font-size: .78em; color: var(--body-text-color-subdued); }
.answer-error { color: #b3261e; }
.refusal {
  border-left: 4px solid #8a8f98; padding: .3rem .6rem; font-style: italic;
  background: rgba(138,143,152,.10); border-radius: 4px;
}
.refusal .closest { font-style: normal; margin-top: .4rem; font-size: .9em; }
.refusal .closest ul { margin: .2rem 0 0 1rem; }
.refusal-icon { font-style: normal; color: #8a8f98; }
.source-empty { color: var(--body-text-color-subdued); padding: 1rem; font-size: .95em; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .8rem 1rem; background: var(--background-fill-secondary); }
.source-heading { font-weight: 600; margin-bottom: .2rem; }
.source-meta { font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .6rem; }
.source-meta .doc { font-weight: 600; }
.source-text { line-height: 1.55; white-space: normal; }
.source-text mark { background: #ffe58a; color: #222; padding: 0 1px; border-radius: 2px; }
.verdict { display: inline-block; margin-top: .6rem; font-size: .85em; }
.verdict.ok { color: #1e7b34; }
.verdict.warn { color: #c77d00; }
.verdict.quote { color: #44546a; }
.relevance { display: inline-block; margin: .6rem 0 0 .8rem; font-size: .85em; cursor: help;
  border-bottom: 1px dotted currentColor; }
.relevance.answers { color: #1e7b34; }
.relevance.partial { color: #c77d00; }
.relevance.unrelated { color: #b42318; }
.briefing h2 { margin-top: .5rem; }
.briefing .bmark { color: var(--color-accent); font-size: .75em; margin-left: 1px; }
.briefing-sources { list-style: none; padding-left: 0; }
.briefing-sources li { margin-bottom: .6rem; }
.briefing-sources blockquote { margin: .2rem 0 0 0; padding-left: .7rem;
  border-left: 3px solid var(--border-color-primary); color: var(--body-text-color-subdued); }
.example-row button { font-size: .85em !important; }
.examples-label p { margin: .2rem 0 0 0; font-size: .85em; color: var(--body-text-color-subdued); }
"""

CITE_BRIDGE_JS = """
window.__ragCiteTrigger = trigger;
if (!window.__ragCiteListener) {
  window.__ragCiteListener = true;
  document.addEventListener('click', function (event) {
    const link = event.target.closest && event.target.closest('a.cite, [data-cite]');
    if (!link) return;
    let ref = link.getAttribute('data-cite');
    const href = link.getAttribute('href') || '';
    if (!ref && href.startsWith('#cite-')) ref = href.slice(6).replace('-', ':');
    if (!ref) return;
    event.preventDefault();
    event.stopPropagation();
    window.__ragCiteTrigger('cite', {ref: ref});
  }, true);
}
"""


def launch_options() -> dict[str, Any]:
    """Blocks-level look passed to `launch` (Gradio 6 takes theme and CSS there)."""
    font = ["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    theme = gr.themes.Soft(primary_hue="blue", neutral_hue="slate", font=font, font_mono=mono)
    return {"theme": theme, "css": CSS}
