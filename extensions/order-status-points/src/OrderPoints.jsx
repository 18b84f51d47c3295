// customer-account.order-status.block.render: "you earned N points on this order" (pending until …).
import '@shopify/ui-extensions/preact';
import {render} from 'preact';
import {useEffect, useState} from 'preact/hooks';

import {callApp, estimateQuery, numericId} from '../../common/app.js';

export default async () => {
  render(<OrderPoints />, document.body);
};

const t = (key, options) => shopify.i18n.translate(key, options);

function OrderPoints() {
  const [answer, setAnswer] = useState(null);

  useEffect(() => {
    const orderId = numericId(shopify.order.value?.id);
    if (!orderId) return;
    shopify.sessionToken
      .get()
      .then((token) =>
        callApp(token, `/ext/customer-account/orders/${orderId}${estimateQuery(shopify.cost?.subtotalAmount?.value)}`),
      )
      .then(({data}) => setAnswer(data))
      .catch(() => setAnswer(null));
  }, []);

  // Nothing to say: not known yet, another currency, or an order that earns nothing (below the minimum, refunded).
  if (!answer || typeof answer.points !== 'number' || answer.points <= 0) return null;
  return (
    <s-section heading={t('heading')}>
      <s-text>{message(answer)}</s-text>
    </s-section>
  );
}

function message(answer) {
  if (answer.state === 'pending') {
    const date = answer.available_at ? shopify.i18n.formatDate(new Date(answer.available_at)) : null;
    return date ? t('pendingUntil', {count: answer.points, date}) : t('pending', {count: answer.points});
  }
  if (answer.state === 'estimate') return t('estimate', {count: answer.points});
  return t('earned', {count: answer.points});
}
