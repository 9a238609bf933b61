#include "provision/IsoSeedBuilder.h"

#include "core/Error.h"

#define LIBISOFS_WITHOUT_LIBBURN
#include <algorithm>
#include <cstdlib>
#include <libisofs.h>
#include <memory>
#include <string>

namespace hangar::provision {
namespace {

constexpr int kSectorBytes = 2048;
// A seed is a few KiB; anything near this is a bug upstream, not an image to keep reading.
constexpr std::size_t kMaxImageBytes = std::size_t{64} * 1024 * 1024;

struct ImageUnref
{
    void operator()(IsoImage* image) const noexcept { iso_image_unref(image); }
};
struct OptsFree
{
    void operator()(IsoWriteOpts* opts) const noexcept { iso_write_opts_free(opts); }
};
struct SourceFree
{
    void operator()(burn_source* source) const noexcept
    {
        source->free_data(source);
        std::free(source); // NOLINT: libisofs allocates it with malloc
    }
};

Error failure(const std::string& what, int rc)
{
    return Error(ErrorCode::BackendFailure, "cannot build the seed ISO: " + what + ": " + iso_error_to_msg(rc));
}

void addFile(IsoImage* image, const SeedFile& file)
{
    // The stream owns a malloc'ed copy and frees it when the image goes.
    auto* buffer = static_cast<unsigned char*>(std::malloc(file.content.size() + 1)); // NOLINT
    if (!buffer)
        throw Error(ErrorCode::BackendFailure, "cannot build the seed ISO: out of memory");
    std::copy_n(file.content.data(), file.content.size(), buffer);
    IsoStream* stream = nullptr;
    int rc = iso_memory_stream_new(buffer, file.content.size(), &stream);
    if (rc < 0) {
        std::free(buffer); // NOLINT: the stream did not take it
        throw failure("a stream for " + file.name, rc);
    }
    IsoFile* node = nullptr;
    rc = iso_image_add_new_file(image, iso_image_get_root(image), file.name.c_str(), stream, &node);
    if (rc < 0) {
        iso_stream_unref(stream);
        throw failure("the file " + file.name, rc);
    }
    iso_node_set_permissions(reinterpret_cast<IsoNode*>(node), 0444); // NOLINT: libisofs' node "inheritance"
}

} // namespace

IsoSeedBuilder::IsoSeedBuilder()
{
    static const int initialized = [] {
        const int rc = iso_init();
        if (rc >= 0)
            iso_set_msgs_severities(const_cast<char*>("NEVER"), const_cast<char*>("FATAL"), // NOLINT
                                    const_cast<char*>("libisofs: "));                       // NOLINT
        return rc;
    }();
    if (initialized < 0)
        throw failure("libisofs did not initialize", initialized);
}

std::string IsoSeedBuilder::buildIso(std::string_view volumeLabel, const std::vector<SeedFile>& files) const
{
    const std::lock_guard lock(m_mutex);
    const std::string label(volumeLabel);
    IsoImage* rawImage = nullptr;
    int rc = iso_image_new(label.c_str(), &rawImage);
    if (rc < 0)
        throw failure("a new image", rc);
    const std::unique_ptr<IsoImage, ImageUnref> image(rawImage);
    iso_image_set_volume_id(image.get(), label.c_str());
    for (const auto& file : files)
        addFile(image.get(), file);

    IsoWriteOpts* rawOpts = nullptr;
    rc = iso_write_opts_new(&rawOpts, 0);
    if (rc < 0)
        throw failure("write options", rc);
    const std::unique_ptr<IsoWriteOpts, OptsFree> opts(rawOpts);
    iso_write_opts_set_rockridge(opts.get(), 1);
    iso_write_opts_set_joliet(opts.get(), 1);
    // cloud-init looks for "cidata" (blkid reports the label as written); strict ISO 9660 would make it "CIDATA".
    iso_write_opts_set_relaxed_vol_atts(opts.get(), 1);

    burn_source* rawSource = nullptr;
    rc = iso_image_create_burn_source(image.get(), opts.get(), &rawSource);
    if (rc < 0)
        throw failure("the writer", rc);
    const std::unique_ptr<burn_source, SourceFree> source(rawSource);
    std::string out;
    unsigned char sector[kSectorBytes];
    for (;;) {
        const int got = source->read_xt(source.get(), sector, kSectorBytes);
        if (got < 0)
            throw Error(ErrorCode::BackendFailure, "cannot build the seed ISO: libisofs failed while writing");
        if (got == 0)
            break;
        out.append(reinterpret_cast<const char*>(sector), static_cast<std::size_t>(got)); // NOLINT
        if (out.size() > kMaxImageBytes)
            throw Error(ErrorCode::BackendFailure, "cannot build the seed ISO: it grew beyond 64 MiB");
    }
    return out;
}

} // namespace hangar::provision
