// The page frame (who is signed in, navigation, the main region) and the router over
// location.hash: #/review, #/players, #/players/{id}, #/audit, #/queues.

import { Api } from "./api";
import type { DevAuth, OidcAuth } from "./auth";
import type { Context } from "./context";
import { h, replaceChildren } from "./dom";
import type { EndReason, Session } from "./session";
import { announce } from "./ui";
import { renderAudit } from "./views/audit";
import { renderLogin } from "./views/login";
import { renderPlayer, renderSearch } from "./views/players";
import { renderQueues } from "./views/queues";
import { renderReview } from "./views/review";

const PAGES: [string, string][] = [
  ["review", "Review queue"],
  ["players", "Players"],
  ["audit", "Audit"],
  ["queues", "Queues"],
];

const END_MESSAGES: Record<EndReason, string> = {
  expired: "Your session has expired. Sign in again.",
  unauthorized: "The API refused your token (401 UNAUTHENTICATED). Sign in again.",
  signed_out: "You are signed out.",
};

export interface Route {
  page: string;
  id: string | null;
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.startsWith("#/") ? hash.slice(2) : "";
  const [path, search = ""] = text.split("?", 2);
  const [page, ...rest] = path.split("/");
  const known = PAGES.some(([name]) => name === page);
  return {
    page: known ? page : "review",
    id: rest.length ? decodeURIComponent(rest.join("/")) : null,
    query: new URLSearchParams(search),
  };
}

export class App implements Context {
  readonly api: Api;
  private endMessage: string | null = null;

  constructor(
    private readonly session: Session,
    private readonly auth: DevAuth | OidcAuth,
    private readonly elements: { main: HTMLElement; nav: HTMLElement; who: HTMLElement },
  ) {
    this.api = new Api(session);
    session.subscribe((token, why) => {
      if (token === null) {
        this.endMessage = why ? END_MESSAGES[why] : null;
        if (why) announce(END_MESSAGES[why]);
        // A change half-made when the session ended is dropped (its dialog answers "cancel").
        for (const dialog of document.querySelectorAll("dialog")) dialog.dispatchEvent(new Event("cancel"));
      } else {
        this.endMessage = null;
      }
      this.render();
    });
    window.addEventListener("hashchange", () => this.render());
  }

  staff(): string {
    return this.session.current()?.staff ?? "unknown";
  }

  navigate(hash: string): void {
    if (window.location.hash === hash) this.render();
    else window.location.hash = hash;
  }

  render(): void {
    const token = this.session.current();
    const { main, nav, who } = this.elements;
    if (!token) {
      replaceChildren(who);
      nav.hidden = true;
      replaceChildren(nav);
      renderLogin(main, this.auth, this.endMessage);
      return;
    }
    const route = parseHash(window.location.hash);
    const signOut = h("button", { type: "button", class: "link-button" }, "Sign out");
    signOut.addEventListener("click", () => void this.auth.signOut());
    replaceChildren(who, h("span", { id: "signed-in-as" }, "Signed in as ", h("strong", null, token.staff)), signOut);
    nav.hidden = false;
    replaceChildren(nav, h("ul", null, PAGES.map(([page, label]) =>
      h("li", null, h("a", { href: `#/${page}`, "aria-current": route.page === page ? "page" : null }, label)))));
    this.show(route, main);
  }

  private show(route: Route, main: HTMLElement): void {
    const title = PAGES.find(([page]) => page === route.page)?.[1] ?? "Console";
    document.title = `${route.id ? `Player ${route.id}` : title} · Stakeline console`;
    switch (route.page) {
      case "players":
        if (route.id) void renderPlayer(this, main, route.id);
        else renderSearch(this, main, route.query);
        break;
      case "audit":
        renderAudit(this, main);
        break;
      case "queues":
        void renderQueues(this, main);
        break;
      default:
        renderReview(this, main, route.query);
    }
  }
}
