/** A refusal or a failure as a page (the same status and message the API would give). */
import type { ApiError } from '../../api/respond.ts';
import { html } from '../html.ts';
import type { PageContent } from '../layout.ts';

export function errorPage(error: ApiError): PageContent {
  const title = error.status === 404 ? 'Not found' : error.status < 500 ? 'Refused' : 'Something went wrong';
  return {
    title,
    section: 'none',
    body: html`<h1>${title}</h1>
<p class="notice ${error.status < 500 ? 'warn' : 'bad'}">${error.message}</p>
<p><a href="/">All schedules</a> · <a href="/now">Now</a></p>`,
  };
}
