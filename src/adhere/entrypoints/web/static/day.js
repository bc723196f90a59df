// One agent's day: metrics, a timeline in three bands (schedule, actual, adherence), the
// exceptions, and the explanations — which agents submit and supervisors approve or deny.
//
// The day is a local day of the agent's management unit (23 or 25 hours across DST), so
// every instant is shown in the unit's time zone, whatever the browser's.

import {
  api,
  categoryClass,
  escapeHtml,
  formatDuration,
  impactChip,
  nav,
  problemText,
  session,
  stateChip,
  stateClass,
  stateLabel,
} from '/static/common.js';

const HOUR = 3600 * 1000;
const LEFT = 92; // the band labels' column, in SVG units
const RIGHT = 992;
const BAND_HEIGHT = 26;
const BANDS = [
  { label: 'Schedule', y: 26 },
  { label: 'Actual', y: 60 },
  { label: 'Adherence', y: 94 },
];

const agentId = decodeURIComponent(location.pathname.split('/')[2] || '');
const $ = (id) => document.getElementById(id);
const page = { me: null, agent: null, unit: null, codes: new Map(), day: null, loading: 0 };

main().catch((error) => showError(problemText(error)));

async function main() {
  page.me = await session();
  const own = page.me.user.role === 'agent' && page.me.user.agent_id === agentId;
  nav(page.me, own ? 'day' : null);
  page.agent = await api(`/api/v1/agents/${encodeURIComponent(agentId)}`);
  const unitPath = `/api/v1/management-units/${encodeURIComponent(page.agent.management_unit_id)}`;
  const [unit, codeList] = await Promise.all([api(unitPath), api(`${unitPath}/activity-codes`)]);
  page.unit = unit;
  page.codes = new Map(codeList.items.map((code) => [code.id, code]));
  document.title = `${page.agent.name} · Agent day · Adhere`;
  $('title').textContent = page.agent.name;
  $('subtitle').textContent = `${unit.name} · times in ${unit.time_zone}`;
  if (page.agent.team_id) addTeamName(page.agent.team_id, unit);

  const wanted = new URLSearchParams(location.search).get('date');
  $('day').value = /^\d{4}-\d{2}-\d{2}$/.test(wanted || '') ? wanted : today();
  $('day').addEventListener('change', () => show($('day').value));
  $('previous').addEventListener('click', () => show(shiftDate($('day').value, -1)));
  $('next').addEventListener('click', () => show(shiftDate($('day').value, 1)));
  $('today').addEventListener('click', () => show(today()));
  $('controls').addEventListener('submit', (event) => event.preventDefault());
  $('whole-day').addEventListener('change', () => page.day && renderTimeline(page.day));
  await load();
}

async function addTeamName(teamId, unit) {
  try {
    const team = await api(`/api/v1/teams/${encodeURIComponent(teamId)}`);
    $('subtitle').textContent = `${team.name} · ${unit.name} · times in ${unit.time_zone}`;
  } catch {
    // the unit alone says enough
  }
}

function show(date) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date || '')) return;
  $('day').value = date;
  history.replaceState(null, '', `?date=${date}`);
  load().catch((error) => showError(problemText(error)));
}

// ---- loading -----------------------------------------------------------------------------

async function load() {
  const loading = ++page.loading; // a later choice of day wins over a slower earlier one
  hideError();
  const zone = page.unit.time_zone;
  const date = $('day').value;
  const start = startOfDay(date, zone);
  const end = startOfDay(shiftDate(date, 1), zone);
  // Up to now, not the day's end: history does not know the future (it would extend the
  // current state to midnight).
  const until = Math.min(end, Math.floor(Date.now() / 1000) * 1000);
  // A day still to come has no history yet: only its schedule.
  const begun = until > start;
  const range = { start: new Date(start).toISOString(), end: new Date(begun ? until : end).toISOString() };
  const id = encodeURIComponent(agentId);
  const within = `start=${encodeURIComponent(range.start)}&end=${encodeURIComponent(range.end)}`;
  const [found, schedule, explanations] = await Promise.all([
    begun ? historical(range) : { agents: [{ metrics: {}, segments: [], exceptions: [] }] },
    api(`/api/v1/agents/${id}/schedule?${within}`),
    api(`/api/v1/explanations?agent_id=${id}&${within}`),
  ]);
  if (loading !== page.loading) return;
  const agent = found.agents[0];
  page.day = { date, start, end, agent, activities: schedule.activities, explanations: explanations.items };
  renderMetrics(agent);
  renderTimeline(page.day);
  renderExceptions(page.day);
  renderExplanations(page.day);
}

/** The day's history; a query the server runs as a job (202) is polled until it is done. */
async function historical(range) {
  const body = { agent_ids: [agentId], ...range, include_segments: true, include_exceptions: true };
  let result = await api('/api/v1/adherence/historical', { method: 'POST', body });
  while (result && result.status === 'running' && result.id) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    result = await api(`/api/v1/jobs/${encodeURIComponent(result.id)}`);
  }
  if (result && result.status === 'failed') throw new Error(result.error || 'the query failed');
  return result && result.status === 'succeeded' ? result.result : result;
}

// ---- metrics ------------------------------------------------------------------------------

function renderMetrics(agent) {
  const metrics = agent.metrics;
  const percent = (value) => (value === null || value === undefined ? '—' : `${value.toFixed(1)} %`);
  $('adherence-percent').textContent = percent(metrics.adherence_percent);
  $('conformance-percent').textContent = percent(metrics.conformance_percent);
  $('exception-time').textContent =
    metrics.exception_seconds === undefined ? '—' : formatDuration(metrics.exception_seconds);
  $('exception-count').textContent = String((agent.exceptions || []).length);
}

// ---- the timeline ----------------------------------------------------------------------

function renderTimeline(day) {
  const [first, last] = $('whole-day').checked ? [day.start, day.end] : focus(day);
  const span = last - first;
  const x = (ms) => LEFT + ((Math.min(Math.max(ms, first), last) - first) / span) * (RIGHT - LEFT);
  const time = timeFormat();
  const parts = [];
  const legend = new Map(); // class → label, in order of appearance

  const every = span > 12 * HOUR ? 2 : 1; // hours between labels
  for (let tick = first, index = 0; tick <= last; tick += HOUR, index += 1) {
    const at = x(tick);
    parts.push(`<line class="tick" x1="${at}" x2="${at}" y1="16" y2="${BANDS[2].y + BAND_HEIGHT + 4}"></line>`);
    if (index % every === 0 && tick < last) {
      parts.push(`<text class="hour" x="${at}" y="11">${escapeHtml(hourLabel(tick))}</text>`);
    }
  }
  for (const band of BANDS) {
    parts.push(
      `<text class="band-label" x="0" y="${band.y + BAND_HEIGHT / 2 + 4}">${band.label}</text>`,
      `<rect class="band-background" x="${LEFT}" y="${band.y}" width="${RIGHT - LEFT}" height="${BAND_HEIGHT}"></rect>`,
    );
  }
  const rect = (band, from, to, cls, label) => {
    if (to <= first || from >= last) return;
    const left = x(from);
    const width = Math.max(x(to) - left, 0.5);
    const title = `${label}, ${time.format(from)}–${time.format(to)} (${formatDuration((to - from) / 1000)})`;
    parts.push(
      `<rect class="segment ${cls}" x="${left}" y="${band.y}" width="${width}" height="${BAND_HEIGHT}"><title>${escapeHtml(title)}</title></rect>`,
    );
  };

  for (const activity of day.activities) {
    const code = page.codes.get(activity.activity_code_id);
    const category = code ? code.category : 'Unscheduled';
    const name = code ? `${code.name} (${stateLabel(category)})` : activity.activity_code_id;
    const from = Date.parse(activity.start);
    const to = Date.parse(activity.end);
    if (to <= first || from >= last) continue;
    rect(BANDS[0], from, to, categoryClass(category), `Scheduled: ${name}`);
    legend.set(categoryClass(category), stateLabel(category));
  }
  const segments = day.agent.segments || [];
  for (const run of runs(segments, 'actual_category')) {
    rect(BANDS[1], run.from, run.to, categoryClass(run.value), `Actual: ${stateLabel(run.value)}`);
    legend.set(categoryClass(run.value), stateLabel(run.value));
  }
  const stateLegend = new Map();
  for (const run of runs(segments, 'adherence_state')) {
    rect(BANDS[2], run.from, run.to, stateClass(run.value), stateLabel(run.value));
    stateLegend.set(stateClass(run.value), stateLabel(run.value));
  }
  for (const exception of day.agent.exceptions || []) {
    if (Date.parse(exception.end) <= first || Date.parse(exception.start) >= last) continue;
    const left = x(Date.parse(exception.start));
    const width = Math.max(x(Date.parse(exception.end)) - left, 1);
    parts.push(
      `<rect class="exception" x="${left}" y="${BANDS[2].y - 2}" width="${width}" height="${BAND_HEIGHT + 4}"><title>${escapeHtml(
        `Exception ${time.format(Date.parse(exception.start))}–${time.format(Date.parse(exception.end))}, ${exception.impact}`,
      )}</title></rect>`,
    );
  }
  const now = Date.now();
  if (now > first && now < last) {
    parts.push(
      `<line class="now" x1="${x(now)}" x2="${x(now)}" y1="16" y2="${BANDS[2].y + BAND_HEIGHT + 4}"></line>`,
    );
  }
  const height = BANDS[2].y + BAND_HEIGHT + 8;
  $('timeline').innerHTML = `<svg viewBox="0 0 1000 ${height}" role="img"
      aria-label="${escapeHtml(`Timeline of ${day.date}, ${hourLabel(first)} to ${hourLabel(last)}: schedule, actual activity and adherence`)}">
      ${parts.join('')}</svg>`;
  $('legend').innerHTML = [...legend, ...stateLegend]
    .map(([cls, label]) => `<li><span class="swatch ${cls}"></span>${escapeHtml(label)}</li>`)
    .join('');
}

/** The hours with something to see (a shift, activity, adherence), an hour either side;
 * the whole day if there is nothing. */
function focus(day) {
  const busy = [];
  for (const activity of day.activities) busy.push(Date.parse(activity.start), Date.parse(activity.end));
  for (const segment of day.agent.segments || []) {
    if (segment.actual_category !== 'Offline' || segment.adherence_state !== 'Unscheduled') {
      busy.push(Date.parse(segment.start), Date.parse(segment.end));
    }
  }
  const inside = busy.map((ms) => Math.min(Math.max(ms, day.start), day.end));
  if (!inside.length) return [day.start, day.end];
  // Whole local hours: the day starts at a local midnight.
  const from = Math.floor((Math.min(...inside) - HOUR - day.start) / HOUR) * HOUR + day.start;
  const to = Math.ceil((Math.max(...inside) + HOUR - day.start) / HOUR) * HOUR + day.start;
  return [Math.max(from, day.start), Math.min(to, day.end)];
}

/** Consecutive segments with the same `key`, merged: one rectangle each. */
function runs(segments, key) {
  const found = [];
  for (const segment of segments) {
    const from = Date.parse(segment.start);
    const to = Date.parse(segment.end);
    const last = found[found.length - 1];
    if (last && last.value === segment[key] && last.to === from) last.to = to;
    else found.push({ value: segment[key], from, to });
  }
  return found;
}

// ---- exceptions and explanations ----------------------------------------------------------

const canExplain = () => page.me.user.role === 'agent' && page.me.user.agent_id === agentId;
const canDecide = () => ['admin', 'supervisor'].includes(page.me.user.role);

function covering(day, from, to) {
  return day.explanations.filter((e) => Date.parse(e.start) < to && Date.parse(e.end) > from);
}

function renderExceptions(day) {
  const body = $('exceptions').querySelector('tbody');
  const exceptions = day.agent.exceptions || [];
  const time = timeFormat(true);
  if (!exceptions.length) {
    body.innerHTML = '<tr><td colspan="7" class="empty">No exception on this day.</td></tr>';
    return;
  }
  body.innerHTML = exceptions
    .map((exception, index) => {
      const from = Date.parse(exception.start);
      const to = Date.parse(exception.end);
      const explained = covering(day, from, to);
      const status = explained.length
        ? explained.map((e) => `<span class="status-${e.status.toLowerCase()}">${escapeHtml(e.status)}</span>`).join(', ')
        : '<span class="muted">None</span>';
      const pending = explained.filter((e) => e.status === 'Pending');
      const actions = [];
      if (canExplain() && !explained.some((e) => e.status !== 'Denied')) {
        actions.push(`<button type="button" data-explain="${index}">Explain</button>`);
      }
      if (canDecide()) actions.push(...pending.map((e) => decisionButtons(e, time)));
      return `<tr data-exception="${index}">
        <td>${escapeHtml(time.format(from))}</td>
        <td>${escapeHtml(time.format(to))}</td>
        <td>${escapeHtml(formatDuration(exception.duration_seconds))}</td>
        <td>${impactChip(exception.impact)}</td>
        <td>${exception.severe ? '<span class="chip severe">Severe</span>' : 'No'}</td>
        <td>${status}</td>
        <td><div class="actions">${actions.join('')}</div></td>
      </tr>`;
    })
    .join('');
  body.querySelectorAll('[data-explain]').forEach((button) =>
    button.addEventListener('click', () => openExplainForm(button, exceptions[Number(button.dataset.explain)])),
  );
  wireDecisions(body);
}

function renderExplanations(day) {
  const body = $('explanations').querySelector('tbody');
  const time = timeFormat(true);
  if (!day.explanations.length) {
    body.innerHTML = '<tr><td colspan="6" class="empty">No explanation on this day.</td></tr>';
    return;
  }
  body.innerHTML = day.explanations
    .map((e) => {
      const actions = canDecide() && e.status === 'Pending' ? decisionButtons(e, time) : '';
      return `<tr>
        <td>${escapeHtml(time.format(Date.parse(e.start)))}</td>
        <td>${escapeHtml(time.format(Date.parse(e.end)))}</td>
        <td>${escapeHtml(formatDuration(e.length_minutes * 60))}</td>
        <td><span class="status-${e.status.toLowerCase()}">${escapeHtml(e.status)}</span></td>
        <td>${escapeHtml(e.notes || '')}</td>
        <td><div class="actions">${actions}</div></td>
      </tr>`;
    })
    .join('');
  wireDecisions(body);
}

function decisionButtons(explanation, time) {
  const from = escapeHtml(time.format(Date.parse(explanation.start)));
  const id = escapeHtml(explanation.id);
  return `<button type="button" class="primary" data-decide="approve" data-id="${id}"
      aria-label="Approve the explanation from ${from}">Approve</button>
    <button type="button" class="danger" data-decide="deny" data-id="${id}"
      aria-label="Deny the explanation from ${from}">Deny</button>`;
}

function wireDecisions(container) {
  container.querySelectorAll('[data-decide]').forEach((button) =>
    button.addEventListener('click', () =>
      act(
        () => api(`/api/v1/explanations/${encodeURIComponent(button.dataset.id)}/${button.dataset.decide}`, {
          method: 'POST',
          body: {},
        }),
        button.dataset.decide === 'approve' ? 'Explanation approved.' : 'Explanation denied.',
      ),
    ),
  );
}

function openExplainForm(button, exception) {
  const row = button.closest('tr');
  if (row.nextElementSibling && row.nextElementSibling.classList.contains('explain-row')) {
    row.nextElementSibling.querySelector('textarea').focus();
    return;
  }
  const formRow = document.createElement('tr');
  formRow.className = 'explain-row';
  const id = `explain-notes-${row.dataset.exception}`;
  formRow.innerHTML = `<td colspan="7">
      <form class="explain-form">
        <div class="field">
          <label for="${id}">Why were you out of adherence?</label>
          <textarea id="${id}" maxlength="2000" required></textarea>
        </div>
        <button type="submit" class="primary">Submit explanation</button>
        <button type="button" data-cancel>Cancel</button>
      </form>
    </td>`;
  row.after(formRow);
  const form = formRow.querySelector('form');
  form.querySelector('[data-cancel]').addEventListener('click', () => formRow.remove());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {
      agent_id: agentId,
      start: exception.start,
      length_minutes: exception.duration_seconds / 60,
      type: 'Late',
      notes: form.querySelector('textarea').value.trim() || null,
    };
    act(() => api('/api/v1/explanations', { method: 'POST', body }), 'Explanation submitted.');
  });
  form.querySelector('textarea').focus();
}

/** Do it, say so, and show the day again (explanations change adherence). */
async function act(call, done) {
  hideError();
  try {
    await call();
    $('notice').textContent = done;
    await load();
  } catch (error) {
    showError(problemText(error));
  }
}

// ---- local days and times in the unit's time zone -----------------------------------------

function today() {
  return localDate(Date.now(), page.unit.time_zone);
}

function localDate(ms, zone) {
  const parts = zoneParts(ms, zone);
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function zoneParts(ms, zone) {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  return Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
}

/** The zone's offset from UTC at `ms`, in ms. */
function zoneOffset(ms, zone) {
  const p = zoneParts(ms, zone);
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The first instant of a local date (where DST skips midnight, the first that exists). */
function startOfDay(date, zone) {
  const [year, month, day] = date.split('-').map(Number);
  const wall = Date.UTC(year, month - 1, day);
  const candidates = [wall - 14 * HOUR, wall + 14 * HOUR]
    .map((probe) => wall - zoneOffset(probe, zone))
    .filter((instant) => localDate(instant, zone) === date);
  return candidates.length ? Math.min(...candidates) : wall - zoneOffset(wall, zone);
}

function shiftDate(date, days) {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

function timeFormat(seconds = false) {
  return new Intl.DateTimeFormat(undefined, {
    timeZone: page.unit.time_zone,
    hour: '2-digit',
    minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}),
    hourCycle: 'h23',
  });
}

function hourLabel(ms) {
  const p = zoneParts(ms, page.unit.time_zone);
  return `${p.hour}:${p.minute}`;
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = false;
}

function hideError() {
  $('error').hidden = true;
}
