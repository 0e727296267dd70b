// SwiftPM links every executable through swiftc, which adds swiftrt.o: its constructor hands
// the image's Swift metadata sections to the Swift runtime. This program has no Swift code, so
// the two symbols swiftrt.o needs are answered here and the static link pulls in neither the
// Swift runtime nor libstdc++: the program stays the size of a plain C program, which matters
// because one runs per pod or per container. Both programs link this target.
#include <stdbool.h>

void swift_addNewDSOImage(const void *header) { (void)header; }
bool _swift_backtrace_isThunkFunction(const char *name) { (void)name; return false; }
