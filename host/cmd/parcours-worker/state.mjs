// The host's State on Cloudflare Workers (host/cloudflare DurableState):
// one Durable Object per key holding one versioned value with its expiry.
// A Durable Object runs one call at a time and its storage calls do not
// let another call in between (input gates), so each swap is an atomic
// compare-and-swap: every limit and session rule is the Go host's, the
// object only keeps the value consistent across every isolate and
// location. The alarm deletes the value at its expiry: nothing outlives
// it (no health data is kept here; session ids are hashes of tokens).
import { DurableObject } from "cloudflare:workers";

export class ParcoursState extends DurableObject {
  // get returns {value, version}: value null and version 0 when absent or
  // expired.
  async get() {
    const r = await this.ctx.storage.get("r");
    if (!r || r.expires <= Date.now()) return { value: null, version: 0 };
    return { value: r.value, version: r.version };
  }

  // swap stores value (null deletes) for ttl ms if the value is still at
  // version; false, storing nothing, when another call changed it first.
  async swap(version, value, ttl) {
    const now = Date.now();
    const r = await this.ctx.storage.get("r");
    const live = r && r.expires > now;
    if ((live ? r.version : 0) !== version) return false;
    if (value === null) {
      await this.ctx.storage.deleteAll();
      await this.ctx.storage.deleteAlarm();
      return true;
    }
    // Versions only grow while the object holds anything, expired or not.
    const expires = now + Math.max(1, ttl);
    await this.ctx.storage.put("r", { value, version: (r ? r.version : 0) + 1, expires });
    await this.ctx.storage.setAlarm(expires);
    return true;
  }

  async alarm() {
    const r = await this.ctx.storage.get("r");
    if (r && r.expires > Date.now()) {
      await this.ctx.storage.setAlarm(r.expires);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}

// globalThis.parcoursState(namespace, jurisdiction, "get", key) and
// (namespace, jurisdiction, "swap", key, version, value, ttlMs) are what Go calls: the
// object of key, by name, reached over RPC from the request's own context.
// jurisdiction ("eu", or "" for none) keeps the objects' storage there.
// (async: whatever throws becomes a rejection that Go returns as an error.)
globalThis.parcoursState = async (ns, jurisdiction, op, key, version, value, ttl) => {
  if (jurisdiction) ns = ns.jurisdiction(jurisdiction);
  const stub = ns.get(ns.idFromName(key));
  return op === "get" ? stub.get() : stub.swap(version, value, ttl);
};
