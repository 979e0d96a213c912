#!/usr/bin/env bash
# The main job: set up if needed, build the busybox base and the hello app stacked on it,
# show the image, and run it (httpd in the container answers a request made inside it).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
minic() { bin/minic "$@"; }
minic build recipes/hello.ts
minic images
minic inspect hello
minic run --net none hello -- /bin/sh -c 'httpd -p 127.0.0.1:8080 -h /srv/www && wget -qO- http://127.0.0.1:8080/'
