// layso hall display: the current number at each counter and the last calls, live from the
// event stream; a new call blinks for FLASH_MS and may chime; never a blank screen.
'use strict';

(() => {
  const L = Layso;
  const $ = (id) => document.getElementById(id);
  const FLASH_MS = 12000;
  const MAX_RECENT = 8;
  const CHIME_KEY = 'layso.display.chime';

  // ?counters=1,2 restricts the display to those counters (e.g. one TV per hall wing).
  const only = (L.params.get('counters') || '').split(',').map((s) => parseInt(s.trim(), 10)).filter((n) => Number.isInteger(n) && n > 0);
  const wanted = (n) => only.length === 0 || only.indexOf(n) >= 0;

  const model = {
    site: null,
    services: [],
    counters: new Map(), // number -> {number, name, state, current}
    recent: [], // {ticket, counter, at, recall, key}
  };
  const flashUntil = new Map(); // 'c<counter>' or recent key -> ms (local clock)
  let latestCall = null;
  let connected = true;
  let chimeOn = false;
  let audio = null;

  // ---- spoken calls ([voice] where = "display"): the daemon's WAV, one at a time --------------
  // Calls older than 60 s are never played late; a recall of the ticket being (or just) said
  // is merged. window.LaysoVoice records what was requested and played (tests read it).
  const VOICE_MAX_AGE_MS = 60000;
  const VOICE_MERGE_MS = 5000;
  let voicePlace = 'none';
  const voiceQueue = [];
  let voiceBusy = false;
  let voiceLast = { ticket: null, at: 0 };
  const voiceLog = (window.LaysoVoice = { requested: [], ended: [], errors: [] });

  // ?voice=0 keeps a second TV in the same hall silent (one voice per hall).
  const voiceMuted = L.params.get('voice') === '0';

  function announce(entry, ev) {
    if (voicePlace !== 'display' || voiceMuted || typeof entry.seq !== 'number') return;
    if (voiceQueue.some((q) => q.ticket === ev.ticket)) return;
    if (voiceLast.ticket === ev.ticket && Date.now() - voiceLast.at < VOICE_MERGE_MS) return;
    voiceQueue.push({ seq: entry.seq, ticket: ev.ticket, at: entry.at, seen: Date.now() });
    playNextVoice();
  }
  function playNextVoice() {
    if (voiceBusy) return;
    const next = voiceQueue.shift();
    if (!next) return;
    const age = typeof next.at === 'number' ? L.now() - next.at : Date.now() - next.seen;
    if (age > VOICE_MAX_AGE_MS) { playNextVoice(); return; }
    voiceBusy = true;
    voiceLast = { ticket: next.ticket, at: Date.now() };
    const url = '/api/v1/announcements/' + next.seq + '.wav';
    voiceLog.requested.push(next.seq);
    const el = new Audio(url);
    let over = false;
    const done = (ok) => () => {
      if (over) return; // 'error' and a rejected play() may both report one failure
      over = true;
      (ok ? voiceLog.ended : voiceLog.errors).push(next.seq);
      voiceBusy = false;
      playNextVoice();
    };
    el.addEventListener('ended', done(true), { once: true });
    el.addEventListener('error', done(false), { once: true });
    const p = el.play();
    if (p && p.catch) p.catch(done(false));
  }

  // ---- chime: a generated two-tone "ding-dong", no sound files ----------------------------

  function ensureAudio() {
    if (!audio) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      try { audio = new Ctx(); } catch (e) { return null; }
    }
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    return audio;
  }
  function tone(ctx, freq, start, dur) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + dur);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + dur + 0.05);
  }
  function chime() {
    // With [voice] where = "display" the announcement brings its own chime.
    if (!chimeOn || voicePlace === 'display') return;
    const ctx = ensureAudio();
    if (!ctx) return;
    const t0 = ctx.currentTime + 0.02;
    tone(ctx, 880, t0, 0.9);
    tone(ctx, 659.25, t0 + 0.45, 1.3);
  }
  function renderChime() {
    $('chime').textContent = chimeOn ? L.t('Chuông: bật', 'Chime: on') : L.t('Chuông: tắt', 'Chime: off');
  }

  // ---- model ----------------------------------------------------------------------------

  function loadState(s) {
    voicePlace = typeof s.voice === 'string' ? s.voice : 'none';
    model.site = s.site || null;
    model.services = Array.isArray(s.services) ? s.services : [];
    const seen = new Set();
    (Array.isArray(s.counters) ? s.counters : []).forEach((c) => {
      if (!wanted(c.number)) return;
      seen.add(c.number);
      model.counters.set(c.number, { number: c.number, name: c.name, state: c.state, current: c.current || null });
    });
    Array.from(model.counters.keys()).forEach((n) => { if (!seen.has(n)) model.counters.delete(n); });
    // Newest first; a recalled ticket appears once (its latest call). Blinks are keyed by
    // call, so a resync never stops a blink early.
    const calls = (Array.isArray(s.last_calls) ? s.last_calls : []).filter((c) => wanted(c.counter));
    const seenTickets = new Set();
    model.recent = [];
    calls.forEach((c) => {
      if (seenTickets.has(c.ticket) || model.recent.length >= MAX_RECENT) return;
      seenTickets.add(c.ticket);
      model.recent.push({ ticket: c.ticket, counter: c.counter, at: c.at, recall: c.recall || 0, key: callKey(c.ticket, c.counter, c.at) });
    });
    const newest = model.recent[0];
    if (newest && (!latestCall || (newest.at || 0) >= (latestCall.at || 0))) latestCall = newest;
  }

  function callKey(ticket, counter, at) { return ticket + '@' + counter + '@' + at; }

  function serviceName(id) {
    const s = model.services.find((x) => x.id === id);
    return s ? L.serviceName(s) : (id || '');
  }

  function counterLabel(n) {
    const c = model.counters.get(n);
    return L.lang() === 'en' ? 'Counter ' + n : ((c && c.name) || ('Quầy ' + n));
  }

  function onCalled(entry, ev) {
    if (!wanted(ev.counter)) return;
    let c = model.counters.get(ev.counter);
    if (!c) {
      c = { number: ev.counter, name: 'Quầy ' + ev.counter, state: 'open', current: null };
      model.counters.set(ev.counter, c);
    }
    c.current = { ticket: ev.ticket, service: ev.service, called_at: entry.at, recall: ev.recall || 0 };
    const call = { ticket: ev.ticket, counter: ev.counter, at: entry.at, recall: ev.recall || 0, key: callKey(ev.ticket, ev.counter, entry.at) };
    model.recent = [call].concat(model.recent.filter((r) => r.ticket !== call.ticket)).slice(0, MAX_RECENT);
    latestCall = call;
    // Replayed calls (catch-up after a reconnect) only blink if they are still recent.
    const age = L.now() - (typeof entry.at === 'number' ? entry.at : L.now());
    if (age < FLASH_MS) {
      const until = Date.now() + FLASH_MS - Math.max(0, age);
      flashUntil.set('c' + ev.counter, until);
      flashUntil.set(call.key, until);
      flashUntil.set('strip', until);
      chime();
      announce(entry, ev);
    }
  }

  function onFinished(ev) {
    const c = model.counters.get(ev.counter);
    if (c && c.current && c.current.ticket === ev.ticket) {
      c.current = null;
      // The citizen has been served (or moved on): stop blinking an empty tile.
      flashUntil.delete('c' + ev.counter);
      model.recent.filter((r) => r.ticket === ev.ticket).forEach((r) => flashUntil.delete(r.key));
      if (latestCall && latestCall.ticket === ev.ticket) flashUntil.delete('strip');
    }
  }

  function onEntry(entry) {
    const ev = entry.event || {};
    switch (ev.kind) {
      case 'ticket_called': onCalled(entry, ev); break;
      case 'ticket_served':
      case 'ticket_skipped':
      case 'ticket_transferred': onFinished(ev); break;
      case 'counter_opened':
      case 'counter_paused':
      case 'counter_closed': {
        const c = model.counters.get(ev.counter);
        if (c) c.state = ev.kind.replace('counter_', '') === 'opened' ? 'open' : ev.kind.replace('counter_', '');
        break;
      }
      default: break;
    }
    render();
  }

  // ---- rendering ------------------------------------------------------------------------

  function flashing(key) {
    const until = flashUntil.get(key);
    if (until === undefined) return false;
    if (Date.now() >= until) { flashUntil.delete(key); return false; }
    return true;
  }

  function tileFor(c) {
    const tile = L.el('div', { class: 'tile', dataset: { counter: String(c.number) } }, [
      L.el('div', { class: 'tile-label' }),
      L.el('div', { class: 'tile-number' }),
      L.el('div', { class: 'tile-sub' }),
    ]);
    return tile;
  }

  function columns(n, w, h) {
    if (n <= 1) return 1;
    const wide = w / Math.max(1, h) > 1.4;
    if (n === 2) return wide ? 2 : 1;
    if (n === 3) return wide ? 3 : 2;
    if (n <= 4) return 2;
    if (n <= 6) return wide ? 3 : 2;
    if (n <= 9) return 3;
    return 4;
  }

  function renderTiles() {
    const box = $('tiles');
    const list = Array.from(model.counters.values()).sort((a, b) => a.number - b.number);
    const main = box.getBoundingClientRect();
    box.style.setProperty('--cols', String(columns(list.length, main.width || window.innerWidth, main.height || window.innerHeight)));
    const existing = new Map();
    box.querySelectorAll('.tile').forEach((t) => existing.set(t.dataset.counter, t));
    const nodes = list.map((c) => {
      const tile = existing.get(String(c.number)) || tileFor(c);
      const label = counterLabel(c.number);
      const num = tile.querySelector('.tile-number');
      const sub = tile.querySelector('.tile-sub');
      if (tile.querySelector('.tile-label').textContent !== label) tile.querySelector('.tile-label').textContent = label;
      const text = c.current ? c.current.ticket : '—';
      if (num.textContent !== text) num.textContent = text;
      num.classList.toggle('none', !c.current);
      const subText = c.state === 'paused' ? L.t('Tạm dừng', 'Paused')
        : c.state === 'closed' ? L.t('Đóng', 'Closed')
          : (c.current ? serviceName(c.current.service) : L.t('Đang chờ gọi', 'Ready'));
      if (sub.textContent !== subText) sub.textContent = subText;
      tile.classList.toggle('paused', c.state === 'paused');
      tile.classList.toggle('closed', c.state === 'closed');
      tile.classList.toggle('flash', flashing('c' + c.number));
      return tile;
    });
    if (nodes.length === 0) {
      box.replaceChildren(L.el('div', { class: 'recent-empty', text: L.t('Chưa có quầy nào', 'No counters') }));
    } else if (nodes.length !== box.children.length || nodes.some((n, i) => box.children[i] !== n)) {
      box.replaceChildren(...nodes);
    }
  }

  function renderRecent() {
    const box = $('recent');
    if (model.recent.length === 0) {
      box.replaceChildren(L.el('li', { class: 'recent-empty', text: L.t('Chưa có lượt gọi nào hôm nay', 'No calls yet today') }));
      return;
    }
    box.replaceChildren(...model.recent.map((r) => L.el('li', { class: flashing(r.key) ? 'flash' : '', dataset: { ticket: r.ticket, counter: String(r.counter) } }, [
      L.el('span', { class: 'r-ticket', text: r.ticket }),
      L.el('span', { class: 'r-counter', text: '→ ' + counterLabel(r.counter) }),
    ])));
  }

  function renderStrip() {
    const strip = $('calling');
    const text = $('calling-text');
    if (latestCall) {
      text.removeAttribute('data-vi');
      text.replaceChildren(
        L.t('Xin mời số ', 'Number '),
        L.el('span', { class: 'hl', text: latestCall.ticket }),
        L.t(' đến ', ' please go to '),
        L.el('span', { class: 'hl', text: counterLabel(latestCall.counter) }),
      );
    }
    strip.classList.toggle('flash', flashing('strip'));
  }

  function renderConn() {
    $('conn').classList.toggle('down', !connected);
    $('conn-dot').className = 'dot' + (connected ? '' : ' bad');
    $('conn-text').textContent = connected ? L.t('Trực tuyến', 'Live') : L.t('Mất kết nối — đang kết nối lại…', 'Connection lost — reconnecting…');
  }

  function render() {
    if (model.site && model.site.name) $('site-name').textContent = model.site.name;
    $('date').textContent = L.dateText();
    renderTiles();
    renderRecent();
    renderStrip();
    renderConn();
    renderChime();
  }

  // ---- start ------------------------------------------------------------------------------

  async function fetchState() {
    const res = await L.fetchState();
    if (res.ok && res.data) {
      loadState(res.data);
      render();
      return res.data;
    }
    return null;
  }

  async function start() {
    L.wireLangToggles();
    L.onLang(render);
    L.startClock($('clock'), false);
    const p = L.params.get('chime');
    let saved = null;
    try { saved = window.localStorage.getItem(CHIME_KEY); } catch (e) { saved = null; }
    chimeOn = p === '1' || (p !== '0' && saved === '1');
    $('chime').addEventListener('click', () => {
      chimeOn = !chimeOn;
      try { window.localStorage.setItem(CHIME_KEY, chimeOn ? '1' : '0'); } catch (e) { /* ignore */ }
      if (chimeOn) { ensureAudio(); chime(); }
      renderChime();
    });
    // Browsers start audio only after a gesture: any touch or key unlocks it.
    ['click', 'keydown', 'touchstart'].forEach((k) => document.addEventListener(k, () => { if (chimeOn) ensureAudio(); }, { passive: true }));
    window.addEventListener('resize', renderTiles);
    // Blinks end on time even when no event arrives.
    setInterval(() => { renderTiles(); renderRecent(); renderStrip(); }, 500);
    setInterval(() => { $('date').textContent = L.dateText(); }, 60000);
    render();

    // First the snapshot, then the stream from the snapshot's seq: nothing in between is lost.
    let snap = null;
    for (let attempt = 0; attempt < 5 && !snap; attempt += 1) {
      snap = await fetchState();
      if (!snap) {
        connected = false;
        renderConn();
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
    const after = L.lastSeq(snap);
    L.openStream({
      after,
      onEntry,
      onStatus: (up) => {
        const wasDown = !connected;
        connected = up;
        renderConn();
        if (up && wasDown) fetchState();
      },
    });
    // A periodic resync corrects anything missed (for example a day change).
    setInterval(fetchState, 60000);
  }

  start();
})();
