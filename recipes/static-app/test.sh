#!/bin/sh
# The builder stage's tests of the built program ($1); a failure fails the build.
set -e
app="$1"
sh -n "$app"
[ "$("$app" minic)" = "hello, minic (static-app $(sed -n 's/^VERSION="\(.*\)"$/\1/p' "$app"))" ]
"$app" --version | grep -q '^static-app [^@]'
echo "static-app: tests passed"
