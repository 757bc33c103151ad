// A folder with sources and no rule in the allow-list is itself reported.
int orphan = 0;
