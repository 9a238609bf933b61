// image import and publish: the commands that start a job (Manager.ImportImage, VM.Publish) and follow it to its end
// with JobFollower. For import, hangarctl opens the file itself, with the user's own rights, and passes the open
// descriptor: hangard never opens a path on a caller's behalf.
#include "Commands.h"
#include "JobFollower.h"
#include "Output.h"
#include "common/Format.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

namespace hangar::client {
namespace {

// Throws UsageError (exit code 2) when the file cannot be opened or is not something an image can be read from.
sdbus::UnixFd openImageFile(const std::string& path)
{
    // O_NONBLOCK only so that a FIFO given by mistake is refused below instead of waiting for a writer.
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        const int error = errno;
        std::string text = "cannot open '" + path + "': " + std::strerror(error);
        if (error == EACCES || error == EPERM)
            text += " (hangarctl opens the file with your own rights and hands the open file to hangard, so you "
                    "must be able to read it)";
        throw UsageError(text);
    }
    sdbus::UnixFd file(fd, sdbus::adopt_fd);
    struct stat info
    {
    };
    if (fstat(file.get(), &info) != 0)
        throw UsageError("cannot read '" + path + "': " + std::strerror(errno));
    if (S_ISDIR(info.st_mode))
        throw UsageError("'" + path + "' is a directory: give an image file (qcow2, raw or ISO) or a block device");
    if (!S_ISREG(info.st_mode) && !S_ISBLK(info.st_mode))
        throw UsageError("'" + path + "' is neither a regular file nor a block device: hangard imports only those");
    // hangard reads it with blocking reads, as any file; the flag belongs to the open file it shares with us.
    const int flags = fcntl(file.get(), F_GETFL);
    if (flags < 0 || fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
        throw UsageError("cannot prepare '" + path + "' for reading: " + std::strerror(errno));
    return file;
}

// "qcow2, 2.0 GiB virtual size, 612.3 MiB on disk", from the properties in imageJson.
std::string imageSummary(const nlohmann::json& image)
{
    std::string text;
    auto add = [&text](const std::string& part) { text += (text.empty() ? "" : ", ") + part; };
    if (image.contains("Format") && image["Format"].is_string())
        add(image["Format"].get<std::string>());
    if (image.contains("VirtualSizeBytes") && image["VirtualSizeBytes"].is_number_unsigned())
        add(formatBytes(image["VirtualSizeBytes"].get<std::uint64_t>()) + " virtual size");
    if (image.contains("SizeBytes") && image["SizeBytes"].is_number_unsigned())
        add(formatBytes(image["SizeBytes"].get<std::uint64_t>()) + " on disk");
    return text;
}

// Prints how the job ended and returns the exit code for it. doing: "import image 'x'", for "cannot <doing>: ...".
ExitCode finish(Context& context, const JobOutcome& outcome, const std::string& doing, const std::string& imageName,
                const std::string& done)
{
    switch (outcome.end) {
    case JobEnd::Succeeded:
        break;
    case JobEnd::Failed:
        printError("cannot " + doing + ": " + outcome.message);
        return ExitCode::Failed;
    case JobEnd::Cancelled:
        printError("cannot " + doing + ": cancelled after Ctrl-C" +
                   (outcome.message == "cancelled" ? std::string() : " (" + outcome.message + ")"));
        return ExitCode::Interrupted;
    case JobEnd::Interrupted:
        printError("interrupted: " + outcome.message);
        return ExitCode::Interrupted;
    case JobEnd::DaemonGone:
        printError("cannot " + doing + ": " + outcome.message);
        return ExitCode::Unreachable;
    }

    nlohmann::json image;
    try {
        image = imageJson(context, context.connection().imagePath(imageName));
    } catch (const sdbus::Error&) {
        // Made, but deleted or unreadable before we looked: still a success; report what we know.
        image = {{"Name", imageName}};
    }
    if (context.json()) {
        printJson(std::cout, image, true);
    } else {
        const std::string summary = imageSummary(image);
        std::cout << sanitize(done) << (summary.empty() ? "" : ": " + sanitize(summary)) << "." << std::endl;
    }
    return ExitCode::Ok;
}

} // namespace

ExitCode runImageImport(Context& context, const ImageImportOptions& options)
{
    // Before connecting: a file that cannot be opened is for the user to fix, whether hangard runs or not.
    const sdbus::UnixFd file = openImageFile(options.file);
    Options call = context.authOptions();
    if (options.format)
        call["format"] = sdbus::Variant(*options.format);
    if (options.description)
        call["description"] = sdbus::Variant(*options.description);
    if (options.os)
        call["os"] = sdbus::Variant(*options.os);

    const std::string doing = "import image '" + options.name + "'";
    JobFollower follower(context, "Importing " + options.name, options.name);
    JobOutcome outcome;
    try {
        context.prepareAuthorizedCall();
        outcome = follower.run([&] { return context.connection().manager().ImportImage(options.name, file, call); });
    } catch (const sdbus::Error& e) {
        return context.reportError(doing, e);
    }
    return finish(context, outcome, doing, options.name, "Imported image '" + options.name + "'");
}

ExitCode runPublish(Context& context, const PublishOptions& options)
{
    Options call = context.authOptions();
    if (options.description)
        call["description"] = sdbus::Variant(*options.description);
    if (options.os)
        call["os"] = sdbus::Variant(*options.os);

    const std::string doing = "publish VM '" + options.vm + "' as image '" + options.image + "'";
    std::unique_ptr<VmProxy> vm; // outlives the follower, so it goes only once the event loop has stopped
    JobFollower follower(context, "Publishing " + options.image, options.image);
    JobOutcome outcome;
    try {
        context.prepareAuthorizedCall();
        vm = std::make_unique<VmProxy>(context.connection().bus(), context.connection().vmPath(options.vm));
        outcome = follower.run([&] { return vm->Publish(options.image, call); });
    } catch (const sdbus::Error& e) {
        return context.reportError(doing, e);
    }
    return finish(context, outcome, doing, options.image,
                  "Published VM '" + options.vm + "' as image '" + options.image + "'");
}

} // namespace hangar::client
