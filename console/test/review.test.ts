import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api } from "../src/api";
import type { Context } from "../src/context";
import { renderReview } from "../src/views/review";
import { fakeFetch, json, problem, signedIn, type Responder } from "./helpers";

const PLAYER = "p-41";
const pending = {
  player_id: PLAYER, withdrawal_id: "wd-1", amount: 2000, currency: "EUR",
  destination: { kind: "bank_account", reference: "iban-tok-1" }, status: "pending_review",
  review_reasons: ["turnover", "new_account"], bonus_forfeited: null, created_at: "2026-05-01T09:00:00Z",
};
const wallet = { player_id: PLAYER, currency: "EUR", cash: 5000, bonus: 0, wagering_remaining: 0, pending_withdrawal: 0, updated_at: "2026-05-01T10:00:00Z" };

function setup(responder: Responder) {
  document.body.innerHTML = '<main id="main"></main><div id="status" role="status" aria-live="polite"></div>';
  const root = document.getElementById("main")!;
  const { fetch, calls } = fakeFetch(responder);
  const session = signedIn("staff-7");
  const ctx: Context = { api: new Api(session, fetch), staff: () => "staff-7", navigate: vi.fn() };
  renderReview(ctx, root, new URLSearchParams());
  return { root, calls, ctx };
}

/** Lets the fake fetch's promises and the DOM updates after them run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

function button(root: HTMLElement, name: string): HTMLButtonElement {
  const found = [...root.ownerDocument.querySelectorAll("button")].find((b) => (b.getAttribute("aria-label") ?? b.textContent) === name);
  if (!found) throw new Error(`no button ${name}`);
  return found as HTMLButtonElement;
}

function dialog(): HTMLDialogElement {
  const found = document.querySelector("dialog");
  if (!found) throw new Error("no dialog open");
  return found as HTMLDialogElement;
}

function submitReason(reason: string): void {
  const textarea = dialog().querySelector("textarea")!;
  textarea.value = reason;
  dialog().querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
}

describe("the review queue", () => {
  beforeEach(() => {
    document.body.innerHTML = "";
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lists pending withdrawals oldest first with their reasons, amounts and decisions", async () => {
    const second = { ...pending, withdrawal_id: "wd-2", amount: "9007199254740993", currency: "KWD", review_reasons: ["large_amount"] };
    const { root, calls } = setup(() => json(200, { items: [pending, second], next_cursor: null }));
    await settle();
    expect(calls[0].url).toBe("/ops/withdrawals?status=pending_review&limit=20");
    const table = root.querySelector("table")!;
    expect(table.querySelector("caption")!.textContent).toBe("Withdrawals pending review, oldest first");
    expect([...table.querySelectorAll("thead th")].every((th) => th.getAttribute("scope") === "col")).toBe(true);
    const rows = [...table.querySelectorAll("tbody tr")] as HTMLElement[];
    expect(rows.map((r) => r.dataset.withdrawalId)).toEqual(["wd-1", "wd-2"]);
    expect(rows[0].textContent).toContain("20.00 EUR");
    expect(rows[0].textContent).toContain("turnover");
    expect(rows[0].textContent).toContain("new_account");
    expect(rows[1].textContent).toContain("9007199254740.993 KWD");
    expect(rows[0].querySelector(`a[href="#/players/${PLAYER}"]`)).not.toBeNull();
    expect(button(root, "Approve withdrawal wd-1")).toBeDefined();
    expect(button(root, "Reject withdrawal wd-2")).toBeDefined();
    expect(root.querySelector(".more")!.hasAttribute("hidden")).toBe(true);
  });

  it("pages with next_cursor", async () => {
    const { root, calls } = setup((call) => call.url.includes("cursor=")
      ? json(200, { items: [{ ...pending, withdrawal_id: "wd-9" }], next_cursor: null })
      : json(200, { items: [pending], next_cursor: "next/1" }));
    await settle();
    const more = root.querySelector(".more") as HTMLButtonElement;
    expect(more.hidden).toBe(false);
    more.click();
    await settle();
    expect(calls[1].url).toBe("/ops/withdrawals?status=pending_review&cursor=next%2F1&limit=20");
    expect([...root.querySelectorAll("tbody tr")].map((r) => (r as HTMLElement).dataset.withdrawalId)).toEqual(["wd-1", "wd-9"]);
    expect(more.hidden).toBe(true);
  });

  it("rejects with a reason, shows who is recorded, and updates the row", async () => {
    const { root, calls } = setup((call) => call.method === "POST"
      ? json(200, { ...pending, status: "rejected", decided_by: "staff-7", decision_reason: "duplicate account", wallet })
      : json(200, { items: [pending], next_cursor: null }));
    await settle();
    button(root, "Reject withdrawal wd-1").click();
    expect(dialog().textContent).toContain("Recorded as staff-7");
    submitReason("  duplicate account ");
    await settle();
    expect(calls[1]).toMatchObject({ method: "POST", url: "/ops/withdrawals/wd-1/decision", body: { decision: "reject", reason: "duplicate account" } });
    const row = root.querySelector('tr[data-withdrawal-id="wd-1"]')!;
    expect(row.textContent).toContain("rejected");
    expect(row.textContent).toContain("staff-7");
    expect(row.querySelectorAll("button")).toHaveLength(0);
    expect(document.getElementById("status")!.textContent).toContain("pending withdrawal 0.00 EUR");
    expect(document.querySelector("dialog")).toBeNull();
  });

  it("shows a conflict when someone decided first, reloads the item and never retries", async () => {
    const decided = { ...pending, status: "approved", decided_by: "staff-other", decision_reason: "checked with the bank" };
    const { root, calls } = setup((call) => {
      if (call.method === "POST") return problem(409, "WITHDRAWAL_NOT_PENDING", "withdrawal wd-1 is approved");
      if (call.url.startsWith(`/ops/players/${PLAYER}/withdrawals`)) return json(200, { items: [decided], next_cursor: null });
      return json(200, { items: [pending], next_cursor: null });
    });
    await settle();
    button(root, "Approve withdrawal wd-1").click();
    submitReason("looks fine");
    await settle();
    const conflict = root.querySelector(".conflict")!;
    expect(conflict.getAttribute("role")).toBe("alert");
    expect(conflict.textContent).toContain("already decided by someone else");
    expect(conflict.textContent).toContain("approved");
    expect(conflict.textContent).toContain("staff-other");
    const row = root.querySelector('tr[data-withdrawal-id="wd-1"]') as HTMLElement;
    expect(row.dataset.status).toBe("approved");
    expect(row.querySelectorAll("button")).toHaveLength(0);
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(1);
  });

  it("shows any other problem with its code and detail, and lets the operator try again", async () => {
    const { root } = setup((call) => call.method === "POST"
      ? problem(422, "VALIDATION_FAILED", "reason is too long")
      : json(200, { items: [pending], next_cursor: null }));
    await settle();
    button(root, "Approve withdrawal wd-1").click();
    submitReason("x");
    await settle();
    const alert = root.querySelector(".problem")!;
    expect(alert.textContent).toContain("422 VALIDATION_FAILED");
    expect(alert.textContent).toContain("reason is too long");
    expect(button(root, "Approve withdrawal wd-1").disabled).toBe(false);
  });

  it("does not send a decision without a reason", async () => {
    const { root, calls } = setup(() => json(200, { items: [pending], next_cursor: null }));
    await settle();
    button(root, "Reject withdrawal wd-1").click();
    submitReason("   ");
    await settle();
    expect(dialog().querySelector(".field-error")!.textContent).toBe("A reason is required.");
    expect(dialog().querySelector("textarea")!.getAttribute("aria-invalid")).toBe("true");
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
    button(root, "Cancel").click();
    await settle();
    expect(document.querySelector("dialog")).toBeNull();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });

  it("shows a problem loading the queue", async () => {
    const { root } = setup(() => problem(403, "FORBIDDEN", "the token lacks the stakeline/ops scope"));
    await settle();
    expect(root.querySelector('[role="alert"]')!.textContent).toContain("403 FORBIDDEN: the token lacks the stakeline/ops scope");
  });
});
