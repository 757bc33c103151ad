#include <cstdio>

#include "layer.h"

namespace probe {
int User();
}  // namespace probe

int main() {
  std::printf("probe: layer %d, user %d\n", probe::Layer(probe::Options{}), probe::User());
  return 0;
}
