/* Loyalty widget: vanilla JS, loaded with defer. Talks only to the app proxy (/apps/loyalty). */
(() => {
  'use strict';
  const FOCUSABLE = 'a[href],button:not([disabled]),[tabindex]:not([tabindex="-1"])';

  function h(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'on') node.addEventListener('click', v);
      else if (v !== false && v != null) node.setAttribute(k, v === true ? '' : v);
    }
    node.append(...kids.flat().filter((k) => k != null && k !== false));
    return node;
  }

  function init(root) {
    root.dataset.ltyReady = '1';
    const t = JSON.parse(root.querySelector('[data-lty-i18n]').textContent);
    const fmt = (s, v) => s.replace(/\{(\w+)\}/g, (_, k) => (k in v ? v[k] : ''));
    const proxy = root.dataset.ltyProxy;
    const panel = root.querySelector('[data-lty-panel]');
    const body = root.querySelector('[data-lty-body]');
    const opener = root.querySelector('[data-lty-open]');
    const badge = root.querySelector('[data-lty-balance]');
    let me = null;
    let code = null;

    const api = (path, init) => fetch(proxy + path, Object.assign({
      credentials: 'same-origin', headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    }, init)).then((r) => r.json().then((data) => (r.ok ? data : Promise.reject(data))));

    function section(title, ...kids) {
      return h('section', { class: 'lty-section' }, h('h3', {}, title), ...kids);
    }

    function render() {
      const member = me.customer_id !== null;
      const parts = [];
      if (member) {
        parts.push(h('p', { class: 'lty-balance', 'data-lty-me-balance': true }, h('strong', {}, String(me.balance)), ' ', t.points));
        if (me.pending) parts.push(h('p', { class: 'lty-muted' }, `${me.pending} ${t.pending}`));
        if (me.tier) parts.push(h('p', { class: 'lty-tier' }, `${t.tier}: `, h('strong', {}, me.tier.name)));
        parts.push(h('p', { class: 'lty-muted' }, me.next_tier ? fmt(t.next_tier, { remaining: me.next_tier.remaining, tier: me.next_tier.name }) : t.top_tier));
      } else {
        parts.push(h('p', {}, t.join_title), h('p', { class: 'lty-links' },
          h('a', { class: 'lty-button', href: me.links.join }, t.join), ' ', h('a', { href: me.links.sign_in }, t.sign_in)));
      }
      if (code && code.pending) parts.push(h('p', { class: 'lty-muted', role: 'status' }, t.code_pending));
      else if (code) {
        parts.push(h('div', { class: 'lty-code', role: 'status' }, h('p', {}, t.your_code),
          h('output', { 'data-lty-code': true }, code.code),
          h('p', {}, h('button', { type: 'button', class: 'lty-button', on: copy }, t.copy), ' ',
            h('a', { class: 'lty-button', href: code.apply_url }, t.apply))));
      }
      parts.push(section(t.rewards, h('ul', { class: 'lty-list' }, me.rewards.map((r) => h('li', {},
        h('span', {}, r.name, h('small', {}, fmt(t.cost, { cost: r.cost }))),
        member && h('button', { type: 'button', class: 'lty-button', disabled: !r.affordable, 'data-lty-redeem': r.id,
          on: (e) => redeem(r, e.currentTarget) }, t.redeem))))));
      parts.push(section(t.ways_to_earn, h('ul', { class: 'lty-list' }, me.ways_to_earn.map((w) => h('li', {},
        h('span', {}, fmt(t.actions[w.action] || w.action, w)), w.action !== 'order' && h('small', {}, `+${w.points}`))))));
      if (me.activity.length) {
        parts.push(section(t.activity, h('ul', { class: 'lty-list' }, me.activity.map((a) => h('li', {},
          h('span', {}, t.kinds[a.kind] || a.kind), h('small', {}, (a.amount > 0 ? '+' : '') + a.amount))))));
      }
      body.replaceChildren(...parts);
      if (badge && member) badge.textContent = me.balance;
    }

    function fail(reason) {
      body.prepend(h('p', { class: 'lty-error', role: 'alert' }, t[reason] || t.error));
    }

    function load() {
      return api('/me').then((data) => { me = data; render(); }, () => fail('error'));
    }

    function redeem(reward, button) {
      button.disabled = true;
      const key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^\w-]/g, '');
      api('/redeem', { method: 'POST', body: JSON.stringify({ reward_id: reward.id, idempotency_key: key }) })
        .then((result) => { code = result.state === 'active' ? result : { pending: true }; return load(); })
        .then(() => { const out = body.querySelector('[data-lty-code]'); if (out) out.parentElement.querySelector('button').focus(); })
        .catch((err) => { button.disabled = false; fail(err && err.error); });
    }

    function copy(e) {
      const button = e.currentTarget;
      navigator.clipboard.writeText(code.code).then(() => { button.textContent = t.copied; });
    }

    function trap(e) {
      if (e.key === 'Escape') { close(); return; }
      if (e.key !== 'Tab') return;
      const items = panel.querySelectorAll(FOCUSABLE);
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
    }

    function open() {
      panel.hidden = false;
      opener.setAttribute('aria-expanded', 'true');
      panel.addEventListener('keydown', trap);
      (panel.querySelector('[data-lty-close]') || panel).focus();
      if (!me) load();
    }

    function close() {
      panel.hidden = true;
      opener.setAttribute('aria-expanded', 'false');
      panel.removeEventListener('keydown', trap);
      opener.focus();
    }

    if (opener) {
      opener.addEventListener('click', () => (panel.hidden ? open() : close()));
      root.querySelector('[data-lty-close]').addEventListener('click', close);
    } else {
      load();
    }
  }

  document.querySelectorAll('[data-lty]:not([data-lty-ready])').forEach(init);
})();
