// Drives the dashboard's Emails and Webhooks pages in headless Chromium against a live
// Herald, saving a screenshot of every state (launch, checks and sign-in come from
// harness.mjs).
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (an admin), HERALD_API_KEY (a
// full-access key: the script sends its emails through the API, as an application would),
// HERALD_RECEIVER (a webhook endpoint the runner listens on), HERALD_SCREENSHOTS.
// Run by `cargo test --test api browser_emails_webhooks`
// (tests/api/browser_emails_webhooks.rs), which starts Herald and the endpoint. Emails go to
// Resend's test addresses (delivered@ / bounced@resend.dev), whose outcomes Herald's worker
// plays out, so the timelines have events.

import { readFile } from "node:fs/promises";
import { base, callApi, check, required, run, screenshots, signIn } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const apiKey = required("HERALD_API_KEY");
const receiver = required("HERALD_RECEIVER");
const shot = screenshots();

// A 1×1 PNG, a small PDF and a CSV.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n").toString("base64");
const CSV_TEXT = "month,revenue\nJanuary,1200\nFebruary,1350\n";

async function send(body) {
  const reply = await callApi(apiKey, "POST", "/emails", body);
  if (reply.status !== 200) throw new Error(`sending failed: ${JSON.stringify(reply.body)}`);
  return reply.body.id;
}

/** Waits until the worker has played the email out (its last event is past `queued`). */
async function settled(id) {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const reply = await callApi(apiKey, "GET", `/emails/${id}`);
    if (reply.body.last_event !== "queued") return reply.body.last_event;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`email ${id} stayed queued`);
}

await run(shot, async ({ page }) => {
  const heading = (text) => page.locator("h1", { hasText: text }).waitFor();
  const rows = page.locator("#emails tbody tr");
  const rowTo = (address) => page.locator(`#emails tr[data-to="${address}"]`);

  await page.goto(`${base}/login`);
  await signIn(page, email, password);
  await page.click("nav.nav a[href='/dashboard/emails']");
  await heading("Emails");
  check(await page.locator(".nav-item.active", { hasText: "Emails" }).count() === 1, "the sidebar marks Emails as the current page");
  check(await page.locator(".empty", { hasText: "No emails yet" }).count() === 1, "an empty list says so");
  await shot(page, "emails-empty");

  // An application sends three emails; the worker plays out the test addresses.
  const report = await send({
    from: "Acme Reports <reports@resend.dev>",
    to: "delivered@resend.dev",
    cc: "delivered+cc@resend.dev",
    reply_to: "finance@resend.dev",
    subject: "Quarterly report",
    html: '<div style="font-family:Georgia,serif;padding:24px;background:#fdf6e3"><h1 style="color:#b58900">Quarterly report</h1><p>Revenue is <strong>up 12%</strong>. The figures are attached.</p></div>',
    text: "Quarterly report\nRevenue is up 12%. The figures are attached.",
    headers: { "X-Report-Period": "2026-Q1" },
    tags: [{ name: "category", value: "report" }],
    attachments: [
      { filename: "chart.png", content: PNG },
      { filename: "report.pdf", content: PDF },
      { filename: "figures.csv", content: Buffer.from(CSV_TEXT).toString("base64") },
    ],
  });
  const invoice = await send({
    from: "Acme Billing <billing@resend.dev>",
    to: "bounced@resend.dev",
    subject: "Your invoice",
    html: "<p>Invoice attached.</p>",
    tags: [{ name: "category", value: "invoice" }],
  });
  const welcome = await send({
    from: "Acme <hello@resend.dev>",
    to: "delivered+ann@resend.dev",
    subject: "Welcome aboard",
    html: "<p>Welcome!</p>",
    tags: [{ name: "category", value: "welcome" }],
  });
  check(await settled(report) === "delivered", "the report was delivered");
  check(await settled(invoice) === "bounced", "the invoice bounced");
  await settled(welcome);

  await page.reload();
  await heading("Emails");
  check(await rows.count() === 3, "three emails listed");
  check((await rows.first().getAttribute("data-to")) === "delivered+ann@resend.dev", "newest first");
  check((await rowTo("bounced@resend.dev").locator(".badge").textContent()).trim() === "Bounced", "the status badge reads Bounced");
  check((await rowTo("delivered@resend.dev").locator(".badge").textContent()).trim() === "Delivered", "the status badge reads Delivered");
  check((await rowTo("delivered@resend.dev").locator(".email-subject").textContent()).trim() === "Quarterly report", "the subject column");
  await shot(page, "emails-list");

  // Filters: status, then tag and subject together.
  await page.selectOption("#filter-status", "bounced");
  await page.click("#apply-filters");
  await page.waitForURL(/status=bounced/);
  await rowTo("delivered@resend.dev").waitFor({ state: "detached" });
  check(await rows.count() === 1 && (await rowTo("bounced@resend.dev").count()) === 1, "status filter: only the bounced email");
  await shot(page, "emails-filter-status");
  await page.selectOption("#filter-status", "");
  await page.fill("#filter-tag", "category:welcome");
  await page.click("#apply-filters");
  await page.waitForURL(/tag=category%3Awelcome/);
  await rowTo("delivered+ann@resend.dev").waitFor();
  check(await rows.count() === 1, "tag filter name:value: only the welcome email");
  await page.fill("#filter-tag", "category");
  await page.fill("#filter-subject", "REPORT");
  await page.fill("#filter-to", "delivered@");
  await page.click("#apply-filters");
  await page.waitForURL(/subject=REPORT/);
  await rowTo("delivered@resend.dev").waitFor();
  check(await rows.count() === 1, "tag, subject (any case) and recipient combine: only the report");
  await shot(page, "emails-filter-combined");
  await page.fill("#filter-subject", "no such subject");
  await page.click("#apply-filters");
  await page.locator(".empty", { hasText: "No emails match" }).waitFor();
  await page.click("#clear-filters");
  await page.waitForURL(`${base}/dashboard/emails`);
  await rows.nth(2).waitFor();
  check(await rows.count() === 3, "Clear shows everything again");

  // The report's page: headers, timeline, preview, text, attachments.
  await rowTo("delivered@resend.dev").locator("a.email-link").click();
  await heading("Quarterly report");
  check((await page.locator("#email-status").textContent()).trim() === "Delivered", "status badge on the email page");
  check((await page.locator('[data-header="from"]').textContent()).trim() === "Acme Reports <reports@resend.dev>", "From header");
  check((await page.locator('[data-header="cc"]').textContent()).includes("delivered+cc@resend.dev"), "Cc header");
  check((await page.locator('[data-header="reply-to"]').textContent()).includes("finance@resend.dev"), "Reply-To header");
  check((await page.locator('[data-custom-header="X-Report-Period"]').textContent()).trim() === "2026-Q1", "custom header");
  check((await page.locator('#email-tags [data-tag="category"]').textContent()).includes("report"), "tag shown");
  const events = await page.locator("#email-events li").evaluateAll((items) => items.map((li) => li.dataset.event));
  check(events.join(",") === "queued,sent,delivered,sent,delivered", `timeline in order (${events.join(", ")})`);
  check(await page.locator("#email-events time").count() === 5, "every event has its time");
  const frame = page.frameLocator("#preview-frame");
  await frame.locator("h1", { hasText: "Quarterly report" }).waitFor();
  check((await page.locator("#preview-frame").getAttribute("sandbox")) === "", "the preview frame is sandboxed (no scripts, no same origin)");
  check(!(await page.content()).includes("up 12%</strong>"), "the email's HTML is not in the dashboard page itself");
  check((await page.locator("#text-version").textContent()).includes("Revenue is up 12%."), "text version shown");
  const kinds = await page.locator("#attachments .attachment").evaluateAll((items) => items.map((li) => li.dataset.kind));
  check(kinds.join(",") === "image,pdf,spreadsheet", "attachments with their kinds: image, PDF, spreadsheet");
  check(await page.locator("#attachments .file-icon svg").count() === 3, "each attachment has its icon");
  const csv = page.locator("#attachments .attachment.spreadsheet a.attachment-name");
  check((await csv.textContent()).trim() === "figures.csv", "the spreadsheet is figures.csv");
  const [download] = await Promise.all([page.waitForEvent("download"), csv.click()]);
  check(download.suggestedFilename() === "figures.csv", "the download keeps the file name");
  check((await readFile(await download.path(), "utf8")) === CSV_TEXT, "the downloaded file is the attachment");
  // Chromium paints a sandboxed (out-of-process) frame once it has been in view.
  await page.locator("#preview-frame").scrollIntoViewIfNeeded();
  await shot(page, "email-page");

  // The bounced invoice: the reason is on the timeline.
  await page.click("nav.crumbs a[href='/dashboard/emails']");
  await heading("Emails");
  await rowTo("bounced@resend.dev").locator("a.email-link").click();
  await heading("Your invoice");
  const bounce = page.locator('#email-events li[data-event="bounced"]');
  check((await bounce.locator(".event-reason").textContent()).includes("550 5.1.1"), "the bounce reason is shown");
  await shot(page, "email-bounced");

  // Metrics: the same emails counted, the bounce rate held against the providers' limit.
  await page.click("nav.nav a[href='/dashboard/metrics']");
  await heading("Metrics");
  check(await page.locator("#figure-bounced").count() === 1, "the metrics page counts bounces");
  check(await page.locator("#limit-bounce-rate").count() === 1, "the bounce rate is held against its limit");
  await shot(page, "metrics");

  // Webhooks: add one through the form.
  await page.click("nav.nav a[href='/dashboard/webhooks']");
  await heading("Webhooks");
  check(await page.locator(".empty", { hasText: "No webhooks yet" }).count() === 1, "no webhooks yet");
  await page.click("#add-webhook");
  await heading("Add webhook");
  await page.fill("#endpoint", receiver);
  await page.click("#save-webhook");
  await page.locator("#form-error").waitFor();
  check((await page.locator("#form-error").textContent()).includes("at least one event type"), "the service's validation shows in the form");
  check((await page.inputValue("#endpoint")) === receiver, "the form keeps the URL");
  await page.check('input[name="event:email.delivered"]');
  await page.check('input[name="event:email.bounced"]');
  await shot(page, "webhook-form");
  await page.click("#save-webhook");
  await page.locator("#notice", { hasText: "Webhook added." }).waitFor();
  const webhookId = new URL(page.url()).pathname.split("/").pop();
  check((await page.locator("#webhook-endpoint").textContent()).trim() === receiver, "the webhook page shows the endpoint");
  const api = (await callApi(apiKey, "GET", `/webhooks/${webhookId}`)).body;
  check(api.events.join(",") === "email.delivered,email.bounced", "the API sees the chosen events");
  check(!(await page.content()).includes(api.signing_secret), "the secret is not in the page until asked");
  await page.click("#reveal-secret");
  await page.locator("#secret-value").waitFor();
  check((await page.locator("#secret-value").textContent()).trim() === api.signing_secret, "Reveal shows the signing secret");
  check(new URL(page.url()).pathname === `/dashboard/webhooks/${webhookId}`, "revealing stays on the page");

  // An email to a test address: its delivered event reaches the endpoint and is listed.
  await settled(await send({ from: "Acme <hello@resend.dev>", to: "delivered@resend.dev", subject: "Ping", text: "ping" }));
  const deliveries = page.locator("#deliveries tbody tr");
  for (let attempt = 0; attempt < 150 && (await deliveries.count()) === 0; attempt += 1) {
    await page.waitForTimeout(100);
    await page.reload();
  }
  check(await deliveries.count() === 1, "the delivery is listed");
  check((await deliveries.first().getAttribute("data-event")) === "email.delivered", "the delivered event was sent");
  check((await deliveries.first().locator(".badge").textContent()).trim() === "200", "the endpoint answered 200");
  await shot(page, "webhook-page");

  // Edit the events.
  await page.click("#edit-webhook");
  await heading("Edit webhook");
  check(await page.isChecked('input[name="event:email.bounced"]'), "the form shows the current events");
  await page.uncheck('input[name="event:email.bounced"]');
  await page.check('input[name="event:email.complained"]');
  await page.click("#save-webhook");
  await page.locator("#notice", { hasText: "Webhook updated." }).waitFor();
  const chips = await page.locator("#webhook-events .chip").allTextContents();
  check(chips.join(",") === "email.delivered,email.complained", "the new events are shown");
  check((await callApi(apiKey, "GET", `/webhooks/${webhookId}`)).body.events.join(",") === "email.delivered,email.complained", "and saved");
  await shot(page, "webhook-edited");

  // Disable.
  await page.click("#toggle-webhook");
  await page.locator("#notice", { hasText: "Webhook disabled" }).waitFor();
  check((await page.locator("#webhook-status").textContent()).trim() === "Disabled", "the badge reads Disabled");
  check((await callApi(apiKey, "GET", `/webhooks/${webhookId}`)).body.status === "disabled", "the API sees it disabled");
  await shot(page, "webhook-disabled");

  // Delete, with a confirmation step.
  await page.click("#delete-webhook");
  await heading("Delete this webhook?");
  check((await callApi(apiKey, "GET", `/webhooks/${webhookId}`)).status === 200, "asking is not deleting");
  await shot(page, "webhook-delete-confirmation");
  await page.click("#confirm-delete");
  await page.locator(".alert.success", { hasText: "Webhook deleted." }).waitFor();
  check(await page.locator(`#webhook-${webhookId}`).count() === 0, "the webhook is no longer listed");
  check((await callApi(apiKey, "GET", `/webhooks/${webhookId}`)).status === 404, "the API no longer knows it");
  await shot(page, "webhooks-after-delete");

  // A scheduled email shows its state, with Reschedule and Cancel.
  const later = await send({ from: "Acme <news@resend.dev>", to: "delivered@resend.dev", subject: "Next week", html: "<p>Soon</p>", scheduled_at: "in 2 days" });
  await page.goto(`${base}/dashboard/emails`);
  check((await rowTo("delivered@resend.dev").first().textContent()).includes("Scheduled for"), "the list says when a scheduled email goes");
  await page.goto(`${base}/dashboard/emails/${later}`);
  check((await page.locator("#email-when").textContent()).startsWith("Scheduled for"), "the page says Scheduled for, not Sent");
  await page.fill("#scheduled_at", "2020-01-01T09:00");
  await page.click("#reschedule");
  await page.locator("#scheduled_at-error").waitFor();
  check((await page.locator("#scheduled_at-error").textContent()).includes("Pick a time in the future."), "a past time is refused next to the field, in plain words");
  check(await page.inputValue("#scheduled_at") === "2020-01-01T09:00", "the form keeps what was typed");
  await shot(page, "email-reschedule-error");
  await page.click("#cancel-email");
  await page.locator("#email-notice", { hasText: "canceled" }).waitFor();
  check((await page.locator("#email-status").textContent()).trim() === "Canceled", "a canceled email reads Canceled");
  check((await page.locator("#email-when").textContent()).startsWith("Canceled"), "and its date says so too");
  await shot(page, "email-canceled");

  // The Suppressions page: add by hand, find, remove.
  await page.click("nav.nav a[href='/dashboard/suppressions']");
  await heading("Suppressions");
  await page.fill("#suppress-email", "nobody-home@example.com");
  await page.click("#add-suppression");
  await page.locator("#notice", { hasText: "was added" }).waitFor();
  const suppressed = page.locator("#suppressions tr[data-email='nobody-home@example.com']");
  check(await suppressed.count() === 1, "the address is listed");
  check((await suppressed.textContent()).includes("Added by hand"), "with its origin");
  await shot(page, "suppressions");
  await page.fill("#suppression-search", "NOBODY-HOME@example.com");
  await page.locator("form[role=search] button[type=submit]").click();
  await page.waitForURL(/q=/);
  check(await page.locator("#suppressions tbody tr").count() === 1, "search finds the address whatever its case");
  await suppressed.locator("button", { hasText: "Remove" }).click();
  await page.locator("#notice", { hasText: "was removed" }).waitFor();
  check(await page.locator("#suppressions tr[data-email='nobody-home@example.com']").count() === 0, "removed from the list");
  await shot(page, "suppressions-after-remove");
});
