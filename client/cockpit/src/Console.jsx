// A console in its own browser tab: #/console/NAME (serial, xterm.js) or #/graphics/NAME (VNC, noVNC), both fed by
// the socket the daemon hands out, through Cockpit channels (no websockify, no TCP port).
import React, { useEffect, useRef, useState } from "react";
import { Alert, Button, Page, PageSection, Spinner } from "@patternfly/react-core";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";

import { useInventory } from "./hooks.js";
import { errorText } from "./hangar.js";
import { ChannelSocket, openFdChannel } from "./fdChannel.js";

const RUNS = ["running", "paused", "shutting-down", "suspended"];

// The daemon's words, with what to do about the usual cases.
function explain(error, kind) {
    const name = String(error.name || "");
    if (name.endsWith(".Busy") && kind === "console")
        return `${errorText(error)} — another session holds this serial console. Close it there, or take it over.`;
    if (name.endsWith(".NotSupported"))
        return `${errorText(error)} — this host cannot hand out ${kind === "console" ? "a serial console" : "the screen"}.`;
    return errorText(error);
}

function SerialConsole({ vm, force, onError }) {
    const inv = useInventory();
    const ref = useRef(null);
    useEffect(() => {
        let channel = null;
        const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14 });
        term.open(ref.current);
        term.focus();
        const encoder = new TextEncoder();
        openFdChannel(inv, vm.path, "OpenConsole", force ? { force: { t: "b", v: true } } : {}).then(ch => {
            channel = ch;
            ch.addEventListener("message", (event, data) => term.write(data));
            ch.addEventListener("close", (event, options) => term.write(`\r\n[console closed${options.problem ? ": " + options.problem : ""}]\r\n`));
            term.onData(text => ch.send(encoder.encode(text)));
        }).catch(onError);
        return () => { channel?.close(); term.dispose() };
    }, [inv, vm.path, force, onError]);
    return <div ref={ref} className="hangar-terminal" id="hangar-serial" />;
}

function GraphicsConsole({ vm, onError }) {
    const inv = useInventory();
    const ref = useRef(null);
    const rfbRef = useRef(null);
    useEffect(() => {
        let rfb = null;
        let cancelled = false;
        Promise.all([import("@novnc/novnc"), openFdChannel(inv, vm.path, "OpenGraphics")]).then(([module, channel]) => {
            if (cancelled)
                return channel.close();
            const RFB = module.default;
            rfb = new RFB(ref.current, new ChannelSocket(channel));
            rfb.scaleViewport = true;
            rfb.resizeSession = true;
            rfb.addEventListener("disconnect", () => onError({ message: "The screen was disconnected (the VM stopped?)" }));
            rfbRef.current = rfb;
        }).catch(onError);
        return () => { cancelled = true; rfb?.disconnect() };
    }, [inv, vm.path, onError]);
    return (
        <>
            <Button size="sm" variant="secondary" id="graphics-cad" onClick={() => rfbRef.current?.sendCtrlAltDel()}>Send Ctrl-Alt-Del</Button>
            <div ref={ref} className="hangar-vnc" id="hangar-vnc" />
        </>
    );
}

export function ConsolePage({ kind, name }) {
    const inv = useInventory();
    const [error, setError] = useState(null);
    const [force, setForce] = useState(false);
    const vm = inv.vmByName(name);
    const title = `${kind === "console" ? "Serial console" : "Screen"} of ${name}`;
    useEffect(() => { document.title = title }, [title]);

    let body;
    if (inv.error)
        body = <Alert variant="danger" isInline title="Hangar's daemon cannot be reached">{errorText(inv.error)}</Alert>;
    else if (!inv.loaded)
        body = <Spinner aria-label="Loading" />;
    else if (!vm)
        body = <Alert variant="warning" isInline title={`You have no VM named ${name}`} id="console-message" />;
    else if (!RUNS.includes(vm.State))
        body = <Alert variant="info" isInline id="console-message" title={`${name} is not running (state: ${vm.State})`}>Start it, then reopen this console.</Alert>;
    else if (error)
        body = (
            <Alert variant="danger" isInline id="console-message" title={explain(error, kind)}>
                {kind === "console" && String(error.name).endsWith(".Busy") &&
                    <Button size="sm" onClick={() => { setError(null); setForce(true) }} id="console-force">Take it over</Button>}
            </Alert>
        );
    else if (kind === "console")
        body = <SerialConsole vm={vm} force={force} onError={setError} />;
    else
        body = <GraphicsConsole vm={vm} onError={setError} />;

    return (
        <Page>
            <PageSection variant="light"><h1 className="pf-v5-c-title pf-m-xl">{title}</h1></PageSection>
            <PageSection>{body}</PageSection>
        </Page>
    );
}
