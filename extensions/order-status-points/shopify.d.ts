// Types for type-checking only (as Shopify CLI generates them): the global `shopify` this target gets and
// the Polaris web components it may render.
import '@shopify/ui-extensions';

//@ts-ignore
declare module './src/OrderPoints.jsx' {
  const shopify: import('@shopify/ui-extensions/customer-account.order-status.block.render').Api;
  const globalThis: {shopify: typeof shopify};
}
