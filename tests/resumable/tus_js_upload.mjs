// Sends one file to /api/uploads/ with tus-js-client under Node, as a user's script would,
// and resumes it when run again: the upload's URL is kept in a file (FileUrlStorage), found
// again by the file's fingerprint. Run by tests/resumable/test_tus_js_client.py.
//
//   node tus_js_upload.mjs --endpoint URL --token KEY --file PATH --storage PATH
//        --chunk-size BYTES [--override-patch] [--die-after BYTES]
//
// --die-after BYTES: the request carrying that byte of the file sends the body up to it and
// then hangs, and once those bytes left for the server this process kills itself
// (SIGKILL) in the middle of that PATCH: nothing is closed cleanly. One JSON line on stdout
// tells how it ended.
import fs from "node:fs";
import { Readable, Transform } from "node:stream";
import { parseArgs } from "node:util";

// tus-js-client's Node build is CommonJS ("main": lib.es5/node/index.js, no "exports"):
// Node 20 hands its module.exports over as the default import.
import tus from "tus-js-client";

const { values: args } = parseArgs({
  options: {
    endpoint: { type: "string" },
    token: { type: "string" },
    file: { type: "string" },
    storage: { type: "string" },
    "chunk-size": { type: "string" },
    "override-patch": { type: "boolean", default: false },
    "die-after": { type: "string" },
  },
});

function report(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

// tus-js-client's own HTTP stack (its public httpStack option), whose request bodies stop
// at byte `at` of the file, as a connection that hangs would.
class HangingStack {
  constructor(at) {
    this.inner = new tus.DefaultHttpStack({});
    this.at = at;
  }

  createRequest(method, url) {
    return new HangingRequest(this.inner.createRequest(method, url), this.at);
  }

  getName() {
    return "HangingStack";
  }
}

class HangingRequest {
  constructor(inner, at) {
    this.inner = inner;
    this.at = at;
  }

  getMethod() {
    return this.inner.getMethod();
  }

  getURL() {
    return this.inner.getURL();
  }

  setHeader(name, value) {
    this.inner.setHeader(name, value);
  }

  getHeader(name) {
    return this.inner.getHeader(name);
  }

  setProgressHandler(handler) {
    this.inner.setProgressHandler(handler);
  }

  abort() {
    return this.inner.abort();
  }

  getUnderlyingObject() {
    return this.inner.getUnderlyingObject();
  }

  send(body) {
    if (!(body instanceof Readable)) {
      return this.inner.send(body);
    }
    const request = this;
    let position = Number(this.getHeader("Upload-Offset"));
    const held = new Transform({
      transform(piece, _encoding, done) {
        const room = request.at - position;
        if (room >= piece.length) {
          position += piece.length;
          done(null, piece);
          return;
        }
        if (room > 0) {
          this.push(piece.subarray(0, room));
          position = request.at;
        }
        // No done(): the body hangs here.
        request.dieOnceSent(held);
      },
    });
    // The stack sets Content-Length from the size of the body it is given.
    held.size = body.size;
    return this.inner.send(body.pipe(held));
  }

  dieOnceSent(held) {
    const poll = setInterval(() => {
      const outgoing = this.getUnderlyingObject();
      const socket = outgoing && outgoing.socket;
      // Everything passed on is in the kernel's hands: it reaches the server before the
      // connection closes.
      if (socket && held.readableLength === 0 && outgoing.writableLength === 0) {
        clearInterval(poll);
        report({ event: "killed", url: upload.url, at: this.at });
        process.kill(process.pid, "SIGKILL");
      }
    }, 10);
  }
}

const dieAfter = args["die-after"] === undefined ? null : Number(args["die-after"]);
const upload = new tus.Upload(fs.createReadStream(args.file), {
  endpoint: args.endpoint,
  headers: { Authorization: `Token ${args.token}` },
  chunkSize: Number(args["chunk-size"]),
  overridePatchMethod: args["override-patch"],
  metadata: { filename: "film.bin", relativePath: "films/film.bin" },
  urlStorage: new tus.FileUrlStorage(args.storage),
  storeFingerprintForResuming: true,
  retryDelays: [],
  ...(dieAfter === null ? {} : { httpStack: new HangingStack(dieAfter) }),
  onSuccess() {
    report({ event: "success", url: upload.url, resumed: resumedFrom });
  },
  onError(error) {
    report({ event: "error", message: String(error) });
    process.exitCode = 1;
  },
});

let resumedFrom = null;
const previous = await upload.findPreviousUploads();
if (previous.length > 0) {
  resumedFrom = previous[0].uploadUrl;
  upload.resumeFromPreviousUpload(previous[0]);
}
upload.start();
