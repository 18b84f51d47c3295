// The build refuses a bundle over Shopify's limit: 64 KB compressed, 128 KB for a full customer account page.
import assert from 'node:assert/strict';
import {randomBytes} from 'node:crypto';
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {test} from 'node:test';

import {buildAll, limitFor, targetsOf} from '../build.mjs';

function extension(root, name, target, kilobytes) {
  mkdirSync(join(root, name, 'src'), {recursive: true});
  writeFileSync(join(root, name, 'shopify.extension.toml'),
    `api_version = "2026-10"\n\n[[extensions]]\ntype = "ui_extension"\nname = "${name}"\nhandle = "${name}"\n\n` +
    `[[extensions.targeting]]\ntarget = "${target}"\nmodule = "./src/index.js"\n`);
  // Random bytes do not compress: base64 of N random bytes gzips to about N bytes.
  const payload = randomBytes(kilobytes * 1000).toString('base64');
  writeFileSync(join(root, name, 'src', 'index.js'), `export const payload = ${JSON.stringify(payload)};\nexport default () => payload;\n`);
}

test('a block over 64 KB compressed fails the build; a full page may use up to 128 KB', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ext-build-'));
  extension(root, 'big-block', 'customer-account.order-status.block.render', 80);
  extension(root, 'big-page', 'customer-account.page.render', 80);
  const lines = [];
  assert.equal(await buildAll(root, (line) => lines.push(line)), 1);
  assert.match(lines.find((line) => line.includes('big-block')), /^OVER .*limit 64 KB compressed/);
  assert.match(lines.find((line) => line.includes('big-page')), /^ok .*limit 128 KB compressed/);
});

test('targets and limits are read from shopify.extension.toml', () => {
  const toml = '[[extensions.targeting]]\ntarget = "pos.customer-details.block.render"\nmodule = "./src/A.jsx"\n' +
    '[extensions.capabilities]\nnetwork_access = true\n';
  assert.deepEqual(targetsOf(toml), [{target: 'pos.customer-details.block.render', module: './src/A.jsx'}]);
  assert.equal(limitFor(targetsOf(toml)), 64000);
  assert.equal(limitFor([{target: 'customer-account.page.render'}]), 128000);
});
