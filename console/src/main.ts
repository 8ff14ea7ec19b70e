// The tenant console: a static single-page app served from Workers static assets at /console. It holds
// no session on the server; the API key is in sessionStorage and every call goes to the public API.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { clearApiKey, readApiKey } from './lib/session.ts';
import { ROUTES, renderShell, routeOf } from './views/shell.ts';
import { renderSignIn } from './views/sign-in.ts';

const root = document.getElementById('app');
if (!root) throw new Error('#app missing from console.html');
let shell: ReturnType<typeof renderShell> | undefined;

function signOut(message = 'You are signed out. The API key was removed from this tab.'): void {
  clearApiKey();
  shell = undefined;
  history.replaceState(null, '', location.pathname);
  renderSignIn(root!, signedIn, message);
  document.title = 'Sign in · AgentIdP console';
}

function signedIn(): void {
  const key = readApiKey();
  if (!key) {
    signOut('Sign in to continue.');
    return;
  }
  shell = renderShell(root!, key, signOut);
  const path = routeOf(location.hash);
  if (path) shell.show(path, false);
  else location.hash = `#/${ROUTES[0]!.path}`; // hashchange shows it
}

window.addEventListener('hashchange', () => {
  const path = routeOf(location.hash);
  if (shell && path) shell.show(path, true);
});

// The skip link targets <main>, which is re-created per page: focus it by hand, without changing the route.
document.addEventListener('click', (ev) => {
  const link = (ev.target as Element | null)?.closest?.('a.skip-link');
  if (!link) return;
  ev.preventDefault();
  document.getElementById('main')?.focus();
});

if (readApiKey()) signedIn();
else {
  renderSignIn(root, signedIn);
  document.title = 'Sign in · AgentIdP console';
}
