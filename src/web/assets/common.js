// layso pages: shared code — language (vi default, en), JSON API calls, the live event
// stream with reconnect and catch-up, credential storage, time formatting.
'use strict';

const Layso = (() => {
  const LANG_KEY = 'layso.lang';

  function storageGet(store, key) {
    try { return store.getItem(key); } catch (e) { return null; }
  }
  function storageSet(store, key, value) {
    try {
      if (value === null || value === undefined) store.removeItem(key);
      else store.setItem(key, value);
    } catch (e) { /* private mode or disabled storage: the page still works */ }
  }

  const params = new URLSearchParams(window.location.search);
  let lang = params.get('lang') === 'en' ? 'en'
    : params.get('lang') === 'vi' ? 'vi'
      : (storageGet(window.localStorage, LANG_KEY) === 'en' ? 'en' : 'vi');
  const langListeners = [];

  /** Picks the Vietnamese or English text for the current language. */
  function t(vi, en) { return lang === 'en' ? en : vi; }

  /** Rewrites every element carrying data-vi / data-en (and data-vi-ph for placeholders). */
  function applyLang(root) {
    const scope = root || document;
    document.documentElement.lang = lang;
    scope.querySelectorAll('[data-vi]').forEach((el) => {
      const text = lang === 'en' ? (el.dataset.en || el.dataset.vi) : el.dataset.vi;
      if (el.textContent !== text) el.textContent = text;
    });
    scope.querySelectorAll('[data-vi-ph]').forEach((el) => {
      el.placeholder = lang === 'en' ? (el.dataset.enPh || el.dataset.viPh) : el.dataset.viPh;
    });
    scope.querySelectorAll('.lang-toggle').forEach((el) => {
      el.textContent = lang === 'en' ? 'Tiếng Việt' : 'English';
    });
  }

  function setLang(next) {
    lang = next === 'en' ? 'en' : 'vi';
    storageSet(window.localStorage, LANG_KEY, lang);
    applyLang();
    langListeners.forEach((fn) => fn(lang));
  }

  function onLang(fn) { langListeners.push(fn); }

  function wireLangToggles() {
    document.querySelectorAll('.lang-toggle').forEach((el) => {
      el.addEventListener('click', () => setLang(lang === 'en' ? 'vi' : 'en'));
    });
    applyLang();
  }

  /**
   * Calls the JSON API. Never throws: returns {ok, status, data}; status 0 means the
   * server could not be reached (data then carries a network error in both languages).
   */
  async function api(method, path, opts) {
    const o = opts || {};
    const headers = { Accept: 'application/json' };
    let body;
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
    if (o.token) headers.Authorization = 'Bearer ' + o.token;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), o.timeoutMs || 8000);
    try {
      const r = await fetch(path, { method, headers, body, signal: ctl.signal, cache: 'no-store' });
      const text = await r.text();
      let data = null;
      if (text) {
        try {
          data = JSON.parse(text);
        } catch (e) {
          data = { error: 'bad_response', message_vi: 'Máy chủ trả lời không hợp lệ', message_en: 'The server sent an invalid reply' };
        }
      }
      return { ok: r.ok, status: r.status, data };
    } catch (e) {
      return {
        ok: false,
        status: 0,
        data: { error: 'network', message_vi: 'Không kết nối được máy chủ', message_en: 'Cannot reach the server' },
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The human message of an API error reply, in the current language. */
  function errorText(res) {
    const d = (res && res.data) || {};
    const fallback = 'HTTP ' + (res ? res.status : '?');
    return lang === 'en' ? (d.message_en || d.error || fallback) : (d.message_vi || d.error || fallback);
  }

  // Server clock offset, so "served for" timers and blink windows use the server's time.
  let skewMs = 0;
  function noteServerNow(serverNowMs) {
    if (typeof serverNowMs === 'number' && Number.isFinite(serverNowMs)) skewMs = serverNowMs - Date.now();
  }
  function now() { return Date.now() + skewMs; }

  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  // The site's offset from UTC in minutes (state.utc_offset_minutes). Once a page sets it,
  // clock texts show the site's time, not the browser's zone.
  let siteOffsetMin = null;
  function setSiteOffset(minutes) {
    if (typeof minutes === 'number' && Number.isFinite(minutes)) siteOffsetMin = minutes;
  }
  function wallParts(ms) {
    const at = ms === undefined ? now() : ms;
    if (siteOffsetMin === null) {
      const d = new Date(at);
      return {
        Y: d.getFullYear(), D: d.getDate(), M: d.getMonth() + 1, W: d.getDay(),
        h: d.getHours(), m: d.getMinutes(), s: d.getSeconds(),
      };
    }
    const d = new Date(at + siteOffsetMin * 60000);
    return {
      Y: d.getUTCFullYear(), D: d.getUTCDate(), M: d.getUTCMonth() + 1, W: d.getUTCDay(),
      h: d.getUTCHours(), m: d.getUTCMinutes(), s: d.getUTCSeconds(),
    };
  }
  function clockText(ms) {
    const p = wallParts(ms);
    return pad2(p.h) + ':' + pad2(p.m);
  }
  function clockTextSeconds(ms) {
    return clockText(ms) + ':' + pad2(wallParts(ms).s);
  }
  /** YYYY-MM-DD: the site's calendar day now (once setSiteOffset was called). */
  function siteDay() {
    const p = wallParts();
    return p.Y + '-' + pad2(p.M) + '-' + pad2(p.D);
  }
  /** dd/mm HH:MM (in the site's zone once setSiteOffset was called). */
  function siteTime(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return '—';
    const p = wallParts(ms);
    return pad2(p.D) + '/' + pad2(p.M) + ' ' + pad2(p.h) + ':' + pad2(p.m);
  }
  /** A duration in words, as `layso status` says it: "2 giờ 15 phút", "dưới 1 phút". */
  function durationWords(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + t(' ngày ', ' d ') + h + t(' giờ', ' h');
    if (h > 0) return h + t(' giờ ', ' h ') + m + t(' phút', ' min');
    if (m > 0) return m + t(' phút', ' min');
    return t('dưới 1 phút', 'under a minute');
  }
  /** Picks field_vi / field_en of an object for the current language (falls back to vi). */
  function pick(obj, field) {
    if (!obj) return '';
    const vi = obj[field + '_vi'];
    const en = obj[field + '_en'];
    return (lang === 'en' ? (en || vi) : (vi || en)) || '';
  }
  /**
   * A device of state.devices in words: its state and translated detail (the daemon adds
   * state_vi/en, detail_vi/en), and what to do when the state's health has a problem for it.
   */
  function deviceText(dev, state) {
    if (!dev) return t('Không có thông tin', 'Unknown');
    const st = pick(dev, 'state') || printerStateText(dev.state);
    const detail = pick(dev, 'detail');
    let text = st + (detail && detail !== st ? ' — ' + detail : '');
    const problems = (state && state.health && Array.isArray(state.health.problems)) ? state.health.problems : [];
    const p = problems.find((x) => x && x.source === dev.device);
    if (p) text += '. ' + pick(p, 'action');
    return text;
  }
  /** Weekday, dd/mm/yyyy (in the site's zone once setSiteOffset was called). */
  function dateText(ms) {
    const p = wallParts(ms);
    if (lang === 'en') {
      // The site's calendar date, named by the browser without shifting it again.
      const d = new Date(Date.UTC(p.Y, p.M - 1, p.D, 12));
      return d.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    }
    const days = ['Chủ nhật', 'Thứ hai', 'Thứ ba', 'Thứ tư', 'Thứ năm', 'Thứ sáu', 'Thứ bảy'];
    return days[p.W] + ', ' + pad2(p.D) + '/' + pad2(p.M) + '/' + p.Y;
  }
  function durationText(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return (h > 0 ? h + ':' + pad2(m) : String(m)) + ':' + pad2(sec);
  }

  /** Runs fn every periodMs and once now; returns a stop function. */
  function every(periodMs, fn) {
    fn();
    const id = setInterval(fn, periodMs);
    return () => clearInterval(id);
  }

  /**
   * GET /api/v1/state (opts as for api); a good answer also sets the server clock and the
   * site's zone (clock and date in the site's zone). Returns api's answer.
   */
  async function fetchState(opts) {
    const res = await api('GET', '/api/v1/state', opts);
    if (res.ok && res.data) {
      noteServerNow(res.data.now);
      setSiteOffset(res.data.utc_offset_minutes);
    }
    return res;
  }
  /** The last durable seq of a state (the event stream resumes after it), if known. */
  function lastSeq(state) {
    return state && state.store && typeof state.store.last_seq === 'number' ? state.store.last_seq : undefined;
  }

  function startClock(el, withSeconds) {
    if (!el) return;
    // A page may show its clock before it loads the state (the counter page before sign-in):
    // learn the site's zone now, so the clock never shows the device's zone.
    if (siteOffsetMin === null) {
      api('GET', '/api/v1/state').then((res) => {
        if (res.ok && res.data && siteOffsetMin === null) {
          noteServerNow(res.data.now);
          setSiteOffset(res.data.utc_offset_minutes);
        }
      }).catch(() => {});
    }
    every(1000, () => {
      const text = withSeconds ? clockTextSeconds() : clockText();
      if (el.textContent !== text) el.textContent = text;
    });
  }

  function serviceName(svc) {
    if (!svc) return '';
    return lang === 'en' ? (svc.name_en || svc.name_vi || svc.id) : (svc.name_vi || svc.id);
  }

  const PRINTER_TROUBLE = ['paper_out', 'offline', 'unreachable', 'error', 'cover_open'];
  /** True when a printer state means the ticket may not have come out of the printer. */
  function printerTrouble(state) { return PRINTER_TROUBLE.indexOf(state) >= 0; }
  function printerStateText(state) {
    const names = {
      ok: ['Bình thường', 'OK'],
      paper_near_end: ['Sắp hết giấy', 'Paper low'],
      paper_out: ['Hết giấy', 'Out of paper'],
      cover_open: ['Nắp đang mở', 'Cover open'],
      offline: ['Ngoại tuyến', 'Offline'],
      error: ['Lỗi', 'Error'],
      unreachable: ['Không kết nối được', 'Unreachable'],
      none: ['Không dùng máy in', 'No printer'],
    };
    const pair = names[state];
    return pair ? t(pair[0], pair[1]) : String(state || '?');
  }
  /** The printer entry of state.devices, or null. */
  function printerDevice(state) {
    const devs = (state && Array.isArray(state.devices)) ? state.devices : [];
    return devs.find((d) => d && typeof d.device === 'string' && d.device.indexOf('printer') === 0) || null;
  }

  const EVENT_KINDS = [
    'ticket_issued', 'ticket_called', 'ticket_served', 'ticket_skipped', 'ticket_transferred',
    'counter_opened', 'counter_paused', 'counter_closed', 'device_status', 'power_restored',
    'uplink_restored', 'day_started', 'rated', 'officer_signed_in', 'officer_signed_out',
  ];

  /**
   * Opens /api/v1/events. `after` is the log seq the page's snapshot already includes
   * (state.store.last_seq), so nothing between the snapshot and the stream is missed.
   * The browser reconnects by itself and sends Last-Event-ID; if it gives up (server
   * answered an error), we reopen with ?after=<last seq seen>, backing off to 15 s.
   * Entries at or below the last seq seen are dropped (replays are harmless).
   * onEntry(entry) for each entry; onStatus(connected: boolean) on changes.
   */
  function openStream(options) {
    const onEntry = options.onEntry || (() => {});
    const onStatus = options.onStatus || (() => {});
    let lastSeq = (typeof options.after === 'number') ? options.after : null;
    let es = null;
    let retryMs = 1000;
    let connected = null;
    function setStatus(up) {
      if (connected !== up) { connected = up; onStatus(up); }
    }
    function handle(ev) {
      let entry;
      try { entry = JSON.parse(ev.data); } catch (e) { return; }
      if (!entry || typeof entry !== 'object') return;
      if (typeof entry.seq === 'number') {
        if (lastSeq !== null && entry.seq <= lastSeq) return;
        lastSeq = entry.seq;
      }
      setStatus(true);
      try { onEntry(entry); } catch (e) { if (window.console) console.error('layso: event handler failed', e); }
    }
    function connect() {
      const url = '/api/v1/events' + (lastSeq !== null ? '?after=' + encodeURIComponent(lastSeq) : '');
      es = new EventSource(url);
      es.onopen = () => { retryMs = 1000; setStatus(true); };
      EVENT_KINDS.forEach((k) => es.addEventListener(k, handle));
      es.onmessage = handle;
      es.onerror = () => {
        setStatus(false);
        if (es.readyState === EventSource.CLOSED) {
          es.close();
          setTimeout(connect, retryMs);
          retryMs = Math.min(retryMs * 2, 15000);
        }
      };
    }
    connect();
    return {
      lastSeq: () => lastSeq,
      close: () => { if (es) es.close(); },
    };
  }

  /** Calls fn at most once per waitMs, trailing (for "refresh state after events"). */
  function debounce(fn, waitMs) {
    let timer = null;
    return () => {
      if (timer !== null) return;
      timer = setTimeout(() => { timer = null; fn(); }, waitMs);
    };
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach((k) => {
        const v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
        else if (k === 'dataset') Object.assign(node.dataset, v);
        else node.setAttribute(k, v === true ? '' : v);
      });
    }
    (children || []).forEach((c) => {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  /** Credentials live in sessionStorage: gone when the browser tab closes. */
  const creds = {
    get: (key) => storageGet(window.sessionStorage, 'layso.cred.' + key),
    set: (key, value) => storageSet(window.sessionStorage, 'layso.cred.' + key, value),
    clear: (key) => storageSet(window.sessionStorage, 'layso.cred.' + key, null),
  };

  /**
   * The sign-in in front of a page's panel (counter and status pages): builds the fields
   * into the page's empty <form id="login-form">, wires it and #logout, and tries the
   * credential kept for the tab first. opts:
   *   credKey      where the credential is kept (creds)
   *   panel        id of what shows once signed in
   *   form         { title: [vi, en], titleId (optional), label: [vi, en], credential: [vi, en] }
   *                (credential: what to type, as in "Nhập …" / "Enter …")
   *   verify(c)    resolves { ok, text }: text says why c is refused
   *   onSignedIn(c, verdict)  after the panel shows; onSignedOut(); onShow() as the form shows
   * Returns { show(errorText), signOut() }.
   */
  function signInGate(opts) {
    const $ = (id) => document.getElementById(id);
    const f = opts.form;
    const words = (pair) => ({ 'data-vi': pair[0], 'data-en': pair[1] });
    $('login-form').replaceChildren(
      el('h1', Object.assign({ id: f.titleId }, words(f.title))),
      el('label', Object.assign({ for: 'credential' }, words(f.label))),
      el('input', {
        type: 'password', id: 'credential', name: 'credential', autocomplete: 'off', required: true,
        'data-vi-ph': 'Nhập ' + f.credential[0], 'data-en-ph': 'Enter ' + f.credential[1],
      }),
      el('button', Object.assign({ class: 'btn primary', type: 'submit', id: 'login-submit' }, words(['Đăng nhập', 'Sign in']))),
      el('div', { class: 'msg bad', id: 'login-error', role: 'alert', hidden: true }),
    );
    applyLang($('login-form'));

    function show(errorText) {
      $(opts.panel).hidden = true;
      $('logout').hidden = true;
      $('login-form').hidden = false;
      if (opts.onShow) opts.onShow();
      $('login-error').hidden = !errorText;
      $('login-error').textContent = errorText || '';
      $('credential').value = '';
      $('credential').focus();
    }
    async function signIn(candidate) {
      $('login-submit').disabled = true;
      const verdict = await opts.verify(candidate);
      $('login-submit').disabled = false;
      if (!verdict.ok) {
        creds.clear(opts.credKey);
        show(verdict.text);
        return;
      }
      creds.set(opts.credKey, candidate);
      $('login-form').hidden = true;
      $(opts.panel).hidden = false;
      $('logout').hidden = false;
      await opts.onSignedIn(candidate, verdict);
    }
    function signOut() {
      opts.onSignedOut();
      creds.clear(opts.credKey);
      show('');
    }

    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('credential').value.trim();
      if (!v) { show(t('Vui lòng nhập ' + f.credential[0], 'Please enter ' + f.credential[1])); return; }
      signIn(v);
    });
    $('logout').addEventListener('click', signOut);
    const saved = creds.get(opts.credKey);
    if (saved) signIn(saved); else show('');
    return { show, signOut };
  }

  return {
    t, lang: () => lang, setLang, onLang, applyLang, wireLangToggles, params,
    api, fetchState, lastSeq, errorText, noteServerNow, now,
    clockText, clockTextSeconds, dateText, durationText, every, startClock, pad2,
    setSiteOffset, siteDay, siteTime, durationWords, pick, deviceText,
    serviceName, printerTrouble, printerStateText, printerDevice,
    openStream, debounce, el, creds, signInGate,
  };
})();
