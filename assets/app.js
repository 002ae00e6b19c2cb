// Herald dashboard: the copy buttons. Everything else is plain HTML forms (boosted by htmx).
"use strict";

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  // One "Copied" at a time: the other buttons get their label back.
  button.dataset.label ??= button.textContent;
  for (const other of document.querySelectorAll("[data-copy][data-label]")) {
    if (other !== button) other.textContent = other.dataset.label;
  }
  const text = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    // No clipboard access (plain http on another host, or denied): select it for Ctrl+C.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Press Ctrl+C";
  }
});

// Broadcast editor: the live preview (the form posts its fields into the sandboxed preview
// frame through its "Preview" button, a moment after the last keystroke), the Markdown /
// HTML switch, and the placeholder helper.
let previewTimer;
function refreshPreview(delay) {
  const button = document.getElementById("refresh-preview");
  if (!button || button.disabled || button.closest("fieldset:disabled")) return;
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => button.form.requestSubmit(button), delay);
}

function editorStarted() {
  const form = document.getElementById("broadcast-form");
  // A new broadcast has nothing saved to show yet: preview the starting content.
  if (form && document.getElementById("preview")?.getAttribute("src") === "about:blank") refreshPreview(0);
}
document.addEventListener("DOMContentLoaded", editorStarted);
document.addEventListener("htmx:afterSettle", editorStarted);

document.addEventListener("input", (event) => {
  if (event.target.closest("#broadcast-form") && event.target.id !== "placeholder") refreshPreview(400);
});

document.addEventListener("change", (event) => {
  const form = event.target.closest("#broadcast-form");
  if (!form) return;
  if (event.target.name === "mode") form.dataset.mode = event.target.value;
  if (event.target.id !== "placeholder") refreshPreview(0);
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-insert]");
  if (!button) return;
  const form = button.closest("form");
  const select = document.getElementById(button.dataset.insert);
  const area = form.querySelector(form.dataset.mode === "html" ? "#b-html" : "#b-markdown");
  if (!select || !area) return;
  const text = select.value;
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? start;
  area.setRangeText(text, start, end, "end");
  area.focus();
  area.dispatchEvent(new Event("input", { bubbles: true }));
});
