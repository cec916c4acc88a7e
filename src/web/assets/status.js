// layso status page: after admin sign-in, shows store health and alarms, devices, uplink
// and backlog, version and uptime, counters and queues; refreshed live.
'use strict';

(() => {
  const L = Layso;
  const $ = (id) => document.getElementById(id);
  const CRED = 'admin';
  let token = null;
  let state = null;
  let loadedAt = null;
  let streamStarted = false;

  function showLogin(errorText) {
    $('panel').hidden = true;
    $('logout').hidden = true;
    $('login-form').hidden = false;
    $('login-error').hidden = !errorText;
    $('login-error').textContent = errorText || '';
    $('credential').value = '';
    $('credential').focus();
  }

  async function signIn(candidate) {
    $('login-submit').disabled = true;
    const res = await L.api('GET', '/api/v1/admin/whoami', { token: candidate });
    $('login-submit').disabled = false;
    if (!res.ok) {
      L.creds.clear(CRED);
      if (res.status === 401 || res.status === 403) {
        showLogin(L.t('Mã quản trị không đúng. Trang trạng thái chỉ dành cho quản trị viên.', 'Wrong admin credential. The status page is for administrators only.'));
      } else {
        showLogin(L.errorText(res));
      }
      return;
    }
    token = candidate;
    L.creds.set(CRED, candidate);
    $('login-form').hidden = true;
    $('panel').hidden = false;
    $('logout').hidden = false;
    await refresh();
    if (!streamStarted) {
      streamStarted = true;
      const after = state && state.store && typeof state.store.last_seq === 'number' ? state.store.last_seq : undefined;
      L.openStream({ after, onEntry: () => refreshSoon() });
    }
  }

  function fmtTime(ms) {
    if (typeof ms !== 'number') return '—';
    const d = new Date(ms);
    return L.pad2(d.getDate()) + '/' + L.pad2(d.getMonth() + 1) + ' ' + L.clockTextSeconds(ms);
  }
  function yesNo(b, goodWhenTrue) {
    const good = goodWhenTrue ? b : !b;
    return L.el('span', { class: good ? 'good' : 'badv', text: b ? L.t('Có', 'Yes') : L.t('Không', 'No') });
  }
  function kv(box, rows) {
    const nodes = [];
    rows.forEach(([k, v]) => {
      nodes.push(L.el('dt', { text: k }));
      nodes.push(L.el('dd', {}, [typeof v === 'string' || typeof v === 'number' ? String(v) : (v || '—')]));
    });
    box.replaceChildren(...nodes);
  }
  function table(box, head, rows) {
    box.replaceChildren(
      L.el('thead', {}, [L.el('tr', {}, head.map((h) => L.el('th', { text: h })))]),
      L.el('tbody', {}, rows.map((r) => L.el('tr', {}, r.map((c) => L.el('td', {}, [c === null || c === undefined ? '—' : (typeof c === 'object' ? c : String(c))]))))),
    );
  }
  function stateSpan(s) {
    const cls = s === 'ok' || s === 'open' ? 'good' : (L.printerTrouble(s) || s === 'closed' ? 'badv' : 'warnv');
    const counterStates = { open: ['Đang mở', 'Open'], paused: ['Tạm dừng', 'Paused'], closed: ['Đóng', 'Closed'] };
    const text = counterStates[s] ? L.t(counterStates[s][0], counterStates[s][1]) : L.printerStateText(s);
    return L.el('span', { class: cls, text });
  }

  function render() {
    if (!state) return;
    const s = state;
    $('site-name').textContent = s.site ? [s.site.name, s.site.province].filter(Boolean).join(' · ') : '';
    kv($('system'), [
      [L.t('Phiên bản', 'Version'), s.version || '—'],
      [L.t('Cơ sở', 'Site'), s.site ? (s.site.id || '') + (s.site.name ? ' — ' + s.site.name : '') : '—'],
      [L.t('Ngày làm việc', 'Business day'), s.day || '—'],
      [L.t('Đã chạy', 'Uptime'), typeof s.started_at === 'number' ? L.uptimeText(L.now() - s.started_at) : '—'],
      [L.t('Khởi động lúc', 'Started at'), fmtTime(s.started_at)],
      [L.t('Đồng hồ đã đồng bộ', 'Clock synchronized'), yesNo(!!s.clock_ok, true)],
    ]);
    const st = s.store || {};
    kv($('store'), [
      [L.t('Tình trạng', 'Health'), L.el('span', { class: st.ok ? 'good' : 'badv', text: st.ok ? L.t('Tốt', 'Healthy') : L.t('Có sự cố', 'Trouble') })],
      [L.t('Đường dẫn', 'Path'), st.path || '—'],
      [L.t('Số thứ tự bản ghi cuối', 'Last record seq'), typeof st.last_seq === 'number' ? st.last_seq : '—'],
      [L.t('Chưa gửi lên tỉnh', 'Not yet sent'), typeof st.unpublished === 'number' ? st.unpublished : '—'],
    ]);
    const alarms = Array.isArray(st.alarms) ? st.alarms : [];
    $('alarms').replaceChildren(...(alarms.length > 0
      ? alarms.map((a) => L.el('li', { text: typeof a === 'string' ? a : JSON.stringify(a) }))
      : [L.el('li', { class: 'none', text: L.t('Không có cảnh báo', 'No alarms') })]));
    const devs = Array.isArray(s.devices) ? s.devices : [];
    table($('devices'), [L.t('Thiết bị', 'Device'), L.t('Trạng thái', 'State'), L.t('Chi tiết', 'Detail'), L.t('Từ lúc', 'Since')],
      devs.length > 0 ? devs.map((d) => [d.device, stateSpan(d.state), d.detail || '', fmtTime(d.since)])
        : [[L.t('Không có thiết bị', 'No devices'), '', '', '']]);
    if (s.uplink && typeof s.uplink === 'object') {
      kv($('uplink'), Object.keys(s.uplink).map((k) => {
        const v = s.uplink[k];
        let shown;
        if (typeof v === 'boolean') shown = yesNo(v, true);
        else if (typeof v === 'number' && /(_at|since|time)$/.test(k) && v > 1e12) shown = fmtTime(v);
        else if (v === null || v === undefined) shown = '—';
        else shown = typeof v === 'object' ? JSON.stringify(v) : String(v);
        return [k, shown];
      }));
    } else {
      kv($('uplink'), [[L.t('Trạng thái', 'State'), L.t('Không cấu hình', 'Not configured')]]);
    }
    table($('counters'), [L.t('Quầy', 'Counter'), L.t('Trạng thái', 'State'), L.t('Đang phục vụ', 'Serving'), L.t('Đã phục vụ hôm nay', 'Served today')],
      (s.counters || []).map((c) => [c.name || String(c.number), stateSpan(c.state), c.current ? c.current.ticket : '—', typeof c.served_today === 'number' ? c.served_today : '—']));
    table($('services'), [L.t('Dịch vụ', 'Service'), L.t('Đang chờ', 'Waiting'), L.t('Ưu tiên', 'Priority')],
      (s.services || []).map((v) => [(v.prefix || v.id) + ' · ' + L.serviceName(v), v.waiting || 0, v.waiting_priority || 0]));
    $('updated').textContent = loadedAt ? L.t('Cập nhật ', 'Updated ') + L.clockTextSeconds(loadedAt) : '';
  }

  async function refresh() {
    const res = await L.api('GET', '/api/v1/state', { token });
    if (res.ok && res.data) {
      state = res.data;
      L.noteServerNow(state.now);
      loadedAt = L.now();
      $('load-error').hidden = true;
      render();
    } else {
      $('load-error').hidden = false;
      $('load-error').textContent = L.t('Không tải được trạng thái: ', 'Could not load the status: ') + L.errorText(res);
    }
  }
  const refreshSoon = L.debounce(refresh, 500);

  function start() {
    L.wireLangToggles();
    L.onLang(render);
    L.startClock($('clock'), false);
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const v = $('credential').value.trim();
      if (!v) { showLogin(L.t('Vui lòng nhập mã quản trị', 'Please enter the admin credential')); return; }
      signIn(v);
    });
    $('logout').addEventListener('click', () => { token = null; L.creds.clear(CRED); showLogin(''); });
    setInterval(() => { if (token) refresh(); }, 10000);
    const saved = L.creds.get(CRED);
    if (saved) signIn(saved); else showLogin('');
  }

  start();
})();
