// Shopify's theme-check over the theme app extension; exits 1 on any offense.
// @shopify/theme-check-node is a library with no command of its own, so this calls themeCheckRun(root).
import { themeCheckRun } from '@shopify/theme-check-node';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '../../storefront_extension');
const { offenses } = await themeCheckRun(root, undefined, () => {});
for (const o of offenses) {
  const where = `${path.relative(root, o.uri.replace('file://', ''))}:${(o.start?.line ?? 0) + 1}`;
  console.log(`${where} [${o.check}] ${o.message}`);
}
console.log(`theme-check: ${offenses.length} offense(s) in ${root}`);
process.exit(offenses.length === 0 ? 0 : 1);
