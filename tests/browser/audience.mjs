// Drives the dashboard's Audience area in headless Chromium against a live Herald, saving a
// screenshot of every state (launch, checks and sign-in come from harness.mjs).
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (an admin), HERALD_MEMBER_EMAIL and
// HERALD_MEMBER_PASSWORD (a member of the team), HERALD_SCREENSHOTS (folder for PNGs).
// Run by `cargo test --test api browser` (tests/api/browser.rs), which starts Herald.

import { base, check, required, run, screenshots, signIn, signInAt, signOut } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const memberEmail = required("HERALD_MEMBER_EMAIL");
const memberPassword = required("HERALD_MEMBER_PASSWORD");
const shot = screenshots();

await run(shot, async ({ page }) => {
  const heading = (text) => page.locator("h1", { hasText: text }).waitFor();
  const notice = (text) => page.locator(".alert.success", { hasText: text }).waitFor();
  const contactRow = (address) => page.locator(`tr[data-email="${address}"]`);

  // Sign in; the sidebar has an Audience link.
  await signInAt(page, email, password);
  await page.click(".nav-item:has-text('Audience')");
  await heading("Contacts");
  check(await page.locator(".nav-item.active", { hasText: "Audience" }).count() === 1, "Audience is the current section");
  check(await page.locator(".tab.active", { hasText: "Contacts" }).count() === 1, "the Contacts tab is open");
  check((await page.locator(".empty h2").textContent()).includes("No contacts yet"), "empty list says so");
  await shot(page, "contacts-empty");

  // Properties: a refused key, then two properties.
  await page.click(".tab:has-text('Properties')");
  await heading("Properties");
  for (const key of ["email", "first_name", "last_name", "unsubscribed"]) {
    check(await page.locator(`tr[data-key="${key}"] .badge`, { hasText: "default" }).count() === 1, `default property ${key} listed`);
  }
  await page.fill("#property-key", "seats");
  await page.selectOption("#property-type", "number");
  await page.fill("#property-fallback", "many");
  await page.click("#property-form button[type=submit]");
  await page.locator("#form-error").waitFor();
  check((await page.locator("#form-error").textContent()).toLowerCase().includes("must be a number"), "a fallback of the wrong type is refused");
  await shot(page, "property-error");
  await page.fill("#property-key", "seats");
  await page.selectOption("#property-type", "number");
  await page.fill("#property-fallback", "1");
  await page.click("#property-form button[type=submit]");
  await page.locator('tr[data-key="seats"]').waitFor();
  await page.fill("#property-key", "plan");
  await page.selectOption("#property-type", "string");
  await page.fill("#property-fallback", "free");
  await page.click("#property-form button[type=submit]");
  await page.locator('tr[data-key="plan"]').waitFor();
  await notice("Property created.");
  check(await page.locator('tr[data-key="plan"]').count() === 1, "custom property listed");
  await shot(page, "properties");

  // Segments and topics.
  await page.click(".tab:has-text('Segments')");
  await heading("Segments");
  for (const name of ["Customers", "Beta testers"]) {
    await page.fill("#segment-name", name);
    await page.click("#segment-form button[type=submit]");
    await page.locator(`tr[data-segment="${name}"]`).waitFor();
  }
  await shot(page, "segments");
  await page.click(".tab:has-text('Topics')");
  await heading("Topics");
  await page.fill("#topic-name", "Newsletter");
  await page.fill("#topic-description", "Monthly news");
  await page.click("#topic-form button[type=submit]");
  await page.locator('tr[data-topic="Newsletter"]').waitFor();
  await page.fill("#topic-name", "Product updates");
  await page.check("input[name=default_subscription][value=opt_out]");
  await page.check("input[name=visibility][value=public]");
  await page.click("#topic-form button[type=submit]");
  await page.locator('tr[data-topic="Product updates"]').waitFor();
  const updatesRow = page.locator('tr[data-topic="Product updates"]');
  check((await updatesRow.textContent()).includes("Opt-out") && (await updatesRow.textContent()).includes("Public"), "topic default and visibility shown");
  await updatesRow.locator("a", { hasText: "Edit" }).click();
  await heading("Edit topic");
  await page.fill("#topic-description", "New features, once a month");
  await page.click("#topic-form button[type=submit]");
  await notice("Topic saved.");
  await shot(page, "topics");

  // Add manually: commas and new lines, one bad address, into a segment.
  await page.click(".tab:has-text('Contacts')");
  await page.click("#add-contacts");
  await heading("Add contacts");
  await page.fill("#emails", "ann@example.com, bo@example.com\nnot-an-email\n");
  await page.selectOption("#manual-segment", { label: "Customers" });
  await page.click("#manual-form button[type=submit]");
  await page.locator("#manual-result").waitFor();
  const result = await page.locator("#manual-result").textContent();
  check(result.includes("Added 2 contacts") && result.includes("not-an-email"), "two added, the bad address listed");
  check((await page.inputValue("#emails")).trim() === "not-an-email", "the refused address stays in the box");
  await shot(page, "add-manually");

  // Import a CSV: upload, map the columns, choose a segment, follow the import.
  const csv = [
    "E-mail,Given name,Plan,Seats,Notes",
    "cy@example.com,Cy,pro,3,vip",
    "dee@example.com,Dee,free,x,",
    "ANN@example.com,Annie,team,7,",
    "broken-address,Nope,free,1,",
    "eve@example.com,Eve,,,",
  ].join("\n");
  await page.setInputFiles("#file", { name: "people.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.click("#import-form button[type=submit]");
  await heading("Map the columns of people.csv");
  const columnSelect = (header) => page.locator(`tr[data-column="${header}"] select`);
  check(await columnSelect("E-mail").inputValue() === "email", "the email column is recognised");
  check(await columnSelect("Notes").inputValue() === "", "unknown columns start as 'Do not import'");
  check((await page.locator('tr[data-column="Given name"] .samples').textContent()).includes("Cy"), "the first rows are previewed");
  // Obvious headers are matched whatever their case: the user only checks them.
  check(await columnSelect("Given name").inputValue() === "first_name", "'Given name' is matched to the first name");
  check(await columnSelect("Plan").inputValue() === "p:plan", "'Plan' is matched to the plan property");
  check(await columnSelect("Seats").inputValue() === "p:seats", "'Seats' is matched to the seats property");
  check((await page.locator("#mapping-summary").textContent()).includes("Review before importing"), "a review line counts the columns to import");
  check(await page.locator("#import-topics label", { hasText: "Product updates" }).count() === 1, "the import can subscribe the contacts to topics");
  await columnSelect("Given name").selectOption("first_name");
  await columnSelect("Plan").selectOption("p:plan");
  await columnSelect("Seats").selectOption("p:seats");
  await page.selectOption("#segment_id", { label: "Beta testers" });
  await page.check("input[name=on_conflict][value=upsert]");
  await shot(page, "import-mapping");
  await page.click("#start-import");
  await heading("Import of people.csv");
  await page.locator('#import-progress[data-status="completed"]').waitFor({ timeout: 30_000 });
  const count = async (id) => (await page.locator(`#count-${id}`).textContent()).trim();
  check(await count("total") === "5", "five rows read");
  check(await count("created") === "2" && await count("updated") === "1" && await count("failed") === "2", "2 created, 1 updated, 2 failed");
  const failures = await page.locator("#import-failures").textContent();
  check(failures.includes("broken-address") && failures.includes("`seats` must be a number"), "failed rows listed with reasons");
  await shot(page, "import-done");

  // The list: everyone, search, status filter.
  await page.click("a:has-text('Back to contacts')");
  await heading("Contacts");
  for (const address of ["ann@example.com", "bo@example.com", "cy@example.com", "eve@example.com"]) {
    check(await contactRow(address).count() === 1, `${address} listed`);
  }
  await shot(page, "contacts");
  await page.fill("#search", "annie");
  await page.click(".filters button[type=submit]");
  await page.waitForURL(/q=annie/);
  check(await page.locator("tbody tr").count() === 1 && await contactRow("ann@example.com").count() === 1, "search by name finds Ann");
  await shot(page, "contacts-search");

  // The contact page: properties, segments, topics, history.
  await contactRow("ann@example.com").locator("a.contact-link").click();
  await heading("ann@example.com");
  const props = await page.locator("#contact-properties").textContent();
  check(props.includes("Annie") && props.includes("team") && props.includes("7"), "imported values shown");
  const segments = await page.locator("#contact-segments").textContent();
  check(segments.includes("Customers") && segments.includes("Beta testers"), "segments from the manual add and the import");
  check((await page.locator('#contact-topics tr[data-topic="Newsletter"]').textContent()).includes("Subscribed"), "opt-in topic by default");
  const history = await page.locator("#contact-history").textContent();
  check(history.includes("Added to segment Customers") && history.includes("Imported from CSV") && history.includes("Contact created"), "history lists the interactions");
  await shot(page, "contact");

  // Per-contact topic edit.
  const updates = page.locator('#contact-topics tr[data-topic="Product updates"]');
  await updates.locator("select").selectOption("opt_in");
  await updates.locator("button").click();
  await notice("Topic subscription saved.");
  check((await page.locator('#contact-topics tr[data-topic="Product updates"]').textContent()).includes("Subscribed"), "topic subscription changed");
  check((await page.locator("#contact-history").textContent()).includes("Subscribed to topic Product updates"), "the change is in the history");

  // Edit: a wrong number is refused and nothing changes; then a good edit, unsubscribed.
  await page.click("#edit-contact");
  await heading("Edit contact");
  check(await page.locator("#email").isDisabled(), "email cannot be edited");
  await page.fill("#last_name", "Lee");
  await page.fill('input[name="p:seats"]', "lots");
  await page.click(".contact-form button[type=submit]");
  await page.locator("#form-error").waitFor();
  check((await page.locator("#form-error").textContent()).toLowerCase().includes("must be a number"), "a wrong number is refused");
  await shot(page, "contact-edit-error");
  await page.fill('input[name="p:seats"]', "9");
  await page.check("#unsubscribed");
  await page.click(".contact-form button[type=submit]");
  await notice("Contact saved.");
  check((await page.locator("#contact-status").textContent()).trim() === "Unsubscribed", "status is Unsubscribed");
  check((await page.locator("#contact-properties").textContent()).includes("Lee"), "last name saved");
  await shot(page, "contact-edited");

  // Status filter.
  await page.goto(`${base}/dashboard/audience/contacts?status=unsubscribed`);
  check(await page.locator("tbody tr").count() === 1 && await contactRow("ann@example.com").count() === 1, "status filter: only Ann is unsubscribed");
  await page.goto(`${base}/dashboard/audience/contacts?status=subscribed`);
  check(await contactRow("ann@example.com").count() === 0 && await contactRow("bo@example.com").count() === 1, "status filter: subscribed contacts");
  await page.goto(`${base}/dashboard/audience/contacts`);

  // The bulk bar appears only with a selection and counts it; the page can be selected at once.
  check(/\d+ contacts?/.test(await page.locator("#contact-count").textContent()), "the list says how many contacts there are");
  check(!(await page.locator("#bulk-bar").isVisible()), "the bulk bar is hidden while nothing is selected");
  await page.check("#select-page");
  const onPage = await page.locator("tbody tr").count();
  check(await page.locator("#bulk-bar").isVisible(), "selecting shows the bulk bar");
  check((await page.locator("#selected-count").textContent()).includes(`${onPage} of ${onPage} on this page selected`), "the bar counts the selected contacts");
  await shot(page, "bulk-select-page");
  await page.uncheck("#select-page");
  check(!(await page.locator("#bulk-bar").isVisible()), "clearing the selection hides the bar again");

  // Bulk actions: add to a segment, subscribe to a topic, delete.
  await contactRow("bo@example.com").locator("input[type=checkbox]").check();
  await contactRow("eve@example.com").locator("input[type=checkbox]").check();
  await page.click("summary:has-text('Add to segments')");
  await page.locator(".menu-panel label", { hasText: "Beta testers" }).locator("input").check();
  await shot(page, "bulk-segments");
  await page.click("#bulk-add-segments");
  await notice("added to the segments");
  await contactRow("bo@example.com").locator("input[type=checkbox]").check();
  await contactRow("eve@example.com").locator("input[type=checkbox]").check();
  await page.click("summary:has-text('Subscribe to topics')");
  await page.locator(".menu-panel label", { hasText: "Product updates" }).locator("input").check();
  await page.click("#bulk-subscribe");
  await notice("subscribed to the topics");
  await page.goto(`${base}/dashboard/audience/segments`);
  check((await page.locator('tr[data-segment="Beta testers"] .num').textContent()).trim() === "4", "Beta testers now has 4 contacts");
  await page.click('tr[data-segment="Beta testers"] a');
  await page.waitForURL(/segment=/);
  check(await page.locator("tbody tr").count() === 4, "a segment's link lists its contacts");
  await page.goto(`${base}/dashboard/audience/contacts`);
  await contactRow("bo@example.com").locator("input[type=checkbox]").check();
  await page.click("#bulk-delete");
  await heading("Delete 1 contact?");
  await shot(page, "bulk-delete-confirm");
  await page.click("button.danger");
  await notice("The selected contacts were deleted.");
  check(await contactRow("bo@example.com").count() === 0, "bulk-deleted contact gone");
  await shot(page, "contacts-after-bulk");

  // A member manages contacts but not the properties, segments or topics themselves.
  await signOut(page);
  await signIn(page, memberEmail, memberPassword);
  await page.goto(`${base}/dashboard/audience/properties`);
  check(await page.locator("#property-form").count() === 0, "a member has no property form");
  await page.goto(`${base}/dashboard/audience/segments`);
  check(await page.locator("#segment-form").count() === 0, "a member has no segment form");
  await shot(page, "member-segments");
  await page.goto(`${base}/dashboard/audience/contacts`);
  check(await contactRow("ann@example.com").count() === 1, "a member sees the contacts");
}, { viewport: { width: 1280, height: 860 } });
