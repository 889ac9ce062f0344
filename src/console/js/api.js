// The public HTTP API, as any desk would call it: the bearer token, JSON
// both ways, and refusals as ApiError (code and message from the answer).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let token = null;

export function setToken(t) {
  token = t;
}

// The claims of a token, read without checking it (the server checks).
export function claims(t) {
  try {
    const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + (4 - part.length % 4) % 4, '=')));
  } catch (e) {
    return null;
  }
}

// One request; network failures throw a TypeError, refusals an ApiError.
export async function api(method, path, body, { headers = {}, signal } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token}`, ...headers }, signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) {
    return null;
  }
  let json = null;
  try {
    json = await res.json();
  } catch (e) {
    json = null;
  }
  if (!res.ok) {
    const err = json && json.error ? json.error : { code: 'http_error', message: `HTTP ${res.status}` };
    throw new ApiError(res.status, err.code, err.message);
  }
  return json;
}

// A key per message composed: a double click, or a retry after a lost
// answer, stores one message (R21).
export function idempotencyKey() {
  if (crypto.randomUUID) {
    return crypto.randomUUID();
  }
  return Array.from(crypto.getRandomValues(new Uint8Array(16)),
                    (b) => b.toString(16).padStart(2, '0')).join('');
}
