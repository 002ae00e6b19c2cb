// Drives the dashboard's Domains pages in headless Chromium against a live Herald, saving a
// screenshot of every state (launch, checks and sign-in come from harness.mjs).
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (an admin), HERALD_API_KEY (a
// full-access key, to check what the pages did through the API), HERALD_DOMAIN (the domain
// to add), HERALD_SCREENSHOTS (folder for PNGs).
// Run by `cargo test --test api browser_domains` (tests/api/browser_domains.rs), which starts
// Herald and a DNS server: once the domain is pending this script prints `PUBLISH <id>` and
// waits for a `published` line on stdin, after which the records are in DNS and Herald's
// background checks (every second in that test) find them.

import { createInterface } from "node:readline";
import { base, callApi, check, required, run, screenshots, signIn } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const apiKey = required("HERALD_API_KEY");
const domain = required("HERALD_DOMAIN");
const shot = screenshots("domains-");
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const apiDomain = (id) => callApi(apiKey, "GET", `/domains/${id}`);

/** Asks the test runner to publish the domain's records in its DNS server. */
async function publishRecords(id) {
  console.log(`PUBLISH ${id}`);
  const answer = await input.next();
  if (answer.done || answer.value.trim() !== "published") throw new Error("the runner did not publish the records");
}

// The runner waits for this script's output to end: let go of stdin whatever happens.
try {
await run(shot, async ({ page, htmxRequests }) => {
  const badge = page.locator("#domain-status");

  // Sign in, then open Domains from the sidebar.
  await page.goto(`${base}/dashboard/domains`);
  check(new URL(page.url()).pathname === "/login", "signed-out visit lands on /login");
  await signIn(page, email, password);
  await page.click("nav.nav a[href='/dashboard/domains']");
  await page.locator("h1", { hasText: "Domains" }).waitFor();
  check(await page.locator(".nav-item.active", { hasText: "Domains" }).count() === 1, "the sidebar marks Domains as the current page");
  check(await page.locator(".empty", { hasText: "No domains yet" }).count() === 1, "an empty list says so");
  await shot(page, "empty-list");

  // Add a domain: the advanced options are folded away; a bad return path is refused.
  await page.click("#add-domain");
  await page.locator("h1", { hasText: "Add domain" }).waitFor();
  const regions = await page.locator("#region option").evaluateAll((options) => options.map((o) => o.value));
  check(regions.join(",") === "us-east-1,eu-west-1,sa-east-1,ap-northeast-1", "four regions offered");
  check(!(await page.locator("#custom_return_path").isVisible()), "custom return path hidden under Advanced options");
  await page.fill("#name", domain);
  await page.selectOption("#region", "eu-west-1");
  await page.click("details.advanced summary");
  check(await page.locator("#custom_return_path").isVisible(), "Advanced options open on click");
  await page.fill("#custom_return_path", "bounces-");
  await shot(page, "add-form");
  await page.click(".domain-form button[type=submit]");
  await page.locator("#form-error").waitFor();
  check((await page.locator("#form-error").textContent()).includes("Must end with a letter or a number"), "service validation error shown in plain words");
  check(await page.locator("#custom_return_path ~ #form-error.field-error").count() === 1, "the error sits under the custom return path field");
  check(await page.inputValue("#name") === domain, "the form keeps what was typed");
  check(await page.inputValue("#region") === "eu-west-1", "the form keeps the region");
  check(await page.locator("#custom_return_path").isVisible(), "advanced options stay open to show the field in error");
  await shot(page, "add-form-error");

  await page.fill("#custom_return_path", "");
  await page.click(".domain-form button[type=submit]");
  await page.locator("h1", { hasText: domain }).waitFor();
  const id = new URL(page.url()).pathname.split("/").pop();
  check(/^[0-9a-f-]{36}$/.test(id), "the address is the domain's page");
  check((await badge.textContent()).trim() === "Not started", "a new domain is not started");
  check((await page.locator("#notice").textContent()).includes("Domain added."), "added notice shown");
  const rows = page.locator("#records tbody tr[id^=record-]");
  check(await rows.count() === 3, "three records to publish (SPF MX, SPF TXT, DKIM)");
  check((await page.locator("#record-spf_mx .record-name").textContent()).trim() === "send.updates", "record names are relative to the zone");
  check((await page.locator("#record-spf_mx td.num").textContent()).trim() === "10", "MX priority shown");
  check((await page.locator("#record-dkim").textContent()).includes("Auto"), "TTL shown");
  check(await page.locator("#records .badge", { hasText: "Not started" }).count() === 3, "each record has its status");
  check(await page.locator("#records .group-row").allTextContents().then((t) => t.map((x) => x.trim().split(" ")[0]).join(",")) === "SPF,DKIM", "records grouped under SPF and DKIM");
  await shot(page, "domain-added");

  // Copy the DKIM value.
  const dkim = (await page.locator("#value-dkim").textContent()).trim();
  await page.click("[data-copy=value-dkim]");
  await page.locator("[data-copy=value-dkim]", { hasText: "Copied" }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === dkim && copied.startsWith("v=DKIM1; k=rsa; p="), "copy button puts the DKIM value on the clipboard");
  await page.click("[data-copy=value-spf_txt]");
  await page.locator("[data-copy=value-spf_txt]", { hasText: "Copied" }).waitFor();
  check((await page.evaluate(() => navigator.clipboard.readText())).startsWith("v=spf1 "), "each value has its own copy button");
  check((await page.locator("[data-copy=value-dkim]").textContent()).trim() === "Copy", "only the last copied button says Copied");
  await shot(page, "record-copied");

  // Verify with nothing in DNS yet: pending.
  await page.click("#verify");
  await page.locator("#domain-status", { hasText: "Pending" }).waitFor();
  // One state, not a notice beside a banner saying the same: the status note, which says
  // Herald is looking and that the page updates by itself; the header says it is checking.
  check(await page.locator("#notice").count() === 0, "no separate notice repeats the status");
  check((await page.locator("#status-help").textContent()).includes("looking for your DNS records"), "the status note says Herald is looking");
  check((await page.locator("#status-help").textContent()).includes("updates by itself"), "the status note says the page updates by itself");
  check(/Checking now|Last checked/.test(await page.locator("#checked").textContent()), "the header no longer says 'Not checked yet'");
  check((await apiDomain(id)).body.status === "pending", "the API says pending too");
  await shot(page, "verify-pending");

  // The records appear in DNS. The next background check verifies the domain, and the open
  // page refreshes its status by itself (htmx polling while pending): no reload, no click.
  await page.evaluate(() => { window.stillTheSamePage = true; });
  await publishRecords(id);
  await page.locator("#domain-status", { hasText: "Verified" }).waitFor({ timeout: 60_000 });
  check(await page.evaluate(() => window.stillTheSamePage === true), "the page updated in place when the domain verified");
  check((await badge.textContent()).trim() === "Verified", "the domain verifies once its records are in DNS");
  check(await page.locator("#records .badge", { hasText: "Verified" }).count() === 3, "every record verified");
  check((await page.locator("#checked").textContent()).includes("Last checked"), "last check time shown");
  await shot(page, "verified");

  // The DMARC/BIMI panel explains what is in place and what to fix.
  const dmarc = page.locator("#dmarc");
  check((await dmarc.locator(".checks.ok").textContent()).includes("A valid DMARC record is published"), "DMARC: what is OK");
  check((await dmarc.locator(".checks.fix").textContent()).includes("p=none"), "DMARC: what to fix");
  const bimi = page.locator("#bimi");
  check((await bimi.locator(".auth-summary").textContent()).trim() === "Not ready", "BIMI: not ready yet");
  check((await bimi.locator(".checks.fix").textContent()).includes("p=quarantine or p=reject"), "BIMI: explains the DMARC policy it needs");
  await page.locator("#auth").scrollIntoViewIfNeeded();
  await shot(page, "dmarc-bimi");

  // Tracking switches: in place (htmx), saved through the service.
  const before = htmxRequests();
  const address = page.url();
  await page.click("#toggle-open");
  await page.locator("#toggle-open[aria-checked=true]").waitFor();
  check((await page.locator("#open-state").textContent()).trim() === "On", "open tracking reads On");
  check(htmxRequests() > before, "the switch saved in place with htmx");
  check(page.url() === address, "the address did not change");
  let api = (await apiDomain(id)).body;
  check(api.open_tracking === true && api.click_tracking === false, "open tracking saved, click tracking untouched");
  await page.click("#toggle-click");
  await page.locator("#toggle-click[aria-checked=true]").waitFor();
  await page.click("#toggle-open");
  await page.locator("#toggle-open[aria-checked=false]").waitFor();
  api = (await apiDomain(id)).body;
  check(api.open_tracking === false && api.click_tracking === true, "switches toggle both ways");
  await page.locator("#tracking").scrollIntoViewIfNeeded();
  await shot(page, "tracking-toggled");

  // The list shows the verified domain with its region.
  await page.click("nav.nav a[href='/dashboard/domains']");
  await page.locator("h1", { hasText: "Domains" }).waitFor();
  const row = page.locator(`#domain-${id}`);
  check((await row.locator(".badge").textContent()).trim() === "Verified", "the list shows the status");
  check((await row.textContent()).includes("Ireland"), "the list shows the region");
  await shot(page, "list-verified");

  // Delete, with a confirmation step.
  await row.locator(".domain-name").click();
  await page.locator("h1", { hasText: domain }).waitFor();
  await page.click("#delete-domain");
  await page.locator("h1", { hasText: `Delete “${domain}”?` }).waitFor();
  check((await apiDomain(id)).status === 200, "asking is not deleting");
  await shot(page, "delete-confirmation");
  await page.click("button.danger");
  await page.locator(".alert.success", { hasText: "Domain deleted." }).waitFor();
  check(await page.locator(`#domain-${id}`).count() === 0, "deleted domain no longer listed");
  check((await apiDomain(id)).status === 404, "the API no longer knows it");
  await shot(page, "after-delete");
}, { clipboard: true });
} finally {
  process.stdin.destroy();
}
