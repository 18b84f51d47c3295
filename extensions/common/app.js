// Calls from an extension to the app's backend (/ext/*), authenticated with the extension's session token.

/** The app's public URL: the host of application_url in shopify.app.toml (set per deployment, as there). */
export const APP_URL = 'https://loyalty.example.com';

/**
 * Fetch a JSON answer from the app; throws an Error with `status` and `reason` on a non-2xx answer.
 * @param {string} token the extension's session token
 * @param {string} path under the app's URL, e.g. `/ext/customer-account/me`
 * @param {{method?: string, body?: unknown}} [options]
 * @returns {Promise<{status: number, data: any}>}
 */
export async function callApp(token, path, {method = 'GET', body = undefined} = {}) {
  const headers = {Authorization: `Bearer ${token}`};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${APP_URL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    /** @type {Error & {status?: number, reason?: string}} */
    const error = new Error((data && data.message) || `HTTP ${response.status}`);
    error.status = response.status;
    error.reason = (data && data.error) || 'http_error';
    throw error;
  }
  return {status: response.status, data};
}

/** The numeric id at the end of a Shopify gid (`gid://shopify/Order/123` → `"123"`), or null. */
export function numericId(gid) {
  const match = /([0-9]+)$/.exec(String(gid ?? ''));
  return match ? match[1] : null;
}

/** A key for one click: a retried request with the same key redeems once. */
export function clickKey() {
  return `ext-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** `?subtotal=…&currency=…` for an estimate, from a Money signal value, or '' when there is none. */
export function estimateQuery(money) {
  if (!money || money.amount === undefined || !money.currencyCode) return '';
  const amount = Number(money.amount);
  if (!Number.isFinite(amount) || amount < 0) return '';
  return `?subtotal=${amount.toFixed(2)}&currency=${encodeURIComponent(money.currencyCode)}`;
}

/**
 * The store credit balances worth showing, from `[{amount, currency}]`: a positive amount in a known currency
 * (Shopify keeps an emptied account at 0; it is not shown as credit).
 * @param {{amount: string, currency: string}[] | null | undefined} balances
 */
export function heldCredit(balances) {
  return (balances || []).filter((balance) => Number(balance.amount) > 0 && /^[A-Z]{3}$/.test(String(balance.currency)));
}
