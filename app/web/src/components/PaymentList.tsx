import { useEffect, useState } from "react";
import { ApiError, listPayments, type PaymentPublic } from "../api";
import { formatMinor, formatTimestamp } from "../format";

export const RECENT_LIMIT = 10;

export const NEEDS_KEY_TEXT = "Paste an API key under Client API key to list this client's payments.";

interface Props {
  /** The client's API key, or "" when there is none yet (then nothing is requested). */
  apiKey: string;
  /** Changing this reloads the list (the form bumps it after a payment is created). */
  refreshKey: number;
}

/** What was loaded, and with which key: a list is only ever shown under the key it belongs to. */
type Loaded = { apiKey: string } & ({ payments: PaymentPublic[]; error: null } | { payments: null; error: string });

/** The calling client's newest payments, as the API orders them (newest first). */
export function PaymentList({ apiKey, refreshKey }: Props) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    if (!apiKey) {
      setLoaded(null); // forget the last client's payments along with its key
      return;
    }
    const controller = new AbortController();
    listPayments(apiKey, RECENT_LIMIT, controller.signal).then(
      (page) => setLoaded({ apiKey, payments: page.data, error: null }),
      (err: unknown) => {
        if (!controller.signal.aborted) {
          setLoaded({ apiKey, payments: null, error: errorText(err) });
        }
      },
    );
    return () => controller.abort();
  }, [apiKey, refreshKey, reloads]);

  // A list loaded with another key (the user changed it) is not shown while the new one loads.
  const current = loaded !== null && loaded.apiKey === apiKey ? loaded : null;
  const payments = current?.payments ?? null;
  const error = current?.error ?? null;

  return (
    <section className="card" aria-labelledby="recent-heading">
      <div className="section-head">
        <h2 id="recent-heading">Recent payments</h2>
        <button type="button" className="secondary" onClick={() => setReloads((n) => n + 1)} disabled={!apiKey}>
          Refresh
        </button>
      </div>
      {!apiKey && <p>{NEEDS_KEY_TEXT}</p>}
      {error !== null && (
        <p role="alert" className="error">
          Could not load payments: {error}
        </p>
      )}
      {apiKey !== "" && payments === null && error === null && <p>Loading…</p>}
      {payments !== null && payments.length === 0 && <p>No payments yet.</p>}
      {payments !== null && payments.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">The {RECENT_LIMIT} most recent payments, newest first</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col">Reference</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">ID</th>
              </tr>
            </thead>
            <tbody>
              {payments.map((payment) => (
                <tr key={payment.id} data-testid="payment-row">
                  <td className="num">{formatMinor(payment.amount_minor, payment.currency)}</td>
                  <td>{payment.merchant_reference}</td>
                  <td>{payment.status}</td>
                  <td>
                    <time dateTime={payment.created_at}>{formatTimestamp(payment.created_at)}</time>
                  </td>
                  <td>
                    <code>{payment.id}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function errorText(err: unknown): string {
  if (err instanceof ApiError && err.status === 401) {
    return `${err.message}. Check the key under Client API key.`;
  }
  return err instanceof Error ? err.message : String(err);
}
