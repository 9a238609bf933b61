// Fault points: named places between the durable steps of hangard's multi-step operations (a row written, a volume
// made, a domain defined, ...) where a test build can be made to die. With the CMake option HANGAR_FAULT_POINTS (on
// for development and CI builds, off in the Debian package) hangard reads the environment variable
// HANGAR_FAULT_POINT once; when a running operation reaches the point it names, hangard logs one line and kills
// itself with SIGKILL, which is what a crash or the OOM killer looks like to the state directory and to libvirtd.
// tests/e2e/KillPointE2eTest.cpp kills hangard at every point of the list below, starts it again and checks that
// the operation either fully happened or left nothing (docs/reliability.md). With the option off, HANGAR_FAULT_POINT
// compiles to nothing and the variable is ignored.
//
// The list is the one place points are named: a point added here without a scenario in the kill-point test fails
// that test.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

// X(identifier, "name"): the name is what HANGAR_FAULT_POINT takes; operation.step, the step just done.
#define HANGAR_FAULT_POINT_LIST(X)                                                                                     \
    X(CreateRowWritten, "create.row-written")                                                                          \
    X(CreateVolumeMade, "create.volume-made")                                                                          \
    X(CreateSeedWritten, "create.seed-written")                                                                        \
    X(CreateDefined, "create.defined")                                                                                 \
    X(CreateBeforeReady, "create.before-ready")                                                                        \
    X(CloneRowWritten, "clone.row-written")                                                                            \
    X(CloneCopying, "clone.copying")                                                                                   \
    X(CloneVolumeCopied, "clone.volume-copied")                                                                        \
    X(CloneDefined, "clone.defined")                                                                                   \
    X(DeleteRowWritten, "delete.row-written")                                                                          \
    X(DeleteDiskRemoved, "delete.disk-removed")                                                                        \
    X(DeleteUndefined, "delete.undefined")                                                                             \
    X(RenameRowWritten, "rename.row-written")                                                                          \
    X(ResourcesRowWritten, "resources.row-written")                                                                    \
    X(ResourcesDomainChanged, "resources.domain-changed")                                                              \
    X(ResourcesDiskGrown, "resources.disk-grown")                                                                      \
    X(SnapshotCreateTaken, "snapshot-create.taken")                                                                    \
    X(SnapshotRevertReverted, "snapshot-revert.reverted")                                                              \
    X(SnapshotDeleteDeleted, "snapshot-delete.deleted")                                                                \
    X(ImportRowWritten, "import.row-written")                                                                          \
    X(ImportCopying, "import.copying")                                                                                 \
    X(ImportVolumeFilled, "import.volume-filled")                                                                      \
    X(PublishRowWritten, "publish.row-written")                                                                        \
    X(PublishVolumeCopied, "publish.volume-copied")                                                                    \
    X(ImageDeleteRowWritten, "image-delete.row-written")                                                               \
    X(ImageDeleteVolumeRemoved, "image-delete.volume-removed")                                                         \
    X(ExpiryDue, "expiry.due")                                                                                         \
    X(RecoverCleanedUp, "recover.cleaned-up")

namespace hangar {

enum class FaultPoint
{
#define HANGAR_FAULT_POINT_ENUM(id, name) id,
    HANGAR_FAULT_POINT_LIST(HANGAR_FAULT_POINT_ENUM)
#undef HANGAR_FAULT_POINT_ENUM
};

// Every point's name, in the order of the list.
inline constexpr std::array kFaultPointNames = {
#define HANGAR_FAULT_POINT_NAME(id, name) std::string_view(name),
    HANGAR_FAULT_POINT_LIST(HANGAR_FAULT_POINT_NAME)
#undef HANGAR_FAULT_POINT_NAME
};

constexpr std::string_view faultPointName(FaultPoint point)
{
    return kFaultPointNames[static_cast<std::size_t>(point)];
}

// Whether this build has fault points at all (the CMake option, defined for hangar_core, hangard and the kill-point
// test only; internal linkage, so translation units without the definition cannot disagree with these).
#ifdef HANGAR_FAULT_POINTS
constexpr bool kFaultPointsBuilt = true;
#else
constexpr bool kFaultPointsBuilt = false;
#endif

// The environment variable naming the point to die at.
inline constexpr const char* kFaultPointVariable = "HANGAR_FAULT_POINT";

// The point HANGAR_FAULT_POINT names; read once, on the first call. Throws std::invalid_argument for a name that
// is not in the list, so that a test with a misspelt point fails at hangard's start instead of never dying.
std::optional<FaultPoint> armedFaultPoint();

// Dies (SIGKILL, after one line on stderr) when point is the armed one. Any thread. Called through
// HANGAR_FAULT_POINT(Identifier), which is nothing at all in a build without fault points.
void reachFaultPoint(FaultPoint point);

} // namespace hangar

#ifdef HANGAR_FAULT_POINTS
#define HANGAR_FAULT_POINT(id) ::hangar::reachFaultPoint(::hangar::FaultPoint::id)
#else
#define HANGAR_FAULT_POINT(id) static_cast<void>(::hangar::FaultPoint::id)
#endif
