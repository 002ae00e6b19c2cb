// Herald dashboard: the copy buttons, keyboard access to boxes that scroll, and the phone
// navigation row. Everything else is plain HTML forms (boosted by htmx).
"use strict";

// A box that scrolls (a wide table on a phone, a long DKIM key) and holds nothing focusable
// gets a tab stop, so keyboard users can scroll it too. Checked again after each swap and
// when the window changes size.
const SCROLL_BOXES = ".table-card, .table-scroll, .card:has(> table), .token, .record-value, .auth-record, .text-version, .tabs, .settings-nav";
function keyboardScroll() {
  for (const box of document.querySelectorAll(SCROLL_BOXES)) {
    const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    const focusable = box.querySelector("a[href], button, input, select, textarea, [tabindex]");
    if (scrolls && !focusable && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.dataset.scrollStop = "";
    } else if ((!scrolls || focusable) && box.dataset.scrollStop !== undefined) {
      box.removeAttribute("tabindex");
      delete box.dataset.scrollStop;
    }
  }
}

// On a phone the navigation is one row that scrolls sideways: show the current section.
function showCurrentSection() {
  const nav = document.querySelector(".nav");
  const active = nav?.querySelector(".nav-item.active");
  if (!nav || !active || nav.scrollWidth <= nav.clientWidth) return;
  nav.scrollLeft = active.offsetLeft - (nav.clientWidth - active.offsetWidth) / 2;
}

function pageReady() {
  keyboardScroll();
  showCurrentSection();
}
document.addEventListener("DOMContentLoaded", pageReady);
document.addEventListener("htmx:afterSettle", pageReady);
window.addEventListener("resize", pageReady);

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  // One "Copied" at a time: the other buttons get their label back. A button's accessible
  // name follows its visible text.
  button.dataset.label ??= button.textContent;
  if (button.hasAttribute("aria-label")) button.dataset.ariaLabel ??= button.getAttribute("aria-label");
  for (const other of document.querySelectorAll("[data-copy][data-label]")) {
    if (other === button) continue;
    other.textContent = other.dataset.label;
    if (other.dataset.ariaLabel) other.setAttribute("aria-label", other.dataset.ariaLabel);
  }
  const say = (text) => {
    button.textContent = text;
    if (button.dataset.ariaLabel) button.setAttribute("aria-label", text);
  };
  const text = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
    say("Copied");
  } catch {
    // No clipboard access (plain http on another host, or denied): select it for Ctrl+C.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say("Press Ctrl+C");
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

// Contacts: select the whole page, or every contact matching the filters; the bar says how
// many are selected. Without JavaScript the row checkboxes and the bar still work.
function bulkState(form) {
  const boxes = [...form.querySelectorAll("tbody input[type=checkbox]")];
  const checked = boxes.filter((b) => b.checked).length;
  const all = form.querySelector("#all-matching");
  const page = form.querySelector("#select-page");
  const matching = form.querySelector("#select-all-matching");
  if (checked < boxes.length && all) all.value = "";
  if (page) {
    page.checked = boxes.length > 0 && checked === boxes.length;
    page.indeterminate = checked > 0 && checked < boxes.length;
  }
  const count = form.querySelector("#selected-count");
  if (count) {
    count.textContent = all?.value === "1"
      ? `All ${matching?.dataset.total} matching contacts selected`
      : `${checked} of ${boxes.length} on this page selected`;
  }
  if (matching) matching.hidden = all?.value === "1" || checked < boxes.length;
}

document.addEventListener("change", (event) => {
  const form = event.target.closest(".bulk-form");
  if (!form) return;
  if (event.target.id === "select-page") {
    for (const box of form.querySelectorAll("tbody input[type=checkbox]")) box.checked = event.target.checked;
  }
  bulkState(form);
});

document.addEventListener("click", (event) => {
  if (event.target.id !== "select-all-matching") return;
  const form = event.target.closest(".bulk-form");
  form.querySelector("#all-matching").value = "1";
  for (const box of form.querySelectorAll("tbody input[type=checkbox]")) box.checked = true;
  bulkState(form);
});

function bulkReady() {
  for (const form of document.querySelectorAll(".bulk-form")) bulkState(form);
}
document.addEventListener("DOMContentLoaded", bulkReady);
document.addEventListener("htmx:afterSettle", bulkReady);
