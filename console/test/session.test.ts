import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Session } from "../src/session";
import { fakeJwt, MemoryStorage } from "./helpers";

describe("Session", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-05-01T10:00:00Z"));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const start = (session: Session, ttl: number) => {
    const exp = Math.floor(Date.now() / 1000) + ttl;
    return session.start(fakeJwt({ sub: "staff-7", exp }), exp);
  };

  it("shows the token's sub as the staff id", () => {
    expect(start(new Session(null), 600).staff).toBe("staff-7");
  });

  it("clears the token and its storage when the token expires, without any read", () => {
    const storage = new MemoryStorage();
    const session = new Session(storage);
    const ends: (string | null)[] = [];
    session.subscribe((token, why) => {
      if (token === null) ends.push(why);
    });
    start(session, 600);
    expect(storage.items.size).toBe(1);
    vi.advanceTimersByTime(590_000);
    expect(session.current()).not.toBeNull();
    vi.advanceTimersByTime(10_000);
    expect(ends).toEqual(["expired"]);
    expect(storage.items.size).toBe(0);
    expect(session.current()).toBeNull();
  });

  it("checks the expiry on each read", () => {
    const session = new Session(null);
    start(session, 600);
    vi.setSystemTime(new Date("2026-05-01T10:10:00Z"));
    expect(session.current()).toBeNull();
  });

  it("does not restore an expired token from storage", () => {
    const storage = new MemoryStorage();
    start(new Session(storage), 600);
    vi.setSystemTime(new Date("2026-05-01T11:00:00Z"));
    const restored = new Session(storage);
    expect(restored.current()).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it("restores a live token after a reload", () => {
    const storage = new MemoryStorage();
    start(new Session(storage), 600);
    expect(new Session(storage).current()?.staff).toBe("staff-7");
  });

  it("refuses a token that has already expired", () => {
    const session = new Session(null);
    expect(() => start(session, -10)).toThrow();
    expect(session.current()).toBeNull();
  });
});
