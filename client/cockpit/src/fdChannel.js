// Opening a console: VM.OpenConsole / OpenGraphics answer with a Unix socket (D-Bus type h). cockpit-bridge keeps
// the file descriptor and puts a channel description in the reply in its place ({"payload": "stream",
// "internal": "internal-stream-N"}), which cockpit.channel() opens: the bytes then flow between the page and the
// socket through the bridge. Returns that channel, binary.

/* global cockpit */

import { IFACE, NO_INTERACTION } from "./hangar.js";

export function openFdChannel(inv, path, method, options = {}) {
    return inv.call(path, IFACE.vm, method, [{ ...NO_INTERACTION, ...options }], "a{sv}").then(([description]) => {
        if (!description || description.payload !== "stream" || !description.internal)
            throw new Error(`cockpit-bridge did not pass the socket on (${JSON.stringify(description)})`);
        return cockpit.channel({ ...description, binary: true });
    });
}

// What noVNC needs of a WebSocket, over a Cockpit stream channel: send, close, binaryType, readyState, protocol and
// the four on* handlers.
export class ChannelSocket {
    constructor(channel) {
        this.channel = channel;
        this.binaryType = "arraybuffer";
        this.protocol = "";
        // CONNECTING until the first turn of the event loop, then OPEN and onopen (once: noVNC opens the session
        // itself when it attaches to a socket that is already open, and a second open would restart it).
        this.readyState = 0;
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
        window.setTimeout(() => {
            if (this.readyState !== 0)
                return;
            this.readyState = 1;
            this.onopen?.({});
        }, 0);
    }

    send(data) {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
        // The browser tests' view of what noVNC sends (tests/web/run-e2e.mjs installs it; never set otherwise): the
        // tiny test guest reads no keyboard, so key delivery is proven on the wire.
        window.hangarTestSendTap?.(bytes);
        this.channel.send(bytes);
    }

    close() {
        if (this.readyState === 3)
            return;
        this.readyState = 2;
        this.channel.close();
    }
}
