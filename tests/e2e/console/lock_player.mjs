// An analyst finds a player by email and locks the account with a reason.
import { giveReason, run, signIn, waitForText } from "./browser.mjs";

await run("lock_player", async (page, p) => {
  await signIn(page, p.console_url, p.staff);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Players" }).click();
  await page.getByLabel("Email", { exact: true }).fill(p.email);
  await page.getByRole("button", { name: "Find" }).click();
  const results = page.getByRole("table", { name: `Players with the email ${p.email}` });
  await results.getByRole("link", { name: p.player_id }).click();

  await page.getByRole("heading", { name: `Player ${p.player_id}` }).waitFor();
  const account = page.getByRole("region", { name: "Account" });
  await waitForText(account, "active");
  // By keyboard: Enter on the button opens the dialog with the focus in the reason, Escape
  // closes it and gives the focus back to the button.
  const lock = page.getByRole("button", { name: "Lock player" });
  await lock.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  const focused = (locator) => locator.evaluate((element) => element === document.activeElement);
  if (!(await focused(dialog.getByLabel(/^Reason/)))) throw new Error("the dialog did not put the focus in the reason");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  if (!(await focused(lock))) throw new Error("closing the dialog did not give the focus back to its button");
  await page.keyboard.press("Enter");
  await giveReason(page, { staff: p.staff, reason: p.reason, confirm: "Lock player" });

  await waitForText(page.getByRole("status"), `Player ${p.player_id} is now disabled, recorded as ${p.staff}`);
  await waitForText(page.getByRole("region", { name: "Account" }), "disabled");
  await page.getByRole("button", { name: "Unlock player" }).waitFor();
  await waitForText(page.getByRole("table", { name: "Operator actions on this player" }),
    "status active → disabled", p.staff, p.reason);
  return {};
});
