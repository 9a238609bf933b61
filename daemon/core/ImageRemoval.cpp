#include "core/ImageRemoval.h"

#include "core/FaultPoints.h"

#include <fmt/format.h>

namespace hangar {
namespace {

constexpr std::size_t kMaxUsersNamed = 5;

} // namespace

void ImageRemoval::requireRemovable(const Image& image) const
{
    if (image.record.phase == ImagePhase::Importing)
        throw Error(ErrorCode::Busy,
                    fmt::format("image '{}' is still being filled; cancel its job first", image.record.name));
    if (image.record.phase == ImagePhase::Deleting)
        throw Error(ErrorCode::Busy, fmt::format("image '{}' is being deleted", image.record.name));
    if (const auto users = m_ctx.inventory.madeFrom(image.record.id); !users.empty()) {
        std::string names;
        for (std::size_t i = 0; i < users.size() && i < kMaxUsersNamed; ++i)
            names += (i == 0 ? "" : ", ") + users[i]->record.name;
        if (users.size() > kMaxUsersNamed)
            names += fmt::format(" and {} more", users.size() - kMaxUsersNamed);
        throw Error(ErrorCode::Busy,
                    fmt::format("image '{}' is used by {} VM{}: {}; delete {} first", image.record.name, users.size(),
                                users.size() == 1 ? "" : "s", names, users.size() == 1 ? "it" : "them"));
    }
}

void ImageRemoval::remove(const Caller& caller, const std::string& id, const Done<>& done)
{
    const Image* found = m_ctx.catalogue.find(id);
    if (!found)
        return done(Error(ErrorCode::NotFound, "no such image"));
    const ImageTicketPtr ticket = ImageRunner::open(caller, "image-delete", found->record.name, done);
    m_ctx.runner.authorize(
        ticket, {{"image", found->record.name}, {"verb", "delete"}},
        [this, ticket, id, done] {
            Image& image = *m_ctx.catalogue.find(id);
            const bool started = m_ctx.runner.attempt(ticket, [&] {
                requireRemovable(image);
                ImageRecord deleting = image.record;
                deleting.phase = ImagePhase::Deleting;
                // Recorded before the volume goes: a crash from here on is finished at the next start.
                m_ctx.store.updateImage(deleting);
                m_ctx.catalogue.update(image, deleting, static_cast<ImageFields>(ImageField::State));
            });
            if (!started)
                return;
            HANGAR_FAULT_POINT(ImageDeleteRowWritten);
            runOnWorker<std::monostate>(
                m_ctx.executor,
                [&storage = m_ctx.storage, volume = image.record.volume] {
                    storage.remove(volume);
                    HANGAR_FAULT_POINT(ImageDeleteVolumeRemoved);
                    return std::monostate{};
                },
                [this, ticket, id, done](const Outcome<std::monostate>& outcome) {
                    Image* image = m_ctx.catalogue.find(id);
                    if (!image)
                        return done(Error(ErrorCode::NotFound, "the image disappeared meanwhile"));
                    if (!outcome.ok()) {
                        ImageRecord ready = image->record;
                        ready.phase = ImagePhase::Ready;
                        try {
                            m_ctx.store.updateImage(ready);
                            m_ctx.catalogue.update(*image, ready, 0); // announced below either way
                        } catch (const Error&) { // left in Deleting: the next start finishes the deletion
                        }
                        m_ctx.catalogue.changed(*image, static_cast<ImageFields>(ImageField::State));
                        return m_ctx.runner.fail(ticket, outcome.error());
                    }
                    try {
                        m_ctx.store.deleteImage(id);
                    } catch (const Error& e) { // the row stays in Deleting; the next start removes it
                        m_ctx.audit.imageFailure(ticket->caller.uid, ticket->imageName, ticket->verb, e);
                    }
                    m_ctx.catalogue.drop(id);
                    m_ctx.audit.imageSuccess(ticket->caller.uid, ticket->imageName, ticket->verb, "deleted");
                    done(std::monostate{});
                });
        },
        [this, id] { return m_ctx.catalogue.find(id) != nullptr; },
        "the image was deleted while authorization was pending");
}

} // namespace hangar
