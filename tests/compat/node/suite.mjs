// Runs the official Resend Node SDK (npm `resend`, pinned in ../package.json) against a live
// Herald and checks what comes back, the SDK's `{data, error, headers}` shapes included.
//
// Started by `cargo test --test api compat` (tests/api/compat.rs), which passes:
//   RESEND_BASE_URL, RESEND_API_KEY   the Herald under test and a full-access key of its team
//   HERALD_COMPAT_LIMITED_URL/_KEY    optional: a second Herald whose rate limit is 1 request/s
//   HERALD_COMPAT_SKIP_EMAILS=1       optional: leave out the emails API checks
// Each check prints `ok - …` or `not ok - …`; the last line is `node-sdk: N passed, N failed`,
// and the exit code is 1 when anything failed.

import assert from 'node:assert/strict';
import http from 'node:http';
import { Resend } from 'resend';
import { logsChecks } from './logs.mjs';

const BASE_URL = process.env.RESEND_BASE_URL;
const KEY = process.env.RESEND_API_KEY;
if (!BASE_URL || !KEY) {
  console.error('Set RESEND_BASE_URL and RESEND_API_KEY (tests/api/compat.rs does).');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// A tiny runner: every check runs, failures are reported, the summary decides the exit code.

let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`not ok - ${name}`);
    // The message says what differed; the check's name says where.
    const detail = err instanceof Error ? err.message : String(err);
    console.log(detail.split('\n').slice(0, 20).join('\n').replace(/^/gm, '  # '));
  }
}

/** The SDK's success shape: `data` set, `error` null. Returns `data`. */
function expectData(reply) {
  assert.equal(reply.error, null, `unexpected error: ${JSON.stringify(reply.error)}`);
  assert.ok(reply.data, 'data is missing');
  return reply.data;
}

/** The SDK's error shape: `data` null, `error` is Resend's `{statusCode, message, name}`. */
function expectError(reply, statusCode, names) {
  const allowed = Array.isArray(names) ? names : [names];
  assert.equal(reply.data, null, `expected an error, got data ${JSON.stringify(reply.data)}`);
  assert.ok(reply.error, 'error is missing');
  assert.equal(reply.error.statusCode, statusCode, JSON.stringify(reply.error));
  assert.ok(allowed.includes(reply.error.name), `name ${reply.error.name}, wanted ${allowed}`);
  assert.equal(typeof reply.error.message, 'string');
  assert.deepEqual(Object.keys(reply.error).sort(), ['message', 'name', 'statusCode']);
  return reply.error;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RESOURCE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?\+00$/; // "2023-10-06 23:47:56.678+00"
const UNKNOWN_ID = '0190a5b4-0000-7000-8000-000000000000';

/** A plain HTTP call, for what the SDK cannot send (e.g. no Authorization header at all). */
async function raw(method, path, { key, body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch(`${BASE_URL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/**
 * Links Herald builds start with its public URL. Under the test harness Herald listens on port 0
 * without a public URL, so links say `:0`; only then point them at the server under test.
 */
function reachable(link) {
  const url = new URL(link);
  if (url.port !== '0') return link;
  return `${BASE_URL}${url.pathname}${url.search}`;
}

// The client under test is configured the way users configure it: from the environment.
const resend = new Resend();

// ---------------------------------------------------------------------------------------------
// API keys: POST/GET/PATCH/DELETE /api-keys.

async function apiKeysChecks() {
  let full;
  await check('api-keys: create a full-access key (201, id + re_ token)', async () => {
    full = expectData(await resend.apiKeys.create({ name: 'compat node full' }));
    assert.match(full.id, UUID);
    assert.match(full.token, /^re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}$/);
  });

  await check('api-keys: the new token authenticates', async () => {
    const other = new Resend(full.token);
    expectData(await other.apiKeys.list());
  });

  await check('api-keys: sending key with unknown domain_id → 404 not_found', async () => {
    const reply = await resend.apiKeys.create({
      name: 'compat node sending',
      permission: 'sending_access',
      domain_id: UNKNOWN_ID,
    });
    expectError(reply, 404, 'not_found');
  });

  await check('api-keys: missing name → 422 missing_required_field', async () => {
    expectError(await resend.apiKeys.create({}), 422, 'missing_required_field');
  });

  await check('api-keys: name over 50 characters → 422 validation_error', async () => {
    expectError(await resend.apiKeys.create({ name: 'x'.repeat(51) }), 422, 'validation_error');
  });

  await check('api-keys: unknown permission → 422 invalid_access', async () => {
    const reply = await resend.apiKeys.create({ name: 'bad', permission: 'root' });
    expectError(reply, 422, 'invalid_access');
  });

  await check('api-keys: list shows the key with Resend fields and timestamps', async () => {
    const list = expectData(await resend.apiKeys.list());
    assert.equal(list.object, 'list');
    assert.equal(typeof list.has_more, 'boolean');
    const found = list.data.find((k) => k.id === full.id);
    assert.ok(found, 'created key is listed');
    assert.equal(found.name, 'compat node full');
    assert.match(found.created_at, RESOURCE_TIME);
    assert.ok(found.last_used_at === null || RESOURCE_TIME.test(found.last_used_at));
    assert.ok(!('token' in found), 'tokens are never listed');
  });

  await check('api-keys: list with limit 1 pages (has_more)', async () => {
    const page = expectData(await resend.apiKeys.list({ limit: 1 }));
    assert.equal(page.data.length, 1);
    assert.equal(page.has_more, true);
    const next = expectData(await resend.apiKeys.list({ limit: 1, after: page.data[0].id }));
    assert.equal(next.data.length, 1);
    assert.notEqual(next.data[0].id, page.data[0].id);
  });

  await check('api-keys: update renames', async () => {
    const updated = expectData(await resend.apiKeys.update(full.id, { name: 'compat node renamed' }));
    assert.deepEqual({ object: updated.object, id: updated.id }, { object: 'api_key', id: full.id });
    const list = expectData(await resend.apiKeys.list());
    assert.equal(list.data.find((k) => k.id === full.id)?.name, 'compat node renamed');
  });

  await check('api-keys: remove → deleted, and the token stops working (403)', async () => {
    const removed = expectData(await resend.apiKeys.remove(full.id));
    assert.deepEqual(removed, { object: 'api_key', id: full.id, deleted: true });
    expectError(await new Resend(full.token).apiKeys.list(), 403, 'invalid_api_key');
  });

  await check('api-keys: remove unknown → 404 not_found', async () => {
    expectError(await resend.apiKeys.remove(UNKNOWN_ID), 404, 'not_found');
  });

  await check('api-keys: remove with a non-UUID id → 422 invalid_parameter', async () => {
    expectError(await resend.apiKeys.remove('not-a-uuid'), 422, 'invalid_parameter');
  });
}

// ---------------------------------------------------------------------------------------------
// Authentication, conventions and rate limiting.

async function authChecks() {
  await check('auth: the SDK refuses to start without a key (client-side)', async () => {
    const saved = process.env.RESEND_API_KEY;
    delete process.env.RESEND_API_KEY;
    try {
      assert.throws(() => new Resend(), /Missing API key/);
    } finally {
      process.env.RESEND_API_KEY = saved;
    }
  });

  await check('auth: no Authorization header → 401 missing_api_key (raw fetch)', async () => {
    const reply = await raw('GET', '/api-keys');
    assert.equal(reply.status, 401);
    assert.deepEqual(Object.keys(reply.body).sort(), ['message', 'name', 'statusCode']);
    assert.equal(reply.body.name, 'missing_api_key');
    assert.equal(reply.body.statusCode, 401);
  });

  await check('auth: unknown key → 403 invalid_api_key', async () => {
    const stranger = new Resend('re_12345678_abcdefghijklmnopqrstuvwx');
    expectError(await stranger.apiKeys.list(), 403, 'invalid_api_key');
  });

  await check('auth: sending key on a full-access route → 401 restricted_api_key', async () => {
    const key = expectData(
      await resend.apiKeys.create({ name: 'compat node sender', permission: 'sending_access' }),
    );
    const sender = new Resend(key.token);
    expectError(await sender.apiKeys.list(), 401, 'restricted_api_key');
    expectError(await sender.apiKeys.create({ name: 'nope' }), 401, 'restricted_api_key');
  });

  await check('conventions: baseUrl option with a trailing slash works', async () => {
    const slashed = new Resend(KEY, { baseUrl: `${BASE_URL}/` });
    expectData(await slashed.apiKeys.list());
  });

  await check('conventions: unknown route → JSON 404 not_found, wrong method → 405', async () => {
    const missing = await raw('GET', '/no-such-route', { key: KEY });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.name, 'not_found');
    const wrong = await raw('PUT', '/api-keys', { key: KEY, body: {} });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.name, 'method_not_allowed');
  });

  await check('rate limit: ratelimit-* headers visible in the SDK headers', async () => {
    const reply = await resend.apiKeys.list();
    expectData(reply);
    for (const name of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy']) {
      assert.ok(reply.headers?.[name] !== undefined, `missing header ${name}`);
    }
    assert.match(reply.headers['ratelimit-policy'], /^\d+;w=\d+$/);
    assert.match(reply.headers['content-type'], /application\/json/);
  });

  const limitedUrl = process.env.HERALD_COMPAT_LIMITED_URL;
  const limitedKey = process.env.HERALD_COMPAT_LIMITED_KEY;
  if (limitedUrl && limitedKey) {
    await check('rate limit: over the limit → 429 rate_limit_exceeded with retry-after', async () => {
      const limited = new Resend(limitedKey, { baseUrl: limitedUrl });
      // The limit is 1 request per second: a burst of requests meets it.
      let refused = null;
      for (let i = 0; i < 20 && !refused; i += 1) {
        const reply = await limited.apiKeys.list();
        if (reply.error) refused = reply;
      }
      assert.ok(refused, 'no request was refused');
      expectError(refused, 429, 'rate_limit_exceeded');
      assert.ok(refused.headers['retry-after'], 'retry-after header');
      assert.equal(refused.headers['ratelimit-remaining'], '0');
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Emails: POST /emails, /emails/batch, GET /emails[/{id}], PATCH, cancel, attachments.
// Written against the contract (issue 2, resend.yaml, reference notes).

const MAIL = {
  from: 'Acme <onboarding@example.com>',
  to: ['delivered@resend.dev'],
  subject: 'Hello from the Node SDK',
  html: '<p>Hello <strong>there</strong></p>',
  tags: [{ name: 'category', value: 'compat_test' }],
  headers: { 'X-Entity-Ref-ID': 'compat-1' },
};

const HELLO_BASE64 = Buffer.from('hello').toString('base64');

async function emailsSendChecks() {
  let first;
  await check('emails: send to delivered@resend.dev from any domain', async () => {
    first = expectData(await resend.emails.send(MAIL));
    assert.match(first.id, UUID);
  });

  await check('emails: a sending-access key may send', async () => {
    const key = expectData(
      await resend.apiKeys.create({ name: 'compat node mailer', permission: 'sending_access' }),
    );
    const sent = expectData(await new Resend(key.token).emails.send({ ...MAIL, subject: 'via sender' }));
    assert.match(sent.id, UUID);
  });

  await check('emails: get returns the email with Resend fields', async () => {
    const email = expectData(await resend.emails.get(first.id));
    assert.equal(email.object, 'email');
    assert.equal(email.id, first.id);
    assert.deepEqual(email.to, ['delivered@resend.dev']);
    assert.equal(email.from, MAIL.from);
    assert.equal(email.subject, MAIL.subject);
    assert.equal(email.html, MAIL.html);
    assert.equal(typeof email.text, 'string', 'text is derived from html');
    assert.match(email.text, /Hello/);
    assert.match(email.created_at, RESOURCE_TIME);
    assert.equal(typeof email.last_event, 'string');
    for (const field of ['cc', 'bcc', 'reply_to', 'scheduled_at']) {
      assert.ok(field in email, `${field} is present (null or value)`);
    }
    assert.equal(email.scheduled_at, null);
  });

  await check('emails: list with limit pages newest first', async () => {
    const page = expectData(await resend.emails.list({ limit: 1 }));
    assert.equal(page.object, 'list');
    assert.equal(page.data.length, 1);
    assert.equal(page.has_more, true);
    const next = expectData(await resend.emails.list({ limit: 1, after: page.data[0].id }));
    assert.equal(next.data.length, 1);
    assert.notEqual(next.data[0].id, page.data[0].id);
  });

  await check('emails: get unknown id → 404 not_found', async () => {
    expectError(await resend.emails.get(UNKNOWN_ID), 404, 'not_found');
  });
}

async function emailsIdempotencyChecks() {
  let firstId;
  await check('emails: same Idempotency-Key and payload → same id', async () => {
    const a = expectData(await resend.emails.send(MAIL, { idempotencyKey: 'compat-node/1' }));
    const b = expectData(await resend.emails.send(MAIL, { idempotencyKey: 'compat-node/1' }));
    assert.equal(a.id, b.id);
    firstId = a.id;
  });

  await check('emails: same key, different payload → 409 invalid_idempotent_request', async () => {
    const reply = await resend.emails.send(
      { ...MAIL, subject: 'something else' },
      { idempotencyKey: 'compat-node/1' },
    );
    expectError(reply, 409, 'invalid_idempotent_request');
    assert.ok(firstId);
  });

  await check('emails: key longer than 256 characters → 400 invalid_idempotency_key', async () => {
    const reply = await resend.emails.send(MAIL, { idempotencyKey: 'k'.repeat(257) });
    expectError(reply, 400, 'invalid_idempotency_key');
  });
}

async function emailsScheduleChecks() {
  let scheduled;
  await check('emails: scheduledAt "in 1 hour" is accepted and shown', async () => {
    scheduled = expectData(await resend.emails.send({ ...MAIL, scheduledAt: 'in 1 hour' }));
    const email = expectData(await resend.emails.get(scheduled.id));
    assert.equal(email.last_event, 'scheduled');
    assert.equal(typeof email.scheduled_at, 'string');
  });

  await check('emails: update reschedules (PATCH)', async () => {
    const later = new Date(Date.now() + 2 * 3600 * 1000).toISOString();
    const updated = expectData(await resend.emails.update({ id: scheduled.id, scheduledAt: later }));
    assert.equal(updated.object, 'email');
    assert.equal(updated.id, scheduled.id);
  });

  await check('emails: cancel (empty POST body) → canceled', async () => {
    const canceled = expectData(await resend.emails.cancel(scheduled.id));
    assert.equal(canceled.object, 'email');
    assert.equal(canceled.id, scheduled.id);
    const email = expectData(await resend.emails.get(scheduled.id));
    assert.equal(email.last_event, 'canceled');
  });

  await check('emails: a canceled email cannot be rescheduled', async () => {
    const later = new Date(Date.now() + 3 * 3600 * 1000).toISOString();
    const reply = await resend.emails.update({ id: scheduled.id, scheduledAt: later });
    assert.equal(reply.data, null);
    assert.ok(reply.error.statusCode >= 400 && reply.error.statusCode < 500, JSON.stringify(reply.error));
  });

  await check('emails: scheduledAt more than 30 days ahead → 422 validation_error', async () => {
    const tooLate = new Date(Date.now() + 40 * 24 * 3600 * 1000).toISOString();
    expectError(await resend.emails.send({ ...MAIL, scheduledAt: tooLate }), 422, 'validation_error');
  });

  await check('emails: cancel unknown id → 404 not_found', async () => {
    expectError(await resend.emails.cancel(UNKNOWN_ID), 404, 'not_found');
  });
}

async function emailsBatchChecks() {
  await check('batch: strict (SDK default) sends every email', async () => {
    const reply = expectData(
      await resend.batch.send([MAIL, { ...MAIL, to: 'bounced@resend.dev', subject: 'second' }]),
    );
    assert.equal(reply.data.length, 2);
    for (const item of reply.data) assert.match(item.id, UUID);
  });

  await check('batch: strict with an invalid email fails as a whole (422)', async () => {
    const reply = await resend.batch.send([MAIL, { ...MAIL, to: 'not-an-address' }]);
    expectError(reply, 422, ['validation_error', 'missing_required_field']);
  });

  await check('batch: permissive returns data and errors[{index, message}]', async () => {
    const reply = expectData(
      await resend.batch.send([MAIL, { ...MAIL, to: 'not-an-address' }], {
        batchValidation: 'permissive',
      }),
    );
    assert.equal(reply.data.length, 1);
    assert.match(reply.data[0].id, UUID);
    assert.equal(reply.errors.length, 1);
    assert.equal(reply.errors[0].index, 1);
    assert.equal(typeof reply.errors[0].message, 'string');
  });

  await check('batch: attachments are accepted (unlike Resend)', async () => {
    const reply = expectData(
      await resend.batch.send([
        { ...MAIL, attachments: [{ filename: 'a.txt', content: Buffer.from('hello') }] },
      ]),
    );
    assert.equal(reply.data.length, 1);
  });
}

async function emailsAttachmentChecks() {
  let sent;
  await check('attachments: Buffer, base64 string and Buffer-JSON content are accepted', async () => {
    sent = expectData(
      await resend.emails.send({
        ...MAIL,
        attachments: [
          // This SDK version turns a Buffer into base64; older ones sent {"type":"Buffer","data":[…]}.
          { filename: 'buffer.txt', content: Buffer.from('hello') },
          { filename: 'base64.txt', content: HELLO_BASE64 },
          { filename: 'legacy.txt', content: { type: 'Buffer', data: [...Buffer.from('hello')] } },
          { filename: 'logo.png', content: HELLO_BASE64, contentType: 'image/png', contentId: 'logo' },
        ],
      }),
    );
    assert.match(sent.id, UUID);
  });

  let listed;
  await check('attachments: list shows each attachment', async () => {
    const list = expectData(await resend.emails.attachments.list({ emailId: sent.id }));
    assert.equal(list.object, 'list');
    listed = list.data;
    assert.deepEqual(
      listed.map((a) => a.filename).sort(),
      ['base64.txt', 'buffer.txt', 'legacy.txt', 'logo.png'],
    );
    for (const a of listed) {
      assert.match(a.id, UUID);
      assert.equal(a.size, 5, `${a.filename} holds the 5 bytes of "hello"`);
    }
    const byName = Object.fromEntries(listed.map((a) => [a.filename, a]));
    assert.match(byName['buffer.txt'].content_type, /^text\/plain/);
    assert.equal(byName['buffer.txt'].content_disposition, 'attachment');
    assert.equal(byName['logo.png'].content_type, 'image/png');
    assert.equal(byName['logo.png'].content_id, 'logo');
    assert.equal(byName['logo.png'].content_disposition, 'inline');
  });

  await check('attachments: get one, and its download_url serves the bytes', async () => {
    const wanted = listed.find((a) => a.filename === 'legacy.txt');
    const one = expectData(await resend.emails.attachments.get({ emailId: sent.id, id: wanted.id }));
    assert.equal(one.object, 'attachment');
    assert.equal(one.id, wanted.id);
    assert.equal(one.filename, 'legacy.txt');
    assert.equal(typeof one.expires_at, 'string');
    const download = await fetch(reachable(one.download_url));
    assert.equal(download.status, 200);
    assert.equal(await download.text(), 'hello');
  });

  await check('attachments: get unknown attachment → 404 not_found', async () => {
    const reply = await resend.emails.attachments.get({ emailId: sent.id, id: UNKNOWN_ID });
    expectError(reply, 404, 'not_found');
  });

  await check('attachments: neither content nor path → 422 invalid_attachment', async () => {
    const reply = await resend.emails.send({ ...MAIL, attachments: [{ filename: 'empty.txt' }] });
    expectError(reply, 422, 'invalid_attachment');
  });
}

async function emailsValidationChecks() {
  const { to: _to, ...withoutTo } = MAIL;
  const { from: _from, ...withoutFrom } = MAIL;
  await check('validation: missing `to` → 422', async () => {
    expectError(await resend.emails.send(withoutTo), 422, ['missing_required_field', 'validation_error']);
  });
  await check('validation: missing `from` → 422', async () => {
    expectError(await resend.emails.send(withoutFrom), 422, [
      'missing_required_field',
      'validation_error',
      'invalid_from_address',
    ]);
  });
  await check('validation: empty body → 422', async () => {
    expectError(await resend.emails.send({}), 422, ['missing_required_field', 'validation_error']);
  });
  await check('validation: malformed `to` → 422 validation_error', async () => {
    expectError(await resend.emails.send({ ...MAIL, to: 'not-an-address' }), 422, 'validation_error');
  });
  await check('validation: more than 50 recipients → 422 validation_error', async () => {
    const to = Array.from({ length: 51 }, (_, i) => `delivered+${i}@resend.dev`);
    expectError(await resend.emails.send({ ...MAIL, to }), 422, 'validation_error');
  });
  await check('validation: tag with characters outside [A-Za-z0-9_-] → 422 validation_error', async () => {
    const reply = await resend.emails.send({ ...MAIL, tags: [{ name: 'bad tag!', value: 'x' }] });
    expectError(reply, 422, 'validation_error');
  });
}

async function emailsChecks() {
  await emailsSendChecks();
  await emailsIdempotencyChecks();
  await emailsScheduleChecks();
  await emailsBatchChecks();
  await emailsAttachmentChecks();
  await emailsValidationChecks();
}

// ---------------------------------------------------------------------------------------------
// Webhooks: POST/GET/PATCH/DELETE /webhooks, and deliveries verified by `webhooks.verify`.

/** A local webhook endpoint that records what it receives (raw body and headers). */
async function startReceiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    received,
    /**
     * Waits (a guard against hangs, not a timing check) until `n` deliveries whose body mentions
     * `text` came in (earlier emails' events may arrive too); returns them.
     */
    async waitFor(n, text) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const found = received.filter((d) => d.body.includes(text));
        if (found.length >= n) return found;
        if (Date.now() > deadline) throw new Error(`got ${found.length} deliveries, wanted ${n}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function webhooksChecks({ deliveries }) {
  const receiver = await startReceiver();
  let hook;
  await check('webhooks: create (201, id + whsec_ signing secret)', async () => {
    hook = expectData(
      await resend.webhooks.create({ endpoint: receiver.url, events: ['email.sent', 'email.delivered'] }),
    );
    assert.equal(hook.object, 'webhook');
    assert.match(hook.id, UUID);
    assert.match(hook.signing_secret, /^whsec_[A-Za-z0-9+/=]{32,}$/);
  });

  await check('webhooks: get shows endpoint, events, status and the secret', async () => {
    const got = expectData(await resend.webhooks.get(hook.id));
    assert.equal(got.object, 'webhook');
    assert.equal(got.endpoint, receiver.url);
    assert.deepEqual(got.events, ['email.sent', 'email.delivered']);
    assert.equal(got.status, 'enabled');
    assert.match(got.created_at, RESOURCE_TIME);
    assert.equal(got.signing_secret, hook.signing_secret);
  });

  await check('webhooks: list shows it without the secret', async () => {
    const list = expectData(await resend.webhooks.list());
    assert.equal(list.object, 'list');
    const found = list.data.find((w) => w.id === hook.id);
    assert.ok(found, 'created webhook is listed');
    assert.ok(!('signing_secret' in found));
  });

  await check('webhooks: update disables and enables again', async () => {
    const updated = expectData(await resend.webhooks.update(hook.id, { status: 'disabled' }));
    assert.deepEqual(updated, { object: 'webhook', id: hook.id });
    assert.equal(expectData(await resend.webhooks.get(hook.id)).status, 'disabled');
    expectData(await resend.webhooks.update(hook.id, { status: 'enabled' }));
  });

  await check('webhooks: unknown event type → 422 validation_error', async () => {
    const reply = await resend.webhooks.create({ endpoint: receiver.url, events: ['email.nope'] });
    expectError(reply, 422, 'validation_error');
  });

  await check('webhooks: missing events → 422 missing_required_field', async () => {
    expectError(await resend.webhooks.create({ endpoint: receiver.url }), 422, 'missing_required_field');
  });

  await check('webhooks: get unknown → 404 not_found', async () => {
    expectError(await resend.webhooks.get(UNKNOWN_ID), 404, 'not_found');
  });

  if (deliveries) {
    await check('webhooks: deliveries pass resend.webhooks.verify', async () => {
      const sent = expectData(await resend.emails.send({ ...MAIL, subject: 'webhook check' }));
      const got = await receiver.waitFor(2, sent.id);
      const types = [];
      for (const delivery of got) {
        const headers = {
          id: delivery.headers['svix-id'],
          timestamp: delivery.headers['svix-timestamp'],
          signature: delivery.headers['svix-signature'],
        };
        const event = resend.webhooks.verify({
          payload: delivery.body,
          headers,
          webhookSecret: hook.signing_secret,
        });
        assert.equal(event.data.email_id, sent.id);
        assert.deepEqual(event.data.to, ['delivered@resend.dev']);
        assert.deepEqual(event.data.tags, { category: 'compat_test' });
        types.push(event.type);
        assert.throws(() =>
          resend.webhooks.verify({
            payload: delivery.body.replace('webhook check', 'tampered'),
            headers,
            webhookSecret: hook.signing_secret,
          }),
        );
      }
      assert.deepEqual(types.sort(), ['email.delivered', 'email.sent']);
    });
  }

  await check('webhooks: remove → deleted', async () => {
    const removed = expectData(await resend.webhooks.remove(hook.id));
    assert.deepEqual(removed, { object: 'webhook', id: hook.id, deleted: true });
  });
  await receiver.close();
}


// ---------------------------------------------------------------------------------------------
// Domains: POST/GET/PATCH/DELETE /domains, verify, and the domain.* webhooks.

/** The record of `group` and `type` among a domain's records. */
function findRecord(domain, group, type) {
  const found = domain.records.find((r) => r.record === group && r.type === type);
  assert.ok(found, `no ${group} ${type} record in ${JSON.stringify(domain.records)}`);
  return found;
}

async function domainsChecks() {
  let created;
  await check('domains: create with region, custom return path, tracking and capabilities', async () => {
    created = expectData(
      await resend.domains.create({
        name: 'updates.node-compat.example',
        region: 'eu-west-1',
        customReturnPath: 'outbound',
        openTracking: true,
        clickTracking: false,
        tls: 'enforced',
        trackingSubdomain: 'links',
        capabilities: { sending: 'enabled', receiving: 'enabled' },
      }),
    );
    assert.match(created.id, UUID);
    assert.equal(created.name, 'updates.node-compat.example');
    assert.equal(created.status, 'not_started');
    assert.equal(created.region, 'eu-west-1');
    assert.match(created.created_at, RESOURCE_TIME);
    assert.equal(created.open_tracking, true);
    assert.equal(created.click_tracking, false);
    assert.equal(created.tracking_subdomain, 'links');
    assert.deepEqual(created.capabilities, { sending: 'enabled', receiving: 'enabled' });
    const groups = created.records.map((r) => `${r.record} ${r.type}`);
    assert.deepEqual(groups, ['SPF MX', 'SPF TXT', 'DKIM TXT', 'Tracking CNAME', 'TrackingCAA CAA', 'Receiving MX']);
    for (const r of created.records) {
      assert.equal(r.status, 'not_started');
      assert.equal(r.ttl, 'Auto');
      assert.equal(typeof r.name, 'string');
      assert.equal(typeof r.value, 'string');
    }
    const mx = findRecord(created, 'SPF', 'MX');
    assert.equal(mx.name, 'outbound.updates', 'return path and zone-relative name');
    assert.equal(typeof mx.priority, 'number');
    assert.match(findRecord(created, 'SPF', 'TXT').value, /^v=spf1 .* ~all$/);
    assert.match(findRecord(created, 'DKIM', 'TXT').value, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+$/);
    assert.equal(findRecord(created, 'Tracking', 'CNAME').name, 'links.updates');
    assert.match(findRecord(created, 'TrackingCAA', 'CAA').value, /^0 issue ".+"$/);
  });

  await check('domains: get returns the domain with per-record statuses', async () => {
    const got = expectData(await resend.domains.get(created.id));
    assert.equal(got.object, 'domain');
    assert.equal(got.id, created.id);
    assert.equal(got.status, 'not_started');
    assert.equal(got.region, 'eu-west-1');
    assert.deepEqual(got.records, created.records);
  });

  await check('domains: list shows it, and pages with limit', async () => {
    const second = expectData(await resend.domains.create({ name: 'second.node-compat.example' }));
    assert.equal(second.region, 'us-east-1', 'default region');
    const list = expectData(await resend.domains.list());
    assert.equal(list.object, 'list');
    assert.equal(typeof list.has_more, 'boolean');
    const found = list.data.find((d) => d.id === created.id);
    assert.ok(found, 'created domain is listed');
    assert.equal(found.name, created.name);
    assert.equal(found.status, 'not_started');
    assert.equal(found.region, 'eu-west-1');
    assert.deepEqual(found.capabilities, { sending: 'enabled', receiving: 'enabled' });
    const page = expectData(await resend.domains.list({ limit: 1 }));
    assert.equal(page.data.length, 1);
    assert.equal(page.has_more, true);
    assert.equal(page.data[0].id, second.id, 'newest first');
    const next = expectData(await resend.domains.list({ limit: 1, after: page.data[0].id }));
    assert.equal(next.data[0].id, created.id);
    expectData(await resend.domains.remove(second.id));
  });

  await check('domains: update tracking, tls, capabilities and tracking subdomain', async () => {
    const updated = expectData(
      await resend.domains.update({
        id: created.id,
        openTracking: false,
        clickTracking: true,
        tls: 'opportunistic',
        capabilities: { receiving: 'disabled' },
        trackingSubdomain: 'track',
      }),
    );
    assert.deepEqual(updated, { object: 'domain', id: created.id });
    const got = expectData(await resend.domains.get(created.id));
    assert.equal(got.open_tracking, false);
    assert.equal(got.click_tracking, true);
    assert.equal(got.tracking_subdomain, 'track');
    assert.deepEqual(got.capabilities, { sending: 'enabled', receiving: 'disabled' });
    assert.equal(findRecord(got, 'Tracking', 'CNAME').name, 'track.updates');
    assert.ok(!got.records.some((r) => r.record === 'Receiving'), 'no receiving MX any more');
  });

  await check('domains: verify (empty POST body) → pending while DNS is checked', async () => {
    const verified = expectData(await resend.domains.verify(created.id));
    assert.deepEqual(verified, { object: 'domain', id: created.id });
    const got = expectData(await resend.domains.get(created.id));
    // The test server's resolver reaches no DNS: the records are not found yet.
    assert.equal(got.status, 'pending');
    for (const r of got.records) assert.equal(r.status, 'pending', `${r.record} ${r.type}`);
  });

  await check('domains: invalid region → 422 invalid_region', async () => {
    const reply = await resend.domains.create({ name: 'eu.node-compat.example', region: 'mars-1' });
    expectError(reply, 422, 'invalid_region');
    assert.match(reply.error.message, /us-east-1/);
  });

  await check('domains: bad custom return paths → 422 validation_error', async () => {
    for (const [path, why] of [
      ['1send', /start with a letter/],
      ['send-', /end with a letter or a number/],
      ['se_nd', /letters, numbers and hyphens/],
      ['s'.repeat(64), /63 characters/],
    ]) {
      const reply = await resend.domains.create({ name: 'rp.node-compat.example', customReturnPath: path });
      expectError(reply, 422, 'validation_error');
      assert.match(reply.error.message, why);
    }
  });

  await check('domains: missing name → 422 missing_required_field; taken name → 422', async () => {
    expectError(await resend.domains.create({}), 422, 'missing_required_field');
    expectError(await resend.domains.create({ name: created.name }), 422, 'validation_error');
  });

  await check('domains: the region cannot change (PATCH) → 422 validation_error', async () => {
    const reply = await resend.patch(`/domains/${created.id}`, { region: 'sa-east-1' });
    expectError(reply, 422, 'validation_error');
  });

  await check('domains: sending key → 401 restricted_api_key', async () => {
    const key = expectData(
      await resend.apiKeys.create({ name: 'compat node domain sender', permission: 'sending_access' }),
    );
    const sender = new Resend(key.token);
    expectError(await sender.domains.list(), 401, 'restricted_api_key');
    expectError(await sender.domains.get(created.id), 401, 'restricted_api_key');
    expectError(await sender.domains.create({ name: 'nope.node-compat.example' }), 401, 'restricted_api_key');
  });

  await check('domains: remove → deleted; get, verify and remove again → 404 not_found', async () => {
    const removed = expectData(await resend.domains.remove(created.id));
    assert.deepEqual(removed, { object: 'domain', id: created.id, deleted: true });
    expectError(await resend.domains.get(created.id), 404, 'not_found');
    expectError(await resend.domains.verify(created.id), 404, 'not_found');
    expectError(await resend.domains.remove(created.id), 404, 'not_found');
    expectError(await resend.domains.update({ id: UNKNOWN_ID, openTracking: true }), 404, 'not_found');
  });

  await check('domains: domain.created and domain.deleted webhooks pass resend.webhooks.verify', async () => {
    const receiver = await startReceiver();
    try {
      const hook = expectData(
        await resend.webhooks.create({ endpoint: receiver.url, events: ['domain.created', 'domain.deleted'] }),
      );
      const domain = expectData(await resend.domains.create({ name: 'hooks.node-compat.example' }));
      expectData(await resend.domains.remove(domain.id));
      const got = await receiver.waitFor(2, domain.id);
      const types = got.map((delivery) => {
        const event = resend.webhooks.verify({
          payload: delivery.body,
          headers: {
            id: delivery.headers['svix-id'],
            timestamp: delivery.headers['svix-timestamp'],
            signature: delivery.headers['svix-signature'],
          },
          webhookSecret: hook.signing_secret,
        });
        assert.equal(event.data.id, domain.id);
        assert.equal(event.data.name, 'hooks.node-compat.example');
        assert.equal(event.data.region, 'us-east-1');
        assert.deepEqual(
          event.data.records.map((r) => r.record),
          ['SPF', 'SPF', 'DKIM'],
        );
        return event.type;
      });
      assert.deepEqual(types.sort(), ['domain.created', 'domain.deleted']);
      expectData(await resend.webhooks.remove(hook.id));
    } finally {
      await receiver.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Templates: POST/GET/PATCH/DELETE /templates, publish, duplicate; emails.send with a template.

async function templatesChecks({ sending }) {
  const alias = 'node-welcome';
  let tpl;
  await check('templates: create (201 {id, object}) with camelCase variables', async () => {
    tpl = expectData(
      await resend.templates.create({
        name: 'Node welcome',
        alias,
        from: 'Acme <hi@example.com>',
        subject: 'Hi {{{NAME}}}',
        replyTo: 'help@example.com',
        html: '<p>Hi {{{NAME}}}, {{{COUNT}}} new</p>',
        variables: [
          { key: 'NAME', type: 'string' },
          { key: 'COUNT', type: 'number', fallbackValue: 0 },
        ],
      }),
    );
    assert.equal(tpl.object, 'template');
    assert.match(tpl.id, UUID);
  });

  await check('templates: get by id and by alias, a draft with its variables', async () => {
    const got = expectData(await resend.templates.get(tpl.id));
    assert.equal(got.object, 'template');
    assert.equal(got.alias, alias);
    assert.equal(got.status, 'draft');
    assert.equal(got.published_at, null);
    assert.deepEqual(got.reply_to, ['help@example.com']);
    assert.match(got.current_version_id, UUID);
    assert.match(got.created_at, RESOURCE_TIME);
    assert.deepEqual(
      got.variables.map((v) => [v.key, v.type, v.fallback_value]),
      [['NAME', 'string', null], ['COUNT', 'number', 0]],
    );
    assert.equal(expectData(await resend.templates.get(alias)).id, tpl.id);
  });

  await check('templates: list (before/after/limit query) pages newest first', async () => {
    const other = expectData(await resend.templates.create({ name: 'Node other', html: '<p>x</p>' }));
    const page = expectData(await resend.templates.list({ limit: 1 }));
    assert.equal(page.object, 'list');
    assert.equal(page.has_more, true);
    assert.equal(page.data[0].id, other.id);
    assert.deepEqual(
      Object.keys(page.data[0]).sort(),
      ['alias', 'created_at', 'id', 'name', 'published_at', 'status', 'updated_at'],
    );
    const next = expectData(await resend.templates.list({ limit: 1, after: other.id }));
    assert.equal(next.data[0].id, tpl.id);
    expectData(await resend.templates.remove(other.id));
  });

  await check('templates: create(...).publish() chains and publishes', async () => {
    const published = expectData(
      await resend.templates.create({ name: 'Node chained', html: '<p>chained</p>' }).publish(),
    );
    assert.equal(published.object, 'template');
    assert.equal(expectData(await resend.templates.get(published.id)).status, 'published');
    expectData(await resend.templates.remove(published.id));
  });

  await check('templates: publish, then an update keeps a draft version', async () => {
    const published = expectData(await resend.templates.publish(tpl.id));
    assert.deepEqual(published, { id: tpl.id, object: 'template' });
    let got = expectData(await resend.templates.get(tpl.id));
    assert.equal(got.status, 'published');
    assert.match(got.published_at, RESOURCE_TIME);
    assert.equal(got.has_unpublished_versions, false);
    const updated = expectData(await resend.templates.update(tpl.id, { html: '<p>Draft {{{NAME}}}</p>' }));
    assert.deepEqual(updated, { id: tpl.id, object: 'template' });
    got = expectData(await resend.templates.get(alias));
    assert.equal(got.has_unpublished_versions, true);
    assert.equal(got.html, '<p>Draft {{{NAME}}}</p>');
  });

  if (sending) {
    await check('templates: emails.send with a template renders the published version', async () => {
      const sent = expectData(
        await resend.emails.send({
          to: 'delivered@resend.dev',
          template: { id: alias, variables: { NAME: 'Ann & Bo' } },
        }),
      );
      const email = expectData(await resend.emails.get(sent.id));
      assert.equal(email.html, '<p>Hi Ann &amp; Bo, 0 new</p>');
      assert.equal(email.subject, 'Hi Ann & Bo');
      assert.equal(email.from, 'Acme <hi@example.com>');
    });

    await check('templates: batch.send with templates', async () => {
      const sent = expectData(
        await resend.batch.send([
          { to: 'delivered@resend.dev', template: { id: tpl.id, variables: { NAME: 'One' } } },
          { to: 'delivered@resend.dev', template: { id: tpl.id, variables: { NAME: 'Two', COUNT: 2 } } },
        ]),
      );
      assert.equal(sent.data.length, 2);
    });

    await check('templates: template with html → 422 validation_error', async () => {
      const reply = await resend.emails.send({
        to: 'delivered@resend.dev',
        html: '<p>x</p>',
        template: { id: tpl.id, variables: { NAME: 'x' } },
      });
      expectError(reply, 422, 'validation_error');
    });

    await check('templates: missing or mistyped variable → 422 validation_error', async () => {
      expectError(
        await resend.emails.send({ to: 'delivered@resend.dev', template: { id: tpl.id } }),
        422,
        'validation_error',
      );
      expectError(
        await resend.emails.send({ to: 'delivered@resend.dev', template: { id: tpl.id, variables: { NAME: 1 } } }),
        422,
        'validation_error',
      );
    });
  }

  await check('templates: duplicate → a draft copy; duplicate(...).publish() chains', async () => {
    const copy = expectData(await resend.templates.duplicate(tpl.id));
    assert.equal(copy.object, 'template');
    assert.notEqual(copy.id, tpl.id);
    const got = expectData(await resend.templates.get(copy.id));
    assert.equal(got.status, 'draft');
    assert.equal(got.alias, null);
    const chained = expectData(await resend.templates.duplicate(tpl.id).publish());
    assert.equal(expectData(await resend.templates.get(chained.id)).status, 'published');
  });

  await check('templates: invalid variables → 422 validation_error', async () => {
    expectError(
      await resend.templates.create({
        name: 'bad',
        html: '<p>{{{EMAIL}}}</p>',
        variables: [{ key: 'EMAIL', type: 'string' }],
      }),
      422,
      'validation_error',
    );
    expectError(
      await resend.templates.create({
        name: 'bad',
        html: '<p>{{{N}}}</p>',
        variables: [{ key: 'N', type: 'number', fallbackValue: 'one' }],
      }),
      422,
      'validation_error',
    );
    expectError(await resend.templates.create({ name: 'bad', html: '<p>{{{X}}}</p>' }), 422, 'validation_error');
  });

  await check('templates: missing name → 422 missing_required_field', async () => {
    expectError(await resend.templates.create({ html: '<p>x</p>' }), 422, 'missing_required_field');
  });

  await check('templates: remove → deleted; get unknown → 404 not_found', async () => {
    const removed = expectData(await resend.templates.remove(tpl.id));
    assert.deepEqual(removed, { object: 'template', id: tpl.id, deleted: true });
    expectError(await resend.templates.get(tpl.id), 404, 'not_found');
    expectError(await resend.templates.remove(UNKNOWN_ID), 404, 'not_found');
  });
}

// ---------------------------------------------------------------------------------------------

await apiKeysChecks();
await authChecks();
if (process.env.HERALD_COMPAT_SKIP_EMAILS === '1') {
  console.log('# emails API checks skipped (HERALD_COMPAT_SKIP_EMAILS=1)');
} else {
  await emailsChecks();
}
await webhooksChecks({ deliveries: process.env.HERALD_COMPAT_SKIP_EMAILS !== '1' });
await domainsChecks();
await templatesChecks({ sending: process.env.HERALD_COMPAT_SKIP_EMAILS !== '1' });
await logsChecks({ check, expectData, expectError, resend, UNKNOWN_ID, RESOURCE_TIME });
await (await import('./broadcasts.mjs')).broadcastsChecks({ check, expectData, expectError, resend, UUID, UNKNOWN_ID });

console.log(`node-sdk: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
