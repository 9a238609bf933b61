// The environment of the browser tests, built inside run-hermetic.sh's namespaces (a private /etc, Hangar's polkit
// actions and rules only, a tmpfs as TMPDIR; see tests/integration/polkit/README.md):
//   - real Unix users with passwords (in the private /etc): an admin (group hangar-admin), two guests (group
//     hangar) and an outsider (neither);
//   - a private dbus-daemon configured as the system bus (stock policy + dbus/org.hangar.Hangar1.conf), listening
//     on the default path /run/dbus/system_bus_socket (a tmpfs over /run/dbus in this mount namespace), so that
//     cockpit-bridge, started by cockpit-session for the logged-in user, finds it as it would on a real host;
//   - the real polkitd, hangard (as root, test driver, polkit authorizer);
//   - the built Cockpit package bind-mounted at /usr/local/share/cockpit/hangar and the build's hangarctl at
//     /usr/local/bin/hangarctl (tmpfs over both directories, in this namespace only);
//   - cockpit-ws --no-tls on a free loopback port, run as root without systemd.
// Every process is a child tracked by PID and killed by PID in stop(); PID 1 of the namespace takes any leftover.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const PASSWORD = "hangar-web-Test-7";
export const USERS = {
    admin: { name: "hgw-admin", groups: ["hangar-admin"] },
    guest1: { name: "hgw-guest1", groups: ["hangar"] },
    guest2: { name: "hgw-guest2", groups: ["hangar"] },
    outsider: { name: "hgw-outsider", groups: [] },
};
// [Lifetime] max_ttl_sec of hangard on the test driver.
export const MAX_TTL_SEC = 4 * 86400;
const SYSTEM_BUS_SOCKET = "/run/dbus/system_bus_socket";
export const SYSTEM_BUS = `unix:path=${SYSTEM_BUS_SOCKET}`;

// The build's hangarctl: client/cli/ (the layout of docs/design.md) or client/ (before that move), or
// HANGAR_TEST_HANGARCTL.
function hangarctlIn(buildDir) {
    const candidates = [process.env.HANGAR_TEST_HANGARCTL, join(buildDir, "client/cli/hangarctl"), join(buildDir, "client/hangarctl")];
    return candidates.find(path => path && existsSync(path)) || candidates[2];
}

export function run(argv, options = {}) {
    const result = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 60000, ...options });
    if (options.check !== false && result.status !== 0)
        throw new Error(`${argv.join(" ")} failed (${result.status}): ${result.stderr}${result.stdout}`);
    return result;
}

// Polls a condition with a deadline (no blind sleeps).
export async function waitFor(what, condition, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await condition())
            return;
        if (Date.now() > deadline)
            throw new Error(`timed out waiting for ${what}`);
        await new Promise(resolve => setTimeout(resolve, 50));
    }
}

function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.listen(0, "127.0.0.1", () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
        server.on("error", reject);
    });
}

function hasName(name) {
    const r = run(["gdbus", "call", "--system", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
        "--method", "org.freedesktop.DBus.NameHasOwner", name], { check: false, env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: SYSTEM_BUS } });
    return r.status === 0 && r.stdout.includes("true");
}

export class Harness {
    // libvirt: false = libvirt's test driver; true = a private libvirtd with QEMU and the e2e suite's tiny guest
    // (needs tests/e2e/run-hermetic.sh around the run, as run-web-tests.sh --e2e does).
    constructor({ sourceDir, buildDir, packageDir, libvirt = false }) {
        this.libvirt = libvirt;
        this.sourceDir = sourceDir;
        this.buildDir = buildDir;
        this.hangarctlPath = hangarctlIn(buildDir);
        this.packageDir = packageDir;
        this.root = process.env.HANGAR_HERMETIC_ROOT;
        this.dir = join(this.root || "/nonexistent", "web");
        this.children = [];
        this.uids = {};
    }

    static problem() {
        if (process.getuid() !== 0)
            return "needs root (users, mounts, cockpit-ws)";
        if (!process.env.HANGAR_HERMETIC_ROOT || !existsSync("/etc/hangar-hermetic-etc"))
            return "must run inside tests/integration/polkit/run-hermetic.sh (private /etc)";
        for (const path of ["/usr/lib/cockpit/cockpit-ws", "/usr/bin/cockpit-bridge", "/usr/bin/chromium", "/usr/lib/polkit-1/polkitd"])
            if (!existsSync(path))
                return `${path} is missing (scripts/install-deps.sh installs it)`;
        return "";
    }

    env(extra = {}) {
        return { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: SYSTEM_BUS, ...extra };
    }

    start(name, argv, env = this.env()) {
        const log = join(this.dir, `${name}.log`);
        const fd = openSync(log, "a");
        const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", fd, fd], detached: true });
        child.logPath = log;
        child.label = name;
        child.exited = false;
        child.on("exit", () => { child.exited = true });
        this.children.push(child);
        return child;
    }

    log(name) {
        const path = join(this.dir, `${name}.log`);
        return existsSync(path) ? readFileSync(path, "utf8") : "";
    }

    async up() {
        mkdirSync(this.dir, { recursive: true });
        this.createUsers();
        await this.startBus();
        this.start("polkitd", ["/usr/lib/polkit-1/polkitd", "--no-debug"]);
        await waitFor("polkitd on the bus", () => hasName("org.freedesktop.PolicyKit1"));
        await this.startHangard();
        this.installPackage();
        await this.startCockpit();
    }

    createUsers() {
        for (const group of ["hangar", "hangar-admin"])
            run(["groupadd", "-f", group]);
        mkdirSync(join(this.root, "home"), { recursive: true, mode: 0o755 });
        const passwords = [];
        for (const user of Object.values(USERS)) {
            const argv = ["useradd", "--create-home", "--home-dir", join(this.root, "home", user.name), "--shell", "/bin/bash"];
            if (user.groups.length)
                argv.push("--groups", user.groups.join(","));
            run([...argv, user.name]);
            passwords.push(`${user.name}:${PASSWORD}`);
            this.uids[user.name] = Number(run(["id", "-u", user.name]).stdout.trim());
        }
        run(["chpasswd"], { input: passwords.join("\n") + "\n" });
    }

    async startBus() {
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "hangar-web-dbus", "/run/dbus"]);
        const policyDir = join(this.dir, "system.d");
        mkdirSync(policyDir, { recursive: true });
        writeFileSync(join(policyDir, "org.hangar.Hangar1.conf"), readFileSync(join(this.sourceDir, "dbus/org.hangar.Hangar1.conf")));
        // The stock system bus (/usr/share/dbus-1/system.conf) minus what does not fit a bus started by a test:
        // <user>, <fork>, <pidfile>, <syslog> and activation.
        const config = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>${SYSTEM_BUS}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>/etc/dbus-1/system.d</includedir>
  <includedir>${policyDir}</includedir>
</busconfig>
`;
        const configPath = join(this.dir, "system-bus.conf");
        writeFileSync(configPath, config);
        this.start("dbus-daemon", ["/usr/bin/dbus-daemon", `--config-file=${configPath}`, "--nofork", "--nopidfile"]);
        await waitFor("the system bus socket", () => existsSync(SYSTEM_BUS_SOCKET) && hasName("org.freedesktop.DBus"));
        chmodSync(SYSTEM_BUS_SOCKET, 0o777);
    }

    // As tests/support/PrivateLibvirtd.cpp: QEMU as root without confinement, no virtlogd, a socket of its own.
    async startLibvirtd() {
        const dir = join(this.dir, "libvirt");
        mkdirSync(dir, { recursive: true });
        if (run(["getent", "group", "libvirt-qemu"], { check: false }).status !== 0)
            run(["groupadd", "--system", "libvirt-qemu"]);
        if (run(["getent", "passwd", "libvirt-qemu"], { check: false }).status !== 0)
            run(["useradd", "--system", "--gid", "libvirt-qemu", "--no-create-home", "--home-dir", "/var/lib/libvirt",
                "--shell", "/usr/sbin/nologin", "libvirt-qemu"]);
        mkdirSync("/etc/libvirt", { recursive: true });
        writeFileSync("/etc/libvirt/qemu.conf", 'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\n' +
            'security_driver = "none"\nstdio_handler = "file"\ncgroup_controllers = [ ]\nnamespaces = [ ]\nvnc_listen = "127.0.0.1"\n');
        const conf = join(dir, "libvirtd.conf");
        writeFileSync(conf, `unix_sock_dir = "${dir}"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n` +
            `log_outputs = "3:file:${dir}/libvirtd.log"\n`);
        this.libvirtUri = `qemu:///system?socket=${dir}/libvirt-sock`;
        const libvirtd = this.start("libvirtd", ["/usr/sbin/libvirtd", "-f", conf, "-p", join(dir, "libvirtd.pid")]);
        // The first start probes QEMU (~10 s; cached in /var/cache/libvirt afterwards).
        await waitFor("libvirtd answering", () => {
            if (libvirtd.exited)
                throw new Error(`libvirtd exited: ${this.log("libvirtd")}`);
            return run(["virsh", "-q", "-c", this.libvirtUri, "version"], { check: false, timeout: 10000 }).status === 0;
        }, 90000);
        this.bootDir = join(this.dir, "boot");
        run([join(this.sourceDir, "tests/e2e/make-guest.sh"), this.bootDir], { timeout: 120000 });
    }

    async startHangard() {
        const state = join(this.dir, "hangard-state");
        mkdirSync(state, { recursive: true });
        const config = join(this.dir, "hangard.conf");
        let hypervisor = "test:///default";
        if (this.libvirt) {
            await this.startLibvirtd();
            hypervisor = this.libvirtUri;
            writeFileSync(config, `[Daemon]\nstats_interval_sec = 1\n[Guest]\nboot_dir = ${this.bootDir}\n`);
        } else {
            // A maximum lifetime for guests' VMs (4 days), so that the page's lifetime tests meet the daemon's
            // refusals ("1 week", "Never expire"); guests' VMs created without a lifetime get it as their expiry.
            writeFileSync(config, `[Lifetime]\nmax_ttl_sec = ${MAX_TTL_SEC}\n`);
        }
        this.hangard = this.start("hangard", [join(this.buildDir, "daemon/hangard"), `--bus=${SYSTEM_BUS}`,
            `--hypervisor=${hypervisor}`, `--state-dir=${state}`, `--config=${config}`, "--authorizer=polkit"]);
        await waitFor("hangard on the bus", () => hasName("org.hangar.Hangar1") || this.hangard.exited);
        if (this.hangard.exited)
            throw new Error(`hangard exited: ${this.log("hangard")}`);
    }

    // Stops hangard (SIGTERM, by PID) and waits until its name is gone from the bus.
    async stopHangard() {
        process.kill(this.hangard.pid, "SIGTERM");
        await waitFor("hangard gone", () => this.hangard.exited && !hasName("org.hangar.Hangar1"));
    }

    // The package where Cockpit looks for local packages, and hangarctl where the bridge's PATH finds it (the
    // image upload runs it). tmpfs + bind mounts: the host's /usr/local and /var/tmp are untouched.
    installPackage() {
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "hangar-web-share", "/usr/local/share"]);
        mkdirSync("/usr/local/share/cockpit/hangar", { recursive: true });
        run(["mount", "--bind", this.packageDir, "/usr/local/share/cockpit/hangar"]);
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "hangar-web-bin", "/usr/local/bin"]);
        // Uploads are spooled under /var/tmp (client/cockpit/src/Upload.js): a private one for the run.
        run(["mount", "-t", "tmpfs", "-o", "mode=1777", "hangar-web-vartmp", "/var/tmp"]);
        symlinkSync(this.hangarctlPath, "/usr/local/bin/hangarctl");
    }

    async startCockpit() {
        this.port = await freePort();
        this.cockpit = this.start("cockpit-ws", ["/usr/lib/cockpit/cockpit-ws", "--no-tls", "--address", "127.0.0.1",
            "--port", String(this.port)]);
        this.url = `http://127.0.0.1:${this.port}`;
        await waitFor("cockpit-ws answering", async () => {
            if (this.cockpit.exited)
                throw new Error(`cockpit-ws exited: ${this.log("cockpit-ws")}`);
            try {
                const response = await fetch(`${this.url}/`);
                return response.status === 200;
            } catch (e) {
                return false;
            }
        });
    }

    // hangarctl as a test user (setpriv: their uid, gid and groups), on the private system bus.
    hangarctl(user, args, { check = true } = {}) {
        const argv = ["setpriv", `--reuid=${user.name}`, `--regid=${user.name}`, "--init-groups", "--",
            this.hangarctlPath, "--no-ask-password", ...args];
        const result = run(argv, { check: false, env: this.env() });
        if (check && result.status !== 0)
            throw new Error(`hangarctl ${args.join(" ")} as ${user.name} failed: ${result.stderr}${result.stdout}`);
        return result;
    }

    stop() {
        for (const child of [...this.children].reverse()) {
            if (child.exited)
                continue;
            try {
                process.kill(-child.pid, "SIGTERM");
            } catch (e) { /* already gone */ }
        }
    }
}
