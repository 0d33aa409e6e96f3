// What every console scenario shares: Debian's Chromium, headless, with a fresh profile,
// driven by playwright-core over CDP; the dev login; a pause that hands control to the pytest
// test (for API calls made while a page is on screen); the result or the failure.
//
// A scenario is `node tests/e2e/console/NAME.mjs PARAMS_JSON`. It prints one JSON object per
// line on stdout: {"pause": NAME, ...} (then reads one line on stdin before going on) and
// finally {"done": true, "result": {...}}. On failure it saves a screenshot of the page in the
// `failures` folder as failure-NAME.png, prints the error on stderr and exits 1.

import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

// playwright-core is pinned in console/package.json.
const require = createRequire(new URL("../../../console/package.json", import.meta.url));
const { chromium } = require("playwright-core");

export const CHROMIUM = process.env.STAKELINE_CHROMIUM || "/usr/bin/chromium";
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
  "--disable-quic", "--disable-component-update", "--disable-sync", "--remote-debugging-port=0",
];
const START_TIMEOUT_MS = 30_000;
export const STEP_TIMEOUT_MS = 30_000;

async function startChromium() {
  const profile = await mkdtemp(join(tmpdir(), "stakeline-chromium-"));
  // In a process group of its own, so that stopping it stops its helper processes too.
  const child = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, "about:blank"], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  const endpoint = await new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`Chromium did not open its DevTools port within ${START_TIMEOUT_MS} ms:\n${seen}`)), START_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${CHROMIUM}: ${error.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited with code ${code} before serving:\n${seen}`));
    });
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    signalGroup("SIGKILL"); // any helper still running
    await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }).catch((error) => {
      process.stderr.write(`could not remove the browser profile ${profile}: ${error.message}\n`);
    });
  };
  return { endpoint, stop };
}

const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();

/** Hands control to the test (which acts through the API), and goes on when it answers. */
export async function pause(name, details = {}) {
  process.stdout.write(`${JSON.stringify({ pause: name, ...details })}\n`);
  const { value, done } = await lines.next();
  if (done) throw new Error(`the test closed stdin instead of answering the pause ${name}`);
  return JSON.parse(value || "{}");
}

/** Runs `scenario(page, params)` in a fresh browser and reports its result. */
export async function run(name, scenario) {
  const params = JSON.parse(process.argv[2] ?? "{}");
  const chromiumProcess = await startChromium();
  const browser = await chromium.connectOverCDP(chromiumProcess.endpoint);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  let failed = null;
  try {
    const result = await scenario(page, params);
    if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join("; ")}`);
    process.stdout.write(`${JSON.stringify({ done: true, result: result ?? {} })}\n`);
  } catch (error) {
    failed = error;
    if (params.failures) {
      await page.screenshot({ path: join(params.failures, `failure-${name}.png`), fullPage: true }).catch(() => {});
    }
    const text = await page.locator("body").innerText().catch(() => "(no page)");
    process.stderr.write(`${name} failed: ${error.stack ?? error}\nat ${page.url()}\n--- the page said ---\n${text}\n`);
  } finally {
    await context.close().catch(() => {});
    await browser.close().catch(() => {});
    await chromiumProcess.stop();
    input.close();
  }
  process.exit(failed ? 1 : 0);
}

/** Signs in through the dev login as `staff` and waits for the review queue. */
export async function signIn(page, consoleUrl, staff) {
  await page.goto(`${consoleUrl}/#/review`);
  await page.getByLabel("Staff id").fill(staff);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#signed-in-as", { hasText: `Signed in as ${staff}` }).waitFor();
}

/** Polls `condition` until it returns something true, for at most STEP_TIMEOUT_MS. */
export async function until(condition, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The review queue's row for a withdrawal, paging with "More" until it shows. */
export async function queueRow(page, withdrawalId) {
  const row = page.locator(`tr[data-withdrawal-id="${withdrawalId}"]`);
  const table = page.getByRole("table", { name: /^Withdrawals pending review/ });
  const more = page.getByRole("button", { name: "More" });
  await until(async () => (await table.getAttribute("aria-busy")) === "false", "the review queue to load");
  for (let pages = 0; pages < 50; pages++) {
    if (await row.count()) return row;
    if (!(await more.isVisible())) break;
    const rows = await table.locator("tbody tr").count();
    await more.click();
    await until(async () => (await table.getAttribute("aria-busy")) === "false"
      && ((await table.locator("tbody tr").count()) > rows || !(await more.isVisible())), "the next page of the queue");
  }
  throw new Error(`withdrawal ${withdrawalId} is not in the review queue`);
}

/** Waits until `locator`'s text contains each of `texts`. */
export async function waitForText(locator, ...texts) {
  let seen = "";
  try {
    return await until(async () => {
      seen = (await locator.textContent({ timeout: 1_000 }).catch(() => "")) ?? "";
      return texts.every((text) => seen.includes(text)) && seen;
    }, JSON.stringify(texts));
  } catch {
    throw new Error(`expected ${JSON.stringify(texts)} in: ${seen}`);
  }
}

/** The reason dialog: checks who it says will be recorded, gives the reason and confirms. */
export async function giveReason(page, { staff, reason, confirm, beforeConfirm }) {
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  await waitForText(dialog, `Recorded as ${staff}`);
  // An empty reason is refused in the page, before anything is sent.
  await dialog.getByRole("button", { name: confirm, exact: true }).click();
  await waitForText(dialog.locator(".field-error"), "A reason is required.");
  await dialog.getByLabel(/^Reason/).fill(reason);
  if (beforeConfirm) await beforeConfirm();
  await dialog.getByRole("button", { name: confirm, exact: true }).click();
  await dialog.waitFor({ state: "detached" });
}

export async function screenshot(page, params, file, options = {}) {
  if (!params.screenshots) return;
  // The status bar reports the last action; the pictures show the pages themselves.
  await page.evaluate(() => {
    const status = document.getElementById("status");
    if (status) status.textContent = "";
  });
  await page.screenshot({ path: join(params.screenshots, file), ...options });
}
