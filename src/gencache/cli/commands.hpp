#pragma once

namespace gencache::cli {

// `gencache` with its subcommands; returns the process exit code.
int Main(int argc, char** argv);

}  // namespace gencache::cli
