import { expect, Page, test as base } from "@playwright/test";
import { admin } from "../playwright.config";

export { admin, expect };

/// Fails the test on any uncaught page error or console error (a hydration panic shows up here).
export const test = base.extend<{ errors: string[] }>({
  errors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().includes("favicon")) errors.push(`console: ${m.text()}`);
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

export async function screenshot(page: Page, name: string) {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: width === 375 ? 812 : 800 });
    await page.screenshot({ path: `screenshots/${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}
