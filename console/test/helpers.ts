import { Session } from "../src/session";

/** An unsigned JWT whose payload is `claims` (the console only decodes it for display). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode(claims)}.signature`;
}

export class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/** A session signed in as `staff` for `ttl` seconds from now. */
export function signedIn(staff = "staff-7", ttl = 3600, storage: MemoryStorage | null = new MemoryStorage()): Session {
  const session = new Session(storage);
  const exp = Math.floor(Date.now() / 1000) + ttl;
  session.start(fakeJwt({ sub: staff, exp, scope: "stakeline/ops" }), exp);
  return session;
}

export interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Responder = (call: Call) => Response | Promise<Response>;

/** A fetch that records each call and answers with `responder`. */
export function fakeFetch(responder: Responder): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      method: init?.method ?? "GET",
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return responder(call);
  }) as typeof fetch;
  return { fetch: fetchFn, calls };
}

export function json(status: number, body: unknown, type = "application/json"): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Response {
  return json(status, { type: `urn:stakeline:problem:${code.toLowerCase()}`, title: code, status, code, detail, ...extra },
    "application/problem+json");
}
