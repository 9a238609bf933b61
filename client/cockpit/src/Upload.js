// Uploading an image from the browser. A browser cannot hand an fd to cockpit.dbus, and hangard refuses pipes (it
// wants a regular file it can probe and stream sparsely), so the upload goes in two steps, both as the logged-in
// user through their own bridge:
//   1. the file's bytes go into a new file under /var/tmp through Cockpit's fsreplace1 channel (tag "-": the file
//      must not exist yet, so nothing is overwritten or followed); progress = bytes written;
//   2. `hangarctl image import FILE --name N [--os ID]` (a spawn channel) opens that file with the user's rights and passes
//      the fd to Manager.ImportImage, exactly as on the command line; progress = the Job's Progress property.
// The temporary file is removed at the end whatever happened. Cancel closes the write channel in step 1, and
// cancels the Job (Job.Cancel: its starter may) or ends hangarctl (which then cancels the job) in step 2.

/* global cockpit */

const CHUNK = 1024 * 1024;

export class Upload extends EventTarget {
    // os: libosinfo's short id, "" for none, null to let the daemon detect it from an ISO.
    constructor(file, name, description, os = null) {
        super();
        this.file = file;
        this.name = name;
        this.description = description;
        this.os = os;
        this.path = `/var/tmp/hangar-upload-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
        this.phase = "copy"; // copy -> import -> done | failed | cancelled
        this.sent = 0;
        this.message = "";
        this.cancelled = false;
        this.channel = null;
        this.process = null;
    }

    update(phase, message) {
        if (phase)
            this.phase = phase;
        if (message !== undefined)
            this.message = message;
        this.dispatchEvent(new Event("changed"));
    }

    async run() {
        try {
            await this.copy();
            if (this.cancelled)
                return this.update("cancelled", "Cancelled while copying to the host");
            this.update("import");
            await this.importFile();
            this.update("done", `Imported image '${this.name}'`);
        } catch (error) {
            this.update(this.cancelled ? "cancelled" : "failed", this.cancelled ? "Cancelled" : String(error.message || error.problem || error));
        } finally {
            const tmp = cockpit.file(this.path);
            tmp.replace(null).catch(() => {}).finally(() => tmp.close());
        }
    }

    copy() {
        return new Promise((resolve, reject) => {
            const channel = cockpit.channel({ payload: "fsreplace1", path: this.path, tag: "-", binary: true });
            this.channel = channel;
            channel.addEventListener("close", (event, options) => {
                if (options.problem)
                    reject(new Error(options.message || options.problem));
                else
                    resolve();
            });
            const next = async () => {
                while (this.sent < this.file.size && !this.cancelled) {
                    const end = Math.min(this.sent + CHUNK, this.file.size);
                    const data = new Uint8Array(await this.file.slice(this.sent, end).arrayBuffer());
                    channel.send(data);
                    this.sent = end;
                    this.update();
                }
                if (this.cancelled)
                    channel.close("cancelled");
                else
                    channel.control({ command: "done" });
            };
            next().catch(reject);
        });
    }

    importFile() {
        const argv = ["hangarctl", "image", "import", this.path, "--name", this.name];
        if (this.description)
            argv.push("--description", this.description);
        if (this.os !== null)
            argv.push("--os", this.os);
        this.process = cockpit.spawn(argv, { err: "out" });
        // cockpit's own promises do not turn a throw into a rejection: settle a native one.
        return new Promise((resolve, reject) => {
            this.process.then(() => resolve()).catch((error, output) => {
                // hangarctl's last line says why (the daemon's message).
                const lines = String(output || error.message || "").trim().split("\n");
                reject(new Error(lines[lines.length - 1] || "hangarctl failed"));
            });
        });
    }

    cancel(inv, job) {
        this.cancelled = true;
        if (this.phase === "import") {
            if (job)
                inv.call(job, "org.hangar.Hangar1.Job", "Cancel", [{}], "a{sv}").catch(() => this.process?.close("terminated"));
            else
                this.process?.close("terminated");
        }
        this.update();
    }
}
