'use strict';
// Shared helpers for the grpc-js interop peers (server.js, client.js).
// Loads grpc.testing protos with @grpc/proto-loader and exposes the per-message
// "compressed" flag, which grpc-js does not surface publicly (see instrumentCompressionFlags).

const path = require('path');
const fs = require('fs');

function requireFromRoot(name) {
  // The scripts live in tests/interop; node_modules is at the repository root.
  const root = path.resolve(__dirname, '..', '..');
  try {
    return require(require.resolve(name, { paths: [root] }));
  } catch (e) {
    process.stderr.write(`cannot load ${name} from ${root}/node_modules: run npm ci (${e.message})\n`);
    process.exit(3);
  }
}

const grpc = requireFromRoot('@grpc/grpc-js');
const protoLoader = requireFromRoot('@grpc/proto-loader');

const PROTO_DIR = path.join(__dirname, 'protos');
const COMPRESSED = Symbol('grpcMessageCompressed');

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

function bool(v) {
  return v === true || v === 'true' || v === '1';
}

/**
 * grpc-js reads the 5-byte gRPC message prefix internally and hands the deserializer only the
 * (decompressed) payload. To check the interop "expect_compressed" / "response_compressed"
 * semantics on the wire, we wrap the two internal places where the prefix is read and tag the
 * payload buffer with whether its compressed flag was set. The deserializers below copy the tag
 * onto the decoded message. If grpc-js internals move, this throws at startup (never silently).
 */
function instrumentCompressionFlags() {
  const root = path.dirname(require.resolve('@grpc/grpc-js/package.json', { paths: [path.resolve(__dirname, '..', '..')] }));
  const cf = require(path.join(root, 'build', 'src', 'compression-filter.js'));
  const si = require(path.join(root, 'build', 'src', 'server-interceptors.js'));
  if (!cf.CompressionFilter || typeof cf.CompressionFilter.prototype.receiveMessage !== 'function') {
    throw new Error('grpc-js internals changed: CompressionFilter.receiveMessage not found');
  }
  if (!si.BaseServerInterceptingCall || typeof si.BaseServerInterceptingCall.prototype.decompressMessage !== 'function') {
    throw new Error('grpc-js internals changed: BaseServerInterceptingCall.decompressMessage not found');
  }
  // Client side: the framed message (flag byte + length + payload) arrives here.
  const origReceive = cf.CompressionFilter.prototype.receiveMessage;
  cf.CompressionFilter.prototype.receiveMessage = async function (message) {
    const framed = await message;
    const compressed = framed.readUInt8(0) === 1;
    const out = await origReceive.call(this, Promise.resolve(framed));
    out[COMPRESSED] = compressed;
    return out;
  };
  // Server side: called with encoding 'identity' when the flag byte is 0, else the call's grpc-encoding.
  const origDecompress = si.BaseServerInterceptingCall.prototype.decompressMessage;
  si.BaseServerInterceptingCall.prototype.decompressMessage = async function (message, encoding) {
    const compressed = message.readUInt8(0) === 1;
    const out = await origDecompress.call(this, message, encoding);
    out[COMPRESSED] = compressed;
    return out;
  };
}

function tagDeserializer(fn) {
  return (buf) => {
    const obj = fn(buf);
    Object.defineProperty(obj, COMPRESSED, { value: buf[COMPRESSED], enumerable: false });
    return obj;
  };
}

/** Returns { grpc, testing } where testing.TestService etc. are grpc-js service constructors/definitions. */
function load() {
  instrumentCompressionFlags();
  const def = protoLoader.loadSync('grpc/testing/test.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  for (const name of ['grpc.testing.TestService', 'grpc.testing.UnimplementedService']) {
    for (const m of Object.values(def[name])) {
      m.requestDeserialize = tagDeserializer(m.requestDeserialize);
      m.responseDeserialize = tagDeserializer(m.responseDeserialize);
    }
  }
  const pkg = grpc.loadPackageDefinition(def);
  return { grpc, testing: pkg.grpc.testing };
}

/** True/false when the message's gRPC compressed flag was observed, undefined if unknown. */
function wasCompressed(msg) {
  return msg ? msg[COMPRESSED] : undefined;
}

function readFile(p) {
  return fs.readFileSync(p);
}

module.exports = { grpc, load, parseArgs, bool, wasCompressed, readFile };
