// Drives Settings (Team, Your account) in headless Chromium against a live Herald: an admin
// invites a member, the member accepts the link in another browser, the admin changes roles
// and removes the member (whose page then goes to sign-in), and the admin changes the
// password. Screenshots of every state (launch, checks and sign-in come from harness.mjs).
//
// Environment: HERALD_URL, HERALD_EMAIL, HERALD_PASSWORD (an admin), HERALD_SCREENSHOTS.
// Run by `cargo test --test api browser_settings` (tests/api/browser_settings.rs).

import { base, check, required, run, screenshots, signInAt } from "./harness.mjs";

const email = required("HERALD_EMAIL");
const password = required("HERALD_PASSWORD");
const shot = screenshots();

await run(shot, async ({ page, browser }) => {
  await signInAt(page, email, password);
  await page.click("a.nav-item[href='/dashboard/settings']");
  await page.locator("h2", { hasText: "Members" }).waitFor();
  check(new URL(page.url()).pathname === "/dashboard/settings/team", "Settings opens on Team");
  check(await page.locator(".settings-tab.active").textContent() === "Team", "the Team tab is current");
  check((await page.locator("table.members").textContent()).includes(email), "the admin is listed");
  await shot(page, "team");

  // Invite: no sender configured, so the page shows the link to pass on.
  await page.fill("#invite-email", "nora@example.com");
  await page.selectOption("#invite-role", "member");
  await page.click(".invite-form button[type=submit]");
  await page.locator("#invite-link").waitFor();
  const link = (await page.locator("#invite-link").textContent()).trim();
  check(link.startsWith(`${base}/invite/`), "the invitation link is shown");
  check((await page.locator("table.invitations").textContent()).includes("nora@example.com"), "the invitation is pending");
  await shot(page, "invited");

  // The member accepts in a browser of their own.
  const other = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const nora = await other.newPage();
  nora.setDefaultTimeout(15_000);
  await nora.goto(link);
  await nora.locator("h1", { hasText: "Join" }).waitFor();
  await shot(nora, "invitation");
  await nora.fill("#password", "nora-password-1");
  await nora.fill("#confirm_password", "nora-password-2");
  await nora.click("button[type=submit]");
  await nora.locator("#form-error").waitFor();
  check((await nora.locator("#form-error").textContent()).includes("differ"), "mismatched passwords are refused");
  await nora.fill("#password", "nora-password-1");
  await nora.fill("#confirm_password", "nora-password-1");
  await nora.click("button[type=submit]");
  await nora.locator("h1", { hasText: "Emails" }).waitFor();
  check(await nora.locator(".who .role").textContent() === "member", "the new member is signed in as a member");
  await nora.goto(`${base}/dashboard/settings/team`);
  check(await nora.locator(".invite-form").count() === 0, "members cannot invite");
  check(await nora.locator("table.members select").count() === 0, "members cannot change roles");
  await shot(nora, "member-view");

  // The admin makes Nora an admin, then a member again.
  await page.goto(`${base}/dashboard/settings/team`);
  const row = page.locator("tr[data-email='nora@example.com']");
  await row.locator("select").selectOption("admin");
  await row.locator("button", { hasText: "Change role" }).click();
  await page.locator("#notice", { hasText: "Role changed" }).waitFor();
  await nora.reload();
  check(await nora.locator(".invite-form").count() === 1, "a promoted member can invite at once");
  await page.locator("tr[data-email='nora@example.com'] select").selectOption("member");
  await page.locator("tr[data-email='nora@example.com'] button", { hasText: "Change role" }).click();
  // The first change's notice is still on the page: wait for what this change shows (one
  // admin again), so the next click does not race the answer to this one.
  await page.locator(".card-foot", { hasText: "only admin" }).waitFor();
  await page.locator("#notice", { hasText: "Role changed" }).waitFor();

  // The admin removes Nora: her next page is the sign-in page.
  await page.locator("tr[data-email='nora@example.com'] a", { hasText: "Remove" }).click();
  await page.locator("h2", { hasText: "Remove nora@example.com?" }).waitFor();
  await shot(page, "remove-confirm");
  await page.click("button.danger");
  await page.locator("#notice", { hasText: "Member removed" }).waitFor();
  check(await page.locator("tr[data-email='nora@example.com']").count() === 0, "the member is gone");
  await nora.goto(`${base}/dashboard/settings/team`);
  check(new URL(nora.url()).pathname === "/login", "the removed member's session has ended");
  await other.close();

  // Your account: change the password.
  await page.click(".settings-tab[href='/dashboard/settings/account']");
  await page.locator("h2", { hasText: "Change your password" }).waitFor();
  await page.fill("#current_password", "wrong-password");
  await page.fill("#new_password", "a-new-password");
  await page.fill("#confirm_password", "a-new-password");
  await page.click("form[action='/dashboard/settings/account/password'] button[type=submit]");
  await page.locator("#form-error").waitFor();
  check((await page.locator("#form-error").textContent()).includes("not correct"), "a wrong current password is refused");
  await page.fill("#current_password", password);
  await page.fill("#new_password", "a-new-password");
  await page.fill("#confirm_password", "a-new-password");
  await page.click("form[action='/dashboard/settings/account/password'] button[type=submit]");
  await page.locator("#notice", { hasText: "Password changed" }).waitFor();
  await shot(page, "password-changed");
});
