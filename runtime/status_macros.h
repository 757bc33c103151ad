// Propagation helpers for absl::Status in ordinary functions and coroutines.
//
// Coroutines cannot `return`, so each macro has a KEEL_CO_ twin that uses
// `co_return`. Keep these the only early-return macros in keel.
#ifndef KEEL_RUNTIME_STATUS_MACROS_H_
#define KEEL_RUNTIME_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KEEL_STATUS_CONCAT_INNER(a, b) a##b
#define KEEL_STATUS_CONCAT(a, b) KEEL_STATUS_CONCAT_INNER(a, b)

#define KEEL_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::absl::Status keel_status_ = (expr);          \
    if (!keel_status_.ok()) return keel_status_;   \
  } while (0)

#define KEEL_CO_RETURN_IF_ERROR(expr)               \
  do {                                              \
    ::absl::Status keel_status_ = (expr);           \
    if (!keel_status_.ok()) co_return keel_status_; \
  } while (0)

#define KEEL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

#define KEEL_CO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) co_return std::move(tmp).status();   \
  lhs = std::move(tmp).value()

// KEEL_ASSIGN_OR_RETURN(auto x, Foo());
#define KEEL_ASSIGN_OR_RETURN(lhs, expr) \
  KEEL_ASSIGN_OR_RETURN_IMPL(KEEL_STATUS_CONCAT(keel_or_, __LINE__), lhs, expr)

// KEEL_CO_ASSIGN_OR_RETURN(auto x, co_await Foo());
#define KEEL_CO_ASSIGN_OR_RETURN(lhs, expr)                                  \
  KEEL_CO_ASSIGN_OR_RETURN_IMPL(KEEL_STATUS_CONCAT(keel_or_, __LINE__), lhs, \
                                expr)

#endif  // KEEL_RUNTIME_STATUS_MACROS_H_
