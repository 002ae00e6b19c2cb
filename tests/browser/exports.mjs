// Drives Exports in headless Chromium against a live Herald: the Contacts list's Export
// button with a filter, the confirmation page repeating it, the CSV downloaded at once
// (formula cells neutralised), Settings → Exports and the export's page with its Download
// button. Screenshots of every state (launch, checks and sign-in come from harness.mjs).
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (an admin), HERALD_API_KEY,
// HERALD_SCREENSHOTS. Run by `cargo test --test api browser_exports`
// (tests/api/browser_exports.rs).

import { readFile } from "node:fs/promises";

import { base, callApi, check, required, run, screenshots, signInAt } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const key = required("HERALD_API_KEY");
const shot = screenshots();

await run(shot, async ({ page }) => {
  for (const contact of [
    { email: "ann@example.com", first_name: "Ann" },
    { email: "formula@example.com", first_name: "=1+1" },
    { email: "gone@example.com", first_name: "Gone", unsubscribed: true },
  ]) {
    const created = await callApi(key, "POST", "/contacts", contact);
    check(created.status === 201, `contact ${contact.email} created`);
  }
  await signInAt(page, email, password);
  await page.goto(`${base}/dashboard/audience/contacts?status=subscribed`);
  await page.locator("h1", { hasText: "Contacts" }).waitFor();
  await page.click("#export");
  await page.locator("#export-confirm").waitFor();
  check((await page.locator("#export-filters").textContent()).includes("subscribed"), "the confirmation repeats the filters");
  await shot(page, "confirm");

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#confirm-export")]);
  check(download.suggestedFilename().startsWith("herald-contacts-"), "the CSV downloads at once");
  const text = await readFile(await download.path(), "utf8");
  check(text.startsWith("id,email,first_name"), "the file starts with its header");
  check(text.includes("formula@example.com,'=1+1"), "a formula cell is neutralised");
  check(!text.includes("gone@example.com"), "the filter is honoured");

  await page.goto(`${base}/dashboard/settings`);
  await page.click(".settings-tab[href='/dashboard/settings/exports']");
  await page.locator("#exports").waitFor();
  check((await page.locator("#exports tbody tr").first().getAttribute("data-status")) === "Ready", "the export is listed as ready");
  check((await page.locator("#exports").textContent()).includes("status: subscribed"), "the list shows its filters");
  await shot(page, "exports");

  await page.click("#exports tbody a");
  await page.locator("#export-status", { hasText: "Ready" }).waitFor();
  await shot(page, "export");
  const [again] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  check((await readFile(await again.path(), "utf8")) === text, "the stored file downloads again");
});
