// layso rating tablet (/rate/{counter}): idle until the counter finishes a ticket (the
// event stream says so), then three large buttons; "Chưa hài lòng" may ask for reasons
// as a second step; thanks, back to idle. 30 s without an answer records nothing.
'use strict';

(() => {
  const L = Layso;
  const $ = (id) => document.getElementById(id);
  const ANSWER_MS = 30000;
  const THANKS_MS = 4000;

  const match = window.location.pathname.match(/\/rate\/(\d{1,4})\/?$/);
  const counterNo = match ? parseInt(match[1], 10) : null;
  const credKey = 'layso.rate.' + counterNo;

  let token = null;
  let info = null; // GET /rating: reasons, window
  let target = null; // the ticket being rated
  let deadline = 0;
  let tick = null;
  let chosen = new Set();

  function store(v) {
    try { if (v) window.localStorage.setItem(credKey, v); else window.localStorage.removeItem(credKey); } catch (e) { /* no storage: ask again next time */ }
  }
  function stored() {
    try { return window.localStorage.getItem(credKey); } catch (e) { return null; }
  }

  function show(id) {
    ['rate-login', 'idle', 'ask', 'why', 'thanks'].forEach((s) => { $(s).hidden = s !== id; });
  }

  function stopTimer() {
    if (tick) { clearInterval(tick); tick = null; }
  }

  function idle() {
    stopTimer();
    target = null;
    chosen = new Set();
    $('dossier').value = '';
    show('idle');
  }

  /** Counts down on `el`; at zero, back to idle with nothing recorded. */
  function startTimer(el) {
    stopTimer();
    deadline = Date.now() + ANSWER_MS;
    const step = () => {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0) { idle(); return; }
      el.textContent = 'Màn hình sẽ trở về sau ' + left + ' giây';
    };
    step();
    tick = setInterval(step, 250);
  }

  async function load() {
    const res = await L.api('GET', '/api/v1/counters/' + counterNo + '/rating', { token });
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      store(null);
      token = null;
      askCredential(L.errorText(res));
      return null;
    }
    if (!res.ok) return null;
    info = res.data;
    return info;
  }

  // The state summary is published just after the stream's entry: when woken by an
  // entry, look again a few times before deciding there is nothing to rate.
  async function wake(tries) {
    const data = await load();
    if (!data) return;
    if (!data.ratable) {
      if (tries > 0) setTimeout(() => wake(tries - 1), 250);
      return;
    }
    const r = data.ratable;
    if (target && target.ticket === r.ticket) return;
    if (typeof data.now === 'number' && data.now + 1000 > r.until) return;
    target = r;
    $('ask-ticket').textContent = r.ticket;
    show('ask');
    startTimer($('ask-countdown'));
  }

  async function send(level) {
    if (!target) return;
    stopTimer();
    const body = {
      level,
      reasons: level === 'unsatisfied' ? Array.from(chosen) : [],
      dossier: $('dossier').value.trim(),
    };
    const res = await L.api('POST', '/api/v1/counters/' + counterNo + '/rating', { token, body });
    $('thanks-detail').textContent = res.ok ? '' : L.errorText(res);
    target = null;
    show('thanks');
    setTimeout(() => { if (!target) idle(); }, THANKS_MS);
  }

  function reasonsStep() {
    const box = $('reasons');
    box.textContent = '';
    chosen = new Set();
    (info && info.reasons || []).forEach((r) => {
      const b = L.el('button', { class: 'r-reason', type: 'button', 'aria-pressed': 'false', dataset: { code: r.code }, text: r.vi });
      b.addEventListener('click', () => {
        if (chosen.has(r.code)) chosen.delete(r.code); else chosen.add(r.code);
        b.setAttribute('aria-pressed', chosen.has(r.code) ? 'true' : 'false');
      });
      box.appendChild(b);
    });
    show('why');
    startTimer($('why-countdown'));
  }

  function askCredential(error) {
    stopTimer();
    show('rate-login');
    $('rate-login-title').textContent = 'Thiết bị đánh giá — Quầy ' + (counterNo || '?');
    $('rate-login-error').hidden = !error;
    $('rate-login-error').textContent = error || '';
  }

  function start() {
    $('idle-counter').textContent = (info && info.name) || ('Quầy ' + counterNo);
    idle();
    L.openStream({
      onEntry: (e) => {
        const k = e.event && e.event.kind;
        if ((k === 'ticket_served' || k === 'ticket_skipped') && e.event.counter === counterNo) wake(4);
      },
      onStatus: (up) => { $('rate-conn').hidden = up; },
    });
    wake(0);
  }

  $('rate-login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    token = $('rate-credential').value.trim();
    const data = await load();
    if (data) { store(token); start(); }
  });
  document.querySelectorAll('.r-btn').forEach((b) => b.addEventListener('click', () => {
    const level = b.dataset.level;
    if (level === 'unsatisfied' && info && info.reasons && info.reasons.length) reasonsStep();
    else send(level);
  }));
  $('why-send').addEventListener('click', () => send('unsatisfied'));

  if (!counterNo) { askCredential('Địa chỉ trang phải có số quầy, ví dụ /rate/1'); return; }
  token = stored();
  if (!token) { askCredential(''); return; }
  load().then((d) => { if (d) start(); });
})();
