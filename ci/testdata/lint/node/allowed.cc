// Calls the lint must not flag: member calls, scoped names, comments,
// string literals and an explicit allow.
void F(Connection& conn, Env& env) {
  conn.read(buf);
  std::bind(f);
  env.clock().Now();  // std::chrono::steady_clock::now() in a comment
  const char* s = "sleep(1) rand()";
  auto t = std::chrono::steady_clock::now();  // lint-determinism: allow (test)
}
