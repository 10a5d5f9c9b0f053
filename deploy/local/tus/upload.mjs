#!/usr/bin/env node
// Uploads one file to a tus 1.0.0 server with the stock tus-js-client (4.x, Node.js build),
// for Flowsvault's resumable-upload tests. The client is used as an application would use
// it: only documented options and its FileUrlStorage; nothing in it is patched. With
// --read-size the file is read through a FileReader of this script (the documented
// fileReader option) that reads larger pieces than the client's own 64 KiB.
//
//   node upload.mjs --endpoint URL --file PATH [--key fv_...] [options]
//
//   --endpoint URL       the creation URL, e.g. http://127.0.0.1:8080/api/uploads (required)
//   --file PATH          the file to upload (required)
//   --key KEY            sent as "Authorization: Bearer KEY" on every request
//   --header 'N: V'      one more header on every request (repeatable), e.g. a Cookie
//   --chunk-size BYTES   the largest PATCH body (default: the rest of the file at once)
//   --read-size BYTES    read the file, and write each PATCH body to the socket, in pieces
//                        of this size (default: the client's own reader, 64 KiB pieces).
//                        Each 64 KiB piece costs the client a trip through its stream pipes,
//                        which on two cores shared with the server takes CPU the server
//                        needs; a browser client reads a Blob slice whole instead.
//   --metadata K=V       one Upload-Metadata entry (repeatable); filename defaults to the
//                        file's base name
//   --stop-after BYTES   abort the upload once the server has acknowledged at least BYTES
//                        (the chunk size defaults to BYTES then); exit code 3
//   --resume             continue the newest upload of this file recorded in the URL
//                        storage: HEAD for the server's offset, then PATCH from there
//   --url URL            continue this upload URL instead (HEAD, then PATCH)
//   --url-storage PATH   the FileUrlStorage JSON file shared by runs (default
//                        $FLOWSVAULT_TUS_URL_STORAGE, else ~/.cache/flowsvault/tus/tus-js-client-urls.json)
//   --with-upload        creation-with-upload: the first chunk goes in the POST
//                        (tus-js-client's uploadDataDuringCreation)
//   --override-patch     send PATCH as POST + X-HTTP-Method-Override (overridePatchMethod)
//   --retry-delays LIST  comma-separated milliseconds, or "none" (default: the client's
//                        own, 0,1000,3000,5000)
//   --timeout SECONDS    give up after this long (exit code 5; default: no limit)
//   --verbose            tus-js-client's debug log and one line per request, on stderr
//
// At the end one JSON line goes to stdout:
//   {"url", "bytesSent", "offsetAtStart", "offset", "size", "created", "resumed", "stopped",
//    "elapsedMs"}
// bytesSent counts the bytes this run had acknowledged; offsetAtStart is the offset the
// run started from (0 for a new upload, else the server's answer to the resuming HEAD).
// elapsedMs is the time from the upload's start (just before its first request) to its
// end (the last acknowledgment, or the failure): the transfer, without Node.js's own
// start and the loading of the client, which `make bench` measures on their own.
// On failure the line is {"error", "status", "body", "url", ...} instead.
// Exit codes: 0 uploaded, 1 the upload failed, 2 bad arguments, 3 stopped by --stop-after,
// 4 --resume found no recorded upload for this file, 5 --timeout.
// Every other message goes to stderr.

import { createReadStream, mkdirSync, promises as fsPromises, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { FileUrlStorage, Upload, defaultOptions, enableDebugLog } from 'tus-js-client'

const EXIT_FAILED = 1
const EXIT_USAGE = 2
const EXIT_STOPPED = 3
const EXIT_NOTHING_TO_RESUME = 4
const EXIT_TIMEOUT = 5

// stdout carries the result line only: whatever the client logs goes to stderr.
console.log = (...args) => console.error(...args)

function usageError(message) {
  process.stderr.write(`upload.mjs: ${message}\n(see the comment at the top of upload.mjs)\n`)
  process.exit(EXIT_USAGE)
}

function byteCount(name, text, { positive = false } = {}) {
  if (text === undefined) return null
  if (!/^[0-9]+$/.test(text)) usageError(`--${name} needs a number of bytes, not ${JSON.stringify(text)}`)
  const value = Number(text)
  if (!Number.isSafeInteger(value) || (positive && value === 0)) {
    usageError(`--${name} is out of range: ${text}`)
  }
  return value
}

let parsed
try {
  parsed = parseArgs({
    options: {
      endpoint: { type: 'string' },
      file: { type: 'string' },
      key: { type: 'string' },
      header: { type: 'string', multiple: true, default: [] },
      'chunk-size': { type: 'string' },
      'read-size': { type: 'string' },
      metadata: { type: 'string', multiple: true, default: [] },
      'stop-after': { type: 'string' },
      resume: { type: 'boolean', default: false },
      url: { type: 'string' },
      'url-storage': { type: 'string' },
      'with-upload': { type: 'boolean', default: false },
      'override-patch': { type: 'boolean', default: false },
      'retry-delays': { type: 'string' },
      timeout: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  })
} catch (err) {
  usageError(err.message)
}
const opts = parsed.values

if (!opts.endpoint) usageError('--endpoint is required')
if (!opts.file) usageError('--file is required')
const file = resolve(opts.file)
let size
try {
  const info = statSync(file)
  if (!info.isFile()) usageError(`${file} is not a regular file`)
  size = info.size
} catch (err) {
  usageError(`cannot read ${file}: ${err.message}`)
}

const stopAfter = byteCount('stop-after', opts['stop-after'])
const readSize = byteCount('read-size', opts['read-size'], { positive: true })
let chunkSize = byteCount('chunk-size', opts['chunk-size'], { positive: true })
if (chunkSize === null && stopAfter !== null && stopAfter > 0) chunkSize = stopAfter

const headers = {}
if (opts.key !== undefined) headers.Authorization = `Bearer ${opts.key}`
for (const line of opts.header) {
  const colon = line.indexOf(':')
  if (colon <= 0) usageError(`--header needs "Name: value", not ${JSON.stringify(line)}`)
  headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
}

const metadata = {}
for (const pair of opts.metadata) {
  const eq = pair.indexOf('=')
  if (eq <= 0) usageError(`--metadata needs key=value, not ${JSON.stringify(pair)}`)
  const key = pair.slice(0, eq)
  if (/[\s,]/.test(key)) usageError(`metadata key ${JSON.stringify(key)} has a space or comma`)
  metadata[key] = pair.slice(eq + 1)
}
if (!('filename' in metadata)) metadata.filename = basename(file)

let retryDelays = defaultOptions.retryDelays
if (opts['retry-delays'] !== undefined) {
  const text = opts['retry-delays'].trim()
  if (text === 'none') {
    retryDelays = null
  } else if (/^[0-9]+(,[0-9]+)*$/.test(text)) {
    retryDelays = text.split(',').map(Number)
  } else {
    usageError(`--retry-delays needs comma-separated milliseconds or "none", not ${JSON.stringify(text)}`)
  }
}

let timeoutMs = null
if (opts.timeout !== undefined) {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(opts.timeout) || Number(opts.timeout) <= 0) {
    usageError(`--timeout needs a positive number of seconds, not ${JSON.stringify(opts.timeout)}`)
  }
  timeoutMs = Number(opts.timeout) * 1000
}

const storagePath = resolve(
  opts['url-storage'] ||
    process.env.FLOWSVAULT_TUS_URL_STORAGE ||
    join(homedir(), '.cache', 'flowsvault', 'tus', 'tus-js-client-urls.json'),
)
mkdirSync(dirname(storagePath), { recursive: true })
const urlStorage = new FileUrlStorage(storagePath)

if (opts.verbose) enableDebugLog()
function note(message) {
  if (opts.verbose) process.stderr.write(`upload.mjs: ${message}\n`)
}

// What this run observed, for the result line.
const state = {
  offsetAtStart: null,
  offset: null,
  bytesSent: 0,
  created: false,
  resumed: false,
  stopped: false,
}
let finished = false
let upload
// performance.now() when the upload started and when it ended.
let startedAt = null
let endedAt = null

function finish(code, extra = {}) {
  if (finished) return
  finished = true
  endedAt ??= performance.now()
  const line = {
    url: upload?.url ?? null,
    bytesSent: state.bytesSent,
    offsetAtStart: state.offsetAtStart ?? 0,
    offset: state.offset ?? state.offsetAtStart ?? 0,
    size,
    created: state.created,
    resumed: state.resumed,
    stopped: state.stopped,
    elapsedMs: startedAt === null ? null : Math.round((endedAt - startedAt) * 1000) / 1000,
    ...extra,
  }
  process.stdout.write(`${JSON.stringify(line)}\n`, () => process.exit(code))
}

// Drops what the URL storage holds for this upload once it is complete, so that a later
// --resume of the same file cannot pick a finished upload. (The client's own
// removeFingerprintOnSuccess does not wait for the storage write before onSuccess runs,
// and this script exits in onSuccess, so it removes the entry itself.)
async function forgetUpload(url) {
  if (!url) return
  try {
    const fingerprint = await upload.options.fingerprint(upload.file, upload.options)
    if (!fingerprint) return
    for (const entry of await urlStorage.findUploadsByFingerprint(fingerprint)) {
      if (entry.uploadUrl === url) await urlStorage.removeUpload(entry.urlStorageKey)
    }
  } catch (err) {
    process.stderr.write(`upload.mjs: could not clean ${storagePath}: ${err.message}\n`)
  }
}

const options = {
  endpoint: opts.endpoint,
  headers,
  metadata,
  retryDelays,
  urlStorage,
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: false,
  uploadDataDuringCreation: opts['with-upload'],
  overridePatchMethod: opts['override-patch'],
  onBeforeRequest(req) {
    note(`-> ${req.getMethod()} ${req.getURL()}`)
  },
  onAfterResponse(req, res) {
    const method = req.getMethod()
    const status = res.getStatus()
    note(`<- ${status} ${method} ${req.getURL()} Upload-Offset: ${res.getHeader('Upload-Offset') ?? '-'}`)
    if (state.offsetAtStart !== null || status < 200 || status > 299) return
    if (method === 'HEAD') {
      const offset = Number.parseInt(res.getHeader('Upload-Offset'), 10)
      if (!Number.isNaN(offset)) {
        state.offsetAtStart = offset
        state.offset = offset
        state.resumed = true
      }
    } else if (method === 'POST' && req.getHeader('X-HTTP-Method-Override') === undefined) {
      state.offsetAtStart = 0
      state.offset = 0
      state.created = true
    }
  },
  onChunkComplete(chunk, accepted) {
    state.bytesSent += chunk
    state.offset = accepted
    if (stopAfter !== null && accepted >= stopAfter && accepted < size && !state.stopped) {
      state.stopped = true
      note(`stopping after ${accepted} acknowledged bytes (--stop-after ${stopAfter})`)
      upload.abort(false).then(
        () => finish(EXIT_STOPPED),
        (err) => finish(EXIT_STOPPED, { error: `abort: ${err.message}` }),
      )
    }
  },
  onSuccess() {
    endedAt = performance.now()
    if (state.offset === null || state.offset < size) state.offset = size
    if (state.offsetAtStart === null) state.offsetAtStart = 0
    forgetUpload(upload.url).then(() => finish(0))
  },
  onError(err) {
    const res = err.originalResponse ?? null
    finish(EXIT_FAILED, {
      error: err.message,
      status: res ? res.getStatus() : null,
      body: res ? res.getBody() : null,
    })
  },
}
if (chunkSize !== null) options.chunkSize = chunkSize

// The reader of --read-size: like the client's own for an fs.ReadStream (each slice a new
// stream over that byte range of the file), with READ_SIZE-byte reads. Anything else
// (the empty Buffer below) goes to the client's own reader.
class PieceReader {
  constructor(pieceSize) {
    this.pieceSize = pieceSize
    this.own = defaultOptions.fileReader
  }

  async openFile(input, chunkSize) {
    if (Buffer.isBuffer(input)) return this.own.openFile(input, chunkSize)
    const path = input.path.toString()
    const { size } = await fsPromises.stat(path)
    const pieceSize = this.pieceSize
    return {
      size,
      slice(start, end) {
        const last = Math.min(end, size)
        // createReadStream's end is inclusive, and cannot describe an empty range.
        const value =
          last > start
            ? createReadStream(path, { start, end: last - 1, highWaterMark: pieceSize })
            : Buffer.alloc(0)
        value.size = Math.max(last - start, 0)
        return Promise.resolve({ value, done: last >= size })
      },
      close() {
        input.destroy()
      },
    }
  }
}
if (readSize !== null) options.fileReader = new PieceReader(readSize)
if (opts.url) options.uploadUrl = opts.url

// An empty file goes in as an empty Buffer: tus-js-client 4.3.1 cannot slice an empty
// fs.ReadStream (it asks createReadStream for end: -1 and throws before sending anything),
// which breaks --with-upload for 0 bytes. Nothing of an empty upload is ever stored in
// the URL storage, so the Buffer's different fingerprint does not matter.
upload = new Upload(size === 0 ? Buffer.alloc(0) : createReadStream(file), options)

if (timeoutMs !== null) {
  setTimeout(() => {
    upload.abort(false).catch(() => {})
    finish(EXIT_TIMEOUT, { error: `timed out after ${opts.timeout} s` })
  }, timeoutMs)
}

if (opts.resume && !opts.url) {
  let previous
  try {
    previous = (await upload.findPreviousUploads()).filter((entry) => entry.uploadUrl)
  } catch (err) {
    process.stderr.write(`upload.mjs: cannot read ${storagePath}: ${err.message}\n`)
    finish(EXIT_FAILED, { error: `url storage: ${err.message}` })
  }
  if (previous !== undefined) {
    if (previous.length === 0) {
      finish(EXIT_NOTHING_TO_RESUME, { error: `no upload of ${file} to ${opts.endpoint} is recorded in ${storagePath}` })
    } else {
      // The newest entry; creationTime has a resolution of one second, so among equals
      // the one written last (the storage keeps insertion order) wins.
      let newest = previous[0]
      for (const entry of previous) {
        if (Date.parse(entry.creationTime) >= Date.parse(newest.creationTime)) newest = entry
      }
      note(`resuming ${newest.uploadUrl} (recorded ${newest.creationTime})`)
      upload.resumeFromPreviousUpload(newest)
      startedAt = performance.now()
      upload.start()
    }
  }
} else {
  startedAt = performance.now()
  upload.start()
}
