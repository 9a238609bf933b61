// One VM: its spec, image, addresses, creation time and lifetime (extend, never expire); who is on its serial
// console and screen (ConsoleAttached, GraphicsClients); users and packages added
// in the running guest (GuestCommands); live CPU and memory graphs from the stats the daemon
// samples; its snapshots (create, revert, delete); its own events from the audit log.
import React, { useEffect, useState } from "react";
import {
    Alert, Button, Card, CardBody, CardTitle, DescriptionList, DescriptionListDescription, DescriptionListGroup,
    DescriptionListTerm, Gallery, Label,
} from "@patternfly/react-core";

import { useInterval, useInventory } from "./hooks.js";
import { errorText, IFACE } from "./hangar.js";
import { dateUsec, mib, stateColor } from "./format.js";
import { Graph } from "./Graph.jsx";
import { ConfirmDialog, PromptDialog } from "./Dialogs.jsx";
import { actionsFor, VmActions } from "./VmCard.jsx";
import { useUserNames } from "./users.js";
import { EventTable } from "./EventTable.jsx";
import { LifetimeActions, LifetimeLabels, lifetimeDescription } from "./Lifetime.jsx";
import { GuestCommands } from "./GuestCommands.jsx";

const SAMPLES = 60;

function Stats({ vm }) {
    const inv = useInventory();
    const [cpu, setCpu] = useState([]);
    const [memory, setMemory] = useState([]);
    const [lastSample, setLastSample] = useState(0);
    useInterval(() => {
        if (vm.State !== "running")
            return;
        inv.call(vm.path, IFACE.vm, "GetStats", []).then(([stats]) => {
            const at = stats.sampled_at_usec?.v;
            if (!at || at === lastSample)
                return;
            setLastSample(at);
            if (stats.cpu_percent)
                setCpu(s => [...s, stats.cpu_percent.v].slice(-SAMPLES));
            if (stats.memory_used_bytes)
                setMemory(s => [...s, stats.memory_used_bytes.v / 1048576].slice(-SAMPLES));
        }).catch(() => {});
    }, 2000, [vm.path, vm.State, lastSample]);
    return (
        <div className="hangar-graphs">
            <Graph id="graph-cpu" title="CPU" samples={cpu} max={100} unit="%" />
            <Graph id="graph-memory" title="Memory used" samples={memory} max={Number(vm.MemoryMiB)} unit="MiB" />
            {vm.State !== "running" && <p>Graphs fill while the VM runs.</p>}
        </div>
    );
}

function Snapshots({ vm }) {
    const inv = useInventory();
    const [rows, setRows] = useState([]);
    const [dialog, setDialog] = useState(null);
    const [error, setError] = useState(null);
    const names = (vm.Snapshots || []).join();
    useEffect(() => {
        inv.call(vm.path, IFACE.vm, "ListSnapshots", []).then(([r]) => setRows(r)).catch(setError);
    }, [inv, vm.path, names]);
    const call = (method, name) => inv.vmCall(vm.path, method, {}, [name]);
    const close = () => setDialog(null);
    return (
        <div id="hangar-snapshots">
            <Button size="sm" onClick={() => setDialog(
                <PromptDialog title="New snapshot" label="Snapshot name" action="Create" onClose={close}
                              run={name => call("CreateSnapshot", name)} />)} id="snapshot-create">Create snapshot</Button>
            {error && <Alert variant="danger" isInline isPlain title={errorText(error)} />}
            <table className="pf-v5-c-table pf-m-compact pf-m-grid-md" role="grid">
                <thead><tr><th>Name</th><th>Taken</th><th>State</th><th /></tr></thead>
                <tbody>
                    {rows.map(([name, description, created, state, current]) => (
                        <tr key={name} data-snapshot={name}>
                            <td>{name}{current ? " (current)" : ""}{description ? ` — ${description}` : ""}</td>
                            <td>{dateUsec(created)}</td>
                            <td>{state}</td>
                            <td>
                                <Button size="sm" variant="secondary" onClick={() => setDialog(
                                    <ConfirmDialog title={`Revert ${vm.Name} to ${name}?`} action="Revert" onClose={close}
                                                   body="The disk (and, for a snapshot of a running VM, its memory) go back to that point."
                                                   run={() => call("RevertToSnapshot", name)} />)}>Revert</Button>
                                {" "}
                                <Button size="sm" variant="danger" onClick={() => setDialog(
                                    <ConfirmDialog title={`Delete snapshot ${name}?`} action="Delete" danger onClose={close}
                                                   body="The snapshot is removed; the VM's current state stays."
                                                   run={() => call("DeleteSnapshot", name)} />)}>Delete</Button>
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {dialog}
        </div>
    );
}

function VmEvents({ vm }) {
    const inv = useInventory();
    const names = useUserNames();
    const [events, setEvents] = useState([]);
    const [error, setError] = useState(null);
    // Guests do not receive the Event signal (bus policy); their VM's own changes say when to read again.
    const changeKey = `${vm.State}|${vm.Name}|${(vm.Snapshots || []).join()}`;
    useEffect(() => {
        inv.managerCall("GetEvents", [{ vm: { t: "s", v: vm.UUID }, limit: { t: "u", v: 50 } }], "a{sv}")
                .then(([rows]) => setEvents(rows)).catch(setError);
    }, [inv, vm.UUID, changeKey]);
    if (error)
        return <Alert variant="warning" isInline isPlain title={errorText(error)} />;
    return <EventTable rows={[...events].reverse()} id="hangar-vm-events" userName={uid => names[uid] || String(uid)} />;
}

// "in use · 1 screen viewer": someone has the serial console open through Hangar, and how many VNC clients (the
// browser's console, hangarctl vnc, any viewer) are connected. Both follow PropertiesChanged.
export function presenceText(vm) {
    const viewers = Number(vm.GraphicsClients || 0);
    const screen = viewers === 0 ? "no screen viewer" : `${viewers} screen viewer${viewers === 1 ? "" : "s"}`;
    return `${vm.ConsoleAttached ? "in use" : "free"} · ${screen}`;
}

export function VmDetails({ name, onBack }) {
    const inv = useInventory();
    const vm = inv.vmByName(name);
    if (!vm)
        return <Alert variant="info" isInline title={`No VM named ${name}`}><Button variant="link" onClick={onBack}>Back</Button></Alert>;
    const field = (term, value) => (
        <DescriptionListGroup key={term}>
            <DescriptionListTerm>{term}</DescriptionListTerm>
            <DescriptionListDescription>{value}</DescriptionListDescription>
        </DescriptionListGroup>
    );
    const actions = actionsFor(vm.State).filter(a => a !== "rename" && a !== "clone" && a !== "delete");
    return (
        <div id="hangar-details" data-vm={vm.Name} data-state={vm.State}>
            <Button variant="link" onClick={onBack} id="details-back">← All VMs</Button>
            <h2 className="hangar-section-title">{vm.Name} <Label color={stateColor(vm.State)}>{vm.State}</Label><LifetimeLabels vm={vm} /></h2>
            <VmActions vm={vm} actions={actions} />
            <div className="hangar-actions" id="hangar-lifetime-actions"><LifetimeActions vm={vm} /></div>
            <GuestCommands vm={vm} />
            <Gallery hasGutter minWidths={{ default: "520px" }}>
                <Card><CardTitle>Details</CardTitle><CardBody>
                    <DescriptionList isHorizontal isCompact>
                        {field("vCPUs", vm.VCPUs)}
                        {field("Memory", mib(vm.MemoryMiB))}
                        {field("Disk", `${vm.DiskGiB} GiB`)}
                        {field("Image", vm.Image || "none")}
                        {field("Provisioned users", (vm.ProvisionedUsers || []).join(", ") || "none")}
                        {field("Provisioned packages", (vm.ProvisionedPackages || []).join(", ") || "none")}
                        {field("Added users", (vm.AddedUsers || []).join(", ") || "none")}
                        {field("Installed packages", (vm.InstalledPackages || []).join(", ") || "none")}
                        {field("Lifetime", lifetimeDescription(vm))}
                        {field("Addresses", (vm.Addresses || []).join(", ") || "none known")}
                        {field("Console", <span id="hangar-presence">{presenceText(vm)}</span>)}
                        {field("Created", dateUsec(vm.CreatedAt))}
                        {field("Host", vm.Host)}
                        {field("UUID", vm.UUID)}
                        {vm.Description ? field("Description", vm.Description) : null}
                    </DescriptionList>
                </CardBody></Card>
                <Card><CardTitle>Usage</CardTitle><CardBody><Stats vm={vm} /></CardBody></Card>
                <Card><CardTitle>Snapshots</CardTitle><CardBody><Snapshots vm={vm} /></CardBody></Card>
                <Card><CardTitle>Events</CardTitle><CardBody><VmEvents vm={vm} /></CardBody></Card>
            </Gallery>
        </div>
    );
}

