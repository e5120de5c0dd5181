// Contract test: drive tests/fakes/cloudflare.py with the official Cloudflare
// Node.js client (npm "cloudflare" 4.x), so the fake answers the way the SDK
// expects the real API to: envelope, pagination, errors, batch, retries.
// Needs CF_URL (…/client/v4), CF_TOKEN, CF_CTL (https://127.0.0.1:PORT, for
// /__fake/), NODE_EXTRA_CA_CERTS (the test CA, so TLS is verified), and the
// fake started with tests/contract/cloudflare-seed.json; optional
// CF_AUTH_EMAIL/CF_AUTH_KEY (legacy key auth) and CF_SCOPED_TOKEN (a token
// restricted to zone other.test). Prints "ok - …"/"not ok - …" lines and
// "N passed, M failed"; exits 1 on any failure.
import Cloudflare from 'cloudflare';
import assert from 'node:assert/strict';
import { t, controller, done } from './harness.mjs';

const { CF_URL, CF_TOKEN, CF_CTL } = process.env;
if (!CF_URL || !CF_TOKEN || !CF_CTL) {
  console.error('cloudflare.mjs: set CF_URL, CF_TOKEN and CF_CTL');
  process.exit(2);
}
const mk = (o) => new Cloudflare({ baseURL: CF_URL, apiToken: null, apiKey: null,
  apiEmail: null, userServiceKey: null, maxRetries: 2, timeout: 20000, ...o });
const cf = mk({ apiToken: CF_TOKEN });

const ctl = controller(CF_CTL);
async function all(params) {
  const out = [];
  for await (const r of cf.dns.records.list(params)) out.push(r);
  return out;
}
// expectError(promise, Class, status, code): the SDK's typed error with the code
async function expectError(p, cls, status, code) {
  let err;
  try { await p; } catch (e) { err = e; }
  assert.ok(err, 'expected an error');
  assert.ok(err instanceof cls, `want ${cls.name}, got ${err && err.constructor.name}: ${err}`);
  assert.ok(err instanceof Cloudflare.APIError);
  assert.equal(err.status, status);
  assert.equal(err.errors[0].code, code, JSON.stringify(err.errors));
  return err;
}
const HEX32 = /^[0-9a-f]{32}$/;

let zid;
await t('zones.list by name finds exactly the zone', async () => {
  const page = await cf.zones.list({ name: 'example.com' });
  assert.equal(page.result.length, 1);
  const z = page.result[0];
  assert.equal(z.name, 'example.com');
  assert.match(z.id, HEX32);
  assert.equal(z.status, 'active');
  assert.equal(page.result_info.total_count, 1);
  zid = z.id;
});
await t('zones.list for an unknown name is empty, not an error', async () => {
  const page = await cf.zones.list({ name: 'nope.example.org' });
  assert.deepEqual(page.result, []);
});
await t('zones.list of everything with autoPaging (per_page 5)', async () => {
  const names = [];
  for await (const z of cf.zones.list({ per_page: 5 })) names.push(z.name);
  assert.deepEqual(names, ['example.com', 'other.test', 'sub.example.com']);
});
await t('user.tokens.verify says active', async () => {
  const v = await cf.user.tokens.verify();
  assert.equal(v.status, 'active');
  assert.match(v.id, HEX32);
});

await t('records.list type+name.exact returns the SPF TXT, quoted', async () => {
  const rs = await all({ zone_id: zid, type: 'TXT', name: { exact: 'EXAMPLE.com' } });
  assert.equal(rs.length, 1);
  assert.equal(rs[0].content, '"v=spf1 include:_spf.example.net ~all"');
  assert.equal(rs[0].name, 'example.com');
  assert.equal(rs[0].ttl, 3600);
  assert.equal(rs[0].proxied, false);
  assert.equal(rs[0].proxiable, false);
  assert.match(rs[0].id, HEX32);
});
await t('records.list content.exact and match=any', async () => {
  let rs = await all({ zone_id: zid, content: { exact: '192.0.2.9' } });
  assert.deepEqual(rs.map((r) => r.name), ['old.example.com']);
  rs = await all({ zone_id: zid, match: 'any', type: 'MX', name: { exact: 'old.example.com' } });
  assert.deepEqual(rs.map((r) => `${r.type} ${r.name}`).sort(),
    ['A old.example.com', 'MX example.com']);
});
await t('records.list whole zone is ordered by type then name', async () => {
  const rs = await all({ zone_id: zid });
  const keys = rs.map((r) => [r.type, r.name]);
  const sorted = [...keys].sort((a, b) => (a[0] + ' ' + a[1] < b[0] + ' ' + b[1] ? -1 : a[0] + ' ' + a[1] > b[0] + ' ' + b[1] ? 1 : 0));
  assert.deepEqual(keys, sorted);
  assert.equal(rs.length, 12);
  assert.equal(rs.find((r) => r.type === 'MX').priority, 10);
});
await t('records.list autoPaging over 3 pages of 3 (and stops on the empty 4th)', async () => {
  await ctl('POST', '/__fake/reset-calls');
  const first = await cf.dns.records.list({ zone_id: zid, name: { exact: 'page.example.com' }, per_page: 3 });
  assert.deepEqual(first.result_info, { page: 1, per_page: 3, count: 3, total_count: 7, total_pages: 3 });
  const rs = await all({ zone_id: zid, name: { exact: 'page.example.com' }, per_page: 3 });
  assert.deepEqual(rs.map((r) => r.content).sort(), ['"p1"', '"p2"', '"p3"', '"p4"', '"p5"', '"p6"', '"p7"']);
  const calls = await ctl('GET', '/__fake/calls');
  assert.equal(calls['GET /zones/:id/dns_records'], 1 + 4);
});

let txt, cname;
await t('records.create TXT (relative name, quoted content) returns the full record', async () => {
  txt = await cf.dns.records.create({ zone_id: zid, type: 'TXT', name: '_dmarc',
    content: '"v=DMARC1; p=none"', ttl: 3600, proxied: false });
  assert.match(txt.id, HEX32);
  assert.equal(txt.name, '_dmarc.example.com');
  assert.equal(txt.content, '"v=DMARC1; p=none"');
  assert.equal(txt.ttl, 3600);
  assert.equal(txt.proxiable, false);
  assert.ok(txt.created_on && txt.modified_on);
});
await t('records.create CNAME', async () => {
  cname = await cf.dns.records.create({ zone_id: zid, type: 'CNAME', name: 'email.mg.example.com',
    content: 'mailgun.org', ttl: 3600, proxied: false });
  assert.equal(cname.type, 'CNAME');
  assert.equal(cname.content, 'mailgun.org');
  assert.equal(cname.proxiable, true);
  assert.equal(cname.proxied, false);
});
await t('a long TXT string is split into 255-byte strings', async () => {
  const key = 'k'.repeat(300);
  const r = await cf.dns.records.create({ zone_id: zid, type: 'TXT', name: 'long.example.com',
    content: `"${key}"`, ttl: 300 });
  assert.equal(r.content, `"${'k'.repeat(255)}" "${'k'.repeat(45)}"`);
  await cf.dns.records.delete(r.id, { zone_id: zid });
});
await t('duplicate TXT surfaces as BadRequestError with code 81058', async () => {
  await expectError(cf.dns.records.create({ zone_id: zid, type: 'TXT', name: '_dmarc.example.com',
    content: '"v=DMARC1; p=none"', ttl: 3600 }), Cloudflare.BadRequestError, 400, 81058);
});
await t('A beside a CNAME is refused with 81054', async () => {
  await expectError(cf.dns.records.create({ zone_id: zid, type: 'A', name: 'email.mg.example.com',
    content: '192.0.2.7', ttl: 300 }), Cloudflare.BadRequestError, 400, 81054);
});
await t('proxied TXT is refused with 9004; ttl 30 with 9021; name outside the zone with 9000', async () => {
  await expectError(cf.dns.records.create({ zone_id: zid, type: 'TXT', name: 'x.example.com',
    content: '"x"', ttl: 300, proxied: true }), Cloudflare.BadRequestError, 400, 9004);
  await expectError(cf.dns.records.create({ zone_id: zid, type: 'TXT', name: 'x.example.com',
    content: '"x"', ttl: 30 }), Cloudflare.BadRequestError, 400, 9021);
  await expectError(cf.dns.records.create({ zone_id: zid, type: 'TXT', name: 'x.example.org',
    content: '"x"', ttl: 300 }), Cloudflare.BadRequestError, 400, 9000);
});
await t('records.edit (PATCH) changes only the fields sent', async () => {
  const r = await cf.dns.records.edit(txt.id, { zone_id: zid, content: '"v=DMARC1; p=quarantine"' });
  assert.equal(r.id, txt.id);
  assert.equal(r.content, '"v=DMARC1; p=quarantine"');
  assert.equal(r.ttl, 3600);
  assert.equal(r.name, '_dmarc.example.com');
  const g = await cf.dns.records.get(txt.id, { zone_id: zid });
  assert.equal(g.content, '"v=DMARC1; p=quarantine"');
});
await t('records.update (PUT) replaces the record; omitted fields reset', async () => {
  await cf.dns.records.edit(cname.id, { zone_id: zid, comment: 'tracking' });
  const r = await cf.dns.records.update(cname.id, { zone_id: zid, type: 'CNAME',
    name: 'email.mg.example.com', content: 'eu.mailgun.org', ttl: 600 });
  assert.equal(r.content, 'eu.mailgun.org');
  assert.equal(r.ttl, 600);
  assert.equal(r.proxied, false);
  assert.equal(r.comment, null);
});
await t('records.delete returns the id; get afterwards is a 404 with 81044', async () => {
  const d = await cf.dns.records.delete(txt.id, { zone_id: zid });
  assert.deepEqual(d, { id: txt.id });
  await expectError(cf.dns.records.get(txt.id, { zone_id: zid }), Cloudflare.NotFoundError, 404, 81044);
});

await t('records.batch: deletes, patches, puts, posts in order, full records back', async () => {
  const [old] = await all({ zone_id: zid, type: 'A', name: { exact: 'old.example.com' } });
  const [spf] = await all({ zone_id: zid, type: 'TXT', name: { exact: 'example.com' } });
  const [p1] = await all({ zone_id: zid, content: { exact: '"p1"' } });
  const res = await cf.dns.records.batch({ zone_id: zid,
    deletes: [{ id: old.id }],
    patches: [{ id: spf.id, content: '"v=spf1 include:mailgun.org ~all"' }],
    puts: [{ id: p1.id, type: 'TXT', name: 'page.example.com', content: '"p1 again"', ttl: 3600 }],
    // a CNAME where the deleted A was: works because deletes run first
    posts: [{ type: 'CNAME', name: 'old.example.com', content: 'new.example.net', ttl: 300, proxied: false },
      { type: 'TXT', name: 'mx._domainkey.example.com', content: '"k=rsa; p=MIIB"', ttl: 3600 }] });
  assert.equal(res.deletes.length, 1);
  assert.equal(res.deletes[0].id, old.id);
  assert.equal(res.patches[0].content, '"v=spf1 include:mailgun.org ~all"');
  assert.equal(res.patches[0].ttl, 3600);
  assert.equal(res.puts[0].content, '"p1 again"');
  assert.deepEqual(res.posts.map((r) => `${r.type} ${r.name}`),
    ['CNAME old.example.com', 'TXT mx._domainkey.example.com']);
  res.posts.forEach((r) => assert.match(r.id, HEX32));
  const now = await all({ zone_id: zid, name: { exact: 'old.example.com' } });
  assert.deepEqual(now.map((r) => r.type), ['CNAME']);
});
await t('records.batch is all-or-nothing: a failing post undoes the delete', async () => {
  const before = await all({ zone_id: zid });
  const victim = before.find((r) => r.name === 'page.example.com');
  await expectError(cf.dns.records.batch({ zone_id: zid, deletes: [{ id: victim.id }],
    posts: [{ type: 'TXT', name: 'mx._domainkey.example.com', content: '"k=rsa; p=MIIB"', ttl: 3600 }] }),
  Cloudflare.BadRequestError, 400, 81058);
  const after = await all({ zone_id: zid });
  assert.deepEqual(after.map((r) => r.id).sort(), before.map((r) => r.id).sort());
});

await t('an unknown token is PermissionDeniedError 403 code 10000', async () => {
  await expectError(mk({ apiToken: 'not-a-known-token' }).zones.list({ name: 'example.com' }),
    Cloudflare.PermissionDeniedError, 403, 10000);
});
if (process.env.CF_SCOPED_TOKEN) {
  await t('a token scoped to other.test sees no example.com and gets 403 on its records', async () => {
    const scoped = mk({ apiToken: process.env.CF_SCOPED_TOKEN });
    assert.deepEqual((await scoped.zones.list({ name: 'example.com' })).result, []);
    assert.equal((await scoped.zones.list({ name: 'other.test' })).result.length, 1);
    await expectError(scoped.dns.records.list({ zone_id: zid }), Cloudflare.PermissionDeniedError, 403, 10000);
  });
}
if (process.env.CF_AUTH_EMAIL && process.env.CF_AUTH_KEY) {
  await t('legacy X-Auth-Email + X-Auth-Key works; a token in X-Auth-Key is 400 6003', async () => {
    const legacy = mk({ apiEmail: process.env.CF_AUTH_EMAIL, apiKey: process.env.CF_AUTH_KEY });
    assert.equal((await legacy.zones.list({ name: 'example.com' })).result[0].id, zid);
    const bad = mk({ apiEmail: process.env.CF_AUTH_EMAIL, apiKey: CF_TOKEN });
    const e = await expectError(bad.zones.list({ name: 'example.com' }), Cloudflare.BadRequestError, 400, 6003);
    assert.equal(e.errors[0].error_chain[0].code, 6103);
  });
}

await t('SDK retries an injected 429 (Retry-After) and a 500, then succeeds', async () => {
  await ctl('POST', '/__fake/reset-calls');
  await ctl('POST', '/__fake/faults', { rate_limit: { count: 1, retry_after: 1 }, status_500: 1 });
  const t0 = Date.now();
  const page = await cf.zones.list({ name: 'example.com' });
  assert.equal(page.result[0].id, zid);
  assert.ok(Date.now() - t0 >= 900, 'Retry-After: 1 was honoured');
  const calls = await ctl('GET', '/__fake/calls');
  assert.equal(calls['GET /zones'], 3);
  assert.equal(calls.total, 3);
});
await t('429 surfaces as RateLimitError code 971 once retries are exhausted', async () => {
  await ctl('POST', '/__fake/faults', { rate_limit: { count: 3, retry_after: 0 } });
  const e = await expectError(cf.zones.list({ name: 'example.com' }), Cloudflare.RateLimitError, 429, 971);
  assert.equal(e.headers['retry-after'], '0');
});
await t('a dropped connection (after the effect) is an APIConnectionError; the record exists', async () => {
  await ctl('POST', '/__fake/faults', { drop: { count: 3, when: 'after', method: 'POST' } });
  let err;
  try {
    await cf.dns.records.create({ zone_id: zid, type: 'TXT', name: 'drop.example.com', content: '"d"', ttl: 300 });
  } catch (e) { err = e; }
  // the first try was applied and dropped; the SDK's own retries then hit
  // the remaining drops (a retry would otherwise have answered 81058)
  assert.ok(err instanceof Cloudflare.APIConnectionError, String(err));
  const rs = await all({ zone_id: zid, name: { exact: 'drop.example.com' } });
  assert.equal(rs.length, 1);
});

done();
