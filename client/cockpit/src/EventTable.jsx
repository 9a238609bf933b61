// Rows of the audit log (GetEvents rows or Event signals), newest first as given, each with its severity as a
// PatternFly status label (info, warning, error: docs/alerts.md).
import React from "react";
import { Label } from "@patternfly/react-core";
import { ExclamationCircleIcon } from "@patternfly/react-icons/dist/esm/icons/exclamation-circle-icon.js";
import { ExclamationTriangleIcon } from "@patternfly/react-icons/dist/esm/icons/exclamation-triangle-icon.js";
import { InfoCircleIcon } from "@patternfly/react-icons/dist/esm/icons/info-circle-icon.js";
import { dateUsec } from "./format.js";

const SEVERITY_LOOK = {
    info: { color: "blue", icon: <InfoCircleIcon /> },
    warning: { color: "gold", icon: <ExclamationTriangleIcon /> },
    error: { color: "red", icon: <ExclamationCircleIcon /> },
};

export function SeverityLabel({ severity }) {
    const look = SEVERITY_LOOK[severity] || SEVERITY_LOOK.warning;
    return <Label isCompact color={look.color} icon={look.icon} className="hangar-severity">{severity}</Label>;
}

export function EventTable({ rows, id, userName }) {
    const name = uid => (userName ? userName(uid) : String(uid));
    return (
        <table className="pf-v5-c-table pf-m-compact pf-m-grid-md" role="grid" id={id}>
            <thead><tr><th>Time</th><th>Severity</th><th>User</th><th>VM</th><th>Action</th><th>Outcome</th><th>Message</th></tr></thead>
            <tbody>
                {rows.map(r => {
                    const [eid, time, uid, , vmName, action, outcome, message, severity] = Array.isArray(r)
                        ? r : [r.id, r.timeUsec, r.uid, r.vmUuid, r.vmName, r.action, r.outcome, r.message, r.severity];
                    return (
                        <tr key={eid} data-action={action} data-outcome={outcome} data-severity={severity}>
                            <td>{dateUsec(time)}</td><td><SeverityLabel severity={severity} /></td><td>{name(uid)}</td>
                            <td>{vmName}</td><td>{action}</td>
                            <td className={outcome === "ok" ? "" : "hangar-failed"}>{outcome}</td><td>{message}</td>
                        </tr>
                    );
                })}
            </tbody>
        </table>
    );
}
