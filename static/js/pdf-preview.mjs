/* A PDF's preview page: PDF.js (vendor/pdfjs-dist) reads the file's /raw bytes and draws
   one page at a time on a canvas, as wide as the page box, times the zoom. The bytes come
   in one streamed GET (no range requests: a deflated member is inflated from its start
   for every range). PDF.js runs no script of the PDF (the library has no scripting) and
   never evaluates code (isEvalSupported: false), so the page's policy needs no
   'unsafe-eval'; its worker is a file of this site, and so are the CMaps and standard
   fonts it fetches for a PDF that does not embed its fonts. */
const box = document.querySelector("[data-pdf-viewer]");
const AD = window.AD;
const _ = AD._;
const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];

const canvas = box.querySelector("[data-pdf-canvas]");
const frame = canvas.parentElement;
const status = box.querySelector("[data-pdf-status]");
const previous = box.querySelector("[data-pdf-prev]");
const next = box.querySelector("[data-pdf-next]");
const zoomOut = box.querySelector("[data-pdf-zoom-out]");
const zoomIn = box.querySelector("[data-pdf-zoom-in]");

let pdf = null;
let number = 1;
let zoom = ZOOMS.indexOf(1);
let task = null;
// Each draw's number: a draw that a newer one (a quick click, a key) overtook stops.
let drawing = 0;

function fail(error) {
  box.querySelector("[role=toolbar]").classList.add("d-none");
  frame.classList.add("d-none");
  box.querySelector("[data-pdf-error]").classList.remove("d-none");
  box.setAttribute("data-pdf-state", "failed");
  console.warn("PDF preview:", error);
}

function showControls() {
  previous.disabled = number <= 1;
  next.disabled = number >= pdf.numPages;
  zoomOut.disabled = zoom <= 0;
  zoomIn.disabled = zoom >= ZOOMS.length - 1;
  status.textContent = AD.interpolate(_("Page %s of %s"), [number, pdf.numPages]);
}

async function draw() {
  const mine = ++drawing;
  if (task) {
    task.cancel();
    task = null;
  }
  box.setAttribute("data-pdf-state", "drawing");
  const page = await pdf.getPage(number);
  if (mine !== drawing) {
    return;
  }
  const natural = page.getViewport({ scale: 1 });
  const width = Math.max(frame.clientWidth - 2, 100);
  const viewport = page.getViewport({ scale: (width / natural.width) * ZOOMS[zoom] });
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.floor(viewport.width * ratio);
  canvas.height = Math.floor(viewport.height * ratio);
  canvas.style.width = Math.floor(viewport.width) + "px";
  canvas.style.height = Math.floor(viewport.height) + "px";
  showControls();
  task = page.render({
    canvasContext: canvas.getContext("2d"),
    viewport: viewport,
    transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0],
  });
  const rendering = task;
  try {
    await rendering.promise;
  } catch (error) {
    if (error && error.name === "RenderingCancelledException") {
      return;
    }
    throw error;
  }
  if (mine !== drawing) {
    return;
  }
  task = null;
  box.setAttribute("data-pdf-state", "drawn");
  box.setAttribute("data-pdf-page", String(number));
}

function go(change) {
  number = Math.min(Math.max(number + change, 1), pdf.numPages);
  draw().catch(fail);
}

function rezoom(change) {
  zoom = Math.min(Math.max(zoom + change, 0), ZOOMS.length - 1);
  draw().catch(fail);
}

async function open() {
  const lib = await import(box.getAttribute("data-pdf-lib"));
  lib.GlobalWorkerOptions.workerSrc = box.getAttribute("data-pdf-worker");
  pdf = await lib.getDocument({
    url: box.getAttribute("data-pdf-src"),
    disableRange: true,
    isEvalSupported: false,
    enableXfa: false,
    // Folders, not single files: PDF.js adds the names it needs (no hashed names here).
    cMapUrl: box.getAttribute("data-pdf-cmaps"),
    cMapPacked: true,
    standardFontDataUrl: box.getAttribute("data-pdf-fonts"),
  }).promise;
  box.setAttribute("data-pdf-pages", String(pdf.numPages));
  previous.addEventListener("click", () => go(-1));
  next.addEventListener("click", () => go(1));
  zoomOut.addEventListener("click", () => rezoom(-1));
  zoomIn.addEventListener("click", () => rezoom(1));
  frame.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft" || event.key === "PageUp") {
      go(-1);
    } else if (event.key === "ArrowRight" || event.key === "PageDown") {
      go(1);
    }
  });
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => draw().catch(fail), 200);
  });
  await draw();
}

open().catch(fail);
