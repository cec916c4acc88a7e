// layso daily report page (/report): the head of the center signs in with the admin
// credential (or their counter's), picks a day, reads, prints, or downloads the CSV.
'use strict';

(() => {
  const L = Layso;
  const $ = (id) => document.getElementById(id);
  const credKey = 'report';
  let token = L.creds.get(credKey);

  // The site's day, not the browser's: a head's laptop left on UTC still opens today's report.
  function todayLocal() { return L.siteDay(); }
  function dur(s) {
    if (s === null || s === undefined) return '—';
    return Math.floor(s / 60) + ':' + L.pad2(s % 60);
  }
  function pct(x) { return (Math.round(x * 1000) / 10).toLocaleString('vi-VN') + ' %'; }

  function table(id, head, rows) {
    const t = $(id);
    t.textContent = '';
    t.appendChild(L.el('thead', null, [L.el('tr', null, head.map((h) => L.el('th', { text: h })))]));
    t.appendChild(L.el('tbody', null, rows.map((r) => L.el('tr', null, r.map((c) => L.el('td', { text: String(c) }))))));
  }

  const HEAD = ['', 'Số đã cấp', 'Đã gọi', 'Đã phục vụ', 'Vắng mặt', 'Chờ (trung vị)', 'Chờ (P90)', 'Phục vụ (trung vị)', 'Phục vụ (P90)', 'Lượt đánh giá', 'Chưa hài lòng'];
  function row(label, f) {
    const unsat = f.ratings.levels.find((l) => l.level === 'unsatisfied');
    return [label, f.issued, f.called, f.served, f.no_shows, dur(f.waiting.median_s), dur(f.waiting.p90_s),
      dur(f.service.median_s), dur(f.service.p90_s), f.ratings.total, unsat ? unsat.count : 0];
  }

  function render(data) {
    const r = data.report;
    const n = data.names || {};
    const name = (group, k) => (n[group] && n[group][k]) || k;
    $('site-name').textContent = data.site.name;
    $('print-title').textContent = 'Báo cáo ngày ' + r.day + ' — ' + data.site.name;
    table('total', HEAD, [row('Cả ngày ' + r.day, r.total)]);
    table('ratings', ['Mức độ', 'Số lượt', 'Tỷ lệ'], r.total.ratings.levels.map((l) => [l.label_vi, l.count, pct(l.share)]));
    const reasons = Object.keys(r.total.ratings.reasons);
    table('reasons', ['Lý do', 'Số lượt'], reasons.length ? reasons.map((k) => [name('reasons', k), r.total.ratings.reasons[k]]) : [['Không có', '']]);
    table('services', HEAD, Object.keys(r.services).map((k) => row(k + ' — ' + name('services', k), r.services[k])));
    table('counters', HEAD, Object.keys(r.counters).map((k) => row(name('counters', k), r.counters[k])));
    table('officers', HEAD, Object.keys(r.officers).map((k) => row(name('officers', k), r.officers[k])));
  }

  async function load() {
    const day = $('day').value || todayLocal();
    const res = await L.api('GET', '/api/v1/reports/day?day=' + encodeURIComponent(day), { token, timeoutMs: 20000 });
    if (res.status === 401 || res.status === 403) { L.creds.clear(credKey); token = null; showLogin(L.errorText(res)); return; }
    $('load-error').hidden = res.ok;
    if (!res.ok) { $('load-error').textContent = L.errorText(res); return; }
    $('login-form').hidden = true;
    $('panel').hidden = false;
    $('logout').hidden = false;
    render(res.data);
  }

  function showLogin(err) {
    $('panel').hidden = true;
    $('login-form').hidden = false;
    $('login-error').hidden = !err;
    $('login-error').textContent = err || '';
  }

  async function downloadCsv() {
    const day = $('day').value || todayLocal();
    try {
      const r = await fetch('/api/v1/reports/day.csv?day=' + encodeURIComponent(day), { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
      if (!r.ok) { $('load-error').hidden = false; $('load-error').textContent = 'HTTP ' + r.status; return; }
      const blob = await r.blob();
      const a = L.el('a', { href: URL.createObjectURL(blob), download: 'bao-cao-' + day + '.csv' });
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (e) {
      $('load-error').hidden = false;
      $('load-error').textContent = 'Không kết nối được máy chủ';
    }
  }

  $('day').addEventListener('change', () => { if (token) load(); });
  $('print').addEventListener('click', () => window.print());
  $('csv').addEventListener('click', downloadCsv);
  $('logout').addEventListener('click', () => { L.creds.clear(credKey); token = null; showLogin(''); });
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('credential').value.trim();
    L.creds.set(credKey, token);
    load();
  });
  L.fetchState({ timeoutMs: 5000 }).catch(() => {}).then(() => {
    if (!$('day').value) $('day').value = L.params.get('day') || todayLocal();
    if (token) load(); else showLogin('');
  });
})();
