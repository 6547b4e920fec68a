'use strict';
// grpc-js load client for RpcCompare: the same load shapes as our client, against any grpc.testing server.
//   node load-client.js --port=P --mode=unary --seconds=S --concurrency=C   -> {"count":N,"seconds":T}
//   node load-client.js --port=P --mode=stream --seconds=S                  -> {"count":N,"seconds":T}
// Plain grpc-js + proto-loader (no interop instrumentation), default channel options.
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const req = (name) => require(require.resolve(name, { paths: [root] }));
const grpc = req('@grpc/grpc-js');
const protoLoader = req('@grpc/proto-loader');

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  if (!m) throw new Error(`unexpected argument ${a}`);
  return [m[1], m[2]];
}));
const seconds = Number(args.seconds || 5);
const concurrency = Number(args.concurrency || 64);

const def = protoLoader.loadSync('grpc/testing/test.proto', {
  includeDirs: [path.join(root, 'tests', 'interop', 'protos')], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const testing = grpc.loadPackageDefinition(def).grpc.testing;
const client = new testing.TestService(`127.0.0.1:${args.port}`, grpc.credentials.createInsecure());

const unaryOnce = (request) => new Promise((resolve, reject) =>
  client.UnaryCall(request, (err, res) => (err ? reject(err) : resolve(res))));

async function unary() {
  const request = { response_size: 10, payload: { body: Buffer.alloc(10) } };
  for (let i = 0; i < 2000; i++) await unaryOnce(request); // warm-up, as our client does
  let count = 0;
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (elapsed() < seconds) {
      await unaryOnce(request);
      count++;
    }
  }));
  return { count, seconds: elapsed() };
}

function stream() {
  return new Promise((resolve, reject) => {
    const message = { payload: { body: Buffer.alloc(100) } };
    let sent = 0;
    const start = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
    const call = client.StreamingInputCall((err, res) => {
      if (err) return reject(err);
      if (Number(res.aggregated_payload_size) !== sent * 100) {
        return reject(new Error(`aggregated ${res.aggregated_payload_size} != ${sent * 100}`));
      }
      return resolve({ count: sent, seconds: elapsed() });
    });
    const pump = () => {
      while (elapsed() < seconds) {
        sent++;
        if (!call.write(message)) {
          call.once('drain', pump); // respect back-pressure, as our client's awaited writes do
          return;
        }
      }
      call.end();
    };
    pump();
  });
}

(args.mode === 'stream' ? stream() : unary())
  .then((r) => { process.stdout.write(JSON.stringify(r) + '\n'); client.close(); })
  .catch((e) => { process.stderr.write(`${e.stack || e}\n`); process.exit(1); });
