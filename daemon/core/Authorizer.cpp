#include "core/Authorizer.h"

namespace hangar {

std::string_view actionId(Action action)
{
    switch (action) {
    case Action::CreateVm:
        return "org.hangar.hangar1.create-vm";
    case Action::ManageOwnVms:
        return "org.hangar.hangar1.manage-own-vms";
    case Action::ManageAllVms:
        return "org.hangar.hangar1.manage-all-vms";
    case Action::ManageImages:
        return "org.hangar.hangar1.manage-images";
    case Action::ManageHosts:
        return "org.hangar.hangar1.manage-hosts";
    }
    return "org.hangar.hangar1.manage-hosts";
}

} // namespace hangar
