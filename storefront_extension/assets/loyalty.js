/* Loyalty widget: vanilla JS. Talks only to the app proxy (/apps/loyalty). The launcher block loads it when
   the browser is idle after load (or on a click before that), the panel block with defer. Nothing is fetched
   for the first paint: the stylesheet is added when idle after load (or on first open) and /me is asked
   when the panel opens. */
(() => {
  'use strict';
  const FOCUSABLE = 'a[href],button:not([disabled]),input,select,[tabindex]:not([tabindex="-1"])';
  let css;

  function h(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'on') node.addEventListener(tag === 'form' ? 'submit' : 'click', v);
      else if (v !== false && v != null) node.setAttribute(k, v === true ? '' : v);
    }
    node.append(...kids.flat().filter((k) => k != null && k !== false));
    return node;
  }

  function stylesheet(href) {
    if (!css) {
      css = new Promise((done) => {
        const link = h('link', { rel: 'stylesheet', href });
        link.onload = link.onerror = done;
        document.head.append(link);
      });
    }
    return css;
  }

  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^\w-]/g, '');

  function init(root) {
    root.dataset.ltyReady = '1';
    const t = JSON.parse(root.querySelector('[data-lty-i18n]').textContent);
    const d = root.dataset;
    const fmt = (s, v) => s.replace(/\{(\w+)\}/g, (_, k) => (k in v ? v[k] : ''));
    let locale = d.ltyLocale || document.documentElement.lang || undefined;
    try { Intl.NumberFormat(locale); } catch (e) { locale = undefined; }
    const num = (n) => new Intl.NumberFormat(locale).format(n);
    const money = (v, c) => new Intl.NumberFormat(locale, { style: 'currency', currency: c }).format(v);
    const day = (iso, o) => new Intl.DateTimeFormat(locale, o || { dateStyle: 'medium' }).format(new Date(iso));
    const panel = root.querySelector('[data-lty-panel]');
    const body = root.querySelector('[data-lty-body]');
    const status = root.querySelector('[data-lty-status]');
    const opener = root.querySelector('[data-lty-open]');
    const badge = root.querySelector('[data-lty-balance]');
    let me = null;
    let focusAfter = null;

    const api = (path, init) => fetch(d.ltyProxy + path, Object.assign({
      credentials: 'same-origin', headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    }, init)).then((r) => r.json().then((data) => (r.ok ? data : Promise.reject(data))), () => Promise.reject({}));
    const post = (path, data) => api(path, { method: 'POST', body: JSON.stringify(data) });

    const say = (text) => { status.textContent = text; };
    const fail = (err) => say(t[err && err.error] || t.error);
    const section = (title, ...kids) => h('section', { class: 'lty-section' }, h('h3', {}, title), ...kids);
    const list = (items, row) => h('ul', { class: 'lty-list' }, items.map(row));
    const button = (text, on, attrs) => h('button', Object.assign({ type: 'button', class: 'lty-button', on }, attrs), text);
    const copyButton = (value, label) => button(label, () => navigator.clipboard.writeText(value).then(() => say(t.copied)));

    function worth(r) {
      if (r.kind === 'fixed_amount') return fmt(t.value_amount, { amount: money(r.value, r.currency) });
      if (r.kind === 'percentage') return fmt(t.value_amount, { amount: new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(r.value / 100) });
      return r.kind === 'free_shipping' ? t.value_shipping : '';
    }

    function reward(r) {
      const name = h('span', {}, r.name, h('small', {}, [worth(r), fmt(t.cost, { cost: num(r.cost) })].filter(Boolean).join(' · ')));
      const slot = h('div', { class: 'lty-act' });
      const ask = () => {
        slot.replaceChildren(h('p', {}, fmt(t.confirm, { cost: num(r.cost), name: r.name })),
          button(t.confirm_yes, (e) => redeem(r, e.currentTarget), { 'data-lty-confirm': true }), ' ',
          button(t.cancel, () => { reset(); slot.querySelector('button').focus(); }, { class: 'lty-link' }));
        slot.querySelector('button').focus();
      };
      const reset = () => slot.replaceChildren(button(t.redeem, ask, { disabled: !r.affordable, 'data-lty-redeem': r.id,
        'aria-label': fmt(t.redeem_named, { name: r.name }) }),
      r.affordable ? '' : h('small', {}, fmt(t.missing, { missing: num(r.missing) })));
      if (me.customer_id !== null) reset();
      return h('li', {}, name, slot);
    }

    function way(w) {
      const label = h('span', {}, fmt(t.actions[w.action] || w.action, { points: num(w.points), amount: money(1, me.currency) }));
      const done = w.state !== 'available';
      let act = w.action !== 'order' && h('small', {}, `+${num(w.points)}`);
      if (done) act = h('small', { class: 'lty-state' }, t.states[w.state]);
      else if (me.customer_id !== null && t.do[w.action]) {
        act = button(fmt(t.do[w.action], { points: num(w.points) }), (e) => {
          const b = e.currentTarget;
          if (w.url) open(w.url, '_blank', 'noopener');
          b.disabled = true;
          post('/actions/' + w.action, { idempotency_key: uuid() })
            .then((res) => { say(fmt(t.earned, { points: num(res.points) })); focusAfter = '[data-lty-me-balance]'; return load(); },
              (err) => { b.disabled = false; fail(err); });
        }, { 'data-lty-action': w.action });
      }
      return h('li', {}, label, act);
    }

    function birthday() {
      if (me.birthday) {
        const [m, dd] = me.birthday.split('-');
        return h('p', {}, fmt(t.birthday_set, { date: day(Date.UTC(2000, m - 1, dd), { month: 'long', day: 'numeric', timeZone: 'UTC' }) }));
      }
      const pick = (name, label, options) => h('label', {}, label, h('select', { name, required: true }, h('option', { value: '' }, '—'), options));
      const months = Array.from({ length: 12 }, (_, i) => h('option', { value: i + 1 }, day(Date.UTC(2000, i, 1), { month: 'long', timeZone: 'UTC' })));
      const days = Array.from({ length: 31 }, (_, i) => h('option', { value: i + 1 }, i + 1));
      return h('form', { class: 'lty-birthday', 'data-lty-birthday': true, on: (e) => {
        e.preventDefault();
        const f = e.currentTarget.elements;
        const pad = (v) => String(v).padStart(2, '0');
        post('/birthday', { birthday: `${pad(f.month.value)}-${pad(f.day.value)}` })
          .then(() => { say(t.birthday_saved); return load(); }, fail);
      } }, h('fieldset', {}, h('legend', {}, t.birthday_label), pick('month', t.month, months), ' ', pick('day', t.day, days), ' ',
        h('button', { type: 'submit', class: 'lty-button' }, t.save)));
    }

    function render() {
      const member = me.customer_id !== null;
      const parts = [];
      const tp = me.tier_progress;
      if (member) {
        parts.push(h('p', { class: 'lty-balance', 'data-lty-me-balance': true, tabindex: '-1' }, h('strong', {}, num(me.balance)), ' ', t.points));
        if (me.pending) parts.push(h('p', { class: 'lty-muted' }, `${num(me.pending)} ${t.pending}`));
        if (me.tier) parts.push(h('p', { class: 'lty-tier' }, `${t.tier}: `, h('strong', {}, me.tier.name)));
        if (tp && tp.next) {
          parts.push(h('div', { class: 'lty-progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
            'aria-valuenow': tp.percent, 'aria-label': fmt(t.progress_label, { tier: tp.next }) }, h('span', { style: `width:${tp.percent}%` })));
        }
        parts.push(h('p', { class: 'lty-muted' }, tp && tp.next ? fmt(t.next_tier, { remaining: num(tp.remaining), tier: tp.next }) : t.top_tier));
      } else {
        parts.push(h('p', {}, t.join_title), h('p', { class: 'lty-links' },
          h('a', { class: 'lty-button', href: d.ltyRegister || me.links.join }, t.join), ' ', h('a', { href: d.ltyLogin || me.links.sign_in }, t.sign_in)));
      }
      if (me.codes.length) {
        parts.push(section(t.your_codes, list(me.codes, (c) => h('li', { class: 'lty-code' },
          h('span', {}, h('output', { 'data-lty-code': true }, c.code), c.expires_at && h('small', {}, fmt(t.expires, { date: day(c.expires_at) }))),
          h('span', {}, copyButton(c.code, t.copy), ' ', h('a', { class: 'lty-button', href: c.apply_url }, t.apply))))));
      }
      parts.push(section(t.rewards, list(me.rewards, reward)));
      parts.push(section(t.ways_to_earn, list(me.ways_to_earn, way)));
      if (member && me.referral_url) {
        parts.push(section(t.refer_title, h('input', { class: 'lty-input', readonly: true, value: me.referral_url, 'aria-label': t.refer_title }),
          h('p', {}, copyButton(me.referral_url, t.copy_link), ' ',
            navigator.share && button(t.share, () => navigator.share({ url: me.referral_url }).catch(() => {})))));
      }
      if (member && me.ways_to_earn.some((w) => w.action === 'birthday')) parts.push(birthday());
      if (me.activity.length) {
        parts.push(section(t.activity, list(me.activity, (a) => h('li', {},
          h('span', {}, t.kinds[a.kind] || a.kind, h('small', {}, day(a.created_at))), h('span', {}, (a.amount > 0 ? '+' : '') + num(a.amount))))));
      }
      body.replaceChildren(...parts);
      if (badge && member) badge.textContent = num(me.balance);
      const target = focusAfter && body.querySelector(focusAfter);
      if (target) target.focus();
      focusAfter = null;
    }

    function load() {
      return api('/me?locale=' + encodeURIComponent(locale || '')).then((data) => { me = data; render(); }, fail);
    }

    function redeem(r, confirm) {
      confirm.disabled = true;
      post('/redeem', { reward_id: r.id, idempotency_key: uuid() })
        .then((res) => {
          say(res.state === 'active' ? fmt(t.code_ready, { code: res.code }) : t.code_pending);
          focusAfter = '[data-lty-code]';
          return load();
        }, (err) => { confirm.disabled = false; fail(err); });
    }

    function trap(e) {
      if (e.key !== 'Tab') return;
      const items = panel.querySelectorAll(FOCUSABLE);
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
    }
    const onKey = (e) => { if (e.key === 'Escape') close(); };
    const onOutside = (e) => { if (!root.contains(e.target)) close(); };

    function open() {
      opener.setAttribute('aria-expanded', 'true');
      if (!me) load();
      stylesheet(d.ltyCss).then(() => {
        panel.hidden = false;
        panel.addEventListener('keydown', trap);
        document.addEventListener('keydown', onKey);
        document.addEventListener('click', onOutside, true);
        (panel.querySelector('[data-lty-close]') || panel).focus();
      });
    }

    function close() {
      panel.hidden = true;
      opener.setAttribute('aria-expanded', 'false');
      panel.removeEventListener('keydown', trap);
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('click', onOutside, true);
      opener.focus();
    }

    if (opener) {
      opener.addEventListener('click', () => (panel.hidden ? open() : close()));
      root.querySelector('[data-lty-close]').addEventListener('click', close);
      if (root.hasAttribute('data-lty-want')) open(); // clicked before this script was there
      const idle = () => (window.requestIdleCallback || setTimeout)(() => stylesheet(d.ltyCss));
      if (document.readyState === 'complete') idle(); else addEventListener('load', idle);
    } else {
      stylesheet(d.ltyCss);
      load();
    }
  }

  document.querySelectorAll('[data-lty]:not([data-lty-ready])').forEach(init);
})();
