// An app stacked on the busybox base: busybox httpd serving a page, run as an unprivileged user.
import { copy, defineRecipe, file, run } from "minic";
import busybox from "./busybox.ts";

export default defineRecipe({
  name: "hello",
  base: busybox,
  steps: [
    copy("www/**", "/srv/www"),
    file("/srv/www/health", "ok\n"),
    run("echo www:x:1000:1000:www:/srv/www:/bin/false >> /etc/passwd && echo www:x:1000: >> /etc/group && chown -R www:www /srv/www"),
  ],
  config: {
    // busybox --list-full puts httpd at usr/sbin/httpd; the busybox recipe links it there.
    cmd: ["/usr/sbin/httpd", "-f", "-v", "-p", "8080", "-h", "/srv/www", "-u", "www"],
    workdir: "/srv/www",
    limits: { memory: "64M", pids: 64 },
  },
});
