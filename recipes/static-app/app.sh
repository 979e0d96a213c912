#!/bin/sh
# static-app: a small program built in a builder stage (recipes/static-app.ts) and shipped alone
# on busybox. `app [NAME]` greets NAME; `app --version` prints the version the build stamped in.
VERSION="@VERSION@"
case "$1" in
  --version) echo "static-app $VERSION" ;;
  *) echo "hello, ${1:-world} (static-app $VERSION)" ;;
esac
