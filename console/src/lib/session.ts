// The tenant's API key lives in this tab's sessionStorage only: never in a URL, a cookie or a log. It is
// sent as the bearer header to this origin (api.ts) and removed on sign-out.

const KEY = 'agentidp.console.apiKey';

export function readApiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveApiKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function clearApiKey(): void {
  sessionStorage.removeItem(KEY);
}
