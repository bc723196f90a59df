// The live adherence board: one row per agent, kept current by the server's event stream.
//
// Rows arrive as a `snapshot` (all of them) then `rows` events (those that changed). Changes
// are coalesced into one render per animation frame; only the rows in view exist in the DOM
// (fixed row height, a spacer for the rest), so thousands of agents stay smooth. Times in
// state tick here, every second, from the rows' `since` instants and the server's clock.

import {
  CATEGORIES,
  IMPACTS,
  STATES,
  api,
  categoryClass,
  escapeHtml,
  formatDuration,
  impactChip,
  impactClass,
  nav,
  problemText,
  session,
  stateChip,
  stateClass,
  stateLabel,
} from '/static/common.js';

const STREAM = '/api/v1/adherence/stream';
const ROW_HEIGHT = 40; // px, as in board.css
const OVERSCAN = 6; // rows rendered beyond each edge of the view
const RETRY_MS = 2000; // after the browser gave up on the stream (an HTTP error)
const NAMES_REFRESH_MS = 30000; // at most this often, when a row names an unknown team or unit

const rows = new Map(); // agent id → its latest row
const units = new Map(); // unit id → {id, name, time_zone, settings}
const teams = new Map(); // team id → {id, name, management_unit_id}
const codes = new Map(); // unit id → Map(code id → activity code)
const painted = new Map(); // agent id → its row element, while in view
const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

let shown = []; // the rows that pass the filters, in display order
let clockOffset = 0; // the server's clock minus this browser's, in ms
let namesVersion = 0; // bumped when names arrive: painted rows show them
let namesLoadedAt = 0;
let frame = 0;
let layoutNeeded = true;
let source = null;
let lastEventId = null;
let retryTimer = 0;
let summaryKey = '';
let rowsChanged = false; // since the last render: the units and teams on offer may differ
let offered = ''; // the units and teams the filters offer, as a key

const $ = (id) => document.getElementById(id);
const viewport = $('viewport');
const controls = {
  unit: $('unit'),
  team: $('team'),
  state: $('state'),
  onlyOut: $('only-out'),
  search: $('search'),
  sort: $('sort'),
};

main().catch((error) => showError(problemText(error)));

async function main() {
  const me = await session();
  nav(me, 'board');
  for (const state of STATES) controls.state.add(new Option(stateLabel(state), state));
  readFilters();
  for (const control of Object.values(controls)) {
    control.addEventListener(control.tagName === 'INPUT' ? 'input' : 'change', filtersChanged);
  }
  $('controls').addEventListener('submit', (event) => event.preventDefault());
  viewport.addEventListener('scroll', () => schedule(false), { passive: true });
  window.addEventListener('resize', () => schedule(false));
  viewport.addEventListener('click', openDay);
  connect();
  loadNames();
  setInterval(() => schedule(true), 1000); // time ticks; severity grows with it
}

// ---- the stream --------------------------------------------------------------------------

function connect() {
  const resume = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : '';
  source = new EventSource(STREAM + resume);
  source.addEventListener('snapshot', (event) => receive(event, true));
  source.addEventListener('rows', (event) => receive(event, false));
  source.addEventListener('open', () => connection('live', 'Live'));
  source.addEventListener('error', () => {
    connection('reconnecting', 'Reconnecting…');
    if (source.readyState === EventSource.CLOSED) {
      // An HTTP error: the browser will not retry by itself. Resume from the last event.
      source.close();
      clearTimeout(retryTimer);
      retryTimer = setTimeout(reconnect, RETRY_MS);
    }
  });
}

async function reconnect() {
  try {
    await session(); // signed out meanwhile: off to the login page
    connect();
  } catch {
    retryTimer = setTimeout(reconnect, RETRY_MS);
  }
}

function receive(event, snapshot) {
  if (event.lastEventId) lastEventId = event.lastEventId;
  const data = JSON.parse(event.data);
  clockOffset = Date.parse(data.at) - Date.now();
  if (snapshot) rows.clear();
  let unknownNames = false;
  for (const row of data.rows) {
    if (row.removed) {
      rows.delete(row.agent_id); // moved out of what this user sees
      continue;
    }
    row.sinceMs = row.since ? Date.parse(row.since) : null;
    row.outMs = row.out_of_adherence_since ? Date.parse(row.out_of_adherence_since) : null;
    row.searchable = `${row.agent_name} ${row.agent_id}`.toLowerCase();
    rows.set(row.agent_id, row);
    unknownNames ||= !units.has(row.management_unit_id) || (row.team_id && !teams.has(row.team_id));
  }
  rowsChanged = true;
  connection('live', 'Live');
  if (unknownNames && namesLoadedAt && Date.now() - namesLoadedAt > NAMES_REFRESH_MS) loadNames();
  schedule(true);
}

function connection(state, text) {
  const status = $('connection');
  if (status.textContent === text) return;
  status.className = `connection ${state}`;
  status.textContent = text;
}

// ---- names: units, teams, activity codes --------------------------------------------------

async function loadNames() {
  namesLoadedAt = Date.now();
  try {
    const [unitList, teamList] = await Promise.all([
      api('/api/v1/management-units'),
      api('/api/v1/teams'),
    ]);
    for (const unit of unitList.items) units.set(unit.id, unit);
    for (const team of teamList.items) teams.set(team.id, team);
    await Promise.all(
      unitList.items.map(async (unit) => {
        const found = await api(`/api/v1/management-units/${encodeURIComponent(unit.id)}/activity-codes`);
        codes.set(unit.id, new Map(found.items.map((code) => [code.id, code])));
      }),
    );
  } catch (error) {
    // Names are a comfort: rows show ids without them.
    console.warn('names of units, teams or activity codes are unavailable:', problemText(error));
  }
  namesVersion += 1;
  fillOptions();
  schedule(true);
}

/** The filters offer the units and teams of the rows one sees (all of them, for want of rows). */
function fillOptions() {
  const present = { units: new Set(), teams: new Set() };
  for (const row of rows.values()) {
    present.units.add(row.management_unit_id);
    if (row.team_id) present.teams.add(row.team_id);
  }
  const shown = (set, id) => rows.size === 0 || set.has(id);
  const byName = (a, b) => collator.compare(a.name, b.name);
  const unitList = [...units.values()].filter((u) => shown(present.units, u.id));
  replaceOptions(controls.unit, unitList.sort(byName));
  const unit = controls.unit.value;
  const teamList = [...teams.values()].filter(
    (t) => shown(present.teams, t.id) && (!unit || t.management_unit_id === unit),
  );
  replaceOptions(controls.team, teamList.sort(byName));
  offered = optionsKey();
}

function optionsKey() {
  const ids = new Set();
  for (const row of rows.values()) ids.add(`${row.management_unit_id}/${row.team_id}`);
  return [...ids].sort().join(' ');
}

function replaceOptions(select, items) {
  const keep = select.value || select.dataset.wanted || '';
  while (select.options.length > 1) select.remove(1); // the first: "All …"
  for (const item of items) select.add(new Option(item.name, item.id));
  select.value = items.some((item) => item.id === keep) ? keep : '';
  delete select.dataset.wanted; // listed now: an unknown one from the address is dropped
}

// ---- filters ----------------------------------------------------------------------------

function filters() {
  return {
    unit: controls.unit.value || controls.unit.dataset.wanted || '',
    team: controls.team.value || controls.team.dataset.wanted || '',
    state: controls.state.value,
    onlyOut: controls.onlyOut.checked,
    search: controls.search.value.trim().toLowerCase(),
    sort: controls.sort.value,
  };
}

function filtersChanged(event) {
  if (event.target === controls.unit) fillOptions();
  const f = filters();
  const query = new URLSearchParams();
  if (f.unit) query.set('unit', f.unit);
  if (f.team) query.set('team', f.team);
  if (f.state) query.set('state', f.state);
  if (f.onlyOut) query.set('out', '1');
  if (f.search) query.set('q', controls.search.value.trim());
  if (f.sort !== 'severity') query.set('sort', f.sort);
  const search = query.toString();
  history.replaceState(null, '', search ? `?${search}` : location.pathname);
  viewport.scrollTop = 0;
  schedule(true);
}

function readFilters() {
  const query = new URLSearchParams(location.search);
  // Units and teams are not listed yet: remember what the address asks for.
  if (query.get('unit')) controls.unit.dataset.wanted = query.get('unit');
  if (query.get('team')) controls.team.dataset.wanted = query.get('team');
  if (STATES.includes(query.get('state'))) controls.state.value = query.get('state');
  controls.onlyOut.checked = query.get('out') === '1';
  controls.search.value = query.get('q') || '';
  if (query.get('sort') === 'name') controls.sort.value = 'name';
}

const inSelection = (row, f) =>
  (!f.unit || row.management_unit_id === f.unit) &&
  (!f.team || row.team_id === f.team) &&
  (!f.search || row.searchable.includes(f.search));

const inStates = (row, f) =>
  (!f.state || row.adherence_state === f.state) &&
  (!f.onlyOut || row.adherence_state === 'OutOfAdherence');

// ---- rendering --------------------------------------------------------------------------

/** One render per animation frame, however many changes arrive meanwhile. */
function schedule(layout) {
  layoutNeeded ||= layout;
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  const now = Date.now() + clockOffset;
  if (layoutNeeded) {
    layoutNeeded = false;
    if (rowsChanged) {
      rowsChanged = false;
      if (namesVersion && optionsKey() !== offered) fillOptions();
    }
    const f = filters();
    const selected = [];
    for (const row of rows.values()) if (inSelection(row, f)) selected.push(row);
    summarise(selected);
    shown = selected.filter((row) => inStates(row, f));
    sortRows(shown, f.sort, now);
    $('spacer').style.height = `${shown.length * ROW_HEIGHT}px`;
    viewport.closest('[role="table"]').setAttribute('aria-rowcount', String(shown.length + 1));
    $('empty').hidden = shown.length > 0 || rows.size === 0;
    counts(selected, shown);
  }
  paint(now);
}

function sortRows(list, sort, now) {
  if (sort === 'name') {
    list.sort((a, b) => collator.compare(a.agent_name, b.agent_name));
    return;
  }
  for (const row of list) {
    row.outSeconds = row.outMs === null ? -1 : (now - row.outMs) / 1000;
    row.severe = isSevere(row, now);
  }
  list.sort(
    (a, b) =>
      b.severe - a.severe ||
      b.outSeconds - a.outSeconds ||
      collator.compare(a.agent_name, b.agent_name),
  );
}

const isSevere = (row, now) =>
  row.outMs !== null && (now - row.outMs) / 1000 >= (row.severe_after_seconds ?? 300);

function counts(selected, visible) {
  const out = selected.filter((row) => row.adherence_state === 'OutOfAdherence').length;
  let text = `${plural(selected.length, 'agent')} · ${out} out of adherence`;
  if (visible.length !== selected.length) text += ` · ${visible.length} shown`;
  if ($('counts').textContent !== text) $('counts').textContent = text;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Only the rows in view exist; each is rebuilt when its data (or a name) changed. */
function paint(now) {
  const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
  const count = Math.ceil(viewport.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
  const last = Math.min(shown.length, first + count);
  const keep = new Set();
  for (let index = first; index < last; index += 1) {
    const row = shown[index];
    keep.add(row.agent_id);
    let element = painted.get(row.agent_id);
    if (!element) {
      element = document.createElement('div');
      element.className = 'grid-row';
      element.setAttribute('role', 'row');
      element.dataset.agentId = row.agent_id;
      viewport.appendChild(element);
      painted.set(row.agent_id, element);
    }
    if (element.row !== row || element.names !== namesVersion) {
      element.row = row;
      element.names = namesVersion;
      element.innerHTML = cells(row);
      element.classList.toggle('out', row.adherence_state === 'OutOfAdherence');
      element.ticking = {
        since: element.querySelector('[data-field="time_in_state"]'),
        out: element.querySelector('[data-field="out_of_adherence"]'),
        severe: element.querySelector('[data-field="severe"]'),
      };
    }
    element.setAttribute('aria-rowindex', String(index + 2)); // 1 is the header
    element.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    tick(element, row, now);
  }
  for (const [agentId, element] of painted) {
    if (!keep.has(agentId)) {
      element.remove();
      painted.delete(agentId);
    }
  }
}

function tick(element, row, now) {
  const { since, out, severe } = element.ticking;
  setText(since, row.sinceMs === null ? '—' : formatDuration((now - row.sinceMs) / 1000));
  setText(out, row.outMs === null ? '—' : formatDuration((now - row.outMs) / 1000));
  const isNowSevere = isSevere(row, now);
  if (severe.dataset.on !== String(isNowSevere)) {
    severe.dataset.on = String(isNowSevere);
    severe.innerHTML = isNowSevere ? '<span class="chip severe">Severe</span>' : '';
  }
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function cells(row) {
  const id = encodeURIComponent(row.agent_id);
  const team = row.team_id ? teams.get(row.team_id)?.name ?? row.team_id : '—';
  const impact =
    row.impact === 'Negative' || row.impact === 'Positive' || row.impact === 'Unknown'
      ? impactChip(row.impact)
      : `<span class="muted">${escapeHtml(stateLabel(row.impact))}</span>`;
  return `
    <span role="cell" data-field="agent_name"><a href="/agents/${id}/day">${escapeHtml(row.agent_name)}</a></span>
    <span role="cell" data-field="team">${escapeHtml(team)}</span>
    <span role="cell" data-field="scheduled">${scheduled(row)}</span>
    <span role="cell" data-field="actual">${actual(row)}</span>
    <span role="cell" data-field="adherence_state">${stateChip(row.adherence_state)}</span>
    <span role="cell" data-field="impact">${impact}</span>
    <span role="cell" data-field="time_in_state"></span>
    <span role="cell" data-field="out_of_adherence"></span>
    <span role="cell" data-field="severe"></span>`;
}

function scheduled(row) {
  const category = row.scheduled_category;
  const code = codes.get(row.management_unit_id)?.get(row.scheduled_activity_code_id);
  const name = code ? code.name : stateLabel(category);
  const title = code ? `${stateLabel(category)}: ${code.name}` : stateLabel(category);
  return `<span title="${escapeHtml(title)}"><span class="cat-dot ${categoryClass(category)}"></span>${escapeHtml(name)}</span>`;
}

/** The actual category, with the presence and routing status where they say more. */
function actual(row) {
  const category = stateLabel(row.actual_category);
  const presence = stateLabel(row.system_presence);
  const details = [];
  if (presence !== category && row.system_presence !== 'OnQueue') details.push(presence);
  if (row.routing_status !== 'OFF_QUEUE' || row.system_presence === 'OnQueue') {
    details.push(row.routing_status.replaceAll('_', ' ').toLowerCase());
  }
  const title = `Presence ${row.system_presence}, routing ${row.routing_status}`;
  return (
    `<span title="${escapeHtml(title)}">` +
    `<span class="cat-dot ${categoryClass(row.actual_category)}"></span>${escapeHtml(category)} ` +
    `<span class="detail">${escapeHtml(details.join(' · '))}</span></span>`
  );
}

function openDay(event) {
  const element = event.target.closest('[data-agent-id]');
  if (!element || event.target.closest('a')) return;
  location.assign(`/agents/${encodeURIComponent(element.dataset.agentId)}/day`);
}

// ---- summary ----------------------------------------------------------------------------

function summarise(selected) {
  const tally = (key, values) => {
    const found = new Map(values.map((value) => [value, 0]));
    for (const row of selected) found.set(row[key], (found.get(row[key]) || 0) + 1);
    return found;
  };
  const out = selected.filter((row) => row.adherence_state === 'OutOfAdherence');
  const states = tally('adherence_state', STATES);
  const impacts = new Map(IMPACTS.slice(0, 3).map((impact) => [impact, 0]));
  for (const row of out) impacts.set(row.impact, (impacts.get(row.impact) || 0) + 1);
  const scheduledCounts = tally('scheduled_category', []);
  const actualCounts = tally('actual_category', []);
  const key = JSON.stringify([...states, ...impacts, ...scheduledCounts, ...actualCounts]);
  if (key === summaryKey) return;
  summaryKey = key;
  chart('summary-adherence', donut(states, selected.length));
  chart('summary-impact', bars(impacts, impactClass, out.length));
  chart('summary-scheduled', bars(ordered(scheduledCounts), categoryClass, selected.length));
  chart('summary-actual', bars(ordered(actualCounts), categoryClass, selected.length));
}

const ordered = (counts) =>
  new Map(
    [...counts].sort(
      (a, b) => b[1] - a[1] || CATEGORIES.indexOf(a[0]) - CATEGORIES.indexOf(b[0]),
    ),
  );

function chart(id, html) {
  $(id).querySelector('.chart').innerHTML = html;
}

function donut(counts, total) {
  const radius = 15.915; // a circumference of 100: dash lengths are percentages
  let start = 0;
  const parts = [];
  const legend = [];
  for (const [state, count] of counts) {
    if (count === 0 && state !== 'InAdherence' && state !== 'OutOfAdherence') continue;
    const label = `${stateLabel(state)}: ${count}`;
    legend.push(
      `<li><span class="swatch ${stateClass(state)}"></span>${escapeHtml(stateLabel(state))} <span class="count">${count}</span></li>`,
    );
    if (!count) continue;
    const share = (100 * count) / total;
    parts.push(
      `<circle class="part ${stateClass(state)}" r="${radius}" cx="21" cy="21" stroke-width="6" ` +
        `stroke-dasharray="${share} ${100 - share}" stroke-dashoffset="${25 - start}"><title>${escapeHtml(label)}</title></circle>`,
    );
    start += share;
  }
  const description = [...counts]
    .filter(([, count]) => count)
    .map(([state, count]) => `${count} ${stateLabel(state).toLowerCase()}`)
    .join(', ');
  return `<div class="donut-chart">
    <svg class="donut" viewBox="0 0 42 42" role="img" aria-label="${escapeHtml(`${total} agents: ${description || 'none'}`)}">
      <circle class="track" r="${radius}" cx="21" cy="21" stroke-width="6"></circle>
      ${parts.join('')}
      <text x="21" y="21">${total}</text>
    </svg>
    <ul class="legend">${legend.join('')}</ul>
  </div>`;
}

function bars(counts, classOf, total) {
  const items = [...counts];
  if (!items.length) return '<p class="muted">No agents.</p>';
  return `<dl class="bars">${items
    .map(([value, count]) => {
      const width = total ? (100 * count) / total : 0;
      const label = stateLabel(value);
      return `<dt><span class="swatch ${classOf(value)}"></span>${escapeHtml(label)}</dt>
        <dd><svg viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(`${label}: ${count}`)}">
          <rect class="${classOf(value)}" width="${width}" height="10"></rect></svg></dd>
        <dd class="count">${count}</dd>`;
    })
    .join('')}</dl>`;
}

function showError(text) {
  const error = $('error');
  error.textContent = text;
  error.hidden = false;
}
