// harness.mjs - what every contract test script shares: named checks that
// print "ok - ..."/"not ok - ..." lines, the fake's control endpoint, and the
// closing "N passed, M failed" line (exit 1 on any failure).
import assert from 'node:assert/strict';

let passed = 0, failed = 0;

export async function t(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}`);
    for (const l of String(e && e.stack || e).split('\n').slice(0, 8)) console.log(`#   ${l}`);
  }
}

// A caller of the fake's /__fake/ control endpoints at base (https://host:port).
export function controller(base) {
  return async function ctl(method, path, body) {
    const r = await fetch(base + path, { method, body: body ? JSON.stringify(body) : undefined,
      headers: body ? { 'content-type': 'application/json' } : {} });
    assert.equal(r.status, 200, `control ${method} ${path}`);
    return r.json();
  };
}

export function done() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
