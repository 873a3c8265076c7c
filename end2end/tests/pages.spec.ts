import { admin, createSimpleKey, expect, registerApi, screenshot, signIn, test, unique } from "./fixtures";

test("reading works without JavaScript", async ({ browser, page }) => {
  // Some data to read, made with JavaScript on.
  await signIn(page);
  const id = unique();
  await registerApi(page, { name: `Plain ${id}`, listenPath: `/plain-${id}/`, target: "http://127.0.0.1:9/" });
  const { hash } = await createSimpleKey(page, `plain-${id}`, `Plain ${id}`);

  const context = await browser.newContext({ javaScriptEnabled: false });
  const plain = await context.newPage();
  await plain.goto("/login");
  await plain.getByLabel("Email").fill(admin.email);
  await plain.getByLabel("Password").fill(admin.password);
  await plain.getByRole("button", { name: "Sign in" }).click();
  await expect(plain).toHaveURL(/\/$/);

  await plain.goto("/keys");
  await expect(plain.getByRole("row").filter({ hasText: `plain-${id}` })).toBeVisible();
  // Search is a plain GET form.
  await plain.getByLabel("Search").fill(`plain-${id}`);
  await plain.getByRole("button", { name: "Search" }).click();
  await expect(plain).toHaveURL(new RegExp(`q=plain-${id}`));
  await expect(plain.getByRole("row")).toHaveCount(2);
  await plain.goto(`/keys/${hash}`);
  await expect(plain.locator("#key-hash")).toHaveText(hash);
  await expect(plain.getByLabel("Alias", { exact: true })).toHaveValue(`plain-${id}`);
  await plain.goto("/policies");
  await expect(plain.getByRole("heading", { level: 1, name: "Policies" })).toBeVisible();
  await plain.goto("/apis");
  await expect(plain.getByRole("row").filter({ hasText: `Plain ${id}` })).toContainText(`/plain-${id}/`);
  await context.close();
});

test("time to first paint of the key list", async ({ page }) => {
  await signIn(page);
  const times: number[] = [];
  // 11 loads, median: one slow load (a GC, the other core busy) does not decide. Run it against
  // the release build (E2E_PROFILE=release) for figures that mean something.
  const loads = 11;
  for (let i = 0; i < loads; i++) {
    await page.goto("/keys", { waitUntil: "load" });
    const fcp = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const entry = performance.getEntriesByName("first-contentful-paint")[0];
          if (entry) return resolve(entry.startTime);
          new PerformanceObserver((list) => resolve(list.getEntries()[0].startTime)).observe({ type: "paint", buffered: true });
        }),
    );
    times.push(fcp);
  }
  times.sort((a, b) => a - b);
  const median = times[(loads - 1) / 2];
  console.log(`first contentful paint of /keys (${process.env.E2E_PROFILE ?? "debug"} build), ${loads} loads (ms): ${times.map((t) => t.toFixed(0)).join(", ")}; median ${median.toFixed(0)}`);
  test.info().annotations.push({ type: "fcp-median-ms", description: median.toFixed(0) });
  expect(median).toBeLessThan(1500);
});

test("screenshots of the other pages", async ({ page, errors }) => {
  await signIn(page);
  await page.goto("/");
  await screenshot(page, "overview-signed-in");
  await page.goto("/policies/new");
  await expect(page.locator("form[data-hydrated=true]")).toBeVisible();
  await page.goto("/apis/new");
  await expect(page.locator("form[data-hydrated=true]")).toBeVisible();
  await screenshot(page, "api-new");
});
