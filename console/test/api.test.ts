import { describe, expect, it } from "vitest";
import { Api, ApiError } from "../src/api";
import { Session } from "../src/session";
import { fakeFetch, fakeJwt, json, problem, signedIn } from "./helpers";

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("Api", () => {
  it("sends the bearer token to the same-origin /ops path", async () => {
    const session = signedIn("staff-7");
    const { fetch, calls } = fakeFetch(() => json(200, { items: [], next_cursor: null }));
    await new Api(session, fetch).withdrawals("pending_review", "c/1");
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe("/ops/withdrawals?status=pending_review&cursor=c%2F1&limit=20");
    expect(calls[0].headers.Authorization).toBe(`Bearer ${session.current()!.accessToken}`);
  });

  it("turns problem+json into an ApiError with its code, detail and field errors", async () => {
    const { fetch } = fakeFetch(() => problem(422, "VALIDATION_FAILED", "the body is not valid",
      { errors: [{ field: "reason", message: "must not be empty" }] }));
    const error = await failure(new Api(signedIn(), fetch).decide("wd-1", "approve", " "));
    expect([error.status, error.code, error.detail]).toEqual([422, "VALIDATION_FAILED", "the body is not valid"]);
    expect(error.errors).toEqual([{ field: "reason", message: "must not be empty" }]);
    expect(error.describe()).toBe("422 VALIDATION_FAILED: the body is not valid (reason: must not be empty)");
  });

  it("keeps the conflict's code", async () => {
    const { fetch } = fakeFetch(() => problem(409, "WITHDRAWAL_NOT_PENDING", "withdrawal wd-1 is approved"));
    const error = await failure(new Api(signedIn(), fetch).decide("wd-1", "reject", "dup"));
    expect([error.status, error.code]).toEqual([409, "WITHDRAWAL_NOT_PENDING"]);
  });

  it("describes an answer that is not a problem by its status and text", async () => {
    const { fetch } = fakeFetch(() => new Response("the local functions did not answer", { status: 502, headers: { "Content-Type": "text/plain" } }));
    const error = await failure(new Api(signedIn(), fetch).queues());
    expect([error.status, error.code, error.detail]).toEqual([502, "HTTP_502", "the local functions did not answer"]);
  });

  it("ends the session on 401", async () => {
    const session = signedIn();
    const reasons: (string | null)[] = [];
    session.subscribe((_token, why) => reasons.push(why));
    const { fetch } = fakeFetch(() => problem(401, "UNAUTHENTICATED", "token expired"));
    const error = await failure(new Api(session, fetch).player("p-1"));
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(session.current()).toBeNull();
    expect(reasons).toEqual(["unauthorized"]);
  });

  it("sends nothing with an expired token", async () => {
    const now = Date.now();
    let clock = now;
    const session = new Session(null, () => clock);
    const exp = Math.floor(now / 1000) + 60;
    session.start(fakeJwt({ sub: "staff-7", exp }), exp);
    clock = now + 61_000;
    const { fetch, calls } = fakeFetch(() => json(200, {}));
    const error = await failure(new Api(session, fetch).audit());
    expect(error.status).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it("reads amounts beyond 2^53 exactly", async () => {
    const { fetch } = fakeFetch(() => new Response('{"items":[{"amount":9223372036854775807}],"next_cursor":null}',
      { status: 200, headers: { "Content-Type": "application/json" } }));
    const page = await new Api(signedIn(), fetch).transactions("p-1");
    expect(page.items[0].amount).toBe("9223372036854775807");
  });
});
