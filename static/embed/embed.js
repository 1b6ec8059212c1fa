/* Zgoda cookie banner. One tag, no dependencies:
   <script src="https://ZGODA_HOST/embed/SITE.js" async></script> (configuration built in), or
   <script src="https://ZGODA_HOST/embed.js" data-site="SITE" async></script> (fetches it).
   Public API: window.Zgoda (get, onChange, open, accept, reject, version), the DOM event
   "zgoda:change" and a dataLayer event "zgoda_consent" on load and on every change.
   Parts, in order: start guard and guarded storage; consent state (token, choices, Consent
   Mode, gating, the queue of choices not yet recorded); the banner configuration (built in,
   else fetched, else the last one seen, else a built-in minimum); rendering (banner, dialog).
   Zgoda strips comments and needless spaces (rjsmin) when it serves this file. */
(() => {
  'use strict';
  const w = window, d = document, nav = navigator;

  // --- Start guard: only a real Zgoda instance (marked with MARK) stops this one.
  const MARK = Symbol.for('zgoda.embed');
  if (w.Zgoda && w.Zgoda[MARK]) return;
  if (w.Zgoda) console.warn('Zgoda: window.Zgoda is taken by something else');
  const me = d.currentScript || d.querySelector('script[data-site]');
  // The per-site script (/embed/SITE.js) has its banners built in here, in both languages.
  const SITE = "__ZGODA_SITE__";
  let inline = typeof SITE == 'object' && SITE;
  const site = me.dataset.site || inline.site, origin = new URL(me.src).origin;
  const api = origin + '/api/v1/sites/' + encodeURIComponent(site);
  const NAME = 'zgoda_consent';
  const CSS = "__ZGODA_CSS__";
  const TYPES = ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage',
    'functionality_storage', 'personalization_storage', 'security_storage'];
  const TAGGED = ':is([data-zgoda-purpose],[data-zgoda-service])';
  const GATED = 'script[type="text/plain"]' + TAGGED + ',iframe[data-src]' + TAGGED;
  const gpc = nav.globalPrivacyControl === true;
  const lang = [me.dataset.lang, d.documentElement.lang, ...(nav.languages || [nav.language])]
    .map(l => (l || '').slice(0, 2).toLowerCase()).find(l => l == 'pl' || l == 'en');
  // A page may block cookies and storage (a throwing getter): the choice then lives in memory.
  const safe = (f, otherwise) => { try { return f(); } catch (e) { return otherwise; } };
  const storage = safe(() => w.localStorage);
  const saved = key => safe(() => JSON.parse(storage.getItem(key)));
  const save = (key, value) => safe(() => (value ? storage.setItem(key, JSON.stringify(value)) : storage.removeItem(key)));
  const cookie = value => safe(() => (value ? (d.cookie = value) : d.cookie), '');
  const QUEUE = 'zgoda:' + site, CACHE = QUEUE + ':' + lang;

  // --- Consent state. `raw` is the recorded token (proof of the consent id for the API);
  // `state` the choice in force: the token's payload, or a choice still waiting in `pending`.
  let raw = (cookie().match(/(?:^|; )zgoda_consent=([^;]+)/) || [])[1];
  let state = parse(raw);
  let pending = saved(QUEUE), sending, timer, delay = 1e3;
  if (pending && pending.state && pending.body) state = pending.state;
  else pending = null;
  const listeners = [], started = new WeakSet();
  let choices = {}, asked = [], queue = Promise.resolve();
  let config, loading, root, banner, dialog, reopen, boxes, before, shown, announced;

  // Google Consent Mode v2: everything denied but security until a choice is known.
  w.dataLayer = w.dataLayer || [];
  function gtag() { w.dataLayer.push(arguments); }
  const modeState = granted => {
    const result = {};
    TYPES.forEach(type => { result[type] = granted.includes(type) ? 'granted' : 'denied'; });
    return result;
  };
  gtag('consent', 'default', Object.assign(modeState(['security_storage']), { wait_for_update: 500 }));
  // A type is granted when a purpose mapped to it is; security_storage unless a purpose governs it.
  const grantedTypes = (picked, mapping) => TYPES.filter(type => {
    const governing = Object.keys(mapping).filter(p => mapping[p].includes(type));
    return governing.length ? governing.some(p => picked[p]) : type == 'security_storage';
  });

  function parse(value) {
    try {
      const payload = JSON.parse(atob(value.split('.')[0].replace(/-/g, '+').replace(/_/g, '/')));
      return payload.site == site ? payload : null;
    } catch (e) {
      return null;
    }
  }

  const live = () => state && !(state.exp * 1000 < Date.now());
  const optional = () => config.purposes.filter(p => !p.required);
  // A purpose may list services, each a choice of its own under the key "purpose.service";
  // the purpose counts as granted only when all its services are.
  const keys = p => (p.services || []).map(s => p.id + '.' + s.id);
  // Whether a gated element may run: its service (under its purpose, if it names one), else its purpose.
  const allowed = ({ dataset: { zgodaPurpose: p, zgodaService: s } }) => (s
    ? Object.keys(choices).some(k => choices[k] && k.endsWith('.' + s) && (!p || k == p + '.' + s))
    : choices[p]);
  // A visitor who sends Global Privacy Control refuses advertising unless they switch it on.
  const isAd = p => p.id == 'advertising' || (config.consent_mode[p.id] || []).some(t => t.startsWith('ad_'));

  // kind 1: accept, 0: reject (the purposes or services in ids); undefined: save the switches.
  // `source`: 'api' when the site's own code chose through Zgoda.accept or Zgoda.reject.
  // The banner hides at once and the choice's effects follow right after that frame is painted
  // (a call from the site's code applies them before it returns); recording follows them.
  function decide(kind, ids, source) {
    const previous = live() ? state.ch : {}, picked = {}, hashes = {}, first = !state;
    optional().forEach(p => {
      const pick = key => (kind == null ? boxes[key].checked
        : ids.includes(key) || ids.includes(p.id) ? kind == 1 && !(gpc && isAd(p)) : !!previous[key]);
      keys(p).forEach(k => { picked[k] = pick(k); });
      picked[p.id] = keys(p).length ? keys(p).every(k => picked[k]) : pick(p.id);
    });
    const values = Object.values(picked), granted = Object.assign({}, picked);
    const action = !values.some(Boolean) && Object.keys(picked).some(k => previous[k]) ? 'withdraw'
      : kind == 1 && values.every(Boolean) ? 'accept_all'
        : kind === 0 && !values.some(Boolean) ? 'reject_all' : 'custom';
    config.purposes.forEach(p => {
      hashes[p.id] = p.hash;
      if (p.required) granted[p.id] = true;
    });
    state = { site, ch: granted, nv: config.notice_version, ph: hashes, cm: grantedTypes(granted, config.consent_mode) };
    // The retry queue: the latest choice per site, in localStorage until the API records it.
    pending = {
      // chosen_at: the time of the click, kept through retries (the log also notes receipt).
      body: { action, choices: picked, notice_version: config.notice_version, locale: config.locale, source: source || 'banner', gpc: gpc || undefined, chosen_at: new Date().toISOString() },
      state,
    };
    save(QUEUE, pending);
    clearTimeout(timer);
    delay = 1e3;
    asked = [];
    if (dialog.open) dialog.close();
    const refocus = banner.contains(deepActive());
    show('reopen');
    if (refocus) reopen.hidden ? deepActive().blur() : reopen.focus();
    apply(state, first, !source);
    source ? flush() : later(flush);
  }

  // After the next frame is painted: what a click sets off waits until the banner is gone.
  const later = f => requestAnimationFrame(() => setTimeout(f));

  // One request at a time. 429, 5xx and network errors retry after 1 s, 2 s, 4 s … 60 s (or
  // the answer's Retry-After if that is longer); a newer choice replaces the waiting one;
  // 409 (a newer notice) shows the banner again.
  function flush() {
    const entry = pending;
    if (sending || !entry) return;
    sending = 1;
    const post = proof => fetch(api + '/consents', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(Object.assign({ token: proof }, entry.body)),
    });
    // 403: the API no longer trusts the stored token (its key was retired): start afresh.
    post(raw).then(r => (r.status == 403 && raw ? post() : r)).then(r => {
      if (r.status == 429 || r.status > 499) throw r;
      if (pending == entry) {
        pending = null;
        save(QUEUE);
      }
      if (r.ok) return r.json().then(keep);
      if (r.status != 409) return console.warn('Zgoda: the choice was refused', r.status);
      loading = inline = null;
      if (dialog && dialog.open) dialog.close();
      return load().then(prompt);
    }).then(() => { delay = 1e3; }, e => {
      if (pending != entry) return;
      // Never sooner than the API's Retry-After (seconds), when it sends one.
      timer = setTimeout(flush, Math.max(delay, (e.headers && e.headers.get('Retry-After')) * 1e3 || 0));
      delay = Math.min(2 * delay, 6e4);
    }).finally(() => {
      sending = 0;
      if (pending && pending != entry) flush();
    });
  }

  // The API's answer: its signed token goes into a first-party cookie.
  function keep(answer) {
    const payload = parse(answer.token);
    raw = answer.token;
    if (!pending) state = payload;
    cookie(NAME + '=' + raw + ';path=/;expires=' + new Date(payload.exp * 1000).toUTCString()
      + ';SameSite=Lax' + (location.protocol == 'https:' ? ';Secure' : ''));
  }

  // `first`: the visitor's first choice on the site (no earlier one, recorded or queued).
  // Zgoda.get answers with the new choice at once; with `wait` its effects follow (later).
  function apply(payload, first, wait) {
    const was = choices;
    choices = {};
    for (const k in payload.ch) choices[k] = !!payload.ch[k];
    wait ? later(() => effects(payload, was, first)) : effects(payload, was, first);
  }

  // Consent Mode and the other signals, cookies of refused purposes, gated elements, events.
  function effects(payload, was, first) {
    gtag('consent', 'update', modeState(payload.cm || ['security_storage']));
    signal(payload.cm, 'update');
    if (config) {
      config.purposes.forEach(p => {
        if (was[p.id] && !choices[p.id]) p.cookies.forEach(c => drop(c.name));
      });
    }
    d.querySelectorAll('iframe' + TAGGED).forEach(f => {
      if (started.has(f) && !allowed(f)) {
        started.delete(f);
        f.src = 'about:blank';
      }
    });
    scan();
    // Changed: purposes granted or refused now that were not so on this page before (none
    // on the page's first event: the choice in force as it loads).
    const changed = announced ? Object.keys(Object.assign({}, was, choices)).filter(k => !was[k] != !choices[k]) : [];
    const detail = { choices: Object.assign({}, choices), changed };
    listeners.forEach(f => { try { f(detail.choices, changed); } catch (e) { console.error(e); } });
    d.dispatchEvent(new CustomEvent('zgoda:change', { detail, bubbles: true }));
    announce(changed, first);
  }

  // Tag managers: one dataLayer event per load and per change (a Custom Event trigger in GTM).
  function announce(changed, first) {
    announced = 1;
    w.dataLayer.push({ event: 'zgoda_consent', zgoda: { granted: Object.keys(choices).filter(k => choices[k]), changed, first: !!first } });
  }

  // Microsoft UET consent mode (ad_storage) and Clarity consent v2, for the sites whose notice
  // asks for them (embed.consent_signals), from the same Consent Mode types as Google's.
  function signal(granted, kind) {
    const on = name => config && (config.consent_signals || []).includes(name);
    const is = modeState(granted || []);
    if (on('microsoft_uet')) (w.uetq = w.uetq || []).push('consent', kind, { ad_storage: is.ad_storage });
    if (on('microsoft_clarity')) {
      w.clarity = w.clarity || function () { (w.clarity.q = w.clarity.q || []).push(arguments); };
      w.clarity('consentv2', { ad_Storage: is.ad_storage, analytics_Storage: is.analytics_storage });
    }
  }

  // Delete a cookie the notice declares ("_ga", or "_ga_*" for a prefix) on this host and its parents.
  function drop(name) {
    if (!/^[\w.-]+\*?$/.test(name)) return;
    const prefix = name.endsWith('*') && name.slice(0, -1);
    const hosts = location.hostname.split('.').map((_, i, parts) => ';domain=' + parts.slice(i).join('.'));
    cookie().split('; ').forEach(pair => {
      const n = pair.split('=')[0];
      if (prefix ? n.startsWith(prefix) : n == name) {
        ['', ...hosts].forEach(domain => cookie(n + '=;max-age=0;path=/' + domain));
      }
    });
  }

  // Gated elements run in document order, each external script after the one before it.
  function scan() {
    d.querySelectorAll(GATED).forEach(el => {
      if (started.has(el) || !allowed(el)) return;
      started.add(el);
      queue = queue.then(() => new Promise(done => {
        if (el.tagName == 'IFRAME') {
          el.src = el.dataset.src;
          return done();
        }
        const s = d.createElement('script');
        for (const a of el.attributes) if (a.name != 'type' && a.name != 'data-src') s.setAttribute(a.name, a.value);
        // data-type: the type the script is meant to run as ("module"); classic otherwise.
        if (el.dataset.type) s.type = el.dataset.type;
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

  // --- The banner configuration: built in, else fetched (and kept per site and language),
  // else the last one seen, else a built-in minimum for the purposes in the stored choice.
  function load() {
    const built = inline && inline.banners[lang || inline.locale];
    loading = loading || (built ? Promise.resolve(built) : fetch(api + '/banner' + (lang ? '?lang=' + lang : ''))
      .then(r => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(c => { save(CACHE, c); return c; }, e => {
        loading = null;
        const c = config || saved(CACHE) || fallback();
        if (!c) throw e;
        return c;
      }))
      .then(c => {
        if (c != config) {
          const first = !config;
          config = c;
          // The first configuration: UET's and Clarity's defaults, then the choice in force.
          if (first) signal([], 'default');
          if (first && live()) signal(state.cm, 'update');
          render();
        }
        return c;
      });
    return loading;
  }

  const FALLBACK = {
    pl: ['Ustawienia plików cookie', 'Ustawienia', 'Zapisz wybór', 'Akceptuj wszystkie', 'Odrzuć wszystkie', 'Zamknij', 'Polityka prywatności', 'Polityka plików cookie'],
    en: ['Cookie settings', 'Settings', 'Save choices', 'Accept all', 'Reject all', 'Close', 'Privacy notice', 'Cookie policy'],
  };
  function fallback() {
    if (!state) return null;
    const locale = lang || 'pl', t = FALLBACK[locale];
    const texts = {}, link = page => origin + '/' + site + '/' + page + '?lang=' + locale;
    ['title', 'settings', 'save', 'accept_all', 'reject_all', 'close', 'privacy_link', 'cookies_link']
      .forEach((key, i) => { texts[key] = t[i]; });
    texts.reopen = texts.preferences_title = t[0];
    return {
      notice_version: state.nv, locale, consent_mode: {}, texts,
      links: { privacy: link('privacy'), cookies: link('cookies') },
      purposes: Object.keys(state.ch).filter(id => !id.includes('.')).map(id => ({
        id, name: id, cookies: [], hash: (state.ph || {})[id],
        services: Object.keys(state.ch).filter(k => k.startsWith(id + '.')).map(k => ({ id: k.slice(id.length + 1), name: k.slice(id.length + 1) })),
      })),
    };
  }

  // --- Rendering: the first layer, the preferences dialog and the reopen button, in a shadow root.
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
    const button = (label, onclick, cls) => h('button', { type: 'button', class: cls || 'choice', onclick }, label);
    // The actions sit below their own scroll area: whatever the text, they stay in view.
    const actions = (ids, last) => h('div', { class: 'actions' },
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
    banner = h('div', { role: 'dialog', 'aria-labelledby': 'zt', 'aria-describedby': 'zb', class: 'banner', tabindex: -1, hidden: '' },
      h('div', { class: 'text' },
        h('h2', { id: 'zt' }, t.title),
        h('p', { id: 'zb' }, t.body),
        h('p', {}, h('a', { href: links.privacy }, t.privacy_link), ' · ', h('a', { href: links.cookies }, t.cookies_link))),
      actions(() => asked, button(t.settings, open)));
    const close = button('×', () => dialog.close(), 'close');
    close.setAttribute('aria-label', t.close);
    dialog = h('dialog', { 'aria-modal': 'true', 'aria-labelledby': 'zp', class: 'preferences', onclose: restore, onkeydown: trap },
      h('div', { class: 'head' }, h('h2', { id: 'zp' }, t.preferences_title), close),
      h('div', { class: 'text' }, ...config.purposes.map((p, i) => h('div', { class: 'purpose' },
        h('div', { class: 'head' },
          h('h3', {}, p.required ? p.name : h('label', { for: 'c' + i }, p.name)),
          p.required ? h('span', { class: 'always' }, t.always_on)
            : boxes[p.id] = h('input', { type: 'checkbox', id: 'c' + i, 'aria-describedby': 'd' + i, onchange: () => keys(p).forEach(k => { boxes[k].checked = boxes[p.id].checked; }) })),
        h('p', { id: 'd' + i }, p.description),
        // A switch per service; the purpose's switch sets them all and shows "mixed" when some are on.
        keys(p).length ? h('ul', { class: 'services', 'aria-label': p.name }, ...p.services.map((s, j) => h('li', {},
          h('label', {}, boxes[keys(p)[j]] = h('input', { type: 'checkbox', onchange: () => mixed(p) }), s.name)))) : null,
        p.cookies.length ? h('details', {},
          h('summary', {}, t.cookies_heading + ' (' + p.cookies.length + ')'),
          h('ul', {}, ...p.cookies.map(c => h('li', {},
            h('b', {}, c.name), ` · ${t.provider}: ${c.provider} · ${t.duration}: ${c.duration}`,
            c.description ? h('br') : null, c.description)))) : null))),
      actions(() => optional().map(p => p.id), button(t.save, () => decide())));
    reopen = button(t.reopen, open, 'reopen');
    root.replaceChildren(h('div', { lang: config.locale }, banner, dialog, reopen));
    show(shown);
  }

  // What shows: the first layer ('banner'), the reopen button ('reopen'), or nothing yet.
  function show(what) {
    shown = what;
    if (!root) return;
    banner.hidden = what != 'banner';
    reopen.hidden = what != 'reopen' || me.dataset.reopen == 'false';
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
    const changed = optional().filter(p => !live() || (state.ph || {})[p.id] != p.hash).map(p => p.id);
    return changed.length ? changed : optional().map(p => p.id);
  }

  function prompt() {
    asked = ask();
    show('banner');
    const active = deepActive();
    if (!active || active == d.body) banner.focus();
  }

  function deepActive() {
    let a = d.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a;
  }

  // A purpose's switch with services: on when all are, "mixed" (indeterminate) when some are.
  function mixed(p) {
    const on = keys(p).filter(k => boxes[k].checked).length;
    boxes[p.id].checked = on == keys(p).length;
    boxes[p.id].indeterminate = on > 0 && !boxes[p.id].checked;
  }

  function open() {
    return load().then(() => {
      if (dialog.open) return;
      before = deepActive();
      const current = live() ? state.ch : {};
      optional().forEach(p => {
        [p.id, ...keys(p)].forEach(k => { boxes[k].checked = !asked.includes(p.id) && !!current[k]; });
        if (keys(p).length) mixed(p);
      });
      dialog.showModal();
    }, e => console.warn('Zgoda: no settings', e));
  }

  function restore() {
    const target = before && before.isConnected && before.getClientRects().length ? before : reopen;
    if (target && !target.hidden) target.focus();
  }

  // --- Start: the API, the stored or queued choice at once, then the configuration.
  new MutationObserver(scan).observe(d, { childList: true, subtree: true });
  d.addEventListener('click', e => {
    if (e.target.closest && e.target.closest('[data-zgoda-open]')) {
      e.preventDefault();
      open();
    }
  });
  w.addEventListener('online', () => {
    clearTimeout(timer);
    flush();
  });

  const zgoda = {
    get: purpose => !!choices[purpose],
    onChange: callback => { listeners.push(callback); },
    open,
    // The site's own controls: accept some purposes (all without an argument), or reject all.
    accept: ids => load().then(() => decide(1, ids || optional().map(p => p.id), 'api')),
    reject: () => load().then(() => decide(0, optional().map(p => p.id), 'api')),
    version: "__ZGODA_VERSION__",
    [MARK]: true,
  };
  safe(() => { w.Zgoda = zgoda; });
  if (w.Zgoda != zgoda) console.warn('Zgoda: window.Zgoda cannot be set');

  const failed = e => console.warn('Zgoda: no banner', e);
  if (live()) {
    // A returning visitor: the stored choice applies at once, with no network request.
    apply(state);
    flush();
    load().then(c => (c.notice_version == state.nv ? show('reopen') : prompt())).catch(failed);
  } else {
    load().then(c => {
      c.purposes.forEach(p => { if (p.required) choices[p.id] = true; });
      scan();
      announce([]);
      prompt();
    }).catch(failed);
  }
})();
