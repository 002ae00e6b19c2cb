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
