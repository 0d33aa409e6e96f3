import { describe, expect, it } from "vitest";
import { parseJson, quoteLargeIntegers } from "../src/json";

describe("parseJson", () => {
  it("keeps integers beyond 2^53 exact, as strings", () => {
    const parsed = parseJson('{"cash":9223372036854775807,"bonus":-9007199254740993,"n":42,"f":1.5}') as Record<string, unknown>;
    expect(parsed).toEqual({ cash: "9223372036854775807", bonus: "-9007199254740993", n: 42, f: 1.5 });
  });

  it("leaves strings alone, escapes included", () => {
    const text = '{"reference":"9223372036854775807","quote":"a \\" 9223372036854775807","n":[1,9007199254740992]}';
    expect(parseJson(text)).toEqual({ reference: "9223372036854775807", quote: 'a " 9223372036854775807', n: [1, "9007199254740992"] });
  });

  it("changes nothing in ordinary JSON", () => {
    const text = '{"items":[{"amount":5000,"cash_after":-12,"at":"2026-01-01T00:00:00Z"}],"next_cursor":null}';
    expect(quoteLargeIntegers(text)).toBe(text);
  });
});
