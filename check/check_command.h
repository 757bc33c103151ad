// The `check` command: reads a JSONL history (FORMAT.md), runs every
// checker and prints the report; check/ builds it as `keel-check FILE`.
#ifndef KEEL_CHECK_CHECK_COMMAND_H_
#define KEEL_CHECK_CHECK_COMMAND_H_

namespace keel::check {

// argv[0] is the command's name; the rest are its arguments:
//   FILE [--max-search-steps=N] [--lease-tolerance-ms=N]
//        [--serializable-monotonic] [--only=lin,watch,lease,durability]
//        [--max-violations=N]
// Prints to stdout (errors to stderr). Returns 0 if every check passed,
// 1 on violations, 2 on a usage or input error, 3 if inconclusive.
int RunCheckCommand(int argc, char** argv);

}  // namespace keel::check

#endif  // KEEL_CHECK_CHECK_COMMAND_H_
