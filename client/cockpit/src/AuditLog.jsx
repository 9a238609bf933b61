// The audit log with filters (VM, user, action, since, minimum severity) and live follow: GetEvents for what is there, then the
// Manager's Event signal (delivered to administrators) for what comes.
import React, { useEffect, useState } from "react";
import { Alert, Checkbox, FormSelect, FormSelectOption, TextInput, Toolbar, ToolbarContent, ToolbarItem } from "@patternfly/react-core";

import { useInventory } from "./hooks.js";
import { useUserNames } from "./users.js";
import { errorText, eventRow, SEVERITIES } from "./hangar.js";
import { EventTable } from "./EventTable.jsx";

const ACTIONS = ["create", "start", "stop", "force-stop", "reboot", "pause", "resume", "delete", "rename", "console",
    "graphics", "state", "reconcile", "recover", "alert"];

export function AuditLog() {
    const inv = useInventory();
    const names = useUserNames();
    const [vm, setVm] = useState("");
    const [user, setUser] = useState("");
    const [action, setAction] = useState("");
    const [since, setSince] = useState("");
    const [severity, setSeverity] = useState("info");
    const [follow, setFollow] = useState(true);
    const [rows, setRows] = useState([]);
    const [error, setError] = useState(null);

    const uid = user === "" ? undefined : Object.entries(names).find(([, n]) => n === user)?.[0] ?? user;
    const sinceUsec = since ? Date.parse(since) * 1000 : undefined;
    const matches = r => (!vm || r.vmName === vm || r.vmUuid === vm) && (uid === undefined || String(r.uid) === String(uid)) &&
        (!action || r.action === action) && (!sinceUsec || r.timeUsec >= sinceUsec) &&
        SEVERITIES.indexOf(r.severity) >= SEVERITIES.indexOf(severity);

    useEffect(() => {
        const filter = { limit: { t: "u", v: 200 } };
        if (vm)
            filter.vm = { t: "s", v: vm };
        if (uid !== undefined && /^\d+$/.test(String(uid)))
            filter.uid = { t: "u", v: Number(uid) };
        if (sinceUsec)
            filter.since = { t: "t", v: sinceUsec };
        filter.severity = { t: "s", v: severity };
        inv.managerCall("GetEvents", [filter], "a{sv}")
                .then(([result]) => {
                    setError(null);
                    setRows(result.map(eventRow).filter(r => !action || r.action === action).reverse());
                })
                .catch(setError);
    // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [inv, vm, uid, action, sinceUsec, severity]);

    useEffect(() => {
        if (!follow)
            return;
        const onEvent = e => {
            if (matches(e.detail))
                setRows(r => (r.some(x => x.id === e.detail.id) ? r : [e.detail, ...r]));
        };
        inv.addEventListener("event", onEvent);
        return () => inv.removeEventListener("event", onEvent);
    });

    return (
        <>
            <Toolbar><ToolbarContent>
                <ToolbarItem><TextInput id="audit-vm" aria-label="VM" placeholder="VM name or UUID" value={vm} onChange={(e, v) => setVm(v)} /></ToolbarItem>
                <ToolbarItem><TextInput id="audit-user" aria-label="User" placeholder="User" value={user} onChange={(e, v) => setUser(v)} /></ToolbarItem>
                <ToolbarItem><FormSelect id="audit-action" aria-label="Action" value={action} onChange={(e, v) => setAction(v)}>
                    <FormSelectOption value="" label="All actions" />
                    {ACTIONS.map(a => <FormSelectOption key={a} value={a} label={a} />)}
                </FormSelect></ToolbarItem>
                <ToolbarItem><FormSelect id="audit-severity" aria-label="Severity" value={severity} onChange={(e, v) => setSeverity(v)}>
                    <FormSelectOption value="info" label="All severities" />
                    <FormSelectOption value="warning" label="Warnings and errors" />
                    <FormSelectOption value="error" label="Errors" />
                </FormSelect></ToolbarItem>
                <ToolbarItem><TextInput id="audit-since" aria-label="Since" type="datetime-local" value={since} onChange={(e, v) => setSince(v)} /></ToolbarItem>
                <ToolbarItem><Checkbox id="audit-follow" label="Follow live" isChecked={follow} onChange={(e, v) => setFollow(v)} /></ToolbarItem>
            </ToolbarContent></Toolbar>
            {error && <Alert variant="warning" isInline title="Events not readable">{errorText(error)}</Alert>}
            <EventTable rows={rows} id="hangar-audit" userName={u => names[u] || String(u)} />
        </>
    );
}
