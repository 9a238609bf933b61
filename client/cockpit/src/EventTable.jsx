// Rows of the audit log (GetEvents rows or Event signals), newest first as given.
import React from "react";
import { dateUsec } from "./format.js";

export function EventTable({ rows, id, userName }) {
    const name = uid => (userName ? userName(uid) : String(uid));
    return (
        <table className="pf-v5-c-table pf-m-compact pf-m-grid-md" role="grid" id={id}>
            <thead><tr><th>Time</th><th>User</th><th>VM</th><th>Action</th><th>Outcome</th><th>Message</th></tr></thead>
            <tbody>
                {rows.map(r => {
                    const [eid, time, uid, , vmName, action, outcome, message] = Array.isArray(r)
                        ? r : [r.id, r.timeUsec, r.uid, r.vmUuid, r.vmName, r.action, r.outcome, r.message];
                    return (
                        <tr key={eid} data-action={action} data-outcome={outcome}>
                            <td>{dateUsec(time)}</td><td>{name(uid)}</td><td>{vmName}</td><td>{action}</td>
                            <td className={outcome === "ok" ? "" : "hangar-failed"}>{outcome}</td><td>{message}</td>
                        </tr>
                    );
                })}
            </tbody>
        </table>
    );
}
