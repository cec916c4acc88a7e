// layso status page, ratings part: every "Chưa hài lòng" rating of the day shows at
// once at the top of the page. A separate block so the status page stays its own.
'use strict';

(() => {
  const L = Layso;
  const box = L.el('section', { class: 'card ratings-alerts', id: 'ratings-alerts', hidden: true }, [
    L.el('h2', { text: 'Đánh giá chưa hài lòng hôm nay' }),
    L.el('ul', { id: 'ratings-alerts-list' }),
  ]);

  async function refresh() {
    if (!document.getElementById('ratings-alerts')) {
      const main = document.querySelector('main') || document.body;
      main.insertBefore(box, main.firstChild);
    }
    const res = await L.api('GET', '/api/v1/state');
    if (!res.ok || !res.data) return;
    const alerts = res.data.ratings_alerts || [];
    box.hidden = alerts.length === 0;
    const list = document.getElementById('ratings-alerts-list');
    list.textContent = '';
    alerts.forEach((x) => {
      list.appendChild(L.el('li', { class: 'ratings-alert', text: L.clockText(x.at) + ' — Quầy ' + x.counter + ', số ' + x.ticket + (x.officer ? ', cán bộ ' + x.officer : ', không có cán bộ') + (x.reasons.length ? ' — lý do: ' + x.reasons.join(', ') : '') + (x.dossier ? ' — hồ sơ ' + x.dossier : '') }));
    });
  }

  const soon = L.debounce(refresh, 200);
  L.openStream({ onEntry: (e) => { if (e.event && e.event.kind === 'rated') soon(); } });
  L.every(15000, refresh);
})();
