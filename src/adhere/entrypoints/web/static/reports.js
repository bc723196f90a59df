// Reports: adherence and conformance of a management unit or team over local dates, with
// hand-written SVG charts (daily trend against the target, distribution across agents, worst
// exceptions), tables per team and day and per agent, and the same report as CSV.
import { api, escapeHtml, formatDuration, impactClass, nav, problemText, session, stateLabel } from '/static/common.js';

const REPORT = '/api/v1/reports/adherence';
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const form = $('controls');
let units = [];
let shown = 0; // the latest request: an older answer arriving late is dropped

main();

async function main() {
  const current = await session();
  nav(current, 'reports');
  try {
    units = (await api('/api/v1/management-units')).items;
  } catch (error) {
    showError(error);
    return;
  }
  if (!units.length) {
    setStatus('There is no management unit yet.');
    return;
  }
  const query = new URLSearchParams(location.search);
  $('unit').innerHTML = units
    .map((u) => `<option value="${escapeHtml(u.id)}">${escapeHtml(u.name)}</option>`)
    .join('');
  const wanted = units.find((u) => u.id === query.get('management_unit_id'));
  $('unit').value = (wanted || units[0]).id;
  await loadTeams(query.get('team_id') || '');
  const today = localToday(unit().time_zone);
  $('to').value = validDate(query.get('to')) || today;
  $('from').value = validDate(query.get('from')) || addDays($('to').value, -6);
  $('target').value = query.get('target_percent') || unit().settings.adherence_target_percent;

  $('unit').addEventListener('change', async () => {
    await loadTeams('');
    $('target').value = unit().settings.adherence_target_percent;
    updateCsvLink();
  });
  for (const id of ['team', 'from', 'to', 'target']) {
    for (const type of ['input', 'change']) $(id).addEventListener(type, updateCsvLink);
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  show();
}

const unit = () => units.find((u) => u.id === $('unit').value);

async function loadTeams(selected) {
  const select = $('team');
  let teams = [];
  try {
    const query = new URLSearchParams({ management_unit_id: $('unit').value });
    teams = (await api(`/api/v1/teams?${query}`)).items;
  } catch (error) {
    showError(error);
  }
  select.innerHTML =
    '<option value="">All teams</option>' +
    teams.map((t) => `<option value="${escapeHtml(t.id)}">${escapeHtml(t.name)}</option>`).join('');
  select.value = teams.some((t) => t.id === selected) ? selected : '';
}

/** The API's query: exactly one of the unit and the team selects the agents. */
function reportQuery() {
  const query = new URLSearchParams();
  if ($('team').value) query.set('team_id', $('team').value);
  else query.set('management_unit_id', $('unit').value);
  query.set('from', $('from').value);
  query.set('to', $('to').value);
  if ($('target').value !== '') query.set('target_percent', $('target').value);
  return query;
}

function updateCsvLink() {
  const query = reportQuery();
  query.set('format', 'csv');
  $('csv').href = `${REPORT}?${query}`;
}

async function show() {
  if (!form.reportValidity()) return;
  const page = new URLSearchParams({ management_unit_id: $('unit').value });
  for (const [name, id] of [['team_id', 'team'], ['from', 'from'], ['to', 'to'], ['target_percent', 'target']]) {
    if ($(id).value) page.set(name, $(id).value);
  }
  history.replaceState(null, '', `?${page}`);
  updateCsvLink();
  const request = ++shown;
  $('error').hidden = true;
  $('show').disabled = true;
  setStatus('Computing the report…');
  try {
    const query = reportQuery();
    query.set('include_agent_days', 'false'); // the per-agent days are the CSV's
    const report = await api(`${REPORT}?${query}`);
    if (request !== shown) return;
    render(report);
    setStatus(`${count(report.agents.length, 'agent')} · ${count(report.days.length, 'day')}`);
  } catch (error) {
    if (request !== shown) return;
    showError(error);
    setStatus('');
  } finally {
    if (request === shown) $('show').disabled = false;
  }
}

function render(report) {
  const where = report.team ? `${report.management_unit.name} · ${report.team.name}` : report.management_unit.name;
  $('subtitle').textContent =
    `${where} · ${report.from} to ${report.to} (${report.management_unit.time_zone}) · target ${report.target_percent} %` +
    (report.to === localToday(report.management_unit.time_zone) ? ' · today counts up to now' : '');
  const totals = report.totals.metrics;
  $('total-adherence').textContent = percent(totals.adherence_percent);
  $('total-conformance').textContent = percent(totals.conformance_percent);
  $('total-scheduled').textContent = formatDuration(totals.adherence_schedule_seconds);
  $('total-out').textContent = formatDuration(totals.state_seconds.OutOfAdherence);
  $('total-exceptions').textContent = String(report.totals.exception_count);
  place('trend', (width) => trendChart(report, width));
  place('distribution', (width) => distributionChart(report, width));
  place('worst', (width) => worstChart(report, width));
  renderTeamDays(report);
  renderAgents(report);
}

/** Draws a chart as wide as its place, so that its text keeps its size. */
function place(id, draw) {
  const holder = $(id).querySelector('.chart');
  holder.replaceChildren(draw(Math.max(320, Math.floor(holder.clientWidth))));
}

// ---- charts --------------------------------------------------------------------------------

/** Adherence % and conformance % per day, and the target as a dashed line. */
function trendChart(report, width) {
  const height = 280;
  const m = { left: 44, right: 18, top: 14, bottom: 40 };
  const days = report.days;
  const plotWidth = width - m.left - m.right;
  const plotHeight = height - m.top - m.bottom;
  const values = days.flatMap((d) => [d.metrics.adherence_percent, d.metrics.conformance_percent]);
  const top = Math.max(100, Math.ceil(Math.max(0, ...values.filter((v) => v !== null)) / 20) * 20);
  const x = (i) => m.left + (days.length === 1 ? plotWidth / 2 : (i * plotWidth) / (days.length - 1));
  const y = (v) => m.top + plotHeight - (v / top) * plotHeight;
  const parts = [];
  for (let v = 0; v <= top; v += 20) {
    parts.push(`<line class="grid" x1="${m.left}" x2="${width - m.right}" y1="${y(v)}" y2="${y(v)}"></line>`);
    parts.push(`<text class="axis" x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  const every = Math.ceil(days.length / Math.max(2, Math.floor(plotWidth / 70)));
  days.forEach((day, i) => {
    if (i % every === 0) {
      parts.push(`<text class="axis" x="${x(i)}" y="${height - m.bottom + 18}" text-anchor="middle">${shortDate(day.date)}</text>`);
    }
  });
  const target = report.target_percent;
  parts.push(`<line class="target" x1="${m.left}" x2="${width - m.right}" y1="${y(target)}" y2="${y(target)}"><title>Target ${target} %</title></line>`);
  parts.push(`<text class="target-label" x="${width - m.right}" y="${y(target) - 5}" text-anchor="end">Target ${target} %</text>`);
  for (const [key, name] of [['adherence_percent', 'adherence'], ['conformance_percent', 'conformance']]) {
    parts.push(`<path class="series ${name}" d="${linePath(days.map((d) => d.metrics[key]), x, y)}"></path>`);
    days.forEach((day, i) => {
      const value = day.metrics[key];
      if (value === null) return;
      parts.push(
        `<circle class="point ${name}" cx="${x(i)}" cy="${y(value)}" r="3.5"><title>${day.date}: ${name} ${percent(value)}</title></circle>`,
      );
    });
  }
  return svg('trend', width, height, 'Daily trend', trendSummary(report), parts.join(''));
}

/** An SVG path through the values, broken where a day has none. */
function linePath(values, x, y) {
  let path = '';
  let drawing = false;
  values.forEach((value, i) => {
    if (value === null) {
      drawing = false;
      return;
    }
    path += `${drawing ? 'L' : 'M'}${x(i).toFixed(1)} ${y(value).toFixed(1)} `;
    drawing = true;
  });
  return path.trim();
}

function trendSummary(report) {
  const measured = report.days.filter((d) => d.metrics.adherence_percent !== null);
  if (!measured.length) return `No scheduled time from ${report.from} to ${report.to}.`;
  const byValue = [...measured].sort((a, b) => a.metrics.adherence_percent - b.metrics.adherence_percent);
  const low = byValue[0];
  const high = byValue[byValue.length - 1];
  const met = measured.filter((d) => d.metrics.adherence_percent >= report.target_percent).length;
  return (
    `Daily adherence from ${report.from} to ${report.to}: lowest ${percent(low.metrics.adherence_percent)} on ${low.date}, ` +
    `highest ${percent(high.metrics.adherence_percent)} on ${high.date}; ${met} of ${measured.length} days with scheduled time ` +
    `at or above the ${report.target_percent} % target.`
  );
}

/** How many agents' adherence over the range falls in each 10-point bin. */
function distributionChart(report, width) {
  const height = 250;
  const m = { left: 34, right: 8, top: 18, bottom: 40 };
  const values = report.agents.map((a) => a.metrics.adherence_percent).filter((v) => v !== null);
  const bins = Array(10).fill(0);
  for (const value of values) bins[Math.min(9, Math.floor(value / 10))] += 1;
  const most = Math.max(1, ...bins);
  const slot = (width - m.left - m.right) / bins.length;
  const plotHeight = height - m.top - m.bottom;
  const parts = [
    `<line class="grid" x1="${m.left}" x2="${width - m.right}" y1="${m.top + plotHeight}" y2="${m.top + plotHeight}"></line>`,
    `<text class="axis" x="${m.left - 6}" y="${m.top + 4}" text-anchor="end">${most}</text>`,
    `<text class="axis" x="${m.left - 6}" y="${m.top + plotHeight + 4}" text-anchor="end">0</text>`,
  ];
  bins.forEach((n, i) => {
    const barHeight = (n / most) * plotHeight;
    const left = m.left + i * slot + 4;
    const label = `${i * 10}–${i * 10 + 10}`;
    const below = i * 10 + 10 <= report.target_percent ? ' below-target' : '';
    parts.push(
      `<rect class="bar${below}" x="${left}" y="${m.top + plotHeight - barHeight}" width="${slot - 8}" height="${barHeight}"><title>${count(n, 'agent')} at ${label} %</title></rect>`,
      `<text class="value" x="${left + (slot - 8) / 2}" y="${m.top + plotHeight - barHeight - 4}" text-anchor="middle">${n}</text>`,
      `<text class="axis" x="${left + (slot - 8) / 2}" y="${height - m.bottom + 16}" text-anchor="middle">${label}</text>`,
    );
  });
  parts.push(`<text class="axis" x="${width / 2}" y="${height - 6}" text-anchor="middle">Adherence % (agents)</text>`);
  const described = bins
    .map((n, i) => [n, `${i * 10}–${i * 10 + 10} %`])
    .filter(([n]) => n > 0)
    .reverse()
    .map(([n, label]) => `${n} at ${label}`);
  const unscheduled = report.agents.length - values.length;
  const summary =
    `${count(values.length, 'agent')} with scheduled time` +
    (described.length ? `: ${described.join(', ')}` : '') +
    (unscheduled ? `; ${count(unscheduled, 'agent')} without.` : '.');
  return svg('distribution', width, height, 'Agents by adherence', summary, parts.join(''));
}

/** The longest exceptions as horizontal bars, coloured and labelled by impact. */
function worstChart(report, width) {
  const worst = report.worst_exceptions;
  const zone = report.management_unit.time_zone;
  const rowHeight = 26;
  const labelWidth = 150;
  const height = Math.max(1, worst.length) * rowHeight + 10;
  if (!worst.length) {
    const none = `<text class="axis" x="${width / 2}" y="22" text-anchor="middle">No exceptions in the range.</text>`;
    return svg('worst', width, 36, 'Worst exceptions', 'No exceptions in the range.', none);
  }
  const longest = Math.max(...worst.map((e) => e.duration_seconds));
  const room = width - labelWidth - 190;
  const parts = [];
  const described = [];
  worst.forEach((e, i) => {
    const top = 5 + i * rowHeight;
    const length = Math.max(2, (e.duration_seconds / longest) * room);
    const when = `${shortDateTime(e.start, zone)}–${shortTime(e.end, zone)}`;
    const words = `${formatDuration(e.duration_seconds)} · ${stateLabel(e.impact)}${e.severe ? ' · severe' : ''}`;
    const about = `${e.agent_name}, ${when}: ${words}`;
    described.push(about);
    parts.push(
      `<text class="name" x="${labelWidth - 8}" y="${top + 16}" text-anchor="end">${escapeHtml(clip(e.agent_name, 20))}</text>`,
      `<rect class="${impactClass(e.impact)}" x="${labelWidth}" y="${top + 3}" width="${length}" height="${rowHeight - 8}"><title>${escapeHtml(about)}</title></rect>`,
      `<text class="value" x="${labelWidth + length + 6}" y="${top + 16}">${escapeHtml(words)}</text>`,
    );
  });
  return svg('worst', width, height, 'Worst exceptions', `The ${worst.length} longest exceptions: ${described.join('; ')}.`, parts.join(''));
}

/** A chart named by its <title> and described, for who cannot see it, by a <desc> summary.
 * (Not an aria-label: a summary with "to" or "from" in it would also answer to the form's
 * "To" and "From" labels.) */
function svg(id, width, height, title, summary, content) {
  const element = document.createElementNS(SVG, 'svg');
  element.setAttribute('viewBox', `0 0 ${width} ${height}`);
  element.setAttribute('role', 'img');
  element.setAttribute('aria-labelledby', `${id}-title`);
  element.setAttribute('aria-describedby', `${id}-summary`);
  element.innerHTML =
    `<title id="${id}-title">${escapeHtml(title)}</title>` +
    `<desc id="${id}-summary">${escapeHtml(summary)}</desc>${content}`;
  return element;
}

// ---- tables --------------------------------------------------------------------------------

function renderTeamDays(report) {
  const byDate = new Map(report.days.map((d) => [d.date, []]));
  for (const row of report.team_days) byDate.get(row.date).push(row);
  const rows = [];
  for (const day of report.days) {
    rows.push(
      `<tr class="day-total"><th scope="row">${day.date}</th><td>All teams</td>` +
        metricCells(report, day.metrics, day.exception_count, day.agents) +
        '</tr>',
    );
    for (const row of byDate.get(day.date)) {
      rows.push(
        `<tr><td>${day.date}</td><td>${escapeHtml(row.team_name || (row.team_id ? row.team_id : 'No team'))}</td>` +
          metricCells(report, row.metrics, row.exception_count, row.agents) +
          '</tr>',
      );
    }
  }
  setRows('team-days', rows, 8, 'No days in the range.');
}

function renderAgents(report) {
  const rows = report.agents.map((row) => {
    const day = `/agents/${encodeURIComponent(row.agent_id)}/day?date=${report.to}`;
    return (
      `<tr><th scope="row"><a href="${escapeHtml(day)}">${escapeHtml(row.agent_name)}</a></th>` +
      `<td>${escapeHtml(row.team_name || (row.team_id ? row.team_id : 'No team'))}</td>` +
      metricCells(report, row.metrics, row.exception_count) +
      '</tr>'
    );
  });
  setRows('agents', rows, 7, 'No agents to report.');
}

function metricCells(report, metrics, exceptions, agents) {
  const adherence = metrics.adherence_percent;
  const below = adherence !== null && adherence < report.target_percent;
  const shownAdherence = below
    ? `<span class="below-target">${percent(adherence)}<span aria-hidden="true"> ▾</span><span class="visually-hidden"> (below target)</span></span>`
    : percent(adherence);
  return (
    (agents === undefined ? '' : `<td class="number">${agents}</td>`) +
    `<td class="number">${shownAdherence}</td>` +
    `<td class="number">${percent(metrics.conformance_percent)}</td>` +
    `<td class="number">${formatDuration(metrics.adherence_schedule_seconds)}</td>` +
    `<td class="number">${formatDuration(metrics.state_seconds.OutOfAdherence)}</td>` +
    `<td class="number">${exceptions}</td>`
  );
}

function setRows(id, rows, columns, empty) {
  $(id).querySelector('tbody').innerHTML = rows.length
    ? rows.join('')
    : `<tr><td colspan="${columns}" class="muted">${empty}</td></tr>`;
}

// ---- small helpers -------------------------------------------------------------------------

function percent(value) {
  return value === null || value === undefined ? '—' : `${value.toFixed(1)} %`;
}

function count(n, noun) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function clip(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function setStatus(text) {
  $('status').textContent = text;
}

function showError(error) {
  $('error').textContent = problemText(error);
  $('error').hidden = false;
}

/** Today's date (YYYY-MM-DD) in a time zone. */
function localToday(zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

function validDate(text) {
  return text && /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : null;
}

function addDays(isoDate, days) {
  const moment = new Date(`${isoDate}T00:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() + days);
  return moment.toISOString().slice(0, 10);
}

const dateLabel = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', month: 'short', day: '2-digit' });

function shortDate(isoDate) {
  return dateLabel.format(new Date(`${isoDate}T00:00:00Z`));
}

function shortDateTime(instant, zone) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(new Date(instant));
}

function shortTime(instant, zone) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit' }).format(new Date(instant));
}
