// ImageFill makes new images, as Jobs: ImportImage (from a caller's file descriptor, its content probed, never its
// name trusted) and VM.Publish (a flattened copy of a stopped VM's disk; the VM goes through the operation pipeline
// as a Publish and stays marked while its disk is read). Both end in start(): the row is written in phase Importing
// before the volume exists, so a crash at any point is rolled back at the next start (core/Reconciler). The quota
// check and the row that counts against it happen in one loop step. Loop thread only.
#pragma once

#include "core/ImageContext.h"
#include "core/UniqueFd.h"

#include <functional>
#include <optional>
#include <string>

namespace hangar {

struct ImportRequest
{
    std::string name;
    SharedFd fd;
    std::optional<ImageFormat> expectedFormat;
    std::string description;
    // libosinfo's short id; "" = none (no detection either); unset = detected from an ISO, else none.
    std::optional<std::string> os = std::nullopt;
};

class ImageFill
{
public:
    explicit ImageFill(ImageContext& context) : m_ctx(context) {}

    void importImage(const Caller& caller, ImportRequest request, const Done<std::uint64_t>& done);
    void publish(const Caller& caller, const std::string& vmUuid, const std::string& imageName,
                 const std::string& description, const std::optional<std::string>& os, const Done<std::uint64_t>& done);

private:
    using Work = std::function<VolumeInfo(Storage&, const ProgressFn&)>;

    // publish() once the OS it names, if any, can be looked up.
    void publishKnownOs(const Caller& caller, const std::string& vmUuid, const std::string& imageName,
                        const std::string& description, const std::optional<std::string>& os,
                        const Done<std::uint64_t>& done);
    // Adds the image row (phase Importing) and object, starts the job, replies with its id, runs work on a worker,
    // settles. vm: publish's ticket on the source VM, marked meanwhile (nullptr for an import).
    void start(const ImageTicketPtr& ticket, ImageRecord record, Job job, Work work, const Ticket& vm,
               const Done<std::uint64_t>& done);
    void settle(const ImageTicketPtr& ticket, const std::string& id, const Ticket& vm,
                const Outcome<VolumeInfo>& outcome);

    ImageContext& m_ctx;
};

} // namespace hangar
