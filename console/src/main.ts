import "./style.css";
import { App } from "./app";
import { DevAuth, OidcAuth } from "./auth";
import { loadConfig } from "./config";
import { h, replaceChildren } from "./dom";
import { Session } from "./session";
import { problemBox } from "./ui";

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error(`index.html lacks #${id}`);
  return found;
}

async function start(): Promise<void> {
  const main = element("main");
  // The skip link focuses the main region without touching the router's hash.
  document.querySelector(".skip-link")?.addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  try {
    const config = await loadConfig();
    // Dev tokens live in sessionStorage; OIDC tokens in memory (the library keeps its own
    // copy in sessionStorage, read back on a reload).
    const session = new Session(config.auth === "dev" ? window.sessionStorage : null);
    const auth = config.auth === "dev" ? new DevAuth(session) : new OidcAuth(config, session);
    await auth.restore();
    const app = new App(session, auth, { main, nav: element("nav"), who: element("who") });
    app.render();
  } catch (error) {
    replaceChildren(main, h("h1", null, "The console cannot start"), problemBox(error));
  }
}

void start();
