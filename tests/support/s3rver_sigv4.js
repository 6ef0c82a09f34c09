'use strict';
// s3rver (a fake S3 server) behind a check of every request's AWS Signature
// Version 4, for tests of gencache's S3 blob store.
//
// s3rver 3.7.1 does not verify V4 signatures: it only checks that the access
// key id exists and that the headers are well formed, so a client signing
// with the wrong secret, or signing the wrong canonical request, would pass.
// This wrapper recomputes each signature with node's HMAC-SHA256 from the
// canonical request described in
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// and answers 403 SignatureDoesNotMatch (with the canonical request it
// expected) when they differ, as S3 does. Requests that pass go to s3rver
// unchanged. The payload hash is taken from x-amz-content-sha256 (as S3
// does); the body itself is not re-hashed.
//
// s3rver also writes an object in place, so a request that reads the key
// while a PUT is under way sees a partial object or fails with 500. S3's PUTs
// are atomic; to keep that guarantee the wrapper runs the requests for one
// key (path) one after another. Requests for different keys still overlap.
//
// Usage: node s3rver_sigv4.js --s3rver-module DIR --directory DIR
//          --address 127.0.0.1 --port 0 --bucket NAME
//          [--access-key S3RVER --secret-key S3RVER --region us-east-1]
// Prints "listening PORT" on stdout once it accepts connections.

const crypto = require('crypto');
const http = require('http');

function argument(name, fallback) {
  const at = process.argv.indexOf(name);
  if (at < 0 || at + 1 >= process.argv.length) {
    if (fallback !== undefined) return fallback;
    console.error(`s3rver_sigv4: missing ${name}`);
    process.exit(2);
  }
  return process.argv[at + 1];
}

const S3rver = require(argument('--s3rver-module'));
const directory = argument('--directory');
const address = argument('--address', '127.0.0.1');
const port = Number(argument('--port', '0'));
const bucket = argument('--bucket');
const accessKey = argument('--access-key', 'S3RVER');
const secretKey = argument('--secret-key', 'S3RVER');
const region = argument('--region', 'us-east-1');

function rfc3986(s) {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function canonicalUri(rawPath) {
  // S3 does not normalise paths; each segment is URI-encoded once.
  return rawPath
    .split('/')
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  return rawQuery
    .split('&')
    .filter((pair) => pair.length > 0)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [rfc3986(decodeURIComponent(name)), rfc3986(decodeURIComponent(value))];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function xmlEscape(s) {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Returns null when the request is signed correctly, else [status, code, message, extra].
function check(req) {
  const authorization = req.headers['authorization'];
  if (!authorization) return [403, 'AccessDenied', 'Anonymous requests are not accepted', ''];
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), *SignedHeaders=([^,]+), *Signature=([0-9a-f]{64})$/.exec(
    authorization,
  );
  if (!match) {
    return [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed', ''];
  }
  const [, credential, signedHeaderList, signature] = match;
  const [keyId, date, scopeRegion, service, terminator] = credential.split('/');
  if (keyId !== accessKey) {
    return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', ''];
  }
  if (scopeRegion !== region || service !== 's3' || terminator !== 'aws4_request') {
    return [400, 'AuthorizationHeaderMalformed', `Bad credential scope; expecting region '${region}' and service 's3'`, ''];
  }
  const amzDate = req.headers['x-amz-date'] || '';
  if (!amzDate.startsWith(date)) {
    return [403, 'SignatureDoesNotMatch', 'x-amz-date does not match the credential scope date', ''];
  }
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (!payloadHash) {
    return [400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', ''];
  }
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-content-sha256')) {
    return [403, 'AccessDenied', 'host and x-amz-content-sha256 must be signed', ''];
  }
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) {
      return [403, 'AccessDenied', `There were headers present in the request which were not signed: ${name}`, ''];
    }
  }
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${String(req.headers[name] ?? '').trim().replace(/ +/g, ' ')}\n`)
    .join('');
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
  const canonicalRequest = [
    req.method,
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    `${date}/${scopeRegion}/s3/aws4_request`,
    crypto.createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  let key = hmac('AWS4' + secretKey, date);
  key = hmac(key, scopeRegion);
  key = hmac(key, 's3');
  key = hmac(key, 'aws4_request');
  const expected = hmac(key, stringToSign).toString('hex');
  if (expected !== signature) {
    return [
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      `<CanonicalRequest>${xmlEscape(canonicalRequest)}</CanonicalRequest>`,
    ];
  }
  return null;
}

// Runs `start(done)` after every earlier request for `path` has called done.
const queues = new Map();
function oneAtATime(path, start) {
  const previous = queues.get(path) || Promise.resolve();
  let done;
  const finished = new Promise((resolve) => {
    done = resolve;
  });
  const tail = previous.then(() => finished);
  queues.set(path, tail);
  tail.then(() => {
    if (queues.get(path) === tail) queues.delete(path);
  });
  previous.then(() => start(done));
}

function pathOf(req) {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
}

function reject(req, res, [status, code, message, extra]) {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${extra}</Error>`;
  // The request body may be unread: close rather than parse it as a request.
  res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function main() {
  const app = new S3rver({
    directory,
    silent: process.argv.includes('--verbose') ? false : true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  await app.configureBuckets();
  const handle = app.callback();
  const serve = (req, res, expectsContinue) => {
    const failure = check(req);
    if (failure) return reject(req, res, failure);
    oneAtATime(pathOf(req), (done) => {
      res.on('finish', done);
      res.on('close', done);
      if (expectsContinue) res.writeContinue();
      handle(req, res);
    });
  };
  const server = http.createServer((req, res) => serve(req, res, false));
  // Answer "Expect: 100-continue" only for requests that are signed correctly,
  // so a rejected upload sends no body (as S3 does).
  server.on('checkContinue', (req, res) => serve(req, res, true));
  server.listen(port, address, () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
