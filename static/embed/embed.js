/* Zgoda cookie banner. One tag, no dependencies:
   <script src="https://ZGODA_HOST/embed.js" data-site="SITE" async></script>
   Public API: window.Zgoda (get, onChange, open) and the DOM event "zgoda:change". */
(() => {
  'use strict';
  const w = window, d = document, nav = navigator;
  if (w.Zgoda) return;
  const me = d.currentScript || d.querySelector('script[data-site]');
  const api = new URL(me.src).origin + '/api/v1/sites/' + encodeURIComponent(me.dataset.site);
  const NAME = 'zgoda_consent';
  const CSS = "__ZGODA_CSS__";
  const TYPES = ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage',
    'functionality_storage', 'personalization_storage', 'security_storage'];
  const GATED = 'script[type="text/plain"][data-zgoda-purpose],iframe[data-zgoda-purpose][data-src]';
  const gpc = nav.globalPrivacyControl === true;
  const lang = [me.dataset.lang, d.documentElement.lang, ...(nav.languages || [nav.language])]
    .map(l => (l || '').slice(0, 2).toLowerCase()).find(l => l == 'pl' || l == 'en');
  const listeners = [], started = new WeakSet();
  // The raw token proves the consent id to the API; its parsed payload applies the choice.
  let raw = (d.cookie.match(/(?:^|; )zgoda_consent=([^;]+)/) || [])[1];
  let token = parse(raw);
  let choices = {}, asked = [], queue = Promise.resolve();
  let config, loading, root, banner, dialog, reopen, boxes, before, busy;

  // Google Consent Mode v2: everything denied but security until a choice is known.
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  const modeState = granted => {
    const state = {};
    TYPES.forEach(type => { state[type] = granted.includes(type) ? 'granted' : 'denied'; });
    return state;
  };
  gtag('consent', 'default', Object.assign(modeState(['security_storage']), { wait_for_update: 500 }));

  function parse(value) {
    try {
      const payload = JSON.parse(atob(value.split('.')[0].replace(/-/g, '+').replace(/_/g, '/')));
      return payload.site == me.dataset.site ? payload : null;
    } catch (e) {
      return null;
    }
  }

  const live = () => token && token.exp * 1000 > Date.now();
  const optional = () => config.purposes.filter(p => !p.required);
  // A visitor who sends Global Privacy Control refuses advertising unless they switch it on.
  const isAd = p => p.id == 'advertising' || (config.consent_mode[p.id] || []).some(t => t.startsWith('ad_'));

  function load() {
    loading = loading || fetch(api + '/banner' + (lang ? '?lang=' + lang : ''))
      .then(r => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(c => { config = c; render(); return c; });
    loading.catch(() => { loading = null; });
    return loading;
  }

  function h(tag, props, ...children) {
    const el = d.createElement(tag);
    for (const k in props) {
      if (k.startsWith('on')) el.addEventListener(k.slice(2), props[k]);
      else el.setAttribute(k, props[k]);
    }
    el.append(...children.filter(c => c));
    return el;
  }

  function render() {
    const t = config.texts, links = config.links;
    const button = (label, onclick, cls) => h('button', { type: 'button', class: cls || 'c', onclick }, label);
    const actions = (ids, last) => h('div', { class: 'a' },
      button(t.accept_all, () => decide(1, ids())),
      button(t.reject_all, () => decide(0, ids())),
      last);
    if (!root) {
      const host = h('zgoda-consent');
      root = host.attachShadow({ mode: 'open' });
      if (root.adoptedStyleSheets) {
        // A constructed sheet passes a strict style-src; a <style> element would not.
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } else root.append(h('style', {}, CSS));
      (d.body || d.documentElement).append(host);
    }
    boxes = {};
    banner = h('div', { role: 'dialog', 'aria-labelledby': 'zt', 'aria-describedby': 'zb', class: 'b', tabindex: -1, hidden: '' },
      h('h2', { id: 'zt' }, t.title),
      h('p', { id: 'zb' }, t.body),
      h('p', {}, h('a', { href: links.privacy }, t.privacy_link), ' · ', h('a', { href: links.cookies }, t.cookies_link)),
      actions(() => asked, button(t.settings, open)));
    const close = button('×', () => dialog.close(), 'x');
    close.setAttribute('aria-label', t.close);
    dialog = h('dialog', { 'aria-modal': 'true', 'aria-labelledby': 'zp', class: 'm', onclose: restore, onkeydown: trap },
      h('div', { class: 'h' }, h('h2', { id: 'zp' }, t.preferences_title), close),
      ...config.purposes.map((p, i) => h('div', { class: 'p' },
        h('div', { class: 'w' },
          h('h3', {}, p.required ? p.name : h('label', { for: 'c' + i }, p.name)),
          p.required ? h('span', { class: 'o' }, t.always_on)
            : boxes[p.id] = h('input', { type: 'checkbox', id: 'c' + i, 'aria-describedby': 'd' + i })),
        h('p', { id: 'd' + i }, p.description),
        p.cookies.length ? h('details', {},
          h('summary', {}, t.cookies_heading + ' (' + p.cookies.length + ')'),
          h('ul', {}, ...p.cookies.map(c => h('li', {},
            h('b', {}, c.name), ` · ${t.provider}: ${c.provider} · ${t.duration}: ${c.duration}`,
            c.description ? h('br') : null, c.description)))) : null)),
      actions(() => optional().map(p => p.id), button(t.save, () => decide())));
    reopen = button(t.reopen, open, 'r');
    reopen.hidden = true;
    root.replaceChildren(h('div', { lang: config.locale }, banner, dialog, reopen));
  }

  // Tab and Shift+Tab cycle inside the open preferences layer.
  function trap(e) {
    if (e.key != 'Tab') return;
    const stops = [...dialog.querySelectorAll('button,input,summary')];
    const i = stops.indexOf(root.activeElement);
    if (e.shiftKey ? i < 1 : i == stops.length - 1) {
      e.preventDefault();
      stops[e.shiftKey ? stops.length - 1 : 0].focus();
    }
  }

  // The optional purposes the first layer asks about: the changed ones after a notice update.
  function ask() {
    const changed = optional().filter(p => !live() || (token.ph || {})[p.id] != p.hash).map(p => p.id);
    return changed.length ? changed : optional().map(p => p.id);
  }

  function prompt() {
    asked = ask();
    banner.hidden = false;
    reopen.hidden = true;
    const active = deepActive();
    if (!active || active == d.body) banner.focus();
  }

  function settled() {
    banner.hidden = true;
    if (me.dataset.reopen != 'false') reopen.hidden = false;
  }

  function deepActive() {
    let a = d.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a;
  }

  function open() {
    return load().then(() => {
      if (dialog.open) return;
      before = deepActive();
      const current = live() ? token.ch : {};
      optional().forEach(p => {
        boxes[p.id].checked = !asked.includes(p.id) && !!current[p.id];
      });
      dialog.showModal();
    });
  }

  function restore() {
    const target = before && before.isConnected && before.getClientRects().length ? before : reopen;
    if (target && !target.hidden) target.focus();
  }

  // kind 1: accept, 0: reject (the purposes in ids); undefined: save the switches.
  function decide(kind, ids) {
    if (busy) return;
    busy = 1;
    const previous = live() ? token.ch : {}, picked = {};
    optional().forEach(p => {
      picked[p.id] = kind == null ? boxes[p.id].checked
        : ids.includes(p.id) ? kind == 1 && !(gpc && isAd(p)) : !!previous[p.id];
    });
    const values = Object.values(picked);
    const action = !values.some(Boolean) && optional().some(p => previous[p.id]) ? 'withdraw'
      : kind == 1 && values.every(Boolean) ? 'accept_all'
        : kind === 0 && !values.some(Boolean) ? 'reject_all' : 'custom';
    const send = proof => fetch(api + '/consents', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        action, choices: picked, notice_version: config.notice_version, locale: config.locale,
        token: proof, source: 'banner', gpc: gpc || undefined,
      }),
    });
    // 403: the API no longer trusts the stored token (its key was retired): start afresh.
    send(token ? raw : undefined).then(r => (r.status == 403 && token ? send() : r)).then(r => {
      if (r.status == 409) {
        // The notice changed while the banner was open: show the new one.
        loading = null;
        if (dialog.open) dialog.close();
        return load().then(prompt);
      }
      return r.ok ? r.json().then(store) : Promise.reject(r.status);
    }).catch(e => console.warn('Zgoda: the choice was not saved', e)).finally(() => { busy = 0; });
  }

  function store(answer) {
    const payload = parse(answer.token);
    d.cookie = NAME + '=' + answer.token + ';path=/;expires=' + new Date(payload.exp * 1000).toUTCString()
      + ';SameSite=Lax' + (location.protocol == 'https:' ? ';Secure' : '');
    token = payload;
    raw = answer.token;
    asked = [];
    if (dialog.open) dialog.close();
    const refocus = banner.contains(deepActive());
    settled();
    if (refocus) reopen.hidden ? deepActive().blur() : reopen.focus();
    apply(payload);
  }

  function apply(payload) {
    const was = choices;
    choices = {};
    for (const k in payload.ch) choices[k] = !!payload.ch[k];
    gtag('consent', 'update', modeState(payload.cm || ['security_storage']));
    if (config) {
      config.purposes.forEach(p => {
        if (was[p.id] && !choices[p.id]) p.cookies.forEach(c => drop(c.name));
      });
    }
    d.querySelectorAll('iframe[data-zgoda-purpose]').forEach(f => {
      if (started.has(f) && !choices[f.dataset.zgodaPurpose]) {
        started.delete(f);
        f.src = 'about:blank';
      }
    });
    scan();
    const detail = { choices: Object.assign({}, choices) };
    listeners.forEach(f => { try { f(detail.choices); } catch (e) { console.error(e); } });
    d.dispatchEvent(new CustomEvent('zgoda:change', { detail, bubbles: true }));
  }

  // Delete a cookie the notice declares ("_ga", or "_ga_*" for a prefix) on this host and its parents.
  function drop(name) {
    if (!/^[\w.-]+\*?$/.test(name)) return;
    const prefix = name.endsWith('*') && name.slice(0, -1);
    const hosts = location.hostname.split('.').map((_, i, parts) => ';domain=' + parts.slice(i).join('.'));
    d.cookie.split('; ').forEach(pair => {
      const n = pair.split('=')[0];
      if (prefix ? n.startsWith(prefix) : n == name) {
        ['', ...hosts].forEach(domain => { d.cookie = n + '=;max-age=0;path=/' + domain; });
      }
    });
  }

  // Gated elements run in document order, each external script after the one before it.
  function scan() {
    d.querySelectorAll(GATED).forEach(el => {
      if (started.has(el) || !choices[el.dataset.zgodaPurpose]) return;
      started.add(el);
      queue = queue.then(() => new Promise(done => {
        if (el.tagName == 'IFRAME') {
          el.src = el.dataset.src;
          return done();
        }
        const s = d.createElement('script');
        for (const a of el.attributes) if (a.name != 'type' && a.name != 'data-src') s.setAttribute(a.name, a.value);
        s.nonce = el.nonce;
        if (el.dataset.src && el.isConnected) {
          s.onload = s.onerror = done;
          s.src = el.dataset.src;
        } else {
          s.text = el.text;
          done();
        }
        el.replaceWith(s);
      }));
    });
  }

  new MutationObserver(scan).observe(d, { childList: true, subtree: true });
  d.addEventListener('click', e => {
    if (e.target.closest && e.target.closest('[data-zgoda-open]')) {
      e.preventDefault();
      open();
    }
  });

  w.Zgoda = {
    get: purpose => !!choices[purpose],
    onChange: callback => { listeners.push(callback); },
    open,
  };

  if (live()) {
    // A returning visitor: the stored choice applies at once, with no network request.
    apply(token);
    load().then(c => (c.notice_version == token.nv ? settled() : prompt()));
  } else {
    load().then(c => {
      c.purposes.forEach(p => { if (p.required) choices[p.id] = true; });
      scan();
      prompt();
    });
  }
})();
