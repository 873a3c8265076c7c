import { createSimpleKey, expect, ready, registerApi, screenshot, signIn, test, unique } from "./fixtures";

test("register, edit and delete an API; deletion is refused while a key grants it", async ({ page, errors }) => {
  await signIn(page);
  const id = unique();
  const name = `Catalog ${id}`;

  // Field errors, from the same rules the server applies.
  await page.goto("/apis/new");
  await ready(page);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Listen path", { exact: true }).fill("catalog");
  await page.getByLabel("Target URL").fill("ftp://nowhere");
  await page.getByRole("button", { name: "Register API" }).click();
  await expect(page.locator("#f-proxy-listen_path-error")).toHaveText("Must start with '/'");
  // Every broken field at once, not only the first.
  await expect(page.locator("#f-proxy-target_url-error")).toHaveText("Must be an http:// or https:// URL");
  await expect(page.locator(".error-summary li")).toHaveCount(2);
  await expect(page.getByLabel("Listen path", { exact: true })).toBeFocused();
  await screenshot(page, "api-new-errors");

  await page.getByLabel("Listen path", { exact: true }).fill(`/catalog-${id}/`);
  await page.getByLabel("Target URL").fill("http://127.0.0.1:9/");
  await page.getByLabel("HMAC signed requests").check();
  await page.getByRole("button", { name: "Register API" }).click();
  await expect(page).toHaveURL(/\/apis\/[0-9a-f]+$/);
  await expect(page.getByRole("status")).toContainText("API registered.");

  // A listen path already in use is refused by the server, at the field.
  await page.goto("/apis/new");
  await ready(page);
  await page.getByLabel("Name", { exact: true }).fill(`Copy ${id}`);
  await page.getByLabel("Listen path", { exact: true }).fill(`/catalog-${id}/`);
  await page.getByLabel("Target URL").fill("http://127.0.0.1:9/");
  await page.getByRole("button", { name: "Register API" }).click();
  await expect(page.locator("#f-proxy-listen_path-error")).toContainText("already used by another API");

  // Bound to a host (Tyk's domain), the same listen path is another route of this organisation.
  await page.getByLabel("Domain (optional)").fill("https://shop.example.com");
  await page.getByRole("button", { name: "Register API" }).click();
  await expect(page.locator("#f-domain-error")).toHaveText("Must be a host name, such as api.example.com (no scheme, port or path)");
  await page.getByLabel("Domain (optional)").fill("Shop.Example.com");
  await page.getByRole("button", { name: "Register API" }).click();
  await expect(page).toHaveURL(/\/apis\/[0-9a-f]+$/);
  await ready(page);
  await expect(page.getByLabel("Domain (optional)")).toHaveValue("shop.example.com");

  // Edit: back to key authentication, with versions.
  await page.goto("/apis");
  await page.getByRole("link", { name }).click();
  await ready(page);
  await expect(page.getByLabel("HMAC signed requests")).toBeChecked();
  await page.getByLabel("Authentication token").check();
  await page.getByLabel("This API has versions").check();
  await page.getByLabel("New version").fill("v1");
  await page.getByRole("button", { name: "Add version" }).click();
  await page.getByRole("button", { name: "Save API" }).click();
  await expect(page.getByRole("status")).toContainText("API saved.");
  await screenshot(page, "api-edit");
  await page.goto("/apis");
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("Authentication token");
  await expect(row).toContainText("v1");
  await screenshot(page, "apis");

  // A key grants it: deleting is refused, with the reason.
  const alias = `catalog-key-${id}`;
  await createSimpleKey(page, alias, name);
  await page.goto("/apis");
  await page.getByRole("link", { name }).click();
  await ready(page, ".page-head[data-hydrated]");
  await expect(page.getByText("1 key grants access to it.")).toBeVisible();
  await page.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: `Delete the API “${name}”?` });
  await expect(dialog).toContainText("It cannot be deleted now: 1 key grants access to it.");
  await expect(dialog.getByRole("button", { name: "Delete API" })).toBeDisabled();
  await screenshot(page, "api-delete-refused", { fullPage: false });
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();

  // Without the key, it goes, and the dialog says what that does.
  await page.goto(`/keys?q=${alias}`);
  await page.getByRole("link", { name: alias }).click();
  await ready(page, ".page-head[data-hydrated]");
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete key" }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await page.goto("/apis");
  await page.getByRole("link", { name }).click();
  await ready(page, ".page-head[data-hydrated]");
  await page.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("dialog")).toContainText(`The gateway stops serving /catalog-${id}/ at once`);
  await page.getByRole("dialog").getByRole("button", { name: "Delete API" }).click();
  await expect(page).toHaveURL(/\/apis$/);
  await expect(page.getByRole("status")).toContainText(`API “${name}” deleted.`);
  await expect(page.getByRole("link", { name })).toHaveCount(0);
});
