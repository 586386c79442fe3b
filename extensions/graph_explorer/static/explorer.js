// Graph Explorer: signs in with OpenID Connect (code flow, PKCE S256, a public client),
// keeps the tokens in sessionStorage, and sends Graph requests with the access token.
// The token only ever goes to this origin's /graph/ (and the issuer's token endpoint).
"use strict";

const $ = (id) => document.getElementById(id);
const PREFIX = "graph-explorer.";
const store = {
  get: (name) => JSON.parse(sessionStorage.getItem(PREFIX + name) || "null"),
  set: (name, value) => sessionStorage.setItem(PREFIX + name, JSON.stringify(value)),
  drop: (name) => sessionStorage.removeItem(PREFIX + name),
};

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));

async function challengeOf(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

async function getJSON(url) {
  const resp = await fetch(url, { headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
}

async function signIn(config, oidc) {
  const verifier = randomString();
  const state = randomString();
  store.set("pending", { verifier, state });
  store.drop("signed-out");
  const params = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    scope: config.scope,
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  window.location.assign(`${oidc.authorization_endpoint}?${params}`);
}

async function tokenRequest(oidc, form) {
  const resp = await fetch(oidc.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(form),
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok || !data.access_token) {
    throw new Error(`token endpoint: ${data.error_description || data.error || `HTTP ${resp.status}`}`);
  }
  const previous = store.get("tokens") || {};
  store.set("tokens", {
    access: data.access_token,
    refresh: data.refresh_token || null,
    id: data.id_token || previous.id || null,
    expires: Date.now() + 1000 * (data.expires_in || 300),
  });
}

async function finishSignIn(config, oidc, query) {
  const pending = store.get("pending");
  store.drop("pending");
  if (query.get("error")) {
    throw new Error(`sign-in refused: ${query.get("error_description") || query.get("error")}`);
  }
  if (!pending || query.get("state") !== pending.state) {
    throw new Error("the sign-in answer does not match a request of this page (state)");
  }
  await tokenRequest(oidc, {
    grant_type: "authorization_code",
    code: query.get("code") || "",
    redirect_uri: config.redirect_uri,
    client_id: config.client_id,
    code_verifier: pending.verifier,
  });
}

// A valid access token: refreshed (the refresh token rotates) when it expires within 30 s.
async function accessToken(config, oidc, force = false) {
  const tokens = store.get("tokens");
  if (!tokens) throw new Error("not signed in");
  if (!tokens.refresh || (!force && tokens.expires - 30000 > Date.now())) return tokens.access;
  try {
    await tokenRequest(oidc, { grant_type: "refresh_token", refresh_token: tokens.refresh, client_id: config.client_id });
  } catch (err) {
    store.drop("tokens"); // revoked or expired: only a new sign-in helps
    offerSignIn(`${err.message}; sign in again`, true);
    throw err;
  }
  return store.get("tokens").access;
}

// Who the ID token names, for display only (the page trusts Graph's answers, not this).
function username(tokens) {
  try {
    const payload = tokens.id.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))));
    return claims.preferred_username || claims.name || claims.sub;
  } catch {
    return "";
  }
}

function graphURL(path) {
  const url = new URL(path, window.location.origin);
  if (url.origin !== window.location.origin || !url.pathname.startsWith("/graph/")) {
    throw new Error("the path must start with /graph/: the token goes to Graph only");
  }
  return url;
}

function show(status, text, error = false) {
  $("status").textContent = status;
  $("answer").textContent = text;
  $("answer").classList.toggle("error", error);
}

async function send(config, oidc) {
  const method = $("method").value;
  const raw = $("body").value.trim();
  let url;
  try {
    url = graphURL($("path").value.trim());
    if (raw && (method === "GET" || method === "DELETE")) throw new Error(`${method} sends no body`);
    if (raw) JSON.parse(raw);
  } catch (err) {
    show("(not sent)", err.message, true);
    return;
  }
  show("…", "");
  const call = async (token) => {
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    if (raw) headers["Content-Type"] = "application/json";
    return fetch(url, { method, headers, body: raw || undefined });
  };
  try {
    let resp = await call(await accessToken(config, oidc));
    if (resp.status === 401 && store.get("tokens").refresh) resp = await call(await accessToken(config, oidc, true));
    const text = await resp.text();
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON: shown as it came
    }
    show(`${resp.status} ${resp.statusText}`, pretty, !resp.ok);
  } catch (err) {
    show("(failed)", err.message, true);
  }
}

async function signOut(config, oidc) {
  const tokens = store.get("tokens") || {};
  store.drop("tokens");
  store.set("signed-out", true); // back from the end-session page: stay signed out until asked
  if (tokens.refresh && oidc.revocation_endpoint) {
    const form = { token: tokens.refresh, token_type_hint: "refresh_token", client_id: config.client_id };
    await fetch(oidc.revocation_endpoint, { method: "POST", body: new URLSearchParams(form) }).catch(() => {});
  }
  if (!oidc.end_session_endpoint) {
    window.location.reload();
    return;
  }
  const params = new URLSearchParams({ client_id: config.client_id, post_logout_redirect_uri: config.redirect_uri });
  if (tokens.id) params.set("id_token_hint", tokens.id);
  window.location.assign(`${oidc.end_session_endpoint}?${params}`);
}

function offerSignIn(message, error = false) {
  $("session").textContent = message;
  $("session").classList.toggle("error", error);
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
}

function explore(config, oidc) {
  const tokens = store.get("tokens");
  const who = username(tokens);
  $("session").textContent = who ? `Signed in as ${who}` : "Signed in";
  $("sign-out").hidden = false;
  $("sign-out").addEventListener("click", () => signOut(config, oidc));
  $("explorer").hidden = false;
  $("preset").addEventListener("change", () => {
    if (!$("preset").value) return;
    $("method").value = "GET";
    $("path").value = $("preset").value;
    $("body").value = "";
    send(config, oidc);
  });
  $("request").addEventListener("submit", (event) => {
    event.preventDefault();
    send(config, oidc);
  });
}

async function main() {
  let config;
  let oidc;
  try {
    config = await getJSON("/graph-explorer/config.json");
    oidc = await getJSON(`${config.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
    $("sign-in").addEventListener("click", () => signIn(config, oidc));
    const query = new URLSearchParams(window.location.search);
    if (window.location.search) history.replaceState(null, "", window.location.pathname); // a code is used once
    if (query.has("code") || query.has("error")) await finishSignIn(config, oidc, query);
    if (store.get("tokens")) {
      explore(config, oidc);
      return;
    }
    if (!store.get("signed-out")) {
      await signIn(config, oidc);
      return;
    }
    offerSignIn("Signed out");
  } catch (err) {
    if (oidc) {
      offerSignIn(err.message, true);
    } else {
      $("session").textContent = err.message;
      $("session").classList.add("error");
    }
  }
}

main();
