// Pure: the name an image found in a tarball is stored under. minic's own tarballs carry minic
// names, kept as they are; other tarballs (OCI layouts, docker-archives from podman, docker,
// skopeo) are named by podman's rules for `podman load`: the whole reference, with `localhost/`
// before a name that has no registry host and `docker.io/library/` for docker.io's one-part names.
import { isDigest } from "../core/digest.js";
import { digestTag, domainOf, parseRef, splitTag, type ImageRef } from "../core/reference.js";

/** The ref of a name minic wrote (a minic manifest's `ref.name`), or undefined when it is not a valid name. */
export function ownArchiveRef(name: unknown): ImageRef | undefined {
  return typeof name === "string" ? tryParse(name) : undefined;
}

/**
 * The ref of a name another tool wrote (an OCI `ref.name` annotation, a docker-archive RepoTag):
 * `app:1` → `localhost/app:1`, `localhost/app:1` and `127.0.0.1:5000/qa/app:1` as they are,
 * `docker.io/debian:12` → `docker.io/library/debian:12`, `app@sha256:…` → `localhost/app:sha256-<12 hex>`.
 * A bare word (`myapp`, what `skopeo copy … oci-archive:F:myapp` writes; OCI lets `ref.name` be
 * a tag such as `1.0`) is a name, `localhost/WORD:latest`, as podman load takes it. Undefined for
 * an unusable name.
 */
export function foreignArchiveRef(name: unknown): ImageRef | undefined {
  if (typeof name !== "string") return undefined;
  const at = name.indexOf("@");
  const digest = at < 0 ? undefined : name.slice(at + 1);
  const split = splitTag(at < 0 ? name : name.slice(0, at));
  const tag = split.tag ?? (digest !== undefined && isDigest(digest) ? digestTag(digest) : "latest");
  const host = domainOf(split.name);
  let full = split.name;
  if (host === undefined) full = `localhost/${split.name}`;
  else if (host === "docker.io" || host === "index.docker.io") {
    const path = split.name.slice(host.length + 1);
    full = `docker.io/${path.includes("/") ? path : `library/${path}`}`;
  }
  return tryParse(`${full}:${tag}`);
}

function tryParse(s: string): ImageRef | undefined {
  try {
    return parseRef(s);
  } catch {
    return undefined;
  }
}
