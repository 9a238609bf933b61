// Plain data of Hangar's domain model: a VM's record as stored, its run state, the audit events, and who is
// calling. No behaviour beyond conversions; shared by core, store, virt and bus.
#pragma once

#include "core/Provisioning.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hangar {

// What a VM is made of. Ranges are enforced by core/Validation.h.
struct VmSpec
{
    std::uint32_t vcpus = 1;
    std::uint64_t memoryMiB = 512;
    std::uint64_t diskGiB = 10;
    std::string description;
    // Direct kernel boot: file names inside the daemon's boot directory ([Guest] boot_dir), never paths, so a caller
    // cannot make QEMU read an arbitrary host file. Empty kernel = no direct kernel boot (then initrd and cmdline
    // are empty too).
    std::string kernel;
    std::string initrd;
    std::string cmdline;

    bool operator==(const VmSpec&) const = default;
};

// Where a multi-step operation stands. Written to the store *before* the step that could leave something behind,
// so start-up recovery knows whether to finish or roll back.
enum class VmPhase
{
    Creating, // row written, domain may or may not be defined yet: roll back (undefine, delete row)
    Ready,    // fully created
    Deleting, // deletion started: finish it (destroy, undefine, delete row)
};

std::string_view phaseName(VmPhase phase);
std::optional<VmPhase> phaseFromName(std::string_view name);

// The run state as users see it (VM.State). A closed set, documented in dbus/org.hangar.Hangar1.VM.xml.
enum class VmState
{
    Creating, // being created; not yet usable
    Stopped,  // defined, not running
    Running,
    Paused,       // suspended by Pause(), or by the hypervisor (e.g. I/O error)
    ShuttingDown, // guest asked to power off, not yet off
    Crashed,
    Suspended, // guest suspended itself to RAM (ACPI S3)
    Deleting,
    Unavailable, // its domain is gone from the hypervisor or the host is unreachable
};

std::string_view stateName(VmState state);
std::optional<VmState> stateFromName(std::string_view name);

// Hangar's record of a VM. uuid is immutable and is also the libvirt domain's UUID.
struct VmRecord
{
    std::string uuid; // canonical lower-case 8-4-4-4-12 form
    std::string name;
    std::uint32_t owner = 0;
    VmSpec spec;
    std::int64_t createdAtUsec = 0; // CLOCK_REALTIME, microseconds since the epoch
    std::string host;               // label of the host it lives on ("local" for the daemon's own hypervisor)
    VmPhase phase = VmPhase::Creating;
    // Storage (core/Storage.h), all volume names in the daemon's pool; empty = none.
    std::string image;         // id of the image it was made from (ImageRecord::id)
    std::string diskVolume;    // its own disk: a qcow2 overlay of the image, or a blank qcow2 ("vm-<uuid>.qcow2")
    std::string cdromVolume;   // an ISO attached as a CD-ROM and booted first (VMs made from an ISO image)
    std::string seedVolume;    // the cloud-init seed ISO, a second CD-ROM ("vm-<uuid>-seed.iso"); "" = no seed
    Provisioning provisioning; // what the seed holds (core/Provisioning.h); kept in the store, not in libvirt
    // Lifetime (core/VmLifetime.h). An ephemeral VM is deleted once it has run and then stopped; hasRun records that
    // it has been seen active since it was created, so a VM that was merely never started (created -> stopped) stays.
    bool ephemeral = false;
    bool hasRun = false;
    std::int64_t expiresAt = 0; // unix seconds at which it is powered off and deleted; 0 = never
    // What was added to the running guest later (core/VmGuestCommands), oldest first. Kept by the store in a table
    // of its own (Store::addGuestChange), not by insertVm/updateVm.
    std::vector<std::string> addedUsers;
    std::vector<std::string> installedPackages;

    bool operator==(const VmRecord&) const = default;
};

// One thing added to a running guest, as the store records it.
struct GuestChange
{
    enum class Kind
    {
        User,
        Package,
    };
    Kind kind = Kind::User;
    std::string name;
};

inline constexpr std::uint64_t kMiB = 1024ULL * 1024;
inline constexpr std::uint64_t kGiB = 1024 * kMiB;

// Whole GiB, rounded up: how sizes in bytes count against GiB figures (disk_gib, max_disk_gib).
constexpr std::uint64_t gibRoundedUp(std::uint64_t bytes)
{
    return (bytes + kGiB - 1) / kGiB;
}

// What an image's content is. Decided from the content at import (core/ImageProbe.h), never from a file name.
enum class ImageFormat
{
    Qcow2,
    Raw,
    Iso,
};

std::string_view formatName(ImageFormat format);
std::optional<ImageFormat> formatFromName(std::string_view name);

enum class ImagePhase
{
    Importing, // row written, the volume may be partly uploaded: roll back (delete volume and row)
    Ready,
    Deleting, // deletion started: finish it (delete volume and row)
};

std::string_view imagePhaseName(ImagePhase phase);
std::optional<ImagePhase> imagePhaseFromName(std::string_view name);

// Hangar's record of an image: a volume in the daemon's storage pool that VMs are made from.
struct ImageRecord
{
    std::string id; // a UUID, immutable; also names the D-Bus object and the volume
    std::string name;
    ImageFormat format = ImageFormat::Qcow2;
    std::uint64_t sizeBytes = 0;        // bytes the image file occupies (allocation)
    std::uint64_t virtualSizeBytes = 0; // the disk size a guest sees (qcow2 virtual size; raw/iso: file size)
    std::uint32_t owner = 0;
    std::int64_t createdAtUsec = 0;
    std::string description;
    std::string volume; // volume name in the pool: "img-<id>.qcow2|raw|iso"
    ImagePhase phase = ImagePhase::Importing;
    std::string os;     // libosinfo's short id of its operating system ("debian11"); "" = unknown (core/OsCatalog.h)
    std::string osName; // libosinfo's name of it when it was given ("Debian 11"): kept, so reading it needs no database

    bool operator==(const ImageRecord&) const = default;
};

// One snapshot of a VM, as the hypervisor keeps it.
struct SnapshotInfo
{
    std::string name;
    std::string description;
    std::int64_t createdAtUsec = 0;
    std::string state; // the VM's state when it was taken: "running", "stopped", ...
    bool current = false;

    bool operator==(const SnapshotInfo&) const = default;
};

// How much an event needs an administrator's attention, lowest first (the order GetEvents' minimum filter uses).
// info: something happened as asked; warning: a request was refused or failed for a reason the caller can fix, or
// a resource crossed an alert threshold; error: the host or a backend failed (BackendFailure), or the hypervisor is
// unreachable.
enum class Severity
{
    Info,
    Warning,
    Error,
};
std::string_view severityName(Severity severity);
std::optional<Severity> severityFromName(std::string_view name);
// The severity an audit event with this outcome ("ok" or an error name) gets unless its author says otherwise.
Severity severityForOutcome(std::string_view outcome);

// One line of the audit log.
struct EventRecord
{
    std::int64_t id = 0; // assigned by the store, increasing
    std::int64_t timeUsec = 0;
    std::uint32_t uid = 0; // who caused it; 0 also for the daemon itself (reconcile, timers)
    std::string vmUuid;    // empty when not about one VM
    std::string vmName;
    std::string action;                   // "create", "start", "stop", "delete", "rename", "reconcile", ...
    std::string outcome;                  // "ok" or the error name ("PermissionDenied", "Busy", ...)
    std::string message;                  // human-readable detail
    std::optional<std::uint32_t> vmOwner; // owner of the VM it is about, for who may read it
    Severity severity = Severity::Info;
};

struct EventFilter
{
    std::optional<std::string> vmUuid;
    std::optional<std::uint32_t> uid;
    std::optional<std::int64_t> sinceUsec; // events with timeUsec >= since
    std::optional<Severity> minSeverity;   // events of this severity or higher
    std::uint32_t limit = 100;             // newest `limit` events, returned oldest first
    // Only events this user caused or that are about a VM they own (what a non-administrator may read).
    std::optional<std::uint32_t> visibleTo;
};

// Per-user limits; an empty field is unlimited.
struct QuotaLimits
{
    std::optional<std::uint32_t> maxVms;
    std::optional<std::uint32_t> maxRunning;
    std::optional<std::uint32_t> maxVcpus;
    std::optional<std::uint64_t> maxMemoryMiB;
    std::optional<std::uint64_t> maxDiskGiB;

    bool operator==(const QuotaLimits&) const = default;
};

// The identity of a D-Bus caller, taken from the bus (never from an argument).
struct Caller
{
    std::uint32_t uid = 0;
    std::string busName;          // unique name, for polkit's system-bus-name subject
    bool allowInteraction = true; // polkit may ask the user to authenticate
};

} // namespace hangar
