// What libvirt's test driver (test:///default, the embedded default that needs no libvirtd) cannot do. It keeps no
// volume contents and has no consoles or displays, and libvirt says so only as "this function is not supported by
// the connection driver: virStorageVolUpload". Hangar refuses those requests before anything starts, with
// NotSupported and a message that names a driver that can.
#pragma once

#include <string_view>

namespace hangar {

// True for a test-driver URI ("test:///default", "test+unix:///...").
bool isTestDriver(std::string_view uri);

// Throws Error(NotSupported, "the test driver (URI) cannot <what>; use qemu:///system (or qemu:///session)") when
// uri is the test driver; does nothing otherwise. what: "stream volume uploads, so it cannot import images".
void refuseOnTestDriver(std::string_view uri, std::string_view what);

} // namespace hangar
