// Fixture for ci/lint-coroutines-test: each statement marked BAD must be
// reported (on the line of its co_await), each marked OK must not.
Task<void> Shapes(Env& env, std::string s, int* out) {
  co_await env.RunBlocking([s] { Use(s); });  // BAD
  co_await env.RunBlocking([p = std::move(s)] { Use(p); });  // BAD
  co_await env.RunBlocking([=] { Use(s); });  // BAD
  co_await Create(env, {.member_id = 1});  // BAD
  auto r = co_await Open(env,  // BAD
                         Options{.dir = s});
  co_await env.RunBlocking(  // BAD
      [out, s] { *out = Size(s); });
  co_await env.RunBlocking([&] { Use(s); });  // OK
  co_await env.RunBlocking([&s, this] { Use(s); });  // OK
  auto work = [s] { Use(s); };  // OK
  co_await env.RunBlocking(std::move(work));  // OK
  const Options options{.dir = s};  // OK
  co_await Open(env, options);  // OK
  co_await Read(buffer[index], "[x] {.a = 1}");  // OK
  // co_await env.RunBlocking([s] {}); a comment  OK
  co_await env.RunBlocking([s] { Use(s); });  // lint-coroutines: allow (fixture)
  co_await Spawn([](Env* e) -> Task<void> { co_return; }(&env));  // OK
  co_await Take(env, Request{s, 1});  // BAD
  co_await Take(env, {s, 1});  // BAD
  co_await Take(env, std::vector<int>{1, 2});  // BAD
  co_await Take(env, {});  // OK
  co_await Take(env, Request{});  // OK
  co_await WhenAny([&](int x) -> Task<int> { Request r{x}; co_return r.n; }(1));  // OK
}
