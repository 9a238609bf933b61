#include "core/VmReads.h"

#include "core/Uuid.h"
#include "core/Validation.h"

#include <fmt/format.h>

namespace hangar {

const Vm& VmReads::getByName(const std::string& name) const
{
    validateName(name);
    const Vm* vm = m_ctx.inventory.findByName(name);
    if (!vm)
        throw Error(ErrorCode::NotFound, fmt::format("no VM named '{}'", name));
    return *vm;
}

std::vector<const Vm*> VmReads::list(const Caller& caller, const ListFilter& filter) const
{
    std::vector<const Vm*> out;
    for (const Vm* vm : m_ctx.inventory.all()) {
        if (filter.owner) {
            if (vm->record.owner != *filter.owner)
                continue;
        } else if (!filter.all && vm->record.owner != caller.uid) {
            continue;
        }
        if (filter.state && vm->state != *filter.state)
            continue;
        out.push_back(vm);
    }
    return out;
}

void VmReads::events(const Caller& caller, const EventQuery& query, const Done<std::vector<EventRecord>>& done)
{
    EventFilter filter;
    try {
        if (query.vm) {
            if (const Vm* vm = m_ctx.inventory.findByName(*query.vm))
                filter.vmUuid = vm->record.uuid;
            else if (looksLikeUuid(*query.vm))
                filter.vmUuid = *query.vm;
            else
                throw Error(ErrorCode::NotFound,
                            fmt::format("no VM named {} (a deleted VM's events are found by its UUID)",
                                        quoteForMessage(*query.vm)));
        }
        filter.uid = query.uid;
        filter.sinceUsec = query.sinceUsec;
        filter.minSeverity = query.minSeverity;
        if (query.limit) {
            if (*query.limit < 1 || *query.limit > Limits::kMaxEventLimit)
                throw Error(ErrorCode::InvalidArgument,
                            fmt::format("limit must be 1..{}, got {}", Limits::kMaxEventLimit, *query.limit));
            filter.limit = *query.limit;
        }
    } catch (const Error& e) {
        return done(e);
    }
    Caller quiet = caller;
    quiet.allowInteraction = false; // reading never prompts; a non-administrator simply sees less
    m_ctx.authorizer.check(quiet, Action::ManageAllVms, {{"verb", "events"}},
                           [this, caller, filter, done](const std::optional<Error>& denied) mutable {
                               if (denied)
                                   filter.visibleTo = caller.uid;
                               try {
                                   done(m_ctx.store.events(filter));
                               } catch (const Error& e) {
                                   done(e);
                               }
                           });
}

void VmReads::provisioning(const Caller& caller, const std::string& uuid, const Done<Provisioning>& done)
{
    const Vm* vm = m_ctx.inventory.find(uuid);
    if (!vm)
        return done(Error(ErrorCode::NotFound, "no such VM"));
    const Action action = vm->record.owner == caller.uid ? Action::ManageOwnVms : Action::ManageAllVms;
    m_ctx.authorizer.check(
        caller, action, {{"vm", vm->record.name}, {"verb", "provisioning"}},
        [this, caller, uuid, done](const std::optional<Error>& denied) {
            const Vm* vm = m_ctx.inventory.find(uuid);
            if (!vm)
                return done(Error(ErrorCode::NotFound, "the VM was deleted while authorization was pending"));
            if (denied) {
                m_ctx.audit.failure(caller.uid, &vm->record, "provisioning", *denied);
                return done(*denied);
            }
            done(vm->record.provisioning);
        });
}

} // namespace hangar
