// The failpoint build: where keel's deliberate bugs live, and the guard that
// keeps its code apart from the release build's.
//
// Deliberate bugs (a raft that votes twice, a Mvcc that previews a txn, a
// server that acknowledges before it syncs) exist so that keel-sim and the
// tests can show their checkers catch real violations. They compile only
// where KEEL_FAILPOINTS is 1: in the _fp twin of a library
// (cmake/failpoints.cmake) and in everything that links one (keel-sim, its
// scenarios, the tests that inject bugs). tools/keel and the other shipped
// programs never see them: a release binary holds no code that can break
// safety on purpose.
//
// Conventions, so that the release build provably lacks them (`nm -C
// tools/keel | grep failpoints` is empty, tests/failpoints/nm_check):
//  - Every declaration of failpoint code sits inside #if KEEL_FAILPOINTS, in
//    a namespace named `failpoints` of its layer (keel::raft::failpoints,
//    keel::store::failpoints, keel::node::failpoints); a member that only
//    the failpoint build has is of such a type (`failpoints::Bugs bugs;`).
//    Without KEEL_FAILPOINTS the switches do not exist, so a release build
//    that tries to set one does not compile.
//  - The wrong code each switch turns on is a function in that namespace
//    (defined in the layer's failpoints.cc), so it has a symbol to find.
//  - A header whose types differ between the builds (it has such a member)
//    says KEEL_FAILPOINT_BUILD_TAG(...) (below).
#ifndef KEEL_RUNTIME_FAILPOINTS_H_
#define KEEL_RUNTIME_FAILPOINTS_H_

#ifndef KEEL_FAILPOINTS
#define KEEL_FAILPOINTS 0
#endif

// KEEL_FAILPOINT_BUILD_TAG(): at namespace scope (the layer's namespace) in
// a header whose types differ between the builds, once per header. Every translation unit
// that includes the header then refers to a symbol that only the library
// compiled the same way defines (with KEEL_FAILPOINT_BUILD_TAG_DEFINITION()
// in one of its .cc files, in the same namespace). A unit compiled without
// KEEL_FAILPOINTS linked into a program with the _fp twin, or the reverse,
// fails to link ("undefined reference to ...release_build_tag" or
// "...failpoints::build_tag") instead of running with two layouts of one
// type. cmake/failpoints.cmake catches the same mix between libraries; this
// catches it in a unit that includes the header without linking the
// library.
#define KEEL_FAILPOINT_CONCAT_INNER(a, b) a##b
#define KEEL_FAILPOINT_CONCAT(a, b) KEEL_FAILPOINT_CONCAT_INNER(a, b)
#if KEEL_FAILPOINTS
#define KEEL_FAILPOINT_BUILD_TAG()                                    \
  namespace failpoints {                                              \
  extern const char build_tag;                                        \
  [[gnu::used]] static const char* const KEEL_FAILPOINT_CONCAT(       \
      build_tag_reference_, __COUNTER__) = &build_tag;                \
  }                                                                   \
  static_assert(true)
#define KEEL_FAILPOINT_BUILD_TAG_DEFINITION() \
  namespace failpoints {                      \
  extern const char build_tag;                \
  const char build_tag = 1;                   \
  }                                           \
  static_assert(true)
#else
#define KEEL_FAILPOINT_BUILD_TAG()                                    \
  extern const char release_build_tag;                                \
  [[gnu::used]] static const char* const KEEL_FAILPOINT_CONCAT(       \
      release_build_tag_reference_, __COUNTER__) = &release_build_tag; \
  static_assert(true)
#define KEEL_FAILPOINT_BUILD_TAG_DEFINITION() \
  extern const char release_build_tag;        \
  const char release_build_tag = 0;           \
  static_assert(true)
#endif

#endif  // KEEL_RUNTIME_FAILPOINTS_H_
