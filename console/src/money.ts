// Money as the API sends it: an integer count of minor units beside an ISO 4217 currency code.
// Major units are computed on the decimal digits (BigInt and strings), never with floats:
// no division, no toFixed, no parseFloat, so 2^53 and beyond stay exact.

/** ISO 4217 minor-unit exponents that are not 2. */
const EXPONENTS: Readonly<Record<string, number>> = {
  // No minor unit.
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0,
  UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  // Thousandths.
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  // Ten-thousandths (units of account).
  CLF: 4, UYW: 4,
};
const DEFAULT_EXPONENT = 2;
const INTEGER = /^-?[0-9]+$/;

/** How many decimal places the currency's major unit has (2 unless ISO 4217 says otherwise). */
export function exponent(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? DEFAULT_EXPONENT;
}

/** The amount as a BigInt, refusing anything that is not an exact integer. */
export function toMinor(amount: number | bigint | string): bigint {
  if (typeof amount === "bigint") return amount;
  if (typeof amount === "number") {
    if (!Number.isSafeInteger(amount)) {
      throw new RangeError(`not an exact integer amount of minor units: ${amount}`);
    }
    return BigInt(amount);
  }
  const text = amount.trim();
  if (!INTEGER.test(text)) throw new RangeError(`not an integer amount of minor units: ${JSON.stringify(amount)}`);
  return BigInt(text);
}

/** "123.45 EUR" for 12345 EUR, "-0.05 EUR" for -5, "1000 JPY" for 1000, "1.234 KWD" for 1234. */
export function formatMinor(amount: number | bigint | string, currency: string): string {
  const minor = toMinor(amount);
  const places = exponent(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(places + 1, "0");
  const whole = digits.slice(0, digits.length - places);
  const fraction = digits.slice(digits.length - places);
  const major = places === 0 ? whole : `${whole}.${fraction}`;
  return `${negative ? "-" : ""}${major} ${currency}`;
}
