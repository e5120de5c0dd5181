// Contract test: drive tests/fakes/route53.py with the official AWS SDK for
// JavaScript v3 Route 53 client (npm "@aws-sdk/client-route-53"), so the
// fake answers the way the SDK expects the real service to: SigV4 (the
// SDK's own signer, checked by the fake), XML shapes, pagination tokens,
// both InvalidChangeBatch shapes, error codes, retries on Throttling.
// Needs R53_URL (https://127.0.0.1:PORT), R53_AKID, R53_SECRET, R53_TEMP_AKID,
// R53_TEMP_SECRET, R53_TOKEN, NODE_EXTRA_CA_CERTS (the test CA), and the fake
// started with tests/contract/route53-seed.json and those credentials.
// Prints "ok - ..."/"not ok - ..." lines and "N passed, M failed".
import {
  Route53Client, ListHostedZonesByNameCommand, ListHostedZonesCommand,
  GetHostedZoneCommand, ListResourceRecordSetsCommand,
  ChangeResourceRecordSetsCommand, GetChangeCommand, paginateListHostedZones,
} from '@aws-sdk/client-route-53';
import assert from 'node:assert/strict';
import { t, controller, done } from './harness.mjs';

const { R53_URL, R53_AKID, R53_SECRET, R53_TEMP_AKID, R53_TEMP_SECRET, R53_TOKEN } = process.env;
if (!R53_URL || !R53_AKID || !R53_SECRET) {
  console.error('route53.mjs: set R53_URL, R53_AKID, R53_SECRET (and the R53_TEMP_* ones)');
  process.exit(2);
}
const mk = (credentials, o = {}) => new Route53Client({
  endpoint: R53_URL, region: 'us-east-1', credentials, maxAttempts: 4, ...o });
const r53 = mk({ accessKeyId: R53_AKID, secretAccessKey: R53_SECRET });

const ctl = controller(R53_URL);
async function expectError(p, name, status) {
  let err;
  try { await p; } catch (e) { err = e; }
  assert.ok(err, 'expected an error');
  assert.equal(err.name, name, `want ${name}, got ${err.name}: ${err.message}`);
  assert.equal(err.$metadata.httpStatusCode, status);
  return err;
}

let pub, priv;
await t('ListHostedZonesByName: the public and the private zone of one name', async () => {
  const r = await r53.send(new ListHostedZonesByNameCommand({ DNSName: 'example.com', MaxItems: 10 }));
  const same = r.HostedZones.filter((z) => z.Name === 'example.com.');
  assert.equal(same.length, 2);
  pub = same.find((z) => !z.Config.PrivateZone);
  priv = same.find((z) => z.Config.PrivateZone);
  assert.ok(pub && priv);
  assert.match(pub.Id, /^\/hostedzone\/Z[A-Z0-9]+$/);
  assert.equal(r.DNSName, 'example.com');
  assert.equal(r.IsTruncated, false);
  assert.equal(typeof pub.ResourceRecordSetCount, 'number');
});

await t('ListHostedZones paginator at MaxItems 2 sees every zone once', async () => {
  const ids = [];
  for await (const page of paginateListHostedZones({ client: r53, pageSize: 2 }, {}))
    for (const z of page.HostedZones) ids.push(z.Id);
  assert.equal(ids.length, 4);
  assert.equal(new Set(ids).size, 4);
});

await t('ListHostedZonesByName pages with NextDNSName/NextHostedZoneId', async () => {
  const seen = [];
  let q = { DNSName: 'com', MaxItems: 1 };
  for (let i = 0; i < 10; i++) {
    const r = await r53.send(new ListHostedZonesByNameCommand(q));
    seen.push(...r.HostedZones.map((z) => z.Name));
    if (!r.IsTruncated) break;
    q = { DNSName: r.NextDNSName, HostedZoneId: r.NextHostedZoneId, MaxItems: 1 };
  }
  assert.deepEqual(seen, ['example.com.', 'example.com.', 'big.example.', 'other.test.']);
});

await t('GetHostedZone (the SDK strips /hostedzone/)', async () => {
  const r = await r53.send(new GetHostedZoneCommand({ Id: pub.Id }));
  assert.equal(r.HostedZone.Name, 'example.com.');
  assert.equal(r.DelegationSet.NameServers.length, 4);
});

await t('ListResourceRecordSets: pages of 2 in Route 53 order, both TXT strings', async () => {
  const z = (await r53.send(new ListHostedZonesByNameCommand({ DNSName: 'big.example' }))).HostedZones[0];
  const got = [];
  let q = { HostedZoneId: z.Id, MaxItems: 2 };
  for (let i = 0; i < 50; i++) {
    const r = await r53.send(new ListResourceRecordSetsCommand(q));
    assert.ok(r.ResourceRecordSets.length <= 2);
    got.push(...r.ResourceRecordSets.map((s) => `${s.Name} ${s.Type}`));
    if (!r.IsTruncated) break;
    q = { HostedZoneId: z.Id, MaxItems: 2, StartRecordName: r.NextRecordName, StartRecordType: r.NextRecordType };
  }
  assert.deepEqual(got, ['big.example. NS', 'big.example. SOA', 'big.example. TXT',
    '_dmarc.big.example. TXT', 'www-1.big.example. A', 'www.big.example. A', 'a.www.big.example. A']);
  const apex = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: z.Id,
    StartRecordName: 'big.example.', StartRecordType: 'TXT', MaxItems: 1 }));
  assert.deepEqual(apex.ResourceRecordSets[0].ResourceRecords.map((v) => v.Value),
    ['"v=spf1 -all"', '"google-site-verification=abc"']);
  assert.equal(apex.ResourceRecordSets[0].TTL, 3600);
});

let change;
await t('ChangeResourceRecordSets: DELETE exact + CREATE in one batch, PENDING', async () => {
  const r = await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: pub.Id, ChangeBatch: {
    Comment: 'contract', Changes: [
      { Action: 'DELETE', ResourceRecordSet: { Name: 'example.com.', Type: 'TXT', TTL: 300,
        ResourceRecords: [{ Value: '"v=spf1 -all"' }] } },
      { Action: 'CREATE', ResourceRecordSet: { Name: 'example.com', Type: 'TXT', TTL: 3600,
        ResourceRecords: [{ Value: '"v=spf1 include:mailgun.org -all"' }] } },
      { Action: 'CREATE', ResourceRecordSet: { Name: 'pic._domainkey.example.com.', Type: 'TXT', TTL: 3600,
        ResourceRecords: [{ Value: `"${'a'.repeat(255)}" "${'b'.repeat(146)}"` }] } },
      { Action: 'UPSERT', ResourceRecordSet: { Name: 'email.mg3.example.com.', Type: 'CNAME', TTL: 3600,
        ResourceRecords: [{ Value: 'mailgun.org' }] } },
    ] } }));
  assert.equal(r.ChangeInfo.Status, 'PENDING');
  assert.match(r.ChangeInfo.Id, /^\/change\/C[A-Z0-9]+$/);
  assert.ok(r.ChangeInfo.SubmittedAt instanceof Date);
  change = r.ChangeInfo.Id;
  const st = await ctl('GET', '/__fake/state');
  const z = st.zones.find((x) => x.id === pub.Id.split('/').pop());
  const dkim = z.records.find((x) => x.name === 'pic._domainkey.example.com.');
  assert.equal(dkim.values[0].length, 255 + 146 + 5);
});

await t('GetChange: PENDING, then INSYNC', async () => {
  const a = await r53.send(new GetChangeCommand({ Id: change }));
  const b = await r53.send(new GetChangeCommand({ Id: change }));
  assert.equal(a.ChangeInfo.Status, 'PENDING');
  assert.equal(b.ChangeInfo.Status, 'INSYNC');
});

await t('InvalidChangeBatch (ErrorResponse form): nothing applied', async () => {
  const before = await ctl('GET', '/__fake/state');
  const err = await expectError(r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: pub.Id,
    ChangeBatch: { Changes: [
      { Action: 'CREATE', ResourceRecordSet: { Name: 'new.example.com.', Type: 'A', TTL: 60,
        ResourceRecords: [{ Value: '192.0.2.1' }] } },
      { Action: 'CREATE', ResourceRecordSet: { Name: 'email.mg3.example.com.', Type: 'CNAME', TTL: 60,
        ResourceRecords: [{ Value: 'x.example.net' }] } },
    ] } })), 'InvalidChangeBatch', 400);
  assert.match(err.message, /Tried to create resource record set \[name='email\.mg3\.example\.com\.', type='CNAME'\] but it already exists/);
  assert.deepEqual(await ctl('GET', '/__fake/state'), before);
});

await t('InvalidChangeBatch (<InvalidChangeBatch><Messages> form): a 400 the SDK does not name', async () => {
  // aws-sdk-go v1 has a customisation for this root element; JS v3 has none
  // and reports it as an unknown 400, which is what is checked here
  await ctl('POST', '/__fake/faults', { batch_form: { form: 'list' } });
  let err;
  try {
    await r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: pub.Id,
      ChangeBatch: { Changes: [
        { Action: 'DELETE', ResourceRecordSet: { Name: 'example.com.', Type: 'TXT', TTL: 60,
          ResourceRecords: [{ Value: '"v=spf1 include:mailgun.org -all"' }] } },
      ] } }));
  } catch (e) { err = e; }
  assert.ok(err, 'expected an error');
  assert.equal(err.$metadata.httpStatusCode, 400);
  assert.ok(['InvalidChangeBatch', 'Unknown'].includes(err.name), err.name);
  assert.equal((await ctl('GET', '/__fake/faults')).pending.length, 0);
});

await t('TXT value without quotes: InvalidChangeBatch InvalidCharacterString', async () => {
  const err = await expectError(r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: pub.Id,
    ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: 'q.example.com.', Type: 'TXT',
      TTL: 60, ResourceRecords: [{ Value: 'unquoted' }] } }] } })), 'InvalidChangeBatch', 400);
  assert.match(err.message, /InvalidCharacterString/);
});

await t('Throttling is retried by the SDK', async () => {
  await ctl('POST', '/__fake/reset-calls');
  await ctl('POST', '/__fake/faults', { throttling: { count: 2 } });
  const r = await r53.send(new GetHostedZoneCommand({ Id: pub.Id }));
  assert.equal(r.HostedZone.Id, pub.Id);
  assert.equal((await ctl('GET', '/__fake/calls')).total, 3);
});

await t('PriorRequestNotComplete arrives as that error code', async () => {
  await ctl('POST', '/__fake/faults', { prior_request: 4 });
  await expectError(mk({ accessKeyId: R53_AKID, secretAccessKey: R53_SECRET }, { maxAttempts: 1 })
    .send(new ChangeResourceRecordSetsCommand({ HostedZoneId: pub.Id, ChangeBatch: { Changes: [
      { Action: 'UPSERT', ResourceRecordSet: { Name: 'p.example.com.', Type: 'A', TTL: 60,
        ResourceRecords: [{ Value: '192.0.2.9' }] } }] } })), 'PriorRequestNotComplete', 400);
  await ctl('DELETE', '/__fake/faults');
});

await t('NoSuchHostedZone', async () => {
  await expectError(r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'ZNOSUCHZONE00001' })),
    'NoSuchHostedZone', 404);
});

await t('a wrong secret: SignatureDoesNotMatch', async () => {
  await expectError(mk({ accessKeyId: R53_AKID, secretAccessKey: R53_SECRET + 'x' })
    .send(new ListHostedZonesCommand({})), 'SignatureDoesNotMatch', 403);
});

await t('an unknown key: InvalidClientTokenId', async () => {
  await expectError(mk({ accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: R53_SECRET })
    .send(new ListHostedZonesCommand({})), 'InvalidClientTokenId', 403);
});

if (R53_TEMP_AKID) {
  await t('temporary credentials: the SDK signs X-Amz-Security-Token', async () => {
    const r = await mk({ accessKeyId: R53_TEMP_AKID, secretAccessKey: R53_TEMP_SECRET, sessionToken: R53_TOKEN })
      .send(new ListHostedZonesByNameCommand({ DNSName: 'example.com' }));
    assert.ok(r.HostedZones.length >= 2);
  });
  await t('temporary credentials, wrong token: InvalidClientTokenId', async () => {
    await expectError(mk({ accessKeyId: R53_TEMP_AKID, secretAccessKey: R53_TEMP_SECRET, sessionToken: 'nope' })
      .send(new ListHostedZonesCommand({})), 'InvalidClientTokenId', 403);
  });
}

done();
