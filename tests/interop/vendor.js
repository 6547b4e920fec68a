'use strict';
// The grpc-js vendor suite: drives the real HealthGrpc server's SyncService (Sync, Upload, GetCheckpoint) from the
// contract in proto/ alone, the way a third-party device vendor would, and checks the protocol's promises.
//
//   node tests/interop/vendor.js --target=127.0.0.1:PORT --token=TOKEN --case=NAME[,NAME...]|all
//   node tests/interop/vendor.js --list
//
// Prints one JSON line per case: {"case","ok","error","ms","stored"}. `stored` is what the case expects the server to
// hold for the token's user afterwards ({samples, series, series_points, tombstones}); the C# test checks it against
// the database. Exits 1 when a case fails (its name and reason on stderr), 2 on bad arguments.
// With HEALTHGRPC_VENDOR_SABOTAGE=K the K-th check of each case is inverted, to prove the checks bite.

const { grpc, loadContract, decodeStatusDetails, encodeStatusDetails, errorDetailOf, SyncStream, unary, uuid, parseArgs, STATUS_DETAILS_TRAILER } = require('./common');

// ErrorDetail's quota fields (set only with ERROR_REASON_QUOTA_EXCEEDED), as decoded with defaults: every other
// reason must leave them unset.
const NO_QUOTA = { quota: '', quota_limit: '0', quota_usage: '0' };

const STEP_MS = 15000;
const CALL_DEADLINE_MS = 20000;
const SABOTAGE = Number(process.env.HEALTHGRPC_VENDOR_SABOTAGE || 0);

class CheckFailed extends Error {}

/** Per-case context: the stubs, the token's metadata, a unique device id, and the numbered checks. */
class Ctx {
  constructor(api, target, token, name) {
    this.name = name;
    this.checks = 0;
    this.metadata = new grpc.Metadata();
    if (token) {
      this.metadata.set('authorization', `Bearer ${token}`);
    }
    this.client = target ? new api.SyncService(target, grpc.credentials.createInsecure()) : null;
    this.deviceSeq = 0;
    this.streams = [];
  }

  device() {
    this.deviceSeq += 1;
    return `${this.name}-device-${this.deviceSeq}-${process.pid}`;
  }

  check(condition, message) {
    this.checks += 1;
    const ok = this.checks === SABOTAGE ? !condition : Boolean(condition);
    if (!ok) {
      throw new CheckFailed(`check ${this.checks}${this.checks === SABOTAGE ? ' (sabotaged)' : ''}: ${message}`);
    }
  }

  eq(actual, expected, what) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    this.check(a === e, `${what}: expected ${e}, got ${a}`);
  }

  stream() {
    const s = new SyncStream(this.client, this.metadata, CALL_DEADLINE_MS, STEP_MS);
    this.streams.push(s);
    return s;
  }

  async upload(deviceId, epoch, batch) {
    return unary(this.client, 'Upload', { device: { device_id: deviceId, epoch: String(epoch) }, batch }, this.metadata, CALL_DEADLINE_MS);
  }

  async checkpoint(deviceId) {
    return unary(this.client, 'GetCheckpoint', { device_id: deviceId }, this.metadata, CALL_DEADLINE_MS);
  }

  /** Expects a failed call with `code` and returns its grpc-js error. */
  failed(result, code, what) {
    this.check(result.error, `${what}: expected ${grpc.status[code]}, but the call succeeded: ${JSON.stringify(result.response)}`);
    this.eq(grpc.status[result.error.code], grpc.status[code], `${what}: status`);
    return result.error;
  }

  /** Expects a successful unary call and returns its response. */
  ok(result, what) {
    this.check(!result.error, `${what}: failed ${result.error ? `${grpc.status[result.error.code]}: ${result.error.details}` : ''}`);
    return result.response;
  }

  close() {
    // A failed case may leave streams open: cancel them so the process ends now, not at their deadline.
    for (const s of this.streams) {
      s.cancel();
    }
    if (this.client) {
      this.client.close();
    }
  }
}

// ---- building batches, as a strap / scale vendor would ----

const SOURCE = { kind: 'DEVICE_KIND_WEARABLE', name: 'Vendor strap', manufacturer: 'Acme Sensors', model: 'HR-1', software_version: '2.4.1' };
// A whole second an hour ago: every start is in the past and the content ids do not depend on sub-second clocks.
const BASE_MS = Math.floor((Date.now() - 3600 * 1000) / 1000) * 1000;

function ts(ms) {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function hrSet(samples, { baseMs = BASE_MS, unit = 'count/min' } = {}) {
  return {
    type: 'DATA_TYPE_HEART_RATE',
    unit,
    decimal_exponent: 0,
    source: SOURCE,
    base_time: ts(baseMs),
    zone_offset_minutes: 60,
    samples,
  };
}

/** A discrete heart-rate sample; `id` null means "no stable id" (content-derived). */
function hr(offsetMs, bpm, id = uuid()) {
  const s = { start_offset_ms: String(offsetMs), duration_ms: '0', scaled_value: String(bpm) };
  if (id) {
    s.uuid = id;
  }
  return s;
}

function anchor(type, text) {
  return { type, anchor: Buffer.from(text) };
}

function batch(seq, fields = {}) {
  return { batch_seq: String(seq), atomic: false, priority: 'PRIORITY_BATCH', ...fields };
}

function counts(ack) {
  return { accepted: ack.accepted, duplicates: ack.duplicates, replaced: ack.replaced, ignored_deleted: ack.ignored_deleted, rejected: ack.rejected };
}

function cnt(accepted, { duplicates = 0, replaced = 0, ignored_deleted = 0, rejected = 0 } = {}) {
  return { accepted, duplicates, replaced, ignored_deleted, rejected };
}

function anchorsOf(list) {
  return (list || []).map((a) => `${a.type}=${Buffer.from(a.anchor).toString()}`).sort();
}

function rejectionsOf(ack) {
  return ack.rejections.map((r) => `${r.kind}#${r.index}:${r.reason}`);
}

/** A Sync stream opened with Hello and its Welcome read. */
async function open(ctx, deviceId, epoch = 1) {
  const s = ctx.stream();
  s.hello(deviceId, epoch);
  const welcome = await s.welcome();
  return { s, welcome };
}

// ---- the cases ----

const cases = {};

// Hello -> Welcome (limits), then pipelined batches -> acks in order: COMMITTED, counts, anchors, per-sample rejects.
cases.acks = async (ctx) => {
  const device = ctx.device();
  const { s, welcome } = await open(ctx, device);
  ctx.eq(welcome.high_water_mark, '0', 'Welcome.high_water_mark of a new device');
  ctx.check(welcome.limits && welcome.limits.max_samples_per_batch > 0 && welcome.limits.max_batches_in_flight > 0
    && welcome.limits.max_message_bytes > 0 && welcome.limits.max_points_per_series > 0, `Welcome.limits all set: ${JSON.stringify(welcome.limits)}`);
  ctx.check(welcome.server_time && Math.abs(Number(welcome.server_time.seconds) * 1000 - Date.now()) < 60000, 'Welcome.server_time is the server clock');

  s.batch(batch(1, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'hk-anchor-1')], sample_sets: [hrSet([hr(0, 61), hr(1000, 62), hr(2000, 63)])] }));
  // Indices count across sets: set 1 holds index 0, set 2 indices 1..4 (one good, three invalid), set 3 index 5.
  s.batch(batch(2, {
    anchors: [anchor('DATA_TYPE_HEART_RATE', 'hk-anchor-2')],
    sample_sets: [
      hrSet([hr(3000, 64)]),
      hrSet([hr(4000, 65), hr(5000, 412), { uuid: Buffer.alloc(8, 7), start_offset_ms: '6000', duration_ms: '0', scaled_value: '66' }, { uuid: uuid(), start_offset_ms: '7000', duration_ms: '0' }]),
      hrSet([hr(8000, 70)], { unit: 'furlong/fortnight' }),
    ],
  }));
  const ack1 = await s.ack(1);
  ctx.eq([ack1.batch_seq, ack1.outcome], ['1', 'ACK_OUTCOME_COMMITTED'], 'ack 1 batch_seq and outcome');
  ctx.eq(counts(ack1), cnt(3), 'ack 1 counts');
  ctx.eq(anchorsOf(ack1.committed_anchors), ['DATA_TYPE_HEART_RATE=hk-anchor-1'], 'ack 1 committed_anchors');
  ctx.eq(ack1.high_water_mark, '1', 'ack 1 high_water_mark');
  ctx.check(ack1.commit_time && Number(ack1.commit_time.seconds) > 0, 'ack 1 has a commit_time');

  const ack2 = await s.ack(2);
  ctx.eq([ack2.batch_seq, ack2.outcome], ['2', 'ACK_OUTCOME_COMMITTED'], 'ack 2 batch_seq and outcome');
  ctx.eq(counts(ack2), cnt(2, { rejected: 4 }), 'ack 2 counts');
  ctx.eq(rejectionsOf(ack2), [
    'ITEM_KIND_SAMPLE#2:REJECT_REASON_VALUE_OUT_OF_RANGE',
    'ITEM_KIND_SAMPLE#3:REJECT_REASON_MALFORMED_UUID',
    'ITEM_KIND_SAMPLE#4:REJECT_REASON_MISSING_VALUE',
    'ITEM_KIND_SAMPLE#5:REJECT_REASON_UNIT_NOT_CONVERTIBLE',
  ], 'ack 2 rejections (kind#index:reason)');
  ctx.check(ack2.rejections.every((r) => r.message.length > 0), 'every rejection has a message');
  ctx.eq(anchorsOf(ack2.committed_anchors), ['DATA_TYPE_HEART_RATE=hk-anchor-2'], 'ack 2 committed_anchors');
  ctx.eq(ack2.high_water_mark, '2', 'ack 2 high_water_mark');
  await s.close();
  return { samples: 5 };
};

// Upload (unary) has a Sync batch's semantics, and an atomic batch with an invalid item is REJECTED as a whole.
cases.upload = async (ctx) => {
  const device = ctx.device();
  const r1 = ctx.ok(await ctx.upload(device, 1, batch(1, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'u1')], sample_sets: [hrSet([hr(0, 70), hr(1000, 71)])] })), 'Upload 1');
  ctx.eq([r1.ack.outcome, counts(r1.ack), r1.ack.high_water_mark], ['ACK_OUTCOME_COMMITTED', cnt(2), '1'], 'Upload 1 ack');
  ctx.eq(anchorsOf(r1.ack.committed_anchors), ['DATA_TYPE_HEART_RATE=u1'], 'Upload 1 committed_anchors');

  const atomic = batch(2, { atomic: true, anchors: [anchor('DATA_TYPE_HEART_RATE', 'u2')], sample_sets: [hrSet([hr(2000, 72), hr(3000, 19)])] });
  const r2 = ctx.ok(await ctx.upload(device, 1, atomic), 'Upload 2 (atomic)');
  ctx.eq([r2.ack.outcome, r2.ack.high_water_mark], ['ACK_OUTCOME_REJECTED', '2'], 'atomic ack outcome and high_water_mark (batch_seq consumed)');
  ctx.eq(rejectionsOf(r2.ack), ['ITEM_KIND_SAMPLE#1:REJECT_REASON_VALUE_OUT_OF_RANGE'], 'atomic ack rejections');
  ctx.eq(r2.ack.accepted, 0, 'atomic ack accepted');
  ctx.eq(anchorsOf(r2.ack.committed_anchors), [], 'atomic ack commits no anchors');

  const cp = ctx.ok(await ctx.checkpoint(device), 'GetCheckpoint');
  ctx.eq([cp.device.epoch, cp.high_water_mark], ['1', '2'], 'checkpoint epoch and high_water_mark');
  ctx.eq(anchorsOf(cp.anchors), ['DATA_TYPE_HEART_RATE=u1'], 'checkpoint anchors (not the rejected batch\'s)');
  return { samples: 2 };
};

// The ack of batch 2 is lost (the stream dies): a new stream's Welcome says 2 committed; re-sending batch 2 answers
// DUPLICATE with the original counts and anchors, and nothing is stored twice.
cases.lost_ack_replay = async (ctx) => {
  const device = ctx.device();
  const b1 = batch(1, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'a1')], sample_sets: [hrSet([hr(0, 70), hr(1000, 71)])] });
  const b2 = batch(2, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'a2')], sample_sets: [hrSet([hr(2000, 72), hr(3000, 73), hr(4000, 300), hr(5000, 301)])] });
  const first = await open(ctx, device);
  first.s.batch(b1);
  const ack1 = await first.s.ack(1);
  ctx.eq(ack1.outcome, 'ACK_OUTCOME_COMMITTED', 'ack 1 outcome');
  first.s.batch(b2);
  const lost = await first.s.ack(2); // read, then "lost": the app never commits a2
  ctx.eq([lost.outcome, counts(lost)], ['ACK_OUTCOME_COMMITTED', cnt(3, { rejected: 1 })], 'ack 2 (to be lost)');
  first.s.cancel();

  const second = await open(ctx, device);
  ctx.eq(second.welcome.high_water_mark, '2', 'Welcome.high_water_mark after the lost ack');
  second.s.batch(b2);
  const replay = await second.s.ack(2);
  ctx.eq([replay.batch_seq, replay.outcome], ['2', 'ACK_OUTCOME_DUPLICATE'], 'replayed ack batch_seq and outcome');
  ctx.eq(counts(replay), counts(lost), 'replayed ack repeats the original counts');
  ctx.eq(rejectionsOf(replay), rejectionsOf(lost), 'replayed ack repeats the original rejections');
  ctx.eq(anchorsOf(replay.committed_anchors), ['DATA_TYPE_HEART_RATE=a2'], 'replayed ack carries the anchors to commit');
  second.s.batch(b1);
  const older = await second.s.ack(1);
  ctx.eq([older.outcome, counts(older)], ['ACK_OUTCOME_DUPLICATE', cnt(2)], 'an older batch_seq replays too');
  second.s.batch(batch(3, { sample_sets: [hrSet([hr(6000, 74)])] }));
  const ack3 = await second.s.ack(3);
  ctx.eq([ack3.outcome, counts(ack3), ack3.high_water_mark], ['ACK_OUTCOME_COMMITTED', cnt(1), '3'], 'the stream goes on with batch 3');
  await second.s.close();

  const upload = ctx.ok(await ctx.upload(device, 1, b2), 'Upload replay of batch 2');
  ctx.eq([upload.ack.outcome, counts(upload.ack)], ['ACK_OUTCOME_DUPLICATE', counts(lost)], 'Upload replay is a duplicate too');
  return { samples: 6 };
};

async function gapScenario(ctx, withDetail) {
  const device = ctx.device();
  const { s } = await open(ctx, device);
  s.batch(batch(1, { sample_sets: [hrSet([hr(0, 70)])] }));
  s.batch(batch(3, { sample_sets: [hrSet([hr(1000, 71)])] }));
  const ack1 = await s.ack(1);
  ctx.eq([ack1.outcome, ack1.high_water_mark], ['ACK_OUTCOME_COMMITTED', '1'], 'the ack before the gap is delivered');
  const error = await s.finished('the refusal of batch 3');
  ctx.check(error, 'a batch_seq gap ends the stream with an error');
  ctx.eq(grpc.status[error.code], 'FAILED_PRECONDITION', 'Sync gap status');
  if (withDetail) {
    ctx.eq(errorDetailOf(error), { reason: 'ERROR_REASON_SEQUENCE_GAP', high_water_mark: '1', current_epoch: '0', ...NO_QUOTA }, 'Sync gap ErrorDetail');
  }

  const unaryGap = ctx.failed(await ctx.upload(device, 1, batch(5, { sample_sets: [hrSet([hr(2000, 72)])] })), grpc.status.FAILED_PRECONDITION, 'Upload gap');
  if (withDetail) {
    ctx.eq(errorDetailOf(unaryGap), { reason: 'ERROR_REASON_SEQUENCE_GAP', high_water_mark: '1', current_epoch: '0', ...NO_QUOTA }, 'Upload gap ErrorDetail');
  }

  const cp = ctx.ok(await ctx.checkpoint(device), 'GetCheckpoint');
  ctx.eq(cp.high_water_mark, '1', 'nothing of the refused batches committed');
  // The vendor renumbers from high_water_mark + 1 and carries on.
  const again = await open(ctx, device);
  ctx.eq(again.welcome.high_water_mark, '1', 'Welcome after the gap');
  again.s.batch(batch(2, { sample_sets: [hrSet([hr(1000, 71)])] }));
  const ack2 = await again.s.ack(2);
  ctx.eq([ack2.outcome, counts(ack2)], ['ACK_OUTCOME_COMMITTED', cnt(1)], 'the renumbered batch commits');
  await again.s.close();
  return { samples: 2 };
}

// batch_seq skipping ahead: FAILED_PRECONDITION after the earlier acks; nothing of it stored.
cases.sequence_gap = (ctx) => gapScenario(ctx, false);
// ... and the high-water mark in the ErrorDetail of the standard grpc-status-details-bin trailer.
cases.sequence_gap_detail = (ctx) => gapScenario(ctx, true);

async function fenceScenario(ctx, withDetail) {
  const device = ctx.device();
  const old = await open(ctx, device, 1);
  old.s.batch(batch(1, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'old-1')], sample_sets: [hrSet([hr(0, 70)])] }));
  ctx.eq((await old.s.ack(1)).outcome, 'ACK_OUTCOME_COMMITTED', 'epoch 1 batch 1');

  // A reinstall: GetCheckpoint, then a new epoch restarting at batch_seq 1.
  const cp1 = ctx.ok(await ctx.checkpoint(device), 'GetCheckpoint before the reinstall');
  ctx.eq([cp1.device.epoch, cp1.high_water_mark, anchorsOf(cp1.anchors)], ['1', '1', ['DATA_TYPE_HEART_RATE=old-1']], 'checkpoint of epoch 1');
  const fresh = await open(ctx, device, 2);
  ctx.eq(fresh.welcome.high_water_mark, '0', 'Welcome of the new epoch');
  fresh.s.batch(batch(1, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'new-1')], sample_sets: [hrSet([hr(1000, 71)])] }));
  ctx.eq((await fresh.s.ack(1)).outcome, 'ACK_OUTCOME_COMMITTED', 'epoch 2 batch 1');

  // The old installation's open stream is fenced at its next batch...
  old.s.batch(batch(2, { sample_sets: [hrSet([hr(2000, 72)])] }));
  const fencedStream = await old.s.finished('the fence of the old stream');
  ctx.check(fencedStream, 'the old epoch\'s stream ends with an error');
  ctx.eq(grpc.status[fencedStream.code], 'FAILED_PRECONDITION', 'old stream status');
  // ... a new stream of the old epoch at its Hello ...
  const late = ctx.stream();
  late.hello(device, 1);
  const fencedHello = await late.finished('the fence at Hello');
  ctx.check(fencedHello, 'Hello of the old epoch is refused');
  ctx.eq(grpc.status[fencedHello.code], 'FAILED_PRECONDITION', 'old Hello status');
  // ... and its unary uploads.
  const fencedUpload = ctx.failed(await ctx.upload(device, 1, batch(2, { sample_sets: [hrSet([hr(3000, 73)])] })), grpc.status.FAILED_PRECONDITION, 'Upload of the old epoch');
  if (withDetail) {
    // The high-water mark is the call's epoch's (epoch 1 committed batch 1), current_epoch the newest.
    const expected = { reason: 'ERROR_REASON_EPOCH_FENCED', high_water_mark: '1', current_epoch: '2', ...NO_QUOTA };
    ctx.eq(errorDetailOf(fencedStream), expected, 'ErrorDetail of the fenced stream');
    ctx.eq(errorDetailOf(fencedHello), expected, 'ErrorDetail of the fenced Hello');
    ctx.eq(errorDetailOf(fencedUpload), expected, 'ErrorDetail of the fenced Upload');
  }

  fresh.s.batch(batch(2, { sample_sets: [hrSet([hr(4000, 74)])] }));
  ctx.eq((await fresh.s.ack(2)).outcome, 'ACK_OUTCOME_COMMITTED', 'the new epoch goes on');
  await fresh.s.close();
  const cp2 = ctx.ok(await ctx.checkpoint(device), 'GetCheckpoint after the fence');
  ctx.eq([cp2.device.epoch, cp2.high_water_mark, anchorsOf(cp2.anchors)], ['2', '2', ['DATA_TYPE_HEART_RATE=new-1']], 'checkpoint of epoch 2');
  return { samples: 3 };
}

// A newer epoch fences the old one: its stream, its Hello and its Upload answer FAILED_PRECONDITION.
cases.epoch_fence = (ctx) => fenceScenario(ctx, false);
// ... with ErrorDetail{EPOCH_FENCED, current_epoch, high_water_mark of the call's epoch} in the standard trailer.
cases.epoch_fence_detail = (ctx) => fenceScenario(ctx, true);

// A sample uuid already stored for the user is a duplicate, whichever batch or device sent it.
cases.uuid_dedup = async (ctx) => {
  const ids = [uuid(), uuid(), uuid()];
  const phone = ctx.device();
  const { s } = await open(ctx, phone);
  s.batch(batch(1, { sample_sets: [hrSet(ids.map((id, i) => hr(i * 1000, 70 + i, id)))] }));
  ctx.eq(counts(await s.ack(1)), cnt(3), 'first upload');
  // A catch-up re-read: the same three plus a new one, in a new batch.
  s.batch(batch(2, { sample_sets: [hrSet([...ids.map((id, i) => hr(i * 1000, 70 + i, id)), hr(3000, 73)])] }));
  ctx.eq(counts(await s.ack(2)), cnt(1, { duplicates: 3 }), 're-read in a new batch');
  await s.close();
  const other = ctx.ok(await ctx.upload(ctx.device(), 1, batch(1, { sample_sets: [hrSet([hr(0, 70, ids[0])])] })), 'Upload from another device');
  ctx.eq(counts(other.ack), cnt(0, { duplicates: 1 }), 'same uuid from another device');
  return { samples: 4 };
};

// Samples without a uuid get a content-derived id: the same readings re-sent (even with another base_time and
// offsets giving the same instants) are duplicates; a different value is a new sample.
cases.content_id_dedup = async (ctx) => {
  const { s } = await open(ctx, ctx.device());
  s.batch(batch(1, { sample_sets: [hrSet([hr(0, 80, null), hr(1000, 81, null), hr(2000, 82, null)])] }));
  ctx.eq(counts(await s.ack(1)), cnt(3), 'first upload without uuids');
  s.batch(batch(2, { sample_sets: [hrSet([hr(-1000, 80, null), hr(0, 81, null), hr(1000, 82, null), hr(1000, 83, null)], { baseMs: BASE_MS + 1000 })] }));
  ctx.eq(counts(await s.ack(2)), cnt(1, { duplicates: 3 }), 'the same day re-sent in a new batch');
  s.batch(batch(3, { sample_sets: [hrSet([hr(0, 80, null)])] }));
  ctx.eq(counts(await s.ack(3)), cnt(0, { duplicates: 1 }), 'and once more');
  await s.close();
  return { samples: 4 };
};

// Deletions are data: stored (also for a uuid never seen), and they win over a late re-upload.
cases.tombstones = async (ctx) => {
  const [a, b, never] = [uuid(), uuid(), uuid()];
  const { s } = await open(ctx, ctx.device());
  s.batch(batch(1, { sample_sets: [hrSet([hr(0, 70, a), hr(1000, 71, b)])] }));
  ctx.eq(counts(await s.ack(1)), cnt(2), 'two samples');
  s.batch(batch(2, { deletions: [{ uuid: a, deleted_time: ts(BASE_MS + 5000) }, { uuid: never }] }));
  ctx.eq(counts(await s.ack(2)), cnt(2), 'two deletions (one of a uuid never uploaded)');
  s.batch(batch(3, { sample_sets: [hrSet([hr(0, 70, a), hr(2000, 72, never), hr(3000, 73)])] }));
  ctx.eq(counts(await s.ack(3)), cnt(1, { ignored_deleted: 2 }), 'a late re-upload of deleted uuids is ignored');
  s.batch(batch(4, { deletions: [{ uuid: Buffer.alloc(3, 1) }] }));
  const bad = await s.ack(4);
  ctx.eq([counts(bad), rejectionsOf(bad)], [cnt(0, { rejected: 1 }), ['ITEM_KIND_DELETION#0:REJECT_REASON_MALFORMED_UUID']], 'a deletion with a malformed uuid');
  await s.close();
  return { samples: 2, tombstones: 2 };
};

/** A series from [unixMs, bpm] points, encoded as the contract says: regular -> interval_ms, else time deltas. */
function series(points, { id = uuid(), regular = true } = {}) {
  const s = {
    uuid: id,
    type: 'DATA_TYPE_HEART_RATE',
    unit: 'count/min',
    decimal_exponent: 0,
    source: SOURCE,
    start_time: ts(points[0][0]),
    time_deltas_ms: [],
    value_deltas: [],
    interval_ms: regular ? points[1][0] - points[0][0] : 0,
  };
  let t = points[0][0];
  let v = 0;
  for (const [time, value] of points) {
    if (!regular) {
      s.time_deltas_ms.push(String(time - t));
    }
    s.value_deltas.push(String(value - v));
    t = time;
    v = value;
  }
  return s;
}

// High-frequency data as packed delta columns: regular (interval_ms) and irregular (time deltas) series are stored
// with every point; one implausible point rejects its series; misaligned columns are malformed; a uuid dedups.
cases.series = async (ctx) => {
  const regularPoints = Array.from({ length: 600 }, (_, i) => [BASE_MS + i * 1000, 60 + ((i * 7) % 40)]);
  let t = BASE_MS + 700000;
  const irregularPoints = Array.from({ length: 300 }, (_, i) => { t += 900 + ((i * 37) % 200); return [t, 90 - (i % 30)]; });
  const badPoints = [[BASE_MS, 70], [BASE_MS + 1000, 71], [BASE_MS + 2000, 350], [BASE_MS + 3000, 72]];
  const regular = series(regularPoints);
  const irregular = series(irregularPoints, { regular: false });
  const misaligned = series(irregularPoints.slice(0, 10), { regular: false });
  misaligned.time_deltas_ms.pop();
  const { s } = await open(ctx, ctx.device());
  s.batch(batch(1, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'series-1')], series: [regular, irregular, series(badPoints), misaligned] }));
  const ack = await s.ack(1);
  ctx.eq(counts(ack), cnt(2, { rejected: 2 }), 'series ack counts');
  ctx.eq(rejectionsOf(ack), ['ITEM_KIND_SERIES#2:REJECT_REASON_VALUE_OUT_OF_RANGE', 'ITEM_KIND_SERIES#3:REJECT_REASON_MALFORMED_SERIES'], 'series rejections');
  ctx.check(/350/.test(ack.rejections[0].message), `the rejection names the decoded point value 350: ${ack.rejections[0].message}`);
  s.batch(batch(2, { series: [series(regularPoints, { id: regular.uuid })] }));
  ctx.eq(counts(await s.ack(2)), cnt(0, { duplicates: 1 }), 'the same series uuid again');
  await s.close();
  return {
    samples: 0,
    series: 2,
    series_points: regularPoints.length + irregularPoints.length,
    series_spans: [
      [regularPoints[0][0], regularPoints[regularPoints.length - 1][0]],
      [irregularPoints[0][0], irregularPoints[irregularPoints.length - 1][0]],
    ],
  };
};

// GetCheckpoint: NOT_FOUND for a device that never synced; then the device's epoch, high-water mark, the latest
// committed anchor per type and the last commit time.
cases.checkpoint = async (ctx) => {
  const device = ctx.device();
  ctx.failed(await ctx.checkpoint(device), grpc.status.NOT_FOUND, 'GetCheckpoint of an unknown device');
  const before = Date.now();
  const { s } = await open(ctx, device, 3);
  s.batch(batch(1, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'hr-1'), anchor('DATA_TYPE_STEPS', 'steps-1')], sample_sets: [hrSet([hr(0, 70)])] }));
  s.batch(batch(2, { anchors: [anchor('DATA_TYPE_HEART_RATE', 'hr-2')], sample_sets: [hrSet([hr(1000, 71)])] }));
  s.batch(batch(3, { atomic: true, anchors: [anchor('DATA_TYPE_STEPS', 'steps-rejected')], sample_sets: [hrSet([hr(2000, 5)])] }));
  ctx.eq((await s.ack(1)).outcome, 'ACK_OUTCOME_COMMITTED', 'ack 1');
  ctx.eq((await s.ack(2)).outcome, 'ACK_OUTCOME_COMMITTED', 'ack 2');
  ctx.eq((await s.ack(3)).outcome, 'ACK_OUTCOME_REJECTED', 'ack 3 (atomic, invalid)');
  await s.close();
  const cp = ctx.ok(await ctx.checkpoint(device), 'GetCheckpoint');
  ctx.eq([cp.device.device_id, cp.device.epoch, cp.high_water_mark], [device, '3', '3'], 'checkpoint device, epoch, high_water_mark');
  ctx.eq(anchorsOf(cp.anchors), ['DATA_TYPE_HEART_RATE=hr-2', 'DATA_TYPE_STEPS=steps-1'], 'latest committed anchor per type');
  const last = Number(cp.last_commit_time.seconds) * 1000 + cp.last_commit_time.nanos / 1e6;
  ctx.check(last >= before - 2000 && last <= Date.now() + 2000, `last_commit_time ${new Date(last).toISOString()} is this run's`);
  return { samples: 2 };
};

// Without a bearer token every method answers UNAUTHENTICATED.
cases.unauthenticated = async (ctx) => {
  ctx.metadata = new grpc.Metadata();
  const device = ctx.device();
  ctx.failed(await ctx.upload(device, 1, batch(1, { sample_sets: [hrSet([hr(0, 70)])] })), grpc.status.UNAUTHENTICATED, 'Upload without token');
  ctx.failed(await ctx.checkpoint(device), grpc.status.UNAUTHENTICATED, 'GetCheckpoint without token');
  const s = ctx.stream();
  s.hello(device, 1);
  const error = await s.finished('the refusal of Sync');
  ctx.check(error, 'Sync without token fails');
  ctx.eq(grpc.status[error.code], 'UNAUTHENTICATED', 'Sync without token');
  return { samples: 0 };
};

// The trailer decoder itself (no server): a google.rpc.Status encoded here decodes back to its ErrorDetail, and a
// Status without an ErrorDetail Any is refused rather than read as "no detail".
cases.status_details_decoder = async (ctx) => {
  const bytes = encodeStatusDetails(9, 'gap', { reason: 'ERROR_REASON_SEQUENCE_GAP', high_water_mark: '18446744073709551615', current_epoch: '7' });
  const decoded = decodeStatusDetails(bytes);
  ctx.eq(decoded, { code: 9, message: 'gap', detail: { reason: 'ERROR_REASON_SEQUENCE_GAP', high_water_mark: '18446744073709551615', current_epoch: '7', ...NO_QUOTA } }, 'round trip');
  const md = new grpc.Metadata();
  md.set(STATUS_DETAILS_TRAILER, bytes);
  ctx.eq(errorDetailOf({ code: 9, metadata: md }).reason, 'ERROR_REASON_SEQUENCE_GAP', 'read from grpc-js metadata');
  let refused = '';
  try {
    errorDetailOf({ code: 9, metadata: new grpc.Metadata() });
  } catch (e) {
    refused = e.message;
  }
  ctx.check(/expected one grpc-status-details-bin/.test(refused), `a missing trailer is an error: ${refused}`);
  try {
    decodeStatusDetails(encodeStatusDetails(9, 'x', {}).subarray(0, 0));
    refused = '';
  } catch (e) {
    refused = e.message;
  }
  ctx.check(/0 Any/.test(refused), `a Status without an ErrorDetail Any is an error: ${refused}`);
  return null;
};

const OFFLINE = new Set(['status_details_decoder']);

async function runCase(api, args, name) {
  const started = Date.now();
  const ctx = new Ctx(api, OFFLINE.has(name) ? null : args.target, args.token, name);
  try {
    const expected = await cases[name](ctx);
    const stored = expected ? { samples: 0, series: 0, series_points: 0, tombstones: 0, series_spans: [], ...expected } : null;
    return { case: name, ok: true, error: null, ms: Date.now() - started, checks: ctx.checks, stored };
  } catch (e) {
    return { case: name, ok: false, error: e instanceof CheckFailed ? e.message : `${e.message}\n${e.stack}`, ms: Date.now() - started, checks: ctx.checks, stored: null };
  } finally {
    ctx.close();
  }
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
  if (args.list) {
    process.stdout.write(`${Object.keys(cases).join('\n')}\n`);
    return 0;
  }
  const names = !args.case || args.case === 'all' ? Object.keys(cases) : args.case.split(',');
  const unknown = names.filter((n) => !cases[n]);
  if (unknown.length > 0 || (!args.target && names.some((n) => !OFFLINE.has(n)))) {
    process.stderr.write(`usage: vendor.js --target=HOST:PORT --token=TOKEN --case=all|${Object.keys(cases).join('|')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}\n`);
    return 2;
  }
  const api = loadContract();
  let failed = 0;
  for (const name of names) {
    const result = await runCase(api, args, name);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.ok) {
      failed += 1;
      process.stderr.write(`FAILED ${name}: ${result.error}\n`);
    }
  }
  return failed ? 1 : 0;
}

function exit(code) {
  // Flush stdout (a pipe) before exiting; do not wait for calls a failed case left behind.
  process.stdout.write('', () => process.exit(code));
}

main().then(exit, (e) => { process.stderr.write(`${e.stack}\n`); exit(1); });
