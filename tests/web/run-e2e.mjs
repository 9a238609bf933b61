// The page against a real libvirtd with QEMU and the e2e suite's tiny guest (tests/e2e/make-guest.sh): the serial
// console in the browser shows the guest's boot marker and answers what is typed, the noVNC canvas shows a
// non-blank screen, sends typed keys and Ctrl-Alt-Del to QEMU and scales with the window, the graphs fill from
// the daemon's stats, the details add a user to the guest through its agent (and show a failed install), and an
// upload from the browser becomes a ready image.
// Run through run-web-tests.sh --e2e (tests/e2e/run-hermetic.sh around tests/integration/polkit/run-hermetic.sh).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Harness, USERS, waitFor } from "./harness.mjs";
import { card, Session, shot } from "./browser.mjs";

const problem = Harness.problem() || (existsSync("/etc/hangar-e2e-hermetic") ? "" : "needs tests/e2e/run-hermetic.sh");
const session = new Session({ libvirt: true });
const harness = session.harness;
const BOOT_MARKER = "HANGAR-E2E-GUEST-UP";

// A console page that shows a message instead of the console fails with that message (and a screenshot).
async function expectNoMessage(page, what) {
    const message = page.locator("#console-message");
    if (await message.count()) {
        await shot(page, `e2e-failed-${what.replace(/ /g, "-")}`);
        assert.fail(`the ${what} page says: ${await message.textContent()}`);
    }
}

describe("Hangar's Cockpit page on QEMU", { skip: problem || false }, () => {
    before(async () => {
        await session.up();
        // The page's create form has no direct kernel boot (a provisioning matter): the guest makes it with hangarctl.
        harness.hangarctl(USERS.guest1, ["create", "tiny", "--memory", "256", "--disk", "1", "--kernel", "vmlinuz",
            "--initrd", "initrd.gz", "--cmdline", "console=ttyS0 quiet"]);
    });

    after(() => session.down());

    test("the serial console in its own tab shows the boot marker and answers typing; a second tab is told it is held", async () => {
        const page = await session.login(USERS.guest1);
        await card(page, "tiny").locator('[data-action="start"]').click();
        await page.waitForSelector('.hangar-vm[data-vm="tiny"][data-state="running"]');
        const consolePage = await page.context().newPage();
        await consolePage.goto(session.pageUrl("/console/tiny"));
        await consolePage.waitForSelector("#hangar-serial .xterm-rows");
        await expectNoMessage(consolePage, "serial console");
        // The guest boots under TCG: its first marker comes ~6 s after start on an idle machine, ~30 s on a busy one.
        await consolePage.waitForFunction(marker => document.querySelector("#hangar-serial .xterm-rows")?.textContent.includes(marker),
                                          BOOT_MARKER, { timeout: 90000 });
        await consolePage.click("#hangar-serial");
        await consolePage.keyboard.type("hello-from-the-browser\n");
        await consolePage.waitForFunction(() => document.querySelector("#hangar-serial .xterm-rows")?.textContent.includes("HANGAR-E2E-ECHO hello-from-the-browser"));
        await shot(consolePage, "e2e-01-serial-console");
        // The VM's page says the console is in use while this tab holds it (ConsoleAttached, live).
        await page.goto(session.pageUrl("/vm/tiny"));
        await page.waitForFunction(() => document.querySelector("#hangar-presence")?.textContent.startsWith("in use"),
                                   null, { timeout: 20000 });

        const second = await page.context().newPage();
        await second.goto(session.pageUrl("/console/tiny"));
        await second.waitForSelector("#console-message");
        assert.match(await second.textContent("#console-message"), /another session holds this serial console/);
        await shot(second, "e2e-02-serial-console-held");
        await second.close();
        await consolePage.close();
        await page.waitForFunction(() => document.querySelector("#hangar-presence")?.textContent.startsWith("free"),
                                   null, { timeout: 20000 });
        await page.context().close();
    });

    test("the graphical console shows the guest's screen in a noVNC canvas", async () => {
        const page = await session.login(USERS.guest1, "/graphics/tiny");
        await page.waitForSelector("#hangar-vnc canvas, #console-message");
        await expectNoMessage(page, "graphics");
        // Non-blank: the canvas has pixels of more than one colour.
        await page.waitForFunction(() => {
            const canvas = document.querySelector("#hangar-vnc canvas");
            if (!canvas || canvas.width < 100)
                return false;
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            const first = data.slice(0, 3).join();
            for (let i = 0; i < data.length; i += 4 * 97)
                if (`${data[i]},${data[i + 1]},${data[i + 2]}` !== first)
                    return true;
            return false;
        }, null, { timeout: 30000 });
        await shot(page, "e2e-03-graphics");
        await page.context().close();
    });

    test("the graphical console sends typed keys and Ctrl-Alt-Del to QEMU and scales its canvas with the window", async () => {
        // Everything noVNC sends through the channel (fdChannel.js's ChannelSocket calls the tap when it is set).
        const page = await session.login(USERS.guest1, "/graphics/tiny", () => {
            window.hangarSent = [];
            window.hangarTestSendTap = bytes => { for (const b of bytes) window.hangarSent.push(b) };
        });
        await page.waitForSelector("#hangar-vnc canvas, #console-message");
        await expectNoMessage(page, "graphics");
        await page.waitForFunction(() => document.querySelector("#hangar-vnc canvas")?.width >= 100, null, { timeout: 30000 });
        // The key events among the bytes sent since `from`: QEMU's extended key event (255, 0, down u16, keysym u32,
        // scancode u32), which noVNC uses when QEMU offers it, or RFB's KeyEvent (4, down u8, 0 0, keysym u32).
        const keysSentSince = from => page.evaluate(start => {
            const sent = window.hangarSent;
            const u32 = i => ((sent[i] << 24) | (sent[i + 1] << 16) | (sent[i + 2] << 8) | sent[i + 3]) >>> 0;
            const keys = [];
            for (let i = start; i + 8 <= sent.length; i++) {
                if (sent[i] === 255 && sent[i + 1] === 0 && sent[i + 2] === 0 && sent[i + 3] <= 1 && i + 12 <= sent.length) {
                    keys.push(`${sent[i + 3] ? "down" : "up"} ${u32(i + 4).toString(16)}`);
                    i += 11;
                } else if (sent[i] === 4 && sent[i + 1] <= 1 && sent[i + 2] === 0 && sent[i + 3] === 0) {
                    keys.push(`${sent[i + 1] ? "down" : "up"} ${u32(i + 4).toString(16)}`);
                    i += 7;
                }
            }
            return keys;
        }, from);
        const sentSoFar = () => page.evaluate(() => window.hangarSent.length);

        // 1. Keyboard: the tiny guest reads its serial line only (nothing reads tty1 and the kernel writes to ttyS0),
        // so typing changes nothing on its screen: the proof is the key events on the wire to QEMU.
        await page.click("#hangar-vnc canvas"); // noVNC takes the keyboard focus on a click
        let mark = await sentSoFar();
        await page.keyboard.type("hz7");
        const typed = ["68", "7a", "37"].flatMap(k => [`down ${k}`, `up ${k}`]);
        await waitFor("h, z, 7 sent as key presses and releases", async () =>
            JSON.stringify(await keysSentSince(mark)) === JSON.stringify(typed));
        await shot(page, "e2e-04-graphics-typed");

        // 2. Ctrl-Alt-Del: Control_L, Alt_L, Delete pressed, then released in reverse order. (The guest's kernel then
        // signals its init, a shell that does not handle it: the tiny guest does not reboot.)
        mark = await sentSoFar();
        await page.click("#graphics-cad");
        const cad = ["down ffe3", "down ffe9", "down ffff", "up ffff", "up ffe9", "up ffe3"];
        await waitFor("Ctrl-Alt-Del sent", async () => JSON.stringify(await keysSentSince(mark)) === JSON.stringify(cad));
        await shot(page, "e2e-05-graphics-ctrl-alt-del");

        // 3. Resize: noVNC scales the guest's screen to the console's box, which follows the window.
        const canvasBox = () => page.evaluate(() => {
            const canvas = document.querySelector("#hangar-vnc canvas").getBoundingClientRect();
            const box = document.querySelector("#hangar-vnc").getBoundingClientRect();
            return { width: canvas.width, height: canvas.height, boxWidth: box.width, boxHeight: box.height };
        });
        // Scaled to fit: as wide or as high as the box (within a pixel), never larger.
        const fits = b => b.width <= b.boxWidth + 1 && b.height <= b.boxHeight + 1 &&
            (Math.abs(b.width - b.boxWidth) <= 1 || Math.abs(b.height - b.boxHeight) <= 1);
        await waitFor("the canvas fits the 1280x900 window", async () => fits(await canvasBox()));
        const large = await canvasBox();
        await page.setViewportSize({ width: 700, height: 500 });
        await waitFor("the canvas shrinks to the 700x500 window", async () => {
            const b = await canvasBox();
            return fits(b) && b.width < large.width - 50;
        });
        const small = await canvasBox();
        await shot(page, "e2e-06-graphics-resized");
        console.log(`canvas ${large.width.toFixed(0)}x${large.height.toFixed(0)} in 1280x900, ` +
                    `${small.width.toFixed(0)}x${small.height.toFixed(0)} in 700x500`);
        await page.context().close();
    });

    test("the details page draws CPU and memory graphs from the daemon's stats", async () => {
        const page = await session.login(USERS.guest1, "/vm/tiny");
        await page.waitForSelector('#hangar-details[data-state="running"]');
        // (A flat line has no height: attached, not "visible".)
        await page.waitForSelector("#graph-cpu polyline", { state: "attached", timeout: 20000 });
        await page.waitForSelector("#graph-memory polyline", { state: "attached", timeout: 20000 });
        await shot(page, "e2e-07-details-graphs");
        await page.context().close();
    });

    test("the details page adds a user to the running guest through its agent and reports a failed install", async () => {
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJqwpr9K2Tqh2ylR2zXUpWFH3oR+3aFUJv/IHTVTCIcv web@laptop";
        const page = await session.login(USERS.guest1, "/vm/tiny");
        await page.waitForSelector('#hangar-details[data-state="running"]');
        // Enabled once qemu-ga in the guest is connected (AgentConnected, live through PropertiesChanged).
        const addUser = page.locator('#hangar-guest-commands [data-action="add-user"]');
        await page.waitForSelector('#hangar-guest-commands [data-action="add-user"]:not([aria-disabled="true"])', { timeout: 90000 });
        await addUser.click();
        await page.fill("#adduser-name", "webuser");
        await page.check("#adduser-sudo");
        await page.fill("#adduser-keys", key);
        await shot(page, "e2e-10-add-user-dialog");
        await page.click("#adduser-go");
        await page.waitForSelector('#guest-command-status[data-outcome="success"]', { timeout: 60000 });
        assert.match(await page.textContent("#guest-command-status"), /Adding user webuser: done/);
        await page.waitForSelector("#hangar-details >> text=Added userswebuser");
        const inGuest = argv => harness.hangarctl(USERS.guest1, ["exec", "tiny", "--", ...argv]).stdout;
        assert.match(inGuest(["/bin/cat", "/etc/passwd"]), /^webuser:/m, "the user is in the guest's /etc/passwd");
        // The sudo checkbox and the key from the textarea reached the guest as well.
        assert.match(inGuest(["/bin/cat", "/etc/sudoers.d/90-hangar-webuser"]), /^webuser ALL=\(ALL\) NOPASSWD:ALL$/m);
        assert.deepEqual(inGuest(["/bin/cat", "/home/webuser/.ssh/authorized_keys"]).split("\n").filter(Boolean), [key]);
        await shot(page, "e2e-11-user-added");

        // The tiny guest has no package manager: the job fails, and the page says why in the guest's words.
        await page.click('#hangar-guest-commands [data-action="install-packages"]');
        await page.fill("#install-names", "nginx git");
        await page.click("#install-go");
        await page.waitForSelector('#guest-command-status[data-outcome="failure"]', { timeout: 60000 });
        assert.match(await page.textContent("#guest-command-status"), /Installing nginx, git: failed.*no supported package manager/);
        assert.match(await page.textContent("#hangar-details"), /Installed packagesnone/);
        await shot(page, "e2e-12-install-failed");
        await page.context().close();
    });

    test("the admin uploads a ~300 MiB raw image with visible progress and it becomes a ready image", async () => {
        const page = await session.login(USERS.admin);
        await page.getByRole("tab", { name: "Administration" }).click();
        await page.getByRole("tab", { name: "Images" }).click();
        const file = join(process.env.TMPDIR || "/tmp", "web-upload.raw");
        writeFileSync(file, Buffer.alloc(300 * 1024 * 1024, 1));
        const started = Date.now();
        await page.setInputFiles("#hangar-upload input[type=file]", file);
        await page.fill("#upload-name", "from-browser");
        await page.fill("#upload-description", "uploaded in the e2e web test");
        // The OS is picked from what this host's libosinfo knows (Manager.ListOperatingSystems).
        await page.waitForSelector('#upload-os option[value="debian10"]', { state: "attached" });
        await page.selectOption("#upload-os", "debian10");
        await page.click("#upload-start");
        await page.waitForSelector("#upload-progress");
        await shot(page, "e2e-08-upload-progress");
        await page.waitForSelector("#upload-done", { timeout: 120000 });
        await page.waitForSelector('#hangar-images tr[data-image="from-browser"] >> text=ready');
        console.log(`300 MiB uploaded and imported in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        const imported = JSON.parse(harness.hangarctl(USERS.admin, ["--json", "image", "show", "from-browser"]).stdout);
        assert.equal(imported.OS, "debian10", "imported with the OS chosen in the form");
        assert.equal(imported.Description, "uploaded in the e2e web test");
        await shot(page, "e2e-09-upload-done");

        // Cancel during the copy: nothing is left, neither the spooled file nor an image.
        await page.fill("#upload-name", "cancelled-upload");
        await page.click("#upload-start");
        await page.waitForSelector("#upload-progress");
        // (The progress bar moves the button while the copy runs: no waiting for it to be "stable".)
        await page.locator("#upload-cancel").dispatchEvent("click");
        await page.waitForSelector("#upload-error >> text=Cancelled");
        await waitFor("the spooled upload removed", () => readdirSync("/var/tmp").every(f => !f.startsWith("hangar-upload-")));
        assert.equal(await page.locator('#hangar-images tr[data-image="cancelled-upload"]').count(), 0);
        assert.equal(harness.hangarctl(USERS.admin, ["image", "list"]).stdout.includes("cancelled-upload"), false);
        await page.context().close();
    });
});
