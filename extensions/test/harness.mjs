// A DOM (happy-dom), a faked `shopify` global with the real locale files, and fetch mocked at the network
// boundary: enough to run a built extension bundle as Shopify's host would and read what it shows.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

import {Window} from 'happy-dom';

const EXTENSIONS = join(dirname(fileURLToPath(import.meta.url)), '..');
export const APP_URL = 'https://loyalty.example.com';

/** The real strings of an extension in one language (`en` reads en.default.json). */
export function locale(extension, lang) {
  const file = lang === 'en' ? 'en.default.json' : `${lang}.json`;
  return JSON.parse(readFileSync(join(EXTENSIONS, extension, 'locales', file), 'utf8'));
}

/** shopify.i18n as the host provides it: translate with {{placeholders}} and plural forms, and Intl formatting. */
export function i18n(extension, lang) {
  const strings = locale(extension, lang);
  const plural = new Intl.PluralRules(lang);
  return {
    translate(key, options = {}) {
      let value = key.split('.').reduce((node, part) => (node == null ? undefined : node[part]), strings);
      if (value && typeof value === 'object' && options.count !== undefined) {
        value = value[plural.select(options.count)] ?? value.other;
      }
      if (typeof value !== 'string') throw new Error(`missing translation ${key} (${lang})`);
      return value.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name) => String(options[name]));
    },
    formatDate: (date, options) => new Intl.DateTimeFormat(lang, options).format(date),
    formatNumber: (number, options) => new Intl.NumberFormat(lang, options).format(number),
    formatCurrency: (number, options) => new Intl.NumberFormat(lang, {style: 'currency', ...options}).format(number),
  };
}

/** Answers for `fetch`: {"GET /ext/...": {status, body} | (request) => {status, body}}; every request is recorded. */
export function mockFetch(routes) {
  const requests = [];
  globalThis.fetch = async (url, init = {}) => {
    const method = init.method || 'GET';
    const request = {url, method, headers: init.headers || {}, body: init.body ? JSON.parse(init.body) : undefined};
    requests.push(request);
    const path = url.startsWith(APP_URL) ? url.slice(APP_URL.length) : url;
    let answer = routes[`${method} ${path}`];
    if (typeof answer === 'function') answer = answer(request);
    if (!answer) return new Response(JSON.stringify({error: 'not_found'}), {status: 404});
    return new Response(JSON.stringify(answer.body), {status: answer.status ?? 200, headers: {'Content-Type': 'application/json'}});
  };
  return requests;
}

/** A fresh document for one render. */
export function freshDom() {
  const window = new Window({url: 'https://shop.example/'});
  globalThis.window = window;
  globalThis.document = window.document;
  return window;
}

/** Run an extension's built bundle (dist/<name>.js) with `shopify` as the host API; returns document.body. */
export async function renderExtension(extension, shopify) {
  freshDom();
  globalThis.shopify = shopify;
  const module = await import(pathToFileURL(join(EXTENSIONS, extension, 'dist', `${extension}.js`)).href);
  await module.default();
  return document.body;
}

/** Wait until `check` returns something truthy (effects and fetches settle on timers). */
export async function waitFor(check, timeout = 2000) {
  const until = Date.now() + timeout;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out; the page shows: ${document.body.textContent}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Let pending timers and promises run (to assert that something did not happen). */
export const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** The element whose text is exactly `text` (buttons and such). */
export function byText(selector, text) {
  return [...document.querySelectorAll(selector)].find((element) => element.textContent.trim() === text);
}

/** The page's visible text, whitespace collapsed. */
export const text = () => document.body.textContent.replace(/\s+/g, ' ').trim();
