// Finding a player (by id, or by email through GET /ops/players?email=) and the player's page:
// account and wallet, the lock, the ledger with running balances, bets, withdrawals, risk
// flags and the operators' actions.

import { playerHref, type Context } from "../context";
import { askReason } from "../dialog";
import { h, replaceChildren } from "../dom";
import type { Bet, LedgerEntry, OperatorAction, OpsWithdrawal, Player, PlayerDetail, RiskFlag } from "../types";
import { announce, dl, money, pagedTable, problemBox, statusBadge, table, time, type Column } from "../ui";

export function renderSearch(ctx: Context, root: HTMLElement, query: URLSearchParams): void {
  const idInput = h("input", { id: "player-id", name: "player_id", type: "text", required: true, autocomplete: "off", spellcheck: "false" });
  const byId = h("form", { class: "inline-form", "aria-labelledby": "by-id-title" },
    h("label", { for: "player-id" }, "Player id"), idInput, h("button", { type: "submit" }, "Open"));
  byId.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = idInput.value.trim();
    if (id) ctx.navigate(playerHref(id));
  });

  const email = query.get("email") ?? "";
  const emailInput = h("input", { id: "player-email", name: "email", type: "email", required: true, autocomplete: "off", value: email });
  const byEmail = h("form", { class: "inline-form", "aria-labelledby": "by-email-title" },
    h("label", { for: "player-email" }, "Email"), emailInput, h("button", { type: "submit" }, "Find"));
  byEmail.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = emailInput.value.trim();
    if (value) ctx.navigate(`#/players?email=${encodeURIComponent(value)}`);
  });
  const results = h("div", { class: "results" });

  replaceChildren(root,
    h("h1", null, "Players"),
    h("section", { "aria-labelledby": "by-id-title" }, h("h2", { id: "by-id-title" }, "By player id"), byId),
    h("section", { "aria-labelledby": "by-email-title" }, h("h2", { id: "by-email-title" }, "By email"), byEmail, results));
  if (email) void findByEmail(ctx, email, results);
}

async function findByEmail(ctx: Context, email: string, results: HTMLElement): Promise<void> {
  replaceChildren(results, h("p", { class: "loading" }, "Searching…"));
  try {
    const { items } = await ctx.api.playersByEmail(email);
    const columns: Column<Player>[] = [
      { header: "Player", cell: (p) => h("a", { href: playerHref(p.player_id) }, p.player_id), rowHeader: true },
      { header: "Email", cell: (p) => p.email },
      { header: "Status", cell: (p) => statusBadge(p.status) },
      { header: "Country", cell: (p) => p.country },
      { header: "Created", cell: (p) => time(p.created_at) },
    ];
    replaceChildren(results, table(`Players with the email ${email}`, columns, items, `No player has the email ${email}.`));
    announce(items.length ? `Found ${items.length} player` : `No player has the email ${email}`);
  } catch (error) {
    replaceChildren(results, problemBox(error));
  }
}

export async function renderPlayer(ctx: Context, root: HTMLElement, playerId: string): Promise<void> {
  replaceChildren(root, h("h1", null, "Player ", h("code", null, playerId)), h("p", { class: "loading" }, "Loading…"));
  let detail: PlayerDetail;
  try {
    detail = await ctx.api.player(playerId);
  } catch (error) {
    replaceChildren(root, h("h1", null, "Player ", h("code", null, playerId)), problemBox(error));
    return;
  }
  const { account, wallet } = detail;
  const currency = wallet.currency;
  replaceChildren(root,
    h("h1", null, "Player ", h("code", null, playerId)),
    h("div", { class: "cards" },
      h("section", { class: "card", "aria-labelledby": "account-title" },
        h("h2", { id: "account-title" }, "Account"),
        dl([
          ["Status", statusBadge(account.status)],
          ["Email", account.email],
          ["Country", account.country],
          ["Currency", account.currency],
          ["Date of birth", account.date_of_birth],
          ["Created", time(account.created_at)],
        ]),
        lockControl(ctx, account, root)),
      h("section", { class: "card", "aria-labelledby": "wallet-title" },
        h("h2", { id: "wallet-title" }, "Wallet"),
        dl([
          ["Cash", h("span", { "data-field": "cash" }, money(wallet.cash, currency))],
          ["Bonus", h("span", { "data-field": "bonus" }, money(wallet.bonus, currency))],
          ["Wagering remaining", h("span", { "data-field": "wagering_remaining" }, money(wallet.wagering_remaining, currency))],
          ["Pending withdrawal", h("span", { "data-field": "pending_withdrawal" }, money(wallet.pending_withdrawal, currency))],
          ["Updated", time(wallet.updated_at)],
        ]))),
    section("ledger", "Ledger", ledger(ctx, playerId, currency)),
    section("bets", "Bets", bets(ctx, playerId)),
    section("withdrawals", "Withdrawals", withdrawals(ctx, playerId)),
    section("risk", "Risk flags", riskFlags(detail.risk_flags)),
    section("actions", "Operator actions", actions(detail.actions)));
}

function section(id: string, title: string, content: HTMLElement): HTMLElement {
  return h("section", { id: `section-${id}`, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), content);
}

function lockControl(ctx: Context, account: Player, root: HTMLElement): HTMLElement {
  const locked = account.status === "disabled";
  const target = locked ? "active" : "disabled";
  const label = locked ? "Unlock player" : "Lock player";
  const note = h("div", { class: "row-note" });
  const button = h("button", { type: "button", class: locked ? "primary" : "danger" }, label);
  button.addEventListener("click", async () => {
    const staff = ctx.staff();
    const reason = await askReason({
      title: `${label} ${account.player_id}`,
      description: h("p", null, locked
        ? "The account becomes active again: deposits, bets and withdrawals are accepted."
        : "The account becomes disabled: deposits, bets and withdrawals are refused until it is unlocked (wins and rollbacks still settle)."),
      confirm: label,
      staff,
      danger: !locked,
    });
    if (reason === null) return;
    button.disabled = true;
    try {
      const player = await ctx.api.setStatus(account.player_id, target, reason);
      announce(`Player ${account.player_id} is now ${player.status}, recorded as ${staff}.`);
      await renderPlayer(ctx, root, account.player_id);
    } catch (error) {
      button.disabled = false;
      replaceChildren(note, problemBox(error, `Not ${locked ? "unlocked" : "locked"}:`));
    }
  });
  return h("div", { class: "card-actions" }, button, note);
}

function signed(amount: LedgerEntry["amount"], currency: string): string {
  const text = money(amount, currency);
  return /^[1-9]/.test(String(amount)) ? `+${text}` : text;
}

function ledger(ctx: Context, playerId: string, currency: string): HTMLElement {
  const columns: Column<LedgerEntry>[] = [
    { header: "When", cell: (e) => time(e.created_at) },
    { header: "Kind", cell: (e) => e.kind },
    { header: "Amount", cell: (e) => signed(e.amount, currency), numeric: true },
    { header: "Cash", cell: (e) => signed(e.cash_amount, currency), numeric: true },
    { header: "Bonus", cell: (e) => signed(e.bonus_amount, currency), numeric: true },
    { header: "Cash after", cell: (e) => money(e.cash_after, currency), numeric: true },
    { header: "Bonus after", cell: (e) => money(e.bonus_after, currency), numeric: true },
    { header: "Pending after", cell: (e) => e.pending_withdrawal_after === undefined ? "—" : money(e.pending_withdrawal_after, currency), numeric: true },
    { header: "Reference", cell: (e) => h("code", null, e.reference) },
  ];
  return pagedTable({
    caption: "Ledger entries, newest first, with the balances after each",
    columns,
    load: (cursor) => ctx.api.transactions(playerId, cursor),
    more: "Older entries",
    empty: "No ledger entry yet.",
  });
}

function bets(ctx: Context, playerId: string): HTMLElement {
  const columns: Column<Bet>[] = [
    { header: "Bet", cell: (b) => h("code", null, b.bet_id), rowHeader: true },
    { header: "Placed", cell: (b) => time(b.placed_at) },
    { header: "Game / round", cell: (b) => `${b.game_id} / ${b.round_id}` },
    { header: "Stake", cell: (b) => money(b.amount, b.currency), numeric: true },
    { header: "Cash / bonus stake", cell: (b) => `${money(b.cash_stake, b.currency)} / ${money(b.bonus_stake, b.currency)}` },
    { header: "Status", cell: (b) => statusBadge(b.status) },
    { header: "Settlement", cell: (b) => b.settlement
      ? [b.settlement.kind, b.settlement.amount !== undefined ? ` ${money(b.settlement.amount, b.currency)}` : "", " at ", time(b.settlement.settled_at)]
      : "—" },
  ];
  return pagedTable({
    caption: "Bets, newest first",
    columns,
    load: (cursor) => ctx.api.bets(playerId, cursor),
    more: "Older bets",
    empty: "No bet yet.",
  });
}

function withdrawals(ctx: Context, playerId: string): HTMLElement {
  const columns: Column<OpsWithdrawal>[] = [
    { header: "Withdrawal", cell: (w) => h("code", null, w.withdrawal_id), rowHeader: true },
    { header: "Requested", cell: (w) => time(w.created_at) },
    { header: "Amount", cell: (w) => money(w.amount, w.currency), numeric: true },
    { header: "Destination", cell: (w) => `${w.destination.kind} ${w.destination.reference}` },
    { header: "Status", cell: (w) => statusBadge(w.status) },
    { header: "Review reasons", cell: (w) => w.review_reasons.join(", ") || "—" },
    { header: "Decided", cell: (w) => w.decided_by ? [w.decided_by, w.decision_reason ? `: “${w.decision_reason}”` : ""] : "—" },
  ];
  return pagedTable({
    caption: "Withdrawals, newest first",
    columns,
    load: (cursor) => ctx.api.playerWithdrawals(playerId, cursor),
    more: "Older withdrawals",
    empty: "No withdrawal yet.",
    decorate: (tr, w) => {
      tr.dataset.withdrawalId = w.withdrawal_id;
      tr.dataset.status = w.status;
    },
  });
}

function riskFlags(flags: RiskFlag[]): HTMLElement {
  const columns: Column<RiskFlag>[] = [
    { header: "Reason", cell: (f) => f.reason, rowHeader: true },
    { header: "Withdrawal", cell: (f) => h("code", null, f.withdrawal_id) },
    { header: "Requested", cell: (f) => time(f.requested_at) },
  ];
  return table("Risk flags raised by the player's recent withdrawals", columns, flags, "No risk flag.");
}

function describeAction(a: OperatorAction): string {
  if (a.kind === "withdrawal_decision") return `${a.decision ?? "decision"} withdrawal ${a.withdrawal_id ?? ""}`.trim();
  if (a.kind === "status_change") return `status ${a.previous_status ?? "?"} → ${a.status ?? "?"}`;
  return a.kind;
}

function actions(list: OperatorAction[]): HTMLElement {
  const columns: Column<OperatorAction>[] = [
    { header: "When", cell: (a) => time(a.at) },
    { header: "Operator", cell: (a) => a.operator },
    { header: "Action", cell: (a) => describeAction(a) },
    { header: "Reason", cell: (a) => a.reason },
  ];
  return table("Operator actions on this player", columns, list, "No operator action yet.");
}
