// Metronome dashboard: live updates over server-sent events, filters applied as you type, and the
// operator actions through the JSON API. Plain JavaScript, no dependencies, no build step; the pages
// work without it (read-only, filters by their Filter button).

const TOKEN_KEY = 'metronome.token';
const ACTOR_KEY = 'metronome.actor';
const liveStatus = document.getElementById('live-status');

// --- Live updates -------------------------------------------------------------------------------

let refreshing = false;
let again = false;
let lastRefresh = 0;

/** Reload this page's data regions ([data-live]) from the server, leaving any the user is in alone. */
async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const wait = 1000 - (Date.now() - lastRefresh);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    lastRefresh = Date.now();
    const response = await fetch(location.href, { headers: { accept: 'text/html' }, cache: 'no-store' });
    if (!response.ok) return;
    const next = new DOMParser().parseFromString(await response.text(), 'text/html');
    for (const region of document.querySelectorAll('[data-live]')) {
      const fresh = next.getElementById(region.id);
      if (!fresh || region.contains(document.activeElement)) continue;
      if (region.innerHTML !== fresh.innerHTML) region.innerHTML = fresh.innerHTML;
    }
    const pill = next.getElementById('leader-pill');
    const current = document.getElementById('leader-pill');
    if (pill && current) current.replaceWith(pill);
    setLive(true, `live · updated ${new Date().toLocaleTimeString()}`);
  } catch {
    // The next event tries again.
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      void refresh();
    }
  }
}

function setLive(on, text) {
  if (!liveStatus) return;
  liveStatus.classList.toggle('on', on);
  liveStatus.textContent = text;
}

function listen() {
  if (!('EventSource' in window)) {
    setInterval(refresh, 10_000);
    setLive(true, 'live (every 10 s)');
    return;
  }
  const events = new EventSource('/api/v1/events');
  events.addEventListener('hello', () => setLive(true, 'live'));
  events.addEventListener('change', () => void refresh());
  events.addEventListener('error', () => setLive(false, 'reconnecting…'));
}

// --- Filters ------------------------------------------------------------------------------------

const filters = document.getElementById('filters');
if (filters) {
  let timer;
  const apply = () => {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(filters)) if (String(value).trim() !== '') params.set(key, value);
    const query = params.toString();
    history.replaceState(null, '', query ? `?${query}` : location.pathname);
    lastRefresh = 0;
    void refresh();
  };
  filters.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(apply, 250);
  });
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
}

// --- Token --------------------------------------------------------------------------------------

const dialog = document.getElementById('token-dialog');
const tokenButton = document.getElementById('token-button');
const writable = document.body.dataset.mutations === 'token';

function labelTokenButton() {
  if (!tokenButton) return;
  tokenButton.textContent = !writable
    ? 'Read-only'
    : sessionStorage.getItem(TOKEN_KEY)
      ? 'Token set'
      : 'Token';
}

if (dialog && tokenButton) {
  const tokenInput = document.getElementById('token-input');
  const actorInput = document.getElementById('actor-input');
  tokenButton.addEventListener('click', () => {
    if (tokenInput) tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
    if (actorInput) actorInput.value = localStorage.getItem(ACTOR_KEY) ?? '';
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'save') {
      if (tokenInput?.value.trim()) sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
      if (actorInput) localStorage.setItem(ACTOR_KEY, actorInput.value.trim());
    } else if (dialog.returnValue === 'forget') {
      sessionStorage.removeItem(TOKEN_KEY);
    }
    labelTokenButton();
    tokenButton.focus();
  });
  labelTokenButton();
}

// --- Actions ------------------------------------------------------------------------------------

const VERBS = {
  pause: 'Paused',
  resume: 'Resumed',
  trigger: 'Triggered',
  backfill: 'Backfill of',
  'cancel-backfill': 'Cancelled the backfills of',
  enable: 'Enabled',
  disable: 'Disabled',
  skip: 'Skipping the next occurrences of',
  'clear-skip': 'Cleared the skip of',
};

/** The JSON body of an action form: the pause reason and end, the skip, the trigger's force, the backfill's range. */
function bodyOf(form, submitter) {
  const action = form.dataset.action;
  const text = (name) => form.elements.namedItem(name)?.value.trim() ?? '';
  if (action === 'pause') {
    const reason = text('reason');
    const until = text('until');
    return { ...(reason ? { reason } : {}), ...(until ? { until } : {}) };
  }
  if (action === 'skip') {
    const count = Number(text('count') || '1');
    return { count: Number.isFinite(count) ? count : 1, reason: text('reason') };
  }
  if (action === 'trigger') return { force: Boolean(form.elements.namedItem('force')?.checked) };
  if (action === 'backfill') {
    const body = { from: text('from'), to: text('to') || 'now', dryRun: submitter?.value !== 'run' };
    if (text('rate')) body.rate = text('rate');
    if (form.elements.namedItem('confirm')?.checked) body.confirm = true;
    return body;
  }
  return {};
}

/** A backfill's answer in a line: the slots it lists, how many it sends, the first and the last. */
function backfillSummary(result) {
  const slots = result.slots ?? [];
  const range =
    slots.length === 0 ? '' : ` (${slots[0].scheduledFor} … ${slots[slots.length - 1].scheduledFor})`;
  if (result.dryRun) {
    return `${result.name}: ${slots.length} slots${range}, ${result.toSend} to send; nothing recorded.`;
  }
  return `Backfill #${result.backfill.id} of ${result.name} recorded: ${result.toSend} of ${slots.length} slots${range} to send at ${result.ratePerSecond}/s.`;
}

function say(text, tone) {
  const status = document.getElementById('action-status');
  if (!status) return;
  status.className = `action-status ${tone}`;
  status.textContent = text;
}

document.addEventListener('submit', async (event) => {
  const form = event.target.closest('form[data-action]');
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector('button');
  const headers = { 'content-type': 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const actor = localStorage.getItem(ACTOR_KEY);
  // RFC 8187's form: a browser sends only Latin-1 in a header, and a name may be any script.
  if (actor) headers['x-metronome-actor'] = `UTF-8''${encodeURIComponent(actor)}`;
  if (button) button.disabled = true;
  try {
    // A form names its method in data-method (DELETE ends a skip); POST takes the JSON body.
    const method = form.dataset.method ?? 'POST';
    const response = await fetch(form.action, {
      method,
      headers,
      ...(method === 'POST' ? { body: JSON.stringify(bodyOf(form, event.submitter)) } : {}),
      credentials: 'omit',
    });
    const result = await response.json().catch(() => ({}));
    if (response.ok) {
      const verb = VERBS[form.dataset.action] ?? 'Done';
      if (form.dataset.action === 'backfill') {
        say(backfillSummary(result), 'ok');
        lastRefresh = 0;
        void refresh();
        return;
      }
      const detail = result.taskId
        ? ` (task ${result.taskId}: ${result.status})`
        : result.changed === false
          ? ' (no change)'
          : '';
      say(`${verb} ${result.name}${detail}.`, 'ok');
      lastRefresh = 0;
      void refresh();
    } else {
      const message = result.error?.message ?? response.statusText;
      const hint = response.status === 401 ? ' Set the token with the Token button.' : '';
      say(`Refused (${response.status}): ${message}.${hint}`, 'bad');
    }
  } catch (error) {
    say(`The beat did not answer: ${error.message}`, 'bad');
  } finally {
    if (button) button.disabled = false;
  }
});

listen();
