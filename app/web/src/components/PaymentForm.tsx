import { useRef, useState, type FormEvent } from "react";
import {
  createPayment,
  newIdempotencyKey,
  type CreatePaymentResult,
  type FieldErrors,
  type NewPayment,
  type PaymentField,
  type PaymentPublic,
} from "../api";
import { formatMinor } from "../format";

interface Props {
  /** The client's API key, or "" when the user has not given a usable one (nothing is sent). */
  apiKey: string;
  onCreated: (payment: PaymentPublic) => void;
}

type Outcome =
  | { kind: "none" }
  | { kind: "created"; payment: PaymentPublic }
  | { kind: "error"; messages: string[]; retryable: boolean };

const FIELD_IDS: Record<PaymentField, string> = {
  amount_minor: "amount-minor",
  currency: "currency",
  merchant_reference: "merchant-reference",
};

export const NEEDS_KEY_MESSAGE = "An API key is needed to create payments: paste one under Client API key.";

/**
 * The test-payment form. Each submission carries the client's API key and an Idempotency-Key.
 * The Idempotency-Key is kept for as long as the form and the API key are unchanged and the
 * outcome is unknown (network error, 5xx, 409), so pressing "Create payment" again retries the
 * same request and can never create a second payment; a definite answer (201 or another 4xx,
 * 401 included) or any edit starts a new one. Without an API key nothing is sent.
 */
export function PaymentForm({ apiKey, onCreated }: Props) {
  const [amount, setAmount] = useState("");
  const [currency, setCurrency] = useState("USD");
  const [reference, setReference] = useState("");
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [outcome, setOutcome] = useState<Outcome>({ kind: "none" });
  const [submitting, setSubmitting] = useState(false);
  const pending = useRef<{ key: string; body: string; apiKey: string } | null>(null);

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (submitting) return;
    const { payment, errors } = parseForm(amount, currency, reference);
    setFieldErrors(errors);
    if (!apiKey) {
      setOutcome({ kind: "error", messages: [NEEDS_KEY_MESSAGE], retryable: false });
      return;
    }
    if (!payment) {
      setOutcome({ kind: "none" });
      return;
    }

    const body = JSON.stringify(payment);
    const same = pending.current?.body === body && pending.current.apiKey === apiKey;
    const key = same && pending.current ? pending.current.key : newIdempotencyKey();
    pending.current = { key, body, apiKey };

    setSubmitting(true);
    setOutcome({ kind: "none" });
    let result: CreatePaymentResult;
    try {
      result = await createPayment(payment, key, apiKey);
    } finally {
      setSubmitting(false);
    }

    const unknownOutcome =
      result.kind === "network-error" || result.kind === "conflict" || (result.kind === "failed" && result.status >= 500);
    if (!unknownOutcome) {
      pending.current = null;
    }

    switch (result.kind) {
      case "created":
        setOutcome({ kind: "created", payment: result.payment });
        setAmount("");
        setReference("");
        onCreated(result.payment);
        break;
      case "invalid":
        setFieldErrors(result.fieldErrors);
        setOutcome({
          kind: "error",
          messages: result.otherErrors.length > 0 ? result.otherErrors : ["The API rejected the payment: see the fields above."],
          retryable: false,
        });
        break;
      case "unauthorized":
        setOutcome({
          kind: "error",
          messages: [`${result.detail}: check the key under Client API key.`],
          retryable: false,
        });
        break;
      case "conflict":
        setOutcome({ kind: "error", messages: [`Conflict: ${result.detail}`], retryable: true });
        break;
      case "failed":
        setOutcome({ kind: "error", messages: [`The API failed: ${result.detail}`], retryable: unknownOutcome });
        break;
      case "network-error":
        setOutcome({ kind: "error", messages: [`Could not reach the API (${result.detail}).`], retryable: true });
        break;
      case "not-routed":
        setOutcome({ kind: "error", messages: [result.detail], retryable: false });
        break;
    }
  }

  function describedBy(field: PaymentField, hint?: string): string | undefined {
    const ids = [hint, fieldErrors[field]?.length ? `${FIELD_IDS[field]}-error` : undefined].filter(Boolean);
    return ids.length > 0 ? ids.join(" ") : undefined;
  }

  function fieldError(field: PaymentField) {
    const messages = fieldErrors[field];
    if (!messages?.length) return null;
    return (
      <ul id={`${FIELD_IDS[field]}-error`} className="field-error">
        {messages.map((message, index) => (
          <li key={index}>{message}</li>
        ))}
      </ul>
    );
  }

  return (
    <section className="card" aria-labelledby="create-heading">
      <h2 id="create-heading">Create a test payment</h2>
      <p className="note">
        This demo never accepts card numbers. It only records an amount, a currency and your own reference.
      </p>
      <form noValidate onSubmit={(event) => void handleSubmit(event)} aria-busy={submitting}>
        <div className="field">
          <label htmlFor={FIELD_IDS.amount_minor}>Amount (minor units)</label>
          <input
            id={FIELD_IDS.amount_minor}
            name="amount_minor"
            type="text"
            inputMode="numeric"
            autoComplete="off"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            aria-invalid={fieldErrors.amount_minor?.length ? true : undefined}
            aria-describedby={describedBy("amount_minor", "amount-minor-hint")}
          />
          <p id="amount-minor-hint" className="hint">
            A whole number in the currency's smallest unit: 1234 USD is $12.34, 500 JPY is ¥500.
          </p>
          {fieldError("amount_minor")}
        </div>
        <div className="field">
          <label htmlFor={FIELD_IDS.currency}>Currency</label>
          <input
            id={FIELD_IDS.currency}
            name="currency"
            type="text"
            autoComplete="off"
            autoCapitalize="characters"
            maxLength={3}
            value={currency}
            onChange={(e) => setCurrency(e.target.value)}
            aria-invalid={fieldErrors.currency?.length ? true : undefined}
            aria-describedby={describedBy("currency", "currency-hint")}
          />
          <p id="currency-hint" className="hint">
            ISO 4217 code, e.g. USD, EUR, JPY.
          </p>
          {fieldError("currency")}
        </div>
        <div className="field">
          <label htmlFor={FIELD_IDS.merchant_reference}>Merchant reference</label>
          <input
            id={FIELD_IDS.merchant_reference}
            name="merchant_reference"
            type="text"
            autoComplete="off"
            value={reference}
            onChange={(e) => setReference(e.target.value)}
            aria-invalid={fieldErrors.merchant_reference?.length ? true : undefined}
            aria-describedby={describedBy("merchant_reference")}
          />
          {fieldError("merchant_reference")}
        </div>
        <button type="submit" disabled={submitting} aria-describedby={apiKey ? undefined : "create-needs-key"}>
          Create payment
        </button>
        {submitting && <span className="progress"> Sending…</span>}
        {!apiKey && (
          <p id="create-needs-key" className="hint">
            Needs an API key: paste one under Client API key first.
          </p>
        )}
      </form>
      {outcome.kind === "created" && (
        <p role="status" className="success">
          Created payment <code>{outcome.payment.id}</code> for{" "}
          {formatMinor(outcome.payment.amount_minor, outcome.payment.currency)} ({outcome.payment.status}).
        </p>
      )}
      {outcome.kind === "error" && (
        <div role="alert" className="error">
          <ul>
            {outcome.messages.map((message, index) => (
              <li key={index}>{message}</li>
            ))}
          </ul>
          {outcome.retryable && (
            <p>Submitting the unchanged form again retries with the same Idempotency-Key, so it cannot pay twice.</p>
          )}
        </div>
      )}
    </section>
  );
}

/** Client-side checks; the API stays the authority and answers 422 for anything else. */
export function parseForm(
  amount: string,
  currency: string,
  reference: string,
): { payment: NewPayment | null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const amountText = amount.trim();
  const amountMinor = Number(amountText);
  if (!/^\d+$/.test(amountText) || !Number.isSafeInteger(amountMinor)) {
    errors.amount_minor = ["Enter a whole number of minor units, e.g. 1234."];
  }
  const code = currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(code)) {
    errors.currency = ["Enter a 3-letter currency code, e.g. USD."];
  }
  const ref = reference.trim();
  if (!ref) {
    errors.merchant_reference = ["Enter a merchant reference."];
  }
  if (Object.keys(errors).length > 0) {
    return { payment: null, errors };
  }
  return { payment: { amount_minor: amountMinor, currency: code, merchant_reference: ref }, errors };
}
