import { useEffect, useState } from "react";
import { listPayments, type PaymentPublic } from "../api";
import { formatMinor, formatTimestamp } from "../format";

export const RECENT_LIMIT = 10;

interface Props {
  /** Changing this reloads the list (the form bumps it after a payment is created). */
  refreshKey: number;
}

/** The newest payments, as the API orders them (newest first). */
export function PaymentList({ refreshKey }: Props) {
  const [payments, setPayments] = useState<PaymentPublic[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    listPayments(RECENT_LIMIT, controller.signal).then(
      (page) => {
        setPayments(page.data);
        setError(null);
      },
      (err: unknown) => {
        if (!controller.signal.aborted) {
          setError(err instanceof Error ? err.message : String(err));
        }
      },
    );
    return () => controller.abort();
  }, [refreshKey, reloads]);

  return (
    <section className="card" aria-labelledby="recent-heading">
      <div className="section-head">
        <h2 id="recent-heading">Recent payments</h2>
        <button type="button" className="secondary" onClick={() => setReloads((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {error !== null && (
        <p role="alert" className="error">
          Could not load payments: {error}
        </p>
      )}
      {payments === null && error === null && <p>Loading…</p>}
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
