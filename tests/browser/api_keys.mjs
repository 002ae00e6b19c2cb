// Drives the dashboard's API Keys page in headless Chromium against a live Herald, saving a
// screenshot of every state (launch, checks and sign-in come from harness.mjs).
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (an admin), HERALD_DOMAIN (a domain
// of the admin's team), HERALD_IDLE_KEY (a key unused for over 30 days), HERALD_MEMBER_EMAIL
// and HERALD_MEMBER_PASSWORD (a member of the team), HERALD_SCREENSHOTS (folder for PNGs).
// Run by `cargo test --test api browser` (tests/api/browser.rs), which starts Herald.

import { base, callApi, check, required, run, screenshots, signIn, signOut } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const domain = required("HERALD_DOMAIN");
const idleKey = required("HERALD_IDLE_KEY");
const memberEmail = required("HERALD_MEMBER_EMAIL");
const memberPassword = required("HERALD_MEMBER_PASSWORD");
const shot = screenshots();

await run(shot, async ({ page }) => {
  const rowOf = (name) => page.locator("tr", { has: page.locator(".key-name", { hasText: name }) });

  // Signed out, the dashboard sends us to the login page.
  await page.goto(`${base}/dashboard/api-keys`);
  check(new URL(page.url()).pathname === "/login", "signed-out visit lands on /login");
  await shot(page, "login");

  await page.fill("#email", email);
  await page.fill("#password", "certainly-not-the-password");
  await page.click("button[type=submit]");
  await page.locator(".alert.error").waitFor();
  check((await page.locator(".alert.error").textContent()).includes("Wrong email or password"), "wrong password is refused");
  await shot(page, "login-wrong-password");

  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.locator("h1", { hasText: "Emails" }).waitFor();
  check(new URL(page.url()).pathname === "/dashboard/emails", "signing in opens the Emails overview");
  await page.click("nav.nav a[href='/dashboard/api-keys']");
  await page.locator("h1", { hasText: "API Keys" }).waitFor();
  check(await rowOf("Default key").count() === 1, "the first key is listed");
  check(await rowOf(idleKey).locator(".last-used.idle").count() === 1, "a key unused for 30 days has the 'not used' indicator");
  check((await page.locator("#inactive-hint").textContent()).includes("Consider deleting"), "inactive keys get a deletion hint");
  await shot(page, "api-keys");

  // Create: a name, Full access; the token is shown once, with a copy button.
  await page.click("#create-key");
  await page.locator("h1", { hasText: "Create API key" }).waitFor();
  check(!(await page.locator("#domain_id").isVisible()), "domain choice hidden for Full access");
  await page.check("input[value=sending_access]");
  check(await page.locator("#domain_id").isVisible(), "domain choice shown for Sending access");
  check((await page.locator("#domain_id option").allTextContents()).includes(domain), "team domains are offered");
  await page.check("input[value=full_access]");
  await shot(page, "create-form");

  await page.fill("#name", "   ");
  await page.click(".key-form button[type=submit]");
  await page.locator("#form-error").waitFor();
  check((await page.locator("#form-error").textContent()).includes("Fill in this field."), "service validation error shown in plain words");
  check(await page.locator("#name ~ #form-error.field-error").count() === 1, "the error sits next to its field");
  await shot(page, "create-form-error");

  await page.fill("#name", "Browser test key");
  await page.click(".key-form button[type=submit]");
  await page.locator("#new-token").waitFor();
  const token = (await page.locator("#new-token").textContent()).trim();
  check(/^re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$/.test(token), "new token shown");
  await page.click("[data-copy=new-token]");
  await page.locator("[data-copy=new-token]", { hasText: "Copied" }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === token, "copy button puts the token on the clipboard");
  check(new URL(page.url()).pathname === "/dashboard/api-keys", "after creating, the address is the list page");
  await shot(page, "token-shown-once");

  await page.reload();
  await page.locator("h1", { hasText: "API Keys" }).waitFor();
  check(await page.locator("#new-token").count() === 0, "after a reload the token is gone");
  check(!(await page.content()).includes(token), "the page no longer contains the token");
  const row = rowOf("Browser test key");
  check(await row.count() === 1, "the new key is listed");
  check(await row.locator(".last-used.never").count() === 1, "new key has the 'never used' indicator");
  check((await row.locator(".last-used-text").textContent()).trim() === "Never", "new key reads 'Never'");
  check((await row.locator(".requests").textContent()).trim() === "0", "new key has no requests");
  await shot(page, "list-new-key-never-used");

  // Use the key against the API; the request log updates last-used shortly after.
  const listed = await callApi(token, "GET", "/api-keys");
  check(listed.status === 200 && listed.body.object === "list", "the new key works against the API");
  for (let attempt = 0; attempt < 100; attempt += 1) {
    await page.reload();
    if (await row.locator(".last-used.recent").count() === 1) break;
    await page.waitForTimeout(100);
  }
  check(await row.locator(".last-used.recent").count() === 1, "used key shows the 'recently used' indicator");
  check((await row.locator(".last-used-text").textContent()).trim() === "just now", "last used reads 'just now'");
  check((await row.locator(".requests").textContent()).trim() === "1", "request count is 1");
  await shot(page, "list-key-used");

  // Edit: rename, Sending access, restricted to the domain.
  await row.locator("a", { hasText: "Edit" }).click();
  await page.locator("h1", { hasText: "Edit API key" }).waitFor();
  check(await page.inputValue("#name") === "Browser test key", "edit form shows the current name");
  await page.fill("#name", "Browser sending key");
  await page.check("input[value=sending_access]");
  await page.selectOption("#domain_id", { label: domain });
  await shot(page, "edit-form");
  await page.click(".key-form button[type=submit]");
  await page.locator(".alert.success", { hasText: "API key updated." }).waitFor();
  const edited = rowOf("Browser sending key");
  check(await edited.count() === 1, "renamed key listed");
  check((await edited.locator(".badge").textContent()).trim() === "Sending access", "permission changed");
  check((await edited.textContent()).includes(domain), "domain shown");
  check(await rowOf("Browser test key").count() === 0, "old name gone");
  await shot(page, "list-after-edit");
  const restricted = await callApi(token, "GET", "/api-keys");
  check(restricted.status === 401 && restricted.body.name === "restricted_api_key", "the API now treats it as a sending key");

  // Delete, with a confirmation step.
  await edited.locator("a", { hasText: "Delete" }).click();
  await page.locator("h1", { hasText: "Delete “Browser sending key”?" }).waitFor();
  await shot(page, "delete-confirmation");
  await page.click("button.danger");
  await page.locator(".alert.success", { hasText: "API key deleted." }).waitFor();
  check(await rowOf("Browser sending key").count() === 0, "deleted key no longer listed");
  check(await rowOf("Default key").count() === 1, "other keys stay");
  await shot(page, "list-after-delete");
  const revoked = await callApi(token, "GET", "/api-keys");
  check(revoked.status === 403 && revoked.body.name === "invalid_api_key", "the deleted key no longer works");

  // Sign out.
  await signOut(page);
  await page.goto(`${base}/dashboard/api-keys`);
  check(new URL(page.url()).pathname === "/login", "signed out for good");

  // A member sees the keys but none of the buttons that change them.
  await signIn(page, memberEmail, memberPassword);
  await page.click("nav.nav a[href='/dashboard/api-keys']");
  await page.locator("h1", { hasText: "API Keys" }).waitFor();
  check(await rowOf("Default key").count() === 1, "a member sees the keys");
  check(await page.locator("#create-key").count() === 0, "a member has no create button");
  check(await page.locator("a", { hasText: "Edit" }).count() === 0, "a member has no edit buttons");
  await shot(page, "member-view");
}, { clipboard: true });
