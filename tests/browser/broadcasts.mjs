// Drives the Broadcasts pages in headless Chromium against a live Herald (launch, checks and
// sign-in come from harness.mjs), desktop then phone (390×844), saving a screenshot of every
// state: the empty list, the editor with its live preview (Markdown, styles, placeholder
// helper, HTML mode), a test email, the send confirmation, the performance page updating
// itself, Settings → Branding, and the hosted unsubscribe page (topics, then everything).
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD, HERALD_API_KEY, HERALD_SCREENSHOTS,
// HERALD_SEGMENT (a segment of three test-address contacts), HERALD_UNSUBSCRIBE_URL (the
// unsubscribe link of one of them). Run by `cargo test --test api browser_broadcasts`
// (tests/api/browser_broadcasts.rs), which starts Herald and prepares the audience.

import { base, callApi, check, required, run, screenshots, signInAt } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const apiKey = required("HERALD_API_KEY");
const segment = required("HERALD_SEGMENT");
const unsubscribeUrl = required("HERALD_UNSUBSCRIBE_URL");
const api = (method, path, body) => callApi(apiKey, method, path, body);

const desktop = screenshots("desktop-");
await run(desktop, async ({ page }) => {
  const shot = desktop;
  const heading = (text) => page.locator("h1", { hasText: text }).waitFor();
  const notice = (text) => page.locator(".alert.success", { hasText: text }).waitFor();
  const preview = () => page.frameLocator("#preview").locator("body");

  await signInAt(page, email, password);
  await page.click(".nav-item:has-text('Broadcasts')");
  await heading("Broadcasts");
  check(await page.locator(".nav-item.active", { hasText: "Broadcasts" }).count() === 1, "Broadcasts is the current section");
  check(await page.locator(".empty", { hasText: "No broadcasts yet" }).count() === 1, "empty list");
  await shot(page, "broadcasts-empty");

  // The editor: the starting Markdown shows in the live preview at once.
  await page.click("#new-broadcast");
  await heading("New broadcast");
  await preview().locator("h1", { hasText: "Hello there" }).waitFor();
  check(true, "the live preview shows the starting content with fallbacks");
  await page.fill("#b-name", "December news");
  await page.selectOption("#b-segment", segment);
  await page.fill("#b-from", "Acme News <news@news.example>");
  await page.fill("#b-subject", "What is new in December");
  await page.fill("#b-markdown", "# Hi {{{FIRST_NAME|there}}}\n\nRead [the news](https://news.example/december).\n\n");
  await preview().locator("h1", { hasText: "Hi there" }).waitFor();
  check(true, "typing updates the preview");

  // Placeholder helper: inserts at the cursor of the visible editor.
  await page.selectOption("#placeholder", "{{{RESEND_UNSUBSCRIBE_URL}}}");
  await page.locator("#b-markdown").press("End");
  await page.click("#insert-placeholder");
  const typed = await page.inputValue("#b-markdown");
  check(typed.includes("{{{RESEND_UNSUBSCRIBE_URL}}}"), "the placeholder helper inserts into the Markdown");

  // Global and block styles apply in the preview.
  await page.click("#styles summary");
  await page.fill("#s-link", "#ff6600");
  await page.selectOption("#s-h1-align", "center");
  await preview().locator("a", { hasText: "the news" }).waitFor();
  let linkColour = "";
  for (let i = 0; i < 50 && linkColour !== "rgb(255, 102, 0)"; i += 1) {
    linkColour = await preview().locator("a", { hasText: "the news" }).evaluate((el) => getComputedStyle(el).color).catch(() => "");
    if (linkColour !== "rgb(255, 102, 0)") await new Promise((r) => setTimeout(r, 200));
  }
  check(linkColour === "rgb(255, 102, 0)", `the link colour applies in the preview (${linkColour})`);
  const align = await preview().locator("h1").evaluate((el) => getComputedStyle(el).textAlign);
  check(align === "center", `the heading's block style applies (${align})`);
  await shot(page, "broadcast-editor-markdown");

  await page.click("#save");
  await notice("Broadcast created as a draft.");
  await heading("December news");
  await preview().locator("h1", { hasText: "Hi there" }).waitFor();
  await shot(page, "broadcast-draft");

  // HTML mode: the Markdown editor hides, the HTML one shows.
  await page.check("#mode-html");
  check(await page.locator("#b-markdown").isHidden(), "HTML mode hides the Markdown editor");
  check(await page.locator("#b-html").isVisible(), "HTML mode shows the HTML editor");
  await page.check("#mode-markdown");
  check(await page.locator("#b-markdown").isVisible(), "back to Markdown");

  // Test email.
  await page.fill("#test-to", "delivered+me@resend.dev");
  await page.click("#send-test");
  await notice("Test email sent to delivered+me@resend.dev.");
  await shot(page, "broadcast-test-sent");

  // Send, behind a confirmation.
  await page.click("#send");
  await heading("Send “December news”?");
  check(await page.locator("#send-count", { hasText: "3 contacts" }).count() === 1, "the confirmation names the audience size");
  await shot(page, "broadcast-send-confirm");
  await page.click("#send-now");
  check(await page.locator("#send-form").count() === 1, "without the tick box nothing is sent");
  await page.check("#confirm-send");
  await page.click("#send-now");
  await page.locator("#figures").waitFor();
  await page.locator("#performance[data-status='Sent']").waitFor({ timeout: 30_000 });
  check(true, "the performance page updates itself until the broadcast is sent");
  const recipients = (await page.locator("#figure-recipients .figure-value").innerText()).trim();
  check(recipients === "3", `three recipients (${recipients})`);
  await page.locator("#about-rates", { hasText: "Open rates are approximate" }).waitFor();
  await shot(page, "broadcast-performance");

  await page.click(".crumbs a:has-text('Broadcasts')");
  await heading("Broadcasts");
  check(await page.locator("tr[data-broadcast='December news'] .badge", { hasText: "Sent" }).count() === 1, "the list shows it sent");
  await shot(page, "broadcasts-list");

  // Settings → Branding.
  await page.click(".nav-item:has-text('Settings')");
  await heading("Settings");
  await page.click(".settings-tab:has-text('Branding')");
  await page.locator("h2", { hasText: "Branding" }).waitFor();
  await page.fill("#b-name", "Acme News");
  await page.fill("#b-footer", "Acme Inc, 1 Market Street");
  await page.fill("#b-accent", "#ff6600");
  await page.click("#save-branding");
  await notice("Branding saved.");
  await shot(page, "settings-branding");

  // The hosted unsubscribe page, signed out.
  await page.goto(unsubscribeUrl);
  await page.locator("h1", { hasText: "Email preferences" }).waitFor();
  check(await page.locator("#brand-name", { hasText: "Acme News" }).count() === 1, "the team's branding");
  const accent = await page.locator("#unsubscribe-all").evaluate((el) => getComputedStyle(el).backgroundColor);
  check(accent === "rgb(255, 102, 0)", `the accent colour applies (${accent})`);
  await shot(page, "unsubscribe-page");
  await page.uncheck("input[name^='topic:']");
  await page.click("#save-topics");
  await page.locator("#done", { hasText: "Your choices are saved." }).waitFor();
  check(!(await page.isChecked("input[name^='topic:']")), "the topic choice is kept");
  await page.click("#unsubscribe-all");
  await page.locator("#done", { hasText: "You are unsubscribed" }).waitFor();
  await shot(page, "unsubscribe-done");
  const contacts = await api("GET", `/contacts?segment_id=${segment}`);
  check(contacts.body.data.some((c) => c.unsubscribed), "the contact is unsubscribed");
}, { viewport: { width: 1280, height: 900 } });

// Phone: the same pages at 390×844.
const phone = screenshots("phone-");
await run(phone, async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signInAt(page, email, password);
  await page.goto(`${base}/dashboard/api-keys`);
  await page.click(".nav-item:has-text('Broadcasts')");
  await page.locator("h1", { hasText: "Broadcasts" }).waitFor();
  await phone(page, "broadcasts-list");
  await page.click("a:has-text('December news')");
  await page.locator("#figures").waitFor();
  await phone(page, "broadcast-performance");
  await page.goto(`${base}/dashboard/broadcasts/new`);
  await page.locator("h1", { hasText: "New broadcast" }).waitFor();
  await phone(page, "broadcast-editor");
  await page.goto(unsubscribeUrl);
  await page.locator("h1", { hasText: "Email preferences" }).waitFor();
  await phone(page, "unsubscribe-page");
}, { viewport: { width: 390, height: 844 } });
