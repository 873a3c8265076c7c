import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test as base } from "@playwright/test";
import { admin } from "../playwright.config";

export { admin, expect };

/// The accessibility problems axe-core finds that fail a test: serious and critical ones.
const FAILING_IMPACTS = ["serious", "critical"];

/// Runs axe-core on the page as it is now; returns its serious and critical violations, one line
/// each, naming the page, the rule and the elements.
async function axeViolations(page: Page, when: string): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => FAILING_IMPACTS.includes(v.impact ?? ""))
    .map((v) => `${when} ${new URL(page.url()).pathname}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/// What axe-core found so far in the running test; filled by `checkA11y`.
let a11y: string[] = [];
/// axe-core runs once at a time in a page: every check waits for the one before.
let a11yQueue: Promise<void> = Promise.resolve();

/// Checks the page as it is now with axe-core, keeping its serious and critical violations.
/// Only the dashboard's own HTML pages: not a JSON answer shown as a page, nor another site's
/// page that a test opens (the cross-site attacker's).
function checkA11y(page: Page, when: string): Promise<void> {
  a11yQueue = a11yQueue.then(() => runA11y(page, when));
  return a11yQueue;
}

async function runA11y(page: Page, when: string) {
  try {
    const dashboard = base.info().project.use.baseURL;
    if (!dashboard || new URL(page.url()).origin !== new URL(dashboard).origin) return;
    if ((await page.evaluate(() => document.contentType)) !== "text/html") return;
    a11y.push(...(await axeViolations(page, when)));
  } catch (e) {
    // The page navigated (or closed) while axe ran: the next page gets its own check.
    if (!/context was destroyed|navigat|closed|Target page/i.test(String(e))) throw e;
  }
}

/// For every test, automatically: fails it on any uncaught page error or console error (a
/// hydration panic shows up here), and on any serious or critical accessibility violation of a
/// page it visited. axe-core checks each page when it has loaded (one check at a time, beside
/// the test's own steps), again at each screenshot, at both widths, and at the end.
export const test = base.extend<{ errors: string[] }>({
  errors: [
    async ({ page }, use) => {
      a11y = [];
      a11yQueue = Promise.resolve();
      page.on("load", () => void checkA11y(page, "on load"));
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
      if (!page.isClosed()) await checkA11y(page, "at the end");
      expect(errors).toEqual([]);
      expect([...new Set(a11y)]).toEqual([]);
    },
    { auto: true },
  ],
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
    await checkA11y(page, `${name} at ${width} px`);
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
