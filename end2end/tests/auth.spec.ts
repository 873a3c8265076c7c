import { admin, expect, screenshot, signIn, test, waitForHydration } from "./fixtures";

test("a signed-out visitor is sent to the sign-in page", async ({ page, errors }) => {
  await page.goto("/profile");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in to Portcullis" })).toBeVisible();
  await screenshot(page, "login");
});

test("a wrong password shows a clear message", async ({ page, errors }) => {
  await signIn(page, admin.email, "not the password");
  await expect(page).toHaveURL(/\/login\?error=invalid/);
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
  // The email is kept, so only the password needs typing again.
  await expect(page.getByLabel("Email")).toHaveValue(admin.email);
});

test("sign in, hydrate, see and regenerate the credential, sign out", async ({ page, errors }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.locator(".whoami")).toHaveText(admin.email);

  // Server-rendered, then hydrated: the theme toggle only reacts once the WASM has run.
  await waitForHydration(page);
  await screenshot(page, "overview");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Profile" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.locator("#profile-email")).toHaveText(admin.email);
  const hint = (await page.locator("#credential-hint").textContent())!;
  expect(hint).toMatch(/^…[0-9a-f]{4}$/);

  await page.getByRole("button", { name: "Regenerate credential" }).click();
  const credential = page.locator("#new-credential");
  await expect(credential).toHaveText(/^[0-9a-f]{32}$/);
  await expect(page.getByText("it will not be shown again")).toBeVisible();
  const value = (await credential.textContent())!;
  const copy = page.getByRole("button", { name: "Copy the new credential" });
  await copy.click();
  await expect(copy).toHaveText("Copied");
  await screenshot(page, "profile");

  // The new credential works on the REST API; it ends as the page now says.
  const me = await page.request.get("/api/users/me", { headers: { Authorization: value } });
  expect(me.status()).toBe(200);
  expect((await me.json()).email_address).toBe(admin.email);
  await page.reload();
  await expect(page.locator("#credential-hint")).toHaveText(`…${value.slice(-4)}`);


  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});
