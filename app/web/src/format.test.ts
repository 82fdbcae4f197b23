import { describe, expect, it } from "vitest";
import { formatMinor, formatTimestamp, minorToDecimal } from "./format";

describe("formatMinor", () => {
  it("formats 1234 USD minor units as $12.34", () => {
    expect(formatMinor(1234, "USD", "en-US")).toBe("$12.34");
  });

  it("formats 500 JPY, a currency without decimals, as ¥500", () => {
    expect(formatMinor(500, "JPY", "en-US")).toBe("¥500");
  });

  it("formats 1234 KWD, a currency with three decimals, as 1.234", () => {
    expect(formatMinor(1234, "KWD", "en-US")).toMatch(/^KWD\s1\.234$/);
  });

  it("pads amounts smaller than one major unit", () => {
    expect(formatMinor(5, "USD", "en-US")).toBe("$0.05");
  });

  it("keeps the sign of a negative amount", () => {
    expect(formatMinor(-1234, "EUR", "en-US")).toBe("-€12.34");
  });

  it("falls back to minor units and the code for a malformed currency code", () => {
    expect(formatMinor(1234, "US", "en-US")).toBe("1234 US");
  });
});

describe("minorToDecimal", () => {
  it("places the decimal point the given number of digits from the right", () => {
    expect(minorToDecimal(1234, 3)).toBe("1.234");
  });
});

describe("formatTimestamp", () => {
  it("shows an ISO timestamp in UTC", () => {
    expect(formatTimestamp("2026-01-02T15:04:05Z", "en-US")).toMatch(/^Jan 2, 2026, 3:04:05\sPM UTC$/);
  });

  it("shows unparseable text unchanged", () => {
    expect(formatTimestamp("yesterday", "en-US")).toBe("yesterday");
  });
});
