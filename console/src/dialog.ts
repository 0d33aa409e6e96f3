// Every change an operator makes (a decision, a lock, a redrive) goes through this dialog: it
// asks for the reason the API records, refuses an empty one, and says who will be recorded.

import { h, uid, type Child } from "./dom";

export const MAX_REASON_LENGTH = 500;

export interface ReasonRequest {
  title: string;
  /** What will happen, in a sentence or two. */
  description: Child;
  confirm: string;
  /** The staff id the API will record (the token's `sub`). */
  staff: string;
  danger?: boolean;
}

/** The reason typed (trimmed), or null when the operator cancelled. */
export function askReason(request: ReasonRequest): Promise<string | null> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = uid("dialog-title");
  const fieldId = uid("reason");
  const errorId = uid("reason-error");
  const whoId = uid("recorded-as");
  const textarea = h("textarea", {
    id: fieldId, name: "reason", rows: 3, maxlength: MAX_REASON_LENGTH, required: true,
    "aria-required": "true", "aria-describedby": `${whoId} ${errorId}`,
  });
  const error = h("p", { id: errorId, class: "field-error" });
  const confirm = h("button", { type: "submit", class: request.danger ? "danger" : "primary" }, request.confirm);
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { novalidate: true, class: "reason-form" },
    h("h2", { id: titleId }, request.title),
    h("div", { class: "dialog-description" }, request.description),
    h("label", { for: fieldId }, "Reason (required, recorded with the change)"),
    textarea,
    error,
    h("p", { id: whoId, class: "recorded-as" }, "Recorded as ", h("strong", null, request.staff)),
    h("div", { class: "actions" }, confirm, cancel));
  const dialog = h("dialog", { class: "reason-dialog", "aria-labelledby": titleId, "aria-modal": "true" }, form);

  return new Promise((resolve) => {
    let done = false;
    const finish = (reason: string | null) => {
      if (done) return;
      done = true;
      if (dialog.open && typeof dialog.close === "function") dialog.close();
      dialog.remove();
      opener?.focus();
      resolve(reason);
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const reason = textarea.value.trim();
      if (!reason) {
        error.textContent = "A reason is required.";
        textarea.setAttribute("aria-invalid", "true");
        textarea.focus();
        return;
      }
      if (reason.length > MAX_REASON_LENGTH) {
        error.textContent = `At most ${MAX_REASON_LENGTH} characters.`;
        textarea.setAttribute("aria-invalid", "true");
        textarea.focus();
        return;
      }
      finish(reason);
    });
    cancel.addEventListener("click", () => finish(null));
    // Escape closes a modal dialog with a "cancel" event.
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    document.body.append(dialog);
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    textarea.focus();
  });
}
