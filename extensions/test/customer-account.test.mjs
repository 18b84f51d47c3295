// The customer account loyalty page and the order-status block, rendered from their built bundles.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {byText, i18n, mockFetch, renderExtension, settle, text, waitFor} from './harness.mjs';

const ME = {
  customer_id: 5, balance: 1100, pending: 80, lifetime: 1100, currency: 'NOK',
  tier: {name: 'Sølv', multiplier: '1.25'},
  next_tier: {name: 'Gull', remaining: '400'},
  tier_progress: {current: 'Sølv', next: 'Gull', remaining: '400', percent: 60},
  rewards: [
    {id: 1, name: '50 kr rabatt', cost: 500, kind: 'fixed_amount', value: '50', affordable: true},
    {id: 3, name: 'Gratis frakt', cost: 2000, kind: 'free_shipping', value: '0', affordable: false},
  ],
  ways_to_earn: [
    {action: 'order', points: '1', per: 'NOK', limit: null},
    {action: 'birthday', points: 200, limit: 'yearly', state: 'available'},
    {action: 'newsletter', points: 50, limit: 'once', state: 'done'},
  ],
  activity: [
    {amount: 1000, kind: 'earn', state: 'available', note: null, created_at: '2026-11-20T10:00:00+00:00'},
    {amount: 100, kind: 'bonus', state: 'pending', note: null, created_at: '2026-11-20T10:00:00+00:00'},
  ],
  codes: [{code: 'LOY-ABCD1234', state: 'active', expires_at: '2026-12-31T00:00:00+00:00'},
          {code: 'LOY-OLD00001', state: 'used', expires_at: null}],
  referral_url: 'https://demo-shop.myshopify.com/apps/loyalty/r/abc123',
};

function customerAccount(lang, extension = 'customer-account-loyalty', extra = {}) {
  return {sessionToken: {get: async () => 'customer-token'}, i18n: i18n(extension, lang), ...extra};
}

test('the loyalty page shows the standing, rewards, codes, ways to earn, referral and history in Norwegian', async () => {
  const requests = mockFetch({'GET /ext/customer-account/me': {body: ME}});
  const body = await renderExtension('customer-account-loyalty', customerAccount('nb'));
  await waitFor(() => text().includes('1100 poeng'));
  assert.equal(body.querySelector('s-page').getAttribute('heading'), 'Fordeler');
  const shown = text();
  for (const expected of [
    '80 poeng venter', 'Nivå: Sølv', '400 til for å nå Gull',
    '50 kr rabatt', '500 poeng', 'Løs inn', '900 poeng til trengs',
    'LOY-ABCD1234', '1 poeng per NOK 1 du handler for', 'Bursdag: 200 poeng', 'Meld deg på nyhetsbrevet: 50 poeng · fullført',
    'https://demo-shop.myshopify.com/apps/loyalty/r/abc123', 'Ordre', '+1000 poeng', 'Nivåbonus', 'venter',
  ]) {
    assert.ok(shown.includes(expected), `missing "${expected}" in: ${shown}`);
  }
  assert.ok(!shown.includes('LOY-OLD00001'), 'a used code is not listed as active');
  assert.equal(body.querySelector('s-progress').getAttribute('value'), '60');
  assert.equal(byText('s-button', '900 poeng til trengs').getAttribute('disabled'), 'true');
  assert.equal(requests.length, 1);
  assert.equal(requests[0].url, 'https://loyalty.example.com/ext/customer-account/me');
  assert.equal(requests[0].headers.Authorization, 'Bearer customer-token');
});

test('redeeming asks for confirmation, then shows the code', async () => {
  let balance = 1100;
  const requests = mockFetch({
    'GET /ext/customer-account/me': () => ({body: {...ME, balance, tier: {name: 'Silver', multiplier: '1.25'}}}),
    'POST /ext/customer-account/redeem': () => {
      balance -= 500;
      return {body: {id: 9, code: 'LOY-NEW12345', cost: 500, state: 'active', balance}};
    },
  });
  await renderExtension('customer-account-loyalty', customerAccount('en'));
  await waitFor(() => byText('s-button', 'Redeem'));
  byText('s-button', 'Redeem').click();
  await waitFor(() => text().includes('Redeem 50 kr rabatt for 500 points?'));
  await settle();
  assert.equal(requests.filter((r) => r.method === 'POST').length, 0, 'nothing is redeemed before confirming');

  byText('s-button', 'Yes, redeem').click();
  await waitFor(() => text().includes('LOY-NEW12345'));
  const post = requests.find((r) => r.method === 'POST');
  assert.equal(post.body.reward_id, 1);
  assert.match(post.body.idempotency_key, /^[A-Za-z0-9_-]{8,100}$/);
  assert.equal(post.body.customer_id, undefined, 'the customer is never named by the extension');
  assert.equal(document.querySelector('s-banner').getAttribute('heading'), 'Your discount code');
  await waitFor(() => text().includes('600 points'));  // the page reloads the standing after redeeming
});

test('a refused redemption says why', async () => {
  mockFetch({
    'GET /ext/customer-account/me': {body: ME},
    'POST /ext/customer-account/redeem': {status: 409, body: {error: 'insufficient_points', message: 'not enough'}},
  });
  await renderExtension('customer-account-loyalty', customerAccount('en'));
  await waitFor(() => byText('s-button', 'Redeem'));
  byText('s-button', 'Redeem').click();
  await waitFor(() => byText('s-button', 'Yes, redeem'));
  byText('s-button', 'Yes, redeem').click();
  await waitFor(() => text().includes("You don't have enough points for this reward."));
  assert.equal(document.querySelector('s-banner').getAttribute('tone'), 'critical');
});

test('store credit rewards report the amount credited', async () => {
  mockFetch({
    'GET /ext/customer-account/me': {body: ME},
    'POST /ext/customer-account/redeem': {body: {kind: 'store_credit', amount: '50.00', currency: 'NOK', balance: 600}},
  });
  await renderExtension('customer-account-loyalty', customerAccount('en'));
  await waitFor(() => byText('s-button', 'Redeem'));
  byText('s-button', 'Redeem').click();
  await waitFor(() => byText('s-button', 'Yes, redeem'));
  byText('s-button', 'Yes, redeem').click();
  await waitFor(() => text().includes('was added to your store credit'));
  assert.ok(text().includes('NOK') && text().includes('50.00'), text());
});

test('the page says so when the app cannot be reached', async () => {
  mockFetch({'GET /ext/customer-account/me': {status: 500, body: {error: 'boom'}}});
  await renderExtension('customer-account-loyalty', customerAccount('sv'));
  await waitFor(() => text().includes('Dina förmåner kunde inte läsas in.'));
});

function orderStatus(lang, subtotal) {
  return customerAccount(lang, 'order-status-points', {
    order: {value: {id: 'gid://shopify/Order/1002', name: '#1002'}},
    cost: {subtotalAmount: {value: subtotal}},
  });
}

test('the order-status block shows pending points and when they become available, in Norwegian', async () => {
  const requests = mockFetch({
    'GET /ext/customer-account/orders/1002?subtotal=80.00&currency=NOK':
      {body: {order_id: 1002, signed_in: true, state: 'pending', points: 100, available_at: '2026-12-09T12:00:00+00:00'}},
  });
  await renderExtension('order-status-points', orderStatus('nb', {amount: 80, currencyCode: 'NOK'}));
  const date = new Intl.DateTimeFormat('nb').format(new Date('2026-12-09T12:00:00+00:00'));
  await waitFor(() => text().includes(`Du tjente 100 poeng på denne ordren, tilgjengelig fra ${date}.`));
  assert.equal(requests[0].headers.Authorization, 'Bearer customer-token');
});

test('the order-status block shows earned points and estimates, and nothing when there is nothing to say', async () => {
  mockFetch({'GET /ext/customer-account/orders/1002?subtotal=80.00&currency=NOK':
    {body: {order_id: 1002, signed_in: true, state: 'earned', points: 1, available_at: null}}});
  await renderExtension('order-status-points', orderStatus('en', {amount: 80, currencyCode: 'NOK'}));
  await waitFor(() => text().includes('You earned 1 point on this order.'));

  mockFetch({'GET /ext/customer-account/orders/1002?subtotal=40.00&currency=NOK':
    {body: {order_id: 1002, signed_in: true, state: 'estimate', points: 50, available_at: null}}});
  await renderExtension('order-status-points', orderStatus('da', {amount: 40, currencyCode: 'NOK'}));
  await waitFor(() => text().includes('Denne ordre giver omkring 50 point, når den er betalt.'));

  mockFetch({'GET /ext/customer-account/orders/1002':
    {body: {order_id: 1002, signed_in: true, state: 'unknown', points: null, available_at: null}}});
  await renderExtension('order-status-points', orderStatus('en', undefined));
  await settle();
  assert.equal(text(), '');

  mockFetch({'GET /ext/customer-account/orders/1002?subtotal=3.00&currency=NOK':
    {body: {order_id: 1002, signed_in: true, state: 'estimate', points: 0, available_at: null}}});
  await renderExtension('order-status-points', orderStatus('en', {amount: 3, currencyCode: 'NOK'}));
  await settle();
  assert.equal(text(), '', 'an order below the minimum says nothing rather than "0 points"');
});
