#include "gencache/pipeline/identity.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace gencache::pipeline {
namespace {

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("ID_TEST_KEY_A", "key-a", 1);
    ::setenv("ID_TEST_KEY_B", "key-b", 1);
    ::setenv("ID_TEST_ADMIN", "admin-secret", 1);
  }
  config::AuthSection Keys() {
    config::AuthSection auth;
    auth.keys = {{.key_env = "ID_TEST_KEY_A", .user = "alice", .team = "red"},
                 {.key_env = "ID_TEST_KEY_B", .user = "bob", .team = "blue"}};
    auth.admin_key_env = "ID_TEST_ADMIN";
    return auth;
  }
};

TEST_F(AuthenticatorTest, OpenGatewayIsAnonymous) {
  auto auth = Authenticator::Create({});
  ASSERT_TRUE(auth.ok());
  EXPECT_FALSE(auth->keys_required());
  EXPECT_EQ(auth->Identify({})->user, "anonymous");
  EXPECT_EQ(auth->Identify({{"X-Gencache-User", "mallory"}})->user, "anonymous");
  EXPECT_TRUE(auth->IsAdmin({}));
}

TEST_F(AuthenticatorTest, TrustedUserHeaderAloneIdentifies) {
  auto auth = Authenticator::Create({.trust_user_header = true});
  EXPECT_EQ(auth->Identify({{"x-gencache-user", "carol"}})->user, "carol");
  EXPECT_FALSE(auth->Identify({{"x-gencache-user", "has space"}}).ok());
}

TEST_F(AuthenticatorTest, KeysMapToUsersAndTeams) {
  auto auth = Authenticator::Create(Keys());
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_TRUE(auth->keys_required());
  auto a = auth->Identify({{"Authorization", "Bearer key-a"}});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->user, "alice");
  EXPECT_EQ(a->team, "red");
  EXPECT_EQ(auth->Identify({{"x-api-key", "key-b"}})->team, "blue");
  EXPECT_EQ(auth->Identify({{"X-Gencache-Api-Key", "key-b"}})->user, "bob");
  EXPECT_EQ(auth->Identify({}).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth->Identify({{"Authorization", "Bearer key-c"}}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth->Identify({{"Authorization", "Bearer key-"}}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Without trust the header cannot impersonate.
  EXPECT_EQ(auth->Identify({{"x-api-key", "key-a"}, {"X-Gencache-User", "bob"}})->user, "alice");
}

TEST_F(AuthenticatorTest, AdminKey) {
  auto auth = Authenticator::Create(Keys());
  EXPECT_TRUE(auth->IsAdmin({{"Authorization", "Bearer admin-secret"}}));
  EXPECT_FALSE(auth->IsAdmin({{"Authorization", "Bearer key-a"}}));
  EXPECT_FALSE(auth->IsAdmin({}));
}

TEST_F(AuthenticatorTest, UnsetKeyVariableIsAConfigurationError) {
  config::AuthSection auth = Keys();
  auth.keys.push_back({.key_env = "ID_TEST_UNSET", .user = "x", .team = "x"});
  ::unsetenv("ID_TEST_UNSET");
  auto created = Authenticator::Create(auth);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(std::string(created.status().message()).find("ID_TEST_UNSET"), std::string::npos);
}

}  // namespace
}  // namespace gencache::pipeline
