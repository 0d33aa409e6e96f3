// Signing in: a staff id for the local dev login, or a button to the identity provider.

import { STAFF_ID, type DevAuth, type OidcAuth } from "../auth";
import { h, replaceChildren } from "../dom";
import { problemBox } from "../ui";

export function renderLogin(root: HTMLElement, auth: DevAuth | OidcAuth, message: string | null): void {
  const notice = message ? h("p", { class: "notice", role: "alert" }, message) : null;
  const problem = h("div");
  if (auth.kind === "oidc") {
    const button = h("button", { type: "button", class: "primary" }, "Sign in with the identity provider");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await auth.signIn();
      } catch (error) {
        button.disabled = false;
        replaceChildren(problem, problemBox(error, "Sign-in failed:"));
      }
    });
    replaceChildren(root, h("h1", null, "Sign in"), notice,
      h("p", null, "Operators sign in with the staff identity provider; the token must carry the stakeline/ops scope."),
      button, problem);
    return;
  }
  const input = h("input", {
    id: "staff-id", name: "staff", type: "text", required: true, autocomplete: "username",
    maxlength: 64, pattern: STAFF_ID.source.slice(1, -1), "aria-describedby": "staff-help",
  });
  const form = h("form", { class: "login-form", "aria-labelledby": "login-title" },
    h("label", { for: "staff-id" }, "Staff id"),
    input,
    h("p", { id: "staff-help", class: "help" }, "Local development sign-in: the console server mints an operator token for this staff id. 1 to 64 letters, digits, dots, dashes, underscores or @."),
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const staff = input.value.trim();
    if (!STAFF_ID.test(staff)) {
      replaceChildren(problem, h("p", { class: "field-error", role: "alert" }, "Enter a staff id: 1 to 64 letters, digits, dots, dashes, underscores or @."));
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    try {
      await auth.signIn(staff);
    } catch (error) {
      replaceChildren(problem, problemBox(error, "Sign-in failed:"));
    }
  });
  replaceChildren(root, h("h1", { id: "login-title" }, "Sign in"), notice, form, problem);
  input.focus();
}
