import * as http from "http";
import { AddressInfo } from "net";
import { expect, registerApi, signIn, test, unique } from "./fixtures";

/// A page served from another origin (same host, another port: the browser sends the dashboard's
/// SameSite=Lax cookie with its requests, since it is the same site) tries what any page on the
/// web could try while the admin is signed in: repoint one of the admin's APIs through the
/// server function, with a no-cors `text/plain` fetch and with an auto-submitted form.
test("a page on another origin cannot change an API while its admin is signed in", async ({ page, errors }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const id = unique();
  const name = `Victim ${id}`;
  await registerApi(page, { name, listenPath: `/victim-${id}/`, target: "http://127.0.0.1:9/" });
  const apiPage = page.url();
  const apiId = apiPage.split("/").pop()!;
  const dashboard = new URL(apiPage).origin;

  const hijack = { api_id: apiId, form: { name: `Hijacked ${id}`, listen_path: `/victim-${id}/`, target_url: "http://203.0.113.7/", auth_mode: "Key" } };
  const body = JSON.stringify(hijack);
  // A text/plain form sends `name=value`: the JSON is split so that the `=` lands in a string.
  const split = body.slice(0, -1) + ',"pad":"';
  const attr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
  const evilPage = `<!doctype html><html><head><title>Win a prize</title></head><body>
<form id="f" method="POST" action="${dashboard}/rpc/save_api" enctype="text/plain">
<input type="hidden" name="${attr(split)}" value="${attr('"}')}">
</form>
<script>
fetch(${JSON.stringify(`${dashboard}/rpc/save_api`)}, { method: "POST", mode: "no-cors", credentials: "include",
  headers: { "Content-Type": "text/plain" }, body: ${JSON.stringify(body)} })
  .catch(() => {})
  .finally(() => document.getElementById("f").submit());
</script></body></html>`;
  const evil = http.createServer((_req, res) => {
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.end(evilPage);
  });
  await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
  const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/`;

  try {
    const answers: number[] = [];
    page.on("response", (r) => {
      if (r.url() === `${dashboard}/rpc/save_api`) answers.push(r.status());
    });
    await page.goto(evilUrl);
    // The form's post navigates to the dashboard's refusal.
    await page.waitForURL(`${dashboard}/rpc/save_api`);
    await expect(page.locator("body")).toContainText("refused");
    await expect.poll(() => answers.length).toBe(2);
    expect(answers).toEqual([403, 403]);
  } finally {
    evil.close();
  }

  // Back on the dashboard, signed in still, the API is as it was.
  await page.goto(apiPage);
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue(name);
  await expect(page.getByLabel("Target URL")).toHaveValue("http://127.0.0.1:9/");
});
