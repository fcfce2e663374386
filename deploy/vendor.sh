#!/usr/bin/env bash
# The built files of the npm packages the pages load, copied from node_modules into the
# folder given (var/vendor for `make`, the image's asset stage for the Dockerfiles), where
# collectstatic finds them. One list for both, so an image never lacks one.
set -euo pipefail
target=${1:?usage: vendor.sh TARGET}
rm -rf "$target"
mkdir -p "$target"/{bootstrap,bootstrap-icons,chart.js,tus-js-client,pdfjs-dist}
cp node_modules/bootstrap/dist/css/bootstrap.min.css* \
   node_modules/bootstrap/dist/js/bootstrap.bundle.min.js* "$target/bootstrap/"
cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css \
      node_modules/bootstrap-icons/font/fonts "$target/bootstrap-icons/"
cp node_modules/chart.js/dist/chart.umd.min.js* "$target/chart.js/"
cp node_modules/tus-js-client/dist/tus.min.js* "$target/tus-js-client/"
cp node_modules/pdfjs-dist/build/pdf.min.mjs \
   node_modules/pdfjs-dist/build/pdf.worker.min.mjs "$target/pdfjs-dist/"
# What PDF.js fetches for a PDF that does not embed its fonts: the CMaps of CJK text and
# the standard fonts a browser does not have (Symbol, ZapfDingbats).
cp -r node_modules/pdfjs-dist/cmaps node_modules/pdfjs-dist/standard_fonts "$target/pdfjs-dist/"
