// What a member of group hangar-admin sees besides their own VMs: counts, every user's VMs with their owner,
// the images (upload, list, delete), quotas per user and the audit log.
import React, { useState } from "react";
import {
    Card, CardBody, CardTitle, Gallery, Tab, Tabs, TabTitleText, TextInput, FormSelect, FormSelectOption, Toolbar,
    ToolbarContent, ToolbarItem,
} from "@patternfly/react-core";

import { useInventory } from "./hooks.js";
import { useUserNames } from "./users.js";
import { mib, stateColor } from "./format.js";
import { VmActions } from "./VmCard.jsx";
import { ImagesAdmin } from "./ImagesAdmin.jsx";
import { QuotasAdmin } from "./QuotasAdmin.jsx";
import { AuditLog } from "./AuditLog.jsx";

/* global cockpit */

function Overview() {
    const inv = useInventory();
    const manager = inv.manager();
    const vms = inv.vms();
    const counts = [
        ["VMs", vms.length, "count-vms"],
        ["Running", vms.filter(v => v.State === "running").length, "count-running"],
        ["Images", inv.images().length, "count-images"],
        ["Jobs", inv.jobs().length, "count-jobs"],
    ];
    return (
        <Gallery hasGutter minWidths={{ default: "160px" }} id="hangar-overview">
            {counts.map(([label, value, id]) => (
                <Card key={id} isCompact><CardTitle>{label}</CardTitle><CardBody><span className="hangar-count" id={id}>{value}</span></CardBody></Card>
            ))}
            <Card isCompact><CardTitle>Daemon</CardTitle><CardBody>{manager.Version} on {manager.HypervisorURI}</CardBody></Card>
        </Gallery>
    );
}

function AllVms() {
    const inv = useInventory();
    const names = useUserNames();
    const [text, setText] = useState("");
    const [owner, setOwner] = useState("");
    const [state, setState] = useState("");
    const vms = inv.vms();
    const owners = [...new Set(vms.map(v => v.Owner))];
    const states = [...new Set(vms.map(v => v.State))];
    const shown = vms.filter(v => (!text || v.Name.includes(text)) && (owner === "" || String(v.Owner) === owner) &&
        (!state || v.State === state));
    const ownerName = uid => names[uid] || String(uid);
    return (
        <>
            <Toolbar><ToolbarContent>
                <ToolbarItem><TextInput id="allvms-filter" aria-label="Filter by name" placeholder="Filter by name"
                                        value={text} onChange={(e, v) => setText(v)} /></ToolbarItem>
                <ToolbarItem><FormSelect id="allvms-owner" aria-label="Owner" value={owner} onChange={(e, v) => setOwner(v)}>
                    <FormSelectOption value="" label="All owners" />
                    {owners.map(o => <FormSelectOption key={o} value={String(o)} label={ownerName(o)} />)}
                </FormSelect></ToolbarItem>
                <ToolbarItem><FormSelect id="allvms-state" aria-label="State" value={state} onChange={(e, v) => setState(v)}>
                    <FormSelectOption value="" label="All states" />
                    {states.map(s => <FormSelectOption key={s} value={s} label={s} />)}
                </FormSelect></ToolbarItem>
            </ToolbarContent></Toolbar>
            <table className="pf-v5-c-table pf-m-compact pf-m-grid-md" role="grid" id="hangar-all-vms">
                <thead><tr><th>Name</th><th>Owner</th><th>State</th><th>Spec</th><th>Image</th><th>Actions</th></tr></thead>
                <tbody>
                    {shown.map(vm => (
                        <tr key={vm.path} data-vm={vm.Name} data-owner={ownerName(vm.Owner)} data-state={vm.State}>
                            <td><a href={`#/vm/${vm.Name}`} onClick={e => { e.preventDefault(); cockpit.location.go(["vm", vm.Name]) }}>{vm.Name}</a></td>
                            <td>{ownerName(vm.Owner)}</td>
                            <td><span className={`hangar-dot hangar-dot-${stateColor(vm.State)}`} /> {vm.State}</td>
                            <td>{vm.VCPUs} vCPU, {mib(vm.MemoryMiB)}, {vm.DiskGiB} GiB</td>
                            <td>{vm.Image || "-"}</td>
                            <td><VmActions vm={vm} actions={vm.State === "running" ? ["stop", "force-stop"] : vm.State === "stopped" ? ["start", "delete"] : ["force-stop"]} /></td>
                        </tr>
                    ))}
                </tbody>
            </table>
        </>
    );
}

export function AdminView({ user }) {
    const [tab, setTab] = useState("overview");
    return (
        <Tabs activeKey={tab} onSelect={(e, key) => setTab(key)} isSecondary id="hangar-admin-tabs" mountOnEnter>
            <Tab eventKey="overview" title={<TabTitleText>Overview</TabTitleText>} id="admin-overview"><Overview /></Tab>
            <Tab eventKey="vms" title={<TabTitleText>All VMs</TabTitleText>} id="admin-vms"><AllVms /></Tab>
            <Tab eventKey="images" title={<TabTitleText>Images</TabTitleText>} id="admin-images"><ImagesAdmin user={user} /></Tab>
            <Tab eventKey="quotas" title={<TabTitleText>Quotas</TabTitleText>} id="admin-quotas"><QuotasAdmin /></Tab>
            <Tab eventKey="audit" title={<TabTitleText>Audit log</TabTitleText>} id="admin-audit"><AuditLog /></Tab>
        </Tabs>
    );
}
