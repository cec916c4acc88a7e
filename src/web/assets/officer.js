// layso counter page, officers part: who is signed in at this counter (officer id + PIN),
// sign-out, and — on the head of the center's counter — unsatisfied ratings as they come.
// Kept apart from counter.js; it only reads the counter credential counter.js stored.
'use strict';

(() => {
  const L = Layso;
  const match = window.location.pathname.match(/\/counter\/(\d{1,4})\/?$/);
  const counterNo = match ? parseInt(match[1], 10) : null;
  if (!counterNo) return;
  const token = () => L.creds.get('counter.' + counterNo);

  const status = L.el('div', { id: 'officer-status', class: 'officer-status' });
  const form = L.el('form', { id: 'officer-form', class: 'officer-form', autocomplete: 'off' }, [
    L.el('input', { id: 'officer-id', placeholder: 'Mã cán bộ', required: true, autocomplete: 'off' }),
    L.el('input', { id: 'officer-pin', type: 'password', inputmode: 'numeric', placeholder: 'Mã PIN', required: true, autocomplete: 'off' }),
    L.el('button', { class: 'btn primary small', type: 'submit', id: 'officer-signin', text: 'Cán bộ đăng nhập' }),
  ]);
  const signout = L.el('button', { class: 'btn small', type: 'button', id: 'officer-signout', text: 'Cán bộ đăng xuất', hidden: true });
  const msg = L.el('div', { class: 'msg bad', id: 'officer-error', role: 'alert', hidden: true });
  const alerts = L.el('div', { class: 'card officer-alerts', id: 'head-alerts', hidden: true }, [
    L.el('h2', { text: 'Đánh giá chưa hài lòng' }),
    L.el('ul', { id: 'head-alerts-list' }),
  ]);
  const card = L.el('div', { class: 'card officer-card', id: 'officer-card' }, [
    L.el('h2', { text: 'Cán bộ tại quầy' }), status, form, signout, msg,
  ]);

  function mount() {
    const side = document.querySelector('.side');
    if (!side || document.getElementById('officer-card')) return;
    side.insertBefore(alerts, side.firstChild);
    side.insertBefore(card, side.firstChild);
  }

  async function refresh() {
    mount();
    const res = await L.api('GET', '/api/v1/state');
    if (!res.ok || !res.data) return;
    const me = (res.data.counters || []).find((c) => c.number === counterNo);
    const o = me && me.officer;
    status.textContent = o ? (o.name + ' (' + o.id + ')') : 'Chưa có cán bộ đăng nhập';
    form.hidden = !!o;
    signout.hidden = !o;
    const a = await L.api('GET', '/api/v1/ratings/alerts');
    if (a.ok && a.data && a.data.head_counter === counterNo) {
      alerts.hidden = false;
      const list = document.getElementById('head-alerts-list');
      list.textContent = '';
      (a.data.alerts || []).forEach((x) => {
        list.appendChild(L.el('li', { class: 'head-alert', text: L.clockText(x.at) + ' — Quầy ' + x.counter + ', số ' + x.ticket + (x.officer ? ', cán bộ ' + x.officer : '') + (x.reasons.length ? ' — ' + x.reasons.join(', ') : '') }));
      });
    }
  }

  function say(text) { msg.hidden = !text; msg.textContent = text || ''; }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { officer: document.getElementById('officer-id').value.trim(), pin: document.getElementById('officer-pin').value };
    const res = await L.api('POST', '/api/v1/counters/' + counterNo + '/signin', { token: token(), body });
    document.getElementById('officer-pin').value = '';
    say(res.ok ? '' : L.errorText(res));
    refresh();
  });
  signout.addEventListener('click', async () => {
    const res = await L.api('POST', '/api/v1/counters/' + counterNo + '/signout', { token: token() });
    say(res.ok ? '' : L.errorText(res));
    refresh();
  });

  // Polled rather than streamed: the counter page already holds one event stream, and
  // browsers allow only six connections per server.
  L.every(2000, refresh);
})();
