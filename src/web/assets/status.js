// layso status page: after admin sign-in, shows what needs attention and what to do, store
// health, devices, uplink and backlog in plain words, version and uptime, counters and queues;
// times in the site's zone; refreshed live (event stream plus a 10 s poll).
'use strict';

(() => {
  const L = Layso;
  const $ = (id) => document.getElementById(id);
  const CRED = 'admin';
  let token = null;
  let state = null;
  let loadedAt = null;
  let streamStarted = false;

  async function verify(candidate) {
    const res = await L.api('GET', '/api/v1/admin/whoami', { token: candidate });
    if (res.ok) return { ok: true };
    if (res.status === 401 || res.status === 403) {
      return { ok: false, text: L.t('Mã quản trị không đúng. Trang trạng thái chỉ dành cho quản trị viên.', 'Wrong admin credential. The status page is for administrators only.') };
    }
    return { ok: false, text: L.errorText(res) };
  }

  async function onSignedIn(candidate) {
    token = candidate;
    await refresh();
    if (!streamStarted) {
      streamStarted = true;
      const after = L.lastSeq(state);
      L.openStream({ after, onEntry: () => refreshSoon() });
    }
  }

  // Times in the site's zone (state.utc_offset_minutes, set on each refresh), dd/mm HH:MM.
  function fmtTime(ms) { return L.siteTime(ms); }
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
  function counterState(s) {
    const names = { open: ['Đang mở', 'Open'], paused: ['Tạm dừng', 'Paused'], closed: ['Đóng', 'Closed'] };
    const pair = names[s] || ['Không rõ', 'Unknown'];
    return L.el('span', { class: s === 'open' ? 'good' : (s === 'closed' ? 'badv' : 'warnv'), text: L.t(pair[0], pair[1]) });
  }
  function bytesText(b) {
    if (typeof b !== 'number') return '—';
    const mb = b / 1048576;
    return mb >= 1024 ? (mb / 1024).toFixed(1) + ' GB' : mb.toFixed(1) + ' MB';
  }
  function offsetText(min) {
    if (typeof min !== 'number') return '—';
    const a = Math.abs(min);
    return 'UTC' + (min < 0 ? '-' : '+') + L.pad2(Math.floor(a / 60)) + ':' + L.pad2(a % 60);
  }
  /** Words, then the technical text (OS error, status bytes) in small type for the technician. */
  function withTech(words, tech) {
    const parts = [L.el('span', { text: words || '—' })];
    if (tech) parts.push(L.el('span', { class: 'tech', text: tech }));
    return L.el('span', {}, parts);
  }
  function since(ms) {
    return typeof ms === 'number' && ms > 0 ? L.t(' từ ', ' since ') + fmtTime(ms) : '';
  }

  function renderProblems(health) {
    const list = (health && Array.isArray(health.problems)) ? health.problems : [];
    $('problems').replaceChildren(...(list.length > 0
      ? list.map((p) => L.el('li', { class: p.severity === 'fault' ? 'fault' : 'warning', dataset: { code: p.code || '' } }, [
        L.el('div', {}, [L.el('span', { class: 'what', text: L.pick(p, 'what') + since(p.since) }), L.el('span', { class: 'code', text: p.code || '' })]),
        L.el('div', { class: 'todo', text: L.t('Cần làm: ', 'To do: ') + L.pick(p, 'action') }),
        p.detail ? L.el('span', { class: 'tech', text: p.detail }) : null,
      ]))
      : [L.el('li', { class: 'none', text: L.t('Mọi thứ bình thường', 'Everything is working') })]));
  }

  function render() {
    if (!state) return;
    const s = state;
    L.setSiteOffset(s.utc_offset_minutes);
    $('site-name').textContent = s.site ? [s.site.name, s.site.province].filter(Boolean).join(' · ') : '';
    const problems = (s.health && Array.isArray(s.health.problems)) ? s.health.problems : [];
    renderProblems(s.health);
    kv($('system'), [
      [L.t('Phiên bản', 'Version'), s.version || '—'],
      [L.t('Cơ sở', 'Site'), s.site ? (s.site.id || '') + (s.site.name ? ' — ' + s.site.name : '') : '—'],
      [L.t('Ngày làm việc', 'Business day'), s.day || '—'],
      [L.t('Đã chạy', 'Running for'), typeof s.started_at === 'number' ? L.durationWords(L.now() - s.started_at) : '—'],
      [L.t('Khởi động lúc', 'Started at'), fmtTime(s.started_at)],
      [L.t('Múi giờ của trung tâm', 'Site time zone'), offsetText(s.utc_offset_minutes)],
      [L.t('Đồng hồ đã đồng bộ', 'Clock synchronized'), yesNo(!!s.clock_ok, true)],
    ]);
    const st = s.store || {};
    const storeProblems = problems.filter((p) => p.source === 'store');
    const storeRows = [
      [L.t('Tình trạng', 'Health'), L.el('span', { class: storeProblems.length === 0 ? 'good' : 'badv', text: storeProblems.length === 0 ? L.t('Tốt', 'Healthy') : L.t('Có sự cố', 'Trouble') })],
    ];
    if (typeof st.writable === 'boolean') storeRows.push([L.t('Ghi được', 'Writable'), yesNo(st.writable, true)]);
    storeRows.push(
      [L.t('Dung lượng', 'Size'), bytesText(st.size_bytes)],
      [L.t('Ổ đĩa còn trống', 'Free disk space'), bytesText(st.free_bytes)],
      [L.t('Số bản ghi', 'Records'), typeof st.last_seq === 'number' ? st.last_seq : '—'],
      [L.t('Thư mục', 'Folder'), st.path || '—'],
    );
    kv($('store'), storeRows);
    $('alarms').replaceChildren(...(storeProblems.length > 0
      ? storeProblems.map((p) => L.el('li', {}, [withTech(L.pick(p, 'what') + '. ' + L.pick(p, 'action'), p.detail)]))
      : [L.el('li', { class: 'none', text: L.t('Không có cảnh báo', 'No alarms') })]));
    const devs = Array.isArray(s.devices) ? s.devices : [];
    table($('devices'), [L.t('Thiết bị', 'Device'), L.t('Trạng thái', 'State'), L.t('Chi tiết', 'Detail'), L.t('Từ lúc', 'Since')],
      devs.length > 0 ? devs.map((d) => [
        L.pick(d, 'label') || L.t('Thiết bị', 'Device'),
        L.el('span', { class: d.ok === false ? 'badv' : 'good', text: L.pick(d, 'state') || L.t('Không rõ', 'Unknown') }),
        withTech(L.pick(d, 'detail'), d.detail_tech),
        fmtTime(d.since),
      ]) : [[L.t('Không có thiết bị', 'No devices'), '', '', '']]);
    const u = s.uplink_summary;
    if (u && typeof u === 'object') {
      const upProblem = problems.find((p) => p.source === 'uplink');
      kv($('uplink'), [
        [L.t('Trạng thái', 'State'), L.el('span', { class: u.connected ? 'good' : 'badv', text: L.pick(u, 'state') + since(u.since) })],
        [L.t('Máy chủ', 'Broker'), u.broker || '—'],
        [L.t('Mã hóa TLS', 'TLS encryption'), yesNo(!!u.tls, true)],
        [L.t('Chưa gửi', 'Waiting to be sent'), L.pick(u, 'backlog')],
        [L.t('Lỗi gần nhất', 'Last error'), upProblem ? withTech(L.pick(upProblem, 'what'), upProblem.detail) : L.t('Không có', 'None')],
      ]);
    } else {
      kv($('uplink'), [[L.t('Trạng thái', 'State'), L.t('Không cấu hình', 'Not configured')]]);
    }
    table($('counters'), [L.t('Quầy', 'Counter'), L.t('Trạng thái', 'State'), L.t('Đang phục vụ', 'Serving'), L.t('Đã phục vụ hôm nay', 'Served today')],
      (s.counters || []).map((c) => [c.name || String(c.number), counterState(c.state), c.current ? c.current.ticket : '—', typeof c.served_today === 'number' ? c.served_today : '—']));
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

  // The panel's cards: wide or not, id, heading [vi, en], then [tag, class, id] of each
  // thing the card holds (render fills them).
  const CARDS = [
    [true, 'health-card', ['Cần xử lý', 'Needs attention'], [['ul', 'problems', 'problems']]],
    [false, null, ['Hệ thống', 'System'], [['dl', 'kv', 'system']]],
    [false, null, ['Kho dữ liệu', 'Store'], [['dl', 'kv', 'store'], ['ul', 'alarms', 'alarms']]],
    [false, null, ['Thiết bị', 'Devices'], [['table', 's-table', 'devices']]],
    [false, null, ['Kết nối lên tỉnh', 'Uplink to the province'], [['dl', 'kv', 'uplink']]],
    [true, null, ['Quầy và hàng chờ', 'Counters and queues'], [['table', 's-table', 'counters'], ['table', 's-table', 'services']]],
  ];

  function buildCards() {
    $('cards').replaceChildren(...CARDS.map(([wide, id, heading, parts]) => L.el('div', { class: wide ? 'card s-card wide' : 'card s-card', id }, [
      L.el('h2', { 'data-vi': heading[0], 'data-en': heading[1] }),
      ...parts.map(([tag, cls, partId]) => L.el(tag, { class: cls, id: partId })),
    ])));
  }

  function start() {
    buildCards();
    L.wireLangToggles();
    L.onLang(render);
    L.startClock($('clock'), false);
    setInterval(() => { if (token) refresh(); }, 10000);
    L.signInGate({
      credKey: CRED,
      panel: 'panel',
      form: {
        title: ['Đăng nhập quản trị', 'Administrator sign-in'],
        label: ['Mã quản trị', 'Admin credential'],
        credential: ['mã quản trị', 'the admin credential'],
      },
      verify,
      onSignedIn,
      onSignedOut: () => { token = null; },
    });
  }

  start();
})();
