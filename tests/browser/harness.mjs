// What every dashboard browser script shares: reading the environment, checks, numbered
// screenshots, launching Debian's headless Chromium (through playwright-core) with the network
// chatter off, watching the page for script and CSP errors and counting htmx requests,
// signing in and out, calling Herald's API, and the run itself (a screenshot of the page
// when a step fails, the browser always closed).
//
// Every script is run by a test in tests/api/browser*.rs, which starts Herald and passes
// HERALD_URL, HERALD_SCREENSHOTS (folder for PNGs) and the accounts to use.
//
// Every page a script visits is also checked the way a phone user and a screen-reader user
// would meet it: at 390×844 the page must not scroll sideways (the widest element is named
// when it does) and gets a phone screenshot; axe-core (pinned in package.json) must find no
// serious or critical problem, on the desktop and on the phone. Pages with a screenshot are
// checked as they are at that moment; other pages the script passed through are opened again
// in a phone-sized tab before the session ends (`signOut`) and at the end of the run.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** An environment variable the runner must set. */
export function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export const base = required("HERALD_URL");
const shotsDir = process.env.HERALD_SCREENSHOTS || "screenshots";
mkdirSync(shotsDir, { recursive: true });

/** A named check: printed when it holds, the run fails when it does not. */
export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

export const PHONE = { width: 390, height: 844 };
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The pages checked so far, and (per browser context) those seen but not yet checked. */
const checkedPages = new Set();
const pendingPages = new Map();
const pendingIn = (context) => {
  if (!pendingPages.has(context)) pendingPages.set(context, new Set());
  return pendingPages.get(context);
};
let phoneStep = 0;
let shotPrefix = "";

function pageKey(url) {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

/** axe-core's serious and critical findings on the page as it is now. */
async function axeFindings(page) {
  const hasAxe = await page.evaluate(() => typeof window.axe !== "undefined");
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  if (!hasAxe) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      iframes: false,
      resultTypes: ["violations"],
    });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(", ")}`);
  });
  return violations;
}

/** How wide the page is at the current viewport, and the widest element when it is too wide. */
async function widthReport(page, limit) {
  return page.evaluate((limit) => {
    const width = document.documentElement.scrollWidth;
    if (width <= limit) return { width };
    const describe = (el) => {
      let text = el.tagName.toLowerCase();
      if (el.id) text += `#${el.id}`;
      if (typeof el.className === "string" && el.className.trim()) text += `.${el.className.trim().split(/\s+/).join(".")}`;
      return text;
    };
    // The deepest element reaching furthest right, with its ancestors for context.
    let widest = null;
    let right = limit;
    // Elements inside a box that scrolls or clips on its own do not widen the page.
    // (An absolutely positioned element escapes the boxes between it and its containing block.)
    const clipped = (el) => {
      let position = getComputedStyle(el).position;
      if (position === "fixed") return false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const style = getComputedStyle(a);
        if (position === "absolute" && style.position === "static") continue;
        if (style.overflowX !== "visible") return true;
        position = style.position;
        if (position === "fixed") return false;
      }
      return false;
    };
    for (const el of document.body.querySelectorAll("*")) {
      if (clipped(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.right + window.scrollX > right + 0.5) {
        right = r.right + window.scrollX;
        widest = el;
      }
    }
    const path = [];
    for (let el = widest; el && el !== document.body && path.length < 5; el = el.parentElement) path.unshift(describe(el));
    return { width, widest: widest ? `${path.join(" > ")} (right edge at ${Math.round(right)}px)` : "unknown" };
  }, limit);
}

/**
 * Checks the page as it is now: axe on the current (desktop) viewport, then at 390×844 no
 * sideways scroll, a phone screenshot and axe again; the viewport is put back afterwards.
 */
export async function checkPage(page, file) {
  const url = page.url();
  const where = pageKey(url);
  const desktop = page.viewportSize();
  const problems = [];
  if (desktop && desktop.width > PHONE.width) {
    const found = await axeFindings(page);
    if (found.length) problems.push(`axe (desktop): ${found.join("; ")}`);
    await page.setViewportSize(PHONE);
  }
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const { width, widest } = await widthReport(page, PHONE.width);
  if (width > PHONE.width) problems.push(`at ${PHONE.width}px the page is ${width}px wide; widest: ${widest}`);
  await page.screenshot({ path: file, fullPage: true });
  const found = await axeFindings(page);
  if (found.length) problems.push(`axe (phone): ${found.join("; ")}`);
  if (desktop && desktop.width > PHONE.width) await page.setViewportSize(desktop);
  checkedPages.add(where);
  pendingIn(page.context()).delete(where);
  check(problems.length === 0, `${where} fits a phone and axe finds nothing serious${problems.length ? `:\n  ${problems.join("\n  ")}` : ""}`);
}

/** Opens every page seen but not yet checked in a phone-sized tab of `context` and checks it. */
export async function checkPendingPages(context) {
  const pending = [...pendingIn(context)].filter((where) => !checkedPages.has(where));
  pendingIn(context).clear();
  if (!pending.length) return;
  const tab = await context.newPage();
  try {
    await tab.setViewportSize(PHONE);
    tab.setDefaultTimeout(15_000);
    for (const where of pending) {
      if (checkedPages.has(where)) continue;
      await tab.goto(`${base}${where}`);
      phoneStep += 1;
      const name = where.replace(/^\/+/, "").replace(/[^a-zA-Z0-9]+/g, "-").slice(0, 60) || "root";
      await checkPage(tab, join(shotsDir, `${shotPrefix}visited-${String(phoneStep).padStart(2, "0")}-${name}-phone.png`));
      checkedPages.add(where);
    }
  } finally {
    await tab.close();
  }
}

/** Remembers the pages a tab shows, so the run can check them all. */
function watchPages(page) {
  page.on("framenavigated", (frame) => {
    if (frame !== page.mainFrame()) return;
    const url = frame.url();
    if (!url.startsWith(base)) return;
    const where = pageKey(url);
    if (!checkedPages.has(where)) pendingIn(page.context()).add(where);
  });
}

/**
 * A screenshot function numbering its files: `<prefix>01-<name>.png`, … Each screenshot also
 * checks the page (see `checkPage`) and saves `<prefix>01-<name>-phone.png`.
 */
export function screenshots(prefix = "") {
  shotPrefix = prefix;
  let step = 0;
  const shot = async (page, name) => {
    step += 1;
    const stem = join(shotsDir, `${prefix}${String(step).padStart(2, "0")}-${name}`);
    await page.screenshot({ path: `${stem}.png`, fullPage: true });
    console.log(`screenshot ${stem}.png`);
    await checkPage(page, `${stem}-phone.png`);
  };
  shot.failure = join(shotsDir, `${prefix}failure.png`);
  return shot;
}

/** Calls Herald's API with a key, as an application would. */
export async function callApi(token, method, path, body) {
  const headers = { Authorization: `Bearer ${token}`, "User-Agent": "herald-browser-test" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Fills the sign-in form (the page must show it) and waits for the first page. */
export async function signIn(page, email, password, landing = "Emails") {
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.locator("h1", { hasText: landing }).waitFor();
}

/** Opens the sign-in page, then signs in. */
export async function signInAt(page, email, password) {
  await page.goto(`${base}/login`);
  await signIn(page, email, password);
}

/** Checks the pages seen so far (while the session lasts), then signs out. */
export async function signOut(page) {
  await checkPendingPages(page.context());
  await page.click("button.sign-out");
  await page.locator("h1", { hasText: "Sign in" }).waitFor();
}

/**
 * Runs `steps({ page, context, browser, htmxRequests })` in a fresh Chromium page (the last
 * counts the htmx requests so far), then checks that htmx
 * handled requests and that the page logged no script or CSP error. On failure the page is
 * saved as `shot.failure` and the errors printed; the browser is closed either way.
 * Options: `viewport` ({width, height}), `clipboard` (grant clipboard access).
 */
export async function run(shot, steps, { viewport = { width: 1280, height: 820 }, clipboard = false } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    // No network on the test machines: keep Chromium from calling home.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const problems = [];
  let htmxRequests = 0;
  try {
    // Every tab of every context is watched (scripts may open a second account's context).
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (options) => {
      const created = await newContext(options);
      created.on("page", watchPages);
      return created;
    };
    const context = await browser.newContext({ viewport });
    if (clipboard) await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      // Chromium logs every 4xx answer; wrong-password and validation pages are expected.
      // Anything else (a Content-Security-Policy refusal, a script error) is a problem.
      const expected = /Failed to load resource: the server responded with a status of 4\d\d/;
      if (msg.type() === "error" && !expected.test(msg.text())) problems.push(`console error: ${msg.text()}`);
    });
    page.on("request", (request) => {
      if (request.headers()["hx-request"] === "true") htmxRequests += 1;
    });
    await steps({ page, context, browser, htmxRequests: () => htmxRequests });
    for (const open of browser.contexts()) await checkPendingPages(open);
    check(htmxRequests > 0, `htmx handled navigation in place (${htmxRequests} requests)`);
    check(problems.length === 0, `no script or CSP errors in the page${problems.length ? `: ${problems.join("; ")}` : ""}`);
  } catch (err) {
    // Keep the state the page was in when a step failed.
    const [page] = browser.contexts().flatMap((c) => c.pages());
    if (page) await page.screenshot({ path: shot.failure, fullPage: true }).catch(() => {});
    if (problems.length) console.error(problems.join("\n"));
    throw err;
  } finally {
    await browser.close();
  }
  console.log("browser test passed");
}
