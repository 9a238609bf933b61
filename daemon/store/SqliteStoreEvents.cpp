// SqliteStore's events table: the append-only audit log and its filtered queries. Declared in store/SqliteStore.h.
#include "store/SqliteStore.h"
#include "store/SqliteSupport.h"

#include <cstdint>
#include <sqlite3.h>
#include <string>
#include <utility>
#include <vector>

namespace hangar::store {

EventRecord SqliteStore::appendEvent(EventRecord event)
{
    Query query(m_db.get(), statement("INSERT INTO events (time_usec, uid, vm_uuid, vm_name, action, outcome, message, "
                                      "vm_owner, severity) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    query.bind(1, event.timeUsec);
    query.bind(2, static_cast<std::int64_t>(event.uid));
    query.bind(3, event.vmUuid);
    query.bind(4, event.vmName);
    query.bind(5, event.action);
    query.bind(6, event.outcome);
    query.bind(7, event.message);
    if (event.vmOwner)
        query.bind(8, static_cast<std::int64_t>(*event.vmOwner));
    query.bind(9, std::string(severityName(event.severity)));
    query.run("cannot append an event");
    event.id = sqlite3_last_insert_rowid(m_db.get());
    return event;
}

std::vector<EventRecord> SqliteStore::events(const EventFilter& filter)
{
    // Only the conditions in use go into the SQL, so each combination gets a plan that uses its index
    // ("?1 IS NULL OR vm_uuid = ?1" would not). The text is made of fixed fragments; values are always bound.
    std::string where = "1";
    if (filter.vmUuid)
        where += " AND vm_uuid = ?1";
    if (filter.uid)
        where += " AND uid = ?2";
    if (filter.sinceUsec)
        where += " AND time_usec >= ?3";
    if (filter.visibleTo)
        where += " AND (uid = ?5 OR vm_owner = ?5)";
    if (filter.minSeverity == Severity::Warning)
        where += " AND severity IN ('warning', 'error')";
    else if (filter.minSeverity == Severity::Error)
        where += " AND severity = 'error'";
    // Newest first to apply the limit, then turned around: callers read a log top to bottom.
    Query query(
        m_db.get(),
        statement("SELECT id, time_usec, uid, vm_uuid, vm_name, action, outcome, message, vm_owner, severity FROM "
                  "(SELECT * FROM events WHERE " +
                  where + " ORDER BY id DESC LIMIT ?4) ORDER BY id ASC"));
    if (filter.vmUuid)
        query.bind(1, *filter.vmUuid);
    if (filter.uid)
        query.bind(2, static_cast<std::int64_t>(*filter.uid));
    if (filter.sinceUsec)
        query.bind(3, *filter.sinceUsec);
    query.bind(4, static_cast<std::int64_t>(filter.limit));
    if (filter.visibleTo)
        query.bind(5, static_cast<std::int64_t>(*filter.visibleTo));

    std::vector<EventRecord> result;
    while (query.next("cannot read events")) {
        EventRecord event;
        event.id = query.integer(0);
        event.timeUsec = query.integer(1);
        event.uid = static_cast<std::uint32_t>(query.integer(2));
        event.vmUuid = query.text(3);
        event.vmName = query.text(4);
        event.action = query.text(5);
        event.outcome = query.text(6);
        event.message = query.text(7);
        if (!query.isNull(8))
            event.vmOwner = static_cast<std::uint32_t>(query.integer(8));
        // The column's CHECK admits only known names; a row edited past it reads as a warning rather than failing.
        event.severity = severityFromName(query.text(9)).value_or(Severity::Warning);
        result.push_back(std::move(event));
    }
    return result;
}

} // namespace hangar::store
