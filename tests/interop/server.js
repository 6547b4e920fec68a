'use strict';
// grpc-js implementation of grpc.testing.TestService (the standard interop server).
// Usage: node server.js [--port=0] [--host=127.0.0.1] [--use_tls=true --cert=server.pem --key=server.key]
// Prints one line `{"listening":PORT}` on stdout once bound, then serves until killed / stdin closes.

const { grpc, load, parseArgs, bool, wasCompressed, readFile } = require('./common');

const { testing } = load();
const Status = grpc.status;

const ECHO_INITIAL = 'x-grpc-test-echo-initial';
const ECHO_TRAILING = 'x-grpc-test-echo-trailing-bin';

function payload(size) {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

function checkResponseType(type) {
  if (type !== undefined && type !== null && type !== 'COMPRESSABLE' && type !== 0) {
    return { code: Status.INVALID_ARGUMENT, details: `unsupported response_type ${type}` };
  }
  return null;
}

/** CompressedRequest feature: INVALID_ARGUMENT when the message's compressed flag disagrees with expect_compressed. */
function checkExpectCompressed(msg) {
  const expect = msg.expect_compressed;
  if (!expect) {
    return null;
  }
  const compressed = wasCompressed(msg) === true;
  if (expect.value && !compressed) {
    return { code: Status.INVALID_ARGUMENT, details: 'expected compressed request message, got uncompressed' };
  }
  if (!expect.value && compressed) {
    return { code: Status.INVALID_ARGUMENT, details: 'expected uncompressed request message, got compressed' };
  }
  return null;
}

function echoInitial(call) {
  const values = call.metadata.get(ECHO_INITIAL);
  if (values.length > 0) {
    const md = new grpc.Metadata();
    md.set(ECHO_INITIAL, values[0]);
    call.sendMetadata(md);
  }
}

function echoTrailing(call) {
  const md = new grpc.Metadata();
  const values = call.metadata.get(ECHO_TRAILING);
  if (values.length > 0) {
    md.set(ECHO_TRAILING, values[0]);
  }
  return md;
}

function echoStatus(st, trailer) {
  if (st && st.code !== 0) {
    return { code: st.code, details: st.message, metadata: trailer };
  }
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Writes one response per ResponseParameters, honouring interval_us. grpc-js servers cannot compress responses. */
async function writeResponses(call, params) {
  for (const p of params) {
    if (p.interval_us > 0) {
      await sleep(p.interval_us / 1000);
    }
    if (call.cancelled) {
      return;
    }
    call.write({ payload: payload(p.size) });
  }
}

const impl = {
  emptyCall(call, callback) {
    echoInitial(call);
    callback(null, {}, echoTrailing(call));
  },

  unaryCall(call, callback) {
    echoInitial(call);
    const trailer = echoTrailing(call);
    const req = call.request;
    const err = checkExpectCompressed(req) || checkResponseType(req.response_type) || echoStatus(req.response_status, trailer);
    if (err) {
      err.metadata = trailer;
      callback(err);
      return;
    }
    callback(null, { payload: payload(req.response_size) }, trailer);
  },

  cacheableUnaryCall(call, callback) {
    callback(null, { payload: { type: 'COMPRESSABLE', body: Buffer.from(String(process.hrtime.bigint())) } });
  },

  streamingOutputCall(call) {
    echoInitial(call);
    const trailer = echoTrailing(call);
    const req = call.request;
    const st = echoStatus(req.response_status, trailer) || checkResponseType(req.response_type);
    writeResponses(call, req.response_parameters).then(
      () => {
        if (st) {
          st.metadata = trailer;
          call.emit('error', st);
        } else {
          call.end(trailer);
        }
      },
      (e) => call.emit('error', { code: Status.INTERNAL, details: String(e), metadata: trailer }),
    );
  },

  streamingInputCall(call, callback) {
    let total = 0;
    let failed = false;
    call.on('data', (msg) => {
      if (failed) {
        return;
      }
      const err = checkExpectCompressed(msg);
      if (err) {
        failed = true;
        callback(err);
        return;
      }
      total += msg.payload ? msg.payload.body.length : 0;
    });
    call.on('end', () => {
      if (!failed) {
        callback(null, { aggregated_payload_size: total });
      }
    });
    call.on('error', () => {});
  },

  fullDuplexCall(call) {
    echoInitial(call);
    const trailer = echoTrailing(call);
    let chain = Promise.resolve();
    let done = false;
    call.on('data', (req) => {
      chain = chain.then(async () => {
        if (done) {
          return;
        }
        const st = echoStatus(req.response_status, trailer) || checkResponseType(req.response_type);
        if (st) {
          done = true;
          st.metadata = trailer;
          call.emit('error', st);
          return;
        }
        await writeResponses(call, req.response_parameters);
      });
    });
    call.on('end', () => {
      chain.then(() => {
        if (!done) {
          done = true;
          call.end(trailer);
        }
      });
    });
    call.on('error', () => {});
  },

  halfDuplexCall(call) {
    echoInitial(call);
    const trailer = echoTrailing(call);
    const requests = [];
    call.on('data', (req) => requests.push(req));
    call.on('end', async () => {
      for (const req of requests) {
        await writeResponses(call, req.response_parameters);
      }
      call.end(trailer);
    });
    call.on('error', () => {});
  },
  // unimplementedCall is deliberately absent: grpc-js answers UNIMPLEMENTED.
};

function main() {
  const args = parseArgs(process.argv.slice(2));
  const host = args.host || '127.0.0.1';
  const port = args.port || '0';
  let creds;
  if (bool(args.use_tls)) {
    creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFile(args.cert), private_key: readFile(args.key) }], false);
  } else {
    creds = grpc.ServerCredentials.createInsecure();
  }
  const server = new grpc.Server();
  // Methods without an implementation (UnimplementedCall) are answered UNIMPLEMENTED by grpc-js.
  server.addService(testing.TestService.service, impl);
  server.bindAsync(`${host}:${port}`, creds, (err, boundPort) => {
    if (err) {
      process.stderr.write(`bind failed: ${err.message}\n`);
      process.exit(2);
    }
    process.stdout.write(JSON.stringify({ listening: boundPort }) + '\n');
  });
  // The parent test process holds our stdin: when it goes away, so do we.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}

main();
