#!/usr/bin/python3
"""hangar-gtk with a real guest: a libvirtd started here (QEMU, TCG) and the end-to-end suite's tiny guest
(tests/e2e/make-guest.sh). The VM window's display shows the guest's framebuffer through gtk-vnc on the fd of
VM.OpenGraphics (not blank), its serial tab shows the guest's boot marker through VTE on the fd of VM.OpenConsole,
what is typed there reaches the guest, and both say so when the VM stops. An image import through the file chooser
shows the Job's progress bar advancing and is cancelled; a small one completes.

Needs root and tests/e2e/run-hermetic.sh's namespaces (the libvirtd must not touch the host's); exits 77 (skipped)
otherwise. usage (ctest runs it so):
  run-hermetic.sh dbus-run-session -- python3 test_real_guest.py HANGARD HANGARCTL HANGAR_GTK SHOTS_DIR E2E_DIR
"""
import grp
import os
import pwd
import subprocess
import sys
import unittest

from harness import World, wait_for
import ui

WORLD = None
MARKER = "HANGAR-E2E-GUEST-UP"


def start_libvirtd(world):
    """libvirtd with the QEMU driver as tests/support/PrivateLibvirtd.cpp starts it (see there for why each line)."""
    try:
        grp.getgrnam("libvirt-qemu")
    except KeyError:
        subprocess.run(["groupadd", "--system", "libvirt-qemu"], check=True)
    try:
        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        subprocess.run(["useradd", "--system", "--gid", "libvirt-qemu", "--no-create-home", "--home-dir",
                        "/var/lib/libvirt", "--shell", "/usr/sbin/nologin", "libvirt-qemu"], check=True)
    with open("/etc/libvirt/qemu.conf", "w") as f:
        f.write('user = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\n'
                'security_driver = "none"\nstdio_handler = "file"\ncgroup_controllers = [ ]\nnamespaces = [ ]\n'
                'vnc_listen = "127.0.0.1"\n')
    directory = os.path.join(world.tmp, "libvirt")
    os.makedirs(directory)
    conf = os.path.join(directory, "libvirtd.conf")
    with open(conf, "w") as f:
        f.write(f'unix_sock_dir = "{directory}"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\n'
                f'auth_unix_ro = "none"\nlog_outputs = "3:file:{directory}/libvirtd.log"\n')
    world.spawn("libvirtd", ["/usr/sbin/libvirtd", "-f", conf, "-p", f"{directory}/libvirtd.pid"])
    uri = f"qemu:///system?socket={directory}/libvirt-sock"
    # The first start probes QEMU (~10 s; cached in /var/cache/libvirt when run-hermetic.sh is given a cache).
    wait_for("libvirtd to answer", lambda: subprocess.run(["virsh", "-q", "-c", uri, "version"],
                                                          capture_output=True).returncode == 0, timeout=90, interval=0.2)
    return uri


def bus_tree():
    """The daemon's object paths (busctl), to see that a Job object is gone (hangarctl has no job command)."""
    return subprocess.run(["busctl", f"--address={WORLD.bus}", "tree", "--list", "org.hangar.Hangar1"],
                          capture_output=True, text=True, check=True).stdout


class RealGuestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = WORLD.app
        cls.window = ui.find(cls.app, "Hangar", "frame")
        cls.table = ui.find(cls.window, "Virtual machines", "table")

    def state(self, name):
        r = ui.row(self.table, name)
        return (r or {}).get("State", "")

    def test_1_display_and_console_of_a_running_guest(self):
        WORLD.hangarctl("create", "tiny", "--memory", "256M", "--disk", "1G", "--kernel", "vmlinuz", "--initrd",
                        "initrd.gz", "--cmdline", "console=tty0 console=ttyS0 quiet")
        wait_for("tiny in the list", lambda: self.state("tiny").endswith("stopped"))
        ui.select(self.table, "tiny")
        ui.press(self.window, "Start")
        wait_for("tiny running", lambda: self.state("tiny").endswith("running"), timeout=30)
        # The stats sampled for the running guest reach the sparkline.
        try:
            wait_for("CPU/memory figures in the list",
                     lambda: "% CPU" in (ui.row(self.table, "tiny") or {}).get("CPU / memory", ""), timeout=20)
        except Exception:
            raise AssertionError(f"no figures: row {ui.row(self.table, 'tiny')}; the daemon's stats: "
                                 f"{WORLD.hangarctl('stats', 'tiny', check=False)}")
        # For the picture only: a few more samples make the sparkline a line (no assertion on the figures' values).
        seen = {ui.row(self.table, "tiny")["CPU / memory"]}

        def samples():
            seen.add(ui.row(self.table, "tiny")["CPU / memory"])
            return len(seen) >= 4
        try:
            wait_for("more samples", samples, timeout=10, interval=0.2)
        except Exception:
            pass
        WORLD.screenshot("23-real-sparkline")
        ui.press(self.window, "Open")
        vm = ui.find_showing(self.app, "VM tiny", "frame")

        # The display: gtk-vnc connected on the daemon's fd, showing a framebuffer that is not one flat colour.
        # (GtkStack shows assistive tools only its visible page: the display widget appears once connected.)
        def connected():
            found = vm.findChildren(lambda n: n.name in ("Guest display", "Display message"))
            shown = [n for n in found if n.showing]
            if shown and shown[0].name == "Display message" and shown[0].text.startswith("Display error"):
                raise AssertionError("the display did not connect: " + shown[0].text)
            return next((n for n in shown if n.name == "Guest display"), None)
        display = wait_for("the guest display", connected, timeout=30)
        cad = ui.find(vm, "Send Ctrl+Alt+Del", "push button")
        wait_for("Ctrl+Alt+Del to be enabled", lambda: cad.sensitive)
        (x, y), (w, h) = display.position, display.size

        def framebuffer_spread():
            shot = WORLD.screenshot("20-real-display")
            out = subprocess.run(["convert", shot, "-crop", f"{w}x{h}+{x}+{y}", "+repage", "-colorspace", "gray",
                                  "-format", "%[fx:standard_deviation]", "info:"], capture_output=True, text=True)
            return float(out.stdout or 0) > 0.02
        # Firmware and kernel text appear within seconds under TCG.
        wait_for("a non-blank framebuffer in the display", framebuffer_spread, timeout=60, interval=1.0)

        # The serial console: VTE fed from the console fd shows the guest's marker.
        tabs = ui.find(vm, "Serial console", "page tab")
        tabs.parent.querySelection().selectChild(1)
        terminal = ui.find(vm, "Serial console", "terminal")
        wait_for("the boot marker in the serial tab", lambda: MARKER in terminal.text, timeout=60, interval=0.5)
        # The guest prints it once a second: the terminal keeps being fed.
        wait_for("a later marker", lambda: MARKER + " 3" in terminal.text, timeout=10, interval=0.5)
        # What is typed goes back to the guest (VTE's commit written to the fd): the guest echoes each line.
        (x, y), (w, h) = terminal.position, terminal.size
        from dogtail import rawinput
        rawinput.click(x + w // 2, y + h // 2)
        rawinput.typeText("hello hangar\n")
        wait_for("the guest's echo of the typed line", lambda: "HANGAR-E2E-ECHO hello hangar" in terminal.text,
                 timeout=10, interval=0.3)
        WORLD.screenshot("21-real-serial")


    def test_2_console_held_elsewhere(self):
        vm = ui.find_showing(self.app, "VM tiny", "frame")
        # hangarctl takes the console over: the window's session ends and it says so, offering to take it back.
        other = subprocess.Popen([WORLD.hangarctl_path, f"--bus={WORLD.bus}", "console", "--force", "tiny"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            message = ui.find(vm, "Console message", "label", timeout=15)
            wait_for("the window to say the console was taken", lambda: message.showing and "closed" in message.text)
            # Asking again without force: the daemon says Busy, and the window says another session holds it.
            ui.press(vm, "Connect Console")
            wait_for("Busy shown", lambda: message.text.startswith("Another session holds this console"))
            take = ui.find_showing(vm, "Take Over Console", "push button")
            WORLD.screenshot("24-real-console-busy")
            take.doActionNamed("click")
            terminal = wait_for("the terminal back", lambda: next(
                (n for n in vm.findChildren(lambda n: n.name == "Serial console" and n.roleName == "terminal")
                 if n.showing), None))
            # The other session ends (end of file on its socket), and the guest's lines reach the window again.
            other.wait(timeout=15)
            before = terminal.text.count(MARKER)
            wait_for("new markers in the window", lambda: terminal.text.count(MARKER) > before + 1, timeout=10)
        finally:
            if other.poll() is None:
                other.kill()
                other.wait()

    def test_3_stopping_clears_the_window(self):
        WORLD.hangarctl("stop", "tiny", "--force")
        vm = ui.find_showing(self.app, "VM tiny", "frame")
        display = ui.find(vm, "Display message", "label")
        console = ui.find(vm, "Console message", "label")
        wait_for("both pages to say the VM stopped",
                 lambda: display.text == "The VM is stopped." and console.text == "The VM is stopped.", timeout=10)
        WORLD.screenshot("22-real-stopped")

    def choose_and_import(self, images, name, filename):
        """Types the image's name, picks filename in the file chooser (it opens in the app's home) and imports it."""
        ui.find(images, "Image name", "text").text = name
        ui.press(images, "Import File…")
        chooser = ui.find_showing(self.app, "Import an image file", "file chooser")
        files = ui.find(chooser, "Files", "table")
        table = files.queryTable()

        def row_of_file():
            return next(([r] for r in range(table.nRows) for c in range(table.nColumns)
                         if ui.cell_text(table.getAccessibleAt(r, c)) == filename), None)
        try:
            table.addRowSelection(wait_for(f"{filename} in the chooser", row_of_file)[0])
        except Exception:
            raise AssertionError(f"no {filename} in the chooser: {ui.rows(files)}")
        ui.press(chooser, "Import")

    def test_4_import_shows_progress_and_cancels(self):
        # A file of data (no holes: the daemon sends holes as such, in no time) large enough that its upload into
        # libvirtd takes seconds: a random MiB repeated, so writing it is quick.
        mib = int(os.environ.get("HANGAR_GTK_IMPORT_MIB", "2048"))
        block = os.urandom(1024 * 1024)
        with open(os.path.join(WORLD.home, "big.img"), "wb") as f:
            for _ in range(mib):
                f.write(block)
        ui.press(self.window, "Images…")
        images = ui.find_showing(self.app, "Images", "frame")
        self.choose_and_import(images, "big", "big.img")
        bar = ui.find_showing(images, "Job progress", "progress bar")
        value = bar.queryValue()
        # The bar follows the Job's Progress property: read twice, it has advanced.
        first = wait_for("the progress bar to start", lambda: value.currentValue > 0 and value.currentValue,
                         timeout=20, interval=0.02)
        second = wait_for("the progress bar to advance", lambda: value.currentValue > first and value.currentValue,
                          timeout=20, interval=0.02)
        print(f"progress bar read {first:.3f} then {second:.3f}", file=sys.stderr)
        self.assertLess(second, 1.0, "the upload finished before it could be cancelled: raise HANGAR_GTK_IMPORT_MIB")
        WORLD.screenshot("25-real-import-progress")
        ui.press(images, "Cancel Job")
        message = ui.find(images, "Image message", "label")
        wait_for("the cancelled import's message", lambda: message.text.startswith("Import of big failed"), timeout=30)
        self.assertIn("ancel", message.text)
        wait_for("the progress bar to go", lambda: not bar.showing)
        # The daemon agrees: no job left, no image 'big' (its volume removed).
        wait_for("no Job object on the bus", lambda: "/job/" not in bus_tree())
        self.assertNotIn("big", WORLD.hangarctl("image", "list"))
        table = ui.find(images, "Image list", "table")
        wait_for("big to leave the list", lambda: ui.row(table, "big") is None)
        os.unlink(os.path.join(WORLD.home, "big.img"))

    def test_5_small_import_completes(self):
        with open(os.path.join(WORLD.home, "small.img"), "wb") as f:
            f.write(os.urandom(4 * 1024 * 1024))
        images = ui.find_showing(self.app, "Images", "frame")
        self.choose_and_import(images, "small", "small.img")
        message = ui.find(images, "Image message", "label")
        wait_for("the import to finish", lambda: message.text.startswith("Import of small finished"), timeout=30)
        table = ui.find(images, "Image list", "table")
        wait_for("small ready in the list", lambda: (ui.row(table, "small") or {}).get("State") == "ready")
        self.assertIn("small", WORLD.hangarctl("image", "list"))
        WORLD.screenshot("26-real-imported")


def main():
    global WORLD
    if os.geteuid() != 0 or not os.path.exists("/etc/hangar-e2e-hermetic"):
        print("skipped: needs root inside tests/e2e/run-hermetic.sh (a libvirtd with the QEMU driver)")
        sys.exit(1 if os.environ.get("CI") == "true" else 77)
    hangard, hangarctl, app, shots, e2e_dir = sys.argv[1:6]
    WORLD = World(hangard, hangarctl, app, shots)
    ok = False
    try:
        os.chmod(WORLD.tmp, 0o755)  # QEMU reads the kernel from the boot directory inside
        boot = os.path.join(WORLD.tmp, "boot")
        subprocess.run([os.path.join(e2e_dir, "make-guest.sh"), boot], check=True, capture_output=True)
        WORLD.hypervisor = start_libvirtd(WORLD)
        WORLD.config = f"[Daemon]\nstats_interval_sec = 1\n[Guest]\nboot_dir = {boot}\n"
        WORLD.start()
        only = ["-k", os.environ["HANGAR_GTK_ONLY"]] if os.environ.get("HANGAR_GTK_ONLY") else []
        result = unittest.main(argv=[sys.argv[0], "-v"] + only, exit=False).result
        ok = result.wasSuccessful()
    finally:
        if not ok:
            if WORLD.display:
                WORLD.screenshot("real-failure")
            for name in ("hangar-gtk", "hangard", "libvirtd"):
                print(f"---- {name} log ----\n{WORLD.log(name)}", file=sys.stderr)
        WORLD.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
