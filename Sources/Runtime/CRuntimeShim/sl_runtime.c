#include "sl_runtime.h"
