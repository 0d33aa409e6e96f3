import { describe, expect, it } from "vitest";
import { exponent, formatMinor, toMinor } from "../src/money";

describe("formatMinor", () => {
  it.each([
    [12345, "EUR", "123.45 EUR"],
    [5, "EUR", "0.05 EUR"],
    [0, "EUR", "0.00 EUR"],
    [100, "USD", "1.00 USD"],
    [-5, "EUR", "-0.05 EUR"],
    [-12345, "GBP", "-123.45 GBP"],
    [1000, "JPY", "1000 JPY"],
    [-7, "KRW", "-7 KRW"],
    [250, "ISK", "250 ISK"],
    [1234, "KWD", "1.234 KWD"],
    [5, "BHD", "0.005 BHD"],
    [-1500, "TND", "-1.500 TND"],
    [1, "OMR", "0.001 OMR"],
  ])("%s %s is %s", (amount, currency, expected) => {
    expect(formatMinor(amount, currency)).toBe(expected);
  });

  it("is exact beyond 2^53, from strings and BigInt", () => {
    expect(formatMinor("9007199254740993", "EUR")).toBe("90071992547409.93 EUR");
    expect(formatMinor(9223372036854775807n, "EUR")).toBe("92233720368547758.07 EUR");
    expect(formatMinor("-9223372036854775808", "EUR")).toBe("-92233720368547758.08 EUR");
    expect(formatMinor(9007199254740993n, "JPY")).toBe("9007199254740993 JPY");
    expect(formatMinor("9007199254740993", "KWD")).toBe("9007199254740.993 KWD");
  });

  it("keeps the sign of amounts under one major unit", () => {
    expect(formatMinor(-1, "EUR")).toBe("-0.01 EUR");
    expect(formatMinor("-1", "BHD")).toBe("-0.001 BHD");
    expect(formatMinor(-0, "EUR")).toBe("0.00 EUR");
  });

  it("refuses what is not an exact integer", () => {
    expect(() => formatMinor(1.5, "EUR")).toThrow(RangeError);
    expect(() => formatMinor(2 ** 60, "EUR")).toThrow(RangeError);
    expect(() => formatMinor("12.34", "EUR")).toThrow(RangeError);
    expect(() => formatMinor("1e5", "EUR")).toThrow(RangeError);
    expect(() => formatMinor("", "EUR")).toThrow(RangeError);
    expect(() => toMinor(Number.NaN)).toThrow(RangeError);
  });

  it("uses ISO 4217 exponents, 2 by default", () => {
    expect([exponent("EUR"), exponent("JPY"), exponent("VND"), exponent("CLP"), exponent("JOD"), exponent("LYD"), exponent("IQD"), exponent("XYZ")])
      .toEqual([2, 0, 0, 0, 3, 3, 3, 2]);
  });
});
