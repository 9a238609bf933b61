// The operation pipeline for images (import, publish's new image, delete): the same shape as core/OperationRunner
// and built on its pieces (runOnWorker, the one failure path), but its trail is the image's: a failure is recorded
// by the image's name (AuditLog::imageFailure), since an image is not a VM. Loop thread only.
#pragma once

#include "core/AuditLog.h"
#include "core/Authorizer.h"
#include "core/OperationRunner.h"

#include <functional>
#include <memory>
#include <string>

namespace hangar {

struct ImageTicket
{
    Caller caller;
    std::string verb;      // the audit action: "image-import", "publish", "image-delete"
    std::string imageName; // as the trail names it
    std::function<void(const Error&)> reject;
};
using ImageTicketPtr = std::shared_ptr<ImageTicket>;

class ImageRunner
{
public:
    ImageRunner(Authorizer& authorizer, AuditLog& audit) : m_authorizer(authorizer), m_audit(audit) {}

    template <typename T>
    static ImageTicketPtr open(const Caller& caller, std::string verb, std::string imageName, Done<T> done)
    {
        return std::make_shared<ImageTicket>(
            ImageTicket{caller, std::move(verb), std::move(imageName), [done](const Error& e) { done(e); }});
    }

    // Asks for manage-images with details. When answered, present (if given) says whether the image still exists:
    // if not, the ticket completes with NotFound(lost), unaudited; a denial is the failure path; else next runs.
    void authorize(const ImageTicketPtr& ticket, const AuthDetails& details, std::function<void()> next,
                   std::function<bool()> present = {}, const char* lost = "");
    // The failure path: records the failure in the image's trail and replies with the error.
    void fail(const ImageTicketPtr& ticket, const Error& error);
    // Runs fn, sending an Error it throws down the failure path; returns whether fn completed.
    bool attempt(const ImageTicketPtr& ticket, const std::function<void()>& fn);

private:
    Authorizer& m_authorizer;
    AuditLog& m_audit;
};

} // namespace hangar
