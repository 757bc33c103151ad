// keelutl's commands. Each takes the arguments after its name, prints as
// etcdutl does (results on stdout, "Error: ..." on stderr) and returns the
// exit code: 0, 1 for a failure, 2 for bad usage.
#ifndef KEEL_TOOLS_KEELUTL_COMMANDS_H_
#define KEEL_TOOLS_KEELUTL_COMMANDS_H_

#include <string>
#include <vector>

namespace keel::tools {

using Args = std::vector<std::string>;

// keelutl_snapshot.cc
int SnapshotStatusCommand(Args args);
int SnapshotRestoreCommand(Args args);
int SnapshotExportCommand(Args args);
// keelutl_data.cc
int DefragCommand(Args args);
int HashKvCommand(Args args);
int BackupCommand(Args args);
int CheckCommand(Args args);
// keelutl_dump.cc
int DumpWalCommand(Args args);
int DumpDbCommand(Args args);

}  // namespace keel::tools

#endif  // KEEL_TOOLS_KEELUTL_COMMANDS_H_
