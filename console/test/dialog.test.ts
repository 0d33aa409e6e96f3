import { describe, expect, it } from "vitest";
import { askReason } from "../src/dialog";

function submit(reason: string): void {
  const dialog = document.querySelector("dialog")!;
  dialog.querySelector("textarea")!.value = reason;
  dialog.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
}

describe("the reason dialog", () => {
  it("labels its field, names who is recorded and refuses an empty reason", async () => {
    const answer = askReason({ title: "Lock player p-1", description: "The account becomes disabled.", confirm: "Lock player", staff: "staff-7" });
    const dialog = document.querySelector("dialog")!;
    const textarea = dialog.querySelector("textarea")!;
    expect(dialog.querySelector(`label[for="${textarea.id}"]`)!.textContent).toContain("Reason");
    expect(dialog.textContent).toContain("Recorded as staff-7");
    expect(document.activeElement).toBe(textarea);
    submit("");
    submit(" \n\t ");
    expect(dialog.isConnected).toBe(true);
    expect(dialog.querySelector(".field-error")!.textContent).toBe("A reason is required.");
    submit(" chargeback under investigation ");
    await expect(answer).resolves.toBe("chargeback under investigation");
    expect(dialog.isConnected).toBe(false);
  });

  it("answers null when cancelled with Escape", async () => {
    const answer = askReason({ title: "Redrive", description: "", confirm: "Redrive", staff: "staff-7" });
    document.querySelector("dialog")!.dispatchEvent(new Event("cancel", { cancelable: true }));
    await expect(answer).resolves.toBeNull();
  });
});
