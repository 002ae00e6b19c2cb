// Drives the dashboard's Templates pages in headless Chromium against a live Herald, saving a
// screenshot of every state (launch, checks and sign-in come from harness.mjs): create (a
// refused form first), preview, publish, an edit kept as unpublished changes, sending through
// the API with the published version, duplicate and delete.
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (a team member), HERALD_API_KEY,
// HERALD_SCREENSHOTS. Run by `cargo test --test api browser_templates`
// (tests/api/browser_templates.rs), which starts Herald.

import { callApi, check, required, run, screenshots, signInAt } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const apiKey = required("HERALD_API_KEY");
const shot = screenshots();
const api = (method, path, body) => callApi(apiKey, method, path, body);

await run(shot, async ({ page }) => {
  const heading = (text) => page.locator("h1", { hasText: text }).waitFor();
  const notice = (text) => page.locator(".alert.success", { hasText: text }).waitFor();
  const preview = () => page.frameLocator("#preview").locator("body");

  // Sign in; the sidebar has a Templates link.
  await signInAt(page, email, password);
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
  check(await page.locator("#delete-template.button.danger").count() === 1, "Delete looks like a danger button");
  await page.click("a:has-text('Delete this template')");
  await heading("Delete “Order shipped (copy)”?");
  await shot(page, "template-delete-confirm");
  await page.click("#confirm-delete");
  await notice("Template deleted.");
  check(await page.locator("tr[data-template]").count() === 1, "the copy is gone");
}, { viewport: { width: 1280, height: 900 } });
