// Build every UI extension under extensions/ the way Shopify CLI does (esbuild: one ESM bundle per target,
// minified, JSX through Preact) into extensions/<name>/dist/, and fail if a bundle is over Shopify's limit.
//
// shopify.dev ("Optimize bundle size"): UI extensions on API 2025-10 and later are limited to 64 KB of
// compressed JavaScript per extension; full-page customer account extensions to 128 KB. The limit is
// checked here on the gzip size, with KB counted as 1,000 bytes so a bundle that passes here passes there.
import {readdirSync, readFileSync, existsSync, mkdirSync, writeFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {gzipSync} from 'node:zlib';

import {build} from 'esbuild';

const ROOT = dirname(fileURLToPath(import.meta.url));
const KB = 1000;
const LIMIT = 64 * KB;
const FULL_PAGE_LIMIT = 128 * KB;
const FULL_PAGE_TARGETS = new Set(['customer-account.page.render', 'customer-account.order.page.render']);

/** The [[extensions.targeting]] entries of a shopify.extension.toml (target and module). */
export function targetsOf(toml) {
  const targets = [];
  for (const block of toml.split(/^\s*\[\[extensions\.targeting\]\]\s*$/m).slice(1)) {
    const body = block.split(/^\s*\[/m)[0];
    const target = /^\s*target\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    const module = /^\s*module\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    if (target && module) targets.push({target, module});
  }
  return targets;
}

/** Shopify's limit for an extension: 128 KB if it renders a full customer account page, else 64 KB. */
export function limitFor(targets) {
  return targets.some(({target}) => FULL_PAGE_TARGETS.has(target)) ? FULL_PAGE_LIMIT : LIMIT;
}

async function buildExtension(root, name) {
  const folder = join(root, name);
  const targets = targetsOf(readFileSync(join(folder, 'shopify.extension.toml'), 'utf8'));
  if (targets.length === 0) return null; // not a UI extension (e.g. a Flow extension)
  const outdir = join(folder, 'dist');
  mkdirSync(outdir, {recursive: true});
  const outfile = join(outdir, `${name}.js`);
  const result = await build({
    entryPoints: targets.map(({module}) => resolve(folder, module)),
    outfile: targets.length === 1 ? outfile : undefined,
    outdir: targets.length === 1 ? undefined : outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: {'process.env.NODE_ENV': '"production"'},
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, `${name}.metafile.json`), JSON.stringify(result.metafile));
  let raw = 0;
  let compressed = 0;
  for (const path of Object.keys(result.metafile.outputs)) {
    const bytes = readFileSync(resolve(path));
    raw += bytes.length;
    compressed += gzipSync(bytes, {level: 9}).length;
  }
  return {name, raw, compressed, limit: limitFor(targets)};
}

/** Build every extension under `root`, print each one's sizes; returns how many are over their limit. */
export async function buildAll(root = ROOT, log = console.log) {
  const names = readdirSync(root, {withFileTypes: true})
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'shopify.extension.toml')))
    .map((entry) => entry.name)
    .sort();
  let over = 0;
  for (const name of names) {
    const built = await buildExtension(root, name);
    if (!built) continue;
    const ok = built.compressed <= built.limit;
    if (!ok) over += 1;
    log(
      `${ok ? 'ok  ' : 'OVER'} ${name.padEnd(28)} ${(built.raw / KB).toFixed(1).padStart(6)} KB minified  ` +
        `${(built.compressed / KB).toFixed(1).padStart(6)} KB gzip  (limit ${built.limit / KB} KB compressed)`,
    );
  }
  return over;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const over = await buildAll();
  if (over > 0) {
    console.error(`${over} extension bundle(s) over Shopify's size limit`);
    process.exit(1);
  }
}
