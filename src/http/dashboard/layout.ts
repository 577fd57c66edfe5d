/**
 * The page shell: header with the navigation, the leader, the token button and the live indicator;
 * the main content; the token dialog. No inline script or style (the Content-Security-Policy forbids
 * them): behaviour is web/dashboard.js, looks are web/dashboard.css.
 */
import type { ServerResponse } from 'node:http';
import { currentLeader } from '../../observe/leader.ts';
import { send } from '../api/respond.ts';
import type { AppContext } from '../context.ts';
import { assetUrl } from './assets.ts';
import { type Html, html } from './html.ts';

export type Section = 'schedules' | 'now' | 'forecast' | 'none';

export interface PageContent {
  title: string;
  section: Section;
  body: Html;
  /** The leader pill in the header (pages read it; an error page has none). */
  leader?: { holder: string | null; epoch: number; live: boolean } | null;
}

const NAV: [Section, string, string][] = [
  ['schedules', '/', 'Schedules'],
  ['now', '/now', 'Now'],
  ['forecast', '/next-24h', 'Next 24 h'],
];

export async function leaderPill(app: AppContext): Promise<PageContent['leader']> {
  try {
    return await currentLeader(app.database, app.group);
  } catch {
    return null;
  }
}

function layout(content: PageContent, app: AppContext | null): Html {
  const mutations = app?.token ? 'token' : 'off';
  const leader = content.leader;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${content.title} · Metronome</title>
<link rel="icon" href="${assetUrl('favicon.svg')}" type="image/svg+xml">
<link rel="stylesheet" href="${assetUrl('dashboard.css')}">
<script type="module" src="${assetUrl('dashboard.js')}"></script>
</head>
<body data-mutations="${mutations}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/"><img src="${assetUrl('favicon.svg')}" alt="" width="20" height="20"> Metronome</a>
  <nav aria-label="Main">
    ${NAV.map(
      ([section, href, label]) =>
        html`<a href="${href}"${section === content.section ? html` aria-current="page"` : ''}>${label}</a>`,
    )}
  </nav>
  <div class="top-right">
    ${
      leader === undefined
        ? ''
        : html`<a class="pill ${leader?.live ? 'ok' : 'bad'}" href="/now" id="leader-pill">${
            leader?.live
              ? html`leader <b>${shortHolder(leader.holder)}</b> · epoch ${leader.epoch}`
              : 'no leader'
          }</a>`
    }
    <button type="button" id="token-button" class="button quiet" aria-haspopup="dialog">${
      mutations === 'off' ? 'Read-only' : 'Token'
    }</button>
    <span id="live-status" class="live" role="status" aria-live="polite">live updates off</span>
  </div>
</header>
<main id="main" tabindex="-1">
${content.body}
</main>
<dialog id="token-dialog" aria-labelledby="token-title">
  <form method="dialog" id="token-form">
    <h2 id="token-title">Changes</h2>
    ${
      mutations === 'off'
        ? html`<p>This beat serves the dashboard read-only: start it with <code>METRONOME_API_TOKEN</code> set to allow pausing, resuming, triggering and enabling schedules.</p>`
        : html`<p>Pausing, resuming, triggering and enabling need the token the beat was started with (<code>METRONOME_API_TOKEN</code>). It is kept in this tab only.</p>
    <label for="token-input">Token</label>
    <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false">
    <label for="actor-input">Your name, for the audit log</label>
    <input id="actor-input" name="actor" type="text" autocomplete="name" maxlength="64">`
    }
    <div class="buttons">
      ${
        mutations === 'off'
          ? ''
          : html`<button type="submit" value="save" class="button">Save</button>
      <button type="submit" value="forget" class="button quiet">Forget token</button>`
      }
      <button type="submit" value="cancel" class="button quiet">Close</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;
}

/** `host:1234:ab12cd34` → `host:1234` (the random part is in the title). */
function shortHolder(holder: string | null): string {
  if (!holder) return '—';
  const parts = holder.split(':');
  return parts.length >= 3 ? parts.slice(0, -1).join(':') : holder;
}

export function sendPage(
  res: ServerResponse,
  status: number,
  content: PageContent,
  app: AppContext | null,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'text/html; charset=utf-8', layout(content, app).text, headers);
}
