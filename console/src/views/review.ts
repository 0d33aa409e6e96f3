// The review queue: withdrawals by status (pending_review first, oldest first), each with its
// review reasons, approved or rejected with a reason. A decision someone else made first
// (409 WITHDRAWAL_NOT_PENDING) is shown as a conflict and the item reloaded: never retried,
// never overwritten.

import { ApiError } from "../api";
import { playerHref, type Context } from "../context";
import { askReason } from "../dialog";
import { h, replaceChildren } from "../dom";
import type { OpsWithdrawal } from "../types";
import { announce, money, pagedTable, problemBox, statusBadge, time, type Column } from "../ui";

export const WITHDRAWAL_STATUSES = ["pending_review", "approved", "rejected", "cancelled", "paid", "failed"] as const;
const LABELS: Record<string, string> = {
  pending_review: "pending review",
  approved: "approved",
  rejected: "rejected",
  cancelled: "cancelled",
  paid: "paid",
  failed: "failed",
};
/** How many pages of a player's withdrawals a conflict looks through for the current state. */
const RELOAD_PAGES = 5;
/** The player's withdrawals come from an eventually consistent index: a decision made a moment
 * ago may not show there yet. How often, and how far apart, the conflict looks again. */
const RELOAD_ATTEMPTS = 3;
const RELOAD_PAUSE_MS = 700;

type QueueItem = OpsWithdrawal & { player_id: string };

export function renderReview(ctx: Context, root: HTMLElement, query: URLSearchParams): void {
  const wanted = query.get("status") ?? "pending_review";
  const status = (WITHDRAWAL_STATUSES as readonly string[]).includes(wanted) ? wanted : "pending_review";
  const select = h("select", { id: "status-filter", name: "status" },
    WITHDRAWAL_STATUSES.map((s) => h("option", { value: s, selected: s === status }, LABELS[s])));
  const filter = h("form", { class: "inline-form", "aria-label": "Filter withdrawals" },
    h("label", { for: "status-filter" }, "Status"), select, h("button", { type: "submit" }, "Show"));
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    ctx.navigate(`#/review?status=${encodeURIComponent(select.value)}`);
  });

  const columns: Column<QueueItem>[] = [
    { header: "Withdrawal", cell: (w) => h("code", null, w.withdrawal_id), rowHeader: true },
    { header: "Requested", cell: (w) => time(w.created_at) },
    { header: "Player", cell: (w) => h("a", { href: playerHref(w.player_id) }, w.player_id) },
    { header: "Amount", cell: (w) => money(w.amount, w.currency), numeric: true },
    { header: "Destination", cell: (w) => `${w.destination.kind} ${w.destination.reference}` },
    { header: "Review reasons", cell: (w) => reasons(w.review_reasons) },
    { header: "Status", cell: (w) => statusCell(w) },
    { header: "Decision", cell: (w) => decisionCell(ctx, w) },
  ];
  const queue = pagedTable<QueueItem>({
    caption: `Withdrawals ${LABELS[status]}, oldest first`,
    columns,
    load: (cursor) => ctx.api.withdrawals(status, cursor),
    more: "More",
    empty: `No withdrawal is ${LABELS[status]}.`,
    decorate: (tr, w) => {
      tr.dataset.withdrawalId = w.withdrawal_id;
    },
  });
  replaceChildren(root,
    h("h1", null, "Withdrawals in review"),
    h("p", { class: "lede" }, "Requests the risk rules sent to review. Approve to pay out; reject to return the amount to the player's cash."),
    filter,
    queue);
}

function reasons(list: string[]): HTMLElement | string {
  return list.length ? h("ul", { class: "reasons" }, list.map((r) => h("li", null, r))) : "—";
}

function statusCell(w: OpsWithdrawal): HTMLElement {
  return h("div", { class: "status-cell" },
    statusBadge(w.status),
    w.decided_by ? h("div", { class: "decided" }, "by ", h("strong", null, w.decided_by), w.decided_at ? [" at ", time(w.decided_at)] : null) : null,
    w.decision_reason ? h("div", { class: "decided" }, "“", w.decision_reason, "”") : null);
}

function decisionCell(ctx: Context, w: QueueItem): HTMLElement {
  const cell = h("div", { class: "decision-cell" });
  const note = h("div", { class: "row-note" });
  if (w.status === "pending_review") {
    const label = `withdrawal ${w.withdrawal_id}`;
    cell.append(
      h("button", { type: "button", class: "primary", "aria-label": `Approve ${label}`, onclick: () => void decide(ctx, w, "approve", cell) }, "Approve"),
      h("button", { type: "button", class: "danger", "aria-label": `Reject ${label}`, onclick: () => void decide(ctx, w, "reject", cell) }, "Reject"));
  }
  cell.append(note);
  return cell;
}

/** Asks for the reason, sends the decision and updates the row; a conflict reloads the item. */
export async function decide(ctx: Context, w: QueueItem, decision: "approve" | "reject", cell: HTMLElement): Promise<void> {
  const staff = ctx.staff();
  const amount = money(w.amount, w.currency);
  const reason = await askReason({
    title: `${decision === "approve" ? "Approve" : "Reject"} withdrawal ${w.withdrawal_id}`,
    description: h("p", null,
      `${amount} to ${w.destination.kind} ${w.destination.reference}, player ${w.player_id}. `,
      decision === "approve"
        ? "The payout goes to the payment provider."
        : "The amount returns to the player's cash."),
    confirm: decision === "approve" ? "Approve" : "Reject",
    staff,
    danger: decision === "reject",
  });
  if (reason === null) return;
  const row = cell.closest("tr");
  const note = cell.querySelector(".row-note") ?? cell;
  for (const button of cell.querySelectorAll("button")) button.disabled = true;
  try {
    const result = await ctx.api.decide(w.withdrawal_id, decision, reason);
    const updated: QueueItem = { ...w, ...result, player_id: w.player_id };
    updateRow(row, updated);
    const wallet = result.wallet;
    announce(`Withdrawal ${w.withdrawal_id} ${result.status}, recorded as ${staff}. ` +
      `Wallet: cash ${money(wallet.cash, wallet.currency)}, pending withdrawal ${money(wallet.pending_withdrawal, wallet.currency)}.`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.code === "WITHDRAWAL_NOT_PENDING") {
      await showConflict(ctx, w, row, note);
      return;
    }
    for (const button of cell.querySelectorAll("button")) button.disabled = false;
    replaceChildren(note as HTMLElement, problemBox(error, "Not decided:"));
  }
}

async function showConflict(ctx: Context, w: QueueItem, row: HTMLTableRowElement | null, note: Element): Promise<void> {
  const message = h("div", { class: "conflict", role: "alert" },
    h("strong", null, "Conflict: "),
    `withdrawal ${w.withdrawal_id} was already decided by someone else. Your decision was not recorded.`);
  const target = row?.querySelector(".row-note") ?? note;
  replaceChildren(target as HTMLElement, message);
  let current = await reload(ctx, w);
  for (let attempt = 1; attempt < RELOAD_ATTEMPTS && current?.status === "pending_review"; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, RELOAD_PAUSE_MS));
    current = await reload(ctx, w);
  }
  if (current && current.status !== "pending_review") {
    updateRow(row, current);
    // updateRow rebuilt the decision cell; the message stays in its note.
    const again = row?.querySelector(".row-note") ?? note;
    message.append(" It is now ", h("strong", null, current.status),
      current.decided_by ? ` (decided by ${current.decided_by}${current.decision_reason ? `: “${current.decision_reason}”` : ""})` : "",
      ".");
    replaceChildren(again as HTMLElement, message);
  } else {
    message.append(" Its new status is not visible yet: reload the queue in a moment.");
  }
}

/** The withdrawal as it is now, from the player's withdrawals (newest first). */
async function reload(ctx: Context, w: QueueItem): Promise<QueueItem | null> {
  let cursor: string | null = null;
  try {
    for (let page = 0; page < RELOAD_PAGES; page++) {
      const result = await ctx.api.playerWithdrawals(w.player_id, cursor, 50);
      const found = result.items.find((item) => item.withdrawal_id === w.withdrawal_id);
      if (found) return { ...found, player_id: w.player_id };
      cursor = result.next_cursor;
      if (cursor === null) break;
    }
  } catch {
    // Shown as "reload the queue" by the caller.
  }
  return null;
}

function updateRow(row: HTMLTableRowElement | null, w: QueueItem): void {
  if (!row) return;
  const cells = row.children;
  const statusIndex = 6;
  const decisionIndex = 7;
  const statusCellElement = cells[statusIndex];
  const decisionCellElement = cells[decisionIndex];
  if (statusCellElement) replaceChildren(statusCellElement as HTMLElement, statusCell(w));
  if (decisionCellElement) {
    const note = decisionCellElement.querySelector(".row-note");
    replaceChildren(decisionCellElement as HTMLElement, h("div", { class: "decision-cell" }, note ?? h("div", { class: "row-note" })));
  }
  row.dataset.status = w.status;
}
