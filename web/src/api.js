/**
 * api.js — every call to serviceradar-core: login, token refresh, queries, CSV downloads.
 *
 * The fetch function, the storage (sessionStorage in the browser) and the clock are passed in,
 * so the error mapping and the refresh rule are unit-tested with fakes and no server.
 * Rules:
 *  - The session ({access_token, refresh_token, expires_at}) lives in the given storage under
 *    one key: it lasts as long as the tab, and logout removes it.
 *  - A 401 from /api is retried once after POST /auth/refresh; if that fails too the session
 *    is removed and onAuthLost() tells the app to show the login page.
 *  - Every failure becomes an ApiError whose message a human can read: the API's own
 *    error.message (and error.parameter) for 4xx, "The API is not reachable (…)" for network
 *    errors and 5xx.
 *  - JSON bodies are parsed with json.js so counters above 2^53 stay exact.
 */
import { parseJsonExact } from './json.js';

export const SESSION_KEY = 'netflow.session';
/** Refresh the access token when it expires within this many milliseconds. */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** Bodies longer than this are not read as JSON (the core's answers are far smaller). */
const MAX_BODY = 64 * 1024 * 1024;

/** An API call that failed; kind says how. */
export class ApiError extends Error {
  /**
   * @param {'network'|'server'|'client'|'auth'|'notfound'|'bad_answer'} kind
   * @param {string} message for humans
   * @param {{status?: number, parameter?: string|null}} [more]
   */
  constructor(kind, message, more = {}) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = more.status ?? 0;
    this.parameter = more.parameter ?? null;
  }

  /** Network errors and 5xx: the API is down or failing, not the request. */
  get unreachable() {
    return this.kind === 'network' || this.kind === 'server';
  }
}

/**
 * The query string of params: arrays repeat their name, undefined/null/'' are left out.
 * @param {Record<string, string|number|boolean|string[]|undefined|null>} params
 * @returns {string} "" or "?a=b&…"
 */
export function buildQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s === '' ? '' : '?' + s;
}

/**
 * The ApiError for a non-2xx answer.
 * @param {number} status
 * @param {string} bodyText
 * @returns {ApiError}
 */
export function errorFromAnswer(status, bodyText) {
  let message = '';
  let parameter = null;
  try {
    const body = /** @type {any} */ (JSON.parse(bodyText));
    if (body && typeof body.error === 'object' && body.error !== null) {
      if (typeof body.error.message === 'string') message = body.error.message;
      if (typeof body.error.parameter === 'string') parameter = body.error.parameter;
    }
  } catch {
    /* not JSON: a proxy's page; the status says enough */
  }
  message = message.slice(0, 500);
  if (status >= 500) {
    return new ApiError('server', `The API is not reachable (HTTP ${status}${message ? ': ' + message : ''})`, { status, parameter });
  }
  if (status === 401) {
    return new ApiError('auth', message ? `Not logged in: ${message}` : 'Not logged in', { status, parameter });
  }
  if (status === 404) {
    return new ApiError('notfound', message || 'Not found (HTTP 404)', { status, parameter });
  }
  const text = message || `The request was refused (HTTP ${status})`;
  return new ApiError('client', parameter ? `${text} (parameter: ${parameter})` : text, { status, parameter });
}

/**
 * The readable text of any error (ApiError or not).
 * @param {unknown} err
 * @returns {string}
 */
export function describeError(err) {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return `Unexpected error: ${err.message}`;
  return `Unexpected error: ${String(err)}`;
}

/**
 * @typedef {{access_token: string|null, refresh_token: string|null, expires_at: string|null, username: string, noauth?: boolean}} Session
 * @typedef {{getItem(k: string): string|null, setItem(k: string, v: string): void, removeItem(k: string): void}} Store
 */

/**
 * Creates the API client.
 * @param {object} opts
 * @param {typeof fetch} opts.fetchFn
 * @param {Store} opts.storage
 * @param {() => number} [opts.now] epoch milliseconds
 * @param {() => void} [opts.onAuthLost] called after the session was removed because the
 *   server refused it (not after logout())
 * @param {string} [opts.base] URL prefix ('' = same origin)
 */
export function createApi({ fetchFn, storage, now = Date.now, onAuthLost = () => {}, base = '' }) {
  /** @type {Promise<boolean>|null} one refresh at a time */
  let refreshing = null;

  /** @returns {Session|null} */
  function session() {
    const raw = storage.getItem(SESSION_KEY);
    if (raw === null) return null;
    try {
      const s = JSON.parse(raw);
      return s && typeof s === 'object' ? s : null;
    } catch {
      return null;
    }
  }

  /** @param {Session|null} s */
  function save(s) {
    if (s === null) storage.removeItem(SESSION_KEY);
    else storage.setItem(SESSION_KEY, JSON.stringify(s));
  }

  /**
   * fetch, with network failures as ApiError.
   * @param {string} path
   * @param {RequestInit} init
   * @returns {Promise<Response>}
   */
  async function send(path, init) {
    try {
      return await fetchFn(base + path, init);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new ApiError('network', `The API is not reachable (${why || 'network error'})`);
    }
  }

  /**
   * Reads a body as text, bounded.
   * @param {Response} res
   * @returns {Promise<string>}
   */
  async function bodyText(res) {
    const len = Number(res.headers?.get?.('content-length') ?? 0);
    if (len > MAX_BODY) throw new ApiError('bad_answer', `The API's answer is too large (${len} bytes)`);
    let text;
    try {
      text = await res.text();
    } catch (e) {
      throw new ApiError('network', `The API is not reachable (${e instanceof Error ? e.message : e})`);
    }
    if (text.length > MAX_BODY) throw new ApiError('bad_answer', 'The API\'s answer is too large');
    return text;
  }

  /**
   * POST a JSON body to an /auth route.
   * @param {string} path
   * @param {object} body
   */
  async function postAuth(path, body) {
    const res = await send(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await bodyText(res);
    if (!res.ok) throw errorFromAnswer(res.status, text);
    try {
      return /** @type {any} */ (JSON.parse(text));
    } catch {
      throw new ApiError('bad_answer', `The API's answer to ${path} is not JSON`);
    }
  }

  /**
   * Logs in; the session is stored. When the core runs without authentication (404 on
   * /auth/login) a session without token is stored and queries go out without one.
   * @param {string} username
   * @param {string} password
   * @returns {Promise<Session>}
   * @throws {ApiError} 401 → kind 'auth' with the message "Wrong user name or password"
   */
  async function login(username, password) {
    let a;
    try {
      a = await postAuth('/auth/login', { username, password });
    } catch (e) {
      if (e instanceof ApiError && e.kind === 'notfound') {
        const s = { access_token: null, refresh_token: null, expires_at: null, username, noauth: true };
        save(s);
        return s;
      }
      if (e instanceof ApiError && e.status === 401) throw new ApiError('auth', 'Wrong user name or password', { status: 401 });
      if (e instanceof ApiError && e.status === 429) throw new ApiError('client', `Too many failed logins: ${e.message.replace(/ \(parameter: .*\)$/, '')}`, { status: 429 });
      throw e;
    }
    if (typeof a?.access_token !== 'string') throw new ApiError('bad_answer', 'The login answer has no access token');
    const s = { access_token: a.access_token, refresh_token: a.refresh_token ?? null, expires_at: a.expires_at ?? null, username };
    save(s);
    return s;
  }

  /**
   * Does the core run without authentication (auth.enabled false)? Asks /api/netflow/fields
   * without credentials; a 200 stores a session without token, as login() does on a 404.
   * @returns {Promise<boolean>} false on 401 or any failure (then the login page is right)
   */
  async function probeNoAuth() {
    try {
      const res = await send('/api/netflow/fields', {});
      if (!res.ok) return false;
      save({ access_token: null, refresh_token: null, expires_at: null, username: '', noauth: true });
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets the session (no server call: access tokens expire on their own). */
  function logout() {
    save(null);
  }

  /**
   * Gets a new access token with the refresh token. Concurrent callers share one request.
   * @returns {Promise<boolean>} false when there is no session or the server refused
   */
  function refresh() {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      const s = session();
      if (!s || !s.refresh_token) return false;
      try {
        const a = await postAuth('/auth/refresh', { refresh_token: s.refresh_token });
        if (typeof a?.access_token !== 'string') return false;
        save({ ...s, access_token: a.access_token, expires_at: a.expires_at ?? null });
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.unreachable) throw e;
        return false;
      }
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  /**
   * Refreshes the token when it expires within REFRESH_MARGIN_MS (call it now and then).
   * @returns {Promise<void>}
   */
  async function refreshIfDue() {
    const s = session();
    if (!s || s.noauth || !s.expires_at) return;
    const exp = Date.parse(s.expires_at);
    if (Number.isFinite(exp) && exp - now() < REFRESH_MARGIN_MS) await refresh();
  }

  /**
   * GET with the token; one refresh-and-retry on 401.
   * @param {string} path
   * @param {Record<string, any>} params
   * @returns {Promise<Response>} a 2xx answer
   */
  async function authorizedGet(path, params) {
    const url = path + buildQuery(params);
    for (let attempt = 0; ; attempt++) {
      const s = session();
      if (!s) {
        onAuthLost();
        throw new ApiError('auth', 'Not logged in');
      }
      /** @type {Record<string, string>} */
      const headers = {};
      if (s.access_token) headers.Authorization = `Bearer ${s.access_token}`;
      const res = await send(url, { headers });
      if (res.ok) return res;
      const text = await bodyText(res);
      if (res.status === 401 && attempt === 0 && !s.noauth && (await refresh())) continue;
      const err = errorFromAnswer(res.status, text);
      if (res.status === 401) {
        save(null);
        onAuthLost();
        throw new ApiError('auth', 'Your session has ended; please log in again', { status: 401 });
      }
      throw err;
    }
  }

  /**
   * A JSON answer.
   * @param {string} path e.g. "/api/netflow"
   * @param {Record<string, any>} [params]
   * @returns {Promise<any>}
   */
  async function get(path, params = {}) {
    const res = await authorizedGet(path, params);
    const text = await bodyText(res);
    try {
      return parseJsonExact(text);
    } catch {
      throw new ApiError('bad_answer', `The API's answer to ${path} is not JSON`);
    }
  }

  /**
   * A file answer (format=csv) as a Blob.
   * @param {string} path
   * @param {Record<string, any>} params
   * @returns {Promise<Blob>}
   */
  async function getBlob(path, params) {
    const res = await authorizedGet(path, params);
    try {
      return await res.blob();
    } catch (e) {
      throw new ApiError('network', `The API is not reachable (${e instanceof Error ? e.message : e})`);
    }
  }

  return { session, login, logout, refresh, refreshIfDue, probeNoAuth, get, getBlob };
}
