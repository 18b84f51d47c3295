// The thank-you page block, rendered from its built bundle.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {i18n, mockFetch, renderExtension, settle, text, waitFor} from './harness.mjs';

function thankYou(lang) {
  return {
    sessionToken: {get: async () => 'checkout-token'},
    i18n: i18n('thank-you-points', lang),
    orderConfirmation: {value: {order: {id: 'gid://shopify/Order/2001'}, number: 'ABC123', isFirstOrder: true}},
    cost: {subtotalAmount: {value: {amount: 40, currencyCode: 'USD'}}},
  };
}

const PATH = 'GET /ext/checkout/orders/2001?subtotal=40.00&currency=USD';

test('a guest sees what the order could earn and the sign-up nudge, in Norwegian', async () => {
  const requests = mockFetch({[PATH]: {body: {order_id: 2001, signed_in: false, state: 'estimate', points: 40,
    available_at: null, links: {sign_in: '/account/login', join: '/account/register'}}}});
  await renderExtension('thank-you-points', thankYou('nb'));
  await waitFor(() => text().includes('Opprett konto'));
  assert.equal(document.querySelector('s-banner').getAttribute('heading'), 'Denne ordren kan gi deg 40 poeng');
  assert.ok(text().includes('Opprett en konto med e-postadressen du brukte, og få 40 poeng for denne ordren.'));
  assert.equal(document.querySelector('s-link').getAttribute('href'), '/account/register');
  assert.equal(requests[0].headers.Authorization, 'Bearer checkout-token');
});

test('a member sees the points the order earns', async () => {
  mockFetch({[PATH]: {body: {order_id: 2001, signed_in: true, state: 'estimate', points: 50, available_at: null}}});
  await renderExtension('thank-you-points', thankYou('en'));
  await waitFor(() => text().includes('This order will earn you about 50 points.'));
  assert.equal(document.querySelector('s-banner').getAttribute('heading'), 'Points on their way');
  assert.equal(document.querySelector('s-link'), null, 'no sign-up nudge for a member');
});

test('nothing is shown when the order earns nothing or the app cannot answer', async () => {
  mockFetch({[PATH]: {body: {order_id: 2001, signed_in: true, state: 'estimate', points: null, available_at: null}}});
  await renderExtension('thank-you-points', thankYou('sv'));
  await settle();
  assert.equal(text(), '');
  mockFetch({[PATH]: {status: 401, body: {error: 'unauthorized'}}});
  await renderExtension('thank-you-points', thankYou('sv'));
  await settle();
  assert.equal(text(), '');
});
