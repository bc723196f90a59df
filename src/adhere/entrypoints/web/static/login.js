// The login page: posts the credentials as JSON, then goes where the visitor was headed.
// Plain ES module, no build step.

import { api, problemText } from '/static/common.js';

/** Where to go after logging in: `?next=` when it is a path on this site, else the board. */
export function destination(search, origin = location.origin) {
  const next = new URLSearchParams(search).get('next');
  if (!next || !next.startsWith('/') || next.startsWith('//')) return '/';
  // "/\host" and "/<tab>/host" also lead off the site once the browser parses them.
  const url = new URL(next, origin);
  return url.origin === origin ? url.pathname + url.search + url.hash : '/';
}

const form = document.getElementById('login');
const error = document.getElementById('error');
const submit = document.getElementById('submit');

function show(message) {
  error.textContent = message;
  error.hidden = false;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    show('Enter your username and password.');
    (username ? form.elements.password : form.elements.username).focus();
    return;
  }
  error.hidden = true;
  submit.disabled = true;
  try {
    await api('/api/v1/session', { method: 'POST', body: { username, password } });
    location.assign(destination(location.search));
  } catch (failure) {
    show(problemText(failure));
    form.elements.password.value = '';
    form.elements.password.focus();
    submit.disabled = false;
  }
});

// Already logged in (a bookmarked /login, the back button): go on at once.
api('/api/v1/session').then(
  () => location.assign(destination(location.search)),
  () => {},
);
