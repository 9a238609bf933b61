// The page: who is logged in decides what is shown. Members of group hangar get their own VMs; members of
// hangar-admin also get the admin tabs; anyone else is told to ask for group membership. Routes (after '#'):
//   /                    the dashboard          /vm/NAME          one VM's details
//   /console/NAME        serial console         /graphics/NAME    graphical console (each meant for its own tab)
import React, { useState } from "react";
import {
    Alert, EmptyState, EmptyStateBody, EmptyStateHeader, Page, PageSection, Spinner, Tab, Tabs, TabTitleText,
} from "@patternfly/react-core";

import { useInventory, useLocation, useUser } from "./hooks.js";
import { errorText } from "./hangar.js";
import { GuestView } from "./GuestView.jsx";
import { VmDetails } from "./VmDetails.jsx";
import { AdminView } from "./AdminView.jsx";
import { ConsolePage } from "./Console.jsx";

/* global cockpit */

function NotInGroup({ user }) {
    return (
        <EmptyState id="hangar-no-group">
            <EmptyStateHeader titleText="You cannot use Hangar yet" headingLevel="h2" />
            <EmptyStateBody>
                The user <b>{user.name}</b> is in neither group <code>hangar</code> nor <code>hangar-admin</code>.
                Ask an administrator to add you to group hangar.
            </EmptyStateBody>
        </EmptyState>
    );
}

function Dashboard({ user }) {
    const inv = useInventory();
    const [tab, setTab] = useState("mine");
    if (inv.error)
        return <Alert variant="danger" isInline title="Hangar's daemon cannot be reached" id="hangar-daemon-error">{errorText(inv.error)}</Alert>;
    if (!inv.loaded)
        return <Spinner aria-label="Loading" />;
    const mine = <GuestView user={user} />;
    if (user.role !== "admin")
        return mine;
    return (
        <Tabs activeKey={tab} onSelect={(e, key) => setTab(key)} id="hangar-tabs" mountOnEnter unmountOnExit>
            <Tab eventKey="mine" title={<TabTitleText>My VMs</TabTitleText>} id="tab-mine">{mine}</Tab>
            <Tab eventKey="admin" title={<TabTitleText>Administration</TabTitleText>} id="tab-admin">
                <AdminView user={user} />
            </Tab>
        </Tabs>
    );
}

export function App() {
    const user = useUser();
    const location = useLocation();
    const [route, name] = location.path;

    if (!user)
        return <Spinner aria-label="Loading" />;
    if (user.role === "none")
        return <Page><PageSection><NotInGroup user={user} /></PageSection></Page>;
    if (route === "console" || route === "graphics")
        return <ConsolePage kind={route} name={name} user={user} />;

    return (
        <Page>
            <PageSection variant="light" className="hangar-header">
                <h1 className="pf-v5-c-title pf-m-xl">Hangar</h1>
                <span className="hangar-user" id="hangar-user">
                    {user.name} ({user.role === "admin" ? "administrator" : "guest"})
                </span>
            </PageSection>
            <PageSection>
                {route === "vm" && name
                    ? <VmDetails name={name} user={user} onBack={() => cockpit.location.go("/")} />
                    : <Dashboard user={user} />}
            </PageSection>
        </Page>
    );
}
