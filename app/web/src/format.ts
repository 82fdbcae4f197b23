/** The user's locale, e.g. "en-US"; undefined lets Intl pick its default. */
export function userLocale(): string | undefined {
  return typeof navigator !== "undefined" && navigator.language ? navigator.language : undefined;
}

/**
 * An integer amount in minor units as a currency string: 1234 USD -> "$12.34", 500 JPY -> "¥500",
 * 1234 KWD -> "KWD 1.234" (en-US). The number of decimals is Intl's for the currency
 * (ISO 4217 minor units), so the API must store amounts with the same exponent.
 */
export function formatMinor(amountMinor: number, currency: string, locale: string | undefined = userLocale()): string {
  if (!Number.isSafeInteger(amountMinor)) {
    return `${amountMinor} ${currency}`;
  }
  let format: Intl.NumberFormat;
  try {
    format = new Intl.NumberFormat(locale, { style: "currency", currency });
  } catch {
    return `${amountMinor} ${currency}`; // malformed currency code
  }
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  // Format the exact decimal string, not amountMinor / 10 ** digits, so no float rounding creeps in.
  return format.format(minorToDecimal(amountMinor, digits));
}

/** 1234, 2 -> "12.34"; -5, 3 -> "-0.005"; 500, 0 -> "500". */
export function minorToDecimal(amountMinor: number, digits: number): `${number}` {
  const sign = amountMinor < 0 ? "-" : "";
  const magnitude = String(Math.abs(amountMinor));
  if (digits <= 0) {
    return `${sign}${magnitude}` as `${number}`;
  }
  const padded = magnitude.padStart(digits + 1, "0");
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}` as `${number}`;
}

/** An ISO 8601 timestamp in UTC, e.g. "Jan 2, 2026, 3:04:05 PM UTC"; the raw text if unparseable. */
export function formatTimestamp(iso: string, locale: string | undefined = userLocale()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const text = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" }).format(
    date,
  );
  return `${text} UTC`;
}
