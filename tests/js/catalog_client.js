#!/usr/bin/env node
// catalog_client.js — drives serviceradar-iceberg-catalog through iceberg-js, an independent
// Iceberg REST client (it shares no code with the C server), so the test checks what real
// clients send and expect. Every check is exact; the first failure exits 1 with a message.
//
//   node catalog_client.js basic BASE_URL WAREHOUSE_DIR
//        namespace create/load/exists/list, table create/load/exists/list, commit of a
//        snapshot, a stale commit refused with 409 CommitFailedException (metadata
//        unchanged), register a table from a metadata file, rename, drops. Leaves
//        namespace "it" with table "events" (one snapshot) behind for the shell test.
//   node catalog_client.js concurrent BASE_URL[,BASE_URL...] NS TABLE N
//        N committers at once, committer i talking to server i % count; each loads the
//        table, commits one snapshot asserting the current one (assert-ref-snapshot-id),
//        and on 409 reloads and retries. Prints {"commits":N,"conflicts":C}.
//   node catalog_client.js snapshots BASE_URL NS TABLE
//        prints {"snapshots":[ids...],"current":id,"metadata-location":...}
'use strict';

const { IcebergRestCatalog, IcebergError } = require('iceberg-js');

function fail(msg) {
    console.error(`catalog_client: FAIL: ${msg}`);
    process.exit(1);
}

function expect(what, got, want) {
    const g = JSON.stringify(got), w = JSON.stringify(want);
    if (g !== w) fail(`${what}: got ${g}, expected ${w}`);
}

// Runs fn, which must throw an IcebergError with this status (and type, when given).
async function expectError(what, status, type, fn) {
    try {
        await fn();
    } catch (e) {
        if (!(e instanceof IcebergError)) fail(`${what}: unexpected ${e}`);
        expect(`${what} status`, e.status, status);
        if (type) expect(`${what} type`, e.icebergType, type);
        return e;
    }
    fail(`${what}: succeeded, expected HTTP ${status}`);
}

function catalog(baseUrl) {
    return new IcebergRestCatalog({ baseUrl, auth: { type: 'none' } });
}

const schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
        { id: 1, name: 'ts', type: 'timestamptz', required: false },
        { id: 2, name: 'host', type: 'string', required: false },
        { id: 3, name: 'bytes', type: 'long', required: false },
    ],
};

let idCounter = 0;
function snapshotId() {
    // Positive, below 2^53 (JavaScript numbers stay exact), distinct within this process
    // (the low 20 bits count), random across processes (the high bits).
    idCounter += 1;
    return Math.floor(Math.random() * 2 ** 30) * 2 ** 20 + (idCounter % 2 ** 20) + 1;
}

function current(meta) {
    const id = meta['current-snapshot-id'];
    return id === undefined || id === null || id === -1 ? null : id;
}

// The updates of one append: add-snapshot on top of meta's current snapshot, move main.
function appendUpdates(meta, tag) {
    const id = snapshotId();
    const parent = current(meta);
    const snap = {
        'snapshot-id': id,
        'sequence-number': meta['last-sequence-number'] + 1,
        'timestamp-ms': Date.now(),
        'manifest-list': `${meta.location}/metadata/snap-${id}-1-${tag}.avro`,
        summary: { operation: 'append', 'added-records': '1', 'it-tag': String(tag) },
        'schema-id': 0,
    };
    if (parent !== null) snap['parent-snapshot-id'] = parent;
    return {
        id,
        requirements: [
            { type: 'assert-table-uuid', uuid: meta['table-uuid'] },
            { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parent },
        ],
        updates: [
            { action: 'add-snapshot', snapshot: snap },
            { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
        ],
    };
}

async function basic(baseUrl, warehouse) {
    const c = catalog(baseUrl);
    const ns = { namespace: ['it'] };
    await c.createNamespace(ns, { properties: { owner: 'it' } });
    await expectError('create namespace twice', 409, 'AlreadyExistsException',
        () => c.createNamespace(ns));
    expect('namespace properties', (await c.loadNamespaceMetadata(ns)).properties,
        { owner: 'it' });
    expect('namespace exists', await c.namespaceExists(ns), true);
    expect('absent namespace exists', await c.namespaceExists({ namespace: ['nope'] }), false);
    const upd = await c.updateNamespaceProperties(ns, { updates: { a: '1' }, removals: ['owner', 'x'] });
    expect('property update', [upd.updated, upd.removed, upd.missing], [['a'], ['owner'], ['x']]);
    expect('namespaces', (await c.listNamespaces()).namespaces, [{ namespace: ['it'] }]);

    const id = { namespace: ['it'], name: 'events' };
    const created = await c.createTableResult(ns, {
        name: 'events',
        schema,
        'partition-spec': { 'spec-id': 0, fields: [] },
        properties: { 'write.format.default': 'parquet' },
    });
    expect('table location', created.metadata.location, `file://${warehouse}/it/events`);
    expect('created metadata-location', created['metadata-location'],
        `file://${warehouse}/it/events/metadata/v1.metadata.json`);
    expect('created format-version', created.metadata['format-version'], 2);
    expect('created has no snapshot', current(created.metadata), null);
    await expectError('create table twice', 409, 'AlreadyExistsException',
        () => c.createTable(ns, { name: 'events', schema }));
    await expectError('create in absent namespace', 404, 'NoSuchNamespaceException',
        () => c.createTable({ namespace: ['nope'] }, { name: 't', schema }));
    await expectError('location outside the warehouse', 400, 'BadRequestException',
        () => c.createTable(ns, { name: 'elsewhere', schema, location: 'file:///tmp/elsewhere' }));
    await expectError('location escaping the warehouse', 400, 'BadRequestException',
        () => c.createTable(ns, { name: 'esc', schema, location: `file://${warehouse}/../x` }));
    await expectError('stage-create', 400, 'BadRequestException',
        () => c.createTable(ns, { name: 'staged', schema, 'stage-create': true }));

    const loaded = await c.loadTableResult(id);
    expect('loaded metadata-location', loaded['metadata-location'], created['metadata-location']);
    expect('loaded uuid', loaded.metadata['table-uuid'], created.metadata['table-uuid']);
    expect('table exists', await c.tableExists(id), true);
    expect('absent table exists', await c.tableExists({ namespace: ['it'], name: 'nope' }), false);
    await expectError('load absent table', 404, 'NoSuchTableException',
        () => c.loadTable({ namespace: ['it'], name: 'nope' }));

    // Commit one snapshot.
    const first = appendUpdates(loaded.metadata, 'basic');
    const committed = await c.commitTable(id, first);
    expect('committed metadata-location', committed['metadata-location'],
        `file://${warehouse}/it/events/metadata/v2.metadata.json`);
    expect('committed current', current(committed.metadata), first.id);
    expect('committed sequence', committed.metadata['last-sequence-number'],
        loaded.metadata['last-sequence-number'] + 1);
    const log = committed.metadata['metadata-log'] || [];
    expect('metadata-log names the previous file', log.map((e) => e['metadata-file']),
        [created['metadata-location']]);

    // A stale commit (built on the old metadata: asserts no snapshot) is refused, changes
    // nothing.
    const stale = appendUpdates(loaded.metadata, 'stale');
    await expectError('stale commit', 409, 'CommitFailedException', () => c.commitTable(id, stale));
    const after = await c.loadTableResult(id);
    expect('metadata-location after stale commit', after['metadata-location'],
        committed['metadata-location']);
    expect('current after stale commit', current(after.metadata), first.id);
    await expectError('commit to absent table', 404, 'NoSuchTableException',
        () => c.commitTable({ namespace: ['it'], name: 'nope' }, first));

    // Register a second table from the committed metadata file.
    const reg = await c.registerTableResult(ns, {
        name: 'events_copy', 'metadata-location': committed['metadata-location'] });
    expect('registered metadata-location', reg['metadata-location'], committed['metadata-location']);
    expect('registered current', current(reg.metadata), first.id);
    await expectError('register missing file', 400, 'BadRequestException',
        () => c.registerTable(ns, { name: 'ghost',
            'metadata-location': `file://${warehouse}/nope/v1.metadata.json` }));
    await expectError('register over existing', 409, 'AlreadyExistsException',
        () => c.registerTable(ns, { name: 'events',
            'metadata-location': committed['metadata-location'] }));
    expect('tables', (await c.listTables(ns)).identifiers,
        [{ namespace: ['it'], name: 'events' }, { namespace: ['it'], name: 'events_copy' }]);

    // Rename, then drop; the namespace cannot go while it holds a table.
    await c.renameTable({ source: { namespace: ['it'], name: 'events_copy' },
        destination: { namespace: ['it'], name: 'events_renamed' } });
    expect('renamed load', (await c.loadTableResult({ namespace: ['it'], name: 'events_renamed' }))[
        'metadata-location'], committed['metadata-location']);
    await c.dropTable({ namespace: ['it'], name: 'events_renamed' });
    expect('dropped exists', await c.tableExists({ namespace: ['it'], name: 'events_renamed' }), false);
    await expectError('drop absent table', 404, 'NoSuchTableException',
        () => c.dropTable({ namespace: ['it'], name: 'events_renamed' }));
    await expectError('drop non-empty namespace', 409, 'NamespaceNotEmptyException',
        () => c.dropNamespace(ns));
    await c.createNamespace({ namespace: ['scratch'] });
    await c.dropNamespace({ namespace: ['scratch'] });
    expect('namespaces after drop', (await c.listNamespaces()).namespaces, [{ namespace: ['it'] }]);
    console.log(JSON.stringify({ ok: true, snapshot: first.id,
        'metadata-location': committed['metadata-location'] }));
}

async function concurrent(bases, nsName, table, n) {
    const cats = bases.split(',').map(catalog);
    const id = { namespace: [nsName], name: table };
    let conflicts = 0;
    async function committer(i) {
        const c = cats[i % cats.length];
        for (let attempt = 0; attempt < 200; attempt++) {
            const meta = await c.loadTable(id);
            const u = appendUpdates(meta, `w${i}`);
            try {
                await c.commitTable(id, u);
                return u.id;
            } catch (e) {
                if (e instanceof IcebergError && e.status === 409) {
                    conflicts += 1;
                    continue;
                }
                throw e;
            }
        }
        fail(`committer ${i}: no commit after 200 attempts`);
    }
    const ids = await Promise.all(Array.from({ length: n }, (_, i) => committer(i)));
    console.log(JSON.stringify({ commits: ids.length, conflicts, ids }));
}

async function snapshots(base, nsName, table) {
    const r = await catalog(base).loadTableResult({ namespace: [nsName], name: table });
    console.log(JSON.stringify({
        snapshots: (r.metadata.snapshots || []).map((s) => s['snapshot-id']),
        parents: (r.metadata.snapshots || []).map((s) => s['parent-snapshot-id'] ?? null),
        current: current(r.metadata),
        'metadata-location': r['metadata-location'],
    }));
}

async function main() {
    const [mode, ...args] = process.argv.slice(2);
    if (mode === 'basic') return basic(args[0], args[1]);
    if (mode === 'concurrent') return concurrent(args[0], args[1], args[2], Number(args[3]));
    if (mode === 'snapshots') return snapshots(args[0], args[1], args[2]);
    fail(`unknown mode ${mode}`);
}

main().catch((e) => fail(`${e.stack || e} ${e.details ? JSON.stringify(e.details) : ''}`));
