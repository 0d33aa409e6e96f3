// Signing in. On AWS: the operator's identity provider, OpenID Connect authorization code with
// PKCE (oidc-client-ts). Locally: the console server's /dev/token mints an operator token for
// a staff id. Either way the token goes into the Session, which keeps it no longer than it lives.

import { UserManager, WebStorageStateStore } from "oidc-client-ts";
import { problemFrom } from "./api";
import type { OidcConfig } from "./config";
import type { Session } from "./session";

export interface Authenticator {
  readonly kind: "dev" | "oidc";
  /** Picks up a session that is still valid (a reload, or the return from the provider). */
  restore(): Promise<void>;
  signOut(): Promise<void>;
}

/** What the local console server accepts as a staff id (it checks again). */
export const STAFF_ID = /^[A-Za-z0-9._@-]{1,64}$/;

export class DevAuth implements Authenticator {
  readonly kind = "dev";

  constructor(
    private readonly session: Session,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
    private readonly now: () => number = () => Date.now(),
  ) {}

  async restore(): Promise<void> {
    // The Session reads sessionStorage itself, dropping an expired token.
  }

  async signIn(staff: string): Promise<void> {
    const response = await this.fetchFn("/dev/token", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ operator: staff }),
      cache: "no-store",
    });
    const text = await response.text();
    if (!response.ok) throw problemFrom(response.status, response.headers.get("Content-Type"), text);
    const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== "string" || typeof body.expires_in !== "number") {
      throw new Error("/dev/token answered without access_token and expires_in");
    }
    this.session.start(body.access_token, Math.floor(this.now() / 1000) + body.expires_in);
  }

  async signOut(): Promise<void> {
    this.session.end("signed_out");
  }
}

export class OidcAuth implements Authenticator {
  readonly kind = "oidc";
  private readonly manager: UserManager;

  constructor(config: OidcConfig, private readonly session: Session) {
    const store = new WebStorageStateStore({ store: window.sessionStorage });
    this.manager = new UserManager({
      authority: config.authority,
      client_id: config.client_id,
      redirect_uri: config.redirect_uri ?? `${window.location.origin}/`,
      post_logout_redirect_uri: config.redirect_uri ?? `${window.location.origin}/`,
      scope: config.scope,
      response_type: "code",
      userStore: store,
      stateStore: store,
      automaticSilentRenew: false,
      monitorSession: false,
      loadUserInfo: false,
      includeIdTokenInSilentRenew: false,
    });
    // The library's copy goes when the token expires or the session ends for any reason.
    this.manager.events.addAccessTokenExpired(() => {
      void this.manager.removeUser();
      this.session.end("expired");
    });
    this.session.subscribe((token) => {
      if (token === null) void this.manager.removeUser();
    });
  }

  async restore(): Promise<void> {
    const url = new URL(window.location.href);
    if (url.searchParams.has("state") && (url.searchParams.has("code") || url.searchParams.has("error"))) {
      try {
        const user = await this.manager.signinRedirectCallback();
        const hash = typeof user.state === "string" && user.state.startsWith("#/") ? user.state : url.hash;
        window.history.replaceState(null, "", `${url.pathname}${hash}`);
      } catch (error) {
        window.history.replaceState(null, "", `${url.pathname}${url.hash}`);
        throw error;
      }
    }
    const user = await this.manager.getUser();
    if (!user) return;
    if (user.expired || !user.expires_at) {
      await this.manager.removeUser();
      return;
    }
    this.session.start(user.access_token, user.expires_at);
  }

  async signIn(): Promise<void> {
    await this.manager.signinRedirect({ state: window.location.hash || "#/review" });
  }

  async signOut(): Promise<void> {
    this.session.end("signed_out");
    await this.manager.removeUser();
  }
}
