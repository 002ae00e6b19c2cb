// Logs and metrics checks for the Node SDK: `resend.logs.list/get` and `resend.emails.metrics`.
// Called from suite.mjs with its runner and helpers.

import assert from 'node:assert/strict';

/**
 * Waits until Herald's request-log writer (batched, off the request path) has stored the log of
 * the request that answered `id` to `method endpoint`; returns the list item and the log.
 */
async function logOf(resend, expectData, method, endpoint, id) {
  for (let i = 0; i < 500; i += 1) {
    const list = expectData(await resend.logs.list({ limit: 100 }));
    const item = list.data.find((l) => l.endpoint === endpoint && l.method === method);
    if (item) {
      const log = expectData(await resend.logs.get(item.id));
      if (log.response_body?.id === id) return { list, item, log };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the log of ${method} ${endpoint} was not stored`);
}

export async function logsChecks({ check, expectData, expectError, resend, UNKNOWN_ID, RESOURCE_TIME }) {
  await check('logs: list shows requests newest first with Resend fields', async () => {
    const key = expectData(await resend.apiKeys.create({ name: 'compat node logs' }));
    const { list, item, log } = await logOf(resend, expectData, 'POST', '/api-keys', key.id);
    assert.equal(list.object, 'list');
    assert.deepEqual(
      Object.keys(item).sort(),
      ['created_at', 'endpoint', 'id', 'method', 'response_status', 'user_agent'],
    );
    assert.equal(item.response_status, 201);
    assert.match(item.created_at, RESOURCE_TIME);
    assert.match(item.user_agent, /resend-node/);
    // get: both bodies, the token redacted.
    assert.equal(log.object, 'log');
    assert.deepEqual(log.request_body, { name: 'compat node logs' });
    assert.equal(log.response_body.token, '[redacted]');
    assert.equal(log.response_body.id, key.id);
    assert.ok(!JSON.stringify(log).includes(key.token));
    await resend.apiKeys.remove(key.id);
  });

  await check('logs: list pages with limit and after', async () => {
    const page = expectData(await resend.logs.list({ limit: 1 }));
    assert.equal(page.data.length, 1);
    assert.equal(page.has_more, true);
    const next = expectData(await resend.logs.list({ limit: 1, after: page.data[0].id }));
    assert.notEqual(next.data[0].id, page.data[0].id);
  });

  await check('logs: get unknown → 404 not_found; bad id → 422 invalid_parameter', async () => {
    expectError(await resend.logs.get(UNKNOWN_ID), 404, 'not_found');
    expectError(await resend.logs.get('not-a-uuid'), 422, 'invalid_parameter');
  });

  await check('metrics: totals of every metric; chosen metrics by hour in a time zone', async () => {
    const got = expectData(await resend.emails.metrics());
    assert.equal(got.object, 'metrics');
    assert.equal(got.granularity, 'daily');
    assert.deepEqual(got.dimensions, []);
    assert.equal(got.data, undefined);
    assert.equal(Object.keys(got.totals).length, 22);
    assert.equal(typeof got.totals.sent, 'number');
    const byHour = expectData(
      await resend.emails.metrics({
        metrics: ['sent', 'delivery_rate'],
        dimensions: ['period'],
        granularity: 'hourly',
        timezone: 'Europe/Paris',
      }),
    );
    assert.deepEqual(byHour.metrics, ['sent', 'delivery_rate']);
    assert.ok(byHour.data.length > 0);
    assert.deepEqual(Object.keys(byHour.data[0]).sort(), ['delivery_rate', 'period', 'sent']);
    const sum = byHour.data.reduce((n, row) => n + row.sent, 0);
    assert.equal(sum, byHour.totals.sent);
  });

  await check('metrics: unknown metric → 422 validation_error', async () => {
    expectError(await resend.emails.metrics({ metrics: ['nope'] }), 422, 'validation_error');
  });
}
