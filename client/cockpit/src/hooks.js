// React glue for the Inventory and for Cockpit's location (the part of the URL after '#').
import { useEffect, useState, useSyncExternalStore } from "react";
import { Inventory } from "./hangar.js";

/* global cockpit */

let shared = null;
export function inventory() {
    if (!shared) {
        shared = new Inventory();
        shared.start();
    }
    return shared;
}

// Re-renders whenever the inventory changes; returns the inventory.
export function useInventory() {
    const inv = inventory();
    useSyncExternalStore(callback => {
        inv.addEventListener("changed", callback);
        return () => inv.removeEventListener("changed", callback);
    }, () => inv.version);
    return inv;
}

export function useLocation() {
    const [location, setLocation] = useState(cockpit.location);
    useEffect(() => {
        const update = () => setLocation(cockpit.location);
        cockpit.addEventListener("locationchanged", update);
        return () => cockpit.removeEventListener("locationchanged", update);
    }, []);
    return location;
}

// Who is logged in and which of Hangar's groups they are in: "admin", "guest" or "none".
export function useUser() {
    const [user, setUser] = useState(null);
    useEffect(() => {
        cockpit.user().then(u => {
            const groups = u.groups || [];
            const role = groups.includes("hangar-admin") ? "admin" : groups.includes("hangar") ? "guest" : "none";
            setUser({ name: u.name, uid: u.id, groups, role });
        });
    }, []);
    return user;
}

// Calls fn every `ms` while mounted (stats sampling for graphs; never the inventory).
export function useInterval(fn, ms, deps) {
    useEffect(() => {
        fn();
        const id = window.setInterval(fn, ms);
        return () => window.clearInterval(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
    }, deps);
}
