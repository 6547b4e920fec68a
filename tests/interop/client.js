'use strict';
// grpc-js interop client: runs the standard gRPC interop cases (grpc/grpc doc/interop-test-descriptions.md)
// against any grpc.testing.TestService server.
//
// Usage: node client.js --server_host=127.0.0.1 --server_port=PORT [--test_case=all|name[,name...]]
//                       [--use_tls=true --ca=ca.pem [--server_host_override=localhost]]
//                       [--case_timeout_ms=30000]
// Prints one JSON line per case: {"case":"empty_unary","ok":true,"ms":3} or {"case":...,"ok":false,"error":"..."}.
// Exits 1 (and names each failed case on stderr) when any case fails; 2 on bad usage.

const { grpc, load, parseArgs, bool, wasCompressed, readFile } = require('./common');

const { testing } = load();
const Status = grpc.status;
const NO_COMPRESS = 2; // grpc-js WriteFlags.NoCompress, passed as the stream write "encoding".

const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';
const STATUS_MESSAGE = 'test status message';
const SPECIAL_STATUS_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP \u{1F608}\t\n';
const REQUEST_SIZES = [27182, 8, 1828, 45904];
const RESPONSE_SIZES = [31415, 9, 2653, 58979];

class AssertionError extends Error {}

function check(cond, message) {
  if (!cond) {
    throw new AssertionError(message);
  }
}

function zeros(n) {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(n) };
}

function describeErr(err) {
  if (!err) {
    return 'OK';
  }
  return `${err.code} (${Object.keys(Status).find((k) => Status[k] === err.code) || '?'}) "${err.details}"`;
}

function checkPayload(p, size, what) {
  check(p && p.body, `${what}: response has no payload`);
  check(p.body.length === size, `${what}: payload body is ${p.body.length} bytes, expected ${size}`);
  check(p.body.every((b) => b === 0), `${what}: payload body is not all zeros`);
}

/** Unary call; resolves with { err, response, headers, status } once the status arrived. */
function unary(client, method, request, { metadata, deadline } = {}) {
  return new Promise((resolve) => {
    let result = null;
    let status = null;
    let headers = null;
    const finish = () => {
      if (result && status) {
        resolve({ ...result, headers, status });
      }
    };
    const call = client[method](request, metadata || new grpc.Metadata(), deadline ? { deadline } : {}, (err, response) => {
      result = { err, response };
      finish();
    });
    call.on('metadata', (md) => {
      headers = md;
    });
    call.on('status', (st) => {
      status = st;
      finish();
    });
  });
}

/** Wraps a readable (server-streaming / duplex) call: next() yields messages then null; done resolves with the final status. */
function reader(call) {
  const queue = [];
  const waiters = [];
  let ended = false;
  let headers = null;
  let error = null;
  let resolveDone;
  const done = new Promise((r) => {
    resolveDone = r;
  });
  let status = null;
  let streamFinished = false;
  const settle = () => {
    if (status && streamFinished) {
      resolveDone({ status, error, headers });
    }
  };
  const wake = () => {
    while (waiters.length > 0 && (queue.length > 0 || ended)) {
      waiters.shift()(queue.length > 0 ? queue.shift() : null);
    }
  };
  call.on('metadata', (md) => {
    headers = md;
  });
  call.on('data', (m) => {
    queue.push(m);
    wake();
  });
  call.on('end', () => {
    ended = true;
    streamFinished = true;
    wake();
    settle();
  });
  call.on('error', (e) => {
    error = e;
    ended = true;
    streamFinished = true;
    wake();
    settle();
  });
  call.on('status', (st) => {
    status = st;
    settle();
  });
  return {
    next: () => new Promise((r) => {
      waiters.push(r);
      wake();
    }),
    done,
    headers: () => headers,
  };
}

async function drain(r) {
  const messages = [];
  for (let m = await r.next(); m !== null; m = await r.next()) {
    messages.push(m);
  }
  const end = await r.done;
  return { messages, ...end };
}

/** Client-streaming call; returns { call, result } where result resolves to { err, response, status }. */
function clientStream(client, method, { metadata, deadline } = {}) {
  let resolveResult;
  const result = new Promise((r) => {
    resolveResult = r;
  });
  let res = null;
  let status = null;
  const finish = () => {
    if (res && status) {
      resolveResult({ ...res, status });
    }
  };
  const call = client[method](metadata || new grpc.Metadata(), deadline ? { deadline } : {}, (err, response) => {
    res = { err, response };
    finish();
  });
  call.on('status', (st) => {
    status = st;
    finish();
  });
  return { call, result };
}

function expectStatus(actual, code, what) {
  check(actual && actual.code === code, `${what}: expected status ${code}, got ${describeErr(actual)}`);
}

function echoMetadata() {
  const md = new grpc.Metadata();
  md.set(ECHO_INITIAL, 'test_initial_metadata_value');
  md.set(ECHO_TRAILING, Buffer.from([0xab, 0xab, 0xab]));
  return md;
}

function checkEchoedMetadata(headers, trailers, what) {
  check(headers, `${what}: no initial metadata received`);
  const initial = headers.get(ECHO_INITIAL);
  check(initial.length === 1 && initial[0] === 'test_initial_metadata_value',
    `${what}: initial metadata ${ECHO_INITIAL} = ${JSON.stringify(initial)}`);
  const trailing = trailers ? trailers.get(ECHO_TRAILING) : [];
  check(trailing.length === 1 && Buffer.isBuffer(trailing[0]) && trailing[0].equals(Buffer.from([0xab, 0xab, 0xab])),
    `${what}: trailing metadata ${ECHO_TRAILING} = ${JSON.stringify(trailing)}`);
}

const CASES = {
  async empty_unary({ client }) {
    const r = await unary(client, 'emptyCall', {});
    check(!r.err, `EmptyCall failed: ${describeErr(r.err)}`);
    check(r.response !== null && r.response !== undefined, 'EmptyCall response is null');
  },

  async large_unary({ client }) {
    const r = await unary(client, 'unaryCall', { response_size: 314159, payload: zeros(271828) });
    check(!r.err, `UnaryCall failed: ${describeErr(r.err)}`);
    checkPayload(r.response.payload, 314159, 'UnaryCall');
  },

  async client_compressed_unary({ client, gzipClient }) {
    const base = { response_size: 314159, payload: zeros(271828) };
    const probe = await unary(client, 'unaryCall', { ...base, expect_compressed: { value: true } });
    expectStatus(probe.err, Status.INVALID_ARGUMENT, 'probe (uncompressed, expect_compressed=true)');
    const compressed = await unary(gzipClient, 'unaryCall', { ...base, expect_compressed: { value: true } });
    check(!compressed.err, `compressed call failed: ${describeErr(compressed.err)}`);
    checkPayload(compressed.response.payload, 314159, 'compressed call');
    const plain = await unary(client, 'unaryCall', { ...base, expect_compressed: { value: false } });
    check(!plain.err, `uncompressed call failed: ${describeErr(plain.err)}`);
    checkPayload(plain.response.payload, 314159, 'uncompressed call');
  },

  async server_compressed_unary({ client }) {
    for (const want of [true, false]) {
      const r = await unary(client, 'unaryCall', { response_compressed: { value: want }, response_size: 314159, payload: zeros(271828) });
      check(!r.err, `response_compressed=${want}: call failed: ${describeErr(r.err)}`);
      checkPayload(r.response.payload, 314159, `response_compressed=${want}`);
      check(wasCompressed(r.response) === want,
        `response_compressed=${want}: response message compressed flag was ${wasCompressed(r.response)}`);
    }
  },

  async client_streaming({ client }) {
    const { call, result } = clientStream(client, 'streamingInputCall');
    for (const size of REQUEST_SIZES) {
      call.write({ payload: zeros(size) });
    }
    call.end();
    const r = await result;
    check(!r.err, `StreamingInputCall failed: ${describeErr(r.err)}`);
    check(r.response.aggregated_payload_size === 74922, `aggregated_payload_size = ${r.response.aggregated_payload_size}, expected 74922`);
  },

  async client_compressed_streaming({ client, gzipClient }) {
    const probe = clientStream(client, 'streamingInputCall');
    probe.call.write({ expect_compressed: { value: true }, payload: zeros(27182) });
    probe.call.end();
    const p = await probe.result;
    expectStatus(p.err, Status.INVALID_ARGUMENT, 'probe (uncompressed, expect_compressed=true)');

    const { call, result } = clientStream(gzipClient, 'streamingInputCall');
    call.write({ expect_compressed: { value: true }, payload: zeros(27182) });
    call.write({ expect_compressed: { value: false }, payload: zeros(45904) }, NO_COMPRESS);
    call.end();
    const r = await result;
    check(!r.err, `StreamingInputCall failed: ${describeErr(r.err)}`);
    check(r.response.aggregated_payload_size === 73086, `aggregated_payload_size = ${r.response.aggregated_payload_size}, expected 73086`);
  },

  async server_streaming({ client }) {
    const call = client.streamingOutputCall({ response_parameters: RESPONSE_SIZES.map((size) => ({ size })) });
    const r = await drain(reader(call));
    check(!r.error && r.status.code === Status.OK, `StreamingOutputCall failed: ${describeErr(r.error || r.status)}`);
    check(r.messages.length === 4, `got ${r.messages.length} responses, expected 4`);
    r.messages.forEach((m, i) => checkPayload(m.payload, RESPONSE_SIZES[i], `response ${i}`));
  },

  async server_compressed_streaming({ client }) {
    const call = client.streamingOutputCall({
      response_parameters: [
        { compressed: { value: true }, size: 31415 },
        { compressed: { value: false }, size: 92653 },
      ],
    });
    const r = await drain(reader(call));
    check(!r.error && r.status.code === Status.OK, `StreamingOutputCall failed: ${describeErr(r.error || r.status)}`);
    check(r.messages.length === 2, `got ${r.messages.length} responses, expected 2`);
    checkPayload(r.messages[0].payload, 31415, 'response 0');
    checkPayload(r.messages[1].payload, 92653, 'response 1');
    check(wasCompressed(r.messages[0]) === true, `response 0 (compressed=true): compressed flag was ${wasCompressed(r.messages[0])}`);
    check(wasCompressed(r.messages[1]) === false, `response 1 (compressed=false): compressed flag was ${wasCompressed(r.messages[1])}`);
  },

  async ping_pong({ client }) {
    const call = client.fullDuplexCall();
    const r = reader(call);
    for (let i = 0; i < 4; i++) {
      call.write({ response_parameters: [{ size: RESPONSE_SIZES[i] }], payload: zeros(REQUEST_SIZES[i]) });
      const m = await r.next();
      if (m === null) {
        check(false, `stream ended after ${i} responses: ${describeErr((await r.done).error)}`);
      }
      checkPayload(m.payload, RESPONSE_SIZES[i], `response ${i}`);
    }
    call.end();
    const rest = await drain(r);
    check(rest.messages.length === 0, `${rest.messages.length} unexpected extra responses`);
    check(!rest.error && rest.status.code === Status.OK, `FullDuplexCall failed: ${describeErr(rest.error || rest.status)}`);
  },

  async empty_stream({ client }) {
    const call = client.fullDuplexCall();
    const r = reader(call);
    call.end();
    const res = await drain(r);
    check(!res.error && res.status.code === Status.OK, `FullDuplexCall failed: ${describeErr(res.error || res.status)}`);
    check(res.messages.length === 0, `got ${res.messages.length} responses, expected 0`);
  },

  async custom_metadata({ client }) {
    const u = await unary(client, 'unaryCall', { response_size: 314159, payload: zeros(271828) }, { metadata: echoMetadata() });
    check(!u.err, `UnaryCall failed: ${describeErr(u.err)}`);
    checkPayload(u.response.payload, 314159, 'UnaryCall');
    checkEchoedMetadata(u.headers, u.status.metadata, 'UnaryCall');

    const call = client.fullDuplexCall(echoMetadata());
    const r = reader(call);
    call.write({ response_parameters: [{ size: 314159 }], payload: zeros(271828) });
    call.end();
    const d = await drain(r);
    check(!d.error && d.status.code === Status.OK, `FullDuplexCall failed: ${describeErr(d.error || d.status)}`);
    check(d.messages.length === 1, `FullDuplexCall: got ${d.messages.length} responses, expected 1`);
    checkPayload(d.messages[0].payload, 314159, 'FullDuplexCall');
    checkEchoedMetadata(d.headers, d.status.metadata, 'FullDuplexCall');
  },

  async status_code_and_message({ client }) {
    const responseStatus = { code: 2, message: STATUS_MESSAGE };
    const u = await unary(client, 'unaryCall', { response_status: responseStatus });
    check(u.err && u.err.code === 2, `UnaryCall: expected code 2, got ${describeErr(u.err)}`);
    check(u.err.details === STATUS_MESSAGE, `UnaryCall: message ${JSON.stringify(u.err.details)}`);

    const call = client.fullDuplexCall();
    const r = reader(call);
    call.write({ response_status: responseStatus });
    call.end();
    const d = await drain(r);
    check(d.status.code === 2, `FullDuplexCall: expected code 2, got ${describeErr(d.status)}`);
    check(d.status.details === STATUS_MESSAGE, `FullDuplexCall: message ${JSON.stringify(d.status.details)}`);
  },

  async special_status_message({ client }) {
    const u = await unary(client, 'unaryCall', { response_status: { code: 2, message: SPECIAL_STATUS_MESSAGE } });
    check(u.err && u.err.code === 2, `expected code 2, got ${describeErr(u.err)}`);
    check(u.err.details === SPECIAL_STATUS_MESSAGE,
      `message ${JSON.stringify(u.err.details)} != ${JSON.stringify(SPECIAL_STATUS_MESSAGE)}`);
  },

  async unimplemented_method({ client }) {
    const r = await unary(client, 'unimplementedCall', {});
    expectStatus(r.err, Status.UNIMPLEMENTED, 'TestService/UnimplementedCall');
  },

  async unimplemented_service({ unimplementedClient }) {
    const r = await unary(unimplementedClient, 'unimplementedCall', {});
    expectStatus(r.err, Status.UNIMPLEMENTED, 'UnimplementedService/UnimplementedCall');
  },

  async cancel_after_begin({ client }) {
    const { call, result } = clientStream(client, 'streamingInputCall');
    call.cancel();
    const r = await result;
    expectStatus(r.err, Status.CANCELLED, 'StreamingInputCall');
  },

  async cancel_after_first_response({ client }) {
    const call = client.fullDuplexCall();
    const r = reader(call);
    call.write({ response_parameters: [{ size: 31415 }], payload: zeros(27182) });
    const m = await r.next();
    if (m === null) {
      check(false, `no first response: ${describeErr((await r.done).error)}`);
    }
    checkPayload(m.payload, 31415, 'first response');
    call.cancel();
    const d = await drain(r);
    expectStatus(d.error || d.status, Status.CANCELLED, 'FullDuplexCall');
  },

  async timeout_on_sleeping_server({ client }) {
    const call = client.fullDuplexCall(new grpc.Metadata(), { deadline: Date.now() + 1 });
    const r = reader(call);
    call.write({ payload: zeros(27182) });
    const d = await drain(r);
    expectStatus(d.error || d.status, Status.DEADLINE_EXCEEDED, 'FullDuplexCall');
  },
};

function withTimeout(promise, ms, name) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  const host = args.server_host || '127.0.0.1';
  const port = args.server_port;
  if (!port) {
    process.stderr.write('--server_port is required\n');
    process.exit(2);
  }
  const requested = (args.test_case || 'all') === 'all' ? Object.keys(CASES) : args.test_case.split(',');
  const unknown = requested.filter((c) => !CASES[c]);
  if (unknown.length > 0) {
    process.stderr.write(`unknown test case(s): ${unknown.join(', ')}\n`);
    process.exit(2);
  }
  const caseTimeout = Number(args.case_timeout_ms || 30000);

  let creds;
  const options = {};
  if (bool(args.use_tls)) {
    if (!args.ca) {
      process.stderr.write('--use_tls=true needs --ca=PATH (the test CA / self-signed certificate)\n');
      process.exit(2);
    }
    creds = grpc.credentials.createSsl(readFile(args.ca));
    const override = args.server_host_override || 'localhost';
    options['grpc.ssl_target_name_override'] = override;
    options['grpc.default_authority'] = override;
  } else {
    creds = grpc.credentials.createInsecure();
  }
  const target = `${host}:${port}`;
  const ctx = {
    client: new testing.TestService(target, creds, options),
    gzipClient: new testing.TestService(target, creds, { ...options, 'grpc.default_compression_algorithm': 2 /* gzip */ }),
    unimplementedClient: new testing.UnimplementedService(target, creds, options),
  };

  const failed = [];
  for (const name of requested) {
    const started = Date.now();
    let line;
    try {
      await withTimeout(CASES[name](ctx), caseTimeout, name);
      line = { case: name, ok: true, ms: Date.now() - started };
    } catch (e) {
      line = { case: name, ok: false, error: e instanceof AssertionError ? e.message : (e && e.stack) || String(e), ms: Date.now() - started };
      failed.push(name);
      process.stderr.write(`FAILED ${name}: ${line.error}\n`);
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  for (const c of Object.values(ctx)) {
    c.close();
  }
  if (failed.length > 0) {
    process.stderr.write(`${failed.length} of ${requested.length} interop case(s) failed: ${failed.join(', ')}\n`);
    process.exit(1);
  }
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`client crashed: ${(e && e.stack) || e}\n`);
  process.exit(1);
});
