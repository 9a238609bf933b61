#include "core/ImageRunner.h"

#include "core/LoopThread.h"

namespace hangar {

void ImageRunner::authorize(const ImageTicketPtr& ticket, const AuthDetails& details, std::function<void()> next,
                            std::function<bool()> present, const char* lost)
{
    LoopThread::assertOnLoop("ImageRunner::authorize");
    m_authorizer.check(
        ticket->caller, Action::ManageImages, details,
        [this, ticket, next = std::move(next), present = std::move(present), lost](std::optional<Error> denied) {
            if (present && !present())
                return ticket->reject(Error(ErrorCode::NotFound, lost));
            if (denied)
                return fail(ticket, *denied);
            next();
        });
}

void ImageRunner::fail(const ImageTicketPtr& ticket, const Error& error)
{
    LoopThread::assertOnLoop("ImageRunner::fail");
    m_audit.imageFailure(ticket->caller.uid, ticket->imageName, ticket->verb, error);
    ticket->reject(error);
}

bool ImageRunner::attempt(const ImageTicketPtr& ticket, const std::function<void()>& fn)
{
    try {
        fn();
        return true;
    } catch (const Error& e) {
        fail(ticket, e);
        return false;
    }
}

} // namespace hangar
