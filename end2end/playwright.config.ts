import { defineConfig } from "@playwright/test";
import * as os from "os";
import * as path from "path";

// Each run gets its own database, admin and ports, so it never meets a developer's instance.
const port = Number(process.env.E2E_PORT ?? 3417);
export const gatewayPort = port + 1;
const profile = process.env.E2E_PROFILE ?? "debug";
const dataDir = path.join(os.tmpdir(), `portcullis-e2e-${process.pid}`);
export const admin = { email: "e2e-admin@example.org", password: "e2e password 123" };

export default defineConfig({
  testDir: "./tests",
  timeout: 120_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
  projects: [{ name: "chromium" }],
  webServer: {
    // Started from the repository root so that the binary finds target/site (or the site
    // beside it, when CARGO_TARGET_DIR puts the build elsewhere).
    // E2E_PROFILE=release tests the release build (`scripts/build --release` first): the server
    // and the site (WASM) must come from the same build, and the last build wins target/site.
    command: `${process.env.CARGO_TARGET_DIR ?? "target"}/${profile}/portcullis serve`,
    cwd: "..",
    url: `http://127.0.0.1:${port}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    env: {
      PORTCULLIS_LISTEN: `127.0.0.1:${port}`,
      PORTCULLIS_GATEWAY_LISTEN: `127.0.0.1:${gatewayPort}`,
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_ADMIN_EMAIL: admin.email,
      PORTCULLIS_ADMIN_PASSWORD: admin.password,
      PORTCULLIS_BCRYPT_COST: "4",
      // The tests' upstreams listen on loopback, which the gateway refuses by default.
      PORTCULLIS_UPSTREAM_ALLOW: "127.0.0.0/8",
      RUST_LOG: "warn",
      // The site of this build, never a stale target/site left in the repository root by
      // another target folder.
      LEPTOS_SITE_ROOT: `${process.env.CARGO_TARGET_DIR ?? "target"}/site`,
    },
  },
});
