// The audit page shows a clean report; the queues page lists the six queues, each with its
// redrive, and redrives one (with a reason).
import { giveReason, run, screenshot, signIn, waitForText } from "./browser.mjs";

await run("audit_queues", async (page, p) => {
  await signIn(page, p.console_url, p.staff);
  const nav = page.getByRole("navigation", { name: "Main" });

  await nav.getByRole("link", { name: "Audit" }).click();
  await page.getByRole("button", { name: "Run the audit" }).click();
  await page.getByRole("heading", { name: "Clean: invariants 1–4 hold" }).waitFor({ timeout: 120_000 });
  const accounts = Number(await page.locator("dt", { hasText: "Accounts" }).locator("xpath=following-sibling::dd").textContent());
  if (!(accounts >= 1)) throw new Error(`the audit counted ${accounts} accounts`);
  await screenshot(page, p, "audit.png");

  await nav.getByRole("link", { name: "Queues" }).click();
  const table = page.getByRole("table", { name: "Dead-letter and failure queues" });
  await waitForText(table, ...p.queues);
  const names = await table.locator("tbody th").allTextContents();
  if (names.length !== p.queues.length) throw new Error(`expected ${p.queues.length} queues, saw ${names.join(", ")}`);
  for (const queue of p.queues) {
    await table.getByRole("button", { name: `Redrive ${queue}` }).waitFor();
  }
  await screenshot(page, p, "queues.png");

  await page.getByRole("button", { name: `Redrive ${p.redrive}` }).click();
  await giveReason(page, { staff: p.staff, reason: "bonus rule fixed", confirm: "Redrive" });
  await waitForText(page.getByRole("status"), `${p.redrive}:`, "sent back", `recorded as ${p.staff}`);
  return { accounts, queues: names };
});
