// What every dashboard browser script shares: reading the environment, checks, numbered
// screenshots, launching Debian's headless Chromium (through playwright-core) with the network
// chatter off, watching the page for script and CSP errors and counting htmx requests,
// signing in and out, calling Herald's API, and the run itself (a screenshot of the page
// when a step fails, the browser always closed).
//
// Every script is run by a test in tests/api/browser*.rs, which starts Herald and passes
// HERALD_URL, HERALD_SCREENSHOTS (folder for PNGs) and the accounts to use.

import { mkdirSync } from "node:fs";
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

/** A screenshot function numbering its files: `<prefix>01-<name>.png`, … */
export function screenshots(prefix = "") {
  let step = 0;
  const shot = async (page, name) => {
    step += 1;
    const file = join(shotsDir, `${prefix}${String(step).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
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
export async function signIn(page, email, password, landing = "API Keys") {
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

export async function signOut(page) {
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
