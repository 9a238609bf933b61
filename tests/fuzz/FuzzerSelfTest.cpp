// The fuzzer's own pieces, without a daemon: the type grammar, the inventory comparison that decides whether a
// refused call changed something, the option keys read from dbus/*.xml, introspection. (That the generator writes
// exactly the signature it is asked for is checked in every run: FuzzReport::signatureMismatches.)
#include "Generator.h"
#include "Introspection.h"
#include "Inventory.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace hangar::fuzz {
namespace {

TEST(FuzzerSelfTest, SignatureParser_RoundTripsNestedTypesAndRejectsMalformedOnes)
{
    const std::string sig = "sha{sv}a(sso(u))ava{oa{sa{sv}}}";
    EXPECT_EQ(signatureOf(parseSignature(sig)), sig);
    EXPECT_EQ(parseSignature(sig).size(), 6U);
    EXPECT_THROW(parseSignature("a"), std::invalid_argument);
    EXPECT_THROW(parseSignature("(s"), std::invalid_argument);
    EXPECT_THROW(parseSignature("{s}"), std::invalid_argument);
    EXPECT_THROW(parseSignature("z"), std::invalid_argument);
}

TEST(FuzzerSelfTest, InventoryDifference_SeesAChangedPropertyAVanishedAndANewObject)
{
    Inventory before;
    before.objects["/vm/a"]["org.hangar.Hangar1.VM.State"] = "\"stopped\"";
    before.objects["/vm/b"]["org.hangar.Hangar1.VM.Name"] = "\"b\"";
    EXPECT_EQ(difference(before, before), "");
    Inventory after = before;
    after.objects["/vm/a"]["org.hangar.Hangar1.VM.State"] = "\"running\"";
    EXPECT_NE(difference(before, after).find("\"stopped\" -> \"running\""), std::string::npos);
    after = before;
    after.objects.erase("/vm/b");
    after.objects["/vm/c"]["org.hangar.Hangar1.VM.Name"] = "\"c\"";
    const std::string diff = difference(before, after);
    EXPECT_NE(diff.find("/vm/b disappeared"), std::string::npos) << diff;
    EXPECT_NE(diff.find("/vm/c appeared"), std::string::npos) << diff;
    EXPECT_FALSE(before.moving());
    after.objects["/vm/a"]["org.hangar.Hangar1.VM.State"] = "\"shutting-down\"";
    EXPECT_TRUE(after.moving());
}

TEST(FuzzerSelfTest, DocumentedOptionKeys_FindTheKeysOfDbusXmlWithTheirTypes)
{
    const auto keys = documentedOptionKeys(HANGAR_SOURCE_DIR "/dbus");
    ASSERT_TRUE(keys.count("vcpus"));
    EXPECT_EQ(keys.at("vcpus").at(0).signature(), "u");
    ASSERT_TRUE(keys.count("auth.no_user_interaction"));
    EXPECT_EQ(keys.at("auth.no_user_interaction").at(0).signature(), "b");
    ASSERT_TRUE(keys.count("max_vms"));
    ASSERT_TRUE(keys.count("force"));
}

TEST(FuzzerSelfTest, Introspection_ReadsMethodsInArgumentsPropertiesAndChildren)
{
    const Node node = parseIntrospection(R"(<node><interface name="org.hangar.Hangar1.VM">
        <method name="Clone"><arg name="name" type="s" direction="in"/><arg type="a{sv}" direction="in"/>
        <arg name="vm" type="o" direction="out"/></method>
        <property name="Name" type="s" access="read"/></interface><node name="child"/></node>)");
    ASSERT_EQ(node.interfaces.size(), 1U);
    ASSERT_EQ(node.interfaces[0].methods.size(), 1U);
    EXPECT_EQ(node.interfaces[0].methods[0].inSignature, "sa{sv}");
    EXPECT_EQ(node.interfaces[0].properties.at(0).name, "Name");
    EXPECT_FALSE(node.interfaces[0].properties.at(0).writable);
    EXPECT_EQ(node.children, std::vector<std::string>{"child"});
    EXPECT_THROW(parseIntrospection("<html/>"), std::runtime_error);
}

} // namespace
} // namespace hangar::fuzz
