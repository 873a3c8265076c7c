import { expect, grantApi, openNewKey, ready, registerApi, screenshot, signIn, test, unique } from "./fixtures";

test("a policy is created, edited, applied to a key, and deleted", async ({ page, errors }) => {
  await signIn(page);
  const id = unique();
  const apiName = `Billing ${id}`;
  const policy = `Gold ${id}`;
  await registerApi(page, { name: apiName, listenPath: `/billing-${id}/`, target: "http://127.0.0.1:9/" });

  await page.goto("/policies/new");
  await ready(page);
  // The form checks before sending: a name is needed.
  await page.getByRole("button", { name: "Create policy" }).click();
  await expect(page.locator("#f-name-error")).toHaveText("Enter a name");
  await page.getByLabel("Name", { exact: true }).fill(policy);
  await grantApi(page, apiName);
  await page.getByLabel("Rate (requests)").fill("10");
  await page.getByLabel("Per (seconds)").fill("60");
  // It decides access and the rate limit; each key keeps its own quota.
  await page.getByRole("checkbox", { name: "Access rights", exact: true }).check();
  await page.getByRole("checkbox", { name: "Rate limit", exact: true }).check();
  await page.getByLabel("New tag").fill("gold");
  await page.getByLabel("New tag").press("Enter");
  await page.getByRole("button", { name: "Add metadata" }).click();
  await page.getByLabel("Metadata key 1").fill("tier");
  await page.getByLabel("Metadata value 1").fill("gold");
  await screenshot(page, "policy-new");
  await page.getByRole("button", { name: "Create policy" }).click();
  await expect(page).toHaveURL(/\/policies\/[0-9a-z]+$/);
  await expect(page.getByRole("status")).toContainText("Policy created.");
  await expect(page.getByRole("heading", { level: 1, name: policy })).toBeVisible();
  await expect(page.getByText("No key applies this policy.")).toBeVisible();

  // Edit: the rate changes.
  await ready(page);
  await page.getByLabel("Rate (requests)").fill("20");
  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByRole("status")).toContainText("Policy saved.");
  await screenshot(page, "policy-edit");

  await page.goto("/policies");
  const row = page.getByRole("row").filter({ hasText: policy });
  await expect(row).toContainText("20 requests per minute");
  await expect(row).toContainText("Unlimited");
  await expect(row).toContainText("Access rights, Rate limit");
  await screenshot(page, "policies");

  // Applied to a key: what it decides is shown, and locked; the rest stays the key's.
  await openNewKey(page);
  await page.getByLabel("Apply policies").check();
  await page.getByLabel(policy).check();
  await expect(page.getByText(`Set by the policy ${policy}: 20 requests per minute.`)).toBeVisible();
  await expect(page.getByText(`Set by the policy ${policy}: no throttling.`)).toBeVisible();
  await expect(page.getByText(`Set by the policy ${policy}: ${apiName}.`)).toBeVisible();
  await expect(page.getByLabel("Rate (requests)")).toHaveCount(0);
  await expect(page.getByLabel("API", { exact: true })).toHaveCount(0);
  await page.getByLabel("Unlimited quota").uncheck();
  await page.getByLabel("Maximum requests").fill("500");
  await page.getByLabel("Quota resets").selectOption({ label: "Daily" });
  const alias = `with-policy-${id}`;
  await page.getByLabel("Alias", { exact: true }).fill(alias);
  await screenshot(page, "key-new-policy");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "I have copied it" }).click();
  const keyRow = page.getByRole("row").filter({ hasText: alias });
  await expect(keyRow).toContainText(policy);
  await expect(keyRow.getByRole("progressbar")).toHaveAttribute("aria-valuemax", "500");
  await keyRow.getByRole("link", { name: alias }).click();
  await expect(page.locator("#key-rate")).toHaveText("20 requests per minute");

  // Searching by the policy's name finds the key.
  await page.goto(`/keys?q=${encodeURIComponent(policy)}`);
  await expect(page.getByRole("row").filter({ hasText: alias })).toBeVisible();

  // Deleting the policy says how many keys use it.
  await page.goto("/policies");
  await page.getByRole("link", { name: policy }).click();
  await ready(page, ".page-head[data-hydrated]");
  await expect(page.getByText("1 key applies this policy.")).toBeVisible();
  await page.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: `Delete the policy “${policy}”?` });
  await expect(dialog).toContainText("1 key applies this policy.");
  await dialog.getByRole("button", { name: "Delete policy" }).click();
  await expect(page).toHaveURL(/\/policies$/);
  await expect(page.getByRole("status")).toContainText("1 key named it");
});
