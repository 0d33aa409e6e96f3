// The signed-in operator's token, kept no longer than its lifetime: in sessionStorage (dev
// login) or in memory (OIDC, whose library keeps its own copy in sessionStorage). Every read
// checks the expiry first, and a timer ends the session when the token expires even if
// nothing reads it.

import { decodeClaims } from "./jwt";

export interface SessionToken {
  accessToken: string;
  /** Unix seconds. */
  expiresAt: number;
  /** The token's `sub`, for display. */
  staff: string;
}

export type EndReason = "expired" | "signed_out" | "unauthorized";
export type Listener = (token: SessionToken | null, why: EndReason | null) => void;
type TokenStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const STORAGE_KEY = "stakeline.console.token";
/** A token this close to its expiry is treated as expired (a request takes a moment). */
export const EXPIRY_MARGIN_SECONDS = 5;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Session {
  private token: SessionToken | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private listeners: Listener[] = [];

  constructor(
    private readonly storage: TokenStorage | null,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.token = this.load();
    if (this.token) this.schedule(this.token);
  }

  /** The token, or null when there is none or it has expired (which ends the session). */
  current(): SessionToken | null {
    const token = this.token;
    if (!token) return null;
    if (this.expired(token)) {
      this.end("expired");
      return null;
    }
    return token;
  }

  start(accessToken: string, expiresAt: number): SessionToken {
    const token: SessionToken = { accessToken, expiresAt, staff: decodeClaims(accessToken).sub ?? "unknown" };
    if (this.expired(token)) throw new Error("the token has already expired");
    this.token = token;
    this.storage?.setItem(STORAGE_KEY, JSON.stringify(token));
    this.schedule(token);
    this.notify(token, null);
    return token;
  }

  end(why: EndReason): void {
    const had = this.token !== null;
    this.token = null;
    this.storage?.removeItem(STORAGE_KEY);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (had) this.notify(null, why);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private expired(token: SessionToken): boolean {
    return this.now() >= (token.expiresAt - EXPIRY_MARGIN_SECONDS) * 1000;
  }

  private schedule(token: SessionToken): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const wait = Math.min(Math.max((token.expiresAt - EXPIRY_MARGIN_SECONDS) * 1000 - this.now(), 0), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.token && this.expired(this.token)) this.end("expired");
      else if (this.token) this.schedule(this.token);
    }, wait);
  }

  private load(): SessionToken | null {
    const raw = this.storage?.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      const value = JSON.parse(raw) as Partial<SessionToken>;
      if (typeof value.accessToken === "string" && typeof value.expiresAt === "number" && typeof value.staff === "string") {
        const token = value as SessionToken;
        if (!this.expired(token)) return token;
      }
    } catch {
      // Unreadable: dropped below.
    }
    this.storage?.removeItem(STORAGE_KEY);
    return null;
  }

  private notify(token: SessionToken | null, why: EndReason | null): void {
    for (const listener of [...this.listeners]) listener(token, why);
  }
}
