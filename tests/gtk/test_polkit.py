#!/usr/bin/python3
"""hangar-gtk as a real user in group hangar against hangard under the real polkitd (started by PolkitGtkTest.cpp,
which runs this script as that user): starting another user's VM (seen with Everyone's VMs) is refused and the
window shows the daemon's PermissionDenied; the user's own VM starts once the authentication agent that
PolkitGtkTest.cpp registered for the app approves (the test's rules ask guest1 to authenticate), which polkit does
only because the app allows interactive authorization and never passes auth.no_user_interaction.
usage: dbus-run-session -- python3 test_polkit.py HANGARCTL HANGAR_GTK SHOTS_DIR SYSTEM_BUS_ADDRESS
"""
import os
import sys
import unittest

from harness import World, wait_for
import ui

WORLD = None


class PolkitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = WORLD.app
        cls.window = ui.find(cls.app, "Hangar", "frame")
        cls.table = ui.find(cls.window, "Virtual machines", "table")

    def state(self, name):
        return (ui.row(self.table, name) or {}).get("State", "")

    def test_1_refusal_on_another_users_vm_is_shown(self):
        wait_for("own-vm in the list", lambda: self.state("own-vm").endswith("stopped"))
        self.assertIsNone(ui.row(self.table, "other-vm"), "another user's VM shown without Everyone's VMs")
        ui.find(self.window, "Everyone's VMs", "check box").doActionNamed("click")
        wait_for("other-vm in the list", lambda: self.state("other-vm").endswith("stopped"))
        ui.select(self.table, "other-vm")
        ui.press(self.window, "Start")
        message = ui.find(self.window, "Message", "label")
        wait_for("the refusal in the info bar", lambda: message.showing and "PermissionDenied" in message.text,
                 timeout=20)
        WORLD.screenshot("30-polkit-denied")
        self.assertTrue(self.state("other-vm").endswith("stopped"), ui.row(self.table, "other-vm"))

    def test_2_own_vm_starts_after_authentication(self):
        # The rules make guest1 authenticate for their own VMs: the daemon's polkit check waits for the agent that
        # PolkitGtkTest.cpp registered for this app (only because the call allows interactive authorization).
        # Only now: with an agent, polkitd would ask it for an administrator's password for another's VM too
        # (auth_admin); test_1 is the case of no agent (or one the user dismissed).
        with open(signal_file("app.pid.tmp"), "w") as f:
            f.write(str(WORLD.app_process.pid))
        os.rename(signal_file("app.pid.tmp"), signal_file("app.pid"))
        wait_for("the agent", lambda: os.path.exists(signal_file("agent-ready")), timeout=30)
        ui.select(self.table, "own-vm")
        ui.press(self.window, "Start")
        wait_for("polkitd to ask the agent", lambda: os.path.exists(signal_file("asked")), timeout=30)
        # While the password is asked for, the window is responsive (it reads its list) and nothing started.
        self.assertTrue(self.state("own-vm").endswith("stopped"), ui.row(self.table, "own-vm"))
        WORLD.screenshot("32-polkit-authenticating")
        open(signal_file("approve"), "w").close()
        wait_for("own-vm running", lambda: self.state("own-vm").endswith("running"), timeout=20)
        WORLD.screenshot("31-polkit-own-started")

    def test_3_image_import_refused_for_a_guest(self):
        # Image management is for administrators (manage-images). The buttons stay enabled (whether polkit would
        # refuse cannot be known without asking it); the refusal is shown in the Images window. The agent of
        # test_2 is gone (it would be asked for an administrator's password otherwise).
        wait_for("the agent to be gone", lambda: os.path.exists(signal_file("agent-gone")), timeout=30)
        with open(os.path.join(WORLD.home, "disk.img"), "wb") as f:
            f.write(b"\0" * (1024 * 1024))
        ui.press(self.window, "Images…")
        images = ui.find_showing(self.app, "Images", "frame")
        ui.find(images, "Image name", "text").text = "mine"
        ui.press(images, "Import File…")
        chooser = ui.find_showing(self.app, "Import an image file", "file chooser")
        files = ui.find(chooser, "Files", "table")
        wait_for("disk.img in the chooser", lambda: files.findChildren(lambda n: n.name == "disk.img"))
        files.queryTable().addRowSelection(0)
        ui.press(chooser, "Import")
        message = ui.find(images, "Image message", "label")
        wait_for("the refusal in the Images window", lambda: "PermissionDenied" in message.text, timeout=20)
        self.assertIn("manage-images", message.text)
        WORLD.screenshot("33-polkit-import-denied")

def signal_file(name):
    return os.path.join(WORLD.screenshots, name)


def main():
    global WORLD
    hangarctl, app, shots, bus = sys.argv[1:5]
    WORLD = World(None, hangarctl, app, shots)
    WORLD.bus = bus
    ok = False
    try:
        WORLD.start_ui()
        result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
        ok = result.wasSuccessful()
    finally:
        if not ok:
            if WORLD.display:
                WORLD.screenshot("polkit-failure")
            print(f"---- hangar-gtk log ----\n{WORLD.log('hangar-gtk')}", file=sys.stderr)
        WORLD.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
