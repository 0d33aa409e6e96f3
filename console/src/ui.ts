// Pieces every page uses: the status line (aria-live), problems, tables, definition lists,
// timestamps and money.

import { ApiError } from "./api";
import { h, replaceChildren, type Child } from "./dom";
import { formatMinor } from "./money";
import type { Minor } from "./types";

/** Says `text` in the page's polite live region (and shows it in the status bar). */
export function announce(text: string): void {
  const region = document.getElementById("status");
  if (!region) return;
  // Emptied first so that the same message twice is announced twice.
  region.textContent = "";
  region.textContent = text;
}

export function describeError(error: unknown): { code: string; detail: string } {
  if (error instanceof ApiError) {
    const fields = error.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return { code: `${error.status || ""} ${error.code}`.trim(), detail: fields ? `${error.detail} (${fields})` : error.detail };
  }
  return { code: "ERROR", detail: error instanceof Error ? error.message : String(error) };
}

/** A problem from the API, shown with its code and detail (role=alert: read out at once). */
export function problemBox(error: unknown, prefix?: string): HTMLElement {
  const { code, detail } = describeError(error);
  return h("div", { class: "problem", role: "alert" },
    prefix ? `${prefix} ` : null, h("strong", { class: "problem-code" }, code), ": ", detail);
}

export function money(amount: Minor | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return "—";
  try {
    return formatMinor(amount, currency);
  } catch {
    return `${String(amount)} (minor units) ${currency}`;
  }
}

export function time(iso: string | null | undefined): Child {
  if (!iso) return "—";
  const shown = iso.replace("T", " ").replace(/\.\d+/, "").replace(/Z$/, " UTC");
  return h("time", { datetime: iso }, shown);
}

export interface Column<T> {
  header: string;
  cell: (item: T) => Child;
  numeric?: boolean;
  /** This column names the row (a <th scope="row">). */
  rowHeader?: boolean;
}

export function row<T>(columns: Column<T>[], item: T): HTMLTableRowElement {
  return h("tr", null, columns.map((column) => {
    const attrs = column.numeric ? { class: "num" } : null;
    return column.rowHeader
      ? h("th", { scope: "row", ...attrs }, column.cell(item))
      : h("td", attrs, column.cell(item));
  }));
}

export function table<T>(caption: string, columns: Column<T>[], items: T[], empty: string): HTMLElement {
  const body = h("tbody", null, items.map((item) => row(columns, item)));
  const element = h("table", null,
    h("caption", null, caption),
    h("thead", null, h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.header)))),
    body);
  return h("div", { class: "table-wrap" }, items.length ? element : [element, h("p", { class: "empty" }, empty)]);
}

export interface PagedOptions<T> {
  caption: string;
  columns: Column<T>[];
  load: (cursor: string | null) => Promise<{ items: T[]; next_cursor: string | null }>;
  more: string;
  empty: string;
  /** Sets a row's data attributes, e.g. its id. */
  decorate?: (tr: HTMLTableRowElement, item: T) => void;
}

/** A table filled page by page: the first page at once, the next ones with the "more" button. */
export function pagedTable<T>(options: PagedOptions<T>): HTMLElement {
  const tbody = h("tbody");
  const note = h("div", { class: "table-note" });
  const button = h("button", { type: "button", class: "more", hidden: true }, options.more);
  const tableElement = h("table", { "aria-busy": "true" },
    h("caption", null, options.caption),
    h("thead", null, h("tr", null, options.columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.header)))),
    tbody);
  let cursor: string | null = null;
  let rows = 0;

  async function load(): Promise<void> {
    button.disabled = true;
    tableElement.setAttribute("aria-busy", "true");
    try {
      const page = await options.load(cursor);
      for (const item of page.items) {
        const tr = row(options.columns, item);
        options.decorate?.(tr, item);
        tbody.append(tr);
      }
      rows += page.items.length;
      cursor = page.next_cursor;
      button.hidden = cursor === null;
      replaceChildren(note, rows === 0 ? h("p", { class: "empty" }, options.empty) : null);
      if (rows > 0 && page.items.length > 0 && tbody.children.length > page.items.length) {
        announce(`${page.items.length} more rows loaded in "${options.caption}"`);
      }
    } catch (error) {
      replaceChildren(note, problemBox(error));
    } finally {
      button.disabled = false;
      tableElement.setAttribute("aria-busy", "false");
    }
  }

  button.addEventListener("click", () => void load());
  void load();
  return h("div", { class: "table-wrap" }, tableElement, note, button);
}

export function dl(pairs: [string, Child][]): HTMLElement {
  return h("dl", { class: "facts" }, pairs.map(([term, value]) => h("div", null, h("dt", null, term), h("dd", null, value))));
}

export function statusBadge(status: string): HTMLElement {
  return h("span", { class: `badge badge-${status.replace(/[^a-z_]/g, "")}` }, status);
}
