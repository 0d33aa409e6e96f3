// An analyst finds a withdrawal in the review queue, rejects it with a reason, and sees the
// wallet restored and the decision among the player's operator actions.
import { giveReason, queueRow, run, screenshot, signIn, waitForText } from "./browser.mjs";

await run("review_reject", async (page, p) => {
  await signIn(page, p.console_url, p.staff);
  const row = await queueRow(page, p.withdrawal_id);
  await waitForText(row, p.amount_text, "new_account", "pending_review");
  await screenshot(page, p, "review-queue.png");

  await row.getByRole("button", { name: `Reject withdrawal ${p.withdrawal_id}` }).click();
  await giveReason(page, { staff: p.staff, reason: p.reason, confirm: "Reject" });
  await waitForText(row, "rejected", p.staff);
  await waitForText(page.getByRole("status"), `Withdrawal ${p.withdrawal_id} rejected, recorded as ${p.staff}`);

  await row.getByRole("link", { name: p.player_id }).click();
  await page.getByRole("heading", { name: `Player ${p.player_id}` }).waitFor();
  await waitForText(page.locator('[data-field="cash"]'), p.cash_text);
  await waitForText(page.locator('[data-field="pending_withdrawal"]'), "0.00 EUR");
  const actions = page.getByRole("table", { name: "Operator actions on this player" });
  await waitForText(actions, `reject withdrawal ${p.withdrawal_id}`, p.staff, p.reason);
  const withdrawals = page.getByRole("table", { name: "Withdrawals, newest first" });
  await waitForText(withdrawals.locator(`tr[data-withdrawal-id="${p.withdrawal_id}"]`), "rejected");
  const ledger = page.getByRole("table", { name: /^Ledger entries/ });
  await waitForText(ledger, "withdrawal_returned", "deposit");
  await screenshot(page, p, "player.png", { fullPage: true });
  return { ledger_rows: await ledger.locator("tbody tr").count() };
});
