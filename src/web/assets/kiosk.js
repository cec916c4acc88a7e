// layso kiosk page: one big button per service, a priority choice, the issued number shown
// large for several seconds, and a banner whenever the printer cannot print the ticket.
'use strict';

(() => {
  const L = Layso;
  const SHOW_TICKET_MS = 10000;
  const IDLE_RESET_MS = 60000;
  const $ = (id) => document.getElementById(id);

  let state = null;
  let printerState = null; // latest known: from the POST reply, a device_status event or the state
  let busy = false;
  let issuedTimer = null;
  let issuedTick = null;
  let errorTimer = null;
  let lastIssued = null;

  function columnsFor(n, wide) {
    if (n <= 1) return 1;
    if (n <= 3) return n;
    if (n === 4) return wide ? 4 : 2;
    if (n <= 6) return 3;
    return 4;
  }

  function renderServices() {
    const box = $('services');
    const services = (state && Array.isArray(state.services)) ? state.services : [];
    if (services.length === 0) {
      box.replaceChildren(L.el('div', {
        class: 'services-empty',
        text: state ? L.t('Chưa cấu hình dịch vụ nào', 'No services are configured') : L.t('Đang tải danh sách dịch vụ…', 'Loading services…'),
      }));
      return;
    }
    const wide = window.innerWidth / Math.max(1, window.innerHeight) > 2.1;
    box.style.setProperty('--cols', String(columnsFor(services.length, wide)));
    const existing = new Map();
    box.querySelectorAll('button.service').forEach((b) => existing.set(b.dataset.service, b));
    const nodes = services.map((svc, i) => {
      let b = existing.get(svc.id);
      if (!b) {
        b = L.el('button', { type: 'button', class: 'service c' + (i % 8), dataset: { service: svc.id } }, [
          L.el('span', { class: 'svc-prefix' }),
          L.el('span', { class: 'svc-name' }),
          L.el('span', { class: 'svc-wait' }),
        ]);
        b.addEventListener('click', () => issue(svc.id));
      }
      b.querySelector('.svc-prefix').textContent = svc.prefix || svc.id;
      b.querySelector('.svc-name').textContent = L.serviceName(svc);
      const waiting = typeof svc.waiting === 'number' ? svc.waiting : 0;
      b.querySelector('.svc-wait').textContent = L.t('Đang chờ: ', 'Waiting: ') + waiting;
      b.disabled = busy;
      return b;
    });
    box.replaceChildren(...nodes);
  }

  function renderPrinterBanner() {
    const trouble = L.printerTrouble(printerState);
    $('printer-banner').hidden = !trouble;
    // Citizens get the state in words; the technical detail is for staff (counter, status).
    $('printer-banner-detail').textContent = trouble
      ? L.t('Máy in: ', 'Printer: ') + L.printerStateText(printerState)
      : '';
  }

  function render() {
    if (state && state.site && state.site.name) $('site-name').textContent = state.site.name;
    renderServices();
    renderPrinterBanner();
    $('store-banner').hidden = !(state && state.store && state.store.writable === false);
    if (lastIssued && !$('issued').hidden) renderIssued();
  }

  async function refresh() {
    const res = await L.fetchState();
    if (res.ok && res.data) {
      state = res.data;
      const dev = L.printerDevice(state);
      if (dev) printerState = dev.state;
      $('conn-banner').hidden = true;
      render();
    } else {
      $('conn-banner').hidden = false;
    }
    return res.ok;
  }

  function setBusy(b) {
    busy = b;
    document.querySelectorAll('button.service').forEach((btn) => { btn.disabled = b; });
  }

  function showError(text) {
    const box = $('issue-error');
    box.textContent = text;
    box.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function renderIssued() {
    const tk = lastIssued.ticket;
    const svc = (state && state.services || []).find((s) => s.id === tk.service);
    $('issued-number').textContent = tk.ticket;
    $('issued-service').textContent = svc ? L.serviceName(svc) : tk.service;
    $('issued-priority').hidden = !tk.priority;
    const ahead = typeof tk.waiting_ahead === 'number' ? tk.waiting_ahead : null;
    $('issued-ahead').textContent = ahead === null ? ''
      : ahead === 0 ? L.t('Bạn là người tiếp theo', 'You are next')
        : L.t('Số người đang chờ trước bạn: ', 'People waiting before you: ') + ahead;
    const pstate = lastIssued.printer && lastIssued.printer.state;
    // The print queue was full: the number is valid but no paper came out.
    const notPrinted = !!(lastIssued.print && lastIssued.print.queued === false);
    $('issued-not-printed').hidden = !notPrinted;
    $('issued-printer').hidden = notPrinted || !L.printerTrouble(pstate);
    // Once, within minutes of issue, with the ticket's own single-use token.
    $('issued-reprint').hidden = !lastIssued.reprintToken || lastIssued.reprinted;
    const left = Math.max(0, Math.ceil((lastIssued.until - Date.now()) / 1000));
    $('issued-hint').textContent = L.t('Chạm để đóng · tự đóng sau ', 'Touch to close · closes in ') + left + ' s';
    L.applyLang($('issued'));
  }

  function hideIssued() {
    $('issued').hidden = true;
    clearTimeout(issuedTimer);
    clearInterval(issuedTick);
  }

  function showIssued(reply) {
    lastIssued = {
      ticket: reply.ticket,
      printer: reply.printer || null,
      print: reply.print || null,
      reprintToken: typeof reply.reprint_token === 'string' ? reply.reprint_token : null,
      reprinted: false,
      until: Date.now() + SHOW_TICKET_MS,
    };
    renderIssued();
    $('issued').hidden = false;
    clearTimeout(issuedTimer);
    clearInterval(issuedTick);
    issuedTick = setInterval(renderIssued, 1000);
    issuedTimer = setTimeout(hideIssued, SHOW_TICKET_MS);
  }

  async function issue(serviceId) {
    if (busy) return;
    setBusy(true);
    const priorityBtn = $('priority');
    const priority = priorityBtn.getAttribute('aria-pressed') === 'true';
    const res = await L.api('POST', '/api/v1/tickets', { body: { service: serviceId, priority } });
    setBusy(false);
    if (res.ok && res.data && res.data.ticket) {
      priorityBtn.setAttribute('aria-pressed', 'false');
      if (res.data.printer && typeof res.data.printer.state === 'string') {
        printerState = res.data.printer.state;
      }
      renderPrinterBanner();
      showIssued(res.data);
      refreshSoon();
    } else if (res.status === 429) {
      showError(L.t('Vui lòng chờ một chút rồi thử lại', 'Please wait a moment and try again'));
    } else {
      showError(L.t('Chưa lấy được số: ', 'Could not issue a number: ') + L.errorText(res));
      if (res.data && res.data.error === 'store_failed') refresh();
    }
  }

  async function reprint(e) {
    e.stopPropagation(); // the overlay closes on a touch; this button must not close it
    const issued = lastIssued;
    if (!issued || !issued.reprintToken || issued.reprinted) return;
    issued.reprinted = true;
    renderIssued();
    const res = await L.api('POST', '/api/v1/printer/reprint-last', { body: { token: issued.reprintToken } });
    if (!res.ok) {
      if (res.status === 503) issued.reprinted = false; // queue full: may try again
      showError(L.t('Chưa in lại được: ', 'Could not print again: ') + L.errorText(res));
      if (lastIssued === issued) renderIssued();
    }
  }

  const refreshSoon = L.debounce(refresh, 400);

  function onEntry(entry) {
    const ev = entry.event || {};
    if (ev.kind === 'device_status' && typeof ev.device === 'string' && ev.device.indexOf('printer') === 0) {
      printerState = ev.state;
      renderPrinterBanner();
    }
    refreshSoon();
  }

  function start() {
    L.wireLangToggles();
    L.onLang(render);
    L.startClock($('clock'), false);
    $('priority').addEventListener('click', (e) => {
      const b = e.currentTarget;
      b.setAttribute('aria-pressed', b.getAttribute('aria-pressed') === 'true' ? 'false' : 'true');
    });
    $('issued').addEventListener('click', hideIssued);
    $('issued-reprint').addEventListener('click', reprint);
    window.addEventListener('resize', renderServices);
    // A long press or right click must not open menus on a kiosk.
    document.addEventListener('contextmenu', (e) => e.preventDefault());
    // The next citizen finds the kiosk in Vietnamese again after a quiet minute.
    let idleTimer = null;
    const armIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        if (L.lang() !== 'vi') L.setLang('vi');
        $('priority').setAttribute('aria-pressed', 'false');
      }, IDLE_RESET_MS);
    };
    ['pointerdown', 'keydown'].forEach((k) => document.addEventListener(k, armIdle, { passive: true }));
    armIdle();
    refresh().then(() => {
      const after = L.lastSeq(state);
      L.openStream({ after, onEntry, onStatus: () => {} });
    });
    setInterval(refresh, 15000);
  }

  start();
})();
