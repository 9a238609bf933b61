"""The world of the GTK tests: a private bus with the real hangard on libvirt's test driver, an X server (Xvfb),
the accessibility bus, and hangar-gtk itself, driven through AT-SPI with dogtail.

Run inside dbus-run-session (ctest does): that session bus carries the accessibility bus's address, so the app
and the test meet there. hangard gets a bus of its own, as it would on a desktop (the system bus). Everything
started here is stopped by PID when the world is left; nothing is looked up or killed by name.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time


class Deadline(Exception):
    pass


def wait_for(what, condition, timeout=10.0, interval=0.05):
    """Polls condition() until it returns something true, or fails naming what did not happen."""
    end = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < end:
        try:
            result = condition()
            if result:
                return result
        except Exception as e:  # the accessibility tree changes under our feet while we look
            last_error = e
        time.sleep(interval)
    raise Deadline(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


class World:
    def __init__(self, hangard, hangarctl, app, screenshots, hypervisor="test:///default", config=None):
        self.hangard_path = hangard
        self.hangarctl_path = hangarctl
        self.app_path = app
        self.screenshots = screenshots
        self.hypervisor = hypervisor
        self.config = config
        self.tmp = tempfile.mkdtemp(prefix="hangar-gtk-test.")
        self.bus = f"unix:path={self.tmp}/bus"
        self.children = []  # (name, Popen), stopped in reverse order
        self.display = None
        self.app = None

    # ---- processes -------------------------------------------------------------------------------------------
    def spawn(self, name, argv, env=None, **kwargs):
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, **kwargs)
        self.children.append((name, process))
        return process

    def log(self, name):
        try:
            with open(os.path.join(self.tmp, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def hangarctl(self, *args, check=True):
        result = subprocess.run([self.hangarctl_path, f"--bus={self.bus}", *args], capture_output=True, text=True,
                                timeout=30)
        if check and result.returncode != 0:
            raise AssertionError(f"hangarctl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result.stdout

    def start(self):
        os.makedirs(self.screenshots, exist_ok=True)
        self.spawn("dbus-daemon", ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={self.bus}"])
        wait_for("the private bus", lambda: subprocess.run(["busctl", f"--address={self.bus}", "list"],
                                                           capture_output=True).returncode == 0)
        config_path = f"{self.tmp}/no-config"
        if self.config is not None:
            config_path = f"{self.tmp}/hangard.conf"
            with open(config_path, "w") as f:
                f.write(self.config)
        self.spawn("hangard", [self.hangard_path, f"--bus={self.bus}", f"--hypervisor={self.hypervisor}",
                               f"--state-dir={self.tmp}/state", f"--config={config_path}",
                               "--authorizer=allow-all"])
        # hangard owns its name only once its inventory is loaded: ready is when it answers.
        wait_for("hangard to answer", lambda: subprocess.run([self.hangarctl_path, f"--bus={self.bus}", "list"],
                                                             capture_output=True).returncode == 0, timeout=20)
        self.start_ui()

    def start_ui(self):
        """Xvfb, the accessibility bus and the app, on self.bus (a daemon started here, or one given: the polkit
        test's system bus)."""
        os.makedirs(self.screenshots, exist_ok=True)
        self.start_x()
        self.start_accessibility()
        self.start_app()

    def start_x(self):
        read_fd, write_fd = os.pipe()
        self.spawn("xvfb", ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x860x24", "-nolisten", "tcp",
                            "-auth", "/dev/null"], pass_fds=(write_fd,))
        os.close(write_fd)
        number = b""
        with os.fdopen(read_fd, "rb") as pipe:
            while not number.endswith(b"\n"):
                chunk = pipe.read(1)
                if not chunk:
                    raise AssertionError("Xvfb did not start: " + self.log("xvfb"))
                number += chunk
        self.display = ":" + number.decode().strip()
        os.environ["DISPLAY"] = self.display

    def start_accessibility(self):
        # The launcher owns org.a11y.Bus on our session bus and runs the accessibility bus; the registry daemon is
        # started on that bus by activation and ends with it.
        os.environ.pop("NO_AT_BRIDGE", None)
        self.spawn("at-spi-bus-launcher", ["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"],
                   env=dict(os.environ))
        wait_for("the accessibility bus", lambda: subprocess.run(
            ["gdbus", "call", "--session", "--dest", "org.a11y.Bus", "--object-path", "/org/a11y/bus",
             "--method", "org.a11y.Bus.GetAddress"], capture_output=True).returncode == 0)
        subprocess.run(["gdbus", "call", "--session", "--dest", "org.a11y.Bus", "--object-path", "/org/a11y/bus",
                        "--method", "org.freedesktop.DBus.Properties.Set", "org.a11y.Status", "IsEnabled",
                        "<true>"], capture_output=True, check=True)

    def start_app(self):
        # A home of its own: the file chooser opens there, and the app leaves no settings in the real one.
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home, exist_ok=True)
        env = dict(os.environ, GDK_BACKEND="x11", GTK_THEME="Adwaita", HOME=self.home,
                   XDG_CONFIG_HOME=os.path.join(self.home, ".config"), XDG_DATA_HOME=os.path.join(self.home, ".local"))
        self.app_process = self.spawn("hangar-gtk", [self.app_path, f"--bus={self.bus}"], env=env)
        from dogtail.config import config
        config.checkForA11y = False  # no dconf here; the bus itself was enabled above
        config.searchShowingOnly = False
        config.logDebugToFile = False
        config.logDebugToStdOut = False
        config.defaultDelay = 0.05
        config.actionDelay = 0.05
        from dogtail import tree

        def find_app():
            for application in tree.root.applications():
                if application.name in ("hangar-gtk", "Hangar"):
                    return application
            return None
        self.app = wait_for("hangar-gtk on the accessibility bus", find_app, timeout=30)
        return self.app

    def screenshot(self, name):
        path = os.path.join(self.screenshots, name + ".png")
        subprocess.run(["import", "-display", self.display, "-window", "root", path], check=True, timeout=30,
                       capture_output=True)
        return path

    def stop(self):
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)
