// The metersync daemon; see cli.hpp for its commands.
#include "app/cli.hpp"

int main(int argc, char** argv) { return metersync::app::main_cli(argc, argv); }
