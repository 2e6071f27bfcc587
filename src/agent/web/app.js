// The agent's web page, its entry module: wires the sections (modules in js/), then connects
// with the API token (from the URL fragment, this tab's storage or the token field): loads who
// the agent is and opens the event stream, whose (re)connections load everything else. Every
// view renders with DOM calls and textContent, never HTML from data; API errors go to the status
// line.
import { $ } from './js/dom.js';
import {
  ApiError,
  api,
  currentToken,
  describe,
  forgetToken,
  setStatus,
  showError,
  useToken,
} from './js/api.js';
import { copyExactAmounts } from './js/amounts.js';
import { foldIdentity } from './js/agent.js';
import { wireChannels } from './js/channels.js';
import { wireConnections } from './js/connections.js';
import { wireCredentials } from './js/credentials.js';
import { connectEvents, streamState } from './js/events.js';
import { wireMessages } from './js/messages.js';
import { wirePayments } from './js/payments.js';
import './js/proposals.js';
import { render, state } from './js/state.js';

/** Shows the token field with `why` in the status line. */
function askForToken(why) {
  streamState('closed', 'not connected');
  setStatus(why, 'error');
  $('token-form').hidden = false;
  $('token-input').focus();
}

/** Connects with the current token: true once the agent took it. */
async function connect() {
  try {
    state.info = await api('GET', '/info');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      forgetToken();
      askForToken(
        `The agent refused the API token: ${describe(err)}. Paste the token, or open the URL that \`perun-agent page\` prints.`,
      );
    } else {
      streamState('closed', 'not connected');
      showError(err, 'Loading the agent');
    }
    return false;
  }
  $('token-form').hidden = true;
  render.info();
  setStatus('Connected', 'ok');
  connectEvents();
  return true;
}

function wireTokenForm() {
  const form = $('token-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = form.elements.token;
    useToken(input.value);
    input.value = '';
    setStatus('Checking the token…', 'info');
    await connect();
  });
}

async function main() {
  foldIdentity();
  copyExactAmounts();
  wireTokenForm();
  wireConnections();
  wireMessages();
  wireChannels();
  wirePayments();
  wireCredentials();
  if (!currentToken()) {
    askForToken(
      'No API token: paste it below, or open the URL that `perun-agent page` prints (it ends in #token=…)',
    );
    return;
  }
  await connect();
}

main();
