// keel-check FILE: checks a recorded history; see check_command.h.
#include "check/check_command.h"

int main(int argc, char** argv) { return keel::check::RunCheckCommand(argc, argv); }
