#include "ExitCode.h"

#include "common/Format.h"

#include <iostream>

namespace hangar::client {

ExitCode exitCodeFor(ErrorKind kind)
{
    switch (kind) {
    case ErrorKind::Failed:
        break;
    case ErrorKind::Unreachable:
        return ExitCode::Unreachable;
    case ErrorKind::NotFound:
        return ExitCode::NotFound;
    case ErrorKind::PermissionDenied:
        return ExitCode::PermissionDenied;
    }
    return ExitCode::Failed;
}

void printError(const std::string& text)
{
    std::cerr << "hangarctl: " << sanitize(text) << std::endl;
}

} // namespace hangar::client
