// customer-account.page.render: the loyalty page in new customer accounts.
import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {callApp, clickKey, heldCredit} from '../../common/app.js';

export default async () => {
  render(<LoyaltyPage />, document.body);
};

const t = (key, options) => shopify.i18n.translate(key, options);

async function load() {
  const token = await shopify.sessionToken.get();
  return (await callApp(token, '/ext/customer-account/me')).data;
}

// Store credit lives in Shopify: read it straight from the Customer Account API (as the signed-in customer,
// no token of ours; the app needs the customer_read_store_credit_accounts scope). One account per currency.
const CUSTOMER_ACCOUNT_API = 'shopify://customer-account/api/2026-10/graphql.json';
const STORE_CREDIT_QUERY = `query LoyaltyStoreCredit {
  customer {
    storeCreditAccounts(first: 25) {
      nodes {
        balance {
          amount
          currencyCode
        }
      }
    }
  }
}`;

/** The customer's store credit balances as [{amount, currency}]; throws if Shopify did not answer them. */
async function loadStoreCredit() {
  const response = await fetch(CUSTOMER_ACCOUNT_API, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({query: STORE_CREDIT_QUERY}),
  });
  const body = await response.json();
  const accounts = body && body.data && body.data.customer && body.data.customer.storeCreditAccounts;
  if (!response.ok || (body.errors && body.errors.length) || !accounts) throw new Error('store credit not loaded');
  return accounts.nodes.map((node) => ({amount: node.balance.amount, currency: node.balance.currencyCode}));
}

function LoyaltyPage() {
  const [view, setView] = useState(null);
  const [failed, setFailed] = useState(false);
  // undefined while loading, null if Shopify did not answer, else the balances.
  const [credit, setCredit] = useState(undefined);

  const refresh = () => {
    loadStoreCredit()
      .then(setCredit)
      .catch(() => setCredit(null));
    return load()
      .then((data) => {
        setView(data);
        setFailed(false);
      })
      .catch(() => setFailed(true));
  };

  useEffect(() => {
    refresh();
  }, []);

  if (failed) {
    return (
      <s-page heading={t('page.title')}>
        <s-banner tone="critical">{t('errors.load')}</s-banner>
      </s-page>
    );
  }
  if (!view) {
    return (
      <s-page heading={t('page.title')}>
        <s-spinner accessibilityLabel={t('page.loading')} />
      </s-page>
    );
  }
  return (
    <s-page heading={t('page.title')}>
      <Standing view={view} />
      <Rewards view={view} onRedeemed={refresh} />
      <Codes codes={view.codes || []} credit={credit} />
      <WaysToEarn ways={view.ways_to_earn || []} />
      {view.referral_url ? <Referral url={view.referral_url} /> : null}
      <History activity={view.activity || []} />
    </s-page>
  );
}

function Standing({view}) {
  const progress = view.tier_progress;
  const percent = progress ? Number(progress.percent) : null;
  return (
    <s-section heading={t('standing.heading')}>
      <s-stack gap="base">
        <s-text type="strong">{t('standing.balance', {count: view.balance})}</s-text>
        {view.pending > 0 ? <s-text color="subdued">{t('standing.pending', {count: view.pending})}</s-text> : null}
        {view.tier ? <s-text>{t('standing.tier', {tier: view.tier.name})}</s-text> : null}
        {view.next_tier ? (
          <s-stack gap="small-200">
            {percent !== null && Number.isFinite(percent) ? (
              <s-progress value={percent} max={100} accessibilityLabel={t('standing.progressLabel', {tier: view.next_tier.name})} />
            ) : null}
            <s-text color="subdued">
              {t('standing.nextTier', {remaining: view.next_tier.remaining, tier: view.next_tier.name})}
            </s-text>
          </s-stack>
        ) : null}
      </s-stack>
    </s-section>
  );
}

function Rewards({view, onRedeemed}) {
  const [confirming, setConfirming] = useState(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState(null);

  async function redeem(reward) {
    setBusy(true);
    try {
      const token = await shopify.sessionToken.get();
      const {status, data} = await callApp(token, '/ext/customer-account/redeem', {
        method: 'POST',
        body: {reward_id: reward.id, idempotency_key: clickKey()},
      });
      setOutcome({reward, status, data});
      onRedeemed();
    } catch (error) {
      setOutcome({reward, error: error.reason || 'http_error'});
    } finally {
      setBusy(false);
      setConfirming(null);
    }
  }

  const rewards = view.rewards || [];
  return (
    <s-section heading={t('rewards.heading')}>
      <s-stack gap="base">
        {outcome ? <Outcome outcome={outcome} /> : null}
        {rewards.length === 0 ? <s-text color="subdued">{t('rewards.none')}</s-text> : null}
        {rewards.map((reward) => (
          <s-stack key={reward.id} direction="inline" gap="base" justifyContent="space-between" alignItems="center">
            <s-stack gap="none">
              <s-text type="strong">{reward.name}</s-text>
              <s-text color="subdued">{t('rewards.cost', {count: reward.cost})}</s-text>
            </s-stack>
            {confirming === reward.id ? (
              <s-stack direction="inline" gap="small-200">
                <s-text>{t('rewards.confirm', {reward: reward.name, count: reward.cost})}</s-text>
                <s-button variant="primary" loading={busy} onClick={() => redeem(reward)}>
                  {t('rewards.confirmButton')}
                </s-button>
                <s-button variant="secondary" disabled={busy} onClick={() => setConfirming(null)}>
                  {t('rewards.cancel')}
                </s-button>
              </s-stack>
            ) : (
              <s-button
                variant="secondary"
                disabled={!reward.affordable || busy}
                onClick={() => {
                  setOutcome(null);
                  setConfirming(reward.id);
                }}
              >
                {reward.affordable ? t('rewards.redeem') : t('rewards.needMore', {count: reward.cost - view.balance})}
              </s-button>
            )}
          </s-stack>
        ))}
      </s-stack>
    </s-section>
  );
}

function Outcome({outcome}) {
  if (outcome.error) {
    const key = ['insufficient_points', 'rate_limited', 'shopify_failed'].includes(outcome.error)
      ? `errors.${outcome.error}`
      : 'errors.redeem';
    return <s-banner tone="critical">{t(key)}</s-banner>;
  }
  const {data} = outcome;
  if (data.kind === 'store_credit') {
    return (
      <s-banner tone="success">
        {t('rewards.storeCredit', {amount: shopify.i18n.formatCurrency(Number(data.amount), {currency: data.currency})})}
      </s-banner>
    );
  }
  if (outcome.status === 202 || !data.code) {
    return <s-banner tone="info">{t('rewards.processing')}</s-banner>;
  }
  return (
    <s-banner tone="success" heading={t('rewards.codeHeading')}>
      <s-stack gap="small-200">
        <s-text type="strong">{data.code}</s-text>
        <s-text>{t('rewards.codeHelp')}</s-text>
        <s-clipboard-item id="loyalty-code" text={data.code} />
        <s-button commandFor="loyalty-code" variant="secondary">{t('rewards.copy')}</s-button>
      </s-stack>
    </s-banner>
  );
}

function StoreCredit({credit}) {
  if (credit === undefined) return null;
  if (credit === null) return <s-text color="subdued">{t('storeCredit.failed')}</s-text>;
  const held = heldCredit(credit);
  if (held.length === 0) return <s-text color="subdued">{t('storeCredit.none')}</s-text>;
  return (
    <s-stack gap="small-200">
      {held.map((balance) => (
        <s-text key={balance.currency} type="strong">
          {t('storeCredit.balance', {
            amount: shopify.i18n.formatCurrency(Number(balance.amount), {currency: balance.currency}),
          })}
        </s-text>
      ))}
      <s-text color="subdued">{t('storeCredit.help')}</s-text>
    </s-stack>
  );
}

function Codes({codes, credit}) {
  const active = codes.filter((code) => code.state === 'active');
  return (
    <s-section heading={t('codes.heading')}>
      <s-stack gap="base">
        <StoreCredit credit={credit} />
        {active.length === 0 ? (
          <s-text color="subdued">{t('codes.none')}</s-text>
        ) : (
          <s-unordered-list>
            {active.map((code) => (
              <s-list-item key={code.code}>
                <s-text type="strong">{code.code}</s-text>{' '}
                {code.expires_at ? (
                  <s-text color="subdued">
                    {t('codes.expires', {date: shopify.i18n.formatDate(new Date(code.expires_at))})}
                  </s-text>
                ) : null}
              </s-list-item>
            ))}
          </s-unordered-list>
        )}
      </s-stack>
    </s-section>
  );
}

const EARN_ACTIONS = ['signup', 'birthday', 'referral', 'review', 'social_follow', 'newsletter'];

function WaysToEarn({ways}) {
  return (
    <s-section heading={t('ways.heading')}>
      <s-unordered-list>
        {ways.map((way) => (
          <s-list-item key={way.action}>
            {way.action === 'order'
              ? t('ways.order', {points: way.points, currency: way.per})
              : t(`ways.${EARN_ACTIONS.includes(way.action) ? way.action : 'custom'}`, {count: way.points})}
            {way.state === 'done' ? ` · ${t('ways.done')}` : ''}
            {way.state === 'limit_reached' ? ` · ${t('ways.limitReached')}` : ''}
          </s-list-item>
        ))}
      </s-unordered-list>
    </s-section>
  );
}

function Referral({url}) {
  return (
    <s-section heading={t('referral.heading')}>
      <s-stack gap="small-200">
        <s-text>{t('referral.body')}</s-text>
        <s-text type="strong">{url}</s-text>
        <s-clipboard-item id="loyalty-referral" text={url} />
        <s-button commandFor="loyalty-referral" variant="secondary">{t('referral.copy')}</s-button>
      </s-stack>
    </s-section>
  );
}

const ENTRY_KINDS = ['earn', 'redeem', 'reversal', 'bonus', 'adjust', 'expire', 'action', 'release'];

function History({activity}) {
  return (
    <s-section heading={t('history.heading')}>
      {activity.length === 0 ? (
        <s-text color="subdued">{t('history.none')}</s-text>
      ) : (
        <s-unordered-list>
          {activity.map((entry, index) => (
            <s-list-item key={index}>
              {shopify.i18n.formatDate(new Date(entry.created_at))} ·{' '}
              {t(`history.kinds.${ENTRY_KINDS.includes(entry.kind) ? entry.kind : 'other'}`)} ·{' '}
              {t('history.points', {count: entry.amount, points: entry.amount > 0 ? `+${entry.amount}` : `${entry.amount}`})}
              {entry.state === 'pending' ? ` · ${t('history.pending')}` : ''}
            </s-list-item>
          ))}
        </s-unordered-list>
      )}
    </s-section>
  );
}
