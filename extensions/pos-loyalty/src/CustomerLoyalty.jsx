// pos.customer-details.block.render: balance, tier and store credit, and redeeming a reward for the customer at
// the counter.
import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {callApp, clickKey, heldCredit} from '../../common/app.js';

export default async () => {
  render(<CustomerLoyalty />, document.body);
};

const t = (key, options) => shopify.i18n.translate(key, options);

/** An amount in the staff member's locale (Intl.NumberFormat through shopify.i18n). */
const money = (amount, currency) => shopify.i18n.formatCurrency(Number(amount), {currency});

async function staffToken() {
  const token = await shopify.session.getSessionToken();
  if (!token) throw Object.assign(new Error('no session token'), {reason: 'unauthorized'});
  return token;
}

function CustomerLoyalty() {
  const customerId = shopify.customer.id;
  const [view, setView] = useState(null);
  const [problem, setProblem] = useState(null);
  const [confirming, setConfirming] = useState(null);
  const [busy, setBusy] = useState(false);
  const [code, setCode] = useState(null);

  const refresh = () =>
    staffToken()
      .then((token) => callApp(token, `/ext/pos/customers/${customerId}`))
      .then(({data}) => {
        setView(data);
        setProblem(null);
      })
      .catch((error) => setProblem(error.reason === 'unknown_customer' ? 'notMember' : 'load'));

  useEffect(() => {
    refresh();
  }, [customerId]);

  async function redeem(reward) {
    setBusy(true);
    try {
      const token = await staffToken();
      const {status, data} = await callApp(token, `/ext/pos/customers/${customerId}/redeem`, {
        method: 'POST',
        body: {reward_id: reward.id, idempotency_key: clickKey()},
      });
      if (data.kind === 'store_credit') {
        shopify.toast.show(t('toast.storeCredit', {amount: money(data.amount, data.currency)}));
      } else if (status === 200 && data.code) {
        await shopify.cart.addCartCodeDiscount(data.code);
        setCode(data.code);
        shopify.toast.show(t('toast.applied', {code: data.code}));
      } else {
        shopify.toast.show(t('toast.processing'));
      }
      await refresh();
    } catch (error) {
      const known = ['insufficient_points', 'rate_limited', 'shopify_failed'];
      shopify.toast.show(t(`errors.${known.includes(error.reason) ? error.reason : 'redeem'}`));
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  }

  if (problem) {
    return (
      <s-pos-block heading={t('heading')}>
        <s-text>{t(`errors.${problem}`)}</s-text>
      </s-pos-block>
    );
  }
  if (!view) {
    return (
      <s-pos-block heading={t('heading')}>
        <s-text>{t('loading')}</s-text>
      </s-pos-block>
    );
  }
  const affordable = (view.rewards || []).filter((reward) => reward.affordable);
  return (
    <s-pos-block heading={t('heading')}>
      <s-stack gap="small">
        <s-text type="strong">{t('balance', {count: view.balance})}</s-text>
        <s-text>{view.tier ? t('tier', {tier: view.tier.name}) : t('noTier')}</s-text>
        {view.next_tier ? (
          <s-text>{t('nextTier', {remaining: view.next_tier.remaining, tier: view.next_tier.name})}</s-text>
        ) : null}
        <StoreCredit balances={view.store_credit} />
        {code ? <s-badge tone="success">{t('applied', {code})}</s-badge> : null}
        {affordable.length === 0 ? <s-text>{t('noRewards')}</s-text> : null}
        {affordable.map((reward) =>
          confirming === reward.id ? (
            <s-stack key={reward.id} gap="small">
              <s-text>{t('confirm', {reward: reward.name, count: reward.cost})}</s-text>
              <s-button variant="primary" disabled={busy} onClick={() => redeem(reward)}>
                {t('confirmButton')}
              </s-button>
              <s-button variant="secondary" disabled={busy} onClick={() => setConfirming(null)}>
                {t('cancel')}
              </s-button>
            </s-stack>
          ) : (
            <s-button key={reward.id} variant="secondary" disabled={busy} onClick={() => setConfirming(reward.id)}>
              {t('redeem', {reward: reward.name, count: reward.cost})}
            </s-button>
          ),
        )}
      </s-stack>
    </s-pos-block>
  );
}

/** The store credit Shopify holds for the customer; `balances` is null when the app could not read it. */
function StoreCredit({balances}) {
  if (balances === null || balances === undefined) return <s-text>{t('storeCredit.failed')}</s-text>;
  const held = heldCredit(balances);
  if (held.length === 0) return <s-text>{t('storeCredit.none')}</s-text>;
  return held.map((balance) => (
    <s-text key={balance.currency}>{t('storeCredit.balance', {amount: money(balance.amount, balance.currency)})}</s-text>
  ));
}
