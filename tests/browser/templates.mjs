// Drives the dashboard's Templates pages in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core) against a live Herald, saving a screenshot of every state:
// create (a refused form first), preview, publish, an edit kept as unpublished changes,
// sending through the API with the published version, duplicate and delete.
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (a team member), HERALD_API_KEY,
// HERALD_SCREENSHOTS (folder for PNGs). Run by `cargo test --test api browser_templates`.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = required("HERALD_URL");
const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const apiKey = required("HERALD_API_KEY");
const shots = process.env.HERALD_SCREENSHOTS || "screenshots";
mkdirSync(shots, { recursive: true });

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

let step = 0;
async function shot(page, name) {
  step += 1;
  const file = join(shots, `${String(step).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
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
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    const expected = /Failed to load resource: the server responded with a status of 4\d\d/;
    if (msg.type() === "error" && !expected.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  const heading = (text) => page.locator("h1", { hasText: text }).waitFor();
  const notice = (text) => page.locator(".alert.success", { hasText: text }).waitFor();
  const preview = () => page.frameLocator("#preview").locator("body");

  // Sign in; the sidebar has a Templates link.
  await page.goto(`${base}/login`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await heading("API Keys");
  await page.click(".nav-item:has-text('Templates')");
  await heading("Templates");
  check(await page.locator(".nav-item.active", { hasText: "Templates" }).count() === 1, "Templates is the current section");
  check(await page.locator(".empty", { hasText: "No templates yet" }).count() === 1, "empty list");
  await shot(page, "templates-empty");

  // New template: an undeclared variable is refused with the values kept.
  await page.click("#new-template");
  await heading("New template");
  await page.fill("#t-name", "Order shipped");
  await page.fill("#t-alias", "order-shipped");
  await page.fill("#t-from", "Shop <orders@resend.dev>");
  await page.fill("#t-subject", "Your order {{{ORDER}}} is on its way");
  await page.fill(
    "#t-html",
    '<h1 style="color:#4338ca">Hi {{{NAME|there}}}</h1>\n<p>Order <b>{{{ORDER}}}</b> ships with {{{CARRIER}}}.</p>',
  );
  await page.fill("#t-variables", "NAME string\nORDER string A-1");
  await page.click("#save");
  await page.locator("#form-error", { hasText: "CARRIER" }).waitFor();
  check((await page.inputValue("#t-name")) === "Order shipped", "the refused form keeps its values");
  await shot(page, "template-refused");
  await page.fill("#t-variables", "NAME string\nORDER string A-1\nCARRIER string La Poste");
  await page.click("#save");
  await notice("Template created as a draft");
  await heading("Order shipped");
  check(await page.locator("#template-status .badge", { hasText: "Draft" }).count() === 1, "a new template is a draft");

  // The preview shows the HTML with its styles and fallback values.
  await preview().locator("h1", { hasText: "Hi there" }).waitFor();
  const previewText = await preview().innerText();
  check(previewText.includes("Order A-1 ships with La Poste."), `preview fills fallbacks (${previewText.trim()})`);
  const color = await preview().locator("h1").evaluate((el) => getComputedStyle(el).color);
  check(color === "rgb(67, 56, 202)", `the template's inline styles apply in the preview (${color})`);
  await shot(page, "template-draft-preview");

  // Publish, then sending through the API uses it.
  await page.click("#publish");
  await notice("Published");
  check(await page.locator("#template-status .badge", { hasText: "Published" }).count() === 1, "published");
  check(await page.locator("#publish").count() === 0, "nothing left to publish");
  await shot(page, "template-published");

  // An edit is kept as unpublished changes; sends still use the published version.
  await page.fill("#t-subject", "Shipped: {{{ORDER}}}");
  await page.click("#save");
  await notice("Saved.");
  await page.locator("#unpublished").waitFor();
  check(await page.locator("#publish").count() === 1, "publish is offered again");
  await shot(page, "template-unpublished-changes");
  const sent = await api("POST", "/emails", {
    to: "delivered@resend.dev",
    template: { id: "order-shipped", variables: { NAME: "Ann", ORDER: "B-7" } },
  });
  check(sent.status === 200, `send with the template (${JSON.stringify(sent.body)})`);
  const stored = (await api("GET", `/emails/${sent.body.id}`)).body;
  check(stored.subject === "Your order B-7 is on its way", `the published subject is used (${stored.subject})`);
  check(stored.html.includes("Hi Ann") && stored.from === "Shop <orders@resend.dev>", "html and from come from the template");

  // Duplicate opens the copy, a draft; the list shows both.
  await page.click("#duplicate");
  await notice("This is the copy");
  await heading("Order shipped (copy)");
  check((await page.inputValue("#t-alias")) === "", "the copy has no alias");
  await page.click(".crumbs a:has-text('Templates')");
  await heading("Templates");
  check(await page.locator("tr[data-template]").count() === 2, "both templates are listed");
  await shot(page, "templates-list");

  // Delete the copy, with confirmation.
  await page.click("a:has-text('Order shipped (copy)')");
  await heading("Order shipped (copy)");
  await page.click("a:has-text('Delete this template')");
  await heading("Delete “Order shipped (copy)”?");
  await shot(page, "template-delete-confirm");
  await page.click("#confirm-delete");
  await notice("Template deleted.");
  check(await page.locator("tr[data-template]").count() === 1, "the copy is gone");

  check(problems.length === 0, `no script errors in the page${problems.length ? `: ${problems.join("; ")}` : ""}`);
} catch (err) {
  const [page] = browser.contexts().flatMap((c) => c.pages());
  if (page) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
  if (problems.length) console.error(problems.join("\n"));
  throw err;
} finally {
  await browser.close();
}
console.log("browser test passed");
