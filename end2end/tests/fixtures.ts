import { expect, Page, test as base } from "@playwright/test";
import { admin } from "../playwright.config";

export { admin, expect };

/// Fails the test on any uncaught page error or console error (a hydration panic shows up here).
export const test = base.extend<{ errors: string[] }>({
  errors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      // A browser asks any page for /favicon.ico (a JSON answer shown as a page, too).
      if (m.type() !== "error" || m.text().includes("favicon") || m.location().url.includes("/favicon.")) return;
      // A server function that refuses what was sent answers 4xx, and Chromium logs that; the
      // test checks the message the page shows instead. A 500 still fails the test.
      const refused = /status of 4\d\d/.test(m.text()) && m.location().url.includes("/rpc/");
      if (!refused) errors.push(`console: ${m.text()} (${m.location().url})`);
    });
    await use(errors);
    expect(errors).toEqual([]);
  },
});

export async function signIn(page: Page, email = admin.email, password = admin.password) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/// Clicks until the click has an effect: a click before hydration does nothing.
export async function waitForHydration(page: Page) {
  const toggle = page.locator("#theme-toggle");
  const before = await page.locator("html").getAttribute("data-theme");
  await expect(async () => {
    await toggle.click();
    expect(await page.locator("html").getAttribute("data-theme")).not.toBe(before);
  }).toPass({ timeout: 15_000 });
}

/// Waits until the page's forms respond to input (they carry data-hydrated="true" then).
export async function ready(page: Page, selector = "form[data-hydrated]") {
  await expect(page.locator(selector).first()).toHaveAttribute("data-hydrated", "true", { timeout: 15_000 });
}

/// Screenshots at 1280 and 375 px wide: the whole page, or only what is in view (for dialogs,
/// which stay in view while the page behind them scrolls).
export async function screenshot(page: Page, name: string, { fullPage = true } = {}) {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 800 });
    await page.screenshot({ path: `screenshots/${name}-${width}.png`, fullPage });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/// A fresh REST API credential of the signed-in user (regenerated on the profile page).
export async function apiCredential(page: Page): Promise<string> {
  await page.goto("/profile");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Regenerate credential" }).click();
  const credential = page.locator("#new-credential");
  await expect(credential).toHaveText(/^[0-9a-f]{32}$/);
  return (await credential.textContent())!;
}

/// A short random suffix, so that tests sharing one database never collide.
export function unique(): string {
  return Math.random().toString(36).slice(2, 8);
}

export interface ApiSpec {
  name: string;
  listenPath: string;
  target: string;
  versions?: string[];
}

/// Registers an API through the APIs page.
export async function registerApi(page: Page, api: ApiSpec) {
  await page.goto("/apis/new");
  await ready(page);
  await page.getByLabel("Name", { exact: true }).fill(api.name);
  await page.getByLabel("Listen path", { exact: true }).fill(api.listenPath);
  await page.getByLabel("Target URL").fill(api.target);
  if (api.versions?.length) {
    await page.getByLabel("This API has versions").check();
    for (const v of api.versions) {
      await page.getByLabel("New version").fill(v);
      await page.getByLabel("New version").press("Enter");
    }
  }
  await page.getByRole("button", { name: "Register API" }).click();
  await expect(page).toHaveURL(/\/apis\/[0-9a-f]+$/);
  await expect(page.getByRole("heading", { level: 1, name: api.name })).toBeVisible();
}

/// Opens the create-key form, ready for input.
export async function openNewKey(page: Page) {
  await page.goto("/keys/new");
  await ready(page);
}

/// Grants an API (and version) in the key or policy form.
export async function grantApi(page: Page, apiName: string, version?: string) {
  const select = page.getByLabel("API", { exact: true });
  const value = await select.locator("option", { hasText: apiName }).first().getAttribute("value");
  await select.selectOption(value!);
  if (version) await page.getByLabel("Version", { exact: true }).selectOption(version);
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(page.getByRole("list", { name: "Access rights added" }).getByText(apiName, { exact: true })).toBeVisible();
}

/// Creates a key with only an alias and access to one API; returns the key and its hash.
export async function createSimpleKey(page: Page, alias: string, apiName?: string) {
  await openNewKey(page);
  if (apiName) await grantApi(page, apiName);
  await page.getByLabel("Alias", { exact: true }).fill(alias);
  await page.getByRole("button", { name: "Create key" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  const key = (await dialog.locator("#created-key").textContent())!;
  const hash = (await dialog.locator("code").last().textContent())!;
  await dialog.getByRole("button", { name: "I have copied it" }).click();
  await expect(page).toHaveURL(/\/keys$/);
  return { key, hash };
}
