// purchase.thank-you.block.render: the points this order will earn, and the sign-up nudge for guests.
import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {callApp, estimateQuery, numericId} from '../../common/app.js';

export default async () => {
  render(<ThankYouPoints />, document.body);
};

const t = (key, options) => shopify.i18n.translate(key, options);

function ThankYouPoints() {
  const [answer, setAnswer] = useState(null);

  useEffect(() => {
    const orderId = numericId(shopify.orderConfirmation.value?.order?.id);
    if (!orderId) return;
    shopify.sessionToken
      .get()
      .then((token) =>
        callApp(token, `/ext/checkout/orders/${orderId}${estimateQuery(shopify.cost?.subtotalAmount?.value)}`),
      )
      .then(({data}) => setAnswer(data))
      .catch(() => setAnswer(null));
  }, []);

  if (!answer || typeof answer.points !== 'number' || answer.points <= 0) return null;
  if (!answer.signed_in) {
    return (
      <s-banner heading={t('guest.heading', {count: answer.points})} tone="info">
        <s-stack gap="small-200">
          <s-text>{t('guest.body', {count: answer.points})}</s-text>
          <s-link href={answer.links?.join || '/account/register'}>{t('guest.join')}</s-link>
        </s-stack>
      </s-banner>
    );
  }
  return (
    <s-banner heading={t('member.heading')} tone="success">
      <s-text>{memberMessage(answer)}</s-text>
    </s-banner>
  );
}

function memberMessage(answer) {
  if (answer.state === 'pending' && answer.available_at) {
    return t('member.pendingUntil', {count: answer.points, date: shopify.i18n.formatDate(new Date(answer.available_at))});
  }
  if (answer.state === 'estimate') return t('member.estimate', {count: answer.points});
  return t('member.earned', {count: answer.points});
}
