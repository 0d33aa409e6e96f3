import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../src/config";
import { fakeFetch, json } from "./helpers";

describe("config.json", () => {
  it("takes the dev login", async () => {
    const { fetch, calls } = fakeFetch(() => json(200, { auth: "dev" }));
    await expect(loadConfig(fetch)).resolves.toEqual({ auth: "dev" });
    expect(calls[0].url).toBe("/config.json");
  });

  it("takes an identity provider, with the ops scope by default", () => {
    expect(parseConfig({ auth: "oidc", authority: "https://idp.example", client_id: "console" })).toEqual({
      auth: "oidc", authority: "https://idp.example", client_id: "console", scope: "openid stakeline/ops",
    });
    expect(parseConfig({ auth: "oidc", authority: "https://idp.example", client_id: "c", scope: "openid x", redirect_uri: "https://c.example/" }))
      .toMatchObject({ scope: "openid x", redirect_uri: "https://c.example/" });
  });

  it.each([
    [null],
    [{}],
    [{ auth: "basic" }],
    [{ auth: "oidc", client_id: "c" }],
    [{ auth: "oidc", authority: "https://idp.example", client_id: "" }],
  ])("refuses %j", (value) => {
    expect(() => parseConfig(value)).toThrow(ConfigError);
  });

  it("says when it cannot be read", async () => {
    const { fetch } = fakeFetch(() => new Response("nope", { status: 404 }));
    await expect(loadConfig(fetch)).rejects.toThrow("/config.json answered 404");
  });
});
