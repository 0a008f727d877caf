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
.answer .unsupported { text-decoration: underline dotted var(--rag-warn);
  text-underline-offset: 3px; }
.answer .warn { color: var(--rag-warn); font-size: .75em; margin-left: 1px; }
.answer-meta { margin-top: .4rem; font-size: .78em; color: var(--body-text-color-subdued); }
.answer-error { color: var(--rag-bad); }
.refusal {
  border-left: 4px solid var(--rag-grey); padding: .3rem .6rem; font-style: italic;
  background: rgba(138,143,152,.10); border-radius: 4px;
}
.refusal .closest { font-style: normal; margin-top: .4rem; font-size: .9em; }
.refusal .closest ul { margin: .2rem 0 0 1rem; }
.refusal .closest .excerpt { font-style: normal; color: var(--body-text-color);
  margin: .15rem 0 .35rem 0; }
.refusal-icon { font-style: normal; color: var(--rag-grey); }
.source-empty { color: var(--body-text-color-subdued); padding: 1rem; font-size: .95em; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .8rem 1rem; background: var(--background-fill-secondary); }
.source-heading { font-weight: 600; margin-bottom: .2rem; }
.source-meta { font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .6rem; }
.source-meta .doc { font-weight: 600; }
.source-text { line-height: 1.55; white-space: normal; }
.source-text mark { background: #ffe58a; color: #222; padding: 0 1px; border-radius: 2px; }
.verdict { display: inline-block; margin-top: .6rem; font-size: .85em; }
.verdict.ok { color: var(--rag-ok); }
.verdict.warn { color: var(--rag-warn); }
.verdict.quote { color: var(--rag-quote); }
.relevance { display: inline-block; margin: .6rem 0 0 .8rem; font-size: .85em; cursor: help;
  border-bottom: 1px dotted currentColor; }
.relevance.answers { color: var(--rag-ok); }
.relevance.partial { color: var(--rag-warn); }
.relevance.unrelated { color: var(--rag-bad); }
.briefing h2 { margin-top: .5rem; }
.briefing .bmark { color: var(--color-accent); font-size: .75em; margin-left: 1px; }
.briefing-sources { list-style: none; padding-left: 0; }
.briefing-sources li { margin-bottom: .6rem; }
.briefing-sources blockquote { margin: .2rem 0 0 0; padding-left: .7rem;
  border-left: 3px solid var(--border-color-primary); color: var(--body-text-color-subdued); }
.example-row button { font-size: .85em !important; }
.examples-label p { margin: .2rem 0 0 0; font-size: .85em; color: var(--body-text-color-subdued); }
.app-header { display: flex; gap: 1rem; align-items: flex-start; justify-content: space-between; }
.app-header .docs { margin-top: .2rem; font-size: .9em; }
#header-row { align-items: flex-start; }
#lang-switch { max-width: 16rem; }
#lang-switch .wrap { flex-wrap: nowrap; }
.refusal-badge { font-style: normal; font-weight: 600; font-size: .8em; padding: 0 .4em;
  border: 1px solid var(--rag-grey); border-radius: 999px; color: var(--rag-grey);
  margin-right: .3rem; }
.answer sup.fn, .source-text sup.fn, .doc-view sup.fn { font-size: .7em; color: var(--rag-grey); }
.answer-meta .cite { font-size: .95em; vertical-align: baseline; }
.copy-row { margin-top: .3rem; display: flex; gap: .4rem; }
.copy-row .copy-source, .copy-row .copy-outcome { display: none; }
.copy-row button.copy-answer { font-size: .75em; padding: .1rem .5rem; cursor: pointer;
  border: 1px solid var(--border-color-primary); border-radius: 6px;
  background: var(--background-fill-secondary); color: var(--body-text-color); }
.source-view { position: relative; }
.sheet-close { display: block; position: absolute; right: .2rem; top: .1rem; font-size: 1.4rem;
  line-height: 1; border: 0; background: transparent; cursor: pointer;
  color: var(--body-text-color); }
.doc-view { margin-top: .8rem; max-height: 22rem; overflow-y: auto; font-size: .88em;
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .4rem .6rem; }
.doc-view .doc-title { font-weight: 600; margin-bottom: .3rem; }
.doc-passage { display: flex; gap: .6rem; padding: .25rem 0;
  color: var(--body-text-color-subdued); }
.doc-passage.cited { color: var(--body-text-color); background: var(--color-accent-soft);
  border-radius: 4px; }
.doc-passage .ln { flex: 0 0 4.2rem; text-align: right; font-variant-numeric: tabular-nums;
  color: var(--body-text-color-subdued); }
@media (max-width: 768px) {
  .tab-container button, [role=tab] { padding-left: .45rem !important;
    padding-right: .45rem !important; font-size: .85rem !important; }
  .app-header h1 { font-size: 1.25rem; }
}
.doc-passage mark { background: #ffe58a; color: #222; }
.admin-badge { display: inline-block; font-size: .78em; font-weight: 600; padding: 0 .5em;
  border-radius: 999px; background: #fde7c7; color: #7a4300; margin-left: .4rem; }
#source-col { position: sticky; top: .5rem; align-self: flex-start; }
#chat .md.chatbot { opacity: 1 !important; }  /* Gradio dims messages to .8: too faint */
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
.documents-scroll { overflow-x: auto; }
table.documents { border-collapse: collapse; width: 100%; font-size: .9em; }
table.documents th, table.documents td { text-align: left; vertical-align: top;
  padding: .35rem .6rem; border: 1px solid var(--border-color-primary) !important; }
table.documents th { white-space: nowrap; font-weight: 600;
  background: var(--background-fill-secondary); }
@media (max-width: 768px) {
  /* the first screen: a compact header, the document ticks, the chat and the question */
  .app-header h1 { font-size: 1.15rem; }
  .app-header p:not(.docs) { display: none; }
  #header-row { gap: .3rem !important; flex-direction: row !important; flex-wrap: wrap !important;
    align-items: center; }
  #header-row > :first-child { flex: 1 1 100% !important; }
  .app-header .docs { display: none; }
  #lang-switch { flex: 1 1 12rem !important; max-width: none; padding: .2rem .4rem !important; }
  #lang-switch [data-testid=block-info], #scope .info-text { position: absolute; width: 1px;
    height: 1px; overflow: hidden; clip: rect(0, 0, 0, 0); white-space: nowrap; }
  #theme-toggle { min-width: 0 !important; flex: 0 0 auto !important; }
  #scope { padding: .3rem .5rem !important; }
  #chat { height: min(520px, 40vh) !important; min-height: 12rem; }
  /* the documents table: one card per document, each field labelled */
  table.documents thead { position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip: rect(0, 0, 0, 0); }
  table.documents, table.documents tbody, table.documents tr,
  table.documents td { display: block; width: 100%; }
  table.documents { border: 0 !important; }
  table.documents tr { border: 1px solid var(--border-color-primary); border-radius: 8px;
    margin-bottom: .6rem; padding: .3rem .5rem; }
  table.documents td { border: 0 !important; padding: .15rem 0; overflow-wrap: anywhere; }
  table.documents td::before { content: attr(data-label) ": "; font-weight: 600; }
  table.documents td:empty { display: none; }
}
"""

# Gradio scopes the app's CSS under its container; the phone sheet depends on a class on
# <body>, so these rules are added to the page unscoped by the script below.
SHEET_CSS = """
:root { --rag-ok: #1e6b30; --rag-warn: #8a5300; --rag-bad: #b42318; --rag-quote: #3b4a5e;
  --rag-grey: #555b64; }
:root body.dark, :root .dark { --rag-ok: #7ad597; --rag-warn: #f5b454; --rag-bad: #ff9a90;
  --rag-quote: #c3cedd; --rag-grey: #b3bac4; --color-accent: #93c5fd; }
.cite-preview { position: fixed; z-index: 2000; padding: .5rem .7rem; border-radius: 8px;
  font-size: .85rem; line-height: 1.4; background: #1f2937; color: #f9fafb;
  box-shadow: 0 4px 16px rgba(0,0,0,.3); cursor: pointer; }
.cite-preview[hidden] { display: none; }
body.source-closed #source-panel .source-view { display: none; }
@media (max-width: 768px) {
  #source-col { display: none !important; }
  body.sheet-open #source-col { display: block !important; position: fixed; left: 0; right: 0;
    bottom: 0; top: auto; max-height: 78vh; overflow-y: auto; z-index: 1000; margin: 0;
    padding: .6rem .8rem 1rem; background: var(--background-fill-primary);
    box-shadow: 0 -6px 24px rgba(0,0,0,.25); border-radius: 14px 14px 0 0; }
  body.sheet-open .sheet-close { display: block !important; }
  .doc-view { max-height: 30vh; }
}
"""

CITE_BRIDGE_JS = (
    """
window.__ragCiteTrigger = trigger;
if (!document.getElementById('rag-sheet-style')) {
  const style = document.createElement('style');
  style.id = 'rag-sheet-style';
  style.textContent = """
    + repr(SHEET_CSS)
    + """;
  document.head.appendChild(style);
}
if (!window.__ragCiteListener) {
  window.__ragCiteListener = true;
  // Copy: the button says "Copied" only once the clipboard took the text.
  const copyText = async function (value) {
    try { await navigator.clipboard.writeText(value); return true; } catch (e) { /* fallback */ }
    const area = document.createElement('textarea');
    area.value = value; document.body.appendChild(area); area.select();
    let done = false;
    try { done = document.execCommand('copy'); } catch (e) { done = false; }
    area.remove();
    return done;
  };
  // The marker preview: the cited quote in a bubble, on hover, on keyboard focus and
  // on a tap (a second tap, or a tap on the bubble, opens the source).
  const bubble = document.createElement('div');
  bubble.id = 'cite-preview'; bubble.className = 'cite-preview'; bubble.hidden = true;
  bubble.setAttribute('role', 'tooltip');
  document.body.appendChild(bubble);
  let previewed = null, tapped = null, pointer = 'mouse', opener = null;
  const quoteOf = function (link) {
    if (link.hasAttribute('title')) {  // no native tooltip beside the bubble
      link.__ragPreview = link.getAttribute('title');
      link.setAttribute('aria-description', link.__ragPreview);
      link.removeAttribute('title');
    }
    return link.__ragPreview || '';
  };
  const showPreview = function (link) {
    const quote = quoteOf(link);
    if (!quote) return;
    bubble.textContent = quote; bubble.hidden = false; previewed = link;
    link.setAttribute('aria-describedby', 'cite-preview');
    const r = link.getBoundingClientRect();
    const width = Math.min(360, window.innerWidth - 16);
    bubble.style.maxWidth = width + 'px';
    bubble.style.left = Math.max(8, Math.min(r.left, window.innerWidth - width - 8)) + 'px';
    const below = r.bottom + 6, height = bubble.offsetHeight;
    const fits = below + height < window.innerHeight;
    bubble.style.top = (fits ? below : Math.max(8, r.top - height - 6)) + 'px';
  };
  const hidePreview = function () {
    bubble.hidden = true;
    if (previewed) previewed.removeAttribute('aria-describedby');
    previewed = null;
  };
  document.addEventListener('pointerdown', function (e) {
    pointer = e.pointerType || 'mouse';
  }, true);
  document.addEventListener('mouseover', function (e) {
    const link = e.target.closest && e.target.closest('a.cite');
    if (link && pointer === 'mouse') showPreview(link);
    else if (!link && previewed && pointer === 'mouse' && e.target !== bubble) hidePreview();
  });
  document.addEventListener('focusin', function (e) {
    const link = e.target.closest && e.target.closest('a.cite');
    if (link) showPreview(link); else hidePreview();
  });
  window.addEventListener('scroll', hidePreview, true);
  // Closing the source panel (the × or Escape): the phone sheet goes, the desktop
  // panel folds away, and the focus goes back to the marker that opened it.
  const closeSource = function () {
    document.body.classList.remove('sheet-open');
    document.body.classList.add('source-closed');
    if (opener && document.contains(opener)) opener.focus({preventScroll: true});
  };
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    if (!bubble.hidden) { hidePreview(); return; }
    const typing = event.target.closest && event.target.closest('input, textarea, select');
    if (typing) return;  // Escape there belongs to the field (a dropdown's list)
    const panel = document.querySelector('#source-panel .source-view');
    if (panel && !document.body.classList.contains('source-closed')) closeSource();
  });
  document.addEventListener('change', function (event) {
    if (event.target.closest && event.target.closest('#source-list')) {
      document.body.classList.remove('source-closed');
    }
  }, true);
  document.addEventListener('click', function (event) {
    const target = event.target;
    if (!target.closest) return;
    const copy = target.closest('button.copy-answer');
    if (copy) {
      event.preventDefault(); event.stopPropagation();
      const kind = copy.classList.contains('copy-plain') ? 'copy-plain' : 'copy-markdown';
      const row = copy.closest('.copy-row');
      const source = row && row.querySelector('.copy-source.' + kind);
      if (!copy.__ragLabel) copy.__ragLabel = copy.textContent;
      copyText(source ? source.textContent : '').then(function (done) {
        const shown = '.copy-outcome.copy-' + (done ? 'done' : 'failed');
        const outcome = row && row.querySelector(shown);
        copy.textContent = (done ? '✓ ' : '⚠ ') + (outcome ? outcome.textContent : '');
        setTimeout(function () { copy.textContent = copy.__ragLabel; }, done ? 1500 : 4000);
      });
      return;
    }
    if (target.closest('button.sheet-close')) {
      event.preventDefault();
      closeSource();
      return;
    }
    let link = target.closest('a.cite, [data-cite]');
    if (!link && target.closest('#cite-preview') && previewed) link = previewed;
    if (!link) { if (!target.closest('#cite-preview')) hidePreview(); return; }
    let ref = link.getAttribute('data-cite');
    const href = link.getAttribute('href') || '';
    if (!ref && href.startsWith('#cite-')) ref = href.slice(6).replace('-', ':');
    if (!ref) return;
    event.preventDefault();
    event.stopPropagation();
    const fromBubble = !!target.closest('#cite-preview');
    if (pointer === 'touch' && link.matches('a.cite') && tapped !== link && !fromBubble) {
      showPreview(link);  // a first tap previews; the next one opens the source
      tapped = link;
      return;
    }
    tapped = null;
    hidePreview();
    opener = link;
    document.body.classList.remove('source-closed');
    document.body.classList.add('sheet-open');
    window.__ragRevealPanel = true;
    window.__ragCiteTrigger('cite', {ref: ref});
  }, true);
  // After the panel changes: scroll the document view to the cited passage, and bring
  // the panel into view when a marker was tapped (on a phone it is a sheet at the bottom).
  const reveal = function () {
    const panel = document.getElementById('source-panel');
    if (!panel) return;
    const view = panel.querySelector('.doc-view');
    const cited = view && view.querySelector('.doc-passage.cited');
    if (view && cited) view.scrollTop = cited.offsetTop - view.offsetTop - 24;
    if (window.__ragRevealPanel && panel.querySelector('.source-card')) {
      window.__ragRevealPanel = false;
      const column = document.getElementById('source-col') || panel;
      const rect = column.getBoundingClientRect();
      const outside = rect.top < 0 || rect.top > window.innerHeight * 0.6;
      if (outside) column.scrollIntoView({block: 'start'});
    }
  };
  new MutationObserver(function () { requestAnimationFrame(reveal); })
    .observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""
)

# Run on page load, before the load event: the browser's language (for a first visit)
# and the theme the user chose before (kept in this browser).
LOAD_JS = """
(prefs, saved, browser, chat) => {
  const theme = localStorage.getItem('rag-theme');
  if (theme === 'dark') document.body.classList.add('dark');
  if (theme === 'light') document.body.classList.remove('dark');
  // On a phone the conversations sidebar starts closed (it would cover the chat).
  if (window.innerWidth < 768) {
    const toggle = document.querySelector('#conversations-sidebar.open .toggle-button');
    if (toggle) toggle.click();
  }
  return [prefs, saved, navigator.language || '', chat];
}
"""

# After the language is set (on load or by the switch): mark the page's language, and
# when Gradio started in the other language, remember the choice and reload, so Gradio's
# own texts follow it too (`ui.locale_first`; the conversation and settings are kept in
# this browser).
FOLLOW_LANGUAGE_JS = """
(lang) => {
  if (lang !== 'nl' && lang !== 'en') return;
  document.documentElement.lang = lang;
  const stored = localStorage.getItem('rag-ui-lang');
  localStorage.setItem('rag-ui-lang', lang);
  const started = (navigator.language || '').toLowerCase().startsWith('nl') ? 'nl' : 'en';
  if (started !== lang && stored !== lang) window.location.reload();
}
"""

TOGGLE_THEME_JS = """
() => {
  const dark = document.body.classList.toggle('dark');
  localStorage.setItem('rag-theme', dark ? 'dark' : 'light');
}
"""


def launch_options() -> dict[str, Any]:
    """Blocks-level look passed to `launch` (Gradio 6 takes theme and CSS there)."""
    font = ["ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    theme = gr.themes.Soft(primary_hue="blue", neutral_hue="slate", font=font, font_mono=mono)
    return {"theme": theme.set(**CONTRAST), "css": CSS}


# Soft's greys and blues, darkened (light) or lightened (dark) to WCAG AA contrast: text
# at least 4.5:1 against its background, in both themes.
CONTRAST = {
    "body_text_color_subdued": "*neutral_600",
    "body_text_color_subdued_dark": "*neutral_300",
    "input_placeholder_color": "*neutral_500",
    "input_placeholder_color_dark": "*neutral_400",
    "block_label_text_color": "*primary_800",
    "block_title_text_color": "*primary_800",
    "block_label_background_fill_dark": "*primary_800",
    "block_title_background_fill_dark": "*primary_800",
    "button_primary_background_fill": "*primary_700",
    "button_primary_background_fill_hover": "*primary_800",
    "button_primary_background_fill_dark": "*primary_700",
    "button_primary_background_fill_hover_dark": "*primary_600",
    "checkbox_label_background_fill_selected": "*primary_700",
    "checkbox_label_background_fill_selected_dark": "*primary_700",
    "color_accent": "*primary_700",
    "link_text_color": "*primary_700",
    "link_text_color_dark": "*primary_300",
}
