// layso counter page: staff sign in with the counter credential, call / recall / skip /
// transfer / complete tickets and pause or open the counter, from buttons or the keyboard.
'use strict';

(() => {
  const L = Layso;
  const $ = (id) => document.getElementById(id);

  const match = window.location.pathname.match(/\/counter\/(\d{1,4})\/?$/);
  const counterNo = match ? parseInt(match[1], 10) : (parseInt(L.params.get('n') || '', 10) || null);
  const credKey = 'counter.' + counterNo;

  let token = null;
  let counterName = '';
  let state = null;
  let busy = false;
  let streamStarted = false;
  let messageTimer = null;
  let gate = null; // the sign-in (L.signInGate), set by start()

  function myCounter() {
    if (!state || !Array.isArray(state.counters)) return null;
    return state.counters.find((c) => c.number === counterNo) || null;
  }

  function serviceById(id) {
    return (state && state.services || []).find((s) => s.id === id) || null;
  }

  // ---- sign-in ------------------------------------------------------------------------

  async function verify(candidate) {
    if (!counterNo) {
      return { ok: false, text: L.t('Địa chỉ trang phải có số quầy, ví dụ /counter/1', 'The address must name a counter, e.g. /counter/1') };
    }
    const res = await L.api('GET', '/api/v1/counters/' + counterNo + '/whoami', { token: candidate });
    if (res.ok) return { ok: true, name: (res.data && res.data.name) || '' };
    if (res.status === 401 || res.status === 403) {
      return { ok: false, text: L.t('Mã đăng nhập không đúng cho quầy ' + counterNo + '. Vui lòng kiểm tra lại.', 'Wrong credential for counter ' + counterNo + '. Please check it and try again.') };
    }
    if (res.status === 404) {
      return { ok: false, text: L.t('Không có quầy số ' + counterNo + ' trong cấu hình.', 'There is no counter ' + counterNo + ' in the configuration.') };
    }
    return { ok: false, text: L.errorText(res) };
  }

  async function onSignedIn(candidate, verdict) {
    token = candidate;
    counterName = verdict.name;
    await refresh();
    if (!streamStarted) {
      streamStarted = true;
      const after = L.lastSeq(state);
      L.openStream({ after, onEntry: () => refreshSoon(), onStatus: (up) => { $('conn').hidden = up; } });
    }
  }

  // ---- rendering ----------------------------------------------------------------------

  function renderTitle() {
    const name = counterName || (myCounter() && myCounter().name) || (L.t('Quầy ', 'Counter ') + (counterNo || '?'));
    $('counter-title').textContent = name;
    document.title = name + ' — layso';
    if (state && state.site) $('site-name').textContent = state.site.name || '';
  }

  function renderCurrent() {
    const c = myCounter();
    const cur = c && c.current;
    const ticketEl = $('current-ticket');
    if (cur) {
      ticketEl.textContent = cur.ticket;
      ticketEl.classList.remove('none');
      const svc = serviceById(cur.service);
      $('current-service').classList.remove('none');
      $('current-service').textContent = (svc ? L.serviceName(svc) : cur.service) + (cur.recall > 0 ? L.t(' · gọi lại ', ' · recalled ') + cur.recall : '');
    } else {
      ticketEl.textContent = '—';
      ticketEl.classList.add('none');
      $('current-service').classList.add('none');
      $('current-service').textContent = L.t('Chưa gọi khách nào', 'No citizen called');
    }
    renderTimer();
    const st = c ? c.state : 'closed';
    const badge = $('counter-state');
    badge.className = 'badge ' + st;
    badge.textContent = st === 'open' ? L.t('Đang mở', 'Open') : st === 'paused' ? L.t('Tạm dừng', 'Paused') : L.t('Đóng', 'Closed');
    const label = $('pause-label');
    if (st === 'open') { label.dataset.vi = 'Tạm dừng'; label.dataset.en = 'Pause'; } else { label.dataset.vi = 'Mở quầy'; label.dataset.en = 'Open'; }
    label.textContent = L.t(label.dataset.vi, label.dataset.en);
    $('btn-recall').disabled = busy || !cur;
    $('btn-skip').disabled = busy || !cur;
    $('btn-transfer').disabled = busy || !cur;
    $('btn-complete').disabled = busy || !cur;
    $('btn-next').disabled = busy;
    $('btn-pause').disabled = busy;
  }

  function renderTimer() {
    const c = myCounter();
    const cur = c && c.current;
    $('current-timer').textContent = cur && typeof cur.called_at === 'number'
      ? L.t('Thời gian phục vụ: ', 'Serving for: ') + L.durationText(L.now() - cur.called_at)
      : '';
  }

  function renderWaiting() {
    const c = myCounter();
    const mine = new Set(c && Array.isArray(c.services) ? c.services : []);
    const rows = (state && state.services || []).slice().sort((a, b) => (mine.has(b.id) ? 1 : 0) - (mine.has(a.id) ? 1 : 0)).map((s) => {
      const pri = s.waiting_priority > 0 ? L.t('ưu tiên ', 'priority ') + s.waiting_priority : '';
      return L.el('tr', { class: mine.has(s.id) ? 'mine' : 'other', dataset: { service: s.id } }, [
        L.el('td', { text: (s.prefix || s.id) + ' · ' + L.serviceName(s) }),
        L.el('td', { class: 'p', text: pri }),
        L.el('td', { class: 'n', text: String(s.waiting || 0) }),
      ]);
    });
    $('waiting').replaceChildren(...rows);
  }

  function renderPrinter() {
    const dev = L.printerDevice(state);
    const el = $('printer-state');
    el.textContent = L.deviceText(dev, state);
    el.parentElement.classList.toggle('bad', !!(dev && L.printerTrouble(dev.state)));
  }

  function render() {
    renderTitle();
    $('store-banner').hidden = !(state && state.store && state.store.writable === false);
    if (!token) return;
    renderCurrent();
    renderWaiting();
    renderPrinter();
  }

  function showMessage(kind, text, ms) {
    const m = $('message');
    m.className = 'msg ' + kind;
    m.textContent = text;
    m.hidden = false;
    clearTimeout(messageTimer);
    if (ms) messageTimer = setTimeout(() => { m.hidden = true; }, ms);
  }
  function clearMessage() { $('message').hidden = true; }

  async function refresh() {
    const res = await L.fetchState();
    if (res.ok && res.data) {
      state = res.data;
      $('conn').hidden = true;
      render();
    } else {
      $('conn').hidden = false;
    }
  }
  const refreshSoon = L.debounce(refresh, 250);

  // ---- actions --------------------------------------------------------------------------

  async function act(action, body) {
    if (busy || !token) return;
    busy = true;
    renderCurrent();
    const res = await L.api('POST', '/api/v1/counters/' + counterNo + '/' + action, { token, body });
    busy = false;
    if (res.ok) {
      clearMessage();
      if (state && res.data && 'current' in res.data) {
        const c = myCounter();
        if (c) c.current = res.data.current;
      }
      render();
      refresh();
      return;
    }
    renderCurrent();
    const code = res.data && res.data.error;
    if (code === 'empty_queue') {
      showMessage('calm', (res.data && (L.lang() === 'en' ? res.data.message_en : res.data.message_vi)) || L.t('Không có khách đang chờ', 'No one is waiting'));
    } else if (res.status === 401 || res.status === 403) {
      gate.signOut();
      gate.show(L.t('Phiên đăng nhập không còn hợp lệ. Vui lòng đăng nhập lại.', 'Your sign-in is no longer valid. Please sign in again.'));
    } else {
      showMessage('bad', L.errorText(res), 8000);
    }
    refresh();
  }

  function togglePause() {
    const c = myCounter();
    act(c && c.state === 'open' ? 'pause' : 'open');
  }

  function openPicker() {
    const c = myCounter();
    if (!c || !c.current) return;
    const list = $('picker-list');
    const options = (state.services || []).filter((s) => s.id !== c.current.service);
    list.replaceChildren(...options.map((s, i) => L.el('button', {
      type: 'button', class: 'btn', dataset: { service: s.id },
      onclick: () => { closePicker(); act('transfer', { service: s.id }); },
    }, [i < 9 ? L.el('kbd', { text: String(i + 1) }) : null, ' ' + (s.prefix || s.id) + ' · ' + L.serviceName(s)])));
    $('picker').hidden = false;
    const first = list.querySelector('button');
    if (first) first.focus();
  }
  function closePicker() { $('picker').hidden = true; }

  function onKey(e) {
    if (!token || e.ctrlKey || e.altKey || e.metaKey) return;
    const target = e.target;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return;
    const key = e.key.toLowerCase();
    if (!$('picker').hidden) {
      if (key === 'escape') { closePicker(); e.preventDefault(); return; }
      const n = parseInt(key, 10);
      if (n >= 1 && n <= 9) {
        const btn = $('picker-list').querySelectorAll('button')[n - 1];
        if (btn) { btn.click(); e.preventDefault(); }
      }
      return;
    }
    const btn = document.querySelector('.actions button[data-key="' + key + '"]');
    if (btn && !btn.disabled) { e.preventDefault(); btn.click(); }
  }

  function start() {
    L.wireLangToggles();
    L.onLang(render);
    L.startClock($('clock'), false);
    setInterval(renderTimer, 1000);
    $('btn-next').addEventListener('click', () => act('next'));
    $('btn-recall').addEventListener('click', () => act('recall'));
    $('btn-skip').addEventListener('click', () => act('skip'));
    $('btn-complete').addEventListener('click', () => act('complete'));
    $('btn-transfer').addEventListener('click', openPicker);
    $('btn-pause').addEventListener('click', togglePause);
    $('picker-cancel').addEventListener('click', closePicker);
    document.addEventListener('keydown', onKey);
    setInterval(() => { if (token) refresh(); }, 20000);
    renderTitle();
    gate = L.signInGate({
      credKey,
      panel: 'desk',
      form: {
        title: ['Đăng nhập quầy', 'Counter sign-in'],
        titleId: 'login-title',
        label: ['Mã đăng nhập của quầy', 'Counter credential'],
        credential: ['mã đăng nhập', 'the credential'],
      },
      verify,
      onSignedIn,
      onSignedOut: () => { token = null; },
      onShow: () => { $('login-title').textContent = L.t('Đăng nhập quầy ', 'Sign in to counter ') + (counterNo || '?'); },
    });
  }

  start();
})();
