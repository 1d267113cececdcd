// The endpoint service's pages. Data reaches the document only as text (textContent, text
// nodes, attribute values set through the DOM): never as HTML.
'use strict';

(() => {
  const OPS = ['create', 'update', 'delete', 'snapshot', 'truncate'];
  // Columns shown for a meter's first version, beside those a change set.
  const SUMMARY = ['serialNumber', 'meterType', 'status'];

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));  // strings become text nodes
    return node;
  }

  async function getJson(url) {
    const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.status === 401) {  // the cookie went away: the page itself now answers with the form
      location.reload();
      throw new Error('signed out');
    }
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return res.json();
  }

  const enc = encodeURIComponent;
  const time = (iso) => (iso ? iso.replace('T', ' ').replace('Z', ' UTC') : '—');
  const value = (v) => (v === null || v === undefined ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const meterIdOf = (event) => (event.meter && typeof event.meter === 'object' ? event.meter.sourceMeterId : null);
  const opBadge = (op) => el('span', { class: `op op-${OPS.includes(op) ? op : 'other'}` }, op);
  const main = document.getElementById('main');

  function showAccess(overview) {
    const access = document.getElementById('access');
    if (overview.read_token) {
      access.textContent = 'signed in with the read token';
      document.getElementById('logout').hidden = false;
    } else {
      access.textContent = 'open reads: this service runs without a read token, anyone who can connect sees these pages';
      access.classList.add('open');
    }
  }

  // A column as "name: value", marked when the change set it; `old` shows what it replaced.
  function column(name, newValue, changed, old) {
    return el('span', { class: changed ? 'col changed' : 'col', 'data-column': name },
      el('span', { class: 'name' }, `${name}: `),
      old === undefined ? null : el('span', { class: 'old' }, value(old)),
      el('span', { class: 'value' }, value(newValue)));
  }

  function changes(entry, previousMeter) {
    const meter = entry.event.meter;
    const box = el('div', { class: 'changes' });
    if (!meter || typeof meter !== 'object') {
      box.append(el('span', { class: 'notice' }, entry.event.op === 'truncate' ? 'every meter of the source' : 'no meter'));
      return box;
    }
    const changed = entry.changed || [];
    const names = entry.changed === null ? SUMMARY.filter((n) => n in meter) : changed;
    for (const name of names) {
      box.append(column(name, meter[name], entry.changed !== null,
        previousMeter && name in previousMeter ? previousMeter[name] : undefined));
    }
    if (entry.changed !== null && !changed.includes('serialNumber') && 'serialNumber' in meter) {
      box.append(column('serialNumber', meter.serialNumber, false));
    }
    if (entry.changed !== null && changed.length === 0) box.append(el('span', { class: 'notice' }, 'no column changed'));
    return box;
  }

  // ---- overview ---------------------------------------------------------------------------
  function chart(perWindow, seconds) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'rate');
    svg.setAttribute('viewBox', '0 0 300 48');
    svg.setAttribute('preserveAspectRatio', 'none');
    const rates = perWindow.map((n) => n / seconds);
    const top = Math.max(1, ...rates);
    const title = document.createElementNS(ns, 'title');
    title.textContent = `events/s per ${seconds} s over the last ${(perWindow.length * seconds) / 60} minutes (peak ${top.toFixed(1)})`;
    const line = document.createElementNS(ns, 'polyline');
    const step = 300 / Math.max(1, rates.length - 1);
    line.setAttribute('points', rates.map((r, i) => `${(i * step).toFixed(1)},${(46 - (r / top) * 44).toFixed(1)}`).join(' '));
    svg.append(title, line);
    return svg;
  }

  function card(source, overview) {
    const per = source.per_window;
    const recent = per.length > 1 ? per[per.length - 2] / source.window_seconds : 0;  // the last whole window
    const row = (label, cls, text) => [el('dt', {}, label), el('dd', { class: cls }, text)];
    return el('section', { class: 'card', 'data-source': source.source },
      el('h2', {}, el('a', { href: `/sources/${enc(source.source)}` }, source.source)),
      el('dl', {},
        ...row('events received', 'events', String(source.events)),
        ...row('last event', 'last', time(source.last_received_at)),
        ...row('events/s', 'rate', recent.toFixed(1)),
        ...row('duplicates refused', 'duplicates', String(source.duplicates)),
        ...row('signatures', 'signature', overview.signature === 'off' ? 'not checked' : `checked (${overview.signature})`),
        ...row('reads', 'auth', overview.read_token ? 'read token' : 'open, no token')),
      chart(per, source.window_seconds));
  }

  async function overviewPage() {
    const cards = el('div', { class: 'cards' });
    main.replaceChildren(el('h1', {}, 'Sources'), cards);
    const refresh = async () => {
      const overview = await getJson('/v1/overview');
      showAccess(overview);
      cards.replaceChildren(...overview.sources.map((s) => card(s, overview)));
    };
    await refresh();
    setInterval(() => refresh().catch(() => {}), 2000);
  }

  // ---- one source -------------------------------------------------------------------------
  function eventRow(source, entry) {
    const id = meterIdOf(entry.event);
    return el('tr', { class: 'change', 'data-cursor': entry.cursor, 'data-op': entry.event.op, 'data-meter': id },
      el('td', { class: 'time received' }, time(entry.received_at)),
      el('td', { class: 'time committed hide-narrow' }, time(entry.event.committed_at)),
      el('td', {}, opBadge(entry.event.op)),
      el('td', { class: 'meter' }, id === null ? '—' : el('a', { href: `/sources/${enc(source)}/meters/${enc(id)}` }, id)),
      el('td', {}, changes(entry)));
  }

  async function sourcePage(source) {
    getJson('/v1/overview').then(showAccess).catch(() => {});
    const meterInput = el('input', { name: 'meter_id', placeholder: 'any', size: 24 });
    const opSelect = el('select', { name: 'op' }, el('option', { value: '' }, 'any'), ...OPS.map((op) => el('option', { value: op }, op)));
    // The time range, in the browser's local time; the route takes UTC (from inclusive, to exclusive).
    const fromInput = el('input', { type: 'datetime-local', name: 'from', step: 1 });
    const toInput = el('input', { type: 'datetime-local', name: 'to', step: 1 });
    const pause = el('button', { type: 'button', id: 'pause' }, 'Pause');
    const status = el('span', { class: 'notice', id: 'live' }, '');
    const filter = el('form', { class: 'toolbar' },
      el('label', {}, 'meter id', meterInput), el('label', {}, 'op', opSelect),
      el('label', {}, 'received from', fromInput), el('label', {}, 'received before', toInput),
      el('button', { type: 'submit' }, 'Filter'), pause, status);
    const body = el('tbody');
    const older = el('button', { type: 'button', hidden: true }, 'Older changes');
    main.replaceChildren(el('h1', {}, `Changes from ${source}`), filter,
      el('div', { class: 'table-wrap' }, el('table', {}, el('thead', {}, el('tr', {},
        el('th', {}, 'received'), el('th', { class: 'hide-narrow' }, 'committed at source'), el('th', {}, 'op'),
        el('th', {}, 'meter'), el('th', {}, 'changes'))), body)), older);

    let shown = 0;        // newest cursor on the page
    let nextBefore = null;
    let paused = false;
    let waiting = 0;      // changes announced by the stream and not fetched yet
    const query = () => {
      const q = new URLSearchParams();
      if (opSelect.value) q.set('op', opSelect.value);
      if (meterInput.value.trim()) q.set('meter_id', meterInput.value.trim());
      if (fromInput.value) q.set('from', new Date(fromInput.value).toISOString());
      if (toInput.value) q.set('to', new Date(toInput.value).toISOString());
      return q;
    };
    const say = () => { status.textContent = paused ? `paused, ${waiting} new change(s) waiting` : 'live'; };

    async function load() {
      const q = query();
      q.set('limit', '100');
      const page = await getJson(`/v1/sources/${enc(source)}/events?${q}`);
      body.replaceChildren(...page.events.map((e) => eventRow(source, e)));
      shown = Number(page.last_cursor);
      nextBefore = page.next_before;
      older.hidden = !page.has_more;
    }
    older.addEventListener('click', async () => {
      const q = query();
      q.set('limit', '100');
      q.set('before', nextBefore);
      const page = await getJson(`/v1/sources/${enc(source)}/events?${q}`);
      body.append(...page.events.map((e) => eventRow(source, e)));
      nextBefore = page.next_before;
      older.hidden = !page.has_more;
    });

    // The stream says that changes arrived; the events route brings them with their received
    // time and changed columns, filtered as the page is.
    let latest = 0;
    let fetching = false;
    async function catchUp() {
      if (paused || fetching || latest <= shown) return;
      fetching = true;
      try {
        const q = query();
        q.set('before', String(latest + 1));
        q.set('limit', String(Math.min(1000, latest - shown)));
        const page = await getJson(`/v1/sources/${enc(source)}/events?${q}`);
        const fresh = page.events.filter((e) => Number(e.cursor) > shown);
        body.prepend(...fresh.map((e) => eventRow(source, e)));
        shown = latest;
        waiting = 0;
        while (body.children.length > 1000) body.lastElementChild.remove();
      } finally {
        fetching = false;
        say();
      }
      if (latest > shown) catchUp();
    }

    filter.addEventListener('submit', (ev) => { ev.preventDefault(); load().then(catchUp); });
    pause.addEventListener('click', () => {
      paused = !paused;
      pause.textContent = paused ? 'Resume' : 'Pause';
      say();
      if (!paused) catchUp();
    });
    await load();
    say();
    const stream = new EventSource(`/v1/sources/${enc(source)}/stream?after=${shown}`);
    stream.addEventListener('change', (ev) => {
      latest = Math.max(latest, Number(ev.lastEventId));
      waiting += 1;
      if (paused) say();
      else setTimeout(catchUp, 50);  // one fetch for the events of one batch
    });
  }

  // ---- one meter --------------------------------------------------------------------------
  async function meterPage(source, meterId) {
    getJson('/v1/overview').then(showAccess).catch(() => {});
    const state = el('div', { class: 'table-wrap' });
    const timeline = el('ol', { class: 'timeline' });
    main.replaceChildren(el('h1', {}, `Meter ${meterId} `, el('span', { class: 'notice' }, `at ${source}`)),
      el('h2', {}, 'Current state'), state, el('h2', {}, 'History'), timeline);

    async function render() {
      const current = await getJson(`/v1/sources/${enc(source)}/meters/${enc(meterId)}`);
      const rows = Object.entries(current.meter || {}).map(([name, v]) =>
        el('tr', { 'data-column': name }, el('th', {}, name), el('td', {}, value(v))));
      state.replaceChildren(el('table', { class: 'state', 'data-deleted': current.deleted }, el('tbody', {},
        el('tr', {}, el('th', {}, 'state'), el('td', { class: 'deleted' }, current.deleted ? 'deleted' : 'present')),
        el('tr', {}, el('th', {}, 'last change'), el('td', {}, opBadge(current.last_op), ` committed ${time(current.committed_at)}, received ${time(current.received_at)}`)),
        ...rows)));
      const entries = [];
      let after = '0';
      for (;;) {
        const page = await getJson(`/v1/sources/${enc(source)}/meters/${enc(meterId)}/history?after=${after}&limit=1000`);
        entries.push(...page.events);
        after = page.next_cursor;
        if (!page.has_more) break;
      }
      let previous = null;
      timeline.replaceChildren(...entries.map((entry) => {
        const item = el('li', { class: `step op-${entry.event.op}`, 'data-op': entry.event.op, 'data-cursor': entry.cursor },
          el('div', {}, opBadge(entry.event.op), ` committed ${time(entry.event.committed_at)} · received ${time(entry.received_at)}`),
          changes(entry, previous));
        previous = entry.event.meter;
        return item;
      }));
    }
    await render();
    const stream = new EventSource(`/v1/sources/${enc(source)}/stream`);
    stream.addEventListener('change', (ev) => {
      if (meterIdOf(JSON.parse(ev.data)) === meterId) render().catch(() => {});
    });
  }

  const page = document.body.dataset.page;
  const parts = location.pathname.split('/').slice(1).map(decodeURIComponent);
  if (page === 'overview') overviewPage();
  else if (page === 'source') sourcePage(parts[1]);
  else if (page === 'meter') meterPage(parts[1], parts[3]);
})();
