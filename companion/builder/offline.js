// The site offline after one visit, without hiding a new deployment. Loaded by the site's
// service-worker.js before JupyterLite's own worker (service-worker-lite.js), so this fetch
// listener is called first; self.OFFLINE_MANIFEST names the build's file list (offline-<hash>.json).
//
// Every GET of the site's own files goes to the network first (revalidated: `no-cache`), so a new
// build shows at once; only when the network fails is the copy in Cache Storage answered. The copy
// is the whole build (its manifest), fetched in the background once the worker is active: fetching
// it during `install` would hold back activation, and JupyterLite's kernel needs the active worker
// for its /drive. Other builds' copies are deleted only once this one is complete.
(() => { // in its own scope: JupyterLite's worker, loaded next, declares names like CACHE at top level
"use strict";

const PREFIX = "companion-offline-";
const MANIFEST = self.OFFLINE_MANIFEST;
const CACHE = "companion-" + MANIFEST.replace(/\.json$/, ""); // companion-offline-<hash>
const SCOPE = new URL("./", self.location.href);
let complete = null; // this run of the worker's copy: started on activation, or by its first fetch after a restart

function ours(url, request) {
  // JupyterLite's worker answers the kernel's /drive and stdin requests and its heartbeat.
  return request.method === "GET" && url.origin === SCOPE.origin && url.pathname.startsWith(SCOPE.pathname)
    && !url.pathname.includes("/api/drive") && !url.pathname.includes("/api/stdin/")
    && !url.pathname.endsWith("/api/service-worker-heartbeat");
}

async function precache() {
  const files = await (await fetch(new URL(MANIFEST, SCOPE), { cache: "no-cache" })).json();
  const cache = await caches.open(CACHE);
  const have = new Set((await cache.keys()).map((r) => r.url));
  const missing = files.map((f) => new URL(f, SCOPE).href).filter((u) => !have.has(u));
  for (let i = 0; i < missing.length; i += 8) {
    await Promise.all(missing.slice(i, i + 8).map(async (u) => {
      const response = await fetch(u, { cache: "no-cache" });
      if (!response.ok) throw new Error(`offline copy: ${u}: ${response.status}`);
      await cache.put(u, response);
    }));
  }
  if (self.serviceWorker.state !== "activated") return; // a newer build's worker took over: its copy stays
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
  }
}

function precaching() {
  complete = complete || precache().catch((error) => {
    console.warn("offline copy incomplete, retried on the next start:", error);
  });
  return complete;
}

async function fromCache(url) {
  const path = url.pathname.endsWith("/") ? new URL("index.html", url) : url;
  return (await caches.match(path.href)) || (await caches.match(path.href, { ignoreSearch: true }))
    || Response.error();
}

async function networkFirst(request, url) {
  try {
    return await fetch(request, { cache: "no-cache" });
  } catch (error) {
    return fromCache(url);
  }
}

self.addEventListener("activate", (event) => {
  precaching(); // not awaited: the kernel must not wait for the copy
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (!ours(url, event.request)) return;
  event.respondWith(networkFirst(event.request, url));
  event.waitUntil(precaching()); // keeps the worker alive until the copy is complete
  event.stopImmediatePropagation(); // JupyterLite's listener would answer it again
});
})();
