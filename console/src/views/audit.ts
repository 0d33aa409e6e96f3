// The audit: POST /ops/audit runs the reconciliation over the whole table (invariants 1-4 of
// the wallet rules) and the page shows its report.

import type { Context } from "../context";
import { h, replaceChildren } from "../dom";
import type { AuditReport } from "../types";
import { announce, dl, problemBox, table, time, type Column } from "../ui";

export function renderAudit(ctx: Context, root: HTMLElement): void {
  const result = h("div", { id: "audit-result", class: "audit-result" });
  const button = h("button", { type: "button", class: "primary" }, "Run the audit");
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    replaceChildren(result, h("p", { class: "loading" }, "Auditing the whole table…"));
    announce("Audit running");
    try {
      const report = await ctx.api.audit();
      replaceChildren(result, reportView(report));
      announce(report.clean ? "Audit finished: clean" : `Audit finished: ${report.findings.length} findings`);
    } catch (error) {
      replaceChildren(result, problemBox(error, "The audit did not run:"));
    } finally {
      button.disabled = false;
      result.setAttribute("aria-busy", "false");
    }
  });
  replaceChildren(root,
    h("h1", null, "Audit"),
    h("p", { class: "lede" },
      "Reads the whole table and checks invariants 1–4 of the wallet rules: no negative balance, balances equal their entries, " +
      "every deposit, bet and settlement id moved money at most once, and bet states match their entries. It can take a few seconds."),
    button,
    result);
}

function reportView(report: AuditReport): HTMLElement {
  const columns: Column<AuditReport["findings"][number]>[] = [
    { header: "Invariant", cell: (f) => String(f.invariant), rowHeader: true },
    { header: "Detail", cell: (f) => f.detail },
  ];
  return h("section", { "aria-labelledby": "report-title" },
    h("h2", { id: "report-title", class: report.clean ? "clean" : "dirty" },
      report.clean ? "Clean: invariants 1–4 hold" : `Not clean: ${report.findings.length} findings`),
    dl([
      ["Accounts", String(report.accounts)],
      ["Ledger entries", String(report.entries)],
      ["Deposit ids", String(report.deposits)],
      ["Bet ids", String(report.bets)],
      ["Settlement ids", String(report.settlements)],
      ["Audited at", time(report.audited_at)],
    ]),
    report.clean ? null : table("Findings", columns, report.findings, "No finding."));
}
