// A withdrawal is decided through the API by another operator while it is on screen: the
// console's own decision is shown as a conflict, and the row shows who decided.
import { pause, queueRow, run, signIn, waitForText } from "./browser.mjs";

await run("conflict", async (page, p) => {
  await signIn(page, p.console_url, p.staff);
  const row = await queueRow(page, p.withdrawal_id);
  await row.getByRole("button", { name: `Approve withdrawal ${p.withdrawal_id}` }).click();
  const dialog = page.getByRole("dialog");
  await waitForText(dialog, `Recorded as ${p.staff}`);
  await dialog.getByLabel(/^Reason/).fill("deposits checked with the bank");
  // Someone else decides now, through the API.
  await pause("decide_elsewhere");
  await dialog.getByRole("button", { name: "Approve", exact: true }).click();

  const conflict = row.getByRole("alert");
  await waitForText(conflict, "Conflict", "already decided by someone else", "It is now rejected", p.other_staff);
  await waitForText(row.locator("td").nth(5), "rejected");
  if (await row.getByRole("button", { name: /Approve|Reject/ }).count()) {
    throw new Error("the row still offers a decision after the conflict");
  }
  return { conflict: (await conflict.textContent()).trim() };
});
