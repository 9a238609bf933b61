// exec, adduser and install: commands in a running guest (VM.Exec, AddUser, InstallPackages), each a Job followed
// with JobFollower to its end; exec then passes on what the command wrote and its exit code.
#include "Commands.h"
#include "JobFollower.h"
#include "Output.h"
#include "common/Errors.h"
#include "common/Format.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace hangar::client {
namespace {

using Dict = std::map<std::string, sdbus::Variant>;

std::string bytesOf(const Dict& result, const char* key)
{
    auto it = result.find(key);
    if (it == result.end())
        return {};
    const auto bytes = it->second.get<std::vector<std::uint8_t>>();
    return {bytes.begin(), bytes.end()};
}

// Starts the job with start on the VM, follows it; the outcome's exit code, printed errors included.
ExitCode follow(Context& context, const std::string& vmName, const std::string& doing, const std::string& label,
                const std::function<sdbus::ObjectPath(VmProxy&)>& start, Dict* result = nullptr)
{
    std::unique_ptr<VmProxy> vm; // outlives the follower, so it goes only once the event loop has stopped
    JobFollower follower(context, label, "");
    JobOutcome outcome;
    try {
        context.prepareAuthorizedCall();
        vm = std::make_unique<VmProxy>(context.connection().bus(), context.connection().vmPath(vmName));
        outcome = follower.run([&] { return start(*vm); });
    } catch (const sdbus::Error& e) {
        return context.reportVmError(doing, vmName, e);
    }
    if (result)
        *result = follower.result();
    switch (outcome.end) {
    case JobEnd::Succeeded:
        return ExitCode::Ok;
    case JobEnd::Failed:
        printError("cannot " + doing + " VM '" + vmName + "': " + outcome.message);
        return ExitCode::Failed;
    case JobEnd::Cancelled:
    case JobEnd::Interrupted:
        printError("interrupted: " + outcome.message);
        return ExitCode::Interrupted;
    case JobEnd::DaemonGone:
        printError("cannot " + doing + " VM '" + vmName + "': " + outcome.message);
        return ExitCode::Unreachable;
    }
    return ExitCode::Failed;
}

std::string readKeyFile(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw UsageError("cannot read SSH key file '" + path + "'");
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.pop_back();
    return line;
}

} // namespace

ExitCode runExec(Context& context, const ExecCommandOptions& options)
{
    Options call = context.authOptions();
    if (options.timeoutSec)
        call["timeout_sec"] = sdbus::Variant(*options.timeoutSec);
    Dict result;
    const ExitCode code = follow(
        context, options.vm, "run a command in", "Running", [&](VmProxy& vm) { return vm.Exec(options.argv, call); },
        &result);
    std::cout << bytesOf(result, "stdout") << std::flush;
    std::cerr << bytesOf(result, "stderr") << std::flush;
    if (code != ExitCode::Ok)
        return code;
    if (auto it = result.find("exit_code"); it != result.end())
        return static_cast<ExitCode>(it->second.get<std::int32_t>() & 0xff);
    printError("the command ended, but hangarctl did not see its exit code");
    return ExitCode::Failed;
}

ExitCode runAddUser(Context& context, const AddUserOptions& options)
{
    Dict user{{"name", sdbus::Variant(options.name)}, {"sudo", sdbus::Variant(options.sudo)}};
    std::vector<std::string> keys;
    keys.reserve(options.sshKeyFiles.size());
    for (const auto& file : options.sshKeyFiles)
        keys.push_back(readKeyFile(file));
    if (!keys.empty())
        user["ssh_authorized_keys"] = sdbus::Variant(keys);
    if (options.passwordHash)
        user["passwd"] = sdbus::Variant(*options.passwordHash);
    if (options.shell)
        user["shell"] = sdbus::Variant(*options.shell);
    const Options call = context.authOptions();
    const ExitCode code = follow(context, options.vm, "add user '" + options.name + "' to", "Adding " + options.name,
                                 [&](VmProxy& vm) { return vm.AddUser(user, call); });
    if (code == ExitCode::Ok)
        std::cout << "Added user '" << sanitize(options.name) << "' to VM '" << sanitize(options.vm) << "'."
                  << std::endl;
    return code;
}

ExitCode runInstall(Context& context, const InstallOptions& options)
{
    const Options call = context.authOptions();
    const ExitCode code = follow(context, options.vm, "install packages in", "Installing",
                                 [&](VmProxy& vm) { return vm.InstallPackages(options.packages, call); });
    if (code == ExitCode::Ok)
        std::cout << "Installed " << options.packages.size() << " package(s) in VM '" << sanitize(options.vm) << "'."
                  << std::endl;
    return code;
}

} // namespace hangar::client
