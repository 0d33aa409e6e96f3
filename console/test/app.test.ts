import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App, parseHash } from "../src/app";
import { DevAuth } from "../src/auth";
import { Session } from "../src/session";
import { fakeFetch, fakeJwt, json, MemoryStorage, problem, type Responder } from "./helpers";

function mount(responder: Responder, storage = new MemoryStorage()) {
  document.body.innerHTML = `
    <header><div id="who"></div></header><nav id="nav" hidden></nav>
    <main id="main"></main><div id="status" role="status" aria-live="polite"></div>`;
  const { fetch, calls } = fakeFetch(responder);
  vi.stubGlobal("fetch", fetch);
  const session = new Session(storage);
  const auth = new DevAuth(session, fetch);
  const app = new App(session, auth, {
    main: document.getElementById("main")!, nav: document.getElementById("nav")!, who: document.getElementById("who")!,
  });
  app.render();
  return { calls, session, storage };
}

/** Lets the fake fetch's promises, and the page updates after them, run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(1);
}

async function signIn(staff: string): Promise<void> {
  const input = document.getElementById("staff-id") as HTMLInputElement;
  input.value = staff;
  input.form!.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
  await flush();
}

const token = (ttl: number) => {
  const exp = Math.floor(Date.now() / 1000) + ttl;
  return { access_token: fakeJwt({ sub: "staff-7", exp, scope: "stakeline/ops" }), token_type: "Bearer", expires_in: ttl };
};

describe("the app", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    vi.setSystemTime(new Date("2026-05-01T10:00:00Z"));
    window.location.hash = "#/review";
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it("signs in with a staff id (dev login) and shows who is signed in", async () => {
    const { calls } = mount((call) => call.url === "/dev/token" ? json(200, token(900)) : json(200, { items: [], next_cursor: null }));
    expect(document.getElementById("nav")!.hidden).toBe(true);
    expect(document.querySelector('label[for="staff-id"]')!.textContent).toBe("Staff id");
    await signIn("staff-7");
    expect(calls[0]).toMatchObject({ method: "POST", url: "/dev/token", body: { operator: "staff-7" } });
    expect(document.getElementById("signed-in-as")!.textContent).toBe("Signed in as staff-7");
    expect(document.getElementById("nav")!.hidden).toBe(false);
    expect(document.querySelector('nav a[aria-current="page"]')!.textContent).toBe("Review queue");
    expect(calls[1].url).toMatch(/^\/ops\/withdrawals\?status=pending_review/);
  });

  it("shows the console server's refusal of a staff id", async () => {
    mount(() => problem(400, "VALIDATION_FAILED", "the staff id must be 1-64 characters of A-Z a-z 0-9 . _ @ -"));
    await signIn("staff-7");
    expect(document.querySelector(".problem")!.textContent).toContain("400 VALIDATION_FAILED");
    expect(document.getElementById("nav")!.hidden).toBe(true);
  });

  it("goes back to the login when the token expires, and forgets it", async () => {
    const { storage } = mount((call) => call.url === "/dev/token" ? json(200, token(120)) : json(200, { items: [], next_cursor: null }));
    await signIn("staff-7");
    expect(storage.items.size).toBe(1);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(document.getElementById("staff-id")).not.toBeNull();
    expect(document.querySelector(".notice")!.textContent).toBe("Your session has expired. Sign in again.");
    expect(document.getElementById("who")!.textContent).toBe("");
    expect(storage.items.size).toBe(0);
  });

  it("goes back to the login on a 401 from the API", async () => {
    mount((call) => call.url === "/dev/token" ? json(200, token(900)) : problem(401, "UNAUTHENTICATED", "bad token"));
    await signIn("staff-7");
    await flush();
    expect(document.getElementById("staff-id")).not.toBeNull();
    expect(document.querySelector(".notice")!.textContent).toContain("401 UNAUTHENTICATED");
  });

  it("signs out", async () => {
    const { storage } = mount((call) => call.url === "/dev/token" ? json(200, token(900)) : json(200, { items: [], next_cursor: null }));
    await signIn("staff-7");
    [...document.querySelectorAll("button")].find((b) => b.textContent === "Sign out")!.click();
    await flush();
    expect(document.getElementById("staff-id")).not.toBeNull();
    expect(storage.items.size).toBe(0);
  });
});

describe("parseHash", () => {
  it.each([
    ["", "review", null],
    ["#/players/p%2F1", "players", "p/1"],
    ["#/queues", "queues", null],
    ["#main", "review", null],
    ["#/nowhere", "review", null],
  ])("%s", (hash, page, id) => {
    expect(parseHash(hash)).toMatchObject({ page, id });
  });
});
