// What every page shares: the session, calls to the API, the header, and how states read.
// Plain ES module, no build step: pages import it as /static/common.js.

/** A non-2xx answer from the API; `problem` is its RFC 9457 body (`detail`, `code`, `errors`). */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `the server answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

let current = null; // the session body once fetched: its CSRF token signs unsafe calls

/** The signed-in user's session; without one, go to the login page and never resolve. */
export async function session() {
  const response = await fetch('/api/v1/session', {
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  });
  if (response.status === 401) {
    const next = location.pathname + location.search;
    location.assign('/login?next=' + encodeURIComponent(next));
    return new Promise(() => {});
  }
  if (!response.ok) throw await apiError(response);
  current = await response.json();
  return current;
}

/** Calls the API on this origin: JSON in and out, the CSRF header on every unsafe method. */
export async function api(path, { method = 'GET', body, accept } = {}) {
  const headers = { Accept: accept || 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!['GET', 'HEAD'].includes(method.toUpperCase()) && current && current.csrf_token) {
    headers['X-CSRF-Token'] = current.csrf_token;
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!response.ok) throw await apiError(response);
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

async function apiError(response) {
  let problem;
  try {
    problem = await response.json();
  } catch {
    problem = { status: response.status, detail: response.statusText || `HTTP ${response.status}` };
  }
  return new ApiError(response.status, problem);
}

/** The message to show for a failed call: the problem's detail, and its fields' messages. */
export function problemText(error) {
  const problem = error && error.problem;
  if (!problem) return String((error && error.message) || error);
  const fields = (problem.errors || []).map((e) => `${e.field}: ${e.message}`);
  const detail = problem.detail || problem.title || `HTTP ${error.status}`;
  return fields.length > 1 ? `${detail} — ${fields.join('; ')}` : detail;
}

/** The site header, in <header id="nav">: the pages, who is signed in, and a way out. */
export function nav(current, active) {
  const header = document.getElementById('nav');
  if (!header) return;
  const user = current.user || {};
  const links = [
    ['board', '/', 'Board'],
    ['reports', '/reports', 'Reports'],
  ];
  if (user.role === 'agent' && user.agent_id) {
    links.push(['day', `/agents/${encodeURIComponent(user.agent_id)}/day`, 'My day']);
  }
  header.classList.add('site-header');
  header.innerHTML = `
    <a class="brand" href="/">Adhere</a>
    <nav aria-label="Main"><ul>${links
      .map(
        ([key, href, label]) =>
          `<li><a href="${href}"${key === active ? ' aria-current="page"' : ''}>${label}</a></li>`,
      )
      .join('')}</ul></nav>
    <div class="who">
      <span class="user-name">${escapeHtml(user.display_name || user.username || '')}</span>
      <span class="user-role">${escapeHtml(user.role || '')}</span>
      <button type="button" class="logout">Log out</button>
    </div>`;
  header.querySelector('.logout').addEventListener('click', async () => {
    try {
      await api('/api/v1/session', { method: 'DELETE' });
    } catch {
      // signed out already, or the server is away: the login page is still where to go
    }
    location.assign('/login');
  });
}

/** "1 h 05 min", "4 min 12 s", "9 s"; "—" for no duration. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${pad(m)} min`;
  if (m > 0) return `${m} min ${pad(s)} s`;
  return `${s} s`;
}

const pad = (n) => String(n).padStart(2, '0');

export const STATES = ['InAdherence', 'OutOfAdherence', 'Explained', 'Unscheduled', 'Ignored', 'Unknown'];
export const IMPACTS = ['Negative', 'Positive', 'Neutral', 'Unknown'];
export const CATEGORIES = [
  'OnQueueWork', 'Break', 'Meal', 'Meeting', 'OffQueueWork', 'TimeOff', 'Training',
  'Unavailable', 'Unscheduled', 'Offline',
];

const LABELS = {
  InAdherence: 'In adherence',
  OutOfAdherence: 'Out of adherence',
  OnQueueWork: 'On queue',
  OffQueueWork: 'Off-queue work',
  TimeOff: 'Time off',
};

/** "OutOfAdherence" → "Out of adherence"; also for categories and impacts. */
export function stateLabel(value) {
  if (value === null || value === undefined) return '—';
  return LABELS[value] || String(value).replace(/([a-z])([A-Z])/g, '$1 $2').replace(
    /(?!^) ([A-Z])/g, (_, c) => ' ' + c.toLowerCase());
}

const kebab = (value) => String(value).replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

/** The class colouring an adherence state: "state-out-of-adherence" (see adhere.css). */
export const stateClass = (state) => 'state-' + kebab(state);
/** The class colouring an impact: "impact-negative". */
export const impactClass = (impact) => 'impact-' + kebab(impact);
/** The class colouring an activity category: "cat-on-queue-work". */
export const categoryClass = (category) => 'cat-' + kebab(category);

/** A chip that says the state in words and in colour: never colour alone. */
export function stateChip(state) {
  return `<span class="chip ${stateClass(state)}">${escapeHtml(stateLabel(state))}</span>`;
}

export function impactChip(impact) {
  return `<span class="chip ${impactClass(impact)}">${escapeHtml(stateLabel(impact))}</span>`;
}

export function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
