// Opening a console: VM.OpenConsole / OpenGraphics answer with a Unix socket (D-Bus type h). cockpit-bridge turns a
// file descriptor in a reply into an internal stream ("fds": ["internal-stream-N"] beside the reply), which a
// stream channel can open with the option "internal". Cockpit 287's cockpit.dbus() drops that "fds" field, so the
// call goes over a dbus-json3 channel of its own, where the whole reply is visible. Returns a binary stream channel.

/* global cockpit */

import { NO_INTERACTION, SERVICE, IFACE } from "./hangar.js";

export class CallError extends Error {
    constructor(name, message) {
        super(message);
        this.name = name;
    }
}

export function openFdChannel(path, method, options = {}) {
    return new Promise((resolve, reject) => {
        const dbus = cockpit.channel({ payload: "dbus-json3", bus: "system", name: SERVICE });
        const done = () => dbus.close();
        dbus.addEventListener("message", (event, data) => {
            let msg;
            try {
                msg = JSON.parse(data);
            } catch (e) {
                return;
            }
            if (msg.id !== "open")
                return;
            if (msg.error) {
                const [name, [message] = []] = msg.error;
                reject(new CallError(name, message || name));
            } else if (!msg.fds || msg.fds.length === 0) {
                reject(new CallError("NoFd", "cockpit-bridge passed no file descriptor on to the page"));
            } else {
                const stream = cockpit.channel({ payload: "stream", internal: msg.fds[0], binary: true });
                resolve(stream);
            }
            done();
        });
        dbus.addEventListener("close", (event, options) => {
            if (options.problem)
                reject(new CallError(options.problem, cockpit.message(options)));
        });
        dbus.send(JSON.stringify({
            call: [path, IFACE.vm, method, [{ ...NO_INTERACTION, ...options }]],
            type: "a{sv}",
            id: "open",
        }));
    });
}

// What noVNC needs of a WebSocket, over a Cockpit stream channel: send, close, binaryType, readyState, protocol and
// the four on* handlers.
export class ChannelSocket {
    constructor(channel) {
        this.channel = channel;
        this.binaryType = "arraybuffer";
        this.protocol = "";
        this.readyState = 1; // OPEN: the channel is usable as soon as it exists
        this.onopen = null;
        this.onmessage = null;
        this.onerror = null;
        this.onclose = null;
        channel.addEventListener("message", (event, data) => {
            const copy = data.slice().buffer; // a fresh ArrayBuffer holding exactly the bytes
            this.onmessage?.({ data: copy });
        });
        channel.addEventListener("close", (event, options) => {
            this.readyState = 3;
            if (options.problem)
                this.onerror?.({ message: options.problem });
            this.onclose?.({ code: options.problem ? 1006 : 1000, reason: options.problem || "", wasClean: !options.problem });
        });
        window.setTimeout(() => this.onopen?.({}), 0);
    }

    send(data) {
        this.channel.send(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    }

    close() {
        if (this.readyState === 3)
            return;
        this.readyState = 2;
        this.channel.close();
    }
}
