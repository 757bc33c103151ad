auto t = std::chrono::steady_clock::now();
int r = rand();
std::thread th;
usleep(10);
int fd = ::open("x", 0);
conn.read(buf);  // fine
std::bind(f);  // fine
// rand() in a comment
const char* s = "sleep(1)";
x.Connect("a");
FILE* f = fopen("x","r");
std::cout << 1;
write(fd, p, n);
