// The queues: each dead-letter and failure queue's depth, what it holds, and its redrive
// (POST /ops/queues/{queue}/redrive, with a reason). A queue the API says cannot be redriven
// shows why instead.

import type { Context } from "../context";
import { askReason } from "../dialog";
import { h, replaceChildren } from "../dom";
import type { QueueState } from "../types";
import { announce, problemBox, table, type Column } from "../ui";

export async function renderQueues(ctx: Context, root: HTMLElement): Promise<void> {
  const list = h("div", { id: "queue-list" });
  const note = h("div", { class: "row-note" });
  const refresh = h("button", { type: "button" }, "Refresh");
  refresh.addEventListener("click", () => void load(ctx, list, note));
  replaceChildren(root,
    h("h1", null, "Queues"),
    h("p", { class: "lede" }, "Messages a consumer failed to process wait in these queues. Once the cause is fixed, a redrive sends them back."),
    refresh, note, list);
  await load(ctx, list, note);
}

async function load(ctx: Context, list: HTMLElement, note: HTMLElement): Promise<void> {
  list.setAttribute("aria-busy", "true");
  try {
    const { items } = await ctx.api.queues();
    const columns: Column<QueueState>[] = [
      { header: "Queue", cell: (q) => h("code", null, q.queue), rowHeader: true },
      { header: "Depth", cell: (q) => String(q.depth), numeric: true },
      { header: "In flight", cell: (q) => String(q.in_flight), numeric: true },
      { header: "Delivers to", cell: (q) => q.delivers_to ?? "—" },
      { header: "What it holds", cell: (q) => q.note },
      { header: "Redrive", cell: (q) => redriveCell(ctx, q, list, note) },
    ];
    replaceChildren(list, table("Dead-letter and failure queues", columns, items, "No queue."));
  } catch (error) {
    replaceChildren(list, problemBox(error));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function redriveCell(ctx: Context, q: QueueState, list: HTMLElement, note: HTMLElement): HTMLElement {
  if (!q.redrivable) return h("span", { class: "not-redrivable" }, "Not redrivable (see what it holds)");
  const button = h("button", { type: "button", "aria-label": `Redrive ${q.queue}` }, "Redrive");
  button.addEventListener("click", async () => {
    const staff = ctx.staff();
    const reason = await askReason({
      title: `Redrive ${q.queue}`,
      description: h("p", null, `Its ${q.depth} visible message(s) go back on the bus${q.delivers_to ? `, for ${q.delivers_to}` : ""}. ` +
        "The consumers are idempotent: an event sent twice moves money once."),
      confirm: "Redrive",
      staff,
    });
    if (reason === null) return;
    button.disabled = true;
    try {
      const result = await ctx.api.redrive(q.queue, reason);
      replaceChildren(note);
      announce(`${result.queue}: ${result.moved} message(s) sent back, ${result.left} left; recorded as ${result.action.operator}.`);
      await load(ctx, list, note);
    } catch (error) {
      button.disabled = false;
      replaceChildren(note, problemBox(error, `${q.queue} not redriven:`));
    }
  });
  return button;
}
