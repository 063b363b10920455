#!/usr/bin/env node
// grpc_client.js — an independent gRPC client for the agent and the checker: grpc-js (pure
// JavaScript, Node's TLS) with the project's .proto files loaded at run time, so it shares no
// code with our C side. Tests use it to check wire compatibility and mTLS refusal.
//
//   node grpc_client.js --addr HOST:PORT [--ca FILE] [--cert FILE --key FILE]
//                       [--server-name NAME] [--details CHECKER] [--timeout-ms N]
//                       [--service NAME] CALL
//
//   CALL  health   grpc.health.v1.Health/Check for --service (default
//                  "monitoring.AgentService"; "" asks about the server as a whole)
//         status   monitoring.AgentService/GetStatus (service_type "netflow")
//         results  monitoring.AgentService/GetResults after --last-sequence (default 0);
//                  decodes the netflow.FlowBatch
//         stream   monitoring.AgentService/StreamResults from last_sequence 0; decodes every
//                  chunk's netflow.FlowBatch
//         raw      --method /pkg.Service/Method with --hex BYTES as the request message,
//                  as they are (tests send malformed requests with it)
//
// Without --ca the channel is plaintext. Prints one JSON line and exits 0 on success; on an
// RPC error prints {"ok": false, "code": ..., "details": ...} and exits 1.
'use strict';

const path = require('path');
const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const protoDir = path.join(__dirname, '..', '..', 'proto');

function parseArgs(argv) {
  const opts = {
    timeoutMs: 10000, details: '', serverName: '', service: 'monitoring.AgentService',
    lastSequence: '0', method: '', hex: '',
  };
  const flags = {
    '--addr': 'addr', '--ca': 'ca', '--cert': 'cert', '--key': 'key',
    '--server-name': 'serverName', '--details': 'details', '--timeout-ms': 'timeoutMs',
    '--service': 'service', '--last-sequence': 'lastSequence', '--method': 'method',
    '--hex': 'hex',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i]];
    if (key !== undefined && i + 1 < argv.length) {
      opts[key] = argv[++i];
    } else if (!argv[i].startsWith('--') && opts.call === undefined) {
      opts.call = argv[i];
    } else {
      throw new Error(`bad argument ${argv[i]}`);
    }
  }
  if (!opts.addr || !['health', 'status', 'results', 'stream', 'raw'].includes(opts.call)) {
    throw new Error('usage: grpc_client.js --addr HOST:PORT [...] health|status|results|stream|raw');
  }
  opts.timeoutMs = Number(opts.timeoutMs);
  return opts;
}

function credentials(opts) {
  if (!opts.ca) return { creds: grpc.credentials.createInsecure(), options: {} };
  const ca = fs.readFileSync(opts.ca);
  const key = opts.key ? fs.readFileSync(opts.key) : null;
  const cert = opts.cert ? fs.readFileSync(opts.cert) : null;
  const options = opts.serverName ? { 'grpc.ssl_target_name_override': opts.serverName } : {};
  return { creds: grpc.credentials.createSsl(ca, key, cert), options };
}

function load(file) {
  return grpc.loadPackageDefinition(protoLoader.loadSync(path.join(protoDir, file), {
    keepCase: true, longs: String, enums: String, defaults: true, bytes: Buffer,
  }));
}

function deadline(opts) {
  return new Date(Date.now() + opts.timeoutMs);
}

function fail(err) {
  console.log(JSON.stringify({ ok: false, code: err.code, details: err.details || err.message }));
  process.exit(1);
}

function health(opts, creds, options) {
  const { grpc: { health: { v1 } } } = load('health.proto');
  const client = new v1.Health(opts.addr, creds, options);
  client.Check({ service: opts.service }, { deadline: deadline(opts) }, (err, res) => {
    if (err) fail(err);
    console.log(JSON.stringify({ ok: true, status: res.status }));
    client.close();
  });
}

function agentClient(opts, creds, options) {
  const { monitoring } = load('monitoring.proto');
  return new monitoring.AgentService(opts.addr, creds, options);
}

function request(opts) {
  return {
    service_name: 'netflow', service_type: 'netflow', agent_id: 'js-client',
    poller_id: 'js-client', details: opts.details,
  };
}

function status(opts, creds, options) {
  const client = agentClient(opts, creds, options);
  client.GetStatus(request(opts), { deadline: deadline(opts) }, (err, res) => {
    if (err) fail(err);
    // message is bytes holding JSON: it must parse.
    const message = JSON.parse(res.message.toString('utf8'));
    console.log(JSON.stringify({ ok: true, available: res.available, message }));
    client.close();
  });
}

function flowBatchType() {
  return protobuf.loadSync(path.join(protoDir, 'netflow.proto')).lookupType('netflow.FlowBatch');
}

function results(opts, creds, options) {
  const FlowBatch = flowBatchType();
  const client = agentClient(opts, creds, options);
  const req = Object.assign(request(opts), { last_sequence: opts.lastSequence });
  client.GetResults(req, { deadline: deadline(opts) }, (err, res) => {
    if (err) fail(err);
    const batch = FlowBatch.toObject(FlowBatch.decode(res.data), { longs: String });
    const records = batch.records || [];
    console.log(JSON.stringify({
      ok: true, available: res.available, has_new_data: res.has_new_data,
      current_sequence: res.current_sequence, records: records.length,
      first_seq: batch.firstSeq || '0', last_seq: batch.lastSeq || '0',
      dropped_before: batch.droppedBefore || '0', // protobufjs names fields in camelCase
    }));
    client.close();
  });
}

function stream(opts, creds, options) {
  const FlowBatch = flowBatchType();
  const client = agentClient(opts, creds, options);
  const req = Object.assign(request(opts), { last_sequence: '0' });
  const out = { ok: true, chunks: 0, records: 0, bytes: '0', packets: '0', final: false,
                first_seq: null, last_seq: null, consecutive: true, current_sequence: '' };
  let bytes = 0n, packets = 0n, next = null;
  const call = client.StreamResults(req, { deadline: deadline(opts) });
  call.on('data', (chunk) => {
    const batch = FlowBatch.toObject(FlowBatch.decode(chunk.data), { longs: String });
    const records = batch.records || [];
    out.chunks++;
    out.records += records.length;
    for (const r of records) {
      const seq = BigInt(r.sequence);
      if (next !== null && seq !== next) out.consecutive = false;
      next = seq + 1n;
      if (out.first_seq === null) out.first_seq = r.sequence;
      out.last_seq = r.sequence;
      bytes += BigInt(r.bytes || 0);
      packets += BigInt(r.packets || 0);
    }
    out.final = chunk.is_final;
    out.current_sequence = chunk.current_sequence;
  });
  call.on('error', fail);
  call.on('end', () => {
    out.bytes = bytes.toString();
    out.packets = packets.toString();
    console.log(JSON.stringify(out));
    client.close();
  });
}

function raw(opts, creds, options) {
  const client = new grpc.Client(opts.addr, creds, options);
  const same = (b) => b;
  client.makeUnaryRequest(opts.method, same, same, Buffer.from(opts.hex, 'hex'),
    { deadline: deadline(opts) }, (err, res) => {
      if (err) fail(err);
      console.log(JSON.stringify({ ok: true, bytes: res.length }));
      client.close();
    });
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`grpc_client: ${e.message}`);
    process.exit(2);
  }
  const { creds, options } = credentials(opts);
  ({ health, status, results, stream, raw })[opts.call](opts, creds, options);
}

main();
