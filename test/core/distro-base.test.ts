// The pure part of distribution bases, as data: the checked base, debootstrap's argv, the inputs
// of the cache key, which files of the tree are left out, and what debootstrap's failures say.
import { describe, expect, it } from "vitest";
import { digestOf } from "../../src/core/digest.js";
import { debianBase, debootstrapArgv, debootstrapFailure, distroBaseInputs, tidyAction } from "../../src/core/distro-base.js";
import { oneLine } from "../../src/core/errors.js";

const host = { arch: "amd64", version: "debootstrap 1.0.128+nmu2+deb12u2" };

describe("debian() bases as data", () => {
  it("fills defaults and sorts packages, so their order is not part of the key", () => {
    const a = debianBase({ suite: "bookworm", packages: ["curl", "ca-certificates", "curl"] });
    expect(a).toEqual({ kind: "debootstrap", distribution: "debian", suite: "bookworm", variant: "minbase", packages: ["ca-certificates", "curl"], mirror: "http://deb.debian.org/debian" });
    const b = debianBase({ suite: "bookworm", packages: ["ca-certificates", "curl"], mirror: "http://deb.debian.org/debian/" });
    expect(digestOf(distroBaseInputs(a, host))).toBe(digestOf(distroBaseInputs(b, host)));
    expect(digestOf(distroBaseInputs(a, host))).not.toBe(digestOf(distroBaseInputs(a, { ...host, version: "debootstrap 1.0.134" })));
    expect(digestOf(distroBaseInputs(a, host))).not.toBe(digestOf(distroBaseInputs({ ...a, variant: "buildd" }, host)));
  });

  it("refuses what debootstrap would misread, naming it", () => {
    expect(() => debianBase({ suite: "Bookworm" })).toThrow(/suite "Bookworm" is not a suite name/);
    expect(() => debianBase({ suite: "bookworm", variant: "fat" as "minbase" })).toThrow(/variant "fat" is not one of minbase, buildd, default/);
    expect(() => debianBase({ suite: "bookworm", packages: ["a,b"] })).toThrow(/package "a,b" is not a Debian package name/);
    expect(() => debianBase({ suite: "bookworm", mirror: "file:///srv/mirror" })).toThrow(/mirror "file:\/\/\/srv\/mirror" is not an http\(s\) URL/);
  });

  it("makes debootstrap's argv", () => {
    const b = debianBase({ suite: "bookworm", packages: ["curl"] });
    expect(debootstrapArgv("/usr/sbin/debootstrap", b, "amd64", "/s/tmp/build-1-x/rootfs")).toEqual([
      "/usr/sbin/debootstrap", "--variant=minbase", "--arch=amd64", "--include=curl", "bookworm", "/s/tmp/build-1-x/rootfs", "http://deb.debian.org/debian",
    ]);
    expect(debootstrapArgv("d", debianBase({ suite: "sid", variant: "default" }), "arm64", "/t")).toEqual(["d", "--arch=arm64", "sid", "/t", "http://deb.debian.org/debian"]);
  });

  it("leaves out what differs between two runs or describes the host, and keeps the rest", () => {
    const dropped = [
      "var/log/dpkg.log", "var/log/bootstrap.log", "var/log/alternatives.log", "var/log/apt/history.log", "var/log/apt/eipp.log.xz",
      "var/cache/apt/archives/curl_7.88.1-10_amd64.deb", "var/cache/apt/pkgcache.bin",
      "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "var/lib/apt/lists/auxfiles",
      "var/cache/ldconfig/aux-cache", "var/lib/dpkg/status-old", "var/cache/debconf/templates.dat-old", "etc/hostname", "etc/resolv.conf",
    ];
    for (const n of dropped) expect(tidyAction(n), n).toBe("drop");
    const kept = ["var/log/wtmp", "var/log/apt", "var/cache/apt/archives/partial", "var/lib/apt/lists/partial", "var/lib/dpkg/status", "etc/ld.so.cache", "etc/shadow", "var/cache/debconf/config.dat"];
    for (const n of kept) expect(tidyAction(n), n).toBe("keep");
    expect(tidyAction("etc/machine-id")).toBe("empty");
  });

  it("says what a failed debootstrap means in one line", () => {
    const b = debianBase({ suite: "bookworm", packages: ["nosuch"] });
    const where = "recipe 'x': base debian bookworm (minbase)";
    expect(oneLine(debootstrapFailure(where, b, "I: Checking component main\nE: Couldn't find these debs: nosuch \n"))).toBe(
      "recipe 'x': base debian bookworm (minbase): http://deb.debian.org/debian has no package nosuch in bookworm (hint: check the package names (apt-cache policy NAME on a machine of that suite); debootstrap takes names from the main component)",
    );
    expect(debootstrapFailure(where, b, "I: Retrieving Release \nE: Failed getting release file http://deb.debian.org/debian/dists/bookworm/Release\n").message)
      .toBe("recipe 'x': base debian bookworm (minbase): debootstrap could not download from http://deb.debian.org/debian (Failed getting release file http://deb.debian.org/debian/dists/bookworm/Release)");
    expect(debootstrapFailure(where, b, "W: something\nmkdir: cannot create directory\n").message).toBe("recipe 'x': base debian bookworm (minbase): debootstrap failed: mkdir: cannot create directory");
  });
});
