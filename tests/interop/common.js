'use strict';
// Shared helpers of the grpc-js vendor suite (vendor.js): loading the contract from proto/ alone, as a device vendor
// would, bounded awaits, a Sync stream driver, and the decoder of the standard `grpc-status-details-bin` trailer.

const path = require('path');
const crypto = require('crypto');

const ROOT = path.resolve(__dirname, '..', '..');

function requireFromRoot(name) {
  // The scripts live in tests/interop; node_modules is at the repository root.
  try {
    return require(require.resolve(name, { paths: [ROOT] }));
  } catch (e) {
    process.stderr.write(`cannot load ${name} from ${ROOT}/node_modules: run npm ci (${e.message})\n`);
    process.exit(3);
  }
}

const grpc = requireFromRoot('@grpc/grpc-js');
const protoLoader = requireFromRoot('@grpc/proto-loader');
// protobufjs is what proto-loader itself is built on (installed with it).
const protobuf = requireFromRoot('protobufjs');

const CONTRACT_DIR = path.join(ROOT, 'proto');
const LOCAL_PROTOS = path.join(__dirname, 'protos');
const CONTRACT_FILES = [
  'healthgrpc/v1/sync.proto',
  'healthgrpc/v1/samples.proto',
  'healthgrpc/v1/source.proto',
  'healthgrpc/v1/data_type.proto',
  'healthgrpc/v1/errors.proto',
];
const STATUS_DETAILS_TRAILER = 'grpc-status-details-bin';
const ERROR_DETAIL_TYPE_URL = 'type.googleapis.com/healthgrpc.v1.ErrorDetail';

/** The contract as grpc-js service constructors: proto-loader over proto/ (google/protobuf/* comes with it). */
function loadContract() {
  const def = protoLoader.loadSync(CONTRACT_FILES, {
    includeDirs: [CONTRACT_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(def).healthgrpc.v1;
}

let decoderTypes;
function decoder() {
  if (!decoderTypes) {
    const root = new protobuf.Root();
    // Our files from proto/, google/rpc/status.proto from tests/interop/protos; google/protobuf/* are built into protobufjs.
    root.resolvePath = (origin, target) => {
      for (const dir of [CONTRACT_DIR, LOCAL_PROTOS]) {
        const candidate = path.join(dir, target);
        if (require('fs').existsSync(candidate)) {
          return candidate;
        }
      }
      return target;
    };
    root.loadSync(['google/rpc/status.proto', 'healthgrpc/v1/errors.proto'], { keepCase: true });
    root.resolveAll();
    decoderTypes = {
      Status: root.lookupType('google.rpc.Status'),
      ErrorDetail: root.lookupType('healthgrpc.v1.ErrorDetail'),
      Any: root.lookupType('google.protobuf.Any'),
    };
  }
  return decoderTypes;
}

const decodeOptions = { enums: String, longs: String, defaults: true };

/**
 * Decodes the bytes of a `grpc-status-details-bin` trailer: google.rpc.Status whose details hold one Any of type
 * healthgrpc.v1.ErrorDetail. Returns { code, message, detail } (detail as a plain object, enums as names, uint64 as
 * strings) or throws with the reason it cannot.
 */
function decodeStatusDetails(bytes) {
  const t = decoder();
  const status = t.Status.decode(bytes);
  const anys = status.details || [];
  const matching = anys.filter((a) => a.type_url === ERROR_DETAIL_TYPE_URL);
  if (matching.length !== 1) {
    throw new Error(`google.rpc.Status.details has ${matching.length} Any of ${ERROR_DETAIL_TYPE_URL} (type urls: [${anys.map((a) => a.type_url).join(', ')}])`);
  }
  const detail = t.ErrorDetail.toObject(t.ErrorDetail.decode(matching[0].value), decodeOptions);
  return { code: status.code, message: status.message, detail };
}

/** Encodes a google.rpc.Status holding `detail` as an ErrorDetail Any, as a server would (for the decoder self-check). */
function encodeStatusDetails(code, message, detail) {
  const t = decoder();
  const value = t.ErrorDetail.encode(t.ErrorDetail.fromObject(detail)).finish();
  const status = t.Status.fromObject({ code, message, details: [{ type_url: ERROR_DETAIL_TYPE_URL, value }] });
  return Buffer.from(t.Status.encode(status).finish());
}

/** The ErrorDetail of a failed call, read from the standard trailer only; throws when the trailer is absent or wrong. */
function errorDetailOf(err) {
  const values = err && err.metadata ? err.metadata.get(STATUS_DETAILS_TRAILER) : [];
  if (values.length !== 1) {
    const keys = err && err.metadata ? Object.keys(err.metadata.getMap()).join(', ') : '';
    throw new Error(`expected one ${STATUS_DETAILS_TRAILER} trailer, got ${values.length} (trailers: [${keys}])`);
  }
  const decoded = decodeStatusDetails(values[0]);
  if (decoded.code !== err.code) {
    throw new Error(`google.rpc.Status.code ${decoded.code} differs from grpc-status ${err.code}`);
  }
  return decoded.detail;
}

function timeout(promise, ms, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * One Sync stream: send Hello / batches, await responses one at a time (each bounded), and the call's end status.
 * Responses and the end are buffered, so nothing is missed between awaits.
 */
class SyncStream {
  constructor(client, metadata, deadlineMs, stepMs) {
    this.stepMs = stepMs;
    this.responses = [];
    this.waiters = [];
    this.end = null; // { ok: true } or { error }
    this.call = client.Sync(metadata, { deadline: Date.now() + deadlineMs });
    this.call.on('data', (msg) => { this.responses.push(msg); this.wake(); });
    this.call.on('error', (error) => { this.end = this.end || { error }; this.wake(); });
    this.call.on('status', (status) => {
      if (status.code === grpc.status.OK) {
        this.end = this.end || { ok: true };
      }
      this.wake();
    });
    this.call.on('end', () => { this.wake(); });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w();
    }
  }

  changed() {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  write(request) {
    this.call.write(request);
  }

  hello(deviceId, epoch) {
    this.write({ hello: { device: { device_id: deviceId, epoch: String(epoch) }, sdk_version: 'grpc-js-vendor-suite/1.0' } });
  }

  batch(batch) {
    this.write({ batch });
  }

  /** The next response; fails if the call ends first (with its status) or nothing arrives in time. */
  async next(what) {
    const deadline = Date.now() + this.stepMs;
    for (;;) {
      if (this.responses.length > 0) {
        return this.responses.shift();
      }
      if (this.end) {
        const why = this.end.error ? `${grpc.status[this.end.error.code]}: ${this.end.error.details}` : 'OK';
        throw new Error(`Sync ended (${why}) before ${what}`);
      }
      await timeout(this.changed(), Math.max(1, deadline - Date.now()), what);
    }
  }

  async welcome() {
    const r = await this.next('the Welcome');
    if (r.kind !== 'welcome') {
      throw new Error(`expected a Welcome, got ${JSON.stringify(r)}`);
    }
    return r.welcome;
  }

  async ack(batchSeq) {
    const r = await this.next(`the ack of batch ${batchSeq}`);
    if (r.kind !== 'ack') {
      throw new Error(`expected an Ack, got ${JSON.stringify(r)}`);
    }
    return r.ack;
  }

  /** Waits for the end of the call: null when it ended OK, else the grpc-js error (code, details, metadata). */
  async finished(what) {
    const deadline = Date.now() + this.stepMs;
    while (!this.end) {
      await timeout(this.changed(), Math.max(1, deadline - Date.now()), what || 'the end of the Sync call');
    }
    if (this.responses.length > 0) {
      throw new Error(`unexpected responses before the end: ${JSON.stringify(this.responses)}`);
    }
    return this.end.error || null;
  }

  /** Half-closes and waits for the OK end. */
  async close() {
    this.call.end();
    const error = await this.finished('the OK end after half-close');
    if (error) {
      throw new Error(`Sync ended ${grpc.status[error.code]}: ${error.details}`);
    }
  }

  cancel() {
    this.call.cancel();
  }
}

/** Promisified unary call with a deadline; resolves { response } or { error }. */
function unary(client, method, request, metadata, deadlineMs) {
  return timeout(new Promise((resolve) => {
    client[method](request, metadata, { deadline: Date.now() + deadlineMs }, (error, response) => {
      resolve(error ? { error } : { response });
    });
  }), deadlineMs + 2000, `${method}`);
}

function uuid() {
  return crypto.randomBytes(16);
}

function parseArgs(argv) {
  const args = {};
  for (const a of argv) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      throw new Error(`unexpected argument ${a}`);
    }
    args[m[1]] = m[2] === undefined ? 'true' : m[2];
  }
  return args;
}

module.exports = {
  grpc,
  loadContract,
  decodeStatusDetails,
  encodeStatusDetails,
  errorDetailOf,
  timeout,
  SyncStream,
  unary,
  uuid,
  parseArgs,
  STATUS_DETAILS_TRAILER,
  ERROR_DETAIL_TYPE_URL,
};
