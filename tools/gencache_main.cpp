#include "gencache/cli/commands.hpp"

int main(int argc, char** argv) { return gencache::cli::Main(argc, argv); }
