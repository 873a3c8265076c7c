import * as http from "http";
import { AddressInfo } from "net";
import { gatewayPort } from "../playwright.config";
import {
  apiCredential, createSimpleKey, expect, grantApi, openNewKey, ready, registerApi, screenshot, signIn, test, unique,
  waitForHydration,
} from "./fixtures";

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test("create a key with every section filled, see it once, find it, edit, deactivate, delete", async ({ page, errors }) => {
  const id = unique();
  const apiName = `Orders ${id}`;
  const alias = `checkout-${id}`;
  await registerApi(page, { name: apiName, listenPath: `/orders-${id}/`, target: "http://127.0.0.1:9/", versions: ["v1", "v2"] });

  await openNewKey(page);
  await screenshot(page, "key-new");
  // Access rights: API and version from the drop-downs, a path rule with two methods.
  await expect(page.getByText("No access rights added: the key may call every API.")).toBeVisible();
  await grantApi(page, apiName, "v1");
  await page.getByRole("button", { name: `Add a path rule to ${apiName}` }).click();
  await page.getByLabel("Path pattern").fill("/items.*");
  const rule = page.locator(".path-rule");
  await rule.getByLabel("POST").check();
  // Rate limiting and throttling.
  await page.getByLabel("Rate (requests)").fill("100");
  await page.getByLabel("Per (seconds)").fill("60");
  await page.getByLabel("Disable throttling").uncheck();
  await page.getByLabel("Retry limit").fill("3");
  await page.getByLabel("Interval (seconds)").fill("2");
  // Expiry, quota.
  await page.getByLabel("Expires", { exact: true }).selectOption({ label: "1 week" });
  await page.getByLabel("Unlimited quota").uncheck();
  await page.getByLabel("Maximum requests").fill("1000");
  await page.getByLabel("Quota resets").selectOption({ label: "Daily" });
  // Tags as chips (one added and removed again), metadata rows.
  const tag = page.getByLabel("New tag");
  for (const t of ["mobile", "beta", "eu"]) {
    await tag.fill(t);
    await tag.press("Enter");
  }
  await page.getByRole("button", { name: "Remove tag beta" }).click();
  await expect(page.getByRole("list", { name: "Tags added" }).getByRole("listitem")).toHaveText([/mobile/, /eu/]);
  await page.getByRole("button", { name: "Add metadata" }).click();
  await page.getByLabel("Metadata key 1").fill("team");
  await page.getByLabel("Metadata value 1").fill("blue");
  // Alias, detailed logging, authentication.
  await page.getByLabel("Alias", { exact: true }).fill(alias);
  await page.getByLabel("Enable detailed logging").check();
  await expect(page.getByLabel("Authentication token")).toBeChecked();
  await screenshot(page, "key-new-filled");

  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog", { name: "Key created" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByText("it will not be shown again")).toBeVisible();
  const key = (await dialog.locator("#created-key").textContent())!;
  expect(key).toMatch(/^[0-9a-f]{56}$/);
  const copy = dialog.getByRole("button", { name: "Copy the key" });
  await copy.click();
  await expect(copy).toHaveText("Copied");
  await screenshot(page, "key-created", { fullPage: false });
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  await expect(dialog).toBeHidden();

  // The list shows it, found by alias, by tag and by API name.
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole("status")).toContainText("Key created.");
  const row = page.getByRole("row").filter({ hasText: alias });
  await expect(row).toBeVisible();
  await expect(row).toContainText(apiName);
  await expect(row).toContainText("in 7 days");
  await expect(row.getByRole("progressbar", { name: "Quota used" })).toHaveAttribute("aria-valuemax", "1000");
  await expect(row).toContainText("Active");
  await screenshot(page, "keys");
  for (const q of [alias, "mobile", apiName]) {
    await page.getByLabel("Search").fill(q);
    await page.getByRole("button", { name: "Search" }).click();
    await expect(page).toHaveURL(new RegExp(`q=`));
    await expect(page.getByRole("row").filter({ hasText: alias })).toBeVisible();
  }

  // The detail shows every setting; the key itself is never shown again.
  await row.getByRole("link", { name: alias }).click();
  await expect(page).toHaveURL(/\/keys\/[0-9a-f]{64}$/);
  await ready(page, ".page-head[data-hydrated]");
  await expect(page.locator("#key-rate")).toHaveText("100 requests per minute");
  await expect(page.locator("#key-quota")).toContainText("1,000 requests per day");
  await expect(page.locator("#last-used")).toHaveText("never");
  await expect(page.getByText("No requests yet")).toBeVisible();
  expect(await page.content()).not.toContain(key);
  await expect(page.getByLabel("Alias", { exact: true })).toHaveValue(alias);
  await expect(page.getByLabel("Path pattern")).toHaveValue("/items.*");
  await expect(page.getByRole("list", { name: `Versions of ${apiName}` })).toContainText("v1");
  await expect(page.getByLabel("Metadata value 1")).toHaveValue("blue");
  await expect(page.getByLabel("Enable detailed logging")).toBeChecked();
  await screenshot(page, "key-detail");

  // Edit its rate limit.
  await ready(page);
  await page.getByLabel("Rate (requests)").fill("50");
  await page.getByRole("button", { name: "Update", exact: true }).click();
  await expect(page.getByRole("status")).toContainText("Key updated.");
  await expect(page.locator("#key-rate")).toHaveText("50 requests per minute");
  // And once more without resetting the quota.
  await ready(page);
  await page.getByLabel("Per (seconds)").fill("30");
  await page.getByRole("button", { name: "Update without quota reset" }).click();
  await expect(page.getByRole("status")).toContainText("its quota usage was kept");
  await expect(page.locator("#key-rate")).toHaveText("50 requests per 30 seconds");

  // Deactivate: the list's Inactive filter shows it.
  await ready(page, ".page-head[data-hydrated]");
  await page.getByRole("button", { name: "Deactivate" }).click();
  await expect(page.getByRole("status")).toContainText("Key deactivated");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Inactive");
  await page.goto(`/keys?status=inactive&q=${alias}`);
  await expect(page.getByRole("row").filter({ hasText: alias })).toContainText("Inactive");
  await page.goto(`/keys?status=active&q=${alias}`);
  await expect(page.getByText("No keys match")).toBeVisible();

  // Delete, confirming in a dialog that names the key.
  await page.goto(`/keys?q=${alias}`);
  await page.getByRole("link", { name: alias }).click();
  await ready(page, ".page-head[data-hydrated]");
  await page.getByRole("button", { name: "Delete" }).click();
  const confirm = page.getByRole("dialog", { name: `Delete the key “${alias}”?` });
  await expect(confirm).toBeVisible();
  await screenshot(page, "key-delete", { fullPage: false });
  await confirm.getByRole("button", { name: "Delete key" }).click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole("status")).toContainText(`Key “${alias}” deleted.`);
  await page.goto(`/keys?q=${alias}`);
  await expect(page.getByRole("heading", { level: 2, name: /^No keys (match|yet)$/ })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: alias })).toHaveCount(0);
});

test("look up a key by its exact value", async ({ page, errors }) => {
  const alias = `lookup-${unique()}`;
  const { key } = await createSimpleKey(page, alias);
  await ready(page);
  await page.getByLabel("Key value or basic-auth username").fill("not-a-key");
  await page.getByRole("button", { name: "Look up" }).click();
  await expect(page.locator("#f-lookup-error")).toHaveText(/No key of your organisation has this value/);
  await page.getByLabel("Key value or basic-auth username").fill(key);
  await page.getByRole("button", { name: "Look up" }).click();
  await expect(page).toHaveURL(/\/keys\/[0-9a-f]{64}$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText(alias);
});

test("a basic-auth user", async ({ page, errors }) => {
  const user = `ann-${unique()}`;
  await openNewKey(page);
  await page.getByLabel("Basic auth user").check();
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password", { exact: true }).fill("s3cret pass");
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog", { name: "Basic auth user created" });
  await expect(dialog.locator("#created-username")).toHaveText(user);
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  const row = page.getByRole("row").filter({ hasText: `Basic auth: ${user}` });
  await expect(row).toBeVisible();

  // The same username again: the server refuses, and says so at the Username field.
  await openNewKey(page);
  await page.getByLabel("Basic auth user").check();
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password", { exact: true }).fill("another one");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.locator("#f-basic_auth_data-user-error")).toContainText("already exists");
  await expect(page.getByLabel("Username")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Username")).toBeFocused();

  // Its page: the username, and a password field that keeps the password when left empty.
  await page.goto(`/keys?q=${user}`);
  await page.getByRole("link", { name: user }).click();
  await ready(page);
  await expect(page.getByText(`Basic auth user “${user}”`)).toBeVisible();
  await expect(page.getByLabel("Username")).toBeDisabled();
  await page.getByLabel("Alias", { exact: true }).fill(`${user} (renamed)`);
  await page.getByRole("button", { name: "Update", exact: true }).click();
  await expect(page.getByRole("status")).toContainText("Key updated.");
});

test("an HMAC key shows its secret once", async ({ page, errors }) => {
  await openNewKey(page);
  await page.getByLabel("Alias", { exact: true }).fill(`signed-${unique()}`);
  await page.getByLabel("Enforce HMAC signing").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog", { name: "Key created" });
  await expect(dialog.locator("#created-key")).toHaveText(/^[0-9a-f]{56}$/);
  await expect(dialog.locator("#created-hmac-secret")).toHaveText(/^[A-Za-z0-9+/]{43}=$/);
  await expect(dialog.getByRole("button", { name: "Copy the HMAC secret" })).toBeVisible();
  await screenshot(page, "key-created-hmac", { fullPage: false });
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  await expect(page.getByRole("row").filter({ hasText: "HMAC" }).first()).toBeVisible();
});

test("validation errors are shown at the field, before anything is sent", async ({ page, errors }) => {
  await openNewKey(page);
  const sent: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/rpc/create_key")) sent.push(r.url());
  });
  await page.getByLabel("Rate (requests)").fill("lots");
  await page.getByLabel("Per (seconds)").fill("0");
  await page.getByLabel("Unlimited quota").uncheck();
  await page.getByLabel("Maximum requests").fill("");
  await page.getByLabel("Expires", { exact: true }).selectOption({ label: "On a date…" });
  await page.getByLabel("Expiry date").fill("2001-01-01T10:00");
  await page.getByLabel("Basic auth user").check();
  await page.getByRole("button", { name: "Create key" }).click();

  await expect(page.locator("#f-rate-error")).toHaveText(/Enter the number of requests as a number/);
  await expect(page.locator("#f-per-error")).toHaveText(/Must be more than 0 seconds/);
  await expect(page.locator("#f-quota_max-error")).toHaveText(/Enter how many requests/);
  await expect(page.locator("#f-expires-error")).toHaveText(/must be in the future/);
  await expect(page.locator("#f-basic_auth_data-user-error")).toHaveText("Enter a username");
  await expect(page.locator("#f-basic_auth_data-password-error")).toHaveText("Enter a password");
  await expect(page.getByLabel("Rate (requests)")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Rate (requests)")).toBeFocused();
  await expect(page.getByRole("alert")).toContainText("Please correct the highlighted fields.");
  await screenshot(page, "key-new-errors");
  expect(sent).toEqual([]);

  // Corrected, the errors go and the key is made.
  await page.getByLabel("Rate (requests)").fill("10");
  await page.getByLabel("Per (seconds)").fill("1");
  await page.getByLabel("Unlimited quota").check();
  await page.getByLabel("Expires", { exact: true }).selectOption({ label: "Never" });
  await page.getByLabel("Authentication token").check();
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByRole("dialog", { name: "Key created" })).toBeVisible();
  await expect(page.locator("#f-rate-error")).toHaveCount(0);
});

test("a key can be created with the keyboard alone", async ({ page, errors }) => {
  const id = unique();
  const apiName = `Keyboard ${id}`;
  await registerApi(page, { name: apiName, listenPath: `/kb-${id}/`, target: "http://127.0.0.1:9/" });
  await openNewKey(page);

  /// Presses Tab until the element with this id has focus; checks the focus is visible.
  async function tabTo(id: string) {
    for (let i = 0; i < 120; i++) {
      if ((await page.evaluate(() => document.activeElement?.id)) === id) {
        const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
        expect(outline, `focus on #${id} is visible`).not.toBe("none");
        return;
      }
      await page.keyboard.press("Tab");
    }
    throw new Error(`never reached #${id} with Tab`);
  }

  await tabTo("f-access_rights");
  // Pick the API by typing its name on the focused drop-down.
  const select = page.locator("#f-access_rights");
  const wanted = await select.locator("option", { hasText: apiName }).getAttribute("value");
  for (let i = 0; i < 50 && (await select.inputValue()) !== wanted; i++) await page.keyboard.press("ArrowDown");
  expect(await select.inputValue()).toBe(wanted);
  await tabTo("access-add");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("list", { name: "Access rights added" })).toContainText(apiName);
  await tabTo("f-tags");
  await page.keyboard.type("keyboard");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("list", { name: "Tags added" })).toContainText("keyboard");
  await tabTo("f-alias");
  await page.keyboard.type(`typed-${id}`);
  await tabTo("submit-key");
  await page.keyboard.press("Enter");

  const dialog = page.getByRole("dialog", { name: "Key created" });
  await expect(dialog).toBeVisible();
  // Focus moved into the dialog, and Tab stays there.
  await expect(dialog.getByRole("button", { name: "Copy the key" })).toBeFocused();
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => !!document.activeElement?.closest("[role=dialog]"))).toBe(true);
  }
  await tabTo("created-done");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByRole("row").filter({ hasText: `typed-${id}` })).toContainText(apiName);
});

test("the key list says what to do when nothing matches; sort and filter live in the URL", async ({ page, errors }) => {
  await page.goto("/keys?q=no-such-key-anywhere");
  await expect(page.getByRole("heading", { name: "No keys match" })).toBeVisible();
  await expect(page.getByRole("link", { name: "show all keys" })).toBeVisible();
  await screenshot(page, "keys-no-match");
  // Sorting and the status filters are links and a GET form: they work before hydration too.
  await page.goto("/keys?sort=alias&status=active");
  await expect(page.getByRole("link", { name: "Active", exact: true })).toHaveAttribute("aria-current", "page");
  await expect(page.getByLabel("Sort")).toHaveValue("alias");
});

test("the key list pages through keys, 20 at a time", async ({ page, errors }) => {
  // 21 keys with a common alias prefix, made through the REST API (quicker than the form).
  const credential = await apiCredential(page);
  const id = unique();
  for (let n = 1; n <= 21; n++) {
    const resp = await page.request.post("/api/keys", {
      headers: { Authorization: credential },
      data: { alias: `paged-${id}-${String(n).padStart(2, "0")}` },
    });
    expect(resp.status()).toBe(200);
  }
  await page.goto(`/keys?q=paged-${id}&sort=alias`);
  const pager = page.getByRole("navigation", { name: "Pages" });
  await expect(pager).toContainText("Page 1 of 2 · 21 keys");
  await expect(page.locator(".keys-table tbody tr")).toHaveCount(20);
  await expect(pager.locator("[aria-disabled=true]", { hasText: "Previous" })).toBeVisible();
  await screenshot(page, "keys-page-1");

  // Next and Previous are links: client-side once hydrated, plain links before.
  await waitForHydration(page);
  await pager.getByRole("link", { name: "Next" }).click();
  await expect(page).toHaveURL(new RegExp(`page=2`));
  await expect(pager).toContainText("Page 2 of 2 · 21 keys");
  await expect(page.locator(".keys-table tbody tr")).toHaveCount(1);
  await expect(page.locator(".keys-table tbody tr")).toContainText(`paged-${id}-21`);
  await expect(pager.locator("[aria-disabled=true]", { hasText: "Next" })).toBeVisible();
  await pager.getByRole("link", { name: "Previous" }).click();
  await expect(pager).toContainText("Page 1 of 2 · 21 keys");
  await expect(page.locator(".keys-table tbody tr").first()).toContainText(`paged-${id}-01`);
});

test.describe("through the gateway", () => {
  test("a new key works at once, and is refused once deactivated", async ({ page, errors }) => {
    // A tiny upstream that answers every request with 200.
    const upstream = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ upstream: true }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    try {
      const id = unique();
      const listenPath = `/gw-${id}/`;
      const apiName = `Gateway ${id}`;
      await registerApi(page, { name: apiName, listenPath, target: `http://127.0.0.1:${upstreamPort}` });
      const alias = `gateway-${id}`;
      const { key } = await createSimpleKey(page, alias, apiName);
      const call = () => page.request.get(`http://127.0.0.1:${gatewayPort}${listenPath}anything`, {
        headers: { Authorization: key },
      });

      const ok = await call();
      expect(ok.status()).toBe(200);
      expect(await ok.json()).toEqual({ upstream: true });

      // Edit its rate limit; it still works.
      await page.getByRole("link", { name: alias }).click();
      await ready(page);
      await page.getByLabel("Rate (requests)").fill("500");
      await page.getByRole("button", { name: "Update", exact: true }).click();
      await expect(page.getByRole("status")).toContainText("Key updated.");
      expect((await call()).status()).toBe(200);

      // Deactivated: refused at once.
      await ready(page, ".page-head[data-hydrated]");
      await page.getByRole("button", { name: "Deactivate" }).click();
      await expect(page.getByRole("status")).toContainText("Key deactivated");
      const refused = await call();
      expect(refused.status()).toBe(403);
      expect(await refused.json()).toEqual({ error: "Key is inactive, please renew" });

      await ready(page, ".page-head[data-hydrated]");
      await page.getByRole("button", { name: "Delete" }).click();
      await page.getByRole("dialog").getByRole("button", { name: "Delete key" }).click();
      await expect(page).toHaveURL(/\/keys$/);
      expect((await call()).status()).not.toBe(200);
    } finally {
      upstream.close();
    }
  });
});

test("the dark theme", async ({ page, errors }) => {
  await page.goto("/keys");
  await waitForHydration(page);
  const theme = await page.locator("html").getAttribute("data-theme");
  if (theme !== "dark") await page.locator("#theme-toggle").click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await screenshot(page, "keys-dark");
  await page.goto("/keys/new");
  await ready(page);
  await screenshot(page, "key-new-dark");
});
