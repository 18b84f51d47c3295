// The POS customer details block, rendered from its built bundle.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {byText, i18n, mockFetch, renderExtension, settle, text, waitFor} from './harness.mjs';

const VIEW = {
  customer_id: 5, balance: 1100, pending: 0, currency: 'NOK',
  tier: {name: 'Sølv', multiplier: '1.25'}, next_tier: {name: 'Gull', remaining: '400'},
  rewards: [
    {id: 1, name: '50 kr rabatt', cost: 500, kind: 'fixed_amount', value: '50', affordable: true},
    {id: 3, name: 'Gratis frakt', cost: 2000, kind: 'free_shipping', value: '0', affordable: false},
  ],
  ways_to_earn: [], activity: [], codes: [],
};

function pos(lang) {
  const toasts = [];
  const discounts = [];
  return {
    toasts,
    discounts,
    api: {
      customer: {id: 5},
      session: {getSessionToken: async () => 'staff-token'},
      i18n: i18n('pos-loyalty', lang),
      toast: {show: (message) => toasts.push(message)},
      cart: {addCartCodeDiscount: async (code) => discounts.push(code)},
    },
  };
}

test('staff see the balance and tier in Norwegian', async () => {
  const requests = mockFetch({'GET /ext/pos/customers/5': {body: VIEW}});
  const {api} = pos('nb');
  await renderExtension('pos-loyalty', api);
  await waitFor(() => text().includes('1100 poeng'));
  assert.equal(document.querySelector('s-pos-block').getAttribute('heading'), 'Lojalitet');
  assert.ok(text().includes('Nivå: Sølv') && text().includes('400 til for å nå Gull'), text());
  assert.ok(byText('s-button', 'Løs inn 50 kr rabatt (500 poeng)'));
  assert.ok(!text().includes('Gratis frakt'), 'only rewards the customer can afford are offered');
  assert.equal(requests[0].headers.Authorization, 'Bearer staff-token');
});

test('redeeming at the counter confirms, then applies the code to the cart', async () => {
  const requests = mockFetch({
    'GET /ext/pos/customers/5': {body: VIEW},
    'POST /ext/pos/customers/5/redeem': {body: {id: 9, code: 'LOY-POS12345', cost: 500, state: 'active', balance: 600}},
  });
  const {api, toasts, discounts} = pos('en');
  await renderExtension('pos-loyalty', api);
  await waitFor(() => byText('s-button', 'Redeem 50 kr rabatt (500 points)'));
  byText('s-button', 'Redeem 50 kr rabatt (500 points)').click();
  await waitFor(() => text().includes('Redeem 50 kr rabatt for 500 points and apply it to this cart?'));
  await settle();
  assert.deepEqual(discounts, [], 'nothing is applied before confirming');

  byText('s-button', 'Redeem and apply').click();
  await waitFor(() => discounts.length === 1);
  assert.deepEqual(discounts, ['LOY-POS12345']);
  assert.deepEqual(toasts, ['Code LOY-POS12345 applied to the cart']);
  await waitFor(() => text().includes('Code LOY-POS12345 applied to the cart'));
  const post = requests.find((r) => r.method === 'POST');
  assert.equal(post.url, 'https://loyalty.example.com/ext/pos/customers/5/redeem');
  assert.equal(post.body.reward_id, 1);
});

test('store credit is reported, not applied as a code', async () => {
  mockFetch({
    'GET /ext/pos/customers/5': {body: VIEW},
    'POST /ext/pos/customers/5/redeem': {body: {kind: 'store_credit', amount: '50.00', currency: 'NOK', balance: 600}},
  });
  const {api, toasts, discounts} = pos('da');
  await renderExtension('pos-loyalty', api);
  await waitFor(() => byText('s-button', 'Indløs 50 kr rabatt (500 point)'));
  byText('s-button', 'Indløs 50 kr rabatt (500 point)').click();
  await waitFor(() => byText('s-button', 'Indløs og brug'));
  byText('s-button', 'Indløs og brug').click();
  await waitFor(() => toasts.length === 1);
  assert.deepEqual(toasts, ['50.00 NOK tilføjet som butikskredit']);
  assert.deepEqual(discounts, []);
});

test('a customer who is not a member is told so', async () => {
  mockFetch({'GET /ext/pos/customers/5': {status: 404, body: {error: 'unknown_customer', message: 'no'}}});
  const {api} = pos('sv');
  await renderExtension('pos-loyalty', api);
  await waitFor(() => text().includes('Den här kunden är inte med i lojalitetsprogrammet än.'));
});
