// metersync's operations page: reads /v1/operations every 2 s. Data reaches the document only
// as text (textContent, text nodes, attribute values set through the DOM): never as HTML.
'use strict';

(() => {
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

  const time = (iso) => (iso ? iso.replace('T', ' ').replace('Z', ' UTC') : '—');
  const count = (n) => (n === null || n === undefined ? '?' : String(n));
  const main = document.getElementById('main');
  const NS = 'http://www.w3.org/2000/svg';

  // What each state means, as docs/operating.md says it (the page shows the word readiness uses).
  const MEANING = {
    starting: 'connecting, or waiting for partitions',
    running: 'progressing, or caught up',
    failing: 'the last attempt failed; retrying after a back-off',
    stalled: 'work waiting and no progress for http.stall_after_ms',
    failed: 'stopped after an error; restarts after a back-off',
    unavailable: "the endpoint's circuit breaker is open; probing with back-off",
    stopped: 'shut down',
    connector_down: "the source's Kafka Connect connector is not running",
  };

  // One series over the window, newest at the right; `values` pairs [ms, value].
  function chart(values, endMs, windowMs, kind, caption) {
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', `rate ${kind}`);
    svg.setAttribute('viewBox', '0 0 300 48');
    svg.setAttribute('preserveAspectRatio', 'none');
    const known = values.filter(([, v]) => v !== null);
    const top = Math.max(1, ...known.map(([, v]) => v));
    const title = document.createElementNS(NS, 'title');
    title.textContent = `${caption}, last ${windowMs / 60000} minutes (peak ${top.toFixed(1)})`;
    const line = document.createElementNS(NS, 'polyline');
    line.setAttribute('points', known.map(([ms, v]) =>
      `${(300 - ((endMs - ms) / windowMs) * 300).toFixed(1)},${(46 - (v / top) * 44).toFixed(1)}`).join(' '));
    svg.append(title, line);
    return el('figure', { 'data-chart': kind }, svg, el('figcaption', {}, `${caption} (peak ${top.toFixed(1)})`));
  }

  function destination(d, view) {
    const last = d.history.length ? d.history[d.history.length - 1] : null;
    const row = (label, cls, text) => [el('dt', {}, label), el('dd', { class: cls }, text)];
    const endMs = view.generated_at_ms;
    const windowMs = view.window_seconds * 1000;
    return el('div', { class: 'destination', 'data-destination': d.destination, 'data-state': d.state },
      el('h3', {}, d.destination,
        el('span', { class: `state state-${d.state}${d.ready ? '' : ' not-ready'}`, title: MEANING[d.state] || '' }, d.state)),
      d.ready ? null : el('div', { class: 'reason' }, `${d.reason} (since ${time(d.since)})`),
      d.last_error ? el('div', { class: 'error' }, `last error: ${d.last_error}`) : null,
      el('dl', {},
        ...row('lag (records)', 'lag', count(d.lag)),
        ...row('records/s', 'rate', last ? last[1].toFixed(1) : '—'),
        ...row('dead letters', 'dead-letters', String(d.dead_letters))),
      el('div', { class: 'charts' },
        chart(d.history.map(([ms, rate]) => [ms, rate]), endMs, windowMs, 'throughput', 'records/s'),
        chart(d.history.map(([ms, , lag]) => [ms, lag]), endMs, windowMs, 'lag', 'lag, records')));
  }

  function card(source, view) {
    return el('section', { class: 'card', 'data-source': source.source },
      el('h2', {}, source.source),
      ...source.destinations.map((d) => destination(d, view)));
  }

  function deadLetterRow(l) {
    return el('tr', { class: 'dead-letter', 'data-source': l.source, 'data-destination': l.destination, 'data-stage': l.stage,
      'data-topic': l.topic, 'data-partition': l.partition, 'data-offset': l.offset },
      el('td', { class: 'time' }, time(l.at)),
      el('td', {}, l.source),
      el('td', {}, l.destination),
      el('td', { class: 'stage' }, l.stage),
      el('td', { class: 'reason' }, l.reason),
      el('td', { class: 'original' }, `${l.topic} / ${l.partition} / ${l.offset}`),
      el('td', { class: 'records' }, String(l.records)));
  }

  function replayText(run) {
    if (!run || run.state === 'idle') return 'not run since the start';
    const what = `${run.delivered} batch(es) delivered, ${run.skipped} passed over`;
    if (run.state === 'running') return `running since ${time(run.started_at)}: ${what}`;
    return `${run.complete && !run.error ? 'done' : 'stopped'} at ${time(run.finished_at)}: ${what}${run.error ? `; ${run.error}` : ''}`;
  }

  async function operationsPage() {
    const token = el('input', { type: 'password', name: 'replay_token', autocomplete: 'off', size: 24 });
    const message = el('p', { class: 'notice', id: 'replay-message' });
    const why = el('p', { class: 'notice', id: 'replay-off' });
    const buttons = el('div', { class: 'toolbar' });
    const replay = el('section', { class: 'replay card' },
      el('h2', {}, 'Replay endpoint dead letters'),
      el('p', { class: 'notice' }, 'Posts a source\'s endpoint dead-letter batches again, oldest first, as `metersync replay` does.'),
      why, el('form', { class: 'toolbar', id: 'replay-form' }, el('label', {}, 'replay token', token)), buttons, message);
    const cards = el('div', { class: 'cards' });
    const letters = el('tbody');
    const lettersNote = el('p', { class: 'notice', id: 'dead-letters-note' });
    main.replaceChildren(el('h1', {}, 'Pipelines'), cards, replay,
      el('h2', {}, 'Dead letters'), lettersNote,
      el('div', { class: 'table-wrap' }, el('table', { class: 'dead-letters' }, el('thead', {}, el('tr', {},
        el('th', {}, 'at'), el('th', {}, 'source'), el('th', {}, 'destination'), el('th', {}, 'stage'),
        el('th', {}, 'reason'), el('th', {}, 'topic / partition / offset'), el('th', {}, 'records'))), letters)));
    document.getElementById('replay-form').addEventListener('submit', (ev) => ev.preventDefault());

    let enabled = false;
    const replayButtons = new Map();
    async function startReplay(source) {
      message.classList.remove('error');
      message.textContent = `asking to replay ${source}…`;
      const res = await fetch('/v1/replay', {
        method: 'POST', credentials: 'omit', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ source, token: token.value }),
      });
      const body = await res.json().catch(() => ({}));
      message.textContent = res.ok ? `replay of ${source} started` : `refused (HTTP ${res.status}): ${body.error || ''}`;
      message.classList.toggle('error', !res.ok);
      refresh().catch(() => {});
    }

    async function refresh() {
      const res = await fetch('/v1/operations', { headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`/v1/operations: HTTP ${res.status}`);
      const view = await res.json();
      document.getElementById('updated').textContent = `updated ${time(view.generated_at)}`;
      cards.replaceChildren(...view.sources.map((s) => card(s, view)));
      enabled = view.replay.enabled;
      why.textContent = enabled ? '' : `Replay is off: ${view.replay.why_not}`;
      why.classList.toggle('error', !enabled);
      token.disabled = !enabled;
      for (const s of view.sources.filter((x) => x.replay.available)) {
        if (!replayButtons.has(s.source)) {
          const button = el('button', { type: 'button', class: 'replay', 'data-source': s.source }, `Replay ${s.source}`);
          const status = el('span', { class: 'notice replay-status', 'data-source': s.source });
          button.addEventListener('click', () => startReplay(s.source).catch((e) => { message.textContent = String(e); }));
          buttons.append(el('div', {}, button, ' ', status));
          replayButtons.set(s.source, { button, status });
        }
        const { button, status } = replayButtons.get(s.source);
        button.disabled = !enabled || s.replay.state === 'running';
        status.textContent = replayText(s.replay);
        status.dataset.state = s.replay.state;
      }
      lettersNote.textContent = `The newest ${view.dead_letters.kept} kept in memory since the start, newest first; ` +
        'every one stays in its dead-letter topic.';
      letters.replaceChildren(...view.dead_letters.entries.map(deadLetterRow));
    }

    await refresh();
    setInterval(() => refresh().catch(() => {}), 2000);
  }

  if (document.body.dataset.page === 'operations') operationsPage();
})();
