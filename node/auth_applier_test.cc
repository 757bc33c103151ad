// Tests of users, roles and permissions in apply: the auth store's rules
// (etcd's errors for each change), the auth applier's checks as a table
// (a caller, a request, the expected outcome, and that the entry was
// consumed either way), the revision rule, persistence across a reopen,
// the permission intervals, simple tokens and bcrypt.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/applier.h"
#include "node/auth_applier.h"
#include "node/auth_permissions.h"
#include "node/auth_tokens.h"
#include "node/backend_applier.h"
#include "node/corrupt_applier.h"
#include "node/errors.h"
#include "node/key_space.h"
#include "node/password.h"
#include "sim/sim_testing.h"

namespace keel::node {
namespace {

constexpr int64_t kLease = 42;
using Request = internal::InternalRaftRequest;

class AuthApplierTest : public ::testing::Test {
 protected:
  void SetUp() override { Open("kv"); }

  void Open(const std::string& dir) {
    head_.reset();
    corrupt_.reset();
    backend_.reset();
    headers_.reset();
    key_space_.reset();
    KeySpaceOptions options;
    options.dir = dir;
    options.leveldb_background = store::LevelDbBackground::kQueue;
    options.leveldb_write_buffer_bytes = 64 << 10;
    auto space = KeySpace::Open(h_.env(), options);
    ASSERT_TRUE(space.ok()) << space.status();
    key_space_ = std::move(*space);
    next_index_ = key_space_->mvcc().applied().index;
    headers_ = std::make_unique<ResponseHeaders>(*key_space_, 1, 1, [] { return 1; });
    backend_ = std::make_unique<BackendApplier>(*key_space_, *headers_, [] {});
    corrupt_ = std::make_unique<CorruptApplier>(*backend_, key_space_->alarms());
    head_ = std::make_unique<AuthApplier>(*corrupt_, *key_space_, tokens_);
  }

  ApplyResult Apply(Request request, const AuthInfo& who = {}) {
    next_index_++;
    if (!who.user.empty()) request.mutable_header()->set_username(who.user);
    if (who.revision != 0) request.mutable_header()->set_auth_revision(who.revision);
    const ApplyContext context{.entry = {next_index_, 1}, .header = &request.header()};
    ApplyResult result = ApplyRequest(*head_, context, request);
    EXPECT_EQ(key_space_->mvcc().applied().index, next_index_) << "the entry was not consumed";
    return result;
  }
  absl::Status Change(const std::function<void(Request*)>& fill, const AuthInfo& who = {}) {
    Request request;
    fill(&request);
    return Apply(request, who).status;
  }
  AuthInfo As(const std::string& user) const {
    return AuthInfo{.user = user, .revision = key_space_->auth().revision()};
  }
  const AuthStore& store() const { return key_space_->auth(); }

  // root (root role), alice (role "reader": read prefix "foo", write key
  // "bar", readwrite range [m, n)), bob (no roles); a key "bar" on lease
  // kLease and a key "zed" on lease kLease + 1; auth enabled.
  void Populate() {
    auto ok = [&](const std::function<void(Request*)>& fill) {
      ASSERT_TRUE(Change(fill).ok()) << Change(fill);
    };
    for (const char* user : {"root", "alice", "bob"}) {
      ok([&](Request* r) {
        r->mutable_auth_user_add()->set_name(user);
        r->mutable_auth_user_add()->set_hashedpassword("$2b$04$x");
      });
    }
    ok([](Request* r) { r->mutable_auth_role_add()->set_name("reader"); });
    auto grant = [&](const char* key, const std::string& end, authpb::Permission::Type type) {
      ok([&](Request* r) {
        auto* g = r->mutable_auth_role_grant_permission();
        g->set_name("reader");
        g->mutable_perm()->set_key(key);
        g->mutable_perm()->set_range_end(end);
        g->mutable_perm()->set_permtype(type);
      });
    };
    grant("foo", "fop", authpb::Permission::READ);
    grant("bar", "", authpb::Permission::WRITE);
    grant("m", "n", authpb::Permission::READWRITE);
    ok([](Request* r) {
      r->mutable_auth_user_grant_role()->set_user("root");
      r->mutable_auth_user_grant_role()->set_role("root");
    });
    ok([](Request* r) {
      r->mutable_auth_user_grant_role()->set_user("alice");
      r->mutable_auth_user_grant_role()->set_role("reader");
    });
    for (int64_t lease : {kLease, kLease + 1}) {
      ok([&](Request* r) {
        r->mutable_lease_grant()->set_id(lease);
        r->mutable_lease_grant()->set_ttl(60);
      });
    }
    ok([](Request* r) {
      r->mutable_put()->set_key("bar");
      r->mutable_put()->set_lease(kLease);
    });
    ok([](Request* r) {
      r->mutable_put()->set_key("zed");
      r->mutable_put()->set_lease(kLease + 1);
    });
    ok([](Request* r) { r->mutable_auth_enable(); });
  }

  sim::SimHarness h_{1};
  SimpleTokens tokens_{h_.env().clock(), h_.env().random(), Seconds(300)};
  std::unique_ptr<KeySpace> key_space_;
  std::unique_ptr<ResponseHeaders> headers_;
  std::unique_ptr<BackendApplier> backend_;
  std::unique_ptr<CorruptApplier> corrupt_;
  std::unique_ptr<AuthApplier> head_;
  uint64_t next_index_ = 0;
};

TEST_F(AuthApplierTest, StoreChangesFollowEtcdsRules) {
  struct Row {
    std::string name;
    std::function<void(Request*)> request;
    std::optional<EtcdError> error;  // unset: OK
  };
  auto user_add = [](const char* name) {
    return [name](Request* r) { r->mutable_auth_user_add()->set_name(name); };
  };
  auto role_add = [](const char* name) {
    return [name](Request* r) { r->mutable_auth_role_add()->set_name(name); };
  };
  auto grant_role = [](const char* user, const char* role) {
    return [user, role](Request* r) {
      r->mutable_auth_user_grant_role()->set_user(user);
      r->mutable_auth_user_grant_role()->set_role(role);
    };
  };
  auto revoke_role = [](const char* user, const char* role) {
    return [user, role](Request* r) {
      r->mutable_auth_user_revoke_role()->set_name(user);
      r->mutable_auth_user_revoke_role()->set_role(role);
    };
  };
  auto enable = [](Request* r) { r->mutable_auth_enable(); };
  // Applied in order against one store, while auth is disabled until the
  // enable rows.
  const std::vector<Row> rows = {
      {"enable without a root user", enable, EtcdError::kRootUserNotExist},
      {"a user with an empty name", user_add(""), EtcdError::kUserEmpty},
      {"a user", user_add("root"), {}},
      {"the same user again", user_add("root"), EtcdError::kUserAlreadyExist},
      {"enable while root lacks the root role", enable, EtcdError::kRootRoleNotExist},
      {"a role with an empty name", role_add(""), EtcdError::kRoleEmpty},
      {"a role", role_add("r"), {}},
      {"the same role again", role_add("r"), EtcdError::kRoleAlreadyExist},
      {"granting a missing role", grant_role("root", "nope"), EtcdError::kRoleNotFound},
      {"granting to a missing user", grant_role("nobody", "r"), EtcdError::kUserNotFound},
      {"granting the root role needs no role record", grant_role("root", "root"), {}},
      {"granting it again is no change", grant_role("root", "root"), {}},
      {"revoking a role not granted", revoke_role("root", "r"), EtcdError::kRoleNotGranted},
      {"revoking a permission not granted",
       [](Request* r) {
         r->mutable_auth_role_revoke_permission()->set_role("r");
         r->mutable_auth_role_revoke_permission()->set_key("k");
       },
       EtcdError::kPermissionNotGranted},
      {"granting a permission to a missing role",
       [](Request* r) { r->mutable_auth_role_grant_permission()->set_name("nope"); },
       EtcdError::kRoleNotFound},
      {"deleting a missing user",
       [](Request* r) { r->mutable_auth_user_delete()->set_name("nobody"); },
       EtcdError::kUserNotFound},
      {"changing a missing user's password",
       [](Request* r) { r->mutable_auth_user_change_password()->set_name("nobody"); },
       EtcdError::kUserNotFound},
      {"deleting a missing role",
       [](Request* r) { r->mutable_auth_role_delete()->set_role("nope"); },
       EtcdError::kRoleNotFound},
      {"enable with root holding root", enable, {}},
      // Enabled: the caller of these rows is anonymous, and every change
      // needs root now.
      {"an anonymous enable once enabled", enable, EtcdError::kUserEmpty},
      {"an anonymous change once enabled", role_add("q"), EtcdError::kUserEmpty},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const uint64_t revision_before = store().revision();
    absl::Status status = Change(row.request);
    if (row.error.has_value()) {
      EXPECT_TRUE(IsError(status, *row.error)) << status;
      EXPECT_EQ(store().revision(), revision_before) << "a refused change bumped the revision";
    } else {
      EXPECT_TRUE(status.ok()) << status;
    }
  }
  // Root may change what is left; the rules that protect root hold.
  const AuthInfo root = As("root");
  EXPECT_TRUE(Change(enable, root).ok()) << "enabling again is no change";
  EXPECT_TRUE(IsError(Change([](Request* r) { r->mutable_auth_user_delete()->set_name("root"); },
                             root),
                      EtcdError::kInvalidAuthMgmt));
  EXPECT_TRUE(IsError(Change(revoke_role("root", "root"), root), EtcdError::kInvalidAuthMgmt));
  EXPECT_TRUE(IsError(
      Change([](Request* r) { r->mutable_auth_role_delete()->set_role("root"); }, root),
      EtcdError::kInvalidAuthMgmt));
  const uint64_t before_disable = store().revision();
  EXPECT_TRUE(Change([](Request* r) { r->mutable_auth_disable(); }, root).ok());
  EXPECT_FALSE(store().enabled());
  EXPECT_EQ(store().revision(), before_disable + 1);
}

TEST_F(AuthApplierTest, EveryRequestIsCheckedAgainstTheCallersPermissions) {
  Populate();
  struct Row {
    std::string name;
    std::string user;  // empty: anonymous
    std::function<void(Request*)> request;
    std::optional<EtcdError> error;
  };
  auto put = [](const char* key) {
    return [key](Request* r) { r->mutable_put()->set_key(key); };
  };
  auto txn_range = [](const char* key, const char* end) {
    return [key, end](Request* r) {
      auto* range = r->mutable_txn()->add_failure()->mutable_request_range();
      range->set_key(key);
      range->set_range_end(end);
    };
  };
  const std::vector<Row> rows = {
      {"anonymous put", "", put("bar"), EtcdError::kUserEmpty},
      {"root puts anywhere", "root", put("anything"), {}},
      {"write on a key granted", "alice", put("bar"), {}},
      {"write on a key only readable", "alice", put("foo1"), EtcdError::kPermissionDenied},
      {"write in a readwrite range", "alice", put("m1"), {}},
      {"prev_kv needs read too", "alice",
       [](Request* r) {
         r->mutable_put()->set_key("bar");
         r->mutable_put()->set_prev_kv(true);
       },
       EtcdError::kPermissionDenied},
      {"a user without roles", "bob", put("bar"), EtcdError::kPermissionDenied},
      {"a user that does not exist", "mallory", put("bar"), EtcdError::kPermissionDenied},
      {"delete a readwrite range", "alice",
       [](Request* r) {
         r->mutable_delete_range()->set_key("m");
         r->mutable_delete_range()->set_range_end("n");
       },
       {}},
      {"delete past the granted range", "alice",
       [](Request* r) {
         r->mutable_delete_range()->set_key("m");
         r->mutable_delete_range()->set_range_end("o");
       },
       EtcdError::kPermissionDenied},
      {"txn reading inside a granted prefix", "alice", txn_range("foo", "foo2"), {}},
      {"txn reading past it", "alice", txn_range("foo", "fz"), EtcdError::kPermissionDenied},
      {"txn compare outside", "alice",
       [](Request* r) { r->mutable_txn()->add_compare()->set_key("zed"); },
       EtcdError::kPermissionDenied},
      {"txn with a denied put in the failure branch", "alice",
       [](Request* r) {
         r->mutable_txn()->add_success()->mutable_request_put()->set_key("bar");
         r->mutable_txn()->add_failure()->mutable_request_put()->set_key("foo");
       },
       EtcdError::kPermissionDenied},
      {"a nested txn's denied delete", "alice",
       [](Request* r) {
         auto* inner = r->mutable_txn()->add_success()->mutable_request_txn();
         inner->add_success()->mutable_request_delete_range()->set_key("zed");
       },
       EtcdError::kPermissionDenied},
      {"compaction by root", "root",
       [](Request* r) { r->mutable_compaction()->set_revision(1); }, {}},
      {"compaction by another user", "alice",
       [](Request* r) { r->mutable_compaction()->set_revision(1); },
       EtcdError::kPermissionDenied},
      {"revoking a lease whose keys one may write", "alice",
       [](Request* r) { r->mutable_lease_revoke()->set_id(kLease); }, {}},
      {"revoking a lease with a key one may not write", "alice",
       [](Request* r) { r->mutable_lease_revoke()->set_id(kLease + 1); },
       EtcdError::kPermissionDenied},
      {"a put onto a lease with a key one may not write", "alice",
       [](Request* r) {
         r->mutable_put()->set_key("bar");
         r->mutable_put()->set_lease(kLease + 1);
       },
       EtcdError::kPermissionDenied},
      {"an auth change by a user without the root role", "alice",
       [](Request* r) { r->mutable_auth_role_add()->set_name("x"); },
       EtcdError::kPermissionDenied},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const int64_t revision_before = key_space_->mvcc().current_revision();
    Request request;
    row.request(&request);
    AuthInfo who;
    if (!row.user.empty()) who = As(row.user);
    ApplyResult result = Apply(request, who);
    if (row.error.has_value()) {
      EXPECT_TRUE(IsError(result.status, *row.error)) << result.status;
      EXPECT_EQ(key_space_->mvcc().current_revision(), revision_before)
          << "a refused request changed the key space";
    } else {
      EXPECT_TRUE(result.status.ok()) << result.status;
    }
  }
}

TEST_F(AuthApplierTest, ARequestMadeBeforeAChangeIsRefusedAsOld) {
  Populate();
  const AuthInfo before = As("alice");
  ASSERT_TRUE(Change(
                  [](Request* r) {
                    r->mutable_auth_user_revoke_role()->set_name("alice");
                    r->mutable_auth_user_revoke_role()->set_role("reader");
                  },
                  As("root"))
                  .ok());
  Request put;
  put.mutable_put()->set_key("bar");
  EXPECT_TRUE(IsError(Apply(put, before).status, EtcdError::kAuthOldRevision));
  EXPECT_TRUE(IsError(Apply(put, As("alice")).status, EtcdError::kPermissionDenied));
}

TEST_F(AuthApplierTest, TheStoreSurvivesReopeningTheKeySpace) {
  Populate();
  const AuthRecords before = store().Records();
  ASSERT_TRUE(key_space_->Close().ok());
  Open("kv");
  const AuthRecords after = store().Records();
  EXPECT_TRUE(after.enabled);
  EXPECT_EQ(after.revision, before.revision);
  ASSERT_EQ(after.users.size(), 3u);
  ASSERT_EQ(after.roles.size(), 1u);
  EXPECT_EQ(after.roles[0].keypermission_size(), 3);
  EXPECT_TRUE(store().HasRole("alice", "reader"));
  EXPECT_TRUE(store().CheckRead(As("alice"), "foo", "fop").ok());
}

TEST_F(AuthApplierTest, ALoginRegistersItsTokenAndChangesDropTokens) {
  Populate();
  Request login;
  login.mutable_authenticate()->set_name("alice");
  login.mutable_authenticate()->set_simple_token_prefix("abcdefghijklmnop");
  ApplyResult result = Apply(login);
  ASSERT_TRUE(result.status.ok()) << result.status;
  const std::string token = SimpleToken("abcdefghijklmnop", next_index_);
  std::optional<AuthInfo> info = tokens_.Info(token, store().revision());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->user, "alice");
  // Changing the password drops the user's tokens on every member.
  ASSERT_TRUE(Change(
                  [](Request* r) {
                    r->mutable_auth_user_change_password()->set_name("alice");
                    r->mutable_auth_user_change_password()->set_hashedpassword("$2b$04$y");
                  },
                  As("root"))
                  .ok());
  EXPECT_FALSE(tokens_.Info(token, store().revision()).has_value());
  Request nobody;
  nobody.mutable_authenticate()->set_name("mallory");
  EXPECT_TRUE(IsError(Apply(nobody).status, EtcdError::kAuthFailed));
}

TEST(SimpleTokensTest, ATokenExpiresAfterItsTtlWithoutUse) {
  sim::SimHarness h(1);
  SimpleTokens tokens(h.env().clock(), h.env().random(), Seconds(10));
  const std::string prefix = tokens.NewSimplePrefix();
  EXPECT_EQ(prefix.size(), static_cast<size_t>(kSimpleTokenPrefixLength));
  tokens.Register(prefix, 7, "u");
  const std::string token = SimpleToken(prefix, 7);
  h.Run([](Env& env) -> Task<int> {
    co_await env.clock().Sleep(Seconds(6));
    co_return 0;
  }(h.env()));
  EXPECT_TRUE(tokens.Info(token, 3).has_value()) << "used within its TTL";
  h.Run([](Env& env) -> Task<int> {
    co_await env.clock().Sleep(Seconds(11));
    co_return 0;
  }(h.env()));
  EXPECT_FALSE(tokens.Info(token, 3).has_value()) << "unused for longer than its TTL";
  EXPECT_FALSE(tokens.Info("unknown.1", 3).has_value());
}

TEST(PermissionsCoverTest, KeysAndRangesAgainstGrants) {
  auto perm = [](std::string key, std::string end, authpb::Permission::Type type) {
    authpb::Permission p;
    p.set_key(std::move(key));
    p.set_range_end(std::move(end));
    p.set_permtype(type);
    return p;
  };
  const authpb::Permission a = perm("a", "c", authpb::Permission::READ);
  const authpb::Permission b = perm("c", "e", authpb::Permission::READWRITE);
  const authpb::Permission k = perm("k", "", authpb::Permission::WRITE);
  const authpb::Permission open = perm("x", std::string(1, '\0'), authpb::Permission::READ);
  const std::vector<const authpb::Permission*> perms = {&a, &b, &k, &open};
  struct Row {
    const char* name;
    bool write;
    std::string key, end;
    bool covered;
  };
  const std::vector<Row> rows = {
      {"a key inside a range", false, "b", "", true},
      {"a range end is exclusive", false, "e", "", false},
      {"adjacent grants cover together", false, "a", "e", true},
      {"one byte past them is not covered", false, "a", "e\x01", false},
      {"write only where granted", true, "a", "d", false},
      {"write in the readwrite half", true, "c", "e", true},
      {"a single-key grant covers that key", true, "k", "", true},
      {"but not a range from it", true, "k", "l", false},
      {"an open-ended grant covers to the end", false, "xyz", std::string(1, '\0'), true},
      {"a read before every grant", false, "0", "", false},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(PermissionsCover(perms, row.write, row.key, row.end), row.covered) << row.name;
  }
}

TEST(PasswordTest, BcryptHashesVerifyAndRefuseOtherPasswords) {
  const std::string salt(kBcryptSaltBytes, 'x');
  absl::StatusOr<std::string> hash = HashPassword("secret", kMinBcryptCost, salt);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(hash->substr(0, 7), "$2b$04$");
  EXPECT_TRUE(PasswordMatches("secret", *hash));
  EXPECT_FALSE(PasswordMatches("Secret", *hash));
  EXPECT_FALSE(PasswordMatches("secret", ""));
  EXPECT_TRUE(absl::IsInvalidArgument(HashPassword("p", 3, salt).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(HashPassword("p", 10, "short").status()));
}

}  // namespace
}  // namespace keel::node
