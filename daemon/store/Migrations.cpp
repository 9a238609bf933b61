// The migration steps of hangar.db's schema, oldest first. Declared in store/Migrations.h; docs/store.md lists what
// each version added and the rules for adding a step.
#include "store/Migrations.h"

#include <array>

namespace hangar::store {
namespace {

// Append-only: each entry takes the schema from version i to i + 1. A step that has been released is never edited,
// because databases out there already carry its result; fix mistakes with a new step.
constexpr std::array kMigrations{
    std::string_view{R"sql(
        CREATE TABLE vms (
            uuid            TEXT PRIMARY KEY NOT NULL,
            name            TEXT UNIQUE NOT NULL,
            owner           INTEGER NOT NULL,
            vcpus           INTEGER NOT NULL,
            memory_mib      INTEGER NOT NULL,
            disk_gib        INTEGER NOT NULL,
            description     TEXT NOT NULL,
            created_at_usec INTEGER NOT NULL,
            host            TEXT NOT NULL,
            phase           TEXT NOT NULL
        );
        CREATE TABLE events (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            time_usec INTEGER NOT NULL,
            uid       INTEGER NOT NULL,
            vm_uuid   TEXT NOT NULL,
            vm_name   TEXT NOT NULL,
            action    TEXT NOT NULL,
            outcome   TEXT NOT NULL,
            message   TEXT NOT NULL
        );
        CREATE INDEX events_vm_uuid ON events(vm_uuid);
        CREATE INDEX events_uid ON events(uid);
        CREATE INDEX events_time_usec ON events(time_usec);
    )sql"},
    // v2: per-user quotas (NULL = unlimited), and the owner of the VM an event is about, so a user can be shown
    // the events of their own VMs and no one else's. Rows from v1 get the owner of their VM where it still exists.
    std::string_view{R"sql(
        CREATE TABLE quotas (
            uid            INTEGER PRIMARY KEY NOT NULL,
            max_vms        INTEGER,
            max_running    INTEGER,
            max_vcpus      INTEGER,
            max_memory_mib INTEGER,
            max_disk_gib   INTEGER
        );
        ALTER TABLE events ADD COLUMN vm_owner INTEGER;
        UPDATE events SET vm_owner = (SELECT owner FROM vms WHERE vms.uuid = events.vm_uuid) WHERE vm_uuid != '';
        CREATE INDEX events_vm_owner ON events(vm_owner);
    )sql"},
    // v3: direct kernel boot. File names inside the daemon's boot directory and the kernel command line; '' = not
    // set, which is what every VM from v2 gets.
    std::string_view{R"sql(
        ALTER TABLE vms ADD COLUMN kernel TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN initrd TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN cmdline TEXT NOT NULL DEFAULT '';
    )sql"},
    // v4: images, and the volumes each VM is made of ('' = none, which is what every VM from v3 gets). The CHECKs
    // make a typo in a hand edit fail at once instead of at the next start-up; a new format or phase therefore
    // needs a step that rebuilds the table. vms.image has no REFERENCES: '' stands for "no image", and whether an
    // image is still in use is decided by core, which refuses the deletion with a message naming the VMs.
    std::string_view{R"sql(
        CREATE TABLE images (
            id                 TEXT PRIMARY KEY NOT NULL,
            name               TEXT UNIQUE NOT NULL,
            format             TEXT NOT NULL CHECK (format IN ('qcow2', 'raw', 'iso')),
            size_bytes         INTEGER NOT NULL,
            virtual_size_bytes INTEGER NOT NULL,
            owner              INTEGER NOT NULL,
            created_at_usec    INTEGER NOT NULL,
            description        TEXT NOT NULL,
            volume             TEXT UNIQUE NOT NULL,
            phase              TEXT NOT NULL CHECK (phase IN ('importing', 'ready', 'deleting'))
        );
        ALTER TABLE vms ADD COLUMN image TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN disk_volume TEXT NOT NULL DEFAULT '';
        ALTER TABLE vms ADD COLUMN cdrom_volume TEXT NOT NULL DEFAULT '';
    )sql"},
    // v5: a VM's cloud-init provisioning (JSON: it is read and written only whole) and its seed volume; one row per VM
    // that has a seed, gone with the VM's row.
    std::string_view{R"sql(
        CREATE TABLE provisioning (
            uuid        TEXT PRIMARY KEY NOT NULL REFERENCES vms(uuid) ON DELETE CASCADE,
            seed_volume TEXT NOT NULL,
            data        TEXT NOT NULL
        );
    )sql"},
    // v6: an image's operating system: libosinfo's short id and the name libosinfo gave it when it was set (kept, so
    // that reading it needs no database); '' = unknown, which is what every older image gets.
    std::string_view{R"sql(
        ALTER TABLE images ADD COLUMN os TEXT NOT NULL DEFAULT '';
        ALTER TABLE images ADD COLUMN os_name TEXT NOT NULL DEFAULT '';
    )sql"},
    // v7: lifetime. ephemeral VMs are deleted once they have run (has_run) and stopped; expires_at is when a VM is
    // powered off and deleted, unix seconds, 0 = never. Every VM from v4 is neither ephemeral nor expiring.
    std::string_view{R"sql(
        ALTER TABLE vms ADD COLUMN ephemeral INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE vms ADD COLUMN has_run INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE vms ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
    )sql"},
    // v8: what was added to a running guest later (VM.AddUser, VM.InstallPackages), one row per user or package,
    // in the order they were added; gone with the VM.
    std::string_view{R"sql(
        CREATE TABLE vm_guest_changes (
            seq     INTEGER PRIMARY KEY AUTOINCREMENT,
            vm_uuid TEXT NOT NULL REFERENCES vms(uuid) ON DELETE CASCADE,
            kind    TEXT NOT NULL CHECK (kind IN ('user', 'package')),
            name    TEXT NOT NULL,
            UNIQUE (vm_uuid, kind, name)
        );
    )sql"},
    // v9: each event's severity (info, warning, error; core/Types.h Severity). Older rows get the one their outcome
    // implies, as new rows do: ok is info, BackendFailure an error, any other error name a warning.
    std::string_view{R"sql(
        ALTER TABLE events ADD COLUMN severity TEXT NOT NULL DEFAULT 'info'
            CHECK (severity IN ('info', 'warning', 'error'));
        UPDATE events SET severity = CASE outcome WHEN 'ok' THEN 'info' WHEN 'BackendFailure' THEN 'error'
                                                  ELSE 'warning' END;
        CREATE INDEX events_severity ON events(severity);
    )sql"},
};

} // namespace

std::span<const std::string_view> migrations()
{
    return kMigrations;
}

std::int64_t schemaVersion()
{
    return static_cast<std::int64_t>(kMigrations.size());
}

} // namespace hangar::store
