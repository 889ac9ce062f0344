// The OpenAPI check: the document is valid OpenAPI 3.1, every answer the
// suite recorded (SB_API_RECORD) matches its operation, every event
// webhook its CRM received matches the `event` webhook, and error codes
// agree with the source.
//
// usage: node t/openapi/check.mjs doc/openapi.yaml RECORD_DIR SRC_DIR [--partial]
// (--partial: a few answers, as t/openapi.t records; no operation need have one)
// Answers are checked strictly: an object schema that lists properties
// takes no others here, though clients must accept added fields (SPEC).

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [docPath, recordDir, srcDir, partial] = process.argv.slice(2);
const failures = [];
const fail = (msg) => failures.push(msg);
const out = (msg) => console.log(msg);

// --- 1. the document, by a maintained validator ---------------------------

const docText = readFileSync(docPath, 'utf8');
const doc = parse(docText);
const validator = new Validator();
const verdict = await validator.validate(doc);
if (!verdict.valid) {
    fail(`${docPath} is not valid OpenAPI 3.1:\n`
         + JSON.stringify(verdict.errors, null, 2));
} else {
    out(`ok - ${docPath} is valid OpenAPI ${doc.openapi} `
        + `(@seriousme/openapi-schema-validator)`);
}

// --- 2. strict copies of the schemas, for the answers ---------------------

// a copy of a schema with fix() applied to every object in it
function walk(schema, fix) {
    if (Array.isArray(schema)) {
        return schema.map((s) => walk(s, fix));
    }
    if (schema === null || typeof schema !== 'object') {
        return schema;
    }
    const copy = {};
    for (const [k, v] of Object.entries(schema)) {
        copy[k] = walk(v, fix);
    }
    fix(copy);
    return copy;
}

// an object that lists its properties takes no others
const strict = (schema) => walk(schema, (o) => {
    if (o.properties && typeof o.properties === 'object'
        && !('additionalProperties' in o) && !('unevaluatedProperties' in o))
    {
        o.unevaluatedProperties = false;
    }
});

// inline schemas' $refs point into the document, whose schemas ajv has as "doc"
const rebase = (schema) => walk(schema, (o) => {
    if (typeof o.$ref === 'string') {
        o.$ref = `doc${o.$ref}`;
    }
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'doc', components: { schemas: strict(doc.components.schemas) } });

// a component's $ref ("#/components/responses/X") to the object itself
function deref(obj) {
    while (obj && obj.$ref) {
        obj = obj.$ref.slice(2).split('/').reduce((o, k) => o[k], doc);
    }
    return obj;
}

const compiled = new Map();
function check(schema, value) {
    const key = JSON.stringify(schema);
    if (!compiled.has(key)) {
        compiled.set(key, ajv.compile(rebase(strict(schema))));
    }
    const v = compiled.get(key);
    return v(value) ? null : ajv.errorsText(v.errors, { separator: '; ' });
}

// --- 3. the recorded answers ----------------------------------------------

const templates = Object.keys(doc.paths).map((t) => ({
    template: t,
    re: new RegExp('^' + t.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
}));

function operationOf(path) {
    const bare = path.split('?')[0];
    const hit = templates.find((t) => t.re.test(bare));
    return hit ? hit.template : null;
}

function mediaType(header) {
    return (header || '').split(';')[0].trim().toLowerCase();
}

const records = [];
for (const f of readdirSync(recordDir).filter((f) => f.startsWith('answers-'))) {
    for (const line of readFileSync(join(recordDir, f), 'utf8').split('\n')) {
        if (line) {
            records.push(JSON.parse(line));
        }
    }
}

const seen = new Map();      // "GET /agent/me" -> Set of statuses
const codes = new Set();
let checked = 0, unmatched = 0;

for (const r of records) {
    const template = operationOf(r.path);
    if (template === null) {
        unmatched++;         // a location mounted elsewhere by its test
        continue;
    }
    if (r.method === 'OPTIONS') {
        continue;            // CORS preflights: the operator's nginx config answers them
    }
    const body = Buffer.from(r.body, 'hex').toString('utf8');
    const where = `${r.method} ${r.path} -> ${r.status} (${r.test})`;
    const item = doc.paths[template];
    const op = item[r.method.toLowerCase()];
    let response;
    if (op) {
        response = deref(op.responses[String(r.status)] || op.responses.default);
        const name = `${r.method} ${template}`;
        if (!seen.has(name)) {
            seen.set(name, new Set());
        }
        seen.get(name).add(r.status);
    } else if (r.status === 405) {
        response = deref(doc.components.responses.MethodNotAllowed);
    }
    if (!response) {
        fail(`${where}: the document has no such answer`);
        continue;
    }
    checked++;

    const type = mediaType(r.type);
    if (!response.content) {
        if (body.length) {
            fail(`${where}: a body where the document has none`);
        }
        continue;
    }
    if (r.method === 'HEAD') {
        continue;
    }
    const media = response.content[type];
    if (!media) {
        fail(`${where}: Content-Type ${type} is not one of `
             + Object.keys(response.content).join(', '));
        continue;
    }
    let value = body;
    if (type === 'application/json') {
        try {
            value = JSON.parse(body);
        } catch (e) {
            fail(`${where}: not JSON: ${e.message}`);
            continue;
        }
        if (value && value.error && value.error.code) {
            codes.add(value.error.code);
        }
    }
    const why = check(media.schema, value);
    if (why) {
        fail(`${where}: ${why}\n  ${body.slice(0, 400)}`);
    }

    // what the server took must be what the document says it takes
    if (op && op.requestBody && r.status < 300 && r.request
        && mediaType(r.request_type) === 'application/json')
    {
        const rb = deref(op.requestBody).content['application/json'];
        let sent;
        try {
            sent = JSON.parse(Buffer.from(r.request, 'hex').toString('utf8'));
        } catch (e) {
            fail(`${where}: accepted a body that is not JSON`);
            continue;
        }
        const whyReq = check(rb.schema, sent);
        if (whyReq) {
            fail(`${where}: accepted a request the document refuses: ${whyReq}\n`
                 + `  ${JSON.stringify(sent).slice(0, 400)}`);
        }
    }
}

out(`ok - ${checked} recorded answers checked against their operations `
    + `(${unmatched} to locations mounted elsewhere skipped)`);

// --- 3b. the event webhooks the suite's CRM received ----------------------

const hook = doc.webhooks && doc.webhooks.event && doc.webhooks.event.post;
const eventTypes = new Set();
let events = 0;
for (const f of readdirSync(recordDir).filter((f) => f.startsWith('events-'))) {
    for (const line of readFileSync(join(recordDir, f), 'utf8').split('\n')) {
        if (!line) {
            continue;
        }
        const r = JSON.parse(line);
        const body = Buffer.from(r.body, 'hex').toString('utf8');
        if (!hook) {
            fail('events were recorded but the document has no `event` webhook');
            break;
        }
        let value;
        try {
            value = JSON.parse(body);
        } catch (e) {
            fail(`event webhook (${r.test}): not JSON: ${e.message}`);
            continue;
        }
        const where = `event webhook ${value.type} (${r.test})`;
        const why = check(hook.requestBody.content['application/json'].schema,
                          value);
        if (why) {
            fail(`${where}: ${why}\n  ${body.slice(0, 400)}`);
        }
        for (const p of hook.parameters.filter((p) => p.in === 'header')) {
            const v = r.headers[p.name.toLowerCase()];
            const got = p.schema.type === 'integer' ? Number(v) : v;
            const whyH = v === undefined ? 'missing' : check(p.schema, got);
            if (whyH) {
                fail(`${where}: header ${p.name}: ${whyH}`);
            }
        }
        eventTypes.add(value.type);
        events++;
    }
}
if (hook && partial !== '--partial') {
    for (const type of doc.components.schemas.EventType.enum) {
        if (!eventTypes.has(type)) {
            fail(`event webhook ${type}: never received in the suite`);
        }
    }
}
out(`ok - ${events} event webhooks checked, ${eventTypes.size} types`);

// every operation is exercised with a success at least
for (const [template, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'head', 'put', 'post', 'delete']) {
        if (!item[method]) {
            continue;
        }
        const name = `${method.toUpperCase()} ${template}`;
        const statuses = [...(seen.get(name) || [])].sort();
        if (partial === '--partial') {
            continue;
        }
        if (!statuses.some((s) => s < 300)) {
            fail(`${name}: no recorded success (seen: ${statuses.join(' ') || 'nothing'})`);
        } else {
            out(`ok - ${name}: ${statuses.join(' ')}`);
        }
    }
}

// --- 4. error codes: the document's and the source's are the same set ----

const codeSchema = doc.components.schemas.Error.properties.error.properties.code;
const listed = new Set(codeSchema.anyOf[0].enum);
const lacksPattern = new RegExp(codeSchema.anyOf[1].pattern);

function sources(dir) {
    return readdirSync(dir).flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? sources(p)
             : p.endsWith('.c') ? [p] : [];
    });
}

const inSource = new Set();
const calls = /(?:sb_answer_error|ngx_http_switchboard_error)\s*\(\s*[^,;]+,\s*[^,;]+,\s*"([a-z_]+)"/g;
const tables = /\{\s*\d{3},\s*"([a-z_]+)"/g;
for (const f of sources(srcDir)) {
    const text = readFileSync(f, 'utf8');
    for (const re of [calls, tables]) {
        for (const m of text.matchAll(re)) {
            inSource.add(m[1]);
        }
    }
}
for (const c of inSource) {
    if (!listed.has(c)) {
        fail(`error code ${c} is answered by the source but not in the document`);
    }
}
for (const c of listed) {
    if (!inSource.has(c)) {
        fail(`error code ${c} is in the document but nowhere in the source`);
    }
}
for (const c of codes) {
    if (!listed.has(c) && !lacksPattern.test(c)) {
        fail(`error code ${c} was answered but is not in the document`);
    }
}
out(`ok - ${listed.size} error codes, the same set as the source's; `
    + `${codes.size} of them seen in the suite's answers`);

if (failures.length) {
    // a drift shows in thousands of answers alike: the first few say it
    for (const f of failures.slice(0, 40)) {
        console.log(`not ok - ${f}`);
    }
    console.log(`${failures.length} failure(s)`);
    process.exit(1);
}
console.log('OpenAPI check: all good');
