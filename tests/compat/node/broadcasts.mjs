// Broadcasts through the official Node SDK: every route, errors included. Called once from
// suite.mjs with its helpers. Sending needs a verified domain: tests/api/compat.rs verifies
// `compat-broadcasts.dev` for the team before the suite runs.

import assert from 'node:assert/strict';

const FROM = 'Acme <news@compat-broadcasts.dev>';

export async function broadcastsChecks({ check, expectData, expectError, resend, UUID, UNKNOWN_ID }) {
  let segment;
  let draft;
  let sent;
  await check('broadcasts: create a draft (201 {id, object}) for a segment', async () => {
    segment = expectData(await resend.segments.create({ name: 'Node broadcast readers' }));
    expectData(await resend.contacts.create({ email: 'delivered@resend.dev', firstName: 'Dee', segments: [{ id: segment.id }] }));
    draft = expectData(
      await resend.broadcasts.create({
        segmentId: segment.id,
        from: FROM,
        subject: 'Hello {{{FIRST_NAME|there}}}',
        name: 'Node newsletter',
        replyTo: 'help@compat-broadcasts.dev',
        previewText: 'This month',
        html: '<p>Hi {{{FIRST_NAME|there}}} <a href="{{{RESEND_UNSUBSCRIBE_URL}}}">unsubscribe</a></p>',
      }),
    );
    assert.equal(draft.object, 'broadcast');
    assert.match(draft.id, UUID);
  });

  await check('broadcasts: get, list, update a draft', async () => {
    const got = expectData(await resend.broadcasts.get(draft.id));
    assert.equal(got.object, 'broadcast');
    assert.equal(got.status, 'draft');
    assert.equal(got.segment_id, segment.id);
    assert.equal(got.name, 'Node newsletter');
    assert.deepEqual(got.reply_to, ['help@compat-broadcasts.dev']);
    const list = expectData(await resend.broadcasts.list());
    assert.equal(list.object, 'list');
    assert.ok(list.data.some((b) => b.id === draft.id && b.status === 'draft'));
    const page = expectData(await resend.broadcasts.list({ limit: 1 }));
    assert.equal(page.data.length, 1);
    const updated = expectData(await resend.broadcasts.update(draft.id, { subject: 'News for {{{FIRST_NAME|you}}}' }));
    assert.deepEqual(updated, { id: draft.id, object: 'broadcast' });
    assert.equal(expectData(await resend.broadcasts.get(draft.id)).subject, 'News for {{{FIRST_NAME|you}}}');
  });

  await check('broadcasts: bad input is a 422 and unknown ids a 404', async () => {
    expectError(await resend.broadcasts.create({ from: FROM, subject: 'x', html: '<p>x</p>' }), 422, 'missing_required_field');
    expectError(
      await resend.broadcasts.create({ segmentId: segment.id, from: FROM, subject: 'x', html: '{{{NOPE}}}' }),
      422,
      'validation_error',
    );
    expectError(await resend.broadcasts.update(draft.id, { text: '{{{unknown}}}' }), 422, 'validation_error');
    expectError(await resend.broadcasts.get(UNKNOWN_ID), 404, 'not_found');
    expectError(await resend.broadcasts.send(draft.id, { scheduledAt: '2020-01-01T00:00:00Z' }), 422, 'validation_error');
    expectError(await resend.broadcasts.cancel(draft.id), 422, 'validation_error');
    const unverified = expectData(
      await resend.broadcasts.create({ segmentId: segment.id, from: 'x@unverified.dev', subject: 'x', html: '<p>x</p>' }),
    );
    expectError(await resend.broadcasts.send(unverified.id), 403, 'validation_error');
    expectData(await resend.broadcasts.remove(unverified.id));
  });

  await check('broadcasts: schedule, cancel, duplicate, remove', async () => {
    const copy = expectData(await resend.broadcasts.duplicate(draft.id));
    assert.equal(copy.object, 'broadcast');
    assert.equal(expectData(await resend.broadcasts.get(copy.id)).name, 'Node newsletter (copy)');
    assert.deepEqual(expectData(await resend.broadcasts.send(copy.id, { scheduledAt: 'in 1 day' })), { id: copy.id });
    const scheduled = expectData(await resend.broadcasts.get(copy.id));
    assert.equal(scheduled.status, 'draft');
    assert.ok(scheduled.scheduled_at);
    expectError(await resend.broadcasts.update(copy.id, { subject: 'x' }), 422, 'validation_error');
    assert.deepEqual(expectData(await resend.broadcasts.cancel(copy.id)), { id: copy.id, object: 'broadcast' });
    assert.equal(expectData(await resend.broadcasts.get(copy.id)).status, 'canceled');
    expectError(await resend.broadcasts.remove(copy.id), 422, 'validation_error');
    const another = expectData(await resend.broadcasts.duplicate(draft.id));
    assert.deepEqual(expectData(await resend.broadcasts.remove(another.id)), { id: another.id, object: 'broadcast', deleted: true });
  });

  await check('broadcasts: send now; then it cannot change', async () => {
    assert.deepEqual(expectData(await resend.broadcasts.send(draft.id)), { id: draft.id });
    for (let i = 0; i < 600; i += 1) {
      sent = expectData(await resend.broadcasts.get(draft.id));
      if (sent.status === 'sent') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(sent.status, 'sent');
    assert.ok(sent.sent_at);
    expectError(await resend.broadcasts.update(draft.id, { subject: 'x' }), 422, 'validation_error');
    expectError(await resend.broadcasts.cancel(draft.id), 422, 'validation_error');
    expectError(await resend.broadcasts.remove(draft.id), 422, 'validation_error');
  });

  await check('broadcasts: recipients and clicked links', async () => {
    let list;
    for (let i = 0; i < 600; i += 1) {
      list = expectData(await resend.broadcasts.recipients(draft.id, { type: 'delivered' }));
      if (list.data.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(list.object, 'list');
    assert.equal(list.data[0].email, 'delivered@resend.dev');
    assert.equal(typeof list.data[0].id, 'string');
    expectError(await resend.broadcasts.recipients(draft.id, { type: 'nope' }), 422, 'validation_error');
    expectError(
      await resend.broadcasts.recipients(draft.id, { type: 'delivered', bounceType: 'permanent' }),
      422,
      'validation_error',
    );
    const links = expectData(await resend.broadcasts.clickedLinks(draft.id));
    assert.equal(links.object, 'list');
    assert.ok(Array.isArray(links.data));
    expectError(await resend.broadcasts.clickedLinks(UNKNOWN_ID), 404, 'not_found');
  });
}
